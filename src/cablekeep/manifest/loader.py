"""Loading a manifest: read the file, check its shape, read each section, and either return the
:class:`~cablekeep.manifest.model.Manifest` or raise one ManifestError listing every problem found."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..errors import ManifestError
from .access import read_access
from .delivery import read_delivery
from .keys import Section, check_key_names, check_keys
from .model import MANIFEST_VERSION, Manifest
from .reader import VALUES, Node, compose
from .sections import read_bag, read_collection, read_fetch, read_follow, read_organization, read_warc, renders
from .schedule import read_notify, read_schedule
from .seeds import read_seeds
from .site import read_site
from .values import ValueReader

# The largest manifest read: about 2.4 million seeds written in it, 1.3 GB once read (a seed list
# of any length takes no memory).
MAX_MANIFEST_BYTES = 64 * 2**20


def load_manifest(path: Path) -> Manifest:
    """Read and check the manifest at ``path``. Raises ManifestError naming every problem's file, line and key."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_MANIFEST_BYTES + 1)  # a bound, also for a device that never ends
    except FileNotFoundError:
        raise ManifestError(path, None, "", "manifest not found; check the path") from None
    except OSError as error:
        raise ManifestError(path, None, "", f"cannot read the manifest: {error.strerror}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(path, None, "", f"the manifest is larger than {MAX_MANIFEST_BYTES // 2**20} MiB; "
                            "put long lists of seeds in a seed list ('- file: lists/seeds.txt', one a line), "
                            "which is read line by line")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ManifestError(path, line, "", "the manifest is not UTF-8 text; save it as UTF-8") from None
    return load_manifest_text(text, path)


def load_manifest_text(text: str, path: Path) -> Manifest:
    """Check a manifest given as text. ``path`` names it in errors, as given, and anchors the relative
    paths in it (seed lists, bag output); seed lists are read from disk.

    YAML that does not parse, and a manifest version this cablekeep does not read, stop at once;
    anything else is collected, so one run names every problem."""
    reader = ValueReader(path)
    root_node = compose(text, path, f"cablekeep: {MANIFEST_VERSION}")
    reader.check_duplicate_keys(root_node)
    fields = reader.fields(root_node, "")
    version = _read_version(reader, root_node, fields)
    check_key_names(reader, root_node)
    reader.kind = VALUES
    root = check_keys(reader, root_node, "", fields, required=("collection", "seeds"))
    manifest = _read_sections(reader, root, path, text, version)
    reader.finish()
    return manifest


# what ``--cluster`` takes (checked in full by cablekeep.cluster.address when the run opens it)
_CLUSTER_RE = re.compile(r"^(local(:\d+)?|(tcp|tls|inproc|ws|wss)://\S+|[A-Za-z0-9.\-\[\]:]+:\d+)$")


def _read_cluster(reader: ValueReader) -> Callable[[Node, str], str]:
    """``cluster:``: where ``cablekeep run`` crawls when no ``--cluster`` is given."""

    def read(node: Node, key: str) -> str:
        value = reader.non_empty_line(node, key).strip()
        if not _CLUSTER_RE.match(value):
            reader.fail(node, key, f"{value!r} is neither a Dask scheduler address (tcp://host:8786) nor "
                        "local[:N] (N worker processes on this machine)")
        return value

    return read


def _read_version(reader: ValueReader, root_node: Node, fields: dict[str, tuple[Node, Node]]) -> int:
    """The manifest version; a version this cablekeep cannot read ends the reading at once."""
    if "cablekeep" not in fields:
        reader.report(root_node, "cablekeep", "required key is missing; start the manifest with "
                      f"'cablekeep: {MANIFEST_VERSION}'")
        return MANIFEST_VERSION
    node = fields["cablekeep"][1]
    version = reader.attempt(lambda: reader.integer(node, "cablekeep", low=0), MANIFEST_VERSION)
    if version != MANIFEST_VERSION:
        reader.report(node, "cablekeep", f"manifest version {version} is not supported; this cablekeep "
                      f"{__version__} reads version {MANIFEST_VERSION} (write 'cablekeep: {MANIFEST_VERSION}', "
                      "or upgrade cablekeep)")
        reader.finish()
    return version


def _read_sections(reader: ValueReader, root: Section, path: Path, text: str, version: int) -> Manifest:
    collection = read_collection(reader, root)
    site = read_site(reader, root.section("site"))
    delivery, destinations = read_delivery(reader, root)
    seeds = read_seeds(reader, root, site)
    follow = read_follow(root.section("follow"))
    return Manifest(
        path=path.absolute(),
        source_text=text,
        version=version,
        collection=collection,
        title=root.get("title", collection, reader.line_of_text),
        description=root.get("description", "", reader.text),
        organization=read_organization(root.section("organization")),
        site=site,
        seeds=seeds,
        follow=follow,
        fetch=read_fetch(root.section("fetch"), renders((entry.capture for entry in seeds.entries), follow)),
        warc=read_warc(root.section("warc")),
        bag=read_bag(reader, root.section("bag")),
        schedule=read_schedule(reader, root, tuple(target.name for target in destinations)),
        delivery=delivery,
        destinations=destinations,
        notify=read_notify(reader, root),
        access=read_access(reader, root.section("access")),
        cluster=root.get("cluster", None, _read_cluster(reader)),
    )
