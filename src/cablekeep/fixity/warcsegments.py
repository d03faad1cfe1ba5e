"""Segmented records (WARC 1.1, sections 5.15-5.17 and 6.8): a record split over several records.

The first segment is a record of its own type with ``WARC-Segment-Number: 1``; each later one is
a ``continuation`` record naming the first in ``WARC-Segment-Origin-ID`` and numbered 2, 3, ...
with no gaps; the last carries ``WARC-Segment-Total-Length``, the length of all the segments'
content blocks together. The first segment's WARC-Payload-Digest covers the payload of the whole
(the blocks concatenated), so :class:`Segments` feeds every segment's block to one
:class:`~.warcdigests.PayloadDigest` and judges it at the last segment.

Within one file the numbering, the total length and the digest are checked. That the origin
exists is a reference like WARC-Concurrent-To (:mod:`.warcids`): resolved across the bag. A
series whose last segment is not in the file (segmentation exists to split records across
files) cannot have its payload digest checked here: that is reported ``not-checked``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .warcdigests import DigestMismatch, PayloadDigest, read_claim
from .warcfindings import Finding
from .warcgzip import Buffer, Hasher
from .warcheaders import HeaderBlock, RecordHeaders
from .warcids import norm_id

MAX_OPEN_SERIES = 1024  # series of one file whose last segment is still to come, kept in memory


@dataclass
class _Series:
    """A segmented record whose last segment has not been read yet."""

    offset: int  # of the first segment
    next_number: int
    total: int  # content bytes of the segments read so far
    payload: PayloadDigest | None


@dataclass
class SegmentRecord:
    """What one segment adds: findings about its headers and, when its block counts, the sink to feed."""

    findings: list[Finding]
    sink: PayloadDigest | None = None
    series: _Series | None = None
    last: bool = False
    total_length: int | None = None


class Segments:
    """The segmented records of one file, checked as their segments are read."""

    def __init__(self) -> None:
        self._open: dict[str, _Series] = {}

    def begin(self, block: HeaderBlock, headers: RecordHeaders, offset: int) -> SegmentRecord | None:
        """Judge the segment headers of the record at ``offset``; None when it is no segment."""
        number_text = block.one("WARC-Segment-Number")
        continuation = headers.record_type_l == "continuation"
        if number_text is None and not continuation:
            return None
        found = SegmentRecord([])
        number = _number(number_text)
        if number is None or number < 1:
            what = "has no WARC-Segment-Number" if number_text is None else f"has WARC-Segment-Number {number_text!r}"
            found.findings.append(Finding(f"the segment at offset {offset} {what}; segments are numbered 1, 2, ...",
                                          offset))
            return found
        if not continuation:
            return self._first(block, headers, offset, number, found)
        return self._continuation(block, offset, number, found)

    def _first(
        self, block: HeaderBlock, headers: RecordHeaders, offset: int, number: int, found: SegmentRecord
    ) -> SegmentRecord:
        # WARC 1.1 section 5.15: "The first segment shall have a number of 1"; only continuation
        # records carry the later numbers.
        if number != 1:
            found.findings.append(
                Finding(
                    f"the {headers.record_type} record at offset {offset} has WARC-Segment-Number {number}; the first "
                    "segment is numbered 1 and later ones are continuation records.",
                    offset,
                )
            )
            return found
        claim = read_claim(block, "WARC-Payload-Digest", offset)
        if isinstance(claim, Finding):
            found.findings.append(claim)
            claim = None
        payload = PayloadDigest(claim, block, headers.record_type_l) if claim is not None else None
        if headers.record_id is not None:
            if len(self._open) >= MAX_OPEN_SERIES:
                oldest = next(iter(self._open))
                found.findings += self._unfinished(self._open.pop(oldest))
            found.series = self._open[norm_id(headers.record_id)] = _Series(offset, 2, 0, payload)
        found.sink = payload
        return found

    def _continuation(self, block: HeaderBlock, offset: int, number: int, found: SegmentRecord) -> SegmentRecord:
        origin = block.one("WARC-Segment-Origin-ID")
        if origin is None:
            # WARC 1.1 section 5.16: WARC-Segment-Origin-ID "shall" be given in continuation records.
            found.findings.append(Finding(f"the continuation record at offset {offset} has no WARC-Segment-Origin-ID.",
                                          offset))
            return found
        total_text = block.one("WARC-Segment-Total-Length")
        if total_text is not None:
            found.last = True
            found.total_length = _number(total_text)
            if found.total_length is None:
                found.findings.append(
                    Finding(f"WARC-Segment-Total-Length {total_text[:30]!r} at offset {offset} is not a number.", offset)
                )
        series = self._open.get(norm_id(origin))
        if series is None:
            return found  # its origin is in another file, or nowhere: the reference check says which
        if number != series.next_number:
            # WARC 1.1 section 5.15: "subsequent segments shall be numbered consecutively".
            found.findings.append(
                Finding(
                    f"the continuation record at offset {offset} is segment {number} of the record at offset "
                    f"{series.offset}; segment {series.next_number} was expected (segments are numbered with no gaps).",
                    offset,
                )
            )
        series.next_number = number + 1
        found.series = series
        found.sink = series.payload
        return found

    def end(self, segment: SegmentRecord, length: int, origin: str | None) -> tuple[list[Finding], DigestMismatch | None]:
        """After the segment's block (``length`` bytes) was read: at the last segment, the total length
        and the payload digest of the whole."""
        series = segment.series
        if series is None:
            return [], None
        series.total += length
        if not segment.last:
            return [], None
        if origin is not None:
            self._open.pop(norm_id(origin), None)
        findings: list[Finding] = []
        if segment.total_length is not None and segment.total_length != series.total:
            # WARC 1.1 section 5.17: "In the final record of a segmented series, reports the total length of
            # all segment content blocks when concatenated together."
            findings.append(
                Finding(
                    f"WARC-Segment-Total-Length of the record segmented from offset {series.offset} is "
                    f"{segment.total_length}, but its segments' content blocks hold {series.total} bytes.",
                    series.offset,
                )
            )
        mismatch = series.payload.mismatch() if series.payload is not None else None
        return findings, mismatch

    def finish(self) -> list[Finding]:
        """At the end of the file: series whose last segment is not here."""
        found: list[Finding] = []
        for series in self._open.values():
            found += self._unfinished(series)
        self._open.clear()
        return found

    @staticmethod
    def _unfinished(series: _Series) -> list[Finding]:
        if series.payload is None:
            return []
        return [
            Finding(
                f"the record segmented from offset {series.offset} has no last segment in this file (segments 1 to "
                f"{series.next_number - 1} are here); its WARC-Payload-Digest covers all segments and was not checked.",
                series.offset,
                "not-checked",
            )
        ]


class Tee:
    """Feeds a block to a record's own digests and to its segmented record's payload digest."""

    def __init__(self, first: Hasher, second: Hasher) -> None:
        self._first = first
        self._second = second

    def update(self, data: Buffer) -> None:
        self._first.update(data)
        self._second.update(data)


def _number(text: str | None) -> int | None:
    if text is not None and text.isascii() and text.isdigit():
        return int(text)
    return None
