"""The crawler's parts, tested directly: scope (what is followed and why), politeness bookkeeping,
resume marking (WARCs recovered, done marks committed with their records), and the coordinator on a
real loopback site."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from cablekeep.cables.citations import Citation
from cablekeep.cables.extract import Link, PageRecord
from cablekeep.capture.crawl import Crawl
from cablekeep.capture.politeness import MAX_CRAWL_DELAY, Politeness, retry_after_seconds
from cablekeep.capture.progress import Tally
from cablekeep.capture.recorder import Recorder
from cablekeep.capture.resume import recover_warcs
from cablekeep.capture.scope import LinkPlan, Scope, ToFollow, has_year, is_navigation, plan_links
from cablekeep.capture.state import CrawlState, QueuedUrl
from cablekeep.capture.warc import OPEN_SUFFIX, WarcWriter
from cablekeep.manifest import FetchOptions, Follow, load_manifest

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _record(kind: str = "other", links: tuple[Link, ...] = (), citations: tuple[Citation, ...] = ()) -> PageRecord:
    return PageRecord(
        url="http://site.test/page", kind=kind, cable_id="05ALMATY1" if kind == "cable" else None,  # type: ignore[arg-type]
        fields={}, tags=(), text="", citations=citations, links=links, title="",
    )


def _queued(url: str = "http://site.test/page", id: int = 1, host: str = "site.test", depth: int = 0) -> QueuedUrl:
    return QueuedUrl(id, "test,site)/page", url, host, depth, "seed", None, 0)


# -- scope: what is followed, and why not ------------------------------------------------------


def test_a_page_leads_to_its_references_sources_and_requisites_in_order() -> None:
    record = _record("cable", links=(
        Link("http://site.test/style.css", "requisite", "link"),
        Link("http://site.test/", "source", "a"),  # the home page: navigation
        Link("http://docs.test/report.pdf", "source", "a"),
        Link("http://site.test/original/1", "original", "a"),
    ))
    plan = plan_links(Follow(depth=1), record, ["http://site.test/cable/05ALMATY2", None], 0, "site.test")
    assert plan == LinkPlan(
        follow=(
            ToFollow("http://site.test/cable/05ALMATY2", 1, "reference"),
            ToFollow("http://site.test/style.css", 0, "requisite"),
            ToFollow("http://docs.test/report.pdf", 1, "source"),
            ToFollow("http://site.test/original/1", 1, "source"),
        ),
        outlinks=("http://site.test/cable/05ALMATY2", "http://docs.test/report.pdf", "http://site.test/original/1"),
    )


def test_at_the_depth_limit_only_requisites_are_queued_but_outlinks_are_kept() -> None:
    record = _record(links=(Link("http://site.test/a.js", "requisite", "script"), Link("http://docs.test/x", "source", "a")))
    plan = plan_links(Follow(depth=1), record, ["http://site.test/cable/X"], 1, "site.test")
    assert plan.follow == (ToFollow("http://site.test/a.js", 1, "requisite"),)
    assert plan.outlinks == ("http://docs.test/x",)  # a reference not followed is not an outlink either


def test_follow_switches_turn_each_kind_off() -> None:
    record = _record(links=(Link("http://site.test/a.js", "requisite", "script"), Link("http://docs.test/x", "source", "a")))
    plan = plan_links(Follow(references=False, sources=False, requisites=False), record, ["http://r.test/"], 0, "site.test")
    assert plan.follow == ()
    assert plan.outlinks == ("http://docs.test/x",)


def test_scope_names_the_rule_that_leaves_a_url_out() -> None:
    scope = Scope(Follow(
        include=(re.compile(r"site\.test|docs\.test"),), exclude=(re.compile(r"/private/"),), hosts=("site.test",),
    ))
    assert scope.excluded("http://site.test/a", "test,site)/a", "site.test", "source") is None
    assert scope.excluded("http://other.test/a", "test,other)/a", "other.test", "reference") == (
        "matches no follow.include pattern"
    )
    assert scope.excluded("http://site.test/private/a", "k", "site.test", "source") == "matches follow.exclude '/private/'"
    assert scope.excluded("http://docs.test/a", "k", "docs.test", "source") == "host not in follow.hosts"
    assert scope.excluded("http://docs.test/a", "k", "docs.test", "reference") is None  # hosts limits sources only
    assert scope.excluded("http://site.test:8080/a", "k", "site.test:8080", "source") is None  # port ignored


def test_navigation_and_years() -> None:
    assert is_navigation("http://site.test/", "site.test")
    assert not is_navigation("http://site.test/cable/1", "site.test")
    assert not is_navigation("http://other.test/", "site.test")
    assert not is_navigation("http://[::1/", "site.test") and not is_navigation("http://[::1/x", "site.test")
    assert has_year("05 ALMATY 1437") and has_year("05ALMATY1437")


@pytest.mark.parametrize("url", [
    "http://site.test/", "http://site.test", "http://site.test/?q=1", "http://site.test/#top", "http://site.test?/a",
    "http://site.test#/a", "https://site.test:8080/", "http://site.test/\t", "http://site.test/\tx", "http://site.test/\n",
    " http://site.test/", "HTTP://site.test/", "http://site.test//", "http://site.test/a", "http://site.test/ /",
    "http://site.test\t/", "http://user@site.test/", "http://site.test:99999/", "http://[::1/", "http://[::1/x",
])
def test_navigation_read_as_urlsplit_reads_it(url: str) -> None:
    # the shortcut for URLs with a path (_LONG_PATH_RE) decides as the general rule does on odd URLs
    from urllib.parse import urlsplit

    from cablekeep.capture.canon import host_of

    def general(url: str, page_host: str) -> bool:
        try:
            return urlsplit(url).path in {"", "/"} and host_of(url) == page_host
        except ValueError:
            return False

    for page_host in ("site.test", "site.test:8080"):
        assert is_navigation(url, page_host) == general(url, page_host), (url, page_host)
    assert not has_year("ALMATY 1437") and not has_year("2005 ALMATY 1437")


# -- politeness bookkeeping ------------------------------------------------------------------


def test_robots_gate_and_crawl_delay() -> None:
    politeness = Politeness(FetchOptions(user_agent="cablekeep-test", per_host_delay=1.0))
    queued = _queued("http://site.test/private/a")
    assert politeness.gate(queued) == "robots-first"
    assert politeness.apply_robots("site.test", 200, b"User-agent: *\nDisallow: /private/\nCrawl-delay: 5\n") == 5.0
    assert politeness.gate(queued) == "disallowed"
    assert politeness.gate(_queued("http://site.test/open")) == "fetch"
    assert politeness.host_delays == {"site.test": 5.0}
    # a Crawl-delay below the manifest's changes nothing; a huge one is capped
    assert politeness.apply_robots("slow.test", 200, b"User-agent: *\nCrawl-delay: 0.5\n") is None
    assert politeness.apply_robots("huge.test", 200, b"User-agent: *\nCrawl-delay: 100000\n") == MAX_CRAWL_DELAY
    # no answer at all: the host's URLs go ahead
    politeness.apply_robots("down.test", None, b"")
    assert politeness.gate(_queued("http://down.test/a", host="down.test")) == "fetch"
    assert Politeness(FetchOptions(robots="ignore")).gate(queued) == "fetch"


def test_retries_back_off_and_are_counted_per_url() -> None:
    politeness = Politeness(FetchOptions(retries=2), jitter=lambda: 0.5)  # no jitter: factor 1.0
    queued = _queued()
    assert politeness.attempt(queued) == 1
    assert politeness.retry_in(1, reason="timeout") == 0.5
    assert politeness.retry_in(2, status=503) == 1.0
    assert politeness.retry_in(3, status=503) is None  # retries used up
    assert politeness.retry_in(1, reason="dns") is None  # not worth trying again
    assert politeness.retry_in(1, status=404) is None
    assert politeness.retry_in(1, status=429, retry_after="7") == 7.0
    assert politeness.retry_in(1, status=429, retry_after="100000") is None  # longer than we wait
    politeness.retrying(queued, 1)
    assert politeness.attempt(queued) == 2
    politeness.settled(queued)
    assert politeness.attempt(queued) == 1


def test_retry_after_as_a_date() -> None:
    assert retry_after_seconds("Fri, 02 Jan 2026 03:04:35 GMT", NOW) == 30.0
    assert retry_after_seconds("Fri, 02 Jan 2026 03:00:00 GMT", NOW) == 0.0  # in the past
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


# -- resume marking ------------------------------------------------------------------------------


def _writer(warc_dir: Path, serial: int = 0) -> WarcWriter:
    return WarcWriter(warc_dir, prefix="t", max_size=10**9, warcinfo={}, clock=lambda: NOW, serial=serial)


def test_a_done_mark_is_committed_with_the_warc_offset_and_recovered(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "state.sqlite")
    state.add_url("k1", "http://site.test/1", "site.test", 0, "seed", None)
    state.add_url("k2", "http://site.test/2", "site.test", 0, "seed", None)
    state.commit()
    first, second = state.iter_queued(10)
    writer = _writer(tmp_path / "warc")
    entries: list[dict[str, object]] = []
    recorder = Recorder(state, writer, clock=lambda: NOW, on_entry=entries.append, tally=Tally())
    writer.write_metadata("http://site.test/1", "<urn:uuid:1>", b"one", NOW)
    recorder.done(first, "ok", status=200, size=3)
    recorder.commit()
    committed = writer.commit_point()
    assert committed is not None
    writer.write_metadata("http://site.test/2", "<urn:uuid:2>", b"two " * 100, NOW)
    recorder.done(second, "ok", status=200, size=400)  # written, never committed: a crash now
    writer.abandon()
    state.abandon()

    state = CrawlState(tmp_path / "state.sqlite")
    assert [q.url for q in state.iter_queued(10)] == ["http://site.test/2"]  # fetched again
    assert recover_warcs(state, tmp_path / "warc") == 1
    name = committed[0][: -len(OPEN_SUFFIX)]
    assert (tmp_path / "warc" / name).stat().st_size == committed[1]  # cut back to the commit
    assert state.warc_files() == [(name, 1, "closed", committed[1])]
    assert [e["url"] for e in entries] == ["http://site.test/1", "http://site.test/2"]
    assert [e["url"] for e in state.iter_log_entries()] == ["http://site.test/1"]
    state.close()


def test_a_warc_with_nothing_committed_is_set_aside_and_forgotten(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "state.sqlite")
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    state.warc_opened("t-00001.warc.gz", 1)
    (warc_dir / ("t-00001.warc.gz" + OPEN_SUFFIX)).write_bytes(b"half a record")
    (warc_dir / ("stray.warc.gz" + OPEN_SUFFIX)).write_bytes(b"unknown")
    state.commit()
    assert recover_warcs(state, warc_dir) == 1
    assert state.warc_files() == []
    assert sorted(p.name for p in warc_dir.iterdir()) == [
        "stray.warc.gz.open.aborted", "t-00001.warc.gz.open.aborted",
    ]
    state.close()


# -- the coordinator on a loopback site ----------------------------------------------------------

PAGES = {
    "/": b'<html><head><link rel="stylesheet" href="/style.css"></head><body>'
         b'<a href="/a">a</a> <a href="/private/p">p</a> <a href="/skip/s">s</a> <a href="/">home</a></body></html>',
    "/a": b'<html><body><a href="/deeper">deeper</a></body></html>',
    "/style.css": b"body { color: black }",
    "/robots.txt": b"User-agent: *\nDisallow: /private/\n",
}


@contextmanager
def _site() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            body = PAGES.get(self.path)
            self.send_response(200 if body is not None else 404)
            kind = "text/css" if self.path.endswith(".css") else "text/plain" if self.path.endswith(".txt") else "text/html"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_crawl_follows_what_the_manifest_says_and_logs_why_not(tmp_path: Path) -> None:
    with _site() as (base, hits):
        manifest_path = tmp_path / "m.yaml"
        manifest_path.write_text(yaml.safe_dump({
            "cablekeep": 1, "collection": "loop", "title": "Loop",
            "organization": {"name": "T", "address": "1 Loopback Road", "contact": {"name": "A", "email": "a@example.org"}},
            "site": {"cable_url": base + "/cable/{id}"},
            "seeds": [base + "/"],
            "follow": {"depth": 1, "exclude": ["/skip/"]},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10},
            "bag": {"output": str(tmp_path / "bags")},
        }), encoding="utf-8")
        entries: list[dict[str, object]] = []
        result = Crawl(load_manifest(manifest_path), tmp_path / "work", on_entry=entries.append).run()
    outcome = {str(e["url"]).removeprefix(base): (e["outcome"], e["hop"], e["depth"], e["reason"]) for e in entries}
    assert outcome["/"] == ("ok", "seed", 0, "OK")
    assert outcome["/robots.txt"][:2] == ("ok", "robots")
    assert outcome["/style.css"] == ("ok", "requisite", 0, "OK")
    assert outcome["/a"] == ("ok", "source", 1, "OK")
    assert outcome["/private/p"] == ("robots", "source", 1, "disallowed by robots.txt")
    assert outcome["/skip/s"] == ("out-of-scope", "source", 1, "matches follow.exclude '/skip/'")
    assert "/deeper" not in outcome  # past follow.depth
    assert sorted(hits) == ["/", "/a", "/robots.txt", "/style.css"]  # disallowed and excluded never asked
    assert result.outcomes == {"ok": 4, "robots": 1, "out-of-scope": 1}
    assert len(result.warc_files) == 1


@pytest.mark.parametrize("robots", ["obey", "ignore"])
def test_robots_txt_is_asked_only_when_obeyed(tmp_path: Path, robots: str) -> None:
    with _site() as (base, hits):
        manifest_path = tmp_path / "m.yaml"
        manifest_path.write_text(yaml.safe_dump({
            "cablekeep": 1, "collection": "loop", "title": "Loop",
            "organization": {"name": "T", "address": "1 Loopback Road", "contact": {"name": "A", "email": "a@example.org"}},
            "seeds": [base + "/"], "follow": {"depth": 0, "requisites": False},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10, "robots": robots},
            "bag": {"output": str(tmp_path / "bags")},
        }), encoding="utf-8")
        Crawl(load_manifest(manifest_path), tmp_path / "work").run()
    assert sorted(hits) == (["/", "/robots.txt"] if robots == "obey" else ["/"])
