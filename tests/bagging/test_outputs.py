"""Outputs that cannot be written, through the real CLI: a file in place of the output folder, a read-only
folder, a full disk. Each is one clear line with exit 6 naming the path and why; a partial output (a
staging folder, a half-written index) is removed; what was finished before stays valid and the command,
run again when there is room, finishes.

Tests run as root, where permissions do not stop writes: a read-only folder is a tmpfs mounted read-only
and a full disk is a tiny tmpfs (as tests/capture/test_disk_full.py makes one), unmounted afterwards.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import bagit
import pytest

from cablekeep.run import work_dir
from cablekeep.manifest import load_manifest
from cablekeep.capture.crawl import Crawl

from ..conftest import CliResult

Cli = Callable[..., CliResult]


def _papers(root: Path, files: int = 40, size: int = 50_000) -> Path:
    rng = random.Random(3)
    for i in range(files):
        path = root / f"box{i % 3}" / f"item{i:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    return root


def _listing(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _one_clear_line(result: CliResult, *words: str) -> None:
    assert result.exit_code == 6, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("cablekeep: error: cannot")
    for word in words:
        assert word in result.stderr, (word, result.stderr)


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """mount("name", "size=1m", "ro"): a tmpfs at tmp_path/name, unmounted at the end."""
    points: list[Path] = []

    def make(name: str, *options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        if os.geteuid() != 0:
            pytest.skip("needs root to mount a small or read-only tmpfs")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(point)],
                                capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace').strip()}")
        points.append(point)
        return point

    yield make
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _remount(point: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(point)], check=True)


# -- cablekeep bag --output ---------------------------------------------------------------------------------


def test_bag_output_that_is_a_file(tmp_path: Path, cli: Cli) -> None:
    source = _papers(tmp_path / "papers", files=3)
    (tmp_path / "bags").write_text("a file where the folder should be\n")
    result = cli("bag", "--output", str(tmp_path / "bags"), str(source))
    _one_clear_line(result, f"{tmp_path / 'bags'} is a file")
    assert (tmp_path / "bags").read_text() == "a file where the folder should be\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg-data") == ["bags", "papers"]


def test_bag_output_on_a_read_only_folder(tmp_path: Path, cli: Cli, mount: Callable[..., Path]) -> None:
    source = _papers(tmp_path / "papers", files=3)
    read_only = mount("ro", "size=1m", "ro")
    result = cli("bag", "--output", str(read_only / "bags"), str(source))
    _one_clear_line(result, str(read_only / "bags"), "Read-only file system")


def test_bag_output_on_a_full_disk(tmp_path: Path, cli: Cli, mount: Callable[..., Path]) -> None:
    source = _papers(tmp_path / "papers")  # 2 MB
    before = _listing(source)
    disk = mount("disk", "size=1m")
    out = disk / "bags"
    result = cli("bag", "--output", str(out), "--processes", "1", str(source))
    _one_clear_line(result, f"cannot bag {source} into {out}", "No space left on device")
    assert "was removed" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [], "the partial staging folder (or a lock) was left"
    assert _listing(source) == before

    _remount(disk, "size=8m")
    again = cli("bag", "--output", str(out), "--processes", "1", str(source))
    assert again.exit_code == 0, again.stderr
    bagit.Bag(str(out / "papers")).validate()


# -- cablekeep run: bag.output, the CDXJ index in the work dir, the bag ------------------------------------


def test_run_output_that_is_a_file(tmp_path: Path, write_manifest: Callable[..., Path], cli: Cli) -> None:
    (tmp_path / "bags").write_text("in the way\n")
    result = cli("run", "--quiet", str(write_manifest()))
    _one_clear_line(result, f"{tmp_path / 'bags'} is a file")


def test_run_output_on_a_read_only_folder(
    tmp_path: Path, write_manifest: Callable[..., Path], cli: Cli, mount: Callable[..., Path]
) -> None:
    read_only = mount("ro", "size=1m", "ro")
    result = cli("run", "--quiet", str(write_manifest(bag={"output": str(read_only / "bags")})))
    _one_clear_line(result, str(read_only / "bags"), "Read-only file system")


def _used(point: Path) -> int:
    stat = os.statvfs(point)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


# how much room the disk has left once the crawl is done: the crawl state, the export (index first) or the
# bag runs out of space first, or the bag is finished and only recording it fails
@pytest.mark.parametrize("room", [0, 40_960, 53_248, 65_536])
def test_run_whose_export_or_bag_does_not_fit(
    tmp_path: Path, write_manifest: Callable[..., Path], cli: Cli, mount: Callable[..., Path], room: int
) -> None:
    """The crawl is done; the disk then holds only ``room`` bytes more: the run fails cleanly, the crawl is
    kept, and the same command finishes once there is room."""
    disk = mount("disk", "size=64m")
    manifest_path = write_manifest(bag={"output": str(disk / "bags")}, follow={"depth": 2})
    manifest = load_manifest(manifest_path)
    workdir = work_dir(manifest)
    Crawl(manifest, workdir).run()
    crawled = _listing(workdir / "warc")
    _remount(disk, f"size={_used(disk) + room}")

    result = cli("run", "--quiet", str(manifest_path))
    _one_clear_line(result)
    assert not list((disk / "bags").glob(".staging-*")), "the partial bag was left"
    finished = list((disk / "bags").glob("test-cables-*"))
    for bag in finished:  # the bag was made, recording it in the crawl state failed: it is whole
        bagit.Bag(str(bag)).validate()
    if not finished:
        assert not (workdir / "export").exists(), "the partial export was left"
    assert _listing(workdir / "warc") == crawled, "the crawl was damaged"

    _remount(disk, "size=64m")
    again = cli("run", "--quiet", str(manifest_path))
    assert again.exit_code == 0, again.stderr
    (bag,) = (disk / "bags").glob("test-cables-*")
    bagit.Bag(str(bag)).validate()


def test_index_that_does_not_fit(tmp_path: Path, mount: Callable[..., Path]) -> None:
    """The CDXJ index on a full disk: OutputError naming it and why, and no half-written index left."""
    from cablekeep.capture.cdxj import write_sorted
    from cablekeep.errors import OutputError

    disk = mount("disk", "size=64k")
    lines = (f"org,example)/page/{i} 20260101000000 {{\"url\": \"http://example.org/page/{i}\"}}" for i in range(5000))
    with pytest.raises(OutputError) as caught:
        write_sorted(lines, disk / "export" / "index.cdxj", run_lines=1000)
    assert f"cannot write the index {disk / 'export' / 'index.cdxj'}: No space left on device" in str(caught.value)
    assert sorted(p.name for p in (disk / "export").iterdir()) == [], "a partial index or sort run was left"
