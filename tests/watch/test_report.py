"""Reports of the link-rot history (HTML, CSV, JSON, Robust Links) and the check and report commands."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cablekeep.errors import UsageError
from cablekeep.watch.report import write_csv, write_html, write_json, write_robust_links
from cablekeep.watch.store import LinkRotHistory

from ..conftest import CliResult
from .test_check import CABLE, World, checks, world  # noqa: F401 - the module fixtures, shared

ROTTED_AT_THE_END = 10  # after check 3: every URL of the 12 but same.html and recovers.html


def test_the_html_report_is_self_contained_with_a_chart_and_a_row_per_rotted_source(
        world: World, checks: object, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    with LinkRotHistory(world.db) as history:
        count = write_html(history, out, replay_base="http://wayback.test/")
    page = out.read_text(encoding="utf-8")
    assert count == ROTTED_AT_THE_END
    assert page.count("<svg") == 1 and page.count('class="bar alive"') == 3 and page.count('class="bar gone"') == 2
    assert "http://" not in page.split("<body>")[0]  # nothing loaded from anywhere
    assert "<script" not in page and "<link" not in page
    gone = world.url("/doc/gone.html")
    row = next(line for line in page.splitlines() if f">{gone}<" in line)
    assert 'class="gone"' in row and "HTTP 404" in row and "2026-02-01" in row
    assert "http://wayback.test/" in row and ".warc.gz @" in row
    assert f">{CABLE.id}<" in page  # the per-cable table
    assert not list(tmp_path.glob(".*.open"))


def test_csv_and_json_hold_the_same_rows(world: World, checks: object, tmp_path: Path) -> None:
    with LinkRotHistory(world.db) as history:
        assert write_csv(history, tmp_path / "r.csv") == ROTTED_AT_THE_END
        assert write_json(history, tmp_path / "r.json") == ROTTED_AT_THE_END
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [r["url"] for r in rows] == [r["url"] for r in data["rows"]]
    assert [r["class"] for r in rows] == [r["class"] for r in data["rows"]]
    assert [c["classes"].get("unchanged", 0) for c in data["checks"]] == [12, 1, 2]
    moved = next(r for r in rows if r["url"] == world.url("/doc/moved.html"))
    assert (moved["class"], moved["since"][:10], moved["bad_since"][:10]) == ("gone", "2026-03-04", "2026-02-01")


def test_robust_links_for_every_archived_source(world: World, checks: object, tmp_path: Path) -> None:
    with LinkRotHistory(world.db) as history:
        with pytest.raises(UsageError):
            write_robust_links(history, tmp_path / "links.html", replay_base=None)
        snippet, data, count = write_robust_links(history, tmp_path / "links.html", replay_base="http://wb.test")
    assert count == 12
    links = json.loads(data.read_text(encoding="utf-8"))
    first = links[0]
    assert first["data-versionurl"] == f"http://wb.test/{first['data-versionurl'].split('/')[3]}/{first['data-originalurl']}"
    assert len(first["data-versiondate"]) == 10
    assert snippet.read_text(encoding="utf-8").count("data-versiondate=") == 12


def test_a_failed_write_leaves_no_report(world: World, checks: object, tmp_path: Path) -> None:
    out = tmp_path / "missing-folder" / "report.html"
    with LinkRotHistory(world.db) as history, pytest.raises(Exception) as caught:
        write_html(history, out)
    assert caught.type.__name__ == "OutputError"
    assert not out.exists()


def test_the_check_and_report_commands(world: World, checks: object, tmp_path: Path,
                                       cli: Callable[..., CliResult]) -> None:
    db = tmp_path / "rot.sqlite"
    result = cli("check", str(world.bag), "--json", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["urls"] == 12 and summary["classes"]["gone"] == 5 and summary["classes"]["unreachable"] == 1
    result = cli("check", str(world.manifest), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert f"gone          {world.url('/doc/gone.html')}  (HTTP 404)" in result.stdout
    out = tmp_path / "r.html"
    result = cli("report", "watch-test", "--out", str(out), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "<svg" in out.read_text(encoding="utf-8")
    assert cli("report", "--robust-links", "--db", str(db), cwd=tmp_path).exit_code == 2
    assert cli("report", "--db", str(tmp_path / "none.sqlite")).exit_code == 4


def test_json_holds_the_per_host_and_per_cable_counts(world: World, checks: object, tmp_path: Path) -> None:
    with LinkRotHistory(world.db) as history:
        write_json(history, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    main_host = world.main.site.base.removeprefix("http://")
    assert sum(data["hosts"][main_host].values()) == 11 and data["hosts"][main_host]["gone"] == 5
    assert sum(data["hosts"][world.other.site.base.removeprefix("http://")].values()) == 1
    assert data["cables"] == {CABLE.id: {"changed": 1}}


def test_a_moved_row_links_where_the_source_is_now(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from cablekeep.watch.archive import ArchivedCapture
    from cablekeep.watch.classify import Verdict

    capture = ArchivedCapture("com,example)/a", "http://example.com/a", "example.com", "20250101000000", "sha1:X",
                              tmp_path / "bag", "c", "c-1.warc.gz", 0, tmp_path / "bag", "c-1.warc.gz", 0, None)
    with LinkRotHistory(tmp_path / "h.sqlite") as history:
        check = history.start_check(datetime(2026, 1, 1, tzinfo=timezone.utc), [])
        history.record(check, datetime(2026, 1, 1, tzinfo=timezone.utc), capture,
                       Verdict("moved", "redirects to http://example.com/b", "http://example.com/b", 200))
        write_html(history, tmp_path / "r.html")
    row = next(line for line in (tmp_path / "r.html").read_text(encoding="utf-8").splitlines() if 'class="moved"' in line)
    assert 'now at <a class="final" href="http://example.com/b">' in row


def test_robust_links_of_a_manifest_cover_every_archived_source_checked_or_not(
        world: World, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "links.html"
    result = cli("report", str(world.manifest), "--robust-links", "--replay-base", "http://wb.test/", "--out", str(out),
                 "--db", str(tmp_path / "never-checked.sqlite"))
    assert result.exit_code == 0, result.stderr
    assert "Robust Links for 12 archived source(s) in 1 bag(s)" in result.stdout
    links = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(links) == 12 and world.url("/doc/gone.html") in {link["data-originalurl"] for link in links}
    first = links[0]
    stamp = first["data-versionurl"].split("/")[3]
    assert len(stamp) == 14 and first["data-versionurl"] == f"http://wb.test/{stamp}/{first['data-originalurl']}"
    assert first["data-versiondate"] == f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    assert out.read_text(encoding="utf-8").count("data-versionurl=") == 12
    assert not (tmp_path / "never-checked.sqlite").exists()
