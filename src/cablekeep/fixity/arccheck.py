"""Checking ARC files (versions 1 and 2, plain or one gzip member per record) record by record.

ARC is the Internet Archive's format before WARC ("Arc File Format", version 1.0, 1996, and
version 2 of the header line). A file is a version block, then records:

- every record is a header line of space-separated fields ending in LF, then exactly
  ``Archive-length`` bytes of content, then one LF. Version 1's line holds
  ``URL IP-address Archive-date Content-type Archive-length``; version 2's
  ``URL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename
  Archive-length``. The date is ``YYYYMMDDhhmmss``, the IP address a dotted quad (or IPv6), the
  length ASCII digits. A URL holding spaces (old crawlers wrote them) is read from the fields
  the rest leaves, with one warning per file;
- the first record is the version block: its URL is ``filedesc://<file name>``, and its content
  starts with ``<version> <reserved> <origin-code>`` and the line naming the fields of the
  records (the version's own list; another list is a warning), then optional metadata (Heritrix
  writes XML there);
- an ``.arc.gz`` file holds one whole gzip member per record, as in WARC.

A broken header line, a record cut short or a broken gzip member is an error (kind ``warc``:
the report's kind for a broken web archive file) at the record's offset; reading resumes at the
next gzip member, or at the next line that is a whole valid header line.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from .warcbuffer import InflatedBuffer
from .warcfindings import Finding, Tally
from .warcgzip import Buffer, Stream, member_findings

MAX_HEADER_LINE = 1 << 16  # a header line without LF within this many bytes has no end
ARC_FIELDS = {
    1: ("URL", "IP-address", "Archive-date", "Content-type", "Archive-length"),
    2: ("URL", "IP-address", "Archive-date", "Content-type", "Result-code", "Checksum", "Location", "Offset",
        "Filename", "Archive-length"),
}
_DATE_RE = re.compile(r"^\d{14}$")
_CTL_RE = re.compile(r"[\x00-\x1f\x7f]")
_RESULT_RE = re.compile(r"^(\d{3}|-)$")


class ArcRecordInfo(NamedTuple):
    """One ARC record read completely: its file offset, kind (``filedesc`` or ``arc``), URL, length."""

    offset: int
    record_type: str
    url: str
    length: int


class _Line(NamedTuple):
    """A header line read: its fields, the URL (spaces and all) and the length, when valid."""

    url: str
    fields: list[str]
    length: int | None
    findings: list[Finding]


class _Counter:
    """A sink for a record's content: only its length matters."""

    def update(self, data: Buffer, /) -> None:
        pass


class ArcScanner(InflatedBuffer):
    """Reads an ARC file's records one after another; :attr:`findings` says what was wrong."""

    def __init__(self, stream: Stream, first: bytes = b"") -> None:
        super().__init__(stream, first)
        self.findings: list[Finding] = []
        self.records = 0
        self.types: Counter[str] = Counter()
        self.version: int | None = None
        self._spaced_url = Tally()
        self._mid_member = Tally()
        self._split = Tally()
        self._sink = _Counter()
        self._started = False  # the first record (the version block) was read

    def run(self) -> Iterator[ArcRecordInfo]:
        """Each record read completely, in file order."""
        while self._skip_separators():
            start = self._base
            self._prune_bounds(start)
            if self._stream.gzip and not self._starts_member(start):
                self._mid_member.add(self._raw_offset(start))
            info = self._read_record(start)
            if info is None:
                if not self._resync(start):
                    break
                continue
            yield info
        if self.records == 0 and not self._stream.errors and not self.findings:
            self.findings.append(Finding("the file holds no ARC record (it is empty).", 0))
        self.findings += member_findings(self._stream, self.records, self._mid_member, self._split)
        if self._spaced_url.count:
            self.findings.append(
                Finding(
                    f"{self._spaced_url.count} record(s) have a URL holding spaces (not a legal URI; read from the "
                    f"fields the others leave), first at offset {self._spaced_url.offset}.",
                    self._spaced_url.offset,
                    "warning",
                )
            )

    def _skip_separators(self) -> bool:
        """Skip the LFs between records; False at the end of the file."""
        while True:
            if not self._buf and not self._fill() and not self._recover():
                return False
            skip = 0
            while skip < len(self._buf) and self._buf[skip] in b"\r\n":
                skip += 1
            self._consume(skip)
            if self._buf:
                return True

    def _read_line(self, offset: int) -> bytes | None:
        """The header line at the buffer's start, without its LF; None when it has no end."""
        scan_from = 0
        while True:
            end = self._buf.find(b"\n", scan_from)
            if end >= 0:
                line = bytes(self._buf[:end])
                self._consume(end + 1)
                return line.rstrip(b"\r")
            if len(self._buf) > MAX_HEADER_LINE:
                self.findings.append(
                    Finding(f"the header line at offset {offset} has no end within {MAX_HEADER_LINE} bytes.", offset)
                )
                return None
            scan_from = len(self._buf)
            if not self._fill():
                self.findings.append(
                    Finding(f"the file ends inside the header line of the record at offset {offset}.", offset)
                )
                return None

    def _read_record(self, start: int) -> ArcRecordInfo | None:
        offset = self._raw_offset(start)
        raw = self._read_line(offset)
        if raw is None:
            return None
        first = not self._started
        self._started = True
        line = self._parse_line(raw, offset, first)
        self.findings += line.findings
        if line.length is None:
            return None
        if first:
            got, block = self._read_version_block(line.length, offset)
        else:
            got, block = self._read_block(line.length, self._sink), None
        if got < line.length:
            self.findings.append(
                Finding(
                    f"the record at offset {offset} is cut short: Archive-length is {line.length} but the file ends "
                    f"after {got} bytes of its content.",
                    offset,
                )
            )
            return None
        if block is not None:
            self._judge_version_block(block, offset)
        if not self._read_separator(offset, line.length):
            return None
        if self._stream.gzip and any(start < bound.inflated < self._base for bound in self._stream.bounds):
            self._split.add(offset)
        record_type = "filedesc" if first else "arc"
        self.records += 1
        self.types[record_type] += 1
        return ArcRecordInfo(offset, record_type, line.url, line.length)

    def _parse_line(self, raw: bytes, offset: int, first: bool) -> _Line:
        """The header line of the record at ``offset``, its fields judged."""
        text = raw.decode("latin-1")
        findings: list[Finding] = []
        fields = text.split(" ")
        if first and not text.startswith("filedesc://"):
            findings.append(
                Finding(f"the ARC file does not start with its version block ('filedesc://...'); found {raw[:40]!r}.",
                        offset)
            )
            return _Line("", fields, None, findings)
        names = self._names(len(fields), first)
        if names is None:
            findings.append(
                Finding(
                    f"the header line at offset {offset} has {len(fields)} fields; ARC version "
                    f"{self.version or 1} has {len(ARC_FIELDS[self.version or 1])}: {raw[:120]!r}.",
                    offset,
                )
            )
            return _Line("", fields, None, findings)
        extra = len(fields) - len(names)
        url = " ".join(fields[: extra + 1])
        values = [url, *fields[extra + 1 :]]
        if extra:
            self._spaced_url.add(offset)
        for name, value in zip(names, values):
            problem = _judge_field(name, value)
            if problem is not None:
                findings.append(Finding(f"{name} {value[:60]!r} at offset {offset} {problem}.", offset))
        length_text = values[-1]
        length = int(length_text) if length_text.isascii() and length_text.isdigit() else None
        return _Line(url, values, length, findings)

    def _names(self, count: int, first: bool) -> tuple[str, ...] | None:
        """The field names a header line of ``count`` fields is read by (None: it fits no version).

        The version block's own line may be of either version; later lines must be of the file's."""
        if first:
            return next((names for names in ARC_FIELDS.values() if len(names) == count), None)
        names = ARC_FIELDS[self.version or 1]
        return names if count >= len(names) else None  # more: a URL holding spaces

    def _read_version_block(self, length: int, offset: int) -> tuple[int, bytes]:
        holder = _Holder(MAX_HEADER_LINE)
        got = self._read_block(length, holder)
        return got, bytes(holder.data)

    def _judge_version_block(self, block: bytes, offset: int) -> None:
        lines = block.decode("latin-1").split("\n")
        head = lines[0].split(" ") if lines else []
        if len(head) < 3 or not head[0].isdigit() or int(head[0]) not in ARC_FIELDS:
            self.findings.append(
                Finding(
                    f"the version block at offset {offset} does not start '<version> <reserved> <origin-code>' with "
                    f"version 1 or 2: {lines[0][:60]!r}.",
                    offset,
                )
            )
            self.version = 1
            return
        self.version = int(head[0])
        spec = lines[1].strip().split() if len(lines) > 1 else []
        if [name.lower() for name in spec] != [name.lower() for name in ARC_FIELDS[self.version]]:
            self.findings.append(
                Finding(
                    f"the version block at offset {offset} names the fields {' '.join(spec)[:120]!r}, not those of "
                    f"ARC version {self.version}; records are read by version {self.version}.",
                    offset,
                    "warning",
                )
            )

    def _read_separator(self, offset: int, length: int) -> bool:
        """The LF after a record's content; False when something else follows."""
        tail = self._read_exact(1)
        if tail == b"\n" or not tail:
            return True  # the LF, or the end of the file (the last LF is often left out)
        self._unread(tail)
        if self._stream.gzip and self._starts_member(self._base):
            return True  # the member ends with the content; the next record starts a member
        self.findings.append(
            Finding(
                f"the record at offset {offset} is not followed by a newline (Archive-length {length} may be wrong).",
                offset,
            )
        )
        return False

    def _resync(self, start: int) -> bool:
        """After a broken record: the next gzip member, or the next whole valid header line."""
        if self._stream.gzip:
            return self._next_member(start)
        if self.version is None:
            self.version = 1
        skipped_from = self._raw_offset(start)
        while True:
            end = self._buf.find(b"\n")
            while end < 0:
                if not self._fill():
                    return False
                end = self._buf.find(b"\n")
            self._consume(end + 1)
            nxt = self._buf.find(b"\n")
            while nxt < 0 and len(self._buf) < MAX_HEADER_LINE and self._fill():
                nxt = self._buf.find(b"\n")
            if nxt < 0:
                return False
            candidate = self._parse_line(bytes(self._buf[:nxt]).rstrip(b"\r"), self._base, False)
            if candidate.length is not None and not candidate.findings:
                self.findings.append(
                    Finding(f"reading resumed at the next record, offset {self._base}, after the broken one.",
                            skipped_from)
                )
                return True


class _Holder:
    """A sink that keeps the first ``limit`` bytes fed to it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def update(self, data: Buffer, /) -> None:
        if len(self.data) < self.limit:
            self.data += data[: self.limit - len(self.data)]


def _judge_field(name: str, value: str) -> str | None:
    """What is wrong with one field of a header line (None: nothing)."""
    if not value:
        return "is empty"
    if _CTL_RE.search(value):
        return "holds a control byte"
    if name == "IP-address":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return "is not an IP address"
    elif name == "Archive-date":
        if not _DATE_RE.match(value):
            return "is not a date YYYYMMDDhhmmss"
        try:
            datetime.strptime(value, "%Y%m%d%H%M%S")
        except ValueError:
            return "is not a real date"
    elif name in ("Archive-length", "Offset"):
        if not (value.isascii() and value.isdigit()):
            return "is not a number"
    elif name == "Result-code":
        if not _RESULT_RE.match(value):
            return "is not a three-digit result code or '-'"
    return None
