"""One writer per collection: a second `cablekeep run` of the same manifest is refused while the first
runs, names the holder and exits 7; a lock left by a SIGKILLed run is taken over at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import bagit
import pytest

from cablekeep.errors import LockedError
from cablekeep.locks import exclusive
from cablekeep.sample_site import SampleSite

from .conftest import run_cli, start_cli


def test_a_second_holder_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    lock = tmp_path / "work" / "c.lock"
    with exclusive(lock, "collection 'c'"):
        with pytest.raises(LockedError) as caught:
            with exclusive(lock, "collection 'c'"):
                pass  # pragma: no cover - never entered
        assert caught.value.exit_code == 7
        assert f"process {os.getpid()}" in str(caught.value) and "collection 'c'" in str(caught.value)
    with exclusive(lock, "collection 'c'"):  # released at the end of the block
        pass


def _manifest(tmp: Path, site: SampleSite) -> Path:
    path = tmp / "slow.yaml"
    path.write_text(
        "cablekeep: 1\ncollection: contested\n"
        f"site: {{cable_url: '{site.cable_base}/cable/{{id}}'}}\n"
        "seeds: [{cable: 05ALMATY2503}, {cable: 05ALMATY2401}, {cable: 06ASTANA919}]\n"
        "follow: {depth: 3}\n"
        "fetch: {per_host_delay: 0.3, allow_private: true, retries: 0}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return path


def _wait_for_lock(lock: Path, holder: subprocess.Popen[str], deadline: float = 60.0) -> dict[str, object]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if holder.poll() is not None:
            raise AssertionError(f"the first run ended (exit {holder.returncode}) before it took {lock}: "
                                 f"{holder.communicate()[1]}")
        try:
            text = lock.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if text:
            return dict(json.loads(text))
        time.sleep(0.02)
    raise AssertionError(f"{lock} was never taken")


def test_two_runs_of_one_collection(tmp_path: Path, sample_site: SampleSite) -> None:
    manifest = _manifest(tmp_path, sample_site)
    lock = tmp_path / "bags" / ".work" / "contested.lock"
    first = start_cli("run", "--quiet", str(manifest), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        holder = _wait_for_lock(lock, first)
        assert holder["pid"] == first.pid
        second = run_cli("run", "--quiet", str(manifest), timeout=60)
        assert second.exit_code == 7, second.stderr
        assert f"process {first.pid}" in second.stderr and "Traceback" not in second.stderr
        assert first.poll() is None  # the first run was not disturbed
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    # the killed holder's lock is taken over at once, and the crawl resumes to a valid bag
    third = run_cli("run", "--quiet", "--json", str(manifest), timeout=120)
    assert third.exit_code == 0, third.stderr
    summary = json.loads(third.stdout)
    assert summary["resumed"] is True and summary["verified"] is True
    bagit.Bag(summary["bag"]).validate()
