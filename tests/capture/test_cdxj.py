"""The CDXJ index: its bounded-memory sort (runs spilled to files and merged), and reading it back."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cablekeep.capture.canon import surt_key
from cablekeep.capture.cdxj import CdxjError, MalformedLine, format_line, iter_index, write_sorted
from cablekeep.capture.recorder import index_fields
from cablekeep.capture.warc import WarcWriter, WrittenRecord, timestamp14


def test_lines_sorted_across_spilled_runs(tmp_path: Path) -> None:
    lines = [f"org,example)/p/{n:05d} 2026{n % 7:02d} {{\"n\": {n}}}" for n in range(1000)]
    shuffled = random.Random(4).sample(lines, len(lines))
    out = tmp_path / "index.cdxj"
    assert write_sorted(iter(shuffled), out, run_lines=64) == 1000  # 15 runs on disk and one in memory
    assert out.read_text(encoding="utf-8").splitlines() == sorted(lines)
    assert [p.name for p in tmp_path.iterdir()] == ["index.cdxj"]  # the runs are gone


def test_fewer_lines_than_a_run_and_none(tmp_path: Path) -> None:
    assert write_sorted(["b 2 {}", "a 1 {}"], tmp_path / "small.cdxj") == 2
    assert (tmp_path / "small.cdxj").read_text(encoding="utf-8") == "a 1 {}\nb 2 {}\n"
    assert write_sorted([], tmp_path / "empty.cdxj") == 0
    assert (tmp_path / "empty.cdxj").read_text(encoding="utf-8") == ""


# -- reading ---------------------------------------------------------------------------------------


def _capture_lines(tmp_path: Path) -> tuple[list[str], list[WrittenRecord]]:
    """Index lines made as the crawl makes them, for records a real WarcWriter wrote."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    writer = WarcWriter(tmp_path / "warc", prefix="t", max_size=10**9, warcinfo={}, clock=lambda: when)
    records = [
        writer.write_metadata(f"http://site.test/{n}", f"<urn:uuid:{n}>", b"x" * n, when) for n in (3, 1, 2)
    ]
    writer.close_file()
    lines = [format_line(f"{surt_key(r.target_uri)} {timestamp14(r.date)}", index_fields(r)) for r in records]
    return lines, records


def test_what_the_writer_writes_the_reader_reads(tmp_path: Path) -> None:
    lines, records = _capture_lines(tmp_path)
    index = tmp_path / "index.cdxj"
    assert write_sorted(lines, index) == 3
    read = list(iter_index(index))
    assert [line.url for line in read] == ["http://site.test/1", "http://site.test/2", "http://site.test/3"]  # sorted
    by_url = {r.target_uri: r for r in records}
    for number, line in enumerate(read, 1):
        record = by_url[line.url or ""]
        assert line.line_number == number
        assert (line.surt, line.timestamp) == (surt_key(record.target_uri), "20260102030405")
        assert (line.filename, line.offset, line.length) == (record.filename, record.offset, record.length)
        assert (line.record_id, line.warc_date, line.mime) == (record.record_id, "2026-01-02T03:04:05Z", record.mime)
        assert line.status is None and line.digest == record.payload_digest  # "-" is read as None
        assert line.fields["offset"] == str(record.offset)  # the JSON block as written


def test_a_malformed_line_raises_or_is_reported_and_skipped(tmp_path: Path) -> None:
    index = tmp_path / "index.cdxj"
    index.write_text(
        'org,a)/ 20260101000000 {"url": "http://a.org/", "status": "200", "offset": "10", "length": "5"}\n'
        "org,b)/ 20260101000000 {not json\n"
        "org,c)/\n"
        'org,d)/ 2026x {"url": "http://d.org/"}\n'
        'org,e)/ 20260101000000 {"url": "http://e.org/", "offset": "ten"}\n'
        'org,f)/ 20260101000000 ["a list"]\n'
        'org,g)/ 20260101000000 {"url": "http://g.org/", "status": 404, "offset": 7}\n',
        encoding="utf-8",
    )
    with pytest.raises(CdxjError) as raised:
        list(iter_index(index))
    assert raised.value.problem.line_number == 2
    assert str(raised.value).startswith(f"{index}:2: the JSON block does not parse")

    problems: list[MalformedLine] = []
    read = list(iter_index(index, on_malformed=problems.append))
    assert [(line.url, line.status, line.offset) for line in read] == [
        ("http://a.org/", 200, 10), ("http://g.org/", 404, 7),
    ]
    assert [p.line_number for p in problems] == [2, 3, 4, 5, 6]
    assert "offset: 'ten' is not a whole number" in problems[3].reason
    assert problems[4].reason == "the JSON block is not an object"
