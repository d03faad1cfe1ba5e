"""A full disk mid-crawl: a clear error (exit 6), nothing finished is damaged, the run resumes.

The disk is filled by a file-size limit (RLIMIT_FSIZE) on the crawl process: every write past
it fails with EFBIG, as a write to a full disk fails with ENOSPC.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from pathlib import Path

import bagit
import pytest

from cablekeep.sample_site import SampleSite
from cablekeep.fixity.warccheck import verify_warc

from ..conftest import run_cli


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


def test_full_disk_fails_cleanly_and_resumes(tmp_path: Path, sample_site: SampleSite) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "cablekeep: 1\ncollection: full-disk\n"
        f"site: {{cable_url: '{sample_site.cable_base}/cable/{{id}}'}}\n"
        "seeds: [{cable: 05ALMATY2503}, {cable: 05ALMATY2401}]\nfollow: {depth: 2}\n"
        "fetch: {per_host_delay: 0, allow_private: true, retries: 0}\n"
        f"bag: {{output: '{tmp_path / 'bags'}'}}\n",
        encoding="utf-8",
    )
    command = ["run", "--quiet", "--json", str(manifest)]
    failed = run_cli(*command, timeout=120, preexec_fn=_limit_file_size)
    assert failed.exit_code == 6, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "cannot write" in failed.stderr
    warc_dir = tmp_path / "bags" / ".work" / "full-disk" / "warc"
    for warc in warc_dir.glob("*.warc.gz"):  # anything that looks finished is whole
        problems, _ = verify_warc(warc)
        assert not [p for p in problems if p.kind != "warning"]
    assert not [p for p in (tmp_path / "bags").iterdir() if p.name.startswith("full-disk-")], "no bag yet"

    resumed = run_cli(*command, timeout=120)
    assert resumed.exit_code == 0, resumed.stderr
    bag = Path(json.loads(resumed.stdout)["bag"])
    bagit.Bag(str(bag)).validate()
    log = [json.loads(line)["url"] for line in (bag / "data" / "crawl-log.jsonl").read_text().splitlines()]
    assert len(log) == len(set(log))


def _try_mount(point: Path, size: str) -> bool:
    point.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
    return result.returncode == 0


@pytest.mark.parametrize("size", ["96k", "160k", "320k"])
def test_really_full_disk(tmp_path: Path, sample_site: SampleSite, size: str) -> None:
    """The bags directory on a tiny tmpfs: the WARC, the state or the bag runs out of space first."""
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _try_mount(disk, size):
        pytest.skip("needs root and tmpfs to make a small disk")
    try:
        manifest = tmp_path / "m.yaml"
        manifest.write_text(
            "cablekeep: 1\ncollection: tiny-disk\n"
            f"site: {{cable_url: '{sample_site.cable_base}/cable/{{id}}'}}\n"
            "seeds: [{cable: 05ALMATY2503}, {cable: 05ALMATY2401}, {cable: 06ASTANA919}]\nfollow: {depth: 3}\n"
            "fetch: {per_host_delay: 0, allow_private: true, retries: 0}\nwarc: {max_size: 40KB}\n"
            f"bag: {{output: '{disk / 'bags'}'}}\n",
            encoding="utf-8",
        )
        command = ["run", "--quiet", "--json", str(manifest)]
        failed = run_cli(*command, timeout=120)
        assert failed.exit_code == 6, failed.stdout + failed.stderr
        assert "Traceback" not in failed.stderr and "cannot" in failed.stderr
        for warc in (disk / "bags" / ".work" / "tiny-disk" / "warc").glob("*.warc.gz"):
            problems, _ = verify_warc(warc)
            assert not [p for p in problems if p.kind != "warning"], (warc.name, problems)
        for bag in (disk / "bags").glob("tiny-disk-*"):  # a bag that looks finished is whole
            bagit.Bag(str(bag)).validate()
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        resumed = run_cli(*command, timeout=120)
        assert resumed.exit_code == 0, resumed.stderr
        bag = Path(json.loads(resumed.stdout)["bag"])
        bagit.Bag(str(bag)).validate()
        urls = [json.loads(line)["url"] for line in (bag / "data" / "crawl-log.jsonl").read_text().splitlines()]
        assert len(urls) == len(set(urls))
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_warc_writer_on_a_full_disk(tmp_path: Path, sample_site: SampleSite) -> None:
    """The WARC writer itself: a clear OutputError, closed files whole, the open one trimmable."""
    from warcio.archiveiterator import ArchiveIterator

    from cablekeep.errors import OutputError
    from cablekeep.capture.fetch import AddressGuard, Fetcher
    from cablekeep.capture.warc import WarcWriter, trim_open_file

    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _try_mount(disk, "64k"):
        pytest.skip("needs root and tmpfs to make a small disk")
    try:
        writer = WarcWriter(disk, prefix="full", max_size=20_000, warcinfo={})
        fetcher = Fetcher(user_agent="t", timeout=5, max_bytes=10**6, guard=AddressGuard(allow_private=True))
        point = None
        with pytest.raises(OutputError):
            for _ in range(200):
                with fetcher.fetch(sample_site.cable_url("05ALMATY2503")) as exchange:
                    writer.write_exchange(exchange)
                point = writer.commit_point()
                writer.roll_if_full()
        writer.abandon()
        fetcher.close()
        assert point is not None
        for closed in disk.glob("*.warc.gz"):
            problems, _ = verify_warc(closed)
            assert not [p for p in problems if p.kind != "warning"]
        name, offset = point
        open_path = disk / name
        if open_path.exists():
            trim_open_file(open_path, offset)
            with open(open_path, "rb") as handle:
                assert [r.rec_type for r in ArchiveIterator(handle, check_digests="raise")][0] == "warcinfo"
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
