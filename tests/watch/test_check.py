"""check_bags against a loopback site that changes between checks, with an archive made by the real crawler.

Check 1 finds everything as archived; before check 2 the site changes so that every class appears; before
check 3 some pages recover or rot further. A fake clock dates the checks, so the "since" dates are known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from cablekeep.capture.canon import surt_key
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from cablekeep.sample_site.cables import SAMPLE_CABLES, cable_page
from cablekeep.watch.check import check_bags
from cablekeep.watch.store import LinkRotHistory

from .site import Page, Served, html, serve

CABLE = SAMPLE_CABLES[0]
DOCS = ("same", "moved", "gone", "gone410", "home", "soft", "broken", "private", "errorpage", "recovers")
NEW_CLASSIFICATION = "SECRET" if CABLE.classification != "SECRET" else "CONFIDENTIAL"
T1 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclasses.dataclass
class World:
    main: Served
    other: Served
    bag: Path
    manifest: Path
    db: Path

    def url(self, path: str) -> str:
        return self.main.site.base + path


def _doc(name: str) -> Page:
    return Page(200, html(f"Report {name}", f"The {name} report on refugees from Andijon, June 2005. " * 8))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("watch")
    with serve("127.0.0.1") as main, serve("127.0.0.3") as other:
        site = main.site
        site.routes["/robots.txt"] = Page(200, b"User-agent: *\nDisallow:\n", "text/plain")
        site.routes[f"/cable/{CABLE.id}"] = Page(200, cable_page(CABLE, "http://127.0.0.9"))
        for name in DOCS:
            site.routes[f"/doc/{name}.html"] = _doc(name)
        other.site.routes["/paper.html"] = _doc("paper")
        seeds = [{"url": site.base + path} for path in sorted(site.routes) if path != "/robots.txt"]
        seeds.append({"url": other.site.base + "/paper.html"})
        manifest = tmp / "watch.yaml"
        manifest.write_text(yaml.safe_dump({
            "cablekeep": 1, "collection": "watch-test", "seeds": seeds,
            "follow": {"depth": 0, "references": False, "sources": False, "requisites": False},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 5},
            "bag": {"output": str(tmp / "bags")},
        }), encoding="utf-8")
        summary = run_manifest(load_manifest(manifest))
        assert summary.report.ok
        yield World(main, other, summary.bag.path, manifest, tmp / "linkrot.sqlite")


@pytest.fixture(scope="module")
def checks(world: World) -> list[dict[str, dict[str, object]]]:
    """Three checks, a month apart; for each, URL -> its stored row as JSON."""
    fetch = load_manifest(world.manifest).fetch
    site = world.main.site
    clock = FakeClock(T1)
    results: list[dict[str, dict[str, object]]] = []
    with LinkRotHistory(world.db) as history:
        def check() -> None:
            rows: dict[str, dict[str, object]] = {}
            check_bags([world.bag], fetch, history, clock=clock,
                       on_result=lambda row: rows.__setitem__(row.url, row.to_json()))  # type: ignore[attr-defined]
            results.append(rows)

        check()
        # Between check 1 and 2, the site changes.
        clock.now = T1 + timedelta(days=31)
        changed = dataclasses.replace(CABLE, classification=NEW_CLASSIFICATION, subject=CABLE.subject + " (revised)")
        site.routes[f"/cable/{CABLE.id}"] = Page(200, cable_page(changed, "http://127.0.0.9"))
        site.routes["/doc/moved.html"] = Page(301, b"", location=site.base + "/doc/2026/moved.html")
        site.routes["/doc/2026/moved.html"] = _doc("moved")
        site.routes["/doc/gone.html"] = Page(404, html("404 Not Found", "No such page."))
        site.routes["/doc/gone410.html"] = Page(410, html("410 Gone", "Removed."))
        site.routes["/doc/home.html"] = Page(302, b"", location=site.base + "/")
        site.routes["/"] = Page(200, html("Andijon archive", "Welcome to the archive. Browse the catalogue."))
        catalogue = html("Andijon archive", "We reorganised our documents: browse the catalogue for what you need.")
        site.missing = Page(200, catalogue)  # the host answers 200 for URLs that cannot exist
        site.routes["/doc/soft.html"] = Page(200, catalogue)
        site.routes["/doc/broken.html"] = Page(503, b"busy")
        site.routes["/doc/recovers.html"] = Page(500, b"oops")
        site.routes["/doc/errorpage.html"] = Page(302, b"", location=site.base + "/errors/missing.html")
        site.routes["/errors/missing.html"] = Page(200, html("Error", "The page you requested could not be found."))
        site.routes["/robots.txt"] = Page(200, b"User-agent: *\nDisallow: /doc/private.html\n", "text/plain")
        world.other.stop()
        check()
        # Between check 2 and 3: one recovers, one that moved is gone at its new place.
        clock.now = T1 + timedelta(days=62)
        site.routes["/doc/recovers.html"] = _doc("recovers")
        site.routes["/doc/2026/moved.html"] = Page(404, b"")
        check()
    return results


def test_the_first_check_finds_everything_as_archived(world: World, checks: list[dict[str, dict[str, object]]]) -> None:
    first = checks[0]
    assert len(first) == 1 + len(DOCS) + 1
    assert {row["class"] for row in first.values()} == {"unchanged"}
    assert all(row["bad_since"] is None for row in first.values())


def test_unchanged_pages_are_asked_conditionally_and_answer_304(world: World, checks: object) -> None:
    asked = [headers for path, headers in world.main.site.requests if path == "/doc/same.html"]
    assert asked[0].get("if-none-match") is None  # the crawl
    assert all(h.get("if-none-match") and h.get("if-modified-since") for h in asked[1:])
    assert len(asked) == 4


def test_every_class_appears_at_the_second_check(world: World, checks: list[dict[str, dict[str, object]]]) -> None:
    second = {url.removeprefix(world.main.site.base): row["class"] for url, row in checks[1].items()}
    paper = world.other.site.base + "/paper.html"
    assert second == {
        f"/cable/{CABLE.id}": "changed", "/doc/same.html": "unchanged", "/doc/moved.html": "moved",
        "/doc/gone.html": "gone", "/doc/gone410.html": "gone", "/doc/home.html": "gone", "/doc/soft.html": "soft-404",
        "/doc/broken.html": "server-error", "/doc/recovers.html": "server-error", "/doc/private.html": "blocked",
        "/doc/errorpage.html": "gone", paper: "unreachable",
    }


def test_a_changed_cable_names_its_fields_old_and_new(world: World, checks: list[dict[str, dict[str, object]]]) -> None:
    row = checks[1][world.url(f"/cable/{CABLE.id}")]
    assert row["cable_id"] == CABLE.id
    assert {"field": "classification", "old": CABLE.classification, "new": NEW_CLASSIFICATION} in row["field_changes"]
    assert isinstance(row["similarity"], float) and 0.5 < row["similarity"] < 1.0
    moved = checks[1][world.url("/doc/moved.html")]
    assert moved["final_url"] == world.url("/doc/2026/moved.html")


def test_the_history_holds_every_step_and_since_is_right(world: World, checks: list[dict[str, dict[str, object]]]) -> None:
    t2, t3 = (T1 + timedelta(days=31)).strftime("%Y-%m-%d"), (T1 + timedelta(days=62)).strftime("%Y-%m-%d")
    with LinkRotHistory(world.db) as history:
        story = [(r.link_class, r.class_since[:10], (r.bad_since or "")[:10])
                 for r in history.iter_history(surt_key(world.url("/doc/moved.html")))]
        assert story == [("unchanged", "2026-01-01", ""), ("moved", t2, t2), ("gone", t3, t2)]
        story = [(r.link_class, (r.bad_since or "")[:10])
                 for r in history.iter_history(surt_key(world.url("/doc/recovers.html")))]
        assert story == [("unchanged", ""), ("server-error", t2), ("unchanged", "")]
        story = [(r.link_class, r.class_since[:10], (r.bad_since or "")[:10])
                 for r in history.iter_history(surt_key(world.url("/doc/gone.html")))]
        assert story == [("unchanged", "2026-01-01", ""), ("gone", t2, t2), ("gone", t2, t2)]
        checks_stored = list(history.iter_checks())
        assert len(checks_stored) == 3 and all(c.finished for c in checks_stored)
        assert checks_stored[1].counts["gone"] == 4


def test_one_not_found_probe_per_host_per_check(world: World, checks: object) -> None:
    probes = [path for path, _ in world.main.site.requests if "does-not-exist" in path]
    assert len(probes) == 3


def test_a_check_keeps_the_per_host_delay(world: World, checks: object, tmp_path: Path) -> None:
    fetch = dataclasses.replace(load_manifest(world.manifest).fetch, per_host_delay=0.2, concurrency=4)
    site = world.main.site
    start = len(site.times)
    with LinkRotHistory(tmp_path / "rot.sqlite") as history:
        report = check_bags([world.bag], fetch, history)
    assert report.urls == 12
    times = site.times[start:]
    assert len(times) >= 13  # robots.txt, the not-found probe, 11 URLs (and the hops of redirects)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.15, gaps


def test_urls_are_queued_interleaved_across_hosts(world: World, tmp_path: Path) -> None:
    """The frontier holds a window of the queue: grouped by host, a big check would probe a few hosts at a time."""
    from cablekeep.watch.archive import ArchiveIndex

    index = ArchiveIndex(tmp_path / "archive.sqlite")
    try:
        index.add_bag(world.bag)
        hosts = [host for _, _, host in index.iter_urls()]
    finally:
        index.close()
    other = world.other.site.base.removeprefix("http://")
    assert len(hosts) == 12 and hosts.count(other) == 1
    assert len(set(hosts[:2])) == 2  # the one URL of the other host comes with the first of the main host
