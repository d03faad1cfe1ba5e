"""Verifying a BagIt bag (RFC 8493): structure, completeness, Payload-Oxum, checksums, WARCs.

:func:`verify_bag` never stops at the first problem; it returns a :class:`~cablekeep.fixity.report.Report`
listing them all, in phase order. The checks, cheapest first:

1. structure -- bagit.txt (present, no byte-order mark, exactly ``BagIt-Version: M.N`` and
   ``Tag-File-Character-Encoding``); bag-info.txt (repeated labels, continuation lines, the
   declared encoding); every manifest and fetch.txt line parses and every path is safe (no
   absolute paths, no ``..``, no ``~``; from BagIt 1.0 only ``%0A``, ``%0D`` and ``%25`` are
   decoded); symbolic links anywhere in the bag are refused and never followed;
2. completeness -- every manifest entry exists, every payload file is in every payload
   manifest, duplicates (a warning before BagIt 1.0 when the checksums agree; invalid from 1.0
   or when they differ), fetch.txt (we never fetch: absent files are ``missing``), and
   Payload-Oxum;
3. content (full mode only) -- every file of every payload and tag manifest is read once, in
   1 MiB blocks, feeding all the bag's algorithms at once. WARC files in the payload are also
   checked record by record in that same read (:mod:`cablekeep.fixity.warccheck`), and their
   WARC-Concurrent-To / WARC-Refers-To references are resolved across all the bag's WARCs.
   Tag files are hashed while they are parsed.

``fast=True`` does 1 and 2 only and says so: one ``not-checked`` problem per manifest (and one
for the WARCs), and ``not-checked`` instead of a failure when there is no Payload-Oxum.

``only=paths`` (a sample, used by :mod:`cablekeep.fixity.audit`) does 1 and 2 in full, hashes every tag
file, and hashes only the payload files named (bag paths as stored, ``data/...``); the report's
mode is ``sample`` and ``files_not_sampled`` counts the rest. WARC references across files are
resolved only when every WARC file was in the sample. ``open_file`` opens a payload file for
hashing (``os.open`` without following links by default); it exists so tests can inject read
errors, and must be a module-level function when a process pool is used.

The check itself is :class:`cablekeep.fixity.bagcheck.BagCheck`, the same for a directory, a tar
and a zip; this module is its entry point for a directory
(:class:`cablekeep.fixity.dirsource.DirectorySource`). Scale: hashing runs in-process for small
bags and on a process pool (``processes``, default ``os.cpu_count()``) for big ones, in bounded
batches (:mod:`cablekeep.fixity.dirsource`). The one structure that grows with the bag is the
manifest map: path -> one packed ``bytes`` value per file (:mod:`cablekeep.fixity.packed`), which
shrinks as files are found. The pool forks while this process has a single thread and uses
``forkserver`` otherwise; a script that verifies big bags then needs the usual
``if __name__ == "__main__":`` guard.

Unicode: a file stored under another normalisation (NFC/NFD) than its manifest line is matched,
with a warning; manifest paths that differ only in case get a warning (they cannot coexist on
macOS or Windows), but case is never folded when matching.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from pathlib import Path

from ..errors import UsageError
from .bagcheck import BagCheck, VerifyProgress
from .dirsource import DirectorySource, open_nofollow
from .report import Report

__all__ = ["VerifyProgress", "verify_bag"]


def verify_bag(
    path: Path,
    *,
    fast: bool = False,
    processes: int | None = None,
    only: Collection[str] | None = None,
    open_file: Callable[[str], int] | None = None,
    on_progress: Callable[[VerifyProgress], None] | None = None,
    executor: Executor | None = None,
) -> Report:
    """Verify the bag at ``path`` and report every problem found.

    Raises :class:`BagUnreadableError` when ``path`` is not a readable directory or shows no
    sign of being a bag (no bagit.txt, no manifest, no data/); anything wrong inside a bag is a
    problem in the report instead. :class:`UsageError` when ``processes`` is below 1, or when
    ``fast`` and ``only`` are both given. ``only`` and ``open_file``: see the module docstring.
    ``executor`` (a ``concurrent.futures.Executor``, e.g. a Dask cluster's, see :mod:`cablekeep.cluster`)
    hashes the payload batches instead of a pool of this machine's; ``processes`` is then how many
    batches it runs at once. The bag-level checks run here, once.
    """
    if processes is None:
        processes = os.cpu_count() or 1
    if processes < 1:
        raise UsageError(f"processes must be at least 1, not {processes}")
    if fast and only is not None:
        raise UsageError("a fast check hashes nothing, so it cannot hash a sample; choose one")
    source = DirectorySource(Path(path), processes=processes, open_file=open_file or open_nofollow, executor=executor)
    return BagCheck(source, fast=fast, only=only, on_progress=on_progress).run()
