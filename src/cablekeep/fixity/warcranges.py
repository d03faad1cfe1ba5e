"""One large WARC checked on several cores: split into ranges at record offsets, merged back.

A WARC file's own checksums (every manifest algorithm over the whole file) can only be computed
in order; its records can be checked anywhere, once it is known where each one starts. A bag made
by cablekeep says where: its ``data/index.cdxj`` gives the offset of every response record
(:func:`index_offsets`). :func:`plan_ranges` cuts the file at some of those offsets into ranges
of about equal size that tile it (each range ends where the next starts; the first starts at 0,
the last runs to the end of the file). The pool then hashes the whole file in one task
(:func:`hash_file`) while other tasks check the ranges (:func:`scan_range`), each read as if it
were a WARC of its own that starts at its offset.

Nothing is trusted from the index: a range is checked like a whole file, so it must start with
a record (a gzip member inflating to ``WARC/``), and every record in it must end inside it, the
last exactly at its end. An offset that is not a record boundary therefore breaks two ranges, a
file cut or spliced breaks at least one, and any problem at all in any range (even a warning)
throws the ranges away: the file is then scanned again from its start in one piece
(:func:`merge_ranges` returns None), so what a damaged file reports is exactly what the one-piece
scan reports. The ranges of a clean file merge into one :class:`~.warccheck.WarcScan`: records
and types summed, record ids and witnessed fields spooled in file order, record ids used in two
ranges found (a problem, so again the one-piece scan), and references left open by a range
resolved against the other ranges.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from ..bagging.layout import BLOCK
from .recordids import IdSpool, id_hash, id_index
from .report import Problem
from .warccheck import WarcScan, scan_warc_stream
from .warcids import OWN_SOFTWARE, norm_id

SPLIT_MIN_BYTES = 8 << 20  # a WARC smaller than this is checked in one piece
RANGE_MIN_BYTES = 4 << 20  # no range is planned smaller than this
RANGES_PER_PROCESS = 2  # ranges a WARC is cut into per pool process, for balance

# a CDXJ line as the crawler writes it (capture.cdxj.format_line: json.dumps of the fields)
_OFFSET_RE = re.compile(rb'"offset": "?(\d+)"?[,}]')
_FILENAME_RE = re.compile(rb'"filename": "([^"\\]+)"')


def index_offsets(index: Path) -> dict[str, list[int]]:
    """The record offsets ``index`` (a CDXJ file) gives, sorted, by WARC file name; lines that do
    not read as the crawler writes them are skipped (an offset is only ever a candidate: a range
    proves its own start)."""
    found: dict[bytes, set[int]] = {}
    with open(index, "rb") as handle:
        for line in handle:
            name = _FILENAME_RE.search(line)
            offset = _OFFSET_RE.search(line)
            if name is not None and offset is not None:
                found.setdefault(name.group(1), set()).add(int(offset.group(1)))
    return {name.decode("utf-8", "surrogateescape"): sorted(offsets) for name, offsets in found.items()}


def plan_ranges(size: int, offsets: Sequence[int], parts: int) -> list[tuple[int, int]]:
    """Ranges (start, end) that tile ``[0, size)``, cut at some of the sorted ``offsets`` near
    equal shares of the file: at most ``parts``, none below :data:`RANGE_MIN_BYTES`; one range
    when the file is too small or no offset helps."""
    parts = min(parts, size // RANGE_MIN_BYTES)
    cuts: list[int] = []
    if parts > 1:
        usable = [o for o in offsets if RANGE_MIN_BYTES <= o <= size - RANGE_MIN_BYTES]
        at = 0
        for share in range(1, parts):
            goal = size * share // parts
            while at < len(usable) and usable[at] < goal:
                at += 1
            if at < len(usable) and usable[at] - (cuts[-1] if cuts else 0) >= RANGE_MIN_BYTES:
                cuts.append(usable[at])
    bounds = [0, *cuts, size]
    return list(zip(bounds, bounds[1:]))


class RangeReader:
    """A file descriptor's bytes ``[start, end)`` as a binary stream (``end`` None: to the end of the
    file), read with ``pread``: several ranges of one file are read at once, by different processes."""

    def __init__(self, fd: int, start: int, end: int | None) -> None:
        self._fd = fd
        self._pos = start
        self._end = end

    def read(self, size: int = BLOCK) -> bytes:
        if self._end is not None:
            size = min(size, self._end - self._pos)
            if size <= 0:
                return b""
        data = os.pread(self._fd, size, self._pos)
        self._pos += len(data)
        return data


def scan_range(root: str, rel: str, start: int, end: int | None, open_file: Callable[[str], int],
               witness: bool) -> WarcScan:
    """Check the records of bytes ``[start, end)`` of the WARC at ``rel`` (``end`` None: to the end
    of the file) as a WARC of their own; offsets are the file's. Runs in a pool process."""
    try:
        fd = open_file(os.path.join(root, rel))
    except OSError as exc:  # the one-piece scan reports it
        return WarcScan(rel, problems=[Problem.not_checked(rel, f"the file could not be opened ({exc}).")])
    try:
        reader = RangeReader(fd, start, end)
        return scan_warc_stream(reader, name=rel, display_path=rel, witness=witness,  # type: ignore[arg-type]
                                origin=start)
    except OSError as exc:  # a read error: the one-piece scan reports it as it always has
        return WarcScan(rel, problems=[Problem.not_checked(rel, f"reading the file failed ({exc}).")])
    finally:
        os.close(fd)


def merge_ranges(rel: str, scans: Sequence[WarcScan]) -> WarcScan | None:
    """The scans of the ranges of one file, in file order, as the one scan of the whole file; None
    when a range found anything (or two ranges hold the same record id), so the file must be
    scanned again in one piece to report it exactly. The range scans' spools are consumed."""
    if any(scan.problems for scan in scans):
        return None
    first = scans[0]
    merged = WarcScan(rel, records=sum(s.records for s in scans), ids=IdSpool(),
                      fields=type(first.fields)() if first.fields is not None else None, software=first.software)
    for scan in scans:
        merged.types.update(scan.types)
        merged.ids.absorb(scan.ids)
        if merged.fields is not None and scan.fields is not None:
            merged.fields.absorb(scan.fields)
    unresolved = [ref for scan in scans for ref in scan.unresolved]
    if len(scans) > 1:
        with id_index(merged.ids.count) as index:
            index.add(0, merged.ids.pairs())
            if next(index.duplicates(), None) is not None:
                merged.discard()
                return None
            unresolved = [ref for ref in unresolved if id_hash(norm_id(ref.target)) not in index]
    software = first.software
    if software is not None and not software.startswith(OWN_SOFTWARE):  # as FileIds.finish marks them
        unresolved = [replace(ref, foreign=software) if ref.foreign is None else ref for ref in unresolved]
    merged.unresolved = unresolved
    return merged


def discard_all(scans: Iterable[WarcScan]) -> None:
    for scan in scans:
        scan.discard()
