"""The typed result of loading a manifest: frozen dataclasses, compared by value, hashable.

Nothing here reads YAML; :mod:`cablekeep.manifest.loader` builds these from a manifest file.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .. import __version__

if TYPE_CHECKING:
    from .cron import Cron
    from .seeds import Seeds  # Seeds reads seed lists, which name their Seed and Site types from here

MANIFEST_VERSION = 1
DEFAULT_USER_AGENT = f"cablekeep/{__version__} (+https://github.com/cablekeep/cablekeep)"
PROFILES = ("cablebrowser",)
# The bag directory is named after the collection: lower-case letters, digits and hyphens. It may not
# start with a hyphen, so a collection name can never be read as a command-line option.
COLLECTION_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# bag-info.txt labels that the bag module computes; a manifest may not set them.
COMPUTED_BAG_INFO = ("Payload-Oxum",)

SeedKind = Literal["cable", "url"]
Robots = Literal["obey", "ignore"]
Dedup = Literal["none", "collection"]
# How a page is fetched: plain HTTP, rendered in a headless browser (every request it makes still
# fetched by cablekeep), or auto: HTTP, then the browser when the page is mostly script
# (see cablekeep.capture.modes).
CaptureMode = Literal["http", "browser", "auto"]
CAPTURE_MODES: tuple[CaptureMode, ...] = ("http", "browser", "auto")



@dataclass(frozen=True)
class Contact:
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Organization:
    """Who makes the bag; goes into bag-info.txt."""

    name: str = ""
    address: str = ""
    contact: Contact = field(default_factory=Contact)


@dataclass(frozen=True)
class Site:
    """The cable site. ``profile`` is "cablebrowser" or a custom profile kept as plain data
    (validated by the extractor); ``profile_line`` is its line in the manifest, None when defaulted."""

    cable_url: str | None = None
    original_url: str | None = None
    profile: str | Mapping[str, object] = field(default="cablebrowser", hash=False)
    profile_line: int | None = None

    def cable_page_url(self, cable_id: str) -> str:
        """The URL of a cable's page on the site, from ``cable_url``."""
        if self.cable_url is None:
            raise ValueError("site.cable_url is not set; add it to the manifest")
        return self.cable_url.format(id=cable_id)

    def original_page_url(self, cable_id: str, created: datetime.datetime) -> str | None:
        """The URL of a cable's original, from ``original_url``, or None when it is not set."""
        if self.original_url is None:
            return None
        return self.original_url.format(id=cable_id, created=created)


@dataclass(frozen=True)
class Seed:
    """One start point of a crawl. ``origin`` is where it was written ("manifest.yaml:12",
    "lists/andijon.txt:3"); a cable seed's ``url`` comes from ``site.cable_url``."""

    kind: SeedKind
    value: str
    url: str
    origin: str
    capture: CaptureMode | None = None  # None: the crawl's default for seeds (http)


@dataclass(frozen=True)
class SeedFile:
    """A seed list named by a manifest (``- file: lists/x.txt``), read again each time the seeds
    are listed; ``key`` is where the manifest names it (``seeds[2].file``)."""

    path: Path
    written: str
    site: Site
    manifest: Path
    key: str
    line: int | None
    capture: CaptureMode | None = None  # given to each of its seeds


@dataclass(frozen=True)
class CaptureModes:
    """``follow.capture``: how the pages each follow rule reaches are fetched. Cable pages are
    plain HTML (http); the sources they cite are more and more built by scripts (auto)."""

    references: CaptureMode = "http"
    sources: CaptureMode = "auto"


@dataclass(frozen=True)
class Follow:
    references: bool = True
    sources: bool = True
    requisites: bool = True
    depth: int = 1
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    hosts: tuple[str, ...] = ()
    capture: CaptureModes = field(default_factory=CaptureModes)


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 4
    processes: int = 1
    threads: int | None = None  # fetch threads in each process; None: concurrency / processes
    per_host_concurrency: int = 1
    per_host_delay: float = 1.0
    timeout: float = 30.0
    max_bytes: int = 100_000_000
    retries: int = 3
    robots: Robots = "obey"
    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[str, ...] = ()  # CIDR texts, each checked ("127.0.0.2/32", "10.0.0.0/8")


@dataclass(frozen=True)
class WarcOptions:
    max_size: int = 1_000_000_000
    dedup: Dedup = "none"


# The archive formats of bag.serialize (cablekeep.handoff.serialize.FORMATS writes them).
SERIALIZATIONS = ("tar", "tar.gz", "zip")


@dataclass(frozen=True)
class BagOptions:
    """``output`` is absolute; in the manifest it is relative to the manifest's directory. ``profile``
    is a BagIt profile as written: a built-in name (``aptrust``, ``btr``) or a path relative to the
    manifest's directory (:func:`cablekeep.handoff.profiles.load_profile` with ``base_dir``). ``serialize``
    (``tar``, ``tar.gz``, ``zip``): ``run`` also writes the finished, verified bag as one archive beside it."""

    output: Path
    algorithms: tuple[str, ...] = ("sha512", "sha256")
    info: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    profile: str | None = None
    serialize: str | None = None


DeliveryKind = Literal["directory", "s3"]


@dataclass(frozen=True)
class DeliveryTarget:
    """A destination under ``delivery:``, by ``name``: a directory (``path``, absolute; relative in the
    manifest to its directory) or S3-compatible storage (``bucket`` and the rest). ``profile`` names an
    AWS profile; credentials are never part of a manifest."""

    name: str
    kind: DeliveryKind
    path: Path | None = None
    bucket: str = ""
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    storage_class: str | None = None
    profile: str | None = None


JobName = Literal["crawl", "check", "audit", "deliver"]
JOB_NAMES: tuple[JobName, ...] = ("crawl", "check", "audit", "deliver")  # deliver last: after the audit


@dataclass(frozen=True)
class JobSchedule:
    """When one job of a collection runs: its cron expression, and where the manifest names it."""

    job: JobName
    cron: Cron
    line: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The manifest's ``schedule:``: a cron expression per job (a job left out never runs on its own), read
    in ``timezone`` (an IANA name); each slot starts up to ``jitter`` seconds late, by an offset fixed per
    collection and job, so that many collections do not all start at once."""

    jobs: tuple[JobSchedule, ...] = ()
    timezone: str = "UTC"
    jitter: float = 0.0
    deliver_to: str | None = None  # the deliver job's destination (delivery:); None: the only one


@dataclass(frozen=True)
class Webhook:
    """An HTTP POST of a JSON body to ``url``; ``retries`` more attempts after a failure, ``timeout`` each."""

    url: str
    retries: int = 3
    timeout: float = 10.0


@dataclass(frozen=True)
class Email:
    """Mail over SMTP. The user name and password are never in the manifest: ``username_env`` and
    ``password_env`` name the environment variables that hold them (no login when unset). The server's
    certificate is checked against the system's CAs, or only those in ``ca_file``."""

    host: str
    to: tuple[str, ...]
    sender: str
    port: int = 587
    starttls: bool = True
    timeout: float = 30.0
    username_env: str = "CABLEKEEP_SMTP_USER"
    password_env: str = "CABLEKEEP_SMTP_PASSWORD"
    ca_file: Path | None = None  # PEM certificates to trust for STARTTLS instead of the system's (an in-house CA)


@dataclass(frozen=True)
class Notify:
    """The manifest's ``notify:``: where a message goes when a job fails, an audit finds a bag invalid or
    a check finds newly rotted sources."""

    webhook: Webhook | None = None
    email: Email | None = None


@dataclass(frozen=True)
class Access:
    """The manifest's ``access:``: how people reach what the collection archived. ``replay_base`` is a
    wayback-style replay of the collection's WARCs (a library's own wayback, or ``cablekeep replay``):
    a capture is at ``<replay_base>/<14-digit time>/<url>``. The link-rot report's replay links and
    Robust Links' version URLs are built from it when ``--replay-base`` is not given; None: not set."""

    replay_base: str | None = None


@dataclass(frozen=True)
class Manifest:
    """A loaded manifest. ``path`` is absolute; ``source_text`` is the YAML exactly as read, to be
    stored in the bag as the manifest as used. Fields holding plain mappings are compared but left
    out of the hash, so a manifest stays hashable."""

    path: Path
    source_text: str
    version: int
    collection: str
    title: str
    description: str
    organization: Organization
    site: Site
    seeds: Seeds
    follow: Follow
    fetch: FetchOptions
    warc: WarcOptions
    bag: BagOptions
    schedule: Schedule
    delivery: tuple[Mapping[str, object], ...] = field(hash=False)  # as written; checked into destinations
    destinations: tuple[DeliveryTarget, ...] = ()
    notify: Notify = field(default_factory=Notify)
    access: Access = field(default_factory=Access)
    cluster: str | None = None  # where ``run`` crawls, sharded by host (--cluster's ADDRESS|local[:N]), or None

    def destination(self, name: str | None) -> DeliveryTarget:
        """The destination called ``name``, or the only one when ``name`` is None. Raises ValueError saying which exist."""
        names = ", ".join(target.name for target in self.destinations) or "none"
        if name is None:
            if len(self.destinations) != 1:
                raise ValueError(f"{self.path} has {len(self.destinations)} delivery destinations ({names}); "
                                 "say which with --to NAME")
            return self.destinations[0]
        for target in self.destinations:
            if target.name == name:
                return target
        raise ValueError(f"{self.path} has no delivery destination {name!r}; its destinations: {names}")

