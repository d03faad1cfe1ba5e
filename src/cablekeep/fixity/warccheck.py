"""Checking WARC files record by record, with our own streaming reader.

Why not warcio: ``warcio check`` does not notice a record cut short at the very end of a file,
which is exactly how an interrupted crawl breaks a WARC. This reader reads the file once in
1 MiB blocks and, for gzip files, inflates one member at a time, so it knows where every member
starts and ends. Nothing larger than a block (plus a record's header block) is held in memory.

The scan here composes one step per part of the standard, each in its own module:

- :mod:`.warcgzip`: the file read once (every byte fed to the caller's hashers) and its gzip
  members: every member whole, one member one record. A file gzipped as one single member, or
  members that split records, is reported (tools cannot seek to such records). After a broken
  member, reading resumes at the next one;
- :mod:`.warcheaders`: the header block -- a ``WARC/1.0`` or ``WARC/1.1`` line, fields up to
  CRLF CRLF (at most 1 MiB), and the required fields: WARC-Record-ID (``<urn:...>``),
  Content-Length (an integer), WARC-Date (a W3C date), WARC-Type;
- here: the whole declared Content-Length is present, followed by CRLF CRLF. A file cut anywhere
  -- inside a header block, a content block, the closing CRLFs or a gzip member -- is invalid and
  the problem gives the offset of the record (and the member) that was cut. After garbage,
  reading resumes at the next gzip member or ``WARC/1.x`` line;
- :mod:`.warcdigests`: WARC-Block-Digest and WARC-Payload-Digest where present, through HTTP
  headers and chunking;
- :mod:`.warcsegments`: segmented records -- numbering, total length, and the payload digest of
  the whole over all its segments;
- :mod:`.warcids`: WARC-Record-ID is unique, and WARC-Concurrent-To / WARC-Refers-To /
  WARC-Warcinfo-ID / WARC-Segment-Origin-ID name records that exist. :func:`scan_warc` returns the ids it saw and the references it could not
  resolve, so a bag can resolve them across all its WARCs with :func:`resolve_references`. A
  revisit whose WARC-Refers-To is nowhere to be found but which carries
  WARC-Refers-To-Target-URI and WARC-Refers-To-Date is a ``warning`` (the original is in another
  collection).

A file named ``.warc.gz`` that holds an uncompressed WARC, or named ``.warc`` and gzipped, is
read by what it holds, with a ``warning`` that its name is wrong (tools go by the name).

A file cut exactly between two records is indistinguishable from a shorter valid file: it is
valid. A file with no record at all (empty) is not. ARC files (``.arc``, ``.arc.gz``, or content
starting ``filedesc:``) are checked record by record by :mod:`.arccheck`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from ..bagging.layout import BAGIT_TXT
from ..errors import BagUnreadableError
from .arccheck import ArcScanner
from .recordids import FieldPrint, FieldSpool, IdSpool
from .report import Problem, ProblemKind, Report, problem_order
from .warcdigests import RecordDigests, decode_digest, mismatch_problem
from .warcbuffer import InflatedBuffer
from .warcfindings import Finding, Tally
from .warcgzip import Buffer, Hasher, RawSource, Stream, member_findings, open_stream
from .warcheaders import MAX_HEADER_BLOCK, VERSIONS, HeaderBlock, HeaderQuirks, RecordHeaders, judge_headers, parse_header_block
from .warcids import FileIds, Reference, resolve_references
from .warcsegments import SegmentRecord, Segments, Tee

__all__ = [
    "ID_WINDOW",
    "Hasher",
    "Reference",
    "WarcFilesCheck",
    "WarcRecordInfo",
    "WarcScan",
    "decode_digest",
    "is_arc_name",
    "is_warc_folder",
    "is_warc_name",
    "is_warc_target",
    "iter_warc_records",
    "resolve_references",
    "scan_warc",
    "scan_warc_stream",
    "verify_warc",
    "verify_warc_files",
    "verify_warc_report",
]

ID_WINDOW = 4096  # record ids (and pending references) of a file kept in memory while it is scanned

_RECORD_START_RE = re.compile(rb"(?i:WARC)/(?:1\.[01]|0\.1[78])\r\n")
_END_OF_RECORD = b"\r\n\r\n"


@dataclass
class WarcScan:
    """What :func:`scan_warc` found in one file."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    ids: IdSpool = field(default_factory=IdSpool)  # every record id's hash and offset, on disk
    types: Counter[str] = field(default_factory=Counter)  # records read by WARC-Type (ARC: filedesc, arc)
    unresolved: list[Reference] = field(default_factory=list)
    # what a bag's own index claims of each record: folded when the scan was asked to (``witness``),
    # and spooled on disk too when asked (``spool_fields``)
    fields: FieldPrint | None = None
    software: str | None = None  # the ``software`` of the file's first warcinfo record, if any

    def discard(self) -> None:
        """Remove the spooled record ids and fields (once the bag's references are resolved and witnessed)."""
        self.ids.discard()
        if self.fields is not None:
            self.fields.discard()


@dataclass(frozen=True)
class WarcRecordInfo:
    """One record read completely by :func:`iter_warc_records`."""

    offset: int
    record_type: str | None
    record_id: str | None
    target_uri: str | None
    date: str | None
    content_length: int


def is_warc_name(name: str) -> bool:
    return name.endswith((".warc", ".warc.gz"))


def is_arc_name(name: str) -> bool:
    return name.endswith((".arc", ".arc.gz"))


class WarcinfoFields:
    """Passes a warcinfo block on to its digests and keeps its first bytes, to read ``software``."""

    LIMIT = 1 << 16

    def __init__(self, sink: Hasher) -> None:
        self._sink = sink
        self._head = bytearray()

    def update(self, data: Buffer) -> None:
        self._sink.update(data)
        if len(self._head) < self.LIMIT:
            self._head += data[: self.LIMIT - len(self._head)]

    def software(self) -> str | None:
        """The ``software`` field of the application/warc-fields block, if it has one."""
        for line in bytes(self._head).decode("utf-8", "replace").splitlines():
            name, colon, value = line.partition(":")
            if colon and name.strip().lower() == "software":
                return value.strip()
        return None


class _Closing(Enum):
    """How a record's block was closed."""

    CLOSED = "closed"  # by CRLF CRLF (or one CRLF where its gzip member ends: a warning)
    MISSING = "missing"  # something else follows the block: Content-Length may be wrong
    CUT = "cut"  # the file ends inside the closing CRLF CRLF


class _Scanner(InflatedBuffer):
    """Reads records one after another from the inflated stream and runs each step on them.

    Problems are offsets in the file (of the record, or of its gzip member).
    """

    def __init__(self, stream: Stream, scan: WarcScan, first: bytes = b"") -> None:
        super().__init__(stream, first)
        self._scan = scan
        self._ids = FileIds(scan.path, scan.ids, ID_WINDOW)
        self._quirks = HeaderQuirks.new()
        self._mid_member = Tally()  # records that do not start a gzip member
        self._software: str | None = None  # who wrote the file, as its first warcinfo says
        self._segments = Segments()
        self._split = Tally()  # records that span gzip members

    # -- problems

    def _problem(self, detail: str, offset: int | None, record_id: str | None = None, kind: ProblemKind = "warc") -> None:
        self._scan.problems.append(Problem(kind, self._scan.path, detail, offset=offset, record_id=record_id))

    def _add(self, findings: list[Finding], record_id: str | None = None) -> None:
        for finding in findings:
            self._problem(finding.detail, finding.offset, record_id, finding.kind)

    # -- the file

    def run(self) -> Iterator[WarcRecordInfo]:
        """Each record read completely, in file order; problems go to the scan."""
        for offset, headers in self._records():
            yield WarcRecordInfo(offset, headers.record_type, headers.record_id, headers.target_uri, headers.date,
                                 headers.content_length or 0)

    def check(self) -> None:
        """Read every record; problems go to the scan."""
        for _record in self._records():
            pass

    def _records(self) -> Iterator[tuple[int, RecordHeaders]]:
        """The offset and headers of each record read completely, in file order."""
        if not self._buf and not self._fill():
            if not self._stream.errors:
                self._problem("the file holds no WARC record (it is empty).", 0)
        gzip = self._stream.gzip
        bounds = self._stream.bounds
        while self._buf or self._fill() or self._recover():
            start = self._base
            if gzip:
                while len(bounds) > 1 and bounds[1].inflated <= start:  # _prune_bounds, inline
                    del bounds[0]
                if not bounds or bounds[0].inflated != start:  # not self._starts_member(start)
                    self._mid_member.add(self._raw_offset(start))
            read = self._read_record(start)
            if read is None:
                if not self._resync(start):
                    break
                continue
            yield read
        self._finish()

    def _resync(self, start: int) -> bool:
        """After a broken record: skip to the next gzip member, or the next WARC/1.x line."""
        if self._stream.gzip:
            return self._next_member(start)
        search_from = max(0, start + 1 - self._base)
        while True:
            match = _RECORD_START_RE.search(self._buf, search_from)
            while match is not None and match.start() > 0 and self._buf[match.start() - 1] != 0x0A:
                match = _RECORD_START_RE.search(self._buf, match.start() + 1)
            if match is not None:
                skipped = self._base + match.start() - start
                self._consume(match.start())
                self._problem(
                    f"reading resumed at the next record, offset {self._base}, after skipping {skipped} bytes.",
                    start,
                )
                return True
            keep = min(len(self._buf), 16)
            self._consume(len(self._buf) - keep)
            search_from = 0
            if not self._fill():
                return False

    def _finish(self) -> None:
        self._add(member_findings(self._stream, self._scan.records, self._mid_member, self._split))
        self._add(self._quirks.findings())
        self._add(self._segments.finish())
        self._scan.software = self._software
        checked = self._ids.finish(self._software)
        self._add(checked.findings)
        self._scan.unresolved = checked.unresolved

    # -- one record

    def _read_record(self, start: int) -> tuple[int, RecordHeaders] | None:
        """Read the record at inflated offset ``start`` through every step: its offset and headers,
        None when it broke."""
        offset = self._raw_offset(start)
        block = self._read_header_block(start, offset)
        if block is None:
            return None
        headers = judge_headers(block, offset)
        if headers.findings:
            self._add(headers.findings, headers.record_id)
        if headers.non_urn_id or headers.bracketed_uri or headers.spaced_uri:
            self._quirks.add(headers, offset)
        if block.version not in VERSIONS:
            self._quirks.add_version(block, offset)
        self._track_ids(block, headers, offset)
        length = headers.content_length
        if length is None:
            return None
        record_type = headers.record_type_l
        digests = RecordDigests(block, record_type, offset)
        if digests.findings:
            self._add(digests.findings, headers.record_id)
        sink: Hasher = digests
        segment = None
        if record_type == "continuation" or "warc-segment-number" in block.fields:
            segment = self._segments.begin(block, headers, offset)
            if segment is not None:
                self._add(segment.findings, headers.record_id)
                if segment.sink is not None:
                    sink = Tee(digests, segment.sink)
        if record_type == "warcinfo" and self._software is None:
            fields = WarcinfoFields(sink)
            got = self._read_block(length, fields)
            self._software = fields.software()
        else:
            got = self._read_block(length, sink)
        if got < length:
            self._problem(self._short_block(offset, got, length), offset, headers.record_id)
            return None
        closing = self._read_closing(offset, length, headers.record_id)
        if closing is _Closing.CUT:
            return None
        if closing is _Closing.CLOSED and self._stream.gzip:
            for bound in self._stream.bounds:
                if start < bound.inflated < self._base:
                    self._split.add(offset)
                    break
        for mismatch in digests.mismatches():
            self._scan.problems.append(mismatch_problem(mismatch, self._scan.path, offset, headers.record_id))
        if segment is not None:
            self._end_segment(segment, block, length)
        self._scan.records += 1
        self._scan.types[record_type or "(no type)"] += 1
        if closing is _Closing.MISSING:
            return None
        return offset, headers

    def _end_segment(self, segment: SegmentRecord, block: HeaderBlock, length: int) -> None:
        origin = block.one("WARC-Segment-Origin-ID")
        findings, mismatch = self._segments.end(segment, length, origin)
        self._add(findings, origin)
        if mismatch is not None and segment.series is not None:
            self._scan.problems.append(mismatch_problem(mismatch, self._scan.path, segment.series.offset, origin))

    def _read_header_block(self, start: int, offset: int) -> HeaderBlock | None:
        """The record's header block, parsed; None when there is none to read on from."""
        head = self._read_head(start, offset)
        if head is None:
            preview = bytes(self._buf[:20])
            self._problem(f"no WARC record starts at offset {offset} (found {preview!r}).", offset)
            return None
        if not head:
            return None
        block = parse_header_block(head, offset)
        self._add(block.findings)
        return block if block.is_warc else None

    def _read_head(self, start: int, offset: int) -> bytes | None:
        """The bytes up to CRLF CRLF; None when no record starts here, b"" when it has no end."""
        scan_from = 0
        while True:
            end = self._buf.find(_END_OF_RECORD, scan_from)
            if end >= 0:
                head = bytes(self._buf[:end])
                self._consume(end + 4)
                return head
            if len(self._buf) >= 8 and not self._buf.startswith(b"WARC/") and self._buf[:5].upper() != b"WARC/":
                return None
            if len(self._buf) > MAX_HEADER_BLOCK:
                self._problem(
                    f"the header block of the record at offset {offset} has no end "
                    f"(CRLF CRLF) within {MAX_HEADER_BLOCK} bytes.",
                    offset,
                )
                return b""
            scan_from = max(0, len(self._buf) - 3)
            if not self._fill():
                self._problem(
                    f"the file ends inside the header block of the record at offset {offset} "
                    f"(cut short at offset {self._stream.source.offset}).",
                    offset,
                )
                return b""

    def _track_ids(self, block: HeaderBlock, headers: RecordHeaders, offset: int) -> None:
        if headers.record_id is not None:
            finding = self._ids.add_id(headers.record_id, offset)
            if finding is not None:
                self._add([finding], headers.record_id)
        self._ids.add_references(block, headers.record_id, headers.record_type_l, offset)
        spool = self._scan.fields
        if spool is not None:
            digest = block.fields.get("warc-payload-digest")
            spool.add(offset, headers.record_id, headers.target_uri, headers.date, digest[0] if digest else None,
                      headers.record_type_l, self._ids.last_hash if headers.record_id is not None else None)

    def _short_block(self, offset: int, got: int, length: int) -> str:
        if self._stream.broken and not self._stream.cut_short:
            return (
                f"the record at offset {offset} could not be read to its end: its gzip member is broken "
                f"after {got} of its {length} bytes."
            )
        return (
            f"the record at offset {offset} is cut short: Content-Length is {length} but the file "
            f"ends after {got} bytes of its block."
        )

    def _read_closing(self, offset: int, length: int, record_id: str | None) -> _Closing:
        """Read the CRLF CRLF after the block of the record at ``offset``."""
        if self._buf.startswith(_END_OF_RECORD):  # the common case, without a copy
            self._consume(4)
            return _Closing.CLOSED
        after_block = self._base
        tail = self._read_exact(4)
        if tail == _END_OF_RECORD:
            return _Closing.CLOSED
        if tail.startswith(b"\r\n") and self._member_ends_at(after_block + 2):
            # One CRLF, then a whole gzip member ends: a writer's slip (Heritrix wrote such revisits),
            # not a truncation -- a cut would have broken the member.
            self._unread(tail[2:])
            self._problem(
                f"the record at offset {offset} is closed by one CRLF instead of two; its gzip member is "
                "complete, so nothing is missing.",
                offset,
                record_id,
                kind="warning",
            )
            return _Closing.CLOSED
        if len(tail) < 4 and self._eof:
            self._problem(
                f"the file ends inside the CRLF CRLF that must close the record at offset {offset}.", offset, record_id
            )
            return _Closing.CUT
        self._problem(
            f"the record at offset {offset} is not followed by CRLF CRLF (Content-Length {length} may be wrong).",
            offset,
            record_id,
        )
        self._unread(tail)
        return _Closing.MISSING


# --------------------------------------------------------------------------- public functions


def _name_problem(name: str, display_path: str, stream: Stream) -> Problem | None:
    """A warning when the file's name says the opposite of its content about gzip."""
    if stream.gzip and name.endswith(".warc"):
        return Problem(
            "warning",
            display_path,
            f"{name} is named .warc but is gzip-compressed; tools choose how to read a WARC by its name: "
            f"rename it to {name}.gz.",
        )
    if not stream.gzip and name.endswith(".warc.gz") and stream.source.head.startswith(b"WARC/"):
        return Problem(
            "warning",
            display_path,
            f"{name} is named .warc.gz but holds an uncompressed WARC; tools choose how to read a WARC by its "
            f"name: rename it to {name[: -len('.gz')]}.",
        )
    return None


def scan_warc(
    path: Path, *, display_path: str | None = None, raw_hashers: Sequence[Hasher] = ()
) -> WarcScan:
    """Check every record of one WARC file; references to other files are left unresolved.

    ``raw_hashers`` are fed every byte of the file exactly once, so a bag verifier can check
    the file's manifest checksums in the same read. Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as stream:
        return scan_warc_stream(
            stream,
            name=path.name,
            display_path=display_path if display_path is not None else str(path),
            raw_hashers=raw_hashers,
        )


def scan_warc_stream(
    stream: BinaryIO, *, name: str, display_path: str, raw_hashers: Sequence[Hasher] = (), witness: bool = False,
    spool_fields: bool = False, origin: int = 0,
) -> WarcScan:
    """:func:`scan_warc` on an open binary stream; ``name`` is the file name (for ARC detection,
    and to warn when it says ``.warc.gz`` of an uncompressed file or ``.warc`` of a gzipped one).

    ``witness``: also fold, in :attr:`WarcScan.fields` (a :class:`~.recordids.FieldPrint`), the
    offset, id, target URI, date and payload digest of every record whose header block was read
    into the fingerprint :mod:`.witness` compares with the bag's index (off, the scan does no more
    work than before). ``spool_fields``: keep those fields of every record too, on disk (a
    :class:`~.recordids.FieldSpool`), for the exact comparison.

    ``origin``: the file offset at which ``stream`` starts, when it is a range of the file
    (:mod:`.warcranges`); offsets in problems and spools are then the file's.

    The stream is read to its end even when the WARC breaks early, so ``raw_hashers`` always
    see the whole file.
    """
    scan = WarcScan(display_path, fields=FieldSpool() if spool_fields else FieldPrint() if witness else None)
    layers = open_stream(stream, raw_hashers, origin)
    first = layers.pump() or b""
    if is_arc_name(name) or first.startswith(b"filedesc:"):
        _scan_arc(layers, first, scan)
    else:
        _Scanner(layers, scan, first).check()
        name_problem = _name_problem(name, display_path, layers)
        if name_problem is not None:
            scan.problems.append(name_problem)
    layers.source.drain()
    if scan.fields is not None:
        scan.fields.size = layers.source.offset
    return scan


def _scan_arc(layers: Stream, first: bytes, scan: WarcScan) -> None:
    """An ARC file's records, checked by :mod:`.arccheck`, into ``scan``."""
    scanner = ArcScanner(layers, first)
    for _record in scanner.run():
        pass
    scan.records = scanner.records
    scan.types.update(scanner.types)
    scan.problems += [Problem(f.kind, scan.path, f.detail, offset=f.offset) for f in scanner.findings]


def verify_warc(path: Path, *, display_path: str | None = None) -> tuple[list[Problem], int]:
    """Check one WARC file on its own: (problems in order, number of records checked).

    Raises :class:`BagUnreadableError` when the file cannot be opened or read.
    """
    try:
        scan = scan_warc(path, display_path=display_path)
    except OSError as exc:
        raise BagUnreadableError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
    try:
        problems = scan.problems + resolve_references([scan])
    finally:
        scan.discard()
    problems.sort(key=problem_order)
    return problems, scan.records


def verify_warc_report(path: Path) -> Report:
    """:func:`verify_warc` as a :class:`Report` in ``warc`` mode, for the CLI."""
    problems, records = verify_warc(path)
    size = path.stat().st_size
    return Report(str(path), "warc", (), 1, size, records, problems)


@dataclass
class WarcFilesCheck:
    """What :func:`verify_warc_files` found in one WARC/ARC file, or a folder of them."""

    target: str
    problems: list[Problem]
    files: int
    size: int  # bytes read
    records: int
    types: Counter[str]  # records by type (WARC-Type; ARC: filedesc, arc)

    def report(self) -> Report:
        """The check as a :class:`Report` in ``warc`` mode."""
        return Report(self.target, "warc", (), self.files, self.size, self.records, self.problems)

    def problem_counts(self) -> Counter[str]:
        return Counter(problem.kind for problem in self.problems)


def is_warc_folder(path: Path) -> bool:
    """True for a folder that is not a bag (no bagit.txt) and holds WARC or ARC files."""
    if not path.is_dir() or path.is_symlink() or (path / BAGIT_TXT).exists():
        return False
    return next(_archive_files(path), None) is not None


def is_warc_target(path: Path) -> bool:
    """True for what :func:`verify_warc_files` checks: a WARC or ARC file, or a folder of them."""
    if path.is_file():
        return is_warc_name(path.name) or is_arc_name(path.name)
    return is_warc_folder(path)


def _archive_files(folder: Path) -> Iterator[Path]:
    """The WARC and ARC files below ``folder``, in name order; links are not followed."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if is_warc_name(name) or is_arc_name(name):
                yield Path(root) / name


def verify_warc_files(target: Path) -> WarcFilesCheck:
    """Check one WARC or ARC file, or every one in a folder that is not a bag, as :func:`verify_warc`
    does; a folder's references are resolved across its files. A symbolic link is not followed
    (``not-checked``). Raises :class:`BagUnreadableError` when a file cannot be read."""
    paths = list(_archive_files(target)) if target.is_dir() else [target]
    scans: list[WarcScan] = []
    problems: list[Problem] = []
    size = 0
    try:
        for path in paths:
            if path.is_symlink():
                problems.append(Problem("not-checked", str(path), "a symbolic link; it was not followed."))
                continue
            try:
                scans.append(scan_warc(path))
                size += path.stat().st_size
            except OSError as exc:
                raise BagUnreadableError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
        for scan in scans:
            problems += scan.problems
        problems += resolve_references(scans)
    finally:
        for scan in scans:
            scan.discard()
    problems.sort(key=problem_order)
    types: Counter[str] = Counter()
    for scan in scans:
        types.update(scan.types)
    return WarcFilesCheck(str(target), problems, len(scans), size, sum(scan.records for scan in scans), types)


def iter_warc_records(path: Path) -> Iterator[WarcRecordInfo]:
    """Each record read completely, in file order. Problems are not raised: use verify_warc.

    Raises :class:`BagUnreadableError` when the file cannot be opened.
    """
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise BagUnreadableError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
    with stream:
        yield from _Scanner(open_stream(stream, ()), WarcScan(str(path))).run()
