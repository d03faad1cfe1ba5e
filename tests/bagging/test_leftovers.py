"""What killed runs leave is removed by the next run of the same command, which says so; never what a
live process holds, never what is not its own. And the lock beside a bag that removes itself when done."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from cablekeep import locks
from cablekeep.bagging.build import STAGING_PREFIX
from cablekeep.errors import LockedError
from cablekeep.locks import LOCK_SUFFIX, exclusive

from ..conftest import CliResult

Cli = Callable[..., CliResult]


def test_run_removes_its_collections_stale_staging_folders_and_says_so(
    tmp_path: Path, write_manifest: Callable[..., Path], cli: Cli
) -> None:
    bags = tmp_path / "bags"
    stale = [bags / f"{STAGING_PREFIX}test-cables-20250101T000000Z", bags / f"{STAGING_PREFIX}test-cables-20250102T030405Z"]
    for staging in stale:
        (staging / "data" / "warc").mkdir(parents=True)
        (staging / "data" / "warc" / "half.warc.gz").write_bytes(b"\0" * 10_000)
    others = [bags / f"{STAGING_PREFIX}test-cables-2-20250101T000000Z",  # collection test-cables-2's
              bags / f"{STAGING_PREFIX}other-20250101T000000Z", bags / f"{STAGING_PREFIX}test-cables-notes"]
    for other in others:
        other.mkdir(parents=True)
    result = cli("run", "--quiet", str(write_manifest()))
    assert result.exit_code == 0, result.stderr
    for staging in stale:
        assert f"cablekeep: removed {staging}, left by an interrupted run" in result.stderr.splitlines()
        assert not staging.exists()
    assert all(other.is_dir() for other in others), "another collection's staging folder was removed"
    assert not any(str(other) in result.stderr for other in others)
    bag = next(bags.glob("test-cables-2*Z"))
    bagit.Bag(str(bag)).validate()

    (bags / f"{STAGING_PREFIX}test-cables-20250101T000000Z").mkdir()
    time.sleep(1.1)  # bag names carry the second the crawl started: a second run needs a second of its own
    as_json = cli("run", "--quiet", "--json", str(write_manifest()))
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout)["cleaned"] == [str(bags / f"{STAGING_PREFIX}test-cables-20250101T000000Z")]


def test_run_leaves_staging_folders_alone_while_another_run_holds_the_collection(
    tmp_path: Path, write_manifest: Callable[..., Path], cli: Cli
) -> None:
    bags = tmp_path / "bags"
    staging = bags / f"{STAGING_PREFIX}test-cables-20250101T000000Z"
    staging.mkdir(parents=True)
    with exclusive(bags / ".work" / f"test-cables{LOCK_SUFFIX}", "collection"):
        result = cli("run", "--quiet", str(write_manifest()))
    assert result.exit_code == 7, result.stderr
    assert staging.is_dir()


def test_a_lock_that_removes_itself_leaves_nothing_and_never_lets_two_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / ".papers.lock"
    with exclusive(lock, "folder", remove=True):
        assert lock.exists()
        with pytest.raises(LockedError):
            with exclusive(lock, "folder", remove=True):
                pass  # pragma: no cover - never entered
    assert not lock.exists()

    # The race removal opens: we open the lock file, its holder unlinks it and lets go, we lock the
    # unlinked file, and a third process locks a new one. The file we locked must be given up.
    real_flock = fcntl.flock
    third: list[int] = []

    def holder_finishes_between_open_and_flock(fd: int, operation: int) -> None:
        if not third:
            os.unlink(lock)  # the holder removes it ...
            newcomer = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)  # ... and a third process locks a new one
            real_flock(newcomer, fcntl.LOCK_EX | fcntl.LOCK_NB)
            third.append(newcomer)
        real_flock(fd, operation)

    lock.write_text("")
    monkeypatch.setattr(locks.fcntl, "flock", holder_finishes_between_open_and_flock)
    try:
        with pytest.raises(LockedError):
            with exclusive(lock, "folder", remove=True):
                pass  # pragma: no cover - two holders at once
    finally:
        os.close(third[0])
