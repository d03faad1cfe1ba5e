"""``fetch.processes: 2``: worker processes fetch, build the records and read the pages; the crawl's
outputs are those of a one-process crawl (same URLs, outcomes, cables, citations), the bag valid."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from cablekeep.capture import warc
from cablekeep.manifest import load_manifest
from cablekeep.run import RunSummary, run_manifest
from cablekeep.sample_site import SampleSite


def _lines(summary: RunSummary, name: str) -> list[dict[str, object]]:
    text = (summary.bag.path / "data" / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _crawl(
    write_manifest: Callable[..., Path], name: str, processes: int, threads: int | None = None, **sections: object
) -> RunSummary:
    fetch: dict[str, object] = {"processes": processes, "concurrency": 4, "per_host_concurrency": 2}
    if threads is not None:
        fetch["threads"] = threads
    path = write_manifest(f"{name}.yaml", collection=name, follow={"depth": 2}, fetch=fetch, **sections)
    summary = run_manifest(load_manifest(path))
    bagit.Bag(str(summary.bag.path)).validate()
    assert summary.report.ok
    return summary


@pytest.mark.parametrize("threads", [None, 1])
def test_two_processes_crawl_what_one_does(
    write_manifest: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, threads: int | None
) -> None:
    """Also with one thread a worker (``fetch.threads: 1``): URLs wait in the workers' queues."""
    one = _crawl(write_manifest, "one", 1)
    # every record goes through a spill file, as those of a 100 MB body would
    monkeypatch.setattr(warc, "PREPARED_SPOOL", 0)
    two = _crawl(write_manifest, "two", 2, threads)

    def log(summary: RunSummary) -> list[tuple[object, ...]]:
        return sorted((e["url"], e["outcome"], e["status"], e["depth"], e["hop"]) for e in _lines(summary, "crawl-log.jsonl"))

    def cables(summary: RunSummary) -> list[tuple[object, ...]]:
        return sorted((c["url"], c["cable_id"], json.dumps(c["fields"]), tuple(c["cited"]))  # type: ignore[arg-type]
                      for c in _lines(summary, "cables.jsonl"))

    def citations(summary: RunSummary) -> list[str]:
        return sorted(json.dumps(c, sort_keys=True) for c in _lines(summary, "citations.jsonl"))

    assert log(two) == log(one)
    assert any(entry[0].endswith("/robots.txt") for entry in log(two))  # type: ignore[union-attr]
    assert cables(two) == cables(one) and cables(one)
    assert citations(two) == citations(one)
    assert two.index_lines == one.index_lines
    assert not list((two.bag.path.parent / ".work").glob("*/spool/*"))


def test_two_processes_write_revisits(write_manifest: Callable[..., Path], sample_site: SampleSite) -> None:
    seeds = [{"url": sample_site.cable_url("05ALMATY2503")}, {"url": sample_site.cable_url("05ALMATY2503") + "?print=1"}]
    path = write_manifest(seeds=seeds, follow={"depth": 0, "requisites": False}, fetch={"processes": 2, "concurrency": 1})
    summary = run_manifest(load_manifest(path))
    index = (summary.bag.path / "data" / "index.cdxj").read_text()
    assert index.count('"mime": "warc/revisit"') == 1
    bagit.Bag(str(summary.bag.path)).validate()
    assert summary.report.ok


@pytest.mark.parametrize(("fetch", "follow", "seed_capture", "expected"), [
    ("", "{references: false, sources: false}", "", "cores"),  # nothing rendered: one process a core
    ("concurrency: 1", "{references: false, sources: false}", "", 1),  # at most one per request in flight
    ("processes: 3", "{references: false, sources: false}", "", 3),  # as the manifest says
    ("", "{references: false, sources: true}", "", 1),  # sources are captured with capture: auto by default
    ("", "{references: false, sources: true, capture: {sources: http}}", "", "cores"),
    ("", "{references: true, sources: false, capture: {references: browser}}", "", 1),
    ("", "{references: false, sources: false}", ", capture: browser", 1),  # a seed rendered in the browser
    ("processes: 2", "{references: false, sources: false}", ", capture: browser", 2),
])
def test_processes_default_to_the_cores_unless_pages_are_rendered(
    tmp_path: Path, fetch: str, follow: str, seed_capture: str, expected: int | str
) -> None:
    from cablekeep.manifest.sections import usable_cores

    path = tmp_path / "m.yaml"
    path.write_text(f"cablekeep: 1\ncollection: c\nseeds:\n  - {{url: 'http://127.0.0.1:9/a'{seed_capture}}}\n"
                    f"follow: {follow}\nfetch: {{{fetch}}}\n", encoding="utf-8")
    manifest = load_manifest(path)
    cores = min(usable_cores(), manifest.fetch.concurrency)
    assert manifest.fetch.processes == (cores if expected == "cores" else expected)
    assert manifest.fetch.threads is None  # concurrency / processes, as before


def test_default_processes_follow_the_cores() -> None:
    from cablekeep.manifest.sections import default_processes

    assert [default_processes(4, False, cores) for cores in (1, 2, 3, 8)] == [1, 2, 3, 4]
    assert default_processes(16, True, 8) == 1
