"""A page captured in the browser replays in pywb showing the text its script built (issue 18): the page's
script fetches JSON and writes it into the page, so the replay shows the text only when that JSON, the
redirecting script and the page are all in the archive and found by pywb.

Skipped only where Chromium (or its driver) or pywb cannot be found."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from warcio.archiveiterator import ArchiveIterator

from cablekeep.access.replay import timestamp14
from cablekeep.capture.cdp import find_browser
from cablekeep.errors import ReplayError
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from tests.browser_site import TEXT, ScriptSite

from ..access.replay_support import find_pywb, headless_chrome
from ..conftest import start_replay, stop_cli

CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    find_browser() is None or CHROMEDRIVER is None,
    reason="headless Chromium not found: install Debian's chromium and chromium-driver (chromium, chromedriver on PATH)",
)


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return find_pywb(tmp_path_factory)
    except ReplayError as error:
        pytest.skip(f"pywb not found (CABLEKEEP_PYWB, .venv/pywb) and it could not be installed: {error}")


@pytest.fixture(scope="module")
def script_site() -> Iterator[ScriptSite]:
    site = ScriptSite()
    yield site
    site.close()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    browser = find_browser()
    assert browser is not None and CHROMEDRIVER is not None
    driver = headless_chrome(str(browser), CHROMEDRIVER, tmp_path / "chromium-profile")
    yield driver
    driver.quit()


def _bag(tmp_path: Path, site: ScriptSite, capture: str) -> Path:
    path = tmp_path / "browser.yaml"
    path.write_text(
        "cablekeep: 1\ncollection: rendered\n"
        f"seeds:\n  - {{url: '{site.base}/script-page.html', capture: {capture}}}\n"
        "follow: {references: false, sources: false, depth: 0}\n"
        "fetch: {allow_networks: ['127.0.0.1/32', '127.0.0.2/32'], per_host_delay: 0, timeout: 5, retries: 0}\n"
        f"bag: {{output: '{tmp_path / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return run_manifest(load_manifest(path)).bag.path


def _capture_time(bag: Path, url: str) -> str:
    for warc in sorted((bag / "data" / "warc").glob("*.warc.gz")):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == url:
                    return timestamp14(record.rec_headers.get_header("WARC-Date"))
    raise AssertionError(f"{url} is not in the bag")






def test_a_page_captured_in_the_browser_replays_in_pywb_with_its_script_built_text(
        tmp_path: Path, script_site: ScriptSite, pywb: Path, chromium: webdriver.Chrome) -> None:
    page = f"{script_site.base}/script-page.html"
    bag = _bag(tmp_path, script_site, "browser")
    requests_while_crawling = script_site.site.total()
    process, base = start_replay(bag, pywb)
    try:
        chromium.get(f"{base.rstrip('/')}/{_capture_time(bag, page)}/{page}")
        try:
            WebDriverWait(chromium, 20).until(lambda d: d.find_element(By.ID, "text").text == TEXT)
        except TimeoutException:
            logs = "\n".join(entry["message"] for entry in chromium.get_log("browser"))
            raise AssertionError(f"the replayed page never showed the script-built text; console:\n{logs}") from None
        assert chromium.title == "Built by scripts"
        fetched = chromium.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert any(url.startswith(base) and url.endswith("/data/text.json") for url in fetched), fetched
        assert script_site.site.total() == requests_while_crawling, "the replay reached the live site"
    finally:
        stop_cli(process)


def test_the_same_page_captured_over_http_replays_without_the_text(
        tmp_path: Path, script_site: ScriptSite, pywb: Path, chromium: webdriver.Chrome) -> None:
    """The control: over plain HTTP the script is archived (a requisite) but the JSON it fetches is not, so
    the replayed script finds nothing and the text the test above waits for never appears."""
    page = f"{script_site.base}/script-page.html"
    bag = _bag(tmp_path, script_site, "http")
    process, base = start_replay(bag, pywb)
    try:
        chromium.get(f"{base.rstrip('/')}/{_capture_time(bag, page)}/{page}")
        statuses = WebDriverWait(chromium, 20).until(lambda d: d.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/data/text.json'))"
            ".map(e => e.responseStatus)"))
        assert chromium.title == "Built by scripts"
        assert statuses == [404]  # pywb has no capture of the JSON
        assert chromium.find_element(By.ID, "text").text == ""
    finally:
        stop_cli(process)
