"""End to end: a manifest crawled from the sample site into WARCs, bagged, verified.

Independent checkers: bagit-python validates the bag, warcio reads every WARC back with digest
checks. One crawl (module scope) is shared by the read-only assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bagit
import pytest
from warcio.archiveiterator import ArchiveIterator

from cablekeep.capture.canon import index_key
from cablekeep.errors import CrawlFailedError, OutputError, RunInterrupted
from cablekeep.fixity.verify import verify_bag
from cablekeep.manifest import load_manifest
from cablekeep.run import RunSummary, earlier_bags, run_manifest, work_dir
from cablekeep.sample_site import SampleSite
from cablekeep.sample_site.cables import MISSING_IDS, MOVED_IDS, SOFT_404_IDS


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> RunSummary:
    tmp = tmp_path_factory.mktemp("run")
    manifest = tmp / "andijon.yaml"
    manifest.write_text(
        f"""cablekeep: 1
collection: andijon-2005
title: Andijon
description: Cables about Andijon refugees
organization:
  name: Test Archive
  address: 1 Loopback Road
  contact: {{name: A. Archivist, email: a@example.org}}
site:
  cable_url: "{sample_site.cable_base}/cable/{{id}}"
seeds:
  - cable: 05ALMATY2503
  - cable: 05ALMATY2401
  - url: {sample_site.cable_base}/cable/06ASTANA919
follow: {{depth: 1}}
fetch: {{per_host_delay: 0, allow_private: true, retries: 0, timeout: 10}}
bag:
  output: {tmp / 'bags'}
  info: {{Internal-Sender-Identifier: test-42}}
""",
        encoding="utf-8",
    )
    return run_manifest(load_manifest(manifest))


def _records(path: Path) -> list[Any]:
    out = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise"):
            record.content_stream().read()
            out.append((record.rec_type, dict(record.rec_headers.headers), record.digest_checker.passed))
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_bag_is_valid_for_bagit_python(demo_run: RunSummary) -> None:
    assert demo_run.report.ok, demo_run.report.problems
    bag = bagit.Bag(str(demo_run.bag.path))
    bag.validate()  # raises BagValidationError on any problem
    assert set(bag.algorithms) == {"sha512", "sha256"}
    info = bag.info
    assert info["Source-Organization"] == "Test Archive"
    assert info["Organization-Address"] == "1 Loopback Road"
    assert info["Contact-Name"] == "A. Archivist"
    assert info["Contact-Email"] == "a@example.org"
    assert info["External-Description"] == "Cables about Andijon refugees"
    assert info["External-Identifier"].startswith("urn:uuid:")
    assert info["Internal-Sender-Identifier"] == "test-42"
    assert info["Bag-Software-Agent"].startswith("cablekeep ")
    files = sum(1 for p in (demo_run.bag.path / "data").rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in (demo_run.bag.path / "data").rglob("*") if p.is_file())
    assert info["Payload-Oxum"] == f"{size}.{files}"
    assert demo_run.bag.path.name.startswith("andijon-2005-")


def test_payload_layout(demo_run: RunSummary) -> None:
    data = demo_run.bag.path / "data"
    names = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    assert {"index.cdxj", "cables.jsonl", "crawl-log.jsonl", "manifest.yaml"} <= names
    warcs = [n for n in names if n.startswith("warc/")]
    assert warcs and all(n.endswith(".warc.gz") for n in warcs)
    assert not any(n.endswith(".open") for n in names)
    assert "collection: andijon-2005" in (data / "manifest.yaml").read_text(encoding="utf-8")
    # the staging directory and the work directory are gone
    assert not any(p.name.startswith(".staging-") for p in demo_run.bag.path.parent.iterdir())
    assert not (demo_run.bag.path.parent / ".work" / "andijon-2005").exists()


def test_every_warc_reads_back_with_digests(demo_run: RunSummary) -> None:
    for warc in sorted((demo_run.bag.path / "data" / "warc").iterdir()):
        records = _records(warc)
        assert records[0][0] == "warcinfo"
        info_types = [r for r in records if r[0] == "warcinfo"]
        assert len(info_types) == 1
        by_id = {headers["WARC-Record-ID"]: (rtype, headers) for rtype, headers, _ in records}
        for rtype, headers, passed in records:
            assert headers["WARC-Date"].endswith("Z")
            if rtype in ("response", "request"):
                assert passed is not False
                assert headers["WARC-IP-Address"].startswith("127.0.0.")
                partner = by_id[headers["WARC-Concurrent-To"]]
                assert partner[0] == ("request" if rtype == "response" else "response")
                assert partner[1]["WARC-Target-URI"] == headers["WARC-Target-URI"]
            if rtype == "response":
                assert headers["WARC-Payload-Digest"].startswith("sha1:")
                assert headers["WARC-Block-Digest"].startswith("sha1:")
            if rtype == "metadata":
                assert by_id[headers["WARC-Refers-To"]][0] == "response"


def test_metadata_record_for_each_cable_page(demo_run: RunSummary) -> None:
    cables = _jsonl(demo_run.bag.path / "data" / "cables.jsonl")
    metadata_targets = set()
    for warc in (demo_run.bag.path / "data" / "warc").iterdir():
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "metadata":
                    payload = json.loads(record.content_stream().read())
                    metadata_targets.add(payload["url"])
                    assert "outlinks" in payload
    assert {c["url"] for c in cables} <= metadata_targets


def test_cdxj_lists_every_response(demo_run: RunSummary) -> None:
    data = demo_run.bag.path / "data"
    lines = (data / "index.cdxj").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)
    indexed = {}
    for line in lines:
        key, timestamp, fields = line.split(" ", 2)
        entry = json.loads(fields)
        assert len(timestamp) == 14 and timestamp.isdigit()
        assert key == index_key(entry["url"])  # keyed as pywb keys it
        indexed[(entry["filename"], int(entry["offset"]))] = entry
    responses = {}
    for warc in (data / "warc").iterdir():
        with open(warc, "rb") as handle:
            iterator = ArchiveIterator(handle)
            for record in iterator:
                if record.rec_type == "response":
                    responses[(warc.name, iterator.get_record_offset())] = record.rec_headers.get_header("WARC-Target-URI")
    assert set(indexed) == set(responses)
    for place, url in responses.items():
        assert indexed[place]["url"] == url


def test_cable_metadata_of_the_seed(demo_run: RunSummary) -> None:
    cables = {c["cable_id"]: c for c in _jsonl(demo_run.bag.path / "data" / "cables.jsonl")}
    seed = cables["05ALMATY2503"]
    assert seed["status"] == 200
    assert seed["fields"]["origin"] == "US Office Almaty"
    assert seed["fields"]["created"] == "2005-07-06 12:08:00"
    assert seed["fields"]["classification"] == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    assert seed["tags"] == ["PGOV", "PREL", "KDEM", "PHUM", "PINR", "SMIG", "IO", "UZ", "KZ", "POLITICAL"]
    assert seed["url"].endswith("/cable/05ALMATY2503")
    assert seed["captured"].endswith("Z")
    # pages reached by following citations are cables too
    assert len(cables) > 3


def test_crawl_log_outcomes(demo_run: RunSummary) -> None:
    log = _jsonl(demo_run.bag.path / "data" / "crawl-log.jsonl")
    by_url = {entry["url"]: entry for entry in log}
    for entry in log:
        assert {"url", "outcome", "status", "reason", "bytes", "time"} <= set(entry)
    missing = [e for e in log if e["url"].rsplit("/", 1)[-1] in MISSING_IDS]
    assert missing and all(e["outcome"] == "not-found" and e["status"] == 404 for e in missing)
    moved = [e for e in log if e["url"].rsplit("/", 1)[-1] in MOVED_IDS]
    assert moved and all(e["outcome"] == "redirect" and e["status"] == 301 for e in moved)
    for entry in moved:
        target = entry["location"]
        assert target in by_url and by_url[target]["outcome"] == "ok" and by_url[target]["hop"] == entry["hop"]
    soft = [e for e in log if e["url"].rsplit("/", 1)[-1] in SOFT_404_IDS]
    assert soft and all(e["outcome"] == "soft-404" and e["status"] == 200 for e in soft)
    assert any(e["hop"] == "requisite" and e["outcome"] == "ok" for e in log)
    assert any(e["hop"] == "source" for e in log)
    robots = [e for e in log if e["outcome"] == "robots"]
    assert [e["url"].split("/", 3)[3] for e in robots] == ["private/editor-notes/05ALMATY2401.html"]
    assert sorted(e["url"].rsplit("/", 1)[1] for e in log if e["hop"] == "robots") == ["robots.txt", "robots.txt"]
    urls = [e["url"] for e in log]
    assert len(urls) == len(set(urls)), "a URL was fetched twice"


def test_summary_counts(demo_run: RunSummary) -> None:
    crawl = demo_run.crawl
    assert crawl.outcomes["ok"] > 10
    assert crawl.outcomes["not-found"] >= 1
    assert crawl.cables == len(_jsonl(demo_run.bag.path / "data" / "cables.jsonl"))
    assert demo_run.index_lines == len((demo_run.bag.path / "data" / "index.cdxj").read_text().splitlines())


def test_refused_connection_is_logged(write_manifest: Callable[..., Path], sample_site: SampleSite) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/gone"
    path = write_manifest(seeds=[{"url": dead}, {"cable": "05ALMATY2503"}], follow={"depth": 0, "requisites": False})
    summary = run_manifest(load_manifest(path))
    log = {e["url"]: e for e in _jsonl(summary.bag.path / "data" / "crawl-log.jsonl")}
    assert log[dead]["outcome"] == "refused"
    assert log[dead]["status"] is None and log[dead]["reason"]
    assert summary.report.ok


def test_blocked_address_without_allow_private(write_manifest: Callable[..., Path], tmp_path: Path) -> None:
    """Every seed refused: the run fails with each seed's reason, makes no bag and leaves no work behind."""
    path = write_manifest(fetch={"allow_private": False}, follow={"depth": 0})
    with pytest.raises(CrawlFailedError) as caught:
        run_manifest(load_manifest(path))
    assert caught.value.exit_code == 5
    [(url, outcome, reason)] = caught.value.failures
    assert url.endswith("/cable/05ALMATY2503") and outcome == "blocked-address"
    assert "allow_private" in reason and "allow_private" in str(caught.value)
    bags = tmp_path / "bags"
    assert sorted(p.name for p in bags.iterdir()) == [".work"]
    assert [p.name for p in (bags / ".work").iterdir()] == ["test-cables.lock"]


def test_some_seeds_failing_still_bags_the_rest(write_manifest: Callable[..., Path], sample_site: SampleSite) -> None:
    path = write_manifest(
        seeds=[{"cable": "05ALMATY2503"}, {"url": "http://127.0.0.1:1/nothing-listens-here"}],
        follow={"depth": 0},
        fetch={"allow_private": True, "retries": 0, "timeout": 5},
    )
    summary = run_manifest(load_manifest(path))
    outcomes = {e["url"]: e["outcome"] for e in _jsonl(summary.bag.path / "data" / "crawl-log.jsonl")}
    assert outcomes["http://127.0.0.1:1/nothing-listens-here"] == "refused"
    assert summary.report.ok


def test_all_seeds_not_found_is_a_failure(write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(seeds=[{"cable": "99NOWHERE1"}], follow={"depth": 0})
    with pytest.raises(CrawlFailedError) as caught:
        run_manifest(load_manifest(path))
    [(_, outcome, reason)] = caught.value.failures
    assert outcome in {"not-found", "soft-404"} and "HTTP" in reason


def test_warc_rolls_over_at_max_size(write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(warc={"max_size": "4KB"}, follow={"depth": 1})
    summary = run_manifest(load_manifest(path))
    warcs = sorted((summary.bag.path / "data" / "warc").iterdir())
    assert len(warcs) > 2
    serials = [int(w.name.split("-")[-1].split(".")[0]) for w in warcs]
    assert serials == list(range(1, len(warcs) + 1))
    for warc in warcs:
        assert _records(warc)[0][0] == "warcinfo"
    bagit.Bag(str(summary.bag.path)).validate()


def test_stopped_crawl_resumes_without_duplicates(write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(follow={"depth": 2})
    manifest = load_manifest(path)
    stop = threading.Event()
    seen: list[str] = []

    def stop_after_five(entry: dict[str, object]) -> None:
        seen.append(str(entry["url"]))
        if len(seen) == 5:
            stop.set()

    with pytest.raises(RunInterrupted):
        run_manifest(manifest, on_entry=stop_after_five, stop=stop)
    workdir = work_dir(manifest)
    leftovers = list((workdir / "warc").iterdir())
    assert leftovers and not any(p.name.endswith(".open") for p in leftovers)
    summary = run_manifest(manifest)
    assert summary.crawl.resumed
    log = _jsonl(summary.bag.path / "data" / "crawl-log.jsonl")
    urls = [e["url"] for e in log]
    assert len(urls) == len(set(urls))
    responses = []
    for warc in (summary.bag.path / "data" / "warc").iterdir():
        responses += [r[1]["WARC-Target-URI"] for r in _records(warc) if r[0] == "response"]
    assert len(responses) == len(set(responses))
    bagit.Bag(str(summary.bag.path)).validate()
    assert verify_bag(summary.bag.path).ok


def test_existing_bag_is_not_overwritten(write_manifest: Callable[..., Path], tmp_path: Path) -> None:
    from cablekeep.bagging.build import make_bag
    from datetime import datetime, timezone

    payload = tmp_path / "f.txt"
    payload.write_text("x")
    kwargs: dict[str, Any] = dict(info={}, algorithms=["sha256"], external_identifier="x",
                                  bagging_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    make_bag(tmp_path / "out", "b", [(payload, "f.txt")], **kwargs)
    with pytest.raises(OutputError):
        make_bag(tmp_path / "out", "b", [(payload, "f.txt")], **kwargs)


def test_two_runs_in_the_same_second_make_two_bags(write_manifest: Callable[..., Path]) -> None:
    """Bags are named by the second their run started; a second run in that second must not fail on the name."""
    from datetime import datetime, timezone

    path = write_manifest(follow={"depth": 0})
    second = datetime(2026, 12, 3, 10, 11, 12, tzinfo=timezone.utc)
    first = run_manifest(load_manifest(path), clock=lambda: second)
    again = run_manifest(load_manifest(path), clock=lambda: second)
    assert first.bag.path.name.endswith("-20261203T101112Z")
    assert again.bag.path.name == first.bag.path.name + "-2"
    assert earlier_bags(load_manifest(path)) == [first.bag.path, again.bag.path]
    for made in (first, again):
        assert made.report.ok
        bagit.Bag(str(made.bag.path)).validate()
    assert bagit.Bag(str(first.bag.path)).info["External-Identifier"] != bagit.Bag(str(again.bag.path)).info["External-Identifier"]


def _by_type(bag: Path) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for warc in sorted((bag / "data" / "warc").iterdir()):
        for rtype, headers, _ in _records(warc):
            out.setdefault(rtype, []).append(headers)
    return out


def test_identical_payloads_become_revisits_within_a_crawl(write_manifest: Callable[..., Path], sample_site: SampleSite) -> None:
    # the same page under two spellings that are different URLs: a query string makes it another key
    seeds = [{"url": sample_site.cable_url("05ALMATY2503")}, {"url": sample_site.cable_url("05ALMATY2503") + "?print=1"}]
    path = write_manifest(seeds=seeds, follow={"depth": 0, "requisites": False})
    summary = run_manifest(load_manifest(path))
    records = _by_type(summary.bag.path)
    [revisit] = records["revisit"]
    original = next(r for r in records["response"] if r["WARC-Target-URI"] == sample_site.cable_url("05ALMATY2503"))
    assert revisit["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert revisit["WARC-Refers-To-Target-URI"] == original["WARC-Target-URI"]
    assert revisit["WARC-Refers-To-Date"] == original["WARC-Date"]
    assert revisit["WARC-Refers-To"] == original["WARC-Record-ID"]
    assert revisit["WARC-Payload-Digest"] == original["WARC-Payload-Digest"]
    index = (summary.bag.path / "data" / "index.cdxj").read_text()
    assert '"mime": "warc/revisit"' in index
    bagit.Bag(str(summary.bag.path)).validate()
    assert summary.report.ok


def test_collection_dedup_points_at_the_earlier_bag(write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(warc={"dedup": "collection"}, follow={"depth": 0})
    first = run_manifest(load_manifest(path))
    assert "revisit" not in _by_type(first.bag.path)
    import time as _time

    _time.sleep(1.1)  # bag names carry the second the crawl started
    second = run_manifest(load_manifest(path))
    records = _by_type(second.bag.path)
    assert len(records["revisit"]) >= 3  # the page and its requisites did not change
    first_responses = {r["WARC-Target-URI"]: r for r in _by_type(first.bag.path)["response"]}
    for revisit in records["revisit"]:
        earlier = first_responses[revisit["WARC-Refers-To-Target-URI"]]
        assert revisit["WARC-Refers-To-Date"] == earlier["WARC-Date"]
        assert revisit["WARC-Payload-Digest"] == earlier["WARC-Payload-Digest"]
    bag = bagit.Bag(str(second.bag.path))
    bag.validate()
    depends = bag.info["Cablekeep-Depends-On"]
    assert depends.startswith(first.bag.path.name + " urn:uuid:")
    assert (second.bag.path / "cablekeep-depends-on.txt").read_text().startswith(first.bag.path.name)
    # verify resolves the revisits against the earlier bag beside it
    report = verify_bag(second.bag.path)
    assert report.ok and not [p for p in report.problems if "revisit" in p.detail or "earlier bag" in p.detail]
    # without the earlier bag it says what it could not check
    away = first.bag.path.with_name("elsewhere")
    first.bag.path.rename(away)
    report = verify_bag(second.bag.path)  # not checked is never passed: INCOMPLETE, naming the bag
    assert report.verdict == "incomplete"
    assert any(p.kind == "not-checked" and first.bag.path.name in p.detail for p in report.problems)
    # an earlier bag that does not hold the originals: broken references
    first.bag.path.mkdir()
    (first.bag.path / "data").mkdir()
    (first.bag.path / "data" / "index.cdxj").write_text("")
    report = verify_bag(second.bag.path)
    assert not report.ok
    assert any(p.kind == "warc" and p.path.startswith("data/warc/") for p in report.problems)


def test_dedup_none_keeps_bags_self_contained(write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(follow={"depth": 0})
    run_manifest(load_manifest(path))
    import time as _time

    _time.sleep(1.1)
    second = run_manifest(load_manifest(path))
    assert "revisit" not in _by_type(second.bag.path)
    assert not (second.bag.path / "cablekeep-depends-on.txt").exists()


def test_resume_refuses_a_changed_manifest(write_manifest: Callable[..., Path]) -> None:
    from cablekeep.errors import UsageError

    path = write_manifest(follow={"depth": 2})
    stop = threading.Event()
    with pytest.raises(RunInterrupted):
        run_manifest(load_manifest(path), on_entry=lambda entry: stop.set(), stop=stop)
    changed = write_manifest("changed.yaml", follow={"depth": 0})
    with pytest.raises(UsageError, match="changed since the interrupted crawl"):
        run_manifest(load_manifest(changed))
    summary = run_manifest(load_manifest(path))  # the original manifest finishes the crawl
    assert summary.report.ok and summary.crawl.resumed


def test_a_damaged_earlier_bag_stops_collection_dedup_with_a_clear_error(
    write_manifest: Callable[..., Path], tmp_path: Path, cli: Any
) -> None:
    path = write_manifest(warc={"dedup": "collection"}, follow={"depth": 0})
    earlier = tmp_path / "bags" / "test-cables-20200101T000000Z"
    (earlier / "data").mkdir(parents=True)
    (earlier / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (earlier / "data" / "index.cdxj").write_text("garbage line\n")
    result = cli("run", "--quiet", str(path))
    assert result.exit_code == 4, result.stderr
    assert "Traceback" not in result.stderr and str(earlier) in result.stderr and "index" in result.stderr


def test_a_damaged_dependency_list_is_reported_not_a_crash(tmp_path: Path, cli: Any) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    assert cli("bag", str(source), "--output", str(tmp_path / "out")).exit_code == 0
    bag = tmp_path / "out" / "src"
    (bag / "cablekeep-depends-on.txt").write_bytes(b"\xff\xfe nowhere\n")
    result = cli("verify", str(bag), "--db", str(tmp_path / "h.sqlite"))
    assert "Traceback" not in result.stderr
    assert result.exit_code == 8 and "INCOMPLETE" in result.stdout and "not beside this one" in result.stdout
