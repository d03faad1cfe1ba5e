"""Browser capture on a loopback site built by scripts: what the page needed is in the WARC with the
rendered DOM and a screenshot, the guarded address is never reached, a page that never settles is cut
and marked, a hung tab is retried once then failed, a dead browser is started again, no browser
outlives a SIGKILLed crawl, and a resumed crawl records nothing twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from cablekeep.capture.browser import Browser, BrowserOptions, Gate, RenderFailed
from cablekeep.capture.cdp import find_browser
from cablekeep.capture.crawl import Crawl
from cablekeep.capture.fetch import AddressGuard, Fetcher, parse_networks
from cablekeep.manifest import load_manifest
from tests.browser_site import TEXT, ScriptSite

from ..conftest import CLI_COMMAND

pytestmark = pytest.mark.skipif(find_browser() is None, reason="no Chromium found: apt-get install chromium")


@pytest.fixture(scope="module")
def script_site() -> Iterator[ScriptSite]:
    site = ScriptSite()
    yield site
    site.close()


def _manifest(tmp: Path, site: ScriptSite, seeds: str) -> Path:
    path = tmp / "browser.yaml"
    path.write_text(
        "cablekeep: 1\ncollection: rendered\n"
        f"seeds:\n{seeds}"
        "follow: {references: false, sources: false, depth: 0}\n"
        "fetch: {allow_networks: ['127.0.0.1/32', '127.0.0.2/32'], per_host_delay: 0, timeout: 5, retries: 0}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return path


def _records(warc_dir: Path) -> list[tuple[str, Any, bytes]]:
    found = []
    for warc in sorted(warc_dir.glob("*.warc.gz")):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle, check_digests="raise"):
                found.append((record.rec_type, record.rec_headers, record.content_stream().read()))
    return found


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, script_site: ScriptSite) -> tuple[Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("browser")
    base = script_site.base
    seeds = (f"  - {{url: '{base}/script-page.html', capture: auto}}\n"
             f"  - {{url: '{base}/forbidden.html', capture: browser}}\n"
             f"  - {{url: '{base}/polling.html', capture: browser}}\n"
             f"  - {{url: '{base}/article.html', capture: auto}}\n")
    log: list[dict[str, Any]] = []
    Crawl(load_manifest(_manifest(tmp, script_site, seeds)), tmp / "work", on_entry=log.append).run()
    return tmp / "work" / "warc", log


def _entry(log: list[dict[str, Any]], url: str) -> dict[str, Any]:
    (entry,) = [e for e in log if e["url"] == url]
    return entry


def test_the_warc_holds_every_resource_the_page_needed(crawled: tuple[Path, list[dict[str, Any]]],
                                                       script_site: ScriptSite) -> None:
    warc_dir, _ = crawled
    base, frames = script_site.base, script_site.frames.base
    responses = {headers.get_header("WARC-Target-URI") for kind, headers, _ in _records(warc_dir)
                 if kind in ("response", "revisit")}  # the two lazy images are the same PNG: one is a revisit
    needed = {f"{base}/script-page.html", f"{base}/css/page.css", f"{base}/js/app.js", f"{base}/js/app-v2.js",
              f"{base}/data/text.json", f"{base}/img/lazy.png", f"{base}/img/native-lazy.png",
              f"{frames}/frame.html", f"{frames}/frame.css"}
    assert needed <= responses, needed - responses


def test_the_rendered_dom_holds_the_script_built_text_and_links_to_the_response(
        crawled: tuple[Path, list[dict[str, Any]]], script_site: ScriptSite) -> None:
    warc_dir, log = crawled
    page = f"{script_site.base}/script-page.html"
    records = _records(warc_dir)
    (response,) = [h for kind, h, _ in records if kind == "response" and h.get_header("WARC-Target-URI") == page]
    resources = {h.get_header("WARC-Target-URI"): (h, body) for kind, h, body in records if kind == "resource"}
    dom_headers, dom = resources[f"urn:rendered-dom:{page}"]
    shot_headers, shot = resources[f"urn:screenshot:{page}"]
    assert TEXT.encode() in dom
    assert TEXT.encode() not in [body for kind, h, body in records if h.get_header("WARC-Target-URI") == page][0]
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and shot_headers.get_header("Content-Type") == "image/png"
    for headers in (dom_headers, shot_headers):
        assert headers.get_header("WARC-Concurrent-To") == response.get_header("WARC-Record-ID")
    entry = _entry(log, page)
    assert entry["capture"] == "browser" and entry["settled"] is True
    assert entry["rendered_dom_record_id"] == dom_headers.get_header("WARC-Record-ID")
    assert entry["screenshot_record_id"] == shot_headers.get_header("WARC-Record-ID")
    assert entry["auto"].startswith("rendered: ")  # auto judged it a shell


def test_auto_leaves_a_page_with_its_text_on_http(crawled: tuple[Path, list[dict[str, Any]]],
                                                  script_site: ScriptSite) -> None:
    entry = _entry(crawled[1], f"{script_site.base}/article.html")
    assert entry["outcome"] == "ok" and "capture" not in entry


def test_the_guarded_address_is_never_contacted(crawled: tuple[Path, list[dict[str, Any]]],
                                                script_site: ScriptSite) -> None:
    _, log = crawled
    forbidden = script_site.forbidden.base
    assert script_site.forbidden.total() == 0, script_site.forbidden.requests
    refused = {e["url"]: e for e in log if e["url"].startswith(forbidden)}
    assert set(refused) == {f"{forbidden}/from-image.png", f"{forbidden}/from-script", f"{forbidden}/from-redirect.js"}
    assert {e["outcome"] for e in refused.values()} == {"blocked-address"}
    assert all(e["via"] == f"{script_site.base}/forbidden.html" for e in refused.values())
    assert _entry(log, f"{script_site.base}/forbidden.html")["refused"] == 3


def test_a_page_that_never_settles_is_cut_and_marked(crawled: tuple[Path, list[dict[str, Any]]],
                                                     script_site: ScriptSite) -> None:
    entry = _entry(crawled[1], f"{script_site.base}/polling.html")
    assert entry["settled"] is False
    assert entry["warning"].startswith("page never settled: cut after ")
    assert "rendered_dom_record_id" in entry and entry["resources"] > 5  # it polled all along


def _browser(options: BrowserOptions) -> Browser:
    fetcher = Fetcher(user_agent="test", timeout=5, max_bytes=10_000_000,
                      guard=AddressGuard(False, frozenset(), parse_networks(["127.0.0.1/32", "127.0.0.2/32"])))
    gate = Gate(user_agent="test", per_host_delay=0, obey_robots=True, robots={}, host_delays={})
    return Browser(fetcher, gate, options)


def test_a_hung_tab_is_retried_once_then_failed_with_its_reason(script_site: ScriptSite) -> None:
    browser = _browser(BrowserOptions(tabs=1, settle_time=3, hang_time=2, scroll_steps=2, scroll_time=1))
    try:
        started = time.monotonic()
        with pytest.raises(RenderFailed, match=r"the tab hung: .* got no answer within 2 s; tried twice"):
            browser.render(f"{script_site.base}/hang.html")
        assert time.monotonic() - started < 30
        page = browser.render(f"{script_site.base}/script-page.html")  # the next page has a fresh tab
        assert TEXT.encode() in page.dom
        page.close()
    finally:
        browser.close()


def test_a_dead_browser_is_started_again(script_site: ScriptSite) -> None:
    browser = _browser(BrowserOptions(tabs=1, settle_time=5))
    try:
        browser.render(f"{script_site.base}/article.html").close()
        assert browser.pid is not None
        os.killpg(browser.pid, signal.SIGKILL)
        time.sleep(0.5)
        page = browser.render(f"{script_site.base}/script-page.html")
        assert TEXT.encode() in page.dom and browser.starts == 2
        page.close()
    finally:
        browser.close()
    assert browser.pid is None


def _browser_pids() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"cablekeep-browser-" in (entry / "cmdline").read_bytes():
                    pids.add(int(entry.name))
            except OSError:
                pass
    return pids


# The crawls run in a process this one never waits for (a launcher forks it and exits): the browser
# they wait for would otherwise count in this process's RUSAGE_CHILDREN, which other tests measure.
_LAUNCHER = r"""
import os, subprocess, sys
out = sys.argv[1]
if os.fork() == 0:
    os.setsid()
    with open(out + ".stdout", "w") as stdout, open(out + ".stderr", "w") as stderr:
        child = subprocess.Popen(sys.argv[2:], stdout=stdout, stderr=stderr)
        with open(out + ".pid.tmp", "w") as handle:
            handle.write(str(child.pid))
        os.rename(out + ".pid.tmp", out + ".pid")
        code = child.wait()
    with open(out + ".rc.tmp", "w") as handle:
        handle.write(str(code))
    os.rename(out + ".rc.tmp", out + ".rc")
    os._exit(0)
"""


def _launch(command: list[str], out: Path) -> int:
    """Start ``command`` detached; its pid (its exit code in ``out``.rc, its output in ``out``.stdout)."""
    subprocess.run([sys.executable, "-c", _LAUNCHER, str(out), *command], check=True, timeout=30)
    pid_file = Path(f"{out}.pid")
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(pid_file.read_text())


def _finished(out: Path, timeout: float) -> int | None:
    rc_file = Path(f"{out}.rc")
    deadline = time.monotonic() + timeout
    while not rc_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(rc_file.read_text()) if rc_file.exists() else None


def test_kill_9_leaves_no_browser_and_resume_records_nothing_twice(tmp_path: Path, script_site: ScriptSite) -> None:
    base = script_site.base
    seeds = (f"  - {{url: '{base}/script-page.html', capture: browser}}\n"
             f"  - {{url: '{base}/forbidden.html', capture: browser}}\n"
             f"  - {{url: '{base}/article.html'}}\n")
    manifest = _manifest(tmp_path, script_site, seeds)
    before = _browser_pids()
    command = [*CLI_COMMAND, "run", "--quiet", "--json", str(manifest)]
    pid = _launch(command, tmp_path / "killed")
    deadline = time.monotonic() + 60
    while not Path(f"{tmp_path / 'killed'}.rc").exists() and not (_browser_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # mid-render
    assert not Path(f"{tmp_path / 'killed'}.rc").exists(), "the crawl ended before the kill"
    os.kill(pid, signal.SIGKILL)
    assert _finished(tmp_path / "killed", 30) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while _browser_pids() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _browser_pids() - before, "a browser process outlived the killed crawl"

    _launch(command, tmp_path / "resumed")
    assert _finished(tmp_path / "resumed", 180) == 0, Path(f"{tmp_path / 'resumed'}.stderr").read_text()
    bag = Path(json.loads(Path(f"{tmp_path / 'resumed'}.stdout").read_text())["bag"])
    records = _records(bag / "data" / "warc")
    counted = Counter(h.get_header("WARC-Target-URI") for kind, h, _ in records if kind in ("response", "revisit", "resource"))
    assert counted and max(counted.values()) == 1, [url for url, n in counted.items() if n > 1]
    assert f"urn:rendered-dom:{base}/script-page.html" in counted and f"{base}/data/text.json" in counted
    log = [json.loads(line) for line in (bag / "data" / "crawl-log.jsonl").read_text().splitlines()]
    logged = Counter(e["url"] for e in log)
    assert max(logged.values()) == 1, [url for url, n in logged.items() if n > 1]
    assert script_site.forbidden.total() == 0
    assert not _browser_pids() - before


_HOLD_A_BROWSER = (
    "import sys, time\n"
    "from cablekeep.capture.cdp import Chromium, find_browser\n"
    "browser = Chromium(find_browser())\n"
    "print(browser.profile, flush=True)\n"
    "time.sleep(120)\n"
)


@pytest.fixture
def short_tmpdir() -> Iterator[Path]:
    """A temporary folder with a short path (Chromium's sockets live below it: 108 bytes at most)."""
    folder = Path(tempfile.mkdtemp(prefix="ck-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_browser_profile_left_by_a_kill_9_is_removed_by_the_next_start(short_tmpdir: Path) -> None:
    """The profile and Chromium's own temporary files are one folder named by pid; kill -9 leaves it,
    the next browser removes it, and a browser closed normally leaves nothing in $TMPDIR."""
    scratch = short_tmpdir
    env = {**os.environ, "TMPDIR": str(scratch)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_A_BROWSER], env=env, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    profile = Path(holder.stdout.readline().strip())
    assert profile.parent == scratch and profile.name.startswith(f"cablekeep-browser-{holder.pid}-")
    assert (profile / "DevToolsActivePort").is_file()
    holder.kill()
    holder.wait(timeout=30)
    holder.stdout.close()
    assert profile.is_dir(), "kill -9 gave the browser no chance to remove its profile"
    closes = ("from cablekeep.capture.cdp import Chromium, find_browser\n"
              "browser = Chromium(find_browser())\nassert browser.alive()\nbrowser.close()\n")
    subprocess.run([sys.executable, "-c", closes], env=env, check=True, timeout=120)
    assert list(scratch.iterdir()) == [], "the stale profile and the closed browser's files are all gone"
