"""kill -9 at random moments of a real crawl, then resume: nothing lost, nothing twice, all valid.

Each run starts a crawl in its own process, waits until the WARC being written reaches a random
byte offset, kills the process with SIGKILL, checks what it left, and runs the same command
again to the end. The final bag is checked by bagit-python, warcio and cablekeep itself.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import bagit
import pytest
from warcio.archiveiterator import ArchiveIterator

from cablekeep.fixity.verify import verify_bag
from cablekeep.sample_site import SampleSite
from cablekeep.fixity.warccheck import verify_warc

from ..conftest import run_cli, start_cli

RUNS = 10


def _manifest(tmp: Path, site: SampleSite, processes: int = 1) -> Path:
    path = tmp / "kill.yaml"
    path.write_text(
        "cablekeep: 1\ncollection: killed\n"
        f"site: {{cable_url: '{site.cable_base}/cable/{{id}}'}}\n"
        "seeds: [{cable: 05ALMATY2503}, {cable: 05ALMATY2401}, {cable: 06ASTANA919}]\n"
        "follow: {depth: 3}\n"
        f"fetch: {{per_host_delay: 0.01, concurrency: 3, processes: {processes}, allow_private: true, retries: 0}}\n"
        "warc: {max_size: 40KB}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return path


def _start(manifest: Path) -> subprocess.Popen[str]:
    return start_cli("run", "--quiet", "--json", str(manifest),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _open_size(warc_dir: Path) -> int:
    total = 0
    if warc_dir.exists():
        for path in warc_dir.iterdir():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
    return total


def _responses(bag: Path) -> list[str]:
    urls = []
    for warc in sorted((bag / "data" / "warc").iterdir()):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle, check_digests="raise"):
                record.content_stream().read()
                if record.rec_type in ("response", "revisit"):
                    urls.append(record.rec_headers.get_header("WARC-Target-URI"))
    return urls


@pytest.fixture(scope="module")
def full_size(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> tuple[int, set[str]]:
    """Bytes of WARC a whole crawl writes, and the URLs it captures."""
    tmp = tmp_path_factory.mktemp("reference")
    result = run_cli("run", "--quiet", "--json", str(_manifest(tmp, sample_site)), timeout=300)
    assert result.exit_code == 0, result.stderr
    bag = Path(json.loads(result.stdout)["bag"])
    size = sum(p.stat().st_size for p in (bag / "data" / "warc").iterdir())
    return size, set(_responses(bag))


@pytest.mark.parametrize("run", range(RUNS))
def test_kill_anywhere_then_resume(run: int, tmp_path: Path, sample_site: SampleSite,
                                   full_size: tuple[int, set[str]]) -> None:
    total, expected_urls = full_size
    target = random.Random(run).randrange(200, int(total * 0.9))
    manifest = _manifest(tmp_path, sample_site, processes=1 + run % 2)  # odd runs fetch in 2 worker processes
    warc_dir = tmp_path / "bags" / ".work" / "killed" / "warc"
    process = _start(manifest)
    deadline = time.monotonic() + 120
    while process.poll() is None and _open_size(warc_dir) < target and time.monotonic() < deadline:
        time.sleep(0.002)
    assert process.poll() is None, "the crawl ended before the kill point"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    # what the killed run left: every closed WARC valid; nothing open is taken for finished
    if warc_dir.exists():
        for warc in warc_dir.glob("*.warc.gz"):
            problems, _ = verify_warc(warc)
            assert not [p for p in problems if p.kind != "warning"], (warc.name, problems)

    resumed = run_cli("run", "--quiet", "--json", str(manifest), timeout=300)
    assert resumed.exit_code == 0, resumed.stderr
    bag = Path(json.loads(resumed.stdout)["bag"])
    assert not list(bag.rglob("*.open")) and not list(bag.rglob("*.aborted"))
    urls = _responses(bag)
    assert len(urls) == len(set(urls)), "a URL ended up twice in the bag"
    assert set(urls) == expected_urls, "the resumed crawl did not capture the same URLs"
    log = [json.loads(line) for line in (bag / "data" / "crawl-log.jsonl").read_text().splitlines()]
    logged = [e["url"] for e in log]
    assert len(logged) == len(set(logged)), "a URL was logged (fetched) twice"
    bagit.Bag(str(bag)).validate()
    assert verify_bag(bag).ok
