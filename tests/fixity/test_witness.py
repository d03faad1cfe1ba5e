"""A cablekeep bag's own index as a second witness (cablekeep.fixity.witness), on a real crawl.

One crawl of the bundled sample site (module scope) makes a real cablekeep bag; each test copies
it, changes one thing, recomputes the manifests and Payload-Oxum (so the manifest checks see
nothing wrong: only the index can tell), and verifies it unpacked and serialized.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import re
import shutil
from pathlib import Path

import bagit
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from cablekeep.fixity.dirsource import DirectorySource
from cablekeep.fixity.recordids import FieldSpool, SpooledRecord
from cablekeep.fixity.report import Report
from cablekeep.fixity.serialized import verify_serialized
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.warccheck import WarcScan, scan_warc_stream
from cablekeep.fixity.witness import check_directory_witness
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from cablekeep.sample_site import SampleSite

from ..imports import modules_loaded
from .bags import make_bag, rewrite_payload_manifests, serialize


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> Path:
    tmp = tmp_path_factory.mktemp("witness")
    manifest = tmp / "witness.yaml"
    manifest.write_text(
        f"""cablekeep: 1
collection: witness
title: Witness
description: a bag whose index is checked
organization:
  name: Test Archive
  address: 1 Loopback Road
  contact: {{name: A. Archivist, email: a@example.org}}
site:
  cable_url: "{sample_site.cable_base}/cable/{{id}}"
seeds:
  - cable: 05ALMATY2401
follow: {{depth: 1}}
fetch: {{per_host_delay: 0, allow_private: true, retries: 0, timeout: 10}}
bag:
  output: {tmp / 'bags'}
""",
        encoding="utf-8",
    )
    return run_manifest(load_manifest(manifest)).bag.path


@pytest.fixture
def bag(crawled: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(crawled, tmp_path / "bag"))


def the_warc(bag: Path) -> Path:
    (warc,) = (bag / "data" / "warc").glob("*.warc.gz")
    return warc


def reseal(bag: Path) -> None:
    """Manifests, Payload-Oxum and tag manifests recomputed: the bag is whole again by BagIt's rules."""
    files = [p for p in (bag / "data").rglob("*") if p.is_file()]
    info = bag / "bag-info.txt"
    oxum = f"Payload-Oxum: {sum(p.stat().st_size for p in files)}.{len(files)}"
    info.write_text(re.sub(r"Payload-Oxum: \S+", oxum, info.read_text(encoding="utf-8")), encoding="utf-8")
    rewrite_payload_manifests(bag)


def index_lines(bag: Path) -> list[dict[str, str]]:
    return [json.loads(line.split(" ", 2)[2]) for line in (bag / "data/index.cdxj").read_text().splitlines()]


def rewrite_index(bag: Path, change: dict[int, dict[str, str]]) -> None:
    """index.cdxj with the JSON fields of the lines numbered in ``change`` (1-based) updated."""
    out = []
    for number, line in enumerate((bag / "data/index.cdxj").read_text().splitlines(), 1):
        surt, stamp, block = line.split(" ", 2)
        fields = json.loads(block)
        fields.update(change.get(number, {}))
        out.append(f"{surt} {stamp} {json.dumps(fields)}\n")
    (bag / "data/index.cdxj").write_text("".join(out))


def rewrite_first_cable(bag: Path, change: dict[str, str]) -> None:
    """cables.jsonl with the fields of its first line updated (``url`` given as a suffix to add
    when it starts with "+"), then the bag resealed."""
    cables = (bag / "data/cables.jsonl").read_text().splitlines()
    entry = json.loads(cables[0])
    for key, value in change.items():
        entry[key] = entry[key] + value[1:] if value.startswith("+") else value
    cables[0] = json.dumps(entry)
    (bag / "data/cables.jsonl").write_text("\n".join(cables) + "\n")
    reseal(bag)


def index_problems(report: Report) -> list[tuple[str, str]]:
    return [(p.path, p.detail) for p in report.problems if p.kind == "index"]


def assert_same_serialized(bag: Path, report: Report) -> None:
    for fmt in ("tar", "zip"):
        archived = verify_serialized(serialize(bag, fmt))
        assert index_problems(archived) == index_problems(report), fmt
        assert archived.verdict == report.verdict


# --------------------------------------------------------------------------- valid


def test_a_crawled_bag_agrees_with_its_index(bag: Path) -> None:
    report = verify_bag(bag, processes=1)
    assert report.verdict == "valid", report.problems
    assert len(index_lines(bag)) >= 5  # a real crawl: the check had lines to check
    assert_same_serialized(bag, report)


# --------------------------------------------------------------------------- invalid


def test_a_warc_cut_at_a_record_boundary_is_caught_by_the_index(bag: Path) -> None:
    # issue 12: "Today a WARC cut cleanly at a record boundary, with the manifests recomputed to match,
    # verifies as valid although the index still points past the end of the file."
    warc = the_warc(bag)
    lines = index_lines(bag)
    last = max(lines, key=lambda fields: int(fields["offset"]))
    cut = int(last["offset"])
    warc.write_bytes(warc.read_bytes()[:cut])
    reseal(bag)
    assert bagit.Bag(str(bag)).is_valid()  # BagIt alone sees nothing wrong
    report = verify_bag(bag, processes=1)
    assert report.verdict == "invalid"
    assert {p.kind for p in report.problems} == {"index"}, report.problems
    number = lines.index(last) + 1
    problems = index_problems(report)
    assert ("data/index.cdxj", f"line {number} points at data/warc/{warc.name} offset {cut}, where the file ends "
            f"({cut} bytes): there is no record there.") in problems
    # the crawl log names the cut record too
    log_ids = [json.loads(line).get("warc_record_id") for line in (bag / "data/crawl-log.jsonl").read_text().splitlines()]
    log_line = log_ids.index(last["record_id"]) + 1
    assert any(path == "data/crawl-log.jsonl" and detail.startswith(f"line {log_line} names record {last['record_id']}")
               for path, detail in problems)
    assert_same_serialized(bag, report)


@pytest.mark.parametrize(
    ("field", "value", "header"),
    [
        ("url", "http://127.0.0.1:9/elsewhere", "WARC-Target-URI"),
        ("digest", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "WARC-Payload-Digest"),
        ("warc_date", "2001-01-01T00:00:00Z", "WARC-Date"),
        ("record_id", "<urn:uuid:00000000-0000-0000-0000-000000000000>", "WARC-Record-ID"),
    ],
)
def test_an_index_line_must_match_the_record_at_its_offset(bag: Path, field: str, value: str, header: str) -> None:
    # "every CDXJ line must point at a record that exists at that file and offset, with that URI, date and digest"
    rewrite_index(bag, {2: {field: value}})
    reseal(bag)
    report = verify_bag(bag, processes=1)
    assert report.verdict == "invalid"
    problems = [p for p in report.problems if p.kind == "index"]
    index_side = [p for p in problems if p.path == "data/index.cdxj"]
    assert len(index_side) == 1 and index_side[0].detail.startswith("line 2 points at the record at ")
    assert f"whose {header} is" in index_side[0].detail and index_side[0].expected == (
        value.strip("<>") if field == "record_id" else value)
    assert_same_serialized(bag, report)


def test_an_index_offset_that_lands_on_another_record(bag: Path) -> None:
    lines = index_lines(bag)
    rewrite_index(bag, {1: {"offset": lines[1]["offset"]}} if lines[0]["url"] != lines[1]["url"] else
                  {1: {"offset": lines[2]["offset"]}})
    reseal(bag)
    details = [d for path, d in index_problems(verify_bag(bag, processes=1)) if path == "data/index.cdxj"]
    assert details and all(d.startswith("line 1 points at the record at ") for d in details)
    assert any("WARC-Target-URI" in d for d in details) and any("WARC-Record-ID" in d for d in details)


def test_an_index_offset_inside_a_record(bag: Path) -> None:
    line = index_lines(bag)[0]
    rewrite_index(bag, {1: {"offset": str(int(line["offset"]) + 7)}})
    reseal(bag)
    ((path, detail),) = index_problems(verify_bag(bag, processes=1))
    assert path == "data/index.cdxj" and detail.startswith("line 1 points at ") and "where no WARC record starts" in detail


def test_an_index_line_naming_a_warc_not_in_the_bag(bag: Path) -> None:
    rewrite_index(bag, {3: {"filename": "gone.warc.gz"}})
    reseal(bag)
    assert index_problems(verify_bag(bag, processes=1)) == [
        ("data/index.cdxj", "line 3 names the WARC file 'gone.warc.gz', which is not in the bag's payload.")]


def test_a_malformed_index_line_is_named(bag: Path) -> None:
    with open(bag / "data/index.cdxj", "a", encoding="utf-8") as handle:
        handle.write("garbage\n")
    reseal(bag)
    problems = index_problems(verify_bag(bag, processes=1))
    total = len((bag / "data/index.cdxj").read_text().splitlines())
    assert problems == [("data/index.cdxj", f"line {total} cannot be read (not '<key> <timestamp> <json>').")]


def test_a_captured_cable_must_have_its_record(bag: Path) -> None:
    # "every captured cable in cables.jsonl must have its record"
    rewrite_first_cable(bag, {"warc_record_id": "<urn:uuid:11111111-1111-1111-1111-111111111111>"})
    report = verify_bag(bag, processes=1)
    assert index_problems(report) == [(
        "data/cables.jsonl",
        f"line 1 names record <urn:uuid:11111111-1111-1111-1111-111111111111> in data/warc/{the_warc(bag).name}, "
        "which holds no such record.",
    )]
    assert_same_serialized(bag, report)


def test_a_cable_whose_record_has_another_url(bag: Path) -> None:
    rewrite_first_cable(bag, {"url": "+-moved"})
    ((path, detail),) = index_problems(verify_bag(bag, processes=1))
    assert path == "data/cables.jsonl" and detail.startswith("line 1 points at the record at ") and "WARC-Target-URI" in detail


def test_the_crawl_log_must_agree_with_the_warcs(bag: Path) -> None:
    # "counts in the crawl log must agree with the WARCs (each log entry naming a warc_record_id finds it)"
    log = (bag / "data/crawl-log.jsonl").read_text().splitlines()
    named = [n for n, line in enumerate(log) if "warc_record_id" in json.loads(line)]
    dropped = json.loads(log[named[-1]])
    del log[named[-1]]
    (bag / "data/crawl-log.jsonl").write_text("\n".join(log) + "\n")
    reseal(bag)
    problems = index_problems(verify_bag(bag, processes=1))
    indexed = len(index_lines(bag))
    assert problems == [(
        "data/crawl-log.jsonl",
        f"the crawl log names {indexed - 1} records written but index.cdxj lists {indexed} captures; each fetch "
        "that wrote records is logged once and indexed once.",
    )], dropped


def test_fast_and_sample_modes_do_not_read_the_index(bag: Path) -> None:
    rewrite_index(bag, {1: {"url": "http://127.0.0.1:9/elsewhere"}})
    reseal(bag)
    assert not index_problems(verify_bag(bag, fast=True))
    assert not index_problems(verify_bag(bag, only=[], processes=1))
    assert index_problems(verify_bag(bag, processes=1))


# --------------------------------------------------------------------------- only cablekeep's bags


def foreign_warc() -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    writer.write_record(writer.create_warcinfo_record("x.warc.gz", {"software": "Heritrix/3.4"}))
    body = b"<p>hello</p>"
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record("http://example.org/", "response", payload=io.BytesIO(body),
                                                  length=len(body), http_headers=headers))
    return out.getvalue()


def test_a_bag_cablekeep_did_not_make_is_not_held_to_its_index(tmp_path: Path) -> None:
    # an index.cdxj of someone else's making follows no rule cablekeep knows: it is payload like any file
    index = b'org,example)/ 20240101000000 {"url": "http://example.org/", "offset": "999999", "filename": "x.warc.gz"}\n'
    bag = make_bag(tmp_path / "foreign", {"warc/x.warc.gz": foreign_warc(), "index.cdxj": index})
    report = verify_bag(bag, processes=1)
    assert report.verdict == "valid", report.problems
    assert verify_serialized(serialize(bag, "tar")).verdict == "valid"


def test_a_cablekeep_warcinfo_is_enough(tmp_path: Path, bag: Path) -> None:
    # the WARCs' warcinfo says cablekeep even where bag-info.txt does not (a bag re-made by another tool)
    info = bag / "bag-info.txt"
    info.write_text(re.sub(r"Bag-Software-Agent: .*\n", "", info.read_text(encoding="utf-8")), encoding="utf-8")
    with gzip.open(the_warc(bag)) as handle:
        assert b"software: cablekeep" in handle.read(4096)
    rewrite_index(bag, {1: {"url": "http://127.0.0.1:9/elsewhere"}})
    reseal(bag)
    assert index_problems(verify_bag(bag, processes=1))
    assert index_problems(verify_serialized(serialize(bag, "zip")))


def test_records_a_browser_capture_adds_are_named_in_the_log(bag: Path) -> None:
    # a browser capture's screenshot and rendered DOM are indexed and named in the page's log entry;
    # a log that names a record the WARC does not hold is still a problem
    log = (bag / "data/crawl-log.jsonl").read_text().splitlines()
    number, entry = next((n, json.loads(line)) for n, line in enumerate(log) if json.loads(line).get("warc_record_id"))
    entry["screenshot_record_id"] = "<urn:uuid:22222222-2222-2222-2222-222222222222>"
    log[number] = json.dumps(entry)
    (bag / "data/crawl-log.jsonl").write_text("\n".join(log) + "\n")
    reseal(bag)
    problems = index_problems(verify_bag(bag, processes=1))
    assert any("22222222-2222-2222-2222-222222222222" in detail for _, detail in problems), problems


# --------------------------------------------------------------------------- one read of each WARC


def scan_bag_warcs(bag: Path, *, witness: bool) -> list[WarcScan]:
    scans = []
    for warc in sorted((bag / "data").rglob("*.warc.gz")):
        with open(warc, "rb") as stream:
            rel = warc.relative_to(bag).as_posix()
            scans.append(scan_warc_stream(stream, name=warc.name, display_path=rel, witness=witness))
    return scans


def test_the_witness_reads_no_warc_again_when_the_fingerprints_agree(bag: Path) -> None:
    # issue 12: "checking the index adds at most 10 % to a full verify": the scans' fingerprints are the
    # witness's only source of what the records hold, so a WARC gone after its scan changes nothing
    scans = scan_bag_warcs(bag, witness=True)
    for warc in (bag / "data").rglob("*.warc.gz"):
        warc.unlink()
    assert check_directory_witness(bag, scans) == []


def test_a_disagreement_reads_the_warc_again_to_name_the_line(bag: Path) -> None:
    rewrite_index(bag, {2: {"url": "http://127.0.0.1:9/elsewhere"}})
    scans = scan_bag_warcs(bag, witness=True)
    problems = check_directory_witness(bag, scans)
    assert [(p.path, p.detail.split(",")[0]) for p in problems] == [
        ("data/index.cdxj", f"line 2 points at the record at data/warc/{the_warc_name(scans)} offset "
         f"{index_lines(bag)[1]['offset']}")]
    assert problems[0].found is not None and problems[0].expected == "http://127.0.0.1:9/elsewhere"


def test_a_warc_gone_before_the_exact_comparison_is_not_checked(bag: Path) -> None:
    # the fingerprints disagree, and the WARC the line points into can no longer be read: said, never passed
    rewrite_index(bag, {2: {"url": "http://127.0.0.1:9/elsewhere"}})
    scans = scan_bag_warcs(bag, witness=True)
    for warc in (bag / "data").rglob("*.warc.gz"):
        warc.unlink()
    problems = check_directory_witness(bag, scans)
    assert [(p.kind, p.path) for p in problems] == [("not-checked", "data/index.cdxj")]
    assert f"data/warc/{the_warc_name(scans)} could not be read again" in problems[0].detail


def the_warc_name(scans: list[WarcScan]) -> str:
    (scan,) = scans
    return scan.path.rpartition("/")[2]


def test_the_scan_spools_fields_only_when_asked(bag: Path) -> None:
    (plain,) = scan_bag_warcs(bag, witness=False)
    assert plain.fields is None
    (folded,) = scan_bag_warcs(bag, witness=True)
    assert folded.fields is not None and not isinstance(folded.fields, FieldSpool)
    assert folded.fields.fold()[1] == len(index_lines(bag))  # one capture a line, nothing kept on disk
    with open(the_warc(bag), "rb") as stream:
        asked = scan_warc_stream(stream, name=the_warc(bag).name, display_path="x", witness=True, spool_fields=True)
    assert isinstance(asked.fields, FieldSpool)
    spooled = list(asked.fields.records())
    assert len(spooled) == asked.records and asked.fields.size == the_warc(bag).stat().st_size
    assert asked.fields.fold() == folded.fields.fold()
    by_offset = {record.offset: record for record in spooled}
    for line in index_lines(bag):
        record = by_offset[int(line["offset"])]
        assert (record.target_uri, record.date, record.payload_digest, (record.record_id or "").strip("<>")) == (
            line["url"], line["warc_date"], line["digest"], line["record_id"].strip("<>"))
    asked.discard()


def test_a_bag_without_an_index_is_scanned_without_a_spool(tmp_path: Path) -> None:
    # bags cablekeep did not make keep the scan's speed: nothing is spooled for them
    bag = make_bag(tmp_path / "foreign", {"warc/x.warc.gz": foreign_warc()})
    source = DirectorySource(bag, processes=1)
    assert not source.has_index()
    (bag / "data/index.cdxj").write_text("")
    assert source.has_index()


def test_an_offset_between_records_names_the_nearest(bag: Path) -> None:
    lines = index_lines(bag)
    rewrite_index(bag, {1: {"offset": str(int(lines[0]["offset"]) + 7)}})
    reseal(bag)
    ((_, detail),) = index_problems(verify_bag(bag, processes=1))
    assert re.search(r"where no WARC record starts \(the nearest records start at offset \d+ and \d+\)\.$", detail)


@pytest.mark.parametrize("count", [3, 40_000])
def test_a_field_spool_gives_back_what_it_was_given(count: int) -> None:
    # past the 1 MiB buffer (the file, a record split across two reads of it) and sent to another process
    spool = FieldSpool()
    given = [SpooledRecord(n * 1000, f"<urn:uuid:{n}>", None if n % 7 == 0 else f"http://h/é{n}",
                           "2024-01-01T00:00:00Z", None if n % 3 else f"sha1:{n}") for n in range(count)]
    for record in given:
        spool.add(*record)
    spool.size = 99
    copy = pickle.loads(pickle.dumps(spool))
    assert list(copy.records()) == given and copy.size == 99 and copy.count == count
    copy.discard()


# --------------------------------------------------------------------------- start-up

def test_verify_does_not_import_the_crawlers_libraries(bag: Path, tmp_path: Path) -> None:
    # the witness reads the index through capture.cdxj, which makes no key when it reads: the URL
    # canonicaliser (surt, tldextract, requests) and warcio stay out of verify's start-up (~0.15 s)
    code, loaded, stderr = modules_loaded(["verify", "--db", str(tmp_path / "fixity.sqlite"), str(bag)],
                                          ["surt", "tldextract", "requests", "warcio"])
    assert (code, loaded) == (0, []), stderr
