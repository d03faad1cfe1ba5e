"""Understanding cables end to end: citations resolved, originals compared, profiles, scope."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cablekeep.errors import ManifestError
from cablekeep.manifest import load_manifest
from cablekeep.run import RunSummary, run_manifest
from cablekeep.sample_site import SampleSite
from cablekeep.sample_site.cables import MISSING_IDS, MOVED_IDS, SOFT_404_IDS, SampleCable, cable_page

from ..conftest import run_cli


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def andijon(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> RunSummary:
    tmp = tmp_path_factory.mktemp("understanding")
    manifest = tmp / "m.yaml"
    manifest.write_text(
        "cablekeep: 1\ncollection: understanding\n"
        f"site: {{cable_url: '{sample_site.cable_base}/cable/{{id}}'}}\n"
        "seeds: [{cable: 05ALMATY2503}, {cable: 05ALMATY2401}, {cable: 06ASTANA919}]\n"
        "follow: {depth: 1}\n"
        "fetch: {per_host_delay: 0, allow_private: true, retries: 0}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return run_manifest(load_manifest(manifest))


def test_citations_resolved(andijon: RunSummary) -> None:
    records = _jsonl(andijon.bag.path / "data" / "citations.jsonl")
    assert records, "citations.jsonl is empty"
    for record in records:
        assert set(record) >= {"citing", "written", "cable_id", "url", "outcome"}
        assert record["outcome"] in {"archived", "not-on-site", "failed", "not-followed"}
    by_id = {r["cable_id"]: r for r in records}
    [(old, new)] = list(MOVED_IDS.items())
    assert by_id[old]["outcome"] == "archived" and by_id[old]["resolved_url"].endswith("/cable/" + new)
    for cable_id in set(MISSING_IDS) & set(by_id):
        assert by_id[cable_id]["outcome"] in {"not-on-site", "not-followed"}
    assert any(by_id[c]["outcome"] == "not-on-site" for c in set(MISSING_IDS) & set(by_id))
    [soft] = list(SOFT_404_IDS)
    assert by_id[soft]["outcome"] == "not-on-site"
    assert by_id["05ALMATY2503"]["outcome"] == "archived"
    # the summary counts the same
    archived = sum(1 for r in records if r["outcome"] == "archived")
    missing = sum(1 for r in records if r["outcome"] == "not-on-site")
    assert (andijon.crawl.citations, andijon.crawl.citations_archived, andijon.crawl.citations_missing) == (
        len(records), archived, missing)


def test_originals_compared_with_pages(andijon: RunSummary) -> None:
    cables = {c["cable_id"]: c for c in _jsonl(andijon.bag.path / "data" / "cables.jsonl")}
    seed = cables["05ALMATY2503"]
    assert seed["original"]["url"].endswith("/cable/2005/07/05ALMATY2503.html")
    assert seed["original"]["fields"]["identifier"] == "05ALMATY2503"
    # the cable browser says "US Office Almaty", the original "Embassy Almaty"; Created agrees to the minute
    assert seed["disagreements"] == [{"field": "origin", "page": "US Office Almaty", "original": "Embassy Almaty"}]


# -- a site of our own for the year-before rule and the original_url template -------------------

JANUARY = SampleCable(
    id="06ALMATY12", subject="NEW YEAR REVIEW", origin="Embassy Almaty", created="2006-01-03 09:00:00",
    classification="UNCLASSIFIED", tags=("PGOV",), redacted="This cable was not redacted by Wikileaks.",
    text="UNCLAS ALMATY 000012\n\nREF: ALMATY 4460\n\n1. (U) Last month's cable said it all.\n",
)
DECEMBER = SampleCable(
    id="05ALMATY4460", subject="YEAR END", origin="Embassy Almaty", created="2005-12-20 10:00:00",
    classification="UNCLASSIFIED", tags=("PGOV",), redacted="This cable was not redacted by Wikileaks.",
    text="UNCLAS ALMATY 004460\n\n1. (U) The year ends.\n",
)


@pytest.fixture(scope="module")
def tiny_site() -> Iterator[str]:
    # the pages have no "Wikileaks:" row: no link to their original
    pages = {f"/cable/{c.id}": re.sub(rb"<tr>[^\n]*Wikileaks:.*?</tr>\n?", b"", cable_page(c, "http://127.0.0.5:9"),
                                      flags=re.S | re.I) for c in (JANUARY, DECEMBER)}
    assert all(b"Wikileaks:" not in page and b"Wikileaks.org" not in page for page in pages.values())

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            body = body or b"no such page"
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.5", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.5:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_yearless_citation_falls_back_to_the_year_before(tiny_site: str, write_manifest: Callable[..., Path]) -> None:
    path = write_manifest(
        site={"cable_url": tiny_site + "/cable/{id}",
              "original_url": tiny_site + "/originals/{created:%Y}/{created:%m}/{id}.html"},
        seeds=[{"cable": "06ALMATY12"}],
        follow={"depth": 1, "requisites": False},
    )
    summary = run_manifest(load_manifest(path))
    [citation] = _jsonl(summary.bag.path / "data" / "citations.jsonl")
    assert citation["written"] == "ALMATY 4460"
    assert citation["cable_id"] == "06ALMATY4460"
    assert citation["outcome"] == "archived"
    assert citation["resolved_id"] == "05ALMATY4460"
    assert citation["resolved_url"] == tiny_site + "/cable/05ALMATY4460"
    log = {e["url"]: e for e in _jsonl(summary.bag.path / "data" / "crawl-log.jsonl")}
    assert log[tiny_site + "/cable/06ALMATY4460"]["outcome"] == "not-found"
    # the page has no link to its original: site.original_url built it from Created
    original = log[tiny_site + "/originals/2006/01/06ALMATY12.html"]
    assert original["hop"] == "source" and original["outcome"] == "not-found"


def test_bad_profile_is_a_manifest_error(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "cablekeep: 1\ncollection: c\nsite:\n  cable_url: 'http://h/{id}'\n  profile:\n    name: broken\n"
        "    fields: {identifier: {xpath: '//td[@class='}}\n    text: {css: pre}\nseeds: [{cable: 05ALMATY1}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    assert caught.value.line == 6 and caught.value.key == "site.profile"
    assert "identifier" in str(caught.value)


def test_scope_rules_log_what_was_left_out(write_manifest: Callable[..., Path], sample_site: SampleSite) -> None:
    path = write_manifest(
        seeds=[{"cable": "05ALMATY2401"}],
        follow={"depth": 1, "exclude": ["/static/"], "hosts": ["127.0.0.9"]},
    )
    summary = run_manifest(load_manifest(path))
    log = _jsonl(summary.bag.path / "data" / "crawl-log.jsonl")
    left_out = [e for e in log if e["outcome"] == "out-of-scope"]
    assert any("/static/" in e["url"] and "follow.exclude" in e["reason"] for e in left_out)
    assert any(e["url"].startswith("http://127.0.0.2") and "follow.hosts" in e["reason"] for e in left_out)
    fetched = [e["url"] for e in log if e["outcome"] != "out-of-scope"]
    assert not any("/static/" in url for url in fetched)
    assert not any(url.startswith("http://127.0.0.2") and not url.endswith("robots.txt") for url in fetched)


def test_a_url_is_fetched_once_however_written(write_manifest: Callable[..., Path], sample_site: SampleSite) -> None:
    base = sample_site.cable_base
    variants = [base + "/cable/05ALMATY2503", base.upper().replace("HTTP", "http") + "/cable/05ALMATY2503#x",
                base + "/cable/05ALMATY2503/"]
    path = write_manifest(seeds=[{"url": v} for v in variants], follow={"depth": 0, "requisites": False})
    summary = run_manifest(load_manifest(path))
    log = [e for e in _jsonl(summary.bag.path / "data" / "crawl-log.jsonl") if e["hop"] == "seed"]
    assert len(log) == 1


def test_extract_command_on_a_warc(andijon: RunSummary, sample_site: SampleSite) -> None:
    warc = sorted((andijon.bag.path / "data" / "warc").iterdir())[0]
    result = run_cli("extract", str(warc), "--url", sample_site.cable_url("05ALMATY2503"), timeout=60)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["profile"] == "cablebrowser"
    assert record["fields"]["origin"] == "US Office Almaty"
    assert record["cable_id"] == "05ALMATY2503"


def test_extract_command_on_html(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_bytes(cable_page(DECEMBER, "http://127.0.0.2:1"))
    result = run_cli("extract", str(page), timeout=60)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["fields"]["created"] == "2005-12-20 10:00:00"


def test_custom_profile_archives_a_mirror_with_another_layout(tmp_path: Path, sample_site: SampleSite) -> None:
    import yaml

    from cablekeep.sample_site import serve_mirror_site

    profile = yaml.safe_load((Path(__file__).parents[1] / "data" / "profiles" / "mirror-profile.yaml").read_text())
    with serve_mirror_site(original_base=sample_site.original_base) as mirror:
        manifest = tmp_path / "mirror.yaml"
        manifest.write_text(yaml.safe_dump({
            "cablekeep": 1, "collection": "mirror",
            "site": {"cable_url": mirror.cable_url("{id}").replace("%7Bid%7D", "{id}"), "profile": profile},
            "seeds": [{"cable": "05ALMATY2503"}, {"cable": "05ALMATY2401"}],
            "follow": {"depth": 1},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0},
            "bag": {"output": str(tmp_path / "bags")},
        }), encoding="utf-8")
        summary = run_manifest(load_manifest(manifest))
    assert summary.report.ok
    cables = {c["cable_id"]: c for c in _jsonl(summary.bag.path / "data" / "cables.jsonl")}
    seed = cables["05ALMATY2503"]
    assert seed["url"] == mirror.cable_url("05ALMATY2503")
    assert seed["fields"]["origin"] == "US Office Almaty"
    assert seed["fields"]["created"] == "2005-07-06 12:08:00"
    assert seed["tags"] == ["PGOV", "PREL", "KDEM", "PHUM", "PINR", "SMIG", "IO", "UZ", "KZ", "POLITICAL"]
    # citations on the mirror were followed through the manifest's cable_url
    assert any(c["outcome"] == "archived" and c["resolved_url"].startswith(mirror.base)
               for c in _jsonl(summary.bag.path / "data" / "citations.jsonl"))
    # the mirror's original links (on the sample site's second host) were parsed with the built-in profile
    assert seed["original"]["fields"]["identifier"] == "05ALMATY2503"
