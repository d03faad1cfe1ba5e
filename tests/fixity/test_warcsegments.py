"""Segmented records, built here: numbering, origin, total length, and the payload digest of the whole."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cablekeep.fixity.report import Problem
from cablekeep.fixity.warccheck import verify_warc

from .test_warclegacy import record, record_id, warcinfo, write

BODY = b"".join(b"cable line %03d\n" % n for n in range(60))
HTTP_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(BODY)
WHOLE = HTTP_HEAD + BODY


def sha1(data: bytes) -> bytes:
    return b"sha1:" + base64.b32encode(hashlib.sha1(data).digest())


def segmented(parts: list[bytes], *, numbers: list[int] | None = None, total: int | None = None,
              payload_of: bytes = BODY, last_has_total: bool = True, origin: str | None = None) -> list[bytes]:
    """The records of one response split into ``parts``: the first a response numbered 1, the rest
    continuation records naming it. WARC 1.1 section 5.15: "The first segment shall have a number of
    1"; 5.16: continuation records carry WARC-Segment-Origin-ID; 5.17: the last carries
    WARC-Segment-Total-Length, "the total length of all segment content blocks when concatenated"."""
    numbers = numbers or list(range(1, len(parts) + 1))
    first_id = record_id()
    records = [record([(b"WARC-Type", b"response"), (b"WARC-Record-ID", first_id.encode()),
                       (b"WARC-Date", b"2024-05-01T12:00:00Z"), (b"WARC-Target-URI", b"http://example.org/big"),
                       (b"Content-Type", b"application/http; msgtype=response"),
                       (b"WARC-Payload-Digest", sha1(payload_of)), (b"WARC-Block-Digest", sha1(parts[0])),
                       (b"WARC-Segment-Number", b"%d" % numbers[0])], parts[0])]
    for index, (part, number) in enumerate(zip(parts[1:], numbers[1:]), start=1):
        fields = [(b"WARC-Type", b"continuation"), (b"WARC-Record-ID", record_id().encode()),
                  (b"WARC-Date", b"2024-05-01T12:00:00Z"), (b"WARC-Target-URI", b"http://example.org/big"),
                  (b"WARC-Segment-Origin-ID", (origin or first_id).encode()), (b"WARC-Segment-Number", b"%d" % number),
                  (b"WARC-Block-Digest", sha1(part))]
        if index == len(parts) - 1 and last_has_total:
            fields.append((b"WARC-Segment-Total-Length", b"%d" % (total if total is not None else sum(map(len, parts)))))
        records.append(record(fields, part))
    return records


def thirds() -> list[bytes]:
    return [WHOLE[:100], WHOLE[100:700], WHOLE[700:]]


def failures(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.kind != "warning"]


def test_a_whole_segmented_record_is_valid_and_its_payload_digest_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "seg.warc", warcinfo(b"cablekeep/0.3.0"), *segmented(thirds()))
    assert verify_warc(path) == ([], 4)
    gz = write(tmp_path, "seg.warc.gz", warcinfo(b"cablekeep/0.3.0"), *segmented(thirds()), gzipped=True)
    assert verify_warc(gz) == ([], 4)


def test_a_wrong_payload_digest_over_all_segments_is_an_error(tmp_path: Path) -> None:
    # WARC 1.1 section 5.9: the payload digest of a segmented record covers "the payload of the
    # logical record", i.e. all the segments' blocks concatenated.
    path = write(tmp_path, "seg.warc", *segmented(thirds(), payload_of=BODY + b"more"))
    problems, _ = verify_warc(path)
    assert [(p.kind, p.offset) for p in problems] == [("warc", 0)], problems
    assert "WARC-Payload-Digest" in problems[0].detail and problems[0].expected == sha1(BODY + b"more").decode()


def test_numbering_starts_at_2_and_has_no_gaps(tmp_path: Path) -> None:
    gap = write(tmp_path, "gap.warc", *segmented(thirds(), numbers=[1, 2, 4]))
    problems, _ = verify_warc(gap)
    assert [p.kind for p in problems] == ["warc"] and "segment 3 was expected" in problems[0].detail
    one = write(tmp_path, "one.warc", *segmented(thirds(), numbers=[1, 1, 2]))
    assert any("segment 2 was expected" in p.detail for p in failures(verify_warc(one)[0]))
    first_two = write(tmp_path, "first2.warc", *segmented(thirds(), numbers=[2, 3, 4]))
    assert any("the first segment is numbered 1" in p.detail for p in failures(verify_warc(first_two)[0]))


def test_the_total_length_on_the_last_segment_must_match(tmp_path: Path) -> None:
    path = write(tmp_path, "total.warc", *segmented(thirds(), total=len(WHOLE) + 1))
    problems, _ = verify_warc(path)
    assert [p.kind for p in problems] == ["warc"] and "WARC-Segment-Total-Length" in problems[0].detail
    assert f"hold {len(WHOLE)} bytes" in problems[0].detail


def test_the_origin_must_resolve(tmp_path: Path) -> None:
    path = write(tmp_path, "orphan.warc", warcinfo(b"cablekeep/0.3.0"), *segmented(thirds(), origin=record_id())[1:])
    problems, _ = verify_warc(path)
    assert [p.kind for p in problems] == ["warc", "warc"]
    assert all("WARC-Segment-Origin-ID" in p.detail for p in problems)


def test_a_series_continued_in_another_file_leaves_its_digest_not_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "part1.warc", *segmented(thirds(), last_has_total=False)[:2])
    problems, _ = verify_warc(path)
    assert [(p.kind, p.offset) for p in problems] == [("not-checked", 0)], problems
    assert "no last segment in this file" in problems[0].detail


def test_a_continuation_without_number_or_origin(tmp_path: Path) -> None:
    parts = segmented(thirds())
    no_number = parts[1].replace(b"WARC-Segment-Number: 2\r\n", b"")
    problems, _ = verify_warc(write(tmp_path, "nonumber.warc", parts[0], no_number))
    assert any("has no WARC-Segment-Number" in p.detail for p in failures(problems))
    no_origin = parts[1].replace(b"WARC-Segment-Origin-ID", b"X-Origin")
    problems, _ = verify_warc(write(tmp_path, "noorigin.warc", parts[0], no_origin))
    assert any("has no WARC-Segment-Origin-ID" in p.detail for p in failures(problems))
