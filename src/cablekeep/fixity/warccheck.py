"""Checking WARC files record by record, with our own streaming reader.

Why not warcio: ``warcio check`` does not notice a record cut short at the very end of a file,
which is exactly how an interrupted crawl breaks a WARC. This reader reads the file once in
1 MiB blocks and, for gzip files, inflates one member at a time (``zlib.decompressobj(31)`` and
``unused_data``), so it knows where every member starts and ends. Nothing larger than a block
(plus a record's header block) is held in memory.

What is checked, for every record (each failure is a ``warc`` problem with the record's offset):

- the header block: a ``WARC/1.0`` or ``WARC/1.1`` line, headers up to CRLF CRLF, and the
  required headers: WARC-Record-ID (``<urn:...>``), Content-Length (an integer), WARC-Date (a
  W3C date), WARC-Type;
- the whole declared Content-Length is present, followed by CRLF CRLF. A file cut anywhere --
  inside a header block, a content block, the closing CRLFs or a gzip member -- is invalid and
  the problem gives the offset of the record (and the member) that was cut;
- gzip: every member is whole and one member holds one record. A file gzipped as one single
  member, or members that split records, is reported (tools cannot seek to such records);
- WARC-Block-Digest and WARC-Payload-Digest where present (md5, sha1, sha256, ...; base32,
  base16 or base64, url-safe or not). The payload of an ``application/http`` request or
  response is the block after the HTTP headers. With ``Transfer-Encoding: chunked`` the digest
  may be over the de-chunked body (the reading of WARC 1.1) or over the body as transmitted
  (what warcprox and Heritrix write, e.g. ``example-iana.org-chunked.warc`` in warcio's test
  data); both are accepted. A revisit record's payload digest names content stored elsewhere
  and is not checkable; that is not a problem;
- WARC-Record-ID is unique, and WARC-Concurrent-To / WARC-Refers-To name records that exist.
  :func:`scan_warc` returns the ids it saw and the references it could not resolve, so a bag
  can resolve them across all its WARCs with :func:`resolve_references`. A revisit whose
  WARC-Refers-To is nowhere to be found but which carries WARC-Refers-To-Target-URI and
  WARC-Refers-To-Date is a ``warning`` (the original is in another collection).

A file cut exactly between two records is indistinguishable from a shorter valid file: it is
valid. A file with no record at all (empty) is not. ARC files (``.arc``, ``.arc.gz``, or content
starting ``filedesc://``) are reported ``not-checked``: ARC is not supported and we do not guess.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import BagUnreadableError
from .recordids import IdIndex, IdSpool, id_hash
from .report import Problem, ProblemKind, Report, problem_order

BLOCK = 1 << 20
MAX_HEADER_BLOCK = 1 << 20
MAX_HTTP_HEADER = 1 << 20

Buffer = bytes | bytearray | memoryview

RECORD_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation"}
)
_TARGET_URI_REQUIRED = frozenset({"response", "resource", "request", "revisit", "conversion", "continuation"})
_VERSIONS = (b"WARC/1.0", b"WARC/1.1")
_GZIP_MAGIC = b"\x1f\x8b"
_RECORD_ID_RE = re.compile(r"^<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]+>$")
_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")
_RECORD_START_RE = re.compile(rb"WARC/1\.[01]\r\n")


class Hasher(Protocol):
    """What hashlib objects offer; anything fed the raw bytes of the file."""

    def update(self, data: Buffer, /) -> None: ...


@dataclass(frozen=True)
class Reference:
    """A WARC-Concurrent-To or WARC-Refers-To that was not resolved inside its own file."""

    target: str
    source: str | None
    header: str
    path: str
    offset: int
    external_ok: bool


@dataclass
class WarcScan:
    """What :func:`scan_warc` found in one file."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    ids: IdSpool = field(default_factory=IdSpool)  # every record id's hash and offset, on disk
    unresolved: list[Reference] = field(default_factory=list)

    def discard(self) -> None:
        """Remove the spooled record ids (once the bag's references are resolved)."""
        self.ids.discard()


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


ID_WINDOW = 4096  # record ids (and pending references) of a file kept in memory while it is scanned


def _norm_id(value: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


# --------------------------------------------------------------------------- raw and gzip layers


class _Source:
    """The file, read once in blocks; every byte read is fed to ``hashers``."""

    def __init__(self, stream: BinaryIO, hashers: Sequence[Hasher]) -> None:
        self._stream = stream
        self._hashers = hashers
        self.offset = 0

    def read(self) -> bytes:
        data = self._stream.read(BLOCK)
        if data:
            for hasher in self._hashers:
                hasher.update(data)
            self.offset += len(data)
        return data

    def drain(self) -> None:
        while self.read():
            pass


class _PlainStream:
    gzip = False

    def __init__(self, source: _Source, first: bytes) -> None:
        self.source = source
        self._first = first
        self.bounds: list[tuple[int, int]] = []
        self.members = 0
        self.errors: list[tuple[int, str]] = []
        self.broken = False
        self.cut_short = False

    def pump(self) -> bytes | None:
        if self._first:
            data, self._first = self._first, b""
            return data
        return self.source.read() or None

    def recover(self) -> bool:
        return False


_MEMBER_MAGIC = b"\x1f\x8b\x08"


class _GzipStream:
    """Inflates a multi-member gzip file member by member and remembers where each starts.

    ``bounds`` holds (decompressed offset, raw offset) of member starts not yet pruned by the
    record reader. When the gzip layer breaks, ``errors`` says where and why and ``broken`` is
    set; :meth:`recover` then looks for the next gzip member so checking can go on.
    """

    gzip = True

    def __init__(self, source: _Source, first: bytes) -> None:
        self.source = source
        self._pending = first
        self._pending_offset = 0
        self._inflater: zlib._Decompress | None = None
        self._member_raw = 0
        self._out = 0
        self.bounds: list[tuple[int, int]] = []
        self.members = 0
        self.errors: list[tuple[int, str]] = []
        self.broken = False
        self.cut_short = False
        self._skipped_from: int | None = None  # raw offset of the broken member while recovering

    def pump(self) -> bytes | None:
        while not self.broken:
            if not self._pending:
                self._pending = self.source.read()
                if not self._pending:
                    if self._inflater is not None:
                        self.cut_short = True
                        self._fail(
                            f"the gzip member starting at offset {self._member_raw} is cut short: the file "
                            f"ends at offset {self.source.offset} before the member's end"
                        )
                    return None
            if self._inflater is None:
                self._inflater = zlib.decompressobj(31)
                self._member_raw = self._pending_offset
                self.bounds.append((self._out, self._member_raw))
                self.members += 1
            try:
                out = self._inflater.decompress(self._pending, BLOCK)
            except zlib.error as exc:
                where = self._member_raw
                if self._pending_offset == where and not self._pending.startswith(_GZIP_MAGIC):
                    self._fail(f"no gzip member starts at offset {where} ({exc}); the data there is not gzip")
                else:
                    self._fail(f"the gzip member starting at offset {where} is corrupt ({exc})")
                return None
            if self._inflater.eof:
                rest = self._inflater.unused_data
                self._inflater = None
                if self._skipped_from is not None:
                    self.errors.append(
                        (
                            self._member_raw,
                            f"reading resumed at the gzip member at offset {self._member_raw}, "
                            f"{self._member_raw - self._skipped_from} bytes after the broken member",
                        )
                    )
                    self._skipped_from = None
            else:
                rest = self._inflater.unconsumed_tail
            self._pending_offset += len(self._pending) - len(rest)
            self._pending = rest
            if out:
                self._out += len(out)
                return out
        return None

    def _fail(self, message: str) -> None:
        if self._skipped_from is None:  # a false start while recovering is not a new problem
            self.errors.append((self._member_raw, message))
        self.broken = True
        self._inflater = None

    def recover(self) -> bool:
        """After a broken member: skip to the next gzip member header, if there is one."""
        if not self.broken:
            return False
        if self._skipped_from is None:
            self._skipped_from = self._member_raw
        search_from = max(0, self._member_raw + 1 - self._pending_offset)
        while True:
            found = self._pending.find(_MEMBER_MAGIC, search_from)
            if found >= 0:
                self._pending_offset += found
                self._pending = self._pending[found:]
                self.broken = False
                return True
            keep = self._pending[-2:]
            self._pending_offset += len(self._pending) - len(keep)
            more = self.source.read()
            if not more:
                return False
            self._pending = keep + more
            search_from = 0


_Stream = _PlainStream | _GzipStream


# --------------------------------------------------------------------------- payload digests


class _Dechunker:
    """HTTP/1.1 chunked transfer decoding, streamed; ``ok`` is False once the framing breaks."""

    def __init__(self, sink: Callable[[Buffer], None]) -> None:
        self._sink = sink
        self._state = "size"
        self._line = bytearray()
        self._remaining = 0
        self.ok = True

    def feed(self, data: Buffer) -> None:
        view = memoryview(data)
        i = 0
        n = len(view)
        while i < n and self.ok:
            if self._state == "data":
                take = min(self._remaining, n - i)
                self._sink(view[i : i + take])
                i += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "data-end"
                continue
            if self._state == "done":
                self.ok = False  # bytes after the last chunk and trailers
                break
            chunk = bytes(view[i : i + 1025])
            end = chunk.find(b"\n")
            if end < 0:
                self._line += chunk
                i += len(chunk)
                if len(self._line) > 1024:
                    self.ok = False
                continue
            self._line += chunk[:end]
            i += end + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            self._end_line(line)

    def _end_line(self, line: bytes) -> None:
        if self._state == "size":
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                self.ok = False
                return
            if size < 0:
                self.ok = False
            elif size == 0:
                self._state = "trailer"
            else:
                self._remaining = size
                self._state = "data"
        elif self._state == "data-end":
            if line:
                self.ok = False
            self._state = "size"
        elif self._state == "trailer" and not line:
            self._state = "done"

    def finish(self) -> bool:
        if self._line:
            self._end_line(bytes(self._line).rstrip(b"\r"))
            self._line.clear()
        return self.ok and self._state in ("trailer", "done")


class _HttpPayload:
    """Splits an application/http block into HTTP headers and body, and hashes the body.

    Two digests are kept when the body is chunked: of the body as transmitted and de-chunked.
    """

    def __init__(self, algorithm: str) -> None:
        self._algorithm = algorithm
        self._head: bytearray | None = bytearray()
        self._raw = hashlib.new(algorithm)
        self._plain: hashlib._Hash | None = None
        self._dechunker: _Dechunker | None = None

    def update(self, data: Buffer) -> None:
        if self._head is not None:
            start = max(0, len(self._head) - 3)
            self._head += data
            end, gap = self._find_head_end(start)
            if end < 0:
                if len(self._head) > MAX_HTTP_HEADER:
                    self._head = None  # no header end in sight: treat everything seen as head
                return
            body = bytes(self._head[end + gap :])
            head = bytes(self._head[:end])
            self._head = None
            if self._is_chunked(head):
                self._plain = hashlib.new(self._algorithm)
                self._dechunker = _Dechunker(self._plain.update)
            data = body
        self._raw.update(data)
        if self._dechunker is not None:
            self._dechunker.feed(data)

    def _find_head_end(self, start: int) -> tuple[int, int]:
        assert self._head is not None
        crlf = self._head.find(b"\r\n\r\n", start)
        lf = self._head.find(b"\n\n", start)
        if lf >= 0 and (crlf < 0 or lf < crlf):
            return lf, 2
        return crlf, 4

    @staticmethod
    def _is_chunked(head: bytes) -> bool:
        for line in head.split(b"\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                return True
        return False

    def digests(self) -> list[bytes]:
        found = [self._raw.digest()]
        if self._dechunker is not None and self._plain is not None and self._dechunker.finish():
            found.insert(0, self._plain.digest())
        return found


def _digest_algorithm(label: str) -> str | None:
    name = label.strip().lower().replace("-", "")
    name = {"sha3224": "sha3_224", "sha3256": "sha3_256", "sha3384": "sha3_384", "sha3512": "sha3_512"}.get(
        name, name
    )
    return name if name in hashlib.algorithms_available else None


def decode_digest(value: str, size: int) -> list[bytes]:
    """Every reading of a labelled digest value (base16, base32, base64, url-safe) of ``size`` bytes."""
    value = value.strip()
    found: list[bytes] = []
    if len(value) == size * 2 and _HEX_RE.match(value):
        found.append(bytes.fromhex(value))
    try:
        upper = value.upper().rstrip("=")
        decoded = base64.b32decode(upper + "=" * (-len(upper) % 8))
        if len(decoded) == size:
            found.append(decoded)
    except (binascii.Error, ValueError):
        pass
    stripped = value.rstrip("=")
    for text in (stripped, stripped.replace("-", "+").replace("_", "/")):
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(decoded) == size:
            found.append(decoded)
    return found


def _valid_date(value: str) -> bool:
    match = _DATE_RE.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second, _fraction, _zone = match.groups()
    try:
        datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- the record reader


@dataclass
class _Tally:
    """A quirk seen in many records, reported once per file."""

    count: int = 0
    offset: int | None = None

    def add(self, offset: int) -> None:
        if self.count == 0:
            self.offset = offset
        self.count += 1


class _Scanner:
    def __init__(self, stream: _Stream, scan: WarcScan) -> None:
        self._stream = stream
        self._scan = scan
        self._buf = bytearray()
        self._base = 0  # decompressed offset of _buf[0]
        self._eof = False
        # The last ID_WINDOW record ids (normalised, to their offsets) and the references still
        # waiting for their target; a file's ids beyond the window are only in its spool.
        self._recent: dict[str, int] = {}
        self._pending: dict[str, list[Reference]] = {}
        self._leftover: list[Reference] = []
        self._beyond_window = False
        self._reported: set[int] = set()  # offsets of the records already reported as reusing an id
        self._mid_member = _Tally()
        self._split = _Tally()
        self._bracketed_uri = _Tally()
        self._spaced_uri = _Tally()
        self._non_urn_id = _Tally()

    # -- buffer

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._stream.pump()
        if data is None:
            self._eof = True
            return False
        self._buf += data
        return True

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._base += n

    def _raw_offset(self, pos: int) -> int:
        """Raw file offset of the record (or member) holding decompressed offset ``pos``."""
        if not self._stream.gzip:
            return pos
        raw = 0
        for start, member_raw in self._stream.bounds:
            if start > pos:
                break
            raw = member_raw
        return raw

    def _problem(self, detail: str, offset: int | None, record_id: str | None = None, kind: ProblemKind = "warc") -> None:
        self._scan.problems.append(Problem(kind, self._scan.path, detail, offset=offset, record_id=record_id))

    def _prune_bounds(self, pos: int) -> None:
        bounds = self._stream.bounds
        keep = 0
        for index, (start, _raw) in enumerate(bounds):
            if start <= pos:
                keep = index
        del bounds[:keep]

    # -- records

    def run(self) -> Iterator[WarcRecordInfo]:
        if not self._buf and not self._fill():
            if not self._stream.errors:
                self._problem("the file holds no WARC record (it is empty).", 0)
        elif self._buf.startswith(b"filedesc:"):
            self._problem(
                "this is an ARC file (it starts with 'filedesc:'); ARC is not supported, so it was not checked.",
                0,
                kind="not-checked",
            )
            return
        while self._buf or self._fill() or self._recover():
            start = self._base
            self._prune_bounds(start)
            if self._stream.gzip and not any(pos == start for pos, _ in self._stream.bounds):
                self._mid_member.add(self._raw_offset(start))
            info = self._read_record(start)
            if info is None:
                if not self._resync(start):
                    break
                continue
            yield info
        self._finish()

    def _recover(self) -> bool:
        """After a broken gzip member, go on from the next member that inflates."""
        while self._stream.recover():
            self._eof = False
            self._consume(len(self._buf))
            if self._fill():
                return True
        return False

    def _resync(self, start: int) -> bool:
        """After a broken record: skip to the next gzip member, or the next WARC/1.x line."""
        if self._stream.gzip:
            while True:
                later = [pos for pos, _ in self._stream.bounds if pos > start]
                if later and later[0] <= self._base + len(self._buf):
                    skip_to = later[0]
                    if skip_to > self._base:
                        self._consume(skip_to - self._base)
                    return True
                self._consume(len(self._buf))
                if not self._fill() and not self._recover():
                    return False
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

    def _read_head(self, start: int) -> bytes | None:
        scan_from = 0
        while True:
            end = self._buf.find(b"\r\n\r\n", scan_from)
            if end >= 0:
                head = bytes(self._buf[:end])
                self._consume(end + 4)
                return head
            if len(self._buf) >= 8 and not self._buf.startswith(b"WARC/"):
                return None
            if len(self._buf) > MAX_HEADER_BLOCK:
                self._problem(
                    f"the header block of the record at offset {self._raw_offset(start)} has no end "
                    f"(CRLF CRLF) within {MAX_HEADER_BLOCK} bytes.",
                    self._raw_offset(start),
                )
                return b""
            scan_from = max(0, len(self._buf) - 3)
            if not self._fill():
                self._problem(
                    f"the file ends inside the header block of the record at offset {self._raw_offset(start)} "
                    f"(cut short at offset {self._end_offset()}).",
                    self._raw_offset(start),
                )
                return b""

    def _end_offset(self) -> int:
        return self._stream.source.offset

    def _read_block(self, length: int, sink: Callable[[Buffer], None]) -> int:
        got = 0
        if self._buf:
            take = min(length, len(self._buf))
            sink(self._buf[:take])
            self._consume(take)
            got = take
        while got < length:
            data = self._stream.pump()
            if data is None:
                self._eof = True
                break
            want = length - got
            if len(data) <= want:
                sink(data)
                self._base += len(data)
                got += len(data)
            else:
                sink(memoryview(data)[:want])
                self._base += want
                self._buf += memoryview(data)[want:]
                got = length
        return got

    def _read_record(self, start: int) -> WarcRecordInfo | None:
        raw_start = self._raw_offset(start)
        head = self._read_head(start)
        if head is None:
            preview = bytes(self._buf[:20])
            self._problem(f"no WARC record starts at offset {raw_start} (found {preview!r}).", raw_start)
            return None
        if not head:
            return None
        first, _, rest = head.partition(b"\r\n")
        if first not in _VERSIONS:
            self._problem(
                f"the record at offset {raw_start} declares {first[:20]!r}, not WARC/1.0 or WARC/1.1.", raw_start
            )
            if not first.startswith(b"WARC/"):
                return None
        try:
            text = rest.decode("utf-8")
        except UnicodeDecodeError:
            text = rest.decode("latin-1")
            self._problem(
                f"the header block of the record at offset {raw_start} is not valid UTF-8; read as Latin-1.",
                raw_start,
                kind="warning",
            )
        headers: list[tuple[str, str]] = []
        for line in text.split("\r\n") if text else []:
            if line[:1] in (" ", "\t") and headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}")
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                self._problem(
                    f"the record at offset {raw_start} has a malformed header line {line[:60]!r}.", raw_start
                )
                continue
            headers.append((name.strip(), value.strip()))
        fields: dict[str, list[str]] = {}
        for name, value in headers:
            fields.setdefault(name.lower(), []).append(value)

        def one(name: str) -> str | None:
            values = fields.get(name.lower())
            return values[0] if values else None

        record_id = one("WARC-Record-ID")
        for name in ("WARC-Record-ID", "Content-Length", "WARC-Date", "WARC-Type"):
            values = fields.get(name.lower(), [])
            if not values:
                self._problem(f"the record at offset {raw_start} has no {name} header.", raw_start, record_id)
            elif len(values) > 1:
                self._problem(f"the record at offset {raw_start} has {len(values)} {name} headers.", raw_start, record_id)

        if record_id is not None:
            if not _RECORD_ID_RE.match(record_id):
                self._problem(
                    f"WARC-Record-ID {record_id[:80]!r} at offset {raw_start} is not a URI in angle brackets.",
                    raw_start,
                    record_id,
                )
            elif not record_id[1:].lower().startswith("urn:"):
                self._non_urn_id.add(raw_start)
            key = _norm_id(record_id)
            hashed = id_hash(key)
            if key in self._recent:
                self._problem(
                    f"WARC-Record-ID {record_id} at offset {raw_start} is used by an earlier record of this file.",
                    raw_start,
                    record_id,
                )
                self._reported.add(raw_start)
                self._recent[key] = self._recent.pop(key)  # seen again: it stays in the window longer
            else:
                self._recent[key] = raw_start
                if len(self._recent) > ID_WINDOW:
                    del self._recent[next(iter(self._recent))]
                    self._beyond_window = True
            self._scan.ids.add(hashed, raw_start)
            self._pending.pop(key, None)

        date = one("WARC-Date")
        if date is not None and not _valid_date(date):
            self._problem(f"WARC-Date {date[:40]!r} at offset {raw_start} is not a W3C date.", raw_start, record_id)
        record_type = one("WARC-Type")
        record_type_l = record_type.lower() if record_type else None
        if record_type_l is not None and record_type_l not in RECORD_TYPES:
            self._problem(
                f"WARC-Type {record_type!r} at offset {raw_start} is not a standard type.",
                raw_start,
                record_id,
                kind="warning",
            )
        target_uri = one("WARC-Target-URI")
        if target_uri is None:
            if record_type_l in _TARGET_URI_REQUIRED:
                self._problem(
                    f"the {record_type} record at offset {raw_start} has no WARC-Target-URI.", raw_start, record_id
                )
        else:
            if target_uri.startswith("<") and target_uri.endswith(">"):
                self._bracketed_uri.add(raw_start)
                target_uri = target_uri[1:-1]
            if any(ch.isspace() for ch in target_uri):
                self._spaced_uri.add(raw_start)

        self._collect_references(fields, record_id, record_type_l, raw_start)

        length_text = one("Content-Length")
        if length_text is None or not length_text.isdigit():
            if length_text is not None:
                self._problem(
                    f"Content-Length {length_text[:30]!r} at offset {raw_start} is not a number; the rest of the "
                    "record cannot be found.",
                    raw_start,
                    record_id,
                )
            return None
        length = int(length_text)

        block_check = self._digest_check(fields, "WARC-Block-Digest", raw_start, record_id)
        payload_check = None
        if record_type_l != "revisit":
            if one("WARC-Segment-Number") is not None and one("WARC-Payload-Digest") is not None:
                self._problem(
                    f"the record at offset {raw_start} is a segment; its WARC-Payload-Digest covers all segments "
                    "and was not checked.",
                    raw_start,
                    record_id,
                    kind="not-checked",
                )
            else:
                payload_check = self._digest_check(fields, "WARC-Payload-Digest", raw_start, record_id)
        block_hasher = hashlib.new(block_check[0]) if block_check else None
        http_payload: _HttpPayload | None = None
        payload_hasher = None
        if payload_check is not None:
            content_type = (one("Content-Type") or "").lower()
            if content_type.startswith("application/http") and record_type_l in ("response", "request"):
                http_payload = _HttpPayload(payload_check[0])
            else:
                payload_hasher = hashlib.new(payload_check[0])

        def sink(data: Buffer) -> None:
            if block_hasher is not None:
                block_hasher.update(data)
            if http_payload is not None:
                http_payload.update(data)
            elif payload_hasher is not None:
                payload_hasher.update(data)

        got = self._read_block(length, sink)
        if got < length:
            if self._stream.broken and not self._stream.cut_short:
                detail = (
                    f"the record at offset {raw_start} could not be read to its end: its gzip member is broken "
                    f"after {got} of its {length} bytes."
                )
            else:
                detail = (
                    f"the record at offset {raw_start} is cut short: Content-Length is {length} but the file "
                    f"ends after {got} bytes of its block."
                )
            self._problem(detail, raw_start, record_id)
            return None
        after_block = self._base
        tail = self._read_exact(4)
        if tail != b"\r\n\r\n" and tail.startswith(b"\r\n") and self._member_ends_at(after_block + 2):
            # One CRLF, then a whole gzip member ends: a writer's slip (Heritrix wrote such revisits),
            # not a truncation -- a cut would have broken the member.
            self._buf[0:0] = tail[2:]
            self._base -= len(tail) - 2
            self._problem(
                f"the record at offset {raw_start} is closed by one CRLF instead of two; its gzip member is "
                "complete, so nothing is missing.",
                raw_start,
                record_id,
                kind="warning",
            )
            tail = b"\r\n\r\n"
        if tail != b"\r\n\r\n":
            if len(tail) < 4 and self._eof:
                self._problem(
                    f"the file ends inside the CRLF CRLF that must close the record at offset {raw_start}.",
                    raw_start,
                    record_id,
                )
                return None
            self._problem(
                f"the record at offset {raw_start} is not followed by CRLF CRLF (Content-Length {length} may be "
                "wrong).",
                raw_start,
                record_id,
            )
            self._buf[0:0] = tail
            self._base -= len(tail)
            self._check_digests(block_check, block_hasher, payload_check, http_payload, payload_hasher, raw_start, record_id)
            self._scan.records += 1
            return None
        if self._stream.gzip and any(start < pos < self._base for pos, _ in self._stream.bounds):
            self._split.add(raw_start)
        self._check_digests(block_check, block_hasher, payload_check, http_payload, payload_hasher, raw_start, record_id)
        self._scan.records += 1
        return WarcRecordInfo(raw_start, record_type, record_id, target_uri, date, length)

    def _member_ends_at(self, pos: int) -> bool:
        """True when a gzip member ends cleanly at decompressed offset ``pos``."""
        if not self._stream.gzip:
            return False
        if any(start == pos for start, _ in self._stream.bounds):
            return True
        return self._eof and not self._stream.errors and self._base + len(self._buf) == pos

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n and self._fill():
            pass
        data = bytes(self._buf[:n])
        self._consume(len(data))
        return data

    def _digest_check(
        self, fields: dict[str, list[str]], header: str, offset: int, record_id: str | None
    ) -> tuple[str, str, list[bytes]] | None:
        """(hashlib name, header value, accepted digests) or None when absent or unusable."""
        values = fields.get(header.lower())
        if not values:
            return None
        value = values[0]
        label, colon, encoded = value.partition(":")
        if not colon or not encoded.strip():
            self._problem(f"{header} {value[:80]!r} at offset {offset} is not 'algorithm:value'.", offset, record_id)
            return None
        algorithm = _digest_algorithm(label)
        if algorithm is None:
            self._problem(
                f"{header} at offset {offset} uses the unsupported algorithm {label!r}; not checked.",
                offset,
                record_id,
                kind="not-checked",
            )
            return None
        size = hashlib.new(algorithm).digest_size
        accepted = decode_digest(encoded, size)
        if not accepted:
            self._problem(
                f"{header} {value[:80]!r} at offset {offset} is not a base32, base16 or base64 {label} digest.",
                offset,
                record_id,
            )
            return None
        return algorithm, value, accepted

    def _check_digests(
        self,
        block_check: tuple[str, str, list[bytes]] | None,
        block_hasher: hashlib._Hash | None,
        payload_check: tuple[str, str, list[bytes]] | None,
        http_payload: _HttpPayload | None,
        payload_hasher: hashlib._Hash | None,
        offset: int,
        record_id: str | None,
    ) -> None:
        if block_check is not None and block_hasher is not None:
            found = block_hasher.digest()
            if found not in block_check[2]:
                self._digest_problem("WARC-Block-Digest", block_check, found, offset, record_id)
        if payload_check is not None:
            if http_payload is not None:
                candidates = http_payload.digests()
            elif payload_hasher is not None:
                candidates = [payload_hasher.digest()]
            else:
                return
            if not any(found in payload_check[2] for found in candidates):
                self._digest_problem("WARC-Payload-Digest", payload_check, candidates[0], offset, record_id)

    def _digest_problem(
        self, header: str, check: tuple[str, str, list[bytes]], found: bytes, offset: int, record_id: str | None
    ) -> None:
        label = check[1].partition(":")[0]
        self._scan.problems.append(
            Problem(
                "warc",
                self._scan.path,
                f"{header} of the record at offset {offset} does not match its content.",
                algorithm=check[0],
                expected=check[1],
                found=f"{label}:{base64.b32encode(found).decode('ascii')}",
                offset=offset,
                record_id=record_id,
            )
        )

    def _collect_references(
        self, fields: dict[str, list[str]], record_id: str | None, record_type: str | None, offset: int
    ) -> None:
        external_ok = (
            record_type == "revisit"
            and bool(fields.get("warc-refers-to-target-uri"))
            and bool(fields.get("warc-refers-to-date"))
        )
        for header, values in (
            ("WARC-Concurrent-To", fields.get("warc-concurrent-to", [])),
            ("WARC-Refers-To", fields.get("warc-refers-to", [])),
        ):
            for value in values:
                for target in value.split() if value.count("<") > 1 else [value]:
                    key = _norm_id(target)
                    if key in self._recent:
                        continue
                    reference = Reference(
                        target, record_id, header, self._scan.path, offset, external_ok and header == "WARC-Refers-To"
                    )
                    self._pending.setdefault(key, []).append(reference)
                    if len(self._pending) > ID_WINDOW:
                        self._leftover.extend(self._pending.pop(next(iter(self._pending))))
                        self._beyond_window = True

    def _finish(self) -> None:
        for offset, message in self._stream.errors:
            self._problem(message + ".", offset)
        if self._stream.gzip:
            members = self._stream.members
            if self._mid_member.count and members == 1 and self._scan.records > 1:
                self._problem(
                    f"the whole file is a single gzip member holding {self._scan.records} records; readers cannot "
                    "seek to a record. Recompress it with one member per record (e.g. 'warcio recompress').",
                    0,
                )
            elif self._mid_member.count:
                self._problem(
                    f"{self._mid_member.count} record(s) do not start a gzip member (a member holds several "
                    f"records), first in the member at offset {self._mid_member.offset}. Recompress with one "
                    "member per record.",
                    self._mid_member.offset,
                )
            if self._split.count:
                self._problem(
                    f"{self._split.count} record(s) are split across gzip members, first at offset "
                    f"{self._split.offset}; member boundaries must coincide with records. Recompress the file.",
                    self._split.offset,
                )
        if self._bracketed_uri.count:
            self._problem(
                f"{self._bracketed_uri.count} record(s) have WARC-Target-URI wrapped in <...> (a known wget "
                "quirk), first at offset {0}; read without the brackets.".format(self._bracketed_uri.offset),
                self._bracketed_uri.offset,
                kind="warning",
            )
        if self._spaced_uri.count:
            self._problem(
                f"{self._spaced_uri.count} record(s) have a WARC-Target-URI with raw whitespace (not a legal "
                f"URI; readers escape it as %20), first at offset {self._spaced_uri.offset}.",
                self._spaced_uri.offset,
                kind="warning",
            )
        if self._non_urn_id.count:
            self._problem(
                f"{self._non_urn_id.count} WARC-Record-ID(s) are URIs but not URNs, first at offset "
                f"{self._non_urn_id.offset}.",
                self._non_urn_id.offset,
                kind="warning",
            )
        leftover = self._leftover + [ref for refs in self._pending.values() for ref in refs]
        if self._beyond_window:
            # ids further apart than the window: the file's spool decides
            with IdIndex() as index:
                index.add(0, self._scan.ids.pairs())
                for _, places in index.duplicates():
                    first = places[0][1]
                    for _, offset in places[1:]:
                        if offset in self._reported:
                            continue
                        self._problem(
                            f"the WARC-Record-ID at offset {offset} is used by an earlier record of this file "
                            f"(offset {first}).",
                            offset,
                        )
                leftover = [ref for ref in leftover if id_hash(_norm_id(ref.target)) not in index]
        self._scan.unresolved = leftover


# --------------------------------------------------------------------------- public functions


def _scan_stream(stream: BinaryIO, display: str, hashers: Sequence[Hasher]) -> tuple[WarcScan, Iterator[WarcRecordInfo], _Source]:
    scan = WarcScan(display)
    source = _Source(stream, hashers)
    first = source.read()
    reader: _Stream = _GzipStream(source, first) if first.startswith(_GZIP_MAGIC) else _PlainStream(source, first)
    return scan, _Scanner(reader, scan).run(), source


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
    stream: BinaryIO, *, name: str, display_path: str, raw_hashers: Sequence[Hasher] = ()
) -> WarcScan:
    """:func:`scan_warc` on an open binary stream; ``name`` is the file name (for ARC detection).

    The stream is read to its end even when the WARC breaks early, so ``raw_hashers`` always
    see the whole file.
    """
    if is_arc_name(name):
        scan = WarcScan(display_path)
        scan.problems.append(
            Problem("not-checked", display_path, "ARC files are not supported; this file was not checked.")
        )
        _Source(stream, raw_hashers).drain()
        return scan
    scan, records, source = _scan_stream(stream, display_path, raw_hashers)
    for _record in records:
        pass
    source.drain()
    return scan


def resolve_references(
    scans: Iterable[WarcScan], *, elsewhere: Iterable[str] = (), elsewhere_checked: bool = False
) -> list[Problem]:
    """Problems for references no scanned file resolves, and record ids used in two files.

    ``elsewhere`` yields the record ids of earlier bags this one depends on (revisits of a
    collection-deduplicated crawl point into them). With ``elsewhere_checked`` every one of those
    bags was present, so a revisit whose original is in none of them is a broken reference, not
    a warning. The ids go through a temporary index on disk (:mod:`recordids`): memory stays the
    same for a bag of any size."""
    scans = list(scans)
    problems: list[Problem] = []
    if not scans:
        return problems
    others = iter(elsewhere)
    first_other = next(others, None)
    if len(scans) == 1 and first_other is None:
        # one file and nothing elsewhere: its scan already checked its ids and references against
        # itself, so an index of the same ids would only say so again
        return [_unresolved(ref, elsewhere_checked) for ref in scans[0].unresolved]
    with IdIndex() as index:
        for number, scan in enumerate(scans):
            index.add(number, scan.ids.pairs())
        if first_other is not None:
            index.add(-1, ((id_hash(_norm_id(record_id)), 0) for record_id in itertools.chain([first_other], others)))
        for _, places in index.duplicates():
            files = list(dict.fromkeys(number for number, _ in places if number >= 0))
            if len(files) < 2:
                continue  # within one file: its scan reported it
            first_path = scans[files[0]].path
            first_offset = next(offset for number, offset in places if number == files[0])
            for number in files[1:]:
                offset = next(offset for n, offset in places if n == number)
                problems.append(
                    Problem(
                        "warc",
                        scans[number].path,
                        f"the WARC-Record-ID at offset {offset} is also used in {first_path} (offset "
                        f"{first_offset}); record ids must be unique.",
                        offset=offset,
                    )
                )
        for scan in scans:
            problems += [
                _unresolved(ref, elsewhere_checked) for ref in scan.unresolved if id_hash(_norm_id(ref.target)) not in index
            ]
    return problems


def _unresolved(ref: Reference, elsewhere_checked: bool) -> Problem:
    """The problem of a reference no checked file resolves: a warning for a revisit that names its
    original by URI and date (unless the earlier bags were all checked), else a broken reference."""
    if ref.external_ok and not elsewhere_checked:
        return Problem(
            "warning",
            ref.path,
            f"the revisit at offset {ref.offset} refers to {ref.target}, which is not here; its "
            "WARC-Refers-To-Target-URI and -Date identify the original elsewhere.",
            offset=ref.offset,
            record_id=ref.source,
        )
    return Problem(
        "warc",
        ref.path,
        f"{ref.header} of the record at offset {ref.offset} names {ref.target}, which no "
        "checked WARC file holds.",
        offset=ref.offset,
        record_id=ref.source,
    )


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


def iter_warc_records(path: Path) -> Iterator[WarcRecordInfo]:
    """Each record read completely, in file order. Problems are not raised: use verify_warc.

    Raises :class:`BagUnreadableError` when the file cannot be opened.
    """
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise BagUnreadableError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
    with stream:
        _scan, records, _source = _scan_stream(stream, str(path), ())
        yield from records
