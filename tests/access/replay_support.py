"""pywb's virtualenv for the replay tests, and a bag of the sample site with its stylesheet archived."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cablekeep.access.replay import ensure_pywb, pywb_ready
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest

REPO = Path(__file__).resolve().parents[2]
MAKE_VENV = REPO / ".venv" / "pywb"  # where `make test` installs pywb


def find_pywb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CABLEKEEP_PYWB, or the one `make test` made; else pywb installed once into a session temp folder."""
    for candidate in (os.environ.get("CABLEKEEP_PYWB"), str(MAKE_VENV)):
        if candidate and pywb_ready(Path(candidate)):
            return Path(candidate)
    venv = tmp_path_factory.mktemp("pywb") / "venv"
    ensure_pywb(venv, python=sys.executable)
    return venv


def sample_bag(write_manifest: Callable[..., Path], output: Path | None = None) -> Path:
    """A bag of cable 05ALMATY2503 with what its page needs to render (requisites), no further hops."""
    extra = {"bag": {"output": str(output)}} if output is not None else {}
    manifest = write_manifest(follow={"depth": 0, "requisites": True}, **extra)
    return run_manifest(load_manifest(manifest)).bag.path


def headless_chrome(binary: str, driver: str, profile: Path) -> Any:
    """Debian's Chromium under selenium, headless, its profile in ``profile``, its console kept (tests only)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1400", f"--user-data-dir={profile}",
                     "--no-first-run", "--disable-background-networking"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)
