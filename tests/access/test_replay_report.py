"""The link-rot report's replay links work against ``cablekeep replay`` (issue 16): a site is archived, then
goes away (every source rots), ``cablekeep replay`` serves the bag, the report is written with the replay
base it printed (the manifest's ``access.replay_base``), and every replay link of the report's table and
every Robust Link's version URL answers 200 over HTTP with the page as archived."""

from __future__ import annotations

import html
import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from warcio.archiveiterator import ArchiveIterator

from cablekeep.errors import ReplayError
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from cablekeep.sample_site import serve_sample_site

from ..conftest import run_cli, start_replay, stop_cli
from .replay_support import find_pywb



@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return find_pywb(tmp_path_factory)
    except ReplayError as error:
        pytest.skip(f"pywb not found (CABLEKEEP_PYWB, .venv/pywb) and it could not be installed: {error}")


class Archived(NamedTuple):
    content_type: str
    body: bytes


class RottedBag(NamedTuple):
    manifest: Path
    bag: Path
    archived: dict[str, Archived]  # URL -> its 200 response as archived (robots.txt left out)


def _archived(bag: Path) -> dict[str, Archived]:
    found: dict[str, Archived] = {}
    for warc in sorted((bag / "data" / "warc").glob("*.warc.gz")):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                url = record.rec_headers.get_header("WARC-Target-URI")
                if (record.rec_type == "response" and record.http_headers.get_statuscode() == "200"
                        and not url.endswith("/robots.txt")):  # the crawl's own, not a source
                    found[url] = Archived(record.http_headers.get_header("Content-Type") or "",
                                          record.content_stream().read())
    return found


@pytest.fixture
def rotted(write_manifest: Callable[..., Path]) -> Iterator[RottedBag]:
    """A bag of a sample site of its own (a cable, what it cites and links to), and that site stopped."""
    with serve_sample_site() as site:
        manifest = write_manifest(site={"cable_url": site.cable_base + "/cable/{id}"})
        bag = run_manifest(load_manifest(manifest)).bag.path
    yield RottedBag(manifest, bag, _archived(bag))






def _get(url: str) -> tuple[int, Any, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return int(response.status), response.headers, response.read()


def _visible_text(body: bytes) -> str:
    """The text a reader sees: scripts, styles and tags left out, spaces collapsed."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", body.decode("utf-8", "replace"))
    text = re.sub(r"(?s)<!--.*?-->|<[^>]*>", " ", text)
    return " ".join(html.unescape(text).split())


def _assert_replays_the_archived(url: str, original: str, archived: dict[str, Archived]) -> str:
    """``url`` answers 200 from the archive with ``original`` as archived; returns its Memento-Datetime."""
    status, headers, body = _get(url)
    assert status == 200, url
    assert headers.get("Memento-Datetime"), f"{url}: not an archived capture"
    capture = archived[original]
    assert headers.get_content_type() == capture.content_type.split(";")[0].strip(), url
    if capture.content_type.startswith("text/html"):
        text = _visible_text(capture.body)
        assert len(text) > 20 and text in _visible_text(body), f"{url}: not the archived page"
    elif capture.content_type.startswith(("text/css", "text/javascript", "application/javascript")):
        # pywb rewrites the URLs in styles and wraps scripts in its own code: the rest is kept as archived
        archived_code, replayed_code = (" ".join(re.sub(r"url\([^)]*\)|https?://\S+", "", b.decode("utf-8")).split())
                                        for b in (capture.body, body))
        assert len(archived_code) > 20 and archived_code in replayed_code, f"{url}: not the archived code"
    else:
        assert body == capture.body, f"{url}: not the archived bytes"
    return str(headers.get("Memento-Datetime"))


def test_every_replay_link_of_the_report_and_every_robust_link_answers_with_the_archived_page(
        rotted: RottedBag, pywb: Path, write_manifest: Callable[..., Path], tmp_path: Path) -> None:
    loaded = load_manifest(rotted.manifest)
    db = tmp_path / "linkrot.sqlite"
    result = run_cli("check", str(rotted.manifest), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    process, base = start_replay(rotted.bag, pywb)
    try:
        assert base.startswith("http://127.0.0.1:")
        # the replay base goes into the manifest, as a library with a replay at a fixed address would write it
        write_manifest(site={"cable_url": loaded.site.cable_url}, access={"replay_base": base})
        assert load_manifest(rotted.manifest).access.replay_base == base

        out = tmp_path / "report.html"
        result = run_cli("report", str(rotted.manifest), "--out", str(out), "--db", str(db))
        assert result.exit_code == 0, result.stderr
        page = out.read_text(encoding="utf-8")
        rows = re.findall(r'<tr class="[^"]+"><td><a href="([^"]+)">.*?<a href="([^"]+)">replay</a>', page)
        assert len(rows) == page.count("<tr class=") == len(rotted.archived), "a rotted source without a replay link"
        for original, replay in rows:
            original, replay = html.unescape(original), html.unescape(replay)
            assert replay.startswith(base.rstrip("/") + "/") and replay.endswith("/" + original)
            _assert_replays_the_archived(replay, original, rotted.archived)

        links = tmp_path / "robust-links.html"
        result = run_cli("report", str(rotted.manifest), "--robust-links", "--out", str(links))
        assert result.exit_code == 0, result.stderr
        versions = json.loads(links.with_suffix(".json").read_text(encoding="utf-8"))
        assert {link["data-originalurl"] for link in versions} == set(rotted.archived)
        for link in versions:
            memento = _assert_replays_the_archived(link["data-versionurl"], link["data-originalurl"], rotted.archived)
            day, month, year = memento.split()[1:4]  # "Tue, 03 Dec 2026 07:32:12 GMT"
            assert link["data-versiondate"] == f"{year}-{_MONTHS.index(month) + 1:02d}-{day}"
    finally:
        stop_cli(process)


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def test_replay_base_given_on_the_command_line_wins_over_the_manifests(
        rotted: RottedBag, write_manifest: Callable[..., Path], tmp_path: Path) -> None:
    loaded = load_manifest(rotted.manifest)
    write_manifest(site={"cable_url": loaded.site.cable_url}, access={"replay_base": "http://127.0.0.1:9/manifest/"})
    links = tmp_path / "links.html"
    result = run_cli("report", str(rotted.manifest), "--robust-links", "--out", str(links),
                     "--replay-base", "http://127.0.0.1:9/given/")
    assert result.exit_code == 0, result.stderr
    versions = json.loads(links.with_suffix(".json").read_text(encoding="utf-8"))
    assert versions and all(v["data-versionurl"].startswith("http://127.0.0.1:9/given/") for v in versions)


def test_robust_links_without_any_replay_base_name_the_manifest_key(rotted: RottedBag, tmp_path: Path) -> None:
    result = run_cli("report", str(rotted.manifest), "--robust-links", "--out", str(tmp_path / "links.html"))
    assert result.exit_code == 2
    assert "--replay-base" in result.stderr and "access.replay_base" in result.stderr
    assert not (tmp_path / "links.html").exists()
