"""The CDXJ index: its bounded-memory sort (runs spilled to files and merged), reading it back, its keys
as pywb's own cdx-indexer computes them, and bags whose index was keyed the old way."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import bagit
import pytest

from cablekeep.capture.canon import index_key, surt_key
from cablekeep.capture.cdxj import CdxjError, MalformedLine, format_line, index_prefix, iter_index, write_sorted
from cablekeep.capture.recorder import index_fields
from cablekeep.capture.warc import WarcWriter, WrittenRecord
from cablekeep.fixity.verify import verify_bag
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest

from ..access.replay_support import find_pywb


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
    lines = [format_line(index_prefix(r.target_uri, r.date), index_fields(r)) for r in records]
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
        assert (line.key, line.timestamp) == (index_key(record.target_uri), "20260102030405")
        assert line.surt == surt_key(record.target_uri)
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


def test_either_key_form_reads_as_one_capture(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8471/cable/05ALMATY2503"
    fields = '{"url": "%s", "status": "200", "digest": "sha1:X", "offset": "0", "length": "9"}' % url
    old, new = "127.0.0.1:8471)/cable/05almaty2503", "1,0,0,127:8471)/cable/05almaty2503"
    index = tmp_path / "index.cdxj"
    index.write_text(f"{old} 20260101000000 {fields}\n{new} 20260101000000 {fields}\n"
                     "org,a)/ 20260101000000 {}\n", encoding="utf-8")
    first, second, bare = iter_index(index)
    assert (first.key, second.key) == (old, new)  # as written
    assert first.surt == second.surt == surt_key(url) == old  # cablekeep's key, whichever form was written
    assert (bare.key, bare.surt) == ("org,a)/", "org,a)/")  # no URL: the written key


# -- the bag's index against pywb's own cdx-indexer -----------------------------------------------------


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return find_pywb(tmp_path_factory)


def _pywb_index(pywb: Path, warc_dir: Path) -> dict[tuple[str, int], tuple[str, str, dict[str, str]]]:
    """pywb's cdx-indexer -j over a bag's WARCs: (filename, offset) -> (key, timestamp, fields)."""
    done = subprocess.run([str(pywb / "bin" / "cdx-indexer"), "-j", "--dir-root", str(warc_dir), str(warc_dir)],
                          capture_output=True, text=True, check=True, timeout=300)
    found = {}
    for line in done.stdout.splitlines():
        if not line or line.startswith(" CDX"):
            continue
        key, timestamp, block = line.split(" ", 2)
        fields = json.loads(block)
        found[(fields["filename"], int(fields["offset"]))] = (key, timestamp, fields)
    return found


def test_every_line_of_a_bags_index_is_keyed_as_pywbs_cdx_indexer_keys_it(
        write_manifest: Callable[..., Path], pywb: Path) -> None:
    manifest = write_manifest(follow={"depth": 1, "requisites": True, "sources": True})
    bag = run_manifest(load_manifest(manifest)).bag.path
    pywbs = _pywb_index(pywb, bag / "data" / "warc")
    lines = list(iter_index(bag / "data" / "index.cdxj"))
    assert len(lines) >= 5 and any(line.url and "127.0.0.2" in line.url for line in lines)  # two hosts
    for line in lines:
        assert line.filename is not None and line.offset is not None
        key, timestamp, fields = pywbs[(line.filename, line.offset)]
        assert (line.key, line.timestamp) == (key, timestamp), line.url
        assert (line.url, line.status, str(line.length)) == (fields["url"], int(fields["status"]), fields["length"])
    # every capture pywb would replay (a response or revisit: it has an HTTP status) is in the bag's index
    replayable = {place for place, (_, _, fields) in pywbs.items() if "status" in fields}
    assert replayable == {(line.filename, line.offset) for line in lines}


# -- a bag made before the index was keyed as pywb keys it ----------------------------------------------


def _rekey_the_old_way(bag: Path) -> None:
    """Rewrite a bag's index with cablekeep's own keys, as bags made before carry it, and re-hash the bag."""
    index = bag / "data" / "index.cdxj"
    rewritten = [f"{surt_key(line.url or '')} {line.timestamp} {json.dumps(dict(line.fields))}"
                 for line in iter_index(index)]
    index.write_text("".join(f"{text}\n" for text in sorted(rewritten)), encoding="utf-8")
    bagit.Bag(str(bag)).save(manifests=True)


def test_a_bag_keyed_the_old_way_still_verifies_and_later_bags_dedup_against_it(
        write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(warc={"dedup": "collection"}, follow={"depth": 0})
    first = run_manifest(load_manifest(path)).bag.path
    new_keys = {line.key for line in iter_index(first / "data" / "index.cdxj")}
    _rekey_the_old_way(first)
    old = list(iter_index(first / "data" / "index.cdxj"))
    assert {line.key for line in old}.isdisjoint(new_keys)  # 127.0.0.1 is keyed otherwise: really the old form
    assert all(line.key == line.surt for line in old)
    assert verify_bag(first).ok

    time.sleep(1.1)  # bag names carry the second the crawl started
    second = run_manifest(load_manifest(path))
    lines = list(iter_index(second.bag.path / "data" / "index.cdxj"))
    revisits = [line for line in lines if line.mime == "warc/revisit"]
    # nothing changed, so every payload found in the old bag's index is a revisit (robots.txt never is one)
    assert len(revisits) >= 3 and {line.url for line in lines if line not in revisits} == {
        line.url for line in old if (line.url or "").endswith("/robots.txt")}
    assert all(line.key == index_key(line.url or "") for line in lines)  # the new bag: pywb's keys
    assert second.report.ok
    assert verify_bag(second.bag.path).ok  # its revisits resolved against the old bag's index
