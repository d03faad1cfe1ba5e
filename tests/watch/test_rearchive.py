"""--rearchive: what a check found changed or moved, captured into a new bag of the same collection.

A collection archived by the real crawler with ``warc.dedup: collection``; the site then changes (a page
changes, one moves with the same content, one vanishes, one stays), a check runs and rearchives. The new bag
is checked by bagit-python, holds only what changed or moved, and shares the old bag's Bag-Group-Identifier;
the moved page's unchanged content is a revisit of the old bag (dedup honoured); the old bag is untouched.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bagit
import pytest
import yaml

from cablekeep.bagging.build import read_bag_info
from cablekeep.capture.cdxj import iter_index
from cablekeep.manifest import load_manifest, load_manifest_text
from cablekeep.run import earlier_bags, run_manifest
from cablekeep.watch.check import check_bags
from cablekeep.watch.rearchive import rearchive, rearchive_manifest
from cablekeep.watch.store import LinkRotHistory

from ..conftest import CliResult
from .site import Page, Served, html, serve
from .test_check import FakeClock

# the check and the rearchive run a month after the first run (the latest capture of a URL is the newest)
T1 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=31)
MANIFEST_HEAD = "# the rearchive test's collection\ncablekeep: 1\ncollection: rearchive-test\n"


@dataclass
class World:
    site: Served
    manifest: Path
    bag: Path

    def url(self, path: str) -> str:
        return self.site.site.base + path


def _doc(name: str, words: str = "first version") -> Page:
    return Page(200, html(f"Report {name}", f"The {name} report, {words}, on refugees from Andijon. " * 8))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("rearchive")
    with serve("127.0.0.1") as served:
        site = served.site
        site.routes["/robots.txt"] = Page(200, b"User-agent: *\nDisallow:\n", "text/plain")
        for name in ("same", "changes", "moves", "vanishes"):
            site.routes[f"/doc/{name}.html"] = _doc(name)
        rest = yaml.safe_dump({
            "seeds": [{"url": site.base + f"/doc/{name}.html"} for name in ("same", "changes", "moves", "vanishes")],
            "follow": {"depth": 0, "references": False, "sources": False, "requisites": False},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 5},
            "warc": {"dedup": "collection"},
            "bag": {"output": "bags"},
        })
        manifest = tmp / "rearchive.yaml"
        manifest.write_text(MANIFEST_HEAD + rest, encoding="utf-8")
        summary = run_manifest(load_manifest(manifest))
        assert summary.report.ok
        yield World(served, manifest, summary.bag.path)


def _change_the_site(world: World, round_: int) -> None:
    site = world.site.site
    site.routes["/doc/changes.html"] = _doc("changes", f"version {round_ + 1}, rewritten throughout")
    site.routes["/doc/moves.html"] = Page(301, b"", location=site.base + f"/doc/{round_}/moves.html")
    site.routes[f"/doc/{round_}/moves.html"] = _doc("moves")  # the same content at its new place
    site.routes["/doc/vanishes.html"] = Page(404, html("404 Not Found", "No such page."))


def _urls(bag: Path) -> list[tuple[str, str | None]]:
    return sorted((str(line.url), line.mime) for line in iter_index(bag / "data" / "index.cdxj")
                  if line.url is not None and not line.url.endswith("/robots.txt"))


def test_rearchiving_makes_a_valid_bag_of_only_what_changed_in_the_same_group(world: World, tmp_path: Path) -> None:
    _change_the_site(world, 1)
    manifest = load_manifest(world.manifest)
    old_files = sorted(p.relative_to(world.bag) for p in world.bag.rglob("*"))
    clock = FakeClock(T1)
    with LinkRotHistory(tmp_path / "rot.sqlite") as history:
        report = check_bags([world.bag], manifest.fetch, history, clock=clock)
        assert (report.counts["changed"], report.counts["moved"], report.counts["gone"]) == (1, 1, 1)
        count, summary = rearchive(manifest, history, report.check_id, clock=clock)
    assert count == 2 and summary is not None and summary.report.ok
    new = summary.bag.path
    assert new != world.bag and new.parent == world.bag.parent
    bagit.Bag(str(new)).validate()  # the independent checker, every checksum
    assert read_bag_info(new)["Bag-Group-Identifier"] == read_bag_info(world.bag)["Bag-Group-Identifier"] \
        == "rearchive-test"
    # only what changed or moved: the changed page, the moved page's redirect and where it went
    captured = _urls(new)
    assert [url for url, _ in captured] == sorted([world.url("/doc/1/moves.html"), world.url("/doc/changes.html"),
                                                   world.url("/doc/moves.html")])
    # warc.dedup: collection honoured: the moved page's content is already in the old bag, so a revisit of it
    assert dict(captured)[world.url("/doc/1/moves.html")] == "warc/revisit"
    assert world.bag.name in read_bag_info(new)["Cablekeep-Depends-On"]
    # the old bag is left as it was, and still valid
    assert sorted(p.relative_to(world.bag) for p in world.bag.rglob("*")) == old_files
    bagit.Bag(str(world.bag)).validate()
    # the new bag carries the manifest it was made with: the collection's, seeds and follow replaced
    stored = (new / "data" / "manifest.yaml").read_text(encoding="utf-8")
    assert stored.startswith("# cablekeep check --rearchive: the 2 URL(s) of collection rearchive-test")
    assert MANIFEST_HEAD in stored and "dedup: collection" in stored
    again = load_manifest(new / "data" / "manifest.yaml")
    assert sorted(seed.url for seed in again.seeds) == [world.url("/doc/changes.html"), world.url("/doc/moves.html")]
    assert again.follow.depth == 0 and not (again.follow.requisites or again.follow.sources)
    # checked again over both bags, the changed page is found as now archived
    with LinkRotHistory(tmp_path / "rot.sqlite") as history:
        rows: dict[str, str] = {}
        check_bags(earlier_bags(manifest), manifest.fetch, history, clock=clock,
                   on_result=lambda row: rows.__setitem__(row.url, row.link_class))  # type: ignore[attr-defined]
    assert rows[world.url("/doc/changes.html")] == "unchanged"
    assert rows[world.url("/doc/1/moves.html")] == "unchanged"


def test_nothing_changed_or_moved_makes_no_bag(world: World, tmp_path: Path) -> None:
    manifest = load_manifest(world.manifest)
    with LinkRotHistory(tmp_path / "rot.sqlite") as history:
        check_id = history.start_check(T1, [])
        assert rearchive(manifest, history, check_id) == (0, None)


def test_the_manifest_keeps_every_other_key_as_written(world: World) -> None:
    manifest = load_manifest(world.manifest)
    odd = "http://127.0.0.1:1/a\"b'c?q=[1]&x={y}#z"  # quotes and YAML flow characters, kept as they are
    derived = rearchive_manifest(manifest, [odd], note="note\nsecond line", output=Path("/elsewhere"))
    assert derived.source_text.startswith("# note\n# second line\n" + MANIFEST_HEAD)
    assert [seed.url for seed in derived.seeds] == [odd]
    assert (derived.fetch, derived.warc, derived.collection) == (manifest.fetch, manifest.warc, manifest.collection)
    assert derived.bag.output == Path("/elsewhere") and derived.bag.algorithms == manifest.bag.algorithms


def test_check_rearchive_command(world: World, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    _change_the_site(world, 2)
    time.sleep(1.1)  # bags are named by the second their run started
    before = set(earlier_bags(load_manifest(world.manifest)))
    fixity_db = tmp_path / "elsewhere" / "fixity.sqlite"
    result = cli("check", str(world.manifest), "--rearchive", "--json", "--db", str(tmp_path / "rot.sqlite"),
                 "--fixity-db", str(fixity_db))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    [made] = data["rearchived"]
    assert made["urls"] == 2 and made["verified"] is True
    new = Path(made["bag"])
    with sqlite3.connect(fixity_db) as recorded:  # the new bag's verification went where it was asked to
        paths = [path for (path,) in recorded.execute("SELECT bag_path FROM events WHERE outcome = 'valid'")]
    assert [Path(path).name for path in paths] == [new.name]
    assert set(earlier_bags(load_manifest(world.manifest))) == before | {new}
    bagit.Bag(str(new)).validate()
    assert world.url("/doc/2/moves.html") in [url for url, _ in _urls(new)]
    # a bag given instead of the manifest: its stored manifest, the new bag beside it
    time.sleep(1.1)
    _change_the_site(world, 3)
    result = cli("check", str(world.bag), "--rearchive", "--db", str(tmp_path / "rot.sqlite"))
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("rearchived "))
    assert line.startswith("rearchived 2 changed or moved URL(s) into ") and line.endswith(" (valid)")
    assert Path(line.split(" into ")[1].rsplit(" (", 1)[0]).parent == world.bag.parent


def test_a_flow_seed_list_is_replaced_and_a_missing_follow_added(tmp_path: Path) -> None:
    text = "cablekeep: 1\ncollection: flow\nseeds: [\"http://127.0.0.1:1/old\"]  # one seed\nbag: {output: out}"
    manifest = load_manifest_text(text, tmp_path / "m.yaml")
    assert manifest.follow.depth == 1
    derived = rearchive_manifest(manifest, ["http://127.0.0.1:1/new"], note="n")
    assert [seed.url for seed in derived.seeds] == ["http://127.0.0.1:1/new"]
    assert derived.follow.depth == 0 and not derived.follow.references
    assert "# one seed\nbag: {output: out}\nfollow: " in derived.source_text
    assert derived.bag.output == tmp_path / "out"
