"""Replay through pywb: a cable page served from the archive with its stylesheet, the command as a user
runs it, pywb ending with cablekeep (Ctrl-C and kill -9), and pywb's own virtualenv."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest

from cablekeep.access.replay import READY_MARKER, ensure_pywb, pywb_ready, serve, timestamp14
from cablekeep.capture.canon import surt_key
from cablekeep.capture.cdxj import iter_index
from cablekeep.errors import BagUnreadableError, ReplayError
from cablekeep.sample_site.cables import CABLES_BY_ID

from ..conftest import start_replay
from .replay_support import find_pywb, sample_bag

CABLE = CABLES_BY_ID["05ALMATY2503"]
STYLESHEET = files("cablekeep.sample_site").joinpath("static", "cablebrowser.css").read_bytes()


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return find_pywb(tmp_path_factory)


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return int(response.status), {k.lower(): v for k, v in response.headers.items()}, response.read()


def _refused(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


def test_a_replayed_cable_page_has_its_text_and_its_stylesheet_from_the_archive(
        write_manifest: Callable[..., Path], pywb: Path) -> None:
    bag = sample_bag(write_manifest)
    with serve([bag], pywb=pywb) as running:
        assert [page.cable_id for page in running.pages] == [CABLE.id]
        page = running.pages[0]
        assert page.replay_url == f"{running.prefix}/{page.timestamp}/{page.url}"
        status, headers, body = _get(page.replay_url)
        assert status == 200 and "memento-datetime" in headers  # an archived capture, not the live page
        text = html.unescape(body.decode("utf-8"))
        assert CABLE.subject in text
        assert CABLE.text.split("\n")[2].strip() in text
        hrefs = re.findall(r'<link[^>]*href="([^"]*cablebrowser\.css)"', text)
        assert hrefs, "the page links no stylesheet"
        css_url = hrefs[0] if hrefs[0].startswith("http") else running.base + hrefs[0]
        assert css_url.startswith(f"{running.prefix}/{page.timestamp}"), css_url  # rewritten into the archive
        status, headers, css = _get(css_url)
        assert status == 200 and "memento-datetime" in headers
        assert b"table.cable td.label" in css and css.strip().endswith(STYLESHEET.strip()[-200:])
        process, base = running.process, running.base
    assert process.poll() is not None and _refused(base)


def test_two_bags_are_one_collection_and_pages_of_each_are_listed(
        write_manifest: Callable[..., Path], pywb: Path, tmp_path: Path) -> None:
    first = sample_bag(write_manifest, tmp_path / "one")
    second = sample_bag(write_manifest, tmp_path / "two")  # the same collection again: the same URL twice
    with serve([first, second], pywb=pywb) as running:
        assert len(running.pages) == 2 and running.pages[0].url == running.pages[1].url
        for page in running.pages:
            status, _, body = _get(page.replay_url)
            assert status == 200 and CABLE.subject in html.unescape(body.decode("utf-8"))


def _status(url: str) -> int:
    try:
        return _get(url)[0]
    except urllib.error.HTTPError as exc:
        return exc.code


def test_pywb_serves_from_the_bags_own_index(write_manifest: Callable[..., Path], pywb: Path) -> None:
    bag = sample_bag(write_manifest)
    index = bag / "data" / "index.cdxj"
    kept = [line for line in index.read_text("utf-8").splitlines() if "cablebrowser.css" not in line]
    index.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")  # the stylesheet's capture unlisted
    with serve([bag], pywb=pywb) as running:
        page = running.pages[0]
        status, _, body = _get(page.replay_url)
        assert status == 200 and CABLE.subject in html.unescape(body.decode("utf-8"))
        css = re.findall(r'<link[^>]*href="([^"]*cablebrowser\.css)"', html.unescape(body.decode("utf-8")))[0]
        assert _status(css if css.startswith("http") else running.base + css) == 404  # in the WARC, not in the index


def test_a_bag_indexed_the_old_way_still_replays(write_manifest: Callable[..., Path], pywb: Path) -> None:
    bag = sample_bag(write_manifest)
    index = bag / "data" / "index.cdxj"
    old = sorted(f"{surt_key(line.url or '')} {line.timestamp} {json.dumps(dict(line.fields))}"
                 for line in iter_index(index))
    assert all(line.startswith("127.0.0.1:") for line in old)  # cablekeep's old key: the IPv4 host not reversed
    index.write_text("".join(f"{line}\n" for line in old), encoding="utf-8")
    with serve([bag], pywb=pywb) as running:
        status, headers, body = _get(running.pages[0].replay_url)
        assert status == 200 and "memento-datetime" in headers and CABLE.subject in html.unescape(body.decode("utf-8"))


def test_a_bag_whose_index_cannot_be_read_is_named(write_manifest: Callable[..., Path], pywb: Path) -> None:
    bag = sample_bag(write_manifest)
    index = bag / "data" / "index.cdxj"
    index.write_text(index.read_text("utf-8") + "org,a)/ 2026x {}\n", encoding="utf-8")
    with pytest.raises(BagUnreadableError, match=r"index\.cdxj:\d+: timestamp '2026x'.*verify the bag"):
        with serve([bag], pywb=pywb):
            pass
    index.unlink()
    with pytest.raises(BagUnreadableError, match="no data/index.cdxj"):
        with serve([bag], pywb=pywb):
            pass


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False




@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads children from /proc")
def test_the_command_prints_each_cable_page_and_ctrl_c_stops_pywb(
        write_manifest: Callable[..., Path], pywb: Path) -> None:
    process, url = start_replay(sample_bag(write_manifest), pywb, CABLE.id)
    status, _, body = _get(url)
    assert status == 200 and CABLE.subject in html.unescape(body.decode("utf-8"))
    (wayback,) = _children(process.pid)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "replay: stopped" in stderr
    assert _gone(wayback)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads children from /proc")
def test_pywb_does_not_outlive_a_killed_cablekeep(write_manifest: Callable[..., Path], pywb: Path) -> None:
    process, _ = start_replay(sample_bag(write_manifest), pywb, CABLE.id)
    (wayback,) = _children(process.pid)
    process.kill()
    process.communicate(timeout=30)
    assert _gone(wayback), "pywb is still running after cablekeep was killed"


def test_a_folder_that_is_not_a_bag_is_refused(tmp_path: Path, pywb: Path) -> None:
    with pytest.raises(BagUnreadableError, match="not a bag made by cablekeep run"):
        with serve([tmp_path], pywb=pywb):
            pass


def test_a_virtualenv_without_pywb_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no pywb installed there"):
        with serve([tmp_path], pywb=tmp_path / "nowhere"):
            pass


def test_a_ready_pywb_is_not_installed_again(pywb: Path) -> None:
    assert pywb_ready(pywb)
    assert ensure_pywb(pywb, python="/nonexistent/python") is False  # nothing run: that python does not exist


def test_a_folder_that_is_not_a_virtualenv_is_refused_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ReplayError, match="not a virtualenv"):
        ensure_pywb(folder, python=sys.executable)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert not (folder / READY_MARKER).exists()


def test_a_failed_install_says_which_step_and_leaves_no_ready_marker(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    with pytest.raises(ReplayError, match="creating a virtualenv for pywb .* failed"):
        ensure_pywb(venv, python="/bin/false")
    assert not pywb_ready(venv)


def test_capture_times_become_replay_timestamps() -> None:
    assert timestamp14("2026-12-03T07:32:12.810409Z") == "20261203073212"
    assert timestamp14("2005-07-06T12:08:00Z") == "20050706120800"
    with pytest.raises(ValueError):
        timestamp14("yesterday")
