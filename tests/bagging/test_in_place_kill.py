"""`cablekeep bag --in-place` killed (SIGKILL) at several moments, then the same command again.

Each run bags a folder of a few thousand files in a real process, polls the folder's state until the
chosen moment (the folder moved into the staging directory; a share of the payload manifest written;
the tag files being written), kills the process and its hashing workers with SIGKILL, checks that
every original file is still there whole (in the folder, or in the staging directory's ``data/``),
and runs the same command again: the bag is valid for bagit-python and holds every original file
with its content, and nothing of cablekeep's is left beside the folder. One in-place bagging of a
folder at a time: a second one, while the lock beside the folder is held, exits 7 and touches nothing.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import bagit
import pytest

from cablekeep.bagging.build import IN_PLACE_PREFIX, STAGING_PREFIX
from cablekeep.bagging.staging import lock_beside
from cablekeep.locks import exclusive

from ..conftest import CLI_COMMAND, run_cli

FILES = 3000
ALGORITHMS = ("sha512", "sha384", "sha256", "sha1")


def _contents(root: Path) -> dict[str, str]:
    """Every file under ``root``: relative path -> sha256 of its content."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder of FILES files in nested folders, sizes from 0 to 48 KB; and its contents."""
    root = tmp_path_factory.mktemp("original") / "papers"
    rng = random.Random(11)
    for i in range(FILES):
        path = root / f"box{i % 23}" / f"folder{i % 7}" / f"item {i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randrange(0, 48_000)))
    return root, _contents(root)


def _command(source: Path, processes: int) -> list[str]:
    algorithms = [arg for name in ALGORITHMS for arg in ("--algorithm", name)]
    return ["bag", "--in-place", *algorithms, "--processes", str(processes), str(source)]


def _manifest_size(staging: Path) -> int:
    try:
        return (staging / "manifest-sha512.txt").stat().st_size
    except FileNotFoundError:
        return -1


def _at_moment(moment: str, staging: Path, full_manifest: int) -> bool:
    if moment == "moved":
        return (staging / "data").is_dir()
    if moment == "tags":
        return (staging / "bagit.txt").exists()
    share = float(moment)
    return _manifest_size(staging) >= share * full_manifest


# moved: the folder is in the staging directory, no manifest line yet; a share: that much of the payload
# manifest written; tags: the payload is hashed and the tag files are being written
# (one hashing process or a pool of two, alternately)
MOMENTS = [("moved", 1), ("0.05", 2), ("0.3", 1), ("0.6", 2), ("0.9", 1), ("tags", 2)]


@pytest.mark.parametrize(("moment", "processes"), MOMENTS)
def test_killed_in_place_bagging_is_finished_by_the_same_command(
    tmp_path: Path, original: tuple[Path, dict[str, str]], moment: str, processes: int
) -> None:
    root, contents = original
    source = tmp_path / "papers"
    shutil.copytree(root, source)
    staging = tmp_path / f"{IN_PLACE_PREFIX}papers"
    # a line of manifest-sha512.txt: 128 hex digits, two spaces, data/<path>, newline
    full_manifest = sum(128 + 2 + len("data/" + rel) + 1 for rel in contents)

    process = subprocess.Popen(
        [*CLI_COMMAND, *_command(source, processes)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and not _at_moment(moment, staging, full_manifest) and time.monotonic() < deadline:
        time.sleep(0.0005)
    if process.poll() is not None:
        pytest.skip(f"the bagging ended (exit {process.returncode}) before the moment {moment!r} was seen")
    os.killpg(process.pid, signal.SIGKILL)  # the command and its hashing workers
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    # what the killed run left: every original file, whole, in the folder or in the staging directory
    if source.exists():
        left = source / "data" if (source / "bagit.txt").exists() else source
    else:
        left = staging / "data"
    assert _contents(left) == contents, "a file was lost or changed by the killed run"

    again = run_cli(*_command(source, processes))
    assert again.exit_code == 0, again.stderr
    assert "Traceback" not in again.stderr
    bagit.Bag(str(source)).validate()
    assert _contents(source / "data") == contents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["papers"], "a staging directory or lock was left"


def test_a_stale_staging_directory_without_payload_is_removed_and_named(tmp_path: Path) -> None:
    source = tmp_path / "papers"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_text("a\n")
    staging = tmp_path / f"{IN_PLACE_PREFIX}papers"
    staging.mkdir()
    (staging / "manifest-sha512.txt").write_text("half a line")
    result = run_cli("bag", "--in-place", str(source))
    assert result.exit_code == 0, result.stderr
    assert f"removed {staging}" in result.stderr
    bagit.Bag(str(source)).validate()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["papers"]


def test_one_in_place_bagging_of_a_folder_at_a_time(tmp_path: Path) -> None:
    source = tmp_path / "papers"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    with exclusive(lock_beside(source), f"folder {source}"):
        held = run_cli("bag", "--in-place", str(source))
        assert held.exit_code == 7, held.stderr
        assert "in use by process" in held.stderr and str(os.getpid()) in held.stderr
        assert sorted(p.name for p in source.iterdir()) == ["a.txt"], "the folder was touched"
        assert not (tmp_path / f"{IN_PLACE_PREFIX}papers").exists()
    done = run_cli("bag", "--in-place", str(source))
    assert done.exit_code == 0, done.stderr
    bagit.Bag(str(source)).validate()


# -- a copy killed mid-way: its staging folder is removed by the next run of the same command -----------------


def test_killed_copy_leaves_a_staging_folder_that_the_next_run_removes(
    tmp_path: Path, original: tuple[Path, dict[str, str]]
) -> None:
    root, contents = original
    out = tmp_path / "bags"
    staging = out / f"{STAGING_PREFIX}papers"
    command = ["bag", "--output", str(out), "--processes", "2", str(root)]
    full_manifest = sum(128 + 2 + len("data/" + rel) + 1 for rel in contents)
    process = subprocess.Popen([*CLI_COMMAND, *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while process.poll() is None and _manifest_size(staging) < 0.3 * full_manifest and time.monotonic() < deadline:
        time.sleep(0.0005)
    assert process.poll() is None, "the copy ended before the kill point"
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert staging.is_dir() and not (out / "papers").exists()

    again = run_cli(*command)
    assert again.exit_code == 0, again.stderr
    assert again.stderr == f"cablekeep: removed {staging}, left by an interrupted run\n"
    assert sorted(p.name for p in out.iterdir()) == ["papers"]
    bagit.Bag(str(out / "papers")).validate()
    assert _contents(out / "papers" / "data") == contents and _contents(root) == contents


def test_a_staging_folder_of_a_live_copy_is_left_alone(tmp_path: Path) -> None:
    source = tmp_path / "papers"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    out = tmp_path / "bags"
    staging = out / f"{STAGING_PREFIX}papers"
    (staging / "data").mkdir(parents=True)
    (staging / "data" / "a.txt").write_text("being copied\n")
    with exclusive(lock_beside(out / "papers"), "bag"):  # as a copy still running holds it
        held = run_cli("bag", "--output", str(out), str(source))
        assert held.exit_code == 7, held.stderr
        assert (staging / "data" / "a.txt").read_text() == "being copied\n"
    done = run_cli("bag", "--output", str(out), str(source))
    assert done.exit_code == 0 and f"removed {staging}" in done.stderr
    bagit.Bag(str(out / "papers")).validate()
