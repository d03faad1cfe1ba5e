"""Verifying a serialized bag (``.tar``, ``.tar.gz``/``.tgz``, ``.zip``) without unpacking it.

BagIt serialization (RFC 8493): a serialized bag holds exactly one top-level directory, the bag. The
check is the one every bag gets (:class:`cablekeep.fixity.bagcheck.BagCheck`), reading the archive
through :class:`cablekeep.fixity.archivesource.ArchiveSource`: once, in member order (tar in stream
mode ``r|*``; zip members in the order they are stored), and nothing is written to disk. As each
member passes:

- its name is vetted: absolute names, ``..``, ``~`` and drive letters are ``unsafe-path``;
  symbolic links are ``symlink``; hard links, devices, FIFOs, a second top-level entry and files
  beside the bag directory are ``invalid-structure``. Refused members are never read;
- a regular file is hashed in 1 MiB blocks; a WARC in the payload is also checked record by
  record in that same read (:func:`cablekeep.fixity.warccheck.scan_warc_stream`);
- bagit.txt, bag-info.txt and fetch.txt (up to the tag-file cap) and the manifests are kept,
  compressed, and parsed after the pass in the checker's order (bagit.txt first).

Manifests may come after the payload, so what a file hashed to is kept, compactly, until the end
(path -> size and raw digests in one ``bytes``), and compared then. Which algorithms to compute
is decided per member: those of the (tag) manifests already seen, or
:data:`~cablekeep.fixity.archivesource.PRESUMED_ALGORITHMS` before any. Should a manifest arrive
later that needs an algorithm a file was not hashed with, one more pass reads just what is
missing. Memory holds a block, the compressed manifests, their entries and the per-file digests:
it does not grow with member sizes. A zip's central directory is held by ``zipfile`` (a few
hundred bytes per member).

The report has the schema and the checks of :func:`cablekeep.fixity.verify.verify_bag`: a valid bag
gives the same problems serialized or unpacked, and a damaged one the same kinds of problems.
The archive itself adds: a tar cut short (``invalid-structure``), a zip member whose CRC-32
fails (``changed``, no algorithm) and an encrypted or unsupported zip member (``not-checked``).
Fast mode reads no payload content, but a compressed tar is still inflated to find its members.
"""

from __future__ import annotations

import os
from pathlib import Path

from .archivesource import ArchiveSource
from .bagcheck import BagCheck
from .report import Report
from .sources import archive_reader

SERIALIZED_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


def is_serialized_bag_name(path: Path | str) -> bool:
    """True when the file name ends like a serialized bag cablekeep reads."""
    return os.fspath(path).lower().endswith(SERIALIZED_SUFFIXES)


def verify_serialized(path: Path, *, fast: bool = False) -> Report:
    """Verify the bag inside the archive at ``path`` without unpacking it; every problem found.

    Raises :class:`BagUnreadableError` when ``path`` cannot be opened, is not a tar (plain or
    compressed) or zip archive, or holds no bag at all. Anything wrong inside is a problem.
    """
    archive = Path(path)
    source = ArchiveSource(archive, archive_reader(archive), fast=fast)
    return BagCheck(source, fast=fast).run()
