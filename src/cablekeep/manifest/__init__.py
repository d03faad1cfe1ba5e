"""The manifest: one YAML file that says what to crawl, how, and where the bag goes.

Takes a manifest file (and the seed lists it names); gives a frozen :class:`Manifest`, or one
:class:`~cablekeep.errors.ManifestError` that lists every problem found, each with the file, the 1-based
line and the dotted key path (``fetch.per_host_delay``, ``seeds[2].file``). Loading writes nothing.

Every key has a default except ``cablekeep``, ``collection`` and ``seeds``; ``manifests/example.yaml``
shows them all. An empty section or list (``follow:`` with nothing under it) means its defaults; a key
with no value is an error, except ``site.cable_url`` and ``site.original_url``, which default to null.

- ``loader``: ``load_manifest`` and ``load_manifest_text``: the order of the checks.
- ``reader``: the YAML adapter (the only module importing PyYAML): nodes with their lines (plain seeds
  kept without nodes), keys written twice, and the collecting of problems.
- ``values``: typed values (text, numbers, booleans, choices, sizes, hosts, patterns) and ``parse_size``.
- ``keys``: the known keys of each section, unknown and required keys, a checked section.
- ``model``: the frozen dataclasses of the result (Manifest, Site, Seed, Follow, FetchOptions, ...).
- ``site``: the site section: URL templates and site profiles written in YAML.
- ``seeds``: seeds and seed lists (read line by line, never held whole).
- ``sections``: the other sections: collection, organization, follow, fetch, warc, bag.
- ``access``: the access section: the replay the collection is reached through (``replay_base``).
- ``delivery``: the delivery destinations, by name (never credentials).
- ``schedule``: the schedule and notify sections; ``cron``: cron expressions (the only cronsim import).
"""

from __future__ import annotations

from .keys import SECTION_KEYS
from .loader import load_manifest, load_manifest_text
from .model import (
    DEFAULT_USER_AGENT,
    MANIFEST_VERSION,
    CAPTURE_MODES,
    Access,
    BagOptions,
    CaptureMode,
    CaptureModes,
    Contact,
    Dedup,
    DeliveryTarget,
    FetchOptions,
    Follow,
    JobSchedule,
    Manifest,
    Notify,
    Organization,
    Robots,
    Schedule,
    Seed,
    SeedFile,
    SeedKind,
    Site,
    WarcOptions,
    Webhook,
    Email,
    JOB_NAMES,
    JobName,
)
from .cron import Cron, parse_cron
from .seeds import Seeds
from .values import parse_size

__all__ = [
    "CAPTURE_MODES", "DEFAULT_USER_AGENT", "MANIFEST_VERSION", "SECTION_KEYS", "Access", "BagOptions", "CaptureMode",
    "CaptureModes", "Contact", "Dedup", "DeliveryTarget", "FetchOptions",
    "Follow", "Manifest", "Organization", "Robots", "Seed", "SeedFile", "SeedKind", "Seeds", "Site",
    "WarcOptions", "load_manifest", "load_manifest_text", "parse_size",
    "JOB_NAMES", "Cron", "Email", "JobName", "JobSchedule", "Notify", "Schedule", "Webhook", "parse_cron",
]
