"""Temporary folders named by pid: a killed process's are removed by the next, a live one's never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cablekeep.scratch import remove_stale, scratch_folder

_HOLDS = ("import sys, time\nfrom cablekeep.scratch import make_scratch\n"
          "print(make_scratch(sys.argv[1]), flush=True)\ntime.sleep(120)\n")


def _gone_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


def test_only_folders_of_gone_processes_with_the_prefix_are_removed(tmp_path: Path) -> None:
    gone = _gone_pid()
    stale = tmp_path / f"cablekeep-x-{gone}-abc"
    live = tmp_path / f"cablekeep-x-{os.getpid()}-def"
    for folder in (stale, live, tmp_path / "cablekeep-x-notapid", tmp_path / f"cablekeep-y-{gone}-a", tmp_path / f"x-{gone}"):
        (folder / "inside").mkdir(parents=True)
    (tmp_path / f"cablekeep-x-{gone}-file").write_text("a file, not a folder")
    (tmp_path / f"cablekeep-x-{gone}-link").symlink_to(live)
    assert remove_stale(tmp_path, "cablekeep-x-") == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        live.name, "cablekeep-x-notapid", f"cablekeep-y-{gone}-a", f"x-{gone}", f"cablekeep-x-{gone}-file",
        f"cablekeep-x-{gone}-link"])
    assert (live / "inside").is_dir(), "the link to a live folder was not followed"


def test_a_folder_a_kill_9_left_is_removed_by_the_next_and_a_finished_one_by_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDS, "cablekeep-t-"], env=env, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    left = Path(holder.stdout.readline().strip())
    holder.stdout.close()
    assert left.parent == tmp_path and left.name.startswith(f"cablekeep-t-{holder.pid}-")
    (left / "work").write_text("half done")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert left.is_dir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_folder("cablekeep-t-") as mine:
        assert not left.exists() and mine.is_dir() and mine.name.startswith(f"cablekeep-t-{os.getpid()}-")
        (mine / "work").write_text("x")
    assert list(tmp_path.iterdir()) == []
