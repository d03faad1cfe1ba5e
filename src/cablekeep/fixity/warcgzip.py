"""Reading a WARC file once, and its gzip members (WARC 1.1, annex D: one member per record).

:class:`RawSource` reads the file in blocks and feeds every byte to the caller's hashers. Above
it, :class:`PlainStream` passes an uncompressed file through and :class:`GzipStream` inflates a
multi-member gzip file one member at a time (ISA-L's ``isal_zlib.decompressobj(31)``, zlib's
interface at about three times its speed, and ``unused_data``), so
it knows where every member starts (:class:`MemberStart`) and where and why the gzip data broke
(:class:`StreamBreak`); :meth:`GzipStream.recover` then skips to the next member so checking can
go on. :func:`member_findings` judges how members and records lined up.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import BinaryIO, NamedTuple, Protocol, cast

from isal import isal_zlib

from ..bagging.layout import BLOCK
from .warcfindings import Finding, Tally

Buffer = bytes | bytearray | memoryview

GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_MAGIC = b"\x1f\x8b\x08"  # gzip magic and deflate: where recovery looks for a member
# isal's stub declares its error as an instance; at run time it is igzip_lib.IsalError
INFLATE_ERRORS: tuple[type[Exception], ...] = (cast("type[Exception]", isal_zlib.error), zlib.error)
# Raw bytes handed to the inflater at a time: FEED first for each member, doubled while the member
# goes on, up to FEED_MAX. At a member's end the inflater copies the rest of what it was given
# (``unused_data``), so a feed near the member's own size copies little: a 64 KiB feed for
# records of 1.5 KB copied ~60 KB a record, 10 % of the scan's instructions.
FEED = 1 << 13
FEED_MAX = 1 << 16
HEAD_BYTES = 16  # the first bytes of a file, kept to tell what it holds


class Hasher(Protocol):
    """What hashlib objects offer; anything fed the raw bytes of the file."""

    def update(self, data: Buffer, /) -> None: ...


class MemberStart(NamedTuple):
    """Where a gzip member starts: its offset in the inflated data and in the file."""

    inflated: int
    raw: int


class StreamBreak(NamedTuple):
    """Where the gzip layer broke (the file offset of the member concerned) and why."""

    offset: int
    detail: str


class RawSource:
    """The file, read once in blocks; every byte read is fed to ``hashers``."""

    def __init__(self, stream: BinaryIO, hashers: Sequence[Hasher], origin: int = 0) -> None:
        self._stream = stream
        self._hashers = hashers
        self.origin = origin  # the file offset of the stream's first byte (a range of a file: warcranges)
        self.offset = origin
        self.head = b""  # the file's first HEAD_BYTES bytes (fewer if it is shorter)

    def read(self) -> bytes:
        data = self._stream.read(BLOCK)
        if data:
            for hasher in self._hashers:
                hasher.update(data)
            if self.offset == 0:
                self.head = data[:HEAD_BYTES]
            self.offset += len(data)
        return data

    def drain(self) -> None:
        while self.read():
            pass


class PlainStream:
    """An uncompressed file, passed through block by block."""

    gzip = False

    def __init__(self, source: RawSource, first: bytes) -> None:
        self.source = source
        self._first = first
        self.bounds: list[MemberStart] = []
        self.members = 0
        self.errors: list[StreamBreak] = []
        self.broken = False
        self.cut_short = False

    def pump(self) -> bytes | None:
        if self._first:
            data, self._first = self._first, b""
            return data
        return self.source.read() or None

    def recover(self) -> bool:
        return False


class GzipStream:
    """Inflates a multi-member gzip file member by member and remembers where each starts.

    ``bounds`` holds the starts of members not yet pruned by the record reader. When the gzip
    layer breaks, ``errors`` says where and why and ``broken`` is set; ``cut_short`` when the
    file ended inside a member.
    """

    gzip = True

    def __init__(self, source: RawSource, first: bytes) -> None:
        self.source = source
        self._block = first  # the raw block being inflated; _block[_at:] is not consumed yet
        self._at = 0
        self._pending_offset = source.origin  # the file offset of _block[_at]
        self._inflater: isal_zlib.Decompress | None = None
        self._feed = FEED  # raw bytes the next call of the inflater is given
        self._member_raw = source.origin
        self._out = source.origin  # inflated offsets of a range start at its file offset too
        self.bounds: list[MemberStart] = []
        self.members = 0
        self.errors: list[StreamBreak] = []
        self.broken = False
        self.cut_short = False
        self._skipped_from: int | None = None  # raw offset of the broken member while recovering

    def pump(self) -> bytes | None:
        """The next inflated bytes, or None at the end of the file or where the gzip data broke."""
        while not self.broken:
            if self._at >= len(self._block) and not self._refill():
                return None
            if self._inflater is None:
                self._start_member()
            out = self._inflate()
            if out:
                self._out += len(out)
                return out
        return None

    def _refill(self) -> bool:
        self._block = self.source.read()
        self._at = 0
        if self._block:
            return True
        if self._inflater is not None:
            self.cut_short = True
            self._fail(
                f"the gzip member starting at offset {self._member_raw} is cut short: the file "
                f"ends at offset {self.source.offset} before the member's end"
            )
        return False

    def _start_member(self) -> None:
        self._inflater = isal_zlib.decompressobj(31)
        self._feed = FEED
        self._member_raw = self._pending_offset
        self.bounds.append(MemberStart(self._out, self._member_raw))
        self.members += 1

    def _inflate(self) -> bytes:
        """Inflate what is pending, up to a block; b"" when the member broke or needs more input.

        The inflater is fed :data:`FEED` bytes at first, through a view, and more while the member
        goes on: at a member's end it copies what it was given past the end (``unused_data``), and
        a whole block each time would copy half a megabyte per record."""
        assert self._inflater is not None
        piece = memoryview(self._block)[self._at : self._at + self._feed]
        try:
            out = self._inflater.decompress(piece, BLOCK)
        except INFLATE_ERRORS as exc:
            where = self._member_raw
            if self._pending_offset == where and not self._block.startswith(GZIP_MAGIC, self._at):
                self._fail(f"no gzip member starts at offset {where} ({exc}); the data there is not gzip")
            else:
                self._fail(f"the gzip member starting at offset {where} is corrupt ({exc})")
            return b""
        if self._inflater.eof:
            left = len(self._inflater.unused_data)
            self._end_member()
        else:
            left = len(self._inflater.unconsumed_tail)
            if self._feed < FEED_MAX:
                self._feed *= 2  # a long member: fewer calls
        consumed = len(piece) - left
        self._at += consumed
        self._pending_offset += consumed
        return out

    def _end_member(self) -> None:
        self._inflater = None
        if self._skipped_from is not None:
            self.errors.append(
                StreamBreak(
                    self._member_raw,
                    f"reading resumed at the gzip member at offset {self._member_raw}, "
                    f"{self._member_raw - self._skipped_from} bytes after the broken member",
                )
            )
            self._skipped_from = None

    def _fail(self, message: str) -> None:
        if self._skipped_from is None:  # a false start while recovering is not a new problem
            self.errors.append(StreamBreak(self._member_raw, message))
        self.broken = True
        self._inflater = None

    def recover(self) -> bool:
        """After a broken member: skip to the next gzip member header, if there is one."""
        if not self.broken:
            return False
        if self._skipped_from is None:
            self._skipped_from = self._member_raw
        search_from = self._at + max(0, self._member_raw + 1 - self._pending_offset)
        while True:
            found = self._block.find(_MEMBER_MAGIC, search_from)
            if found >= 0:
                self._pending_offset += found - self._at
                self._at = found
                self.broken = False
                return True
            tail = max(self._at, len(self._block) - 2)  # a magic may straddle two blocks
            self._pending_offset += tail - self._at
            keep = self._block[tail:]
            more = self.source.read()
            self._block, self._at = keep + more, 0
            if not more:
                return False
            search_from = 0


Stream = PlainStream | GzipStream


def open_stream(stream: BinaryIO, hashers: Sequence[Hasher], origin: int = 0) -> Stream:
    """The plain or gzip layer over ``stream``, chosen by the file's first bytes. ``origin``: the
    file offset ``stream`` starts at (a range of a file), so every offset said is the file's."""
    source = RawSource(stream, hashers, origin)
    first = source.read()
    return GzipStream(source, first) if first.startswith(GZIP_MAGIC) else PlainStream(source, first)


def member_findings(stream: Stream, records: int, mid_member: Tally, split: Tally) -> list[Finding]:
    """Where the gzip layer broke, and records that do not start a member or span members.

    ``mid_member`` counts the records that did not start a gzip member, ``split`` those that
    ended in a later member than they started in; ``records`` is how many records were read.
    """
    findings = [Finding(error.detail + ".", error.offset) for error in stream.errors]
    if not stream.gzip:
        return findings
    if mid_member.count and stream.members == 1 and records > 1:
        findings.append(
            Finding(
                f"the whole file is a single gzip member holding {records} records; readers cannot "
                "seek to a record. Recompress it with one member per record (e.g. 'warcio recompress').",
                0,
            )
        )
    elif mid_member.count:
        findings.append(
            Finding(
                f"{mid_member.count} record(s) do not start a gzip member (a member holds several "
                f"records), first in the member at offset {mid_member.offset}. Recompress with one "
                "member per record.",
                mid_member.offset,
            )
        )
    if split.count:
        findings.append(
            Finding(
                f"{split.count} record(s) are split across gzip members, first at offset "
                f"{split.offset}; member boundaries must coincide with records. Recompress the file.",
                split.offset,
            )
        )
    return findings
