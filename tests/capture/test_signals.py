"""SIGINT/SIGTERM on a real crawl process: once finishes what is in flight, twice stops at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import bagit
import pytest

from cablekeep.sample_site import SampleSite
from cablekeep.fixity.warccheck import verify_warc

from ..conftest import run_cli, start_cli


def _manifest(tmp: Path, site: SampleSite, processes: int = 1) -> Path:
    path = tmp / "m.yaml"
    path.write_text(
        "cablekeep: 1\ncollection: signals\n"
        f"site: {{cable_url: '{site.cable_base}/cable/{{id}}'}}\n"
        "seeds: [{cable: 05ALMATY2503}, {cable: 05ALMATY2401}, {cable: 06ASTANA919}]\nfollow: {depth: 3}\n"
        f"fetch: {{per_host_delay: 0.1, allow_private: true, retries: 0, processes: {processes}}}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return path


def _started(tmp: Path, manifest: Path, new_session: bool = False) -> subprocess.Popen[str]:
    process = start_cli("run", "--json", str(manifest), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        start_new_session=new_session)
    state = tmp / "bags" / ".work" / "signals" / "warc"
    deadline = time.monotonic() + 30
    while not any(state.glob("*.open")) if state.exists() else True:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    time.sleep(0.3)  # a few pages in
    return process


def _closed_warcs_valid(tmp: Path) -> None:
    warc_dir = tmp / "bags" / ".work" / "signals" / "warc"
    for warc in warc_dir.glob("*.warc.gz"):
        problems, _ = verify_warc(warc)
        assert not [p for p in problems if p.kind != "warning"]


def _resume(manifest: Path) -> Path:
    result = run_cli("run", "--quiet", "--json", str(manifest), timeout=120)
    assert result.exit_code == 0, result.stderr
    bag = Path(json.loads(result.stdout)["bag"])
    bagit.Bag(str(bag)).validate()
    urls = [json.loads(line)["url"] for line in (bag / "data" / "crawl-log.jsonl").read_text().splitlines()]
    assert len(urls) == len(set(urls))
    return bag


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_finishes_in_flight_and_closes(tmp_path: Path, sample_site: SampleSite, sig: int, processes: int) -> None:
    manifest = _manifest(tmp_path, sample_site, processes)
    process = _started(tmp_path, manifest)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "resume" in stderr and "Traceback" not in stderr
    warc_dir = tmp_path / "bags" / ".work" / "signals" / "warc"
    assert not list(warc_dir.glob("*.open")), "a graceful stop closes the WARC"
    assert list(warc_dir.glob("*.warc.gz"))
    _closed_warcs_valid(tmp_path)
    _resume(manifest)


@pytest.mark.parametrize("processes", [1, 2])
def test_two_signals_stop_at_once(tmp_path: Path, sample_site: SampleSite, processes: int) -> None:
    manifest = _manifest(tmp_path, sample_site, processes)
    process = _started(tmp_path, manifest)
    process.send_signal(signal.SIGINT)
    time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    _closed_warcs_valid(tmp_path)
    _resume(manifest)


def test_signal_to_the_process_group_stops_worker_processes_gracefully(tmp_path: Path, sample_site: SampleSite) -> None:
    """As a service manager stops a crawl: SIGTERM to every process; the workers leave it to the crawl."""
    manifest = _manifest(tmp_path, sample_site, processes=2)
    process = _started(tmp_path, manifest, new_session=True)
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    warc_dir = tmp_path / "bags" / ".work" / "signals" / "warc"
    assert not list(warc_dir.glob("*.open")), "a graceful stop closes the WARC"
    _closed_warcs_valid(tmp_path)
    _resume(manifest)
