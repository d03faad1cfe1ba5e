"""The WACZ 1.1.1 layout facts and the ``datapackage.json`` that lists every resource.

Spec: https://specs.webrecorder.net/wacz/1.1.1/ . A WACZ is a ZIP holding ``archive/`` (WARCs,
stored uncompressed so a reader can seek into them), ``indexes/`` (CDXJ, plain or gzip blocks with
an ``.idx``), ``pages/pages.jsonl``, ``datapackage.json`` (Frictionless Data Package: profile,
``wacz_version``, and each resource's name, path, ``sha256:<hex>`` hash and size in bytes) and
``datapackage-digest.json`` (the hash of ``datapackage.json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..fixity.waczcheck import DATAPACKAGE as DATAPACKAGE  # the checker's names, written once there
from ..fixity.waczcheck import DATAPACKAGE_DIGEST as DATAPACKAGE_DIGEST

WACZ_VERSION = "1.1.1"
PROFILE = "data-package"
HASH_ALGORITHM = "sha256"  # the resources' and the digest's; hashlib and WACZ spell it the same

ARCHIVE_DIR = "archive"
INDEXES_DIR = "indexes"
PAGES_DIR = "pages"
PAGES_PATH = "pages/pages.jsonl"
INDEX_PATH = "indexes/index.cdxj"  # a plain CDXJ index
INDEX_GZ_PATH = "indexes/index.cdx.gz"  # a CDXJ index in gzip blocks...
INDEX_IDX_PATH = "indexes/index.idx"  # ...and the first key of each block, with its offset and length
PAGES_FORMAT = "json-pages-1.0"
INDEX_GZ_FORMAT = "cdxj-gzip-1.0"

_NAME_UNSAFE = re.compile(r"[^-a-z0-9._/]")  # Frictionless resource names: lower case, these characters


@dataclass(frozen=True)
class Resource:
    """One file inside a WACZ as ``datapackage.json`` lists it."""

    path: str  # inside the ZIP, with "/" separators
    hash: str  # "sha256:<hex>"
    bytes: int

    @property
    def name(self) -> str:
        """The Frictionless resource name: the file name, lower case, other characters as '-'."""
        return _NAME_UNSAFE.sub("-", self.path.rsplit("/", 1)[-1].lower())

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "path": self.path, "hash": self.hash, "bytes": self.bytes}


def labelled(hexdigest: str) -> str:
    """``sha256:<hex>``, as the WACZ and Data Package specs write a hash."""
    return f"{HASH_ALGORITHM}:{hexdigest}"


def render_datapackage(
    resources: Sequence[Resource], *, created: str, software: str, extra: Mapping[str, str] | None = None
) -> bytes:
    """The bytes of ``datapackage.json``: the required properties, then ``extra`` (title, description...)."""
    package: dict[str, object] = {
        "profile": PROFILE,
        "wacz_version": WACZ_VERSION,
        "created": created,
        "software": software,
    }
    package.update(extra or {})
    package["resources"] = [r.to_json() for r in resources]
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_digest(datapackage_hash: str) -> bytes:
    """The bytes of ``datapackage-digest.json`` for a ``datapackage.json`` with this labelled hash."""
    return (json.dumps({"path": DATAPACKAGE, "hash": datapackage_hash}, indent=2) + "\n").encode("utf-8")
