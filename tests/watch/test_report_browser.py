"""The HTML report opened in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``)
driven by selenium. It must load from a file with no console errors, draw its chart (the SVG's bars laid out
with a size) and show a row for a gone source. Skipped, saying why, only where Chromium is not installed
(``make test`` installs it where it can: as root, with apt-get)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from cablekeep.watch.report import write_html
from cablekeep.watch.store import LinkRotHistory

from .test_check import World, checks, world  # noqa: F401 - the module fixtures, shared

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not found (no chromium or chromedriver on PATH): install Debian's chromium and "
           "chromium-driver (make test does, as root) to open the report in a browser",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")  # nothing of the user's: its own profile and cache
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", f"--user-data-dir={profile}", f"--disk-cache-dir={profile / 'cache'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver named, so selenium never looks for (or downloads) one of its own
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _errors(driver: webdriver.Chrome) -> list[dict[str, object]]:
    return [entry for entry in driver.get_log("browser") if entry.get("level") in {"SEVERE", "ERROR"}]


def test_the_report_opens_in_chromium_with_its_chart_and_a_gone_row(
        world: World, checks: object, tmp_path: Path, browser: webdriver.Chrome) -> None:
    out = tmp_path / "report.html"
    with LinkRotHistory(world.db) as history:
        write_html(history, out, replay_base="http://wayback.test/")
    browser.get(out.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert _errors(browser) == []
    # the chart is drawn: its bars are laid out, each with a size, and one bar of each check is "alive"
    bars = browser.find_elements(By.CSS_SELECTOR, "svg#chart rect.bar")
    assert len(bars) >= 3
    assert all(bar.size["width"] > 0 and bar.size["height"] > 0 for bar in bars)
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg#chart rect.bar.alive")) == 3
    # a table row for a gone source, as a reader sees it
    gone = world.url("/doc/gone.html")
    rows = [row for row in browser.find_elements(By.CSS_SELECTOR, "#rotted tr.gone") if gone in row.text]
    assert len(rows) == 1 and rows[0].is_displayed()
    assert "HTTP 404" in rows[0].text


def test_a_console_error_would_be_seen(tmp_path: Path, browser: webdriver.Chrome) -> None:
    """The console check is real: a page that throws is caught by it."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction()</script></body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    assert any("undefinedFunction" in str(entry.get("message")) for entry in _errors(browser))
