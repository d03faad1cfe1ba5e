"""The replayed cable page in headless Chromium: no console errors from the archive's own resources, the
archived stylesheet applied (computed styles from cablebrowser.css), a screenshot in tmp_path.

Skipped only where Chromium or its driver cannot be found (Debian: chromium, chromium-driver)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from cablekeep.access.replay import serve
from cablekeep.sample_site import SampleSite
from cablekeep.sample_site.cables import CABLES_BY_ID

from .replay_support import find_pywb, headless_chrome, sample_bag

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not found: install Debian's chromium and chromium-driver (chromium, chromedriver on PATH)",
)

# From the sample site's cablebrowser.css; a browser's defaults differ from each.
LABEL_COLOUR = "rgb(29, 53, 87)"  # table.cable td.label { color: #1d3557 }
LABEL_WEIGHT = "700"  # table.cable td.label { font-weight: bold }
PAGE_BACKGROUND = "rgb(241, 236, 226)"  # body { background: #f1ece2 }


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    driver = headless_chrome(CHROMIUM, CHROMEDRIVER, tmp_path / "chromium-profile")
    yield driver
    driver.quit()


def test_the_replayed_cable_page_renders_with_its_archived_stylesheet(
        write_manifest: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
        chromium: webdriver.Chrome, sample_site: SampleSite) -> None:
    cable = CABLES_BY_ID["05ALMATY2503"]
    bag = sample_bag(write_manifest)
    with serve([bag], pywb=find_pywb(tmp_path_factory)) as running:
        page = running.pages[0]
        chromium.get(page.replay_url)
        assert cable.subject in chromium.find_element(By.TAG_NAME, "body").text
        computed = chromium.execute_script(
            "const label = getComputedStyle(document.querySelector('table.cable td.label'));"
            "return [label.color, label.fontWeight, getComputedStyle(document.body).backgroundColor];")
        assert computed == [LABEL_COLOUR, LABEL_WEIGHT, PAGE_BACKGROUND]
        # what the browser fetched (wombat shows scripts the original URLs, not the network's)
        fetched = chromium.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert any(url.startswith(running.prefix) and url.endswith("cablebrowser.css") for url in fetched), fetched
        assert not [url for url in fetched if url.startswith(sample_site.cable_base)], "fetched from the live site"
        shot = tmp_path / "05ALMATY2503.png"
        assert chromium.save_screenshot(str(shot)) and shot.stat().st_size > 1000
        logs = chromium.get_log("browser")
        # Chromium asks every site for /favicon.ico by itself; the page does not link it, so it was not archived
        implicit_icon = f"{running.prefix}/{page.timestamp}/{sample_site.cable_base}/favicon.ico "
        errors = [entry for entry in logs if entry["level"] == "SEVERE" and running.base in entry["message"]
                  and not entry["message"].startswith(implicit_icon)]
        assert logs, "Chromium gave no console log at all: the check below would prove nothing"
        assert not errors, "\n".join(entry["message"] for entry in errors)
