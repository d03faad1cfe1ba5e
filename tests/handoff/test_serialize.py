"""Serializing a bag: one folder named like the bag, verified as it is and by bagit-python unpacked, crash-safe."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import bagit
import pytest

from cablekeep.bagging.build import bag_directory
from cablekeep.errors import UsageError
from cablekeep.fixity.serialized import verify_serialized
from cablekeep.handoff.serialize import serialize

SRC = Path(__file__).resolve().parents[2] / "src"


def make_bag(tmp_path: Path, name: str = "andijon-2005", big: int = 0) -> Path:
    source = tmp_path / "src" / name
    (source / "cables" / "2005").mkdir(parents=True)
    (source / "cables" / "2005" / "05TASHKENT1.txt").write_text("UNCLASSIFIED\n", encoding="utf-8")
    (source / "cables" / "2005" / "05TASHKENT2.txt").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (source / "index.csv").write_text("id\n05TASHKENT1\n", encoding="utf-8")
    if big:
        with open(source / "big.bin", "wb") as out:
            out.truncate(big)
    bag_directory(
        source,
        dest_parent=tmp_path / "bags",
        in_place=False,
        algorithms=("sha256",),
        processes=1,
        clock=lambda: datetime(2026, 1, 2, tzinfo=timezone.utc),
        make_id=lambda: "urn:uuid:00000000-0000-4000-8000-000000000002",
    )
    return tmp_path / "bags" / name


def names_in(archive: Path) -> list[str]:
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            return zf.namelist()
    with tarfile.open(archive) as tar:
        return tar.getnames()


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "zip"])
def test_a_serialized_bag_verifies_as_it_is_and_unpacked(tmp_path: Path, fmt: str) -> None:
    bag = make_bag(tmp_path)
    result = serialize(bag, fmt, tmp_path / "out")
    assert result.path == tmp_path / "out" / f"andijon-2005.{fmt}" and result.fmt == fmt and result.files == 7
    report = verify_serialized(result.path)
    assert report.ok and report.files_checked > 0, report.problems
    names = names_in(result.path)
    assert names[0].rstrip("/") == "andijon-2005" and names[1] == "andijon-2005/bagit.txt"
    assert all(name == "andijon-2005/" or name.startswith("andijon-2005") for name in names)
    assert names.index("andijon-2005/data/cables/2005/05TASHKENT1.txt") > names.index("andijon-2005/tagmanifest-sha256.txt")
    # The checksum beside it, in sha256sum format, is the archive's.
    expected = hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.sha256 == expected and result.size == result.path.stat().st_size
    assert result.checksum_path.read_text(encoding="utf-8") == f"{expected}  andijon-2005.{fmt}\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"andijon-2005.{fmt}", f"andijon-2005.{fmt}.sha256"]
    # bagit-python, the independent checker, on the unpacked copy.
    unpacked = tmp_path / "unpacked"
    if fmt == "zip":
        with zipfile.ZipFile(result.path) as zf:
            zf.extractall(unpacked)
    else:
        with tarfile.open(result.path) as tar:
            tar.extractall(unpacked, filter="data")
    assert [p.name for p in unpacked.iterdir()] == ["andijon-2005"]
    bagit.Bag(str(unpacked / "andijon-2005")).validate()


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "zip"])
def test_the_same_bag_gives_the_same_archive(tmp_path: Path, fmt: str) -> None:
    bag = make_bag(tmp_path)
    first = serialize(bag, fmt, tmp_path / "one")
    second = serialize(bag, fmt, tmp_path / "two")
    assert first.sha256 == second.sha256


def test_an_archive_already_there_is_never_overwritten(tmp_path: Path) -> None:
    bag = make_bag(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "andijon-2005.tar").write_bytes(b"the user's")
    (tmp_path / "out" / "andijon-2005.tar.sha256").write_text("theirs  andijon-2005.tar\n")
    with pytest.raises(UsageError, match="already exists"):
        serialize(bag, "tar", tmp_path / "out")
    assert (tmp_path / "out" / "andijon-2005.tar").read_bytes() == b"the user's"
    with pytest.raises(UsageError, match="inside the bag"):
        serialize(bag, "tar", bag / "data")
    with pytest.raises(UsageError, match="unknown serialization"):
        serialize(bag, "rar", tmp_path / "out")


def test_links_in_a_bag_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    bag = make_bag(tmp_path)
    (bag / "data" / "link").symlink_to("/etc/passwd")
    with pytest.raises(UsageError, match="links or special files.*data/link"):
        serialize(bag, "tar", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


_KILLABLE = """
import sys
from pathlib import Path
from cablekeep.handoff.serialize import serialize
serialize(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
"""


def test_a_killed_serialization_leaves_nothing_that_looks_finished(tmp_path: Path) -> None:
    bag = make_bag(tmp_path)
    with open(bag / "data" / "random.bin", "wb") as out:  # slow to gzip; the manifest is not rewritten
        out.write(os.urandom(64 << 20))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(bag), "tar.gz", str(out_dir)], env=env)
    temp = out_dir / ".andijon-2005.tar.gz.open"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (temp.exists() and temp.stat().st_size > (1 << 20)):
        assert child.poll() is None, "the serialization ended before it could be killed"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert sorted(p.name for p in out_dir.iterdir()) == [".andijon-2005.tar.gz.open"]
    # The next serialization removes what the killed one left, and finishes.
    (bag / "data" / "random.bin").unlink()
    result = serialize(bag, "tar.gz", out_dir)
    assert sorted(p.name for p in out_dir.iterdir()) == ["andijon-2005.tar.gz", "andijon-2005.tar.gz.sha256"]
    assert verify_serialized(result.path).ok


_KILLED_AT_A_RENAME = """
import os, signal, sys
from pathlib import Path
from cablekeep.handoff.serialize import serialize
renames, die_after = [0], int(sys.argv[4])
real_rename, real_replace = os.rename, os.replace
def counted(real):
    def rename(src, dst):
        real(src, dst)
        renames[0] += 1
        if renames[0] == die_after:  # a crash (power cut, OOM kill) right after this rename
            os.kill(os.getpid(), signal.SIGKILL)
    return rename
os.rename, os.replace = counted(real_rename), counted(real_replace)
serialize(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
"""


@pytest.mark.parametrize("die_after", [1, 2])
def test_a_checksum_is_never_left_beside_an_archive_it_does_not_describe(tmp_path: Path, die_after: int) -> None:
    bag = make_bag(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.run([sys.executable, "-c", _KILLED_AT_A_RENAME, str(bag), "tar", str(out_dir), str(die_after)],
                           env=env)
    assert child.returncode == -signal.SIGKILL
    archive, checksum = out_dir / "andijon-2005.tar", out_dir / "andijon-2005.tar.sha256"
    left = sorted(p.name for p in out_dir.iterdir() if not p.name.startswith("."))
    # Killed after the first rename: the archive is finished and in place, its checksum not yet.
    assert left == (["andijon-2005.tar"] if die_after == 1 else ["andijon-2005.tar", "andijon-2005.tar.sha256"])
    assert verify_serialized(archive).ok
    expected = hashlib.sha256(archive.read_bytes()).hexdigest()
    if die_after == 1:  # the next serialization of the same bag finishes the job: the missing checksum
        before = archive.stat().st_ino
        again = serialize(bag, "tar", out_dir)
        assert (again.path, again.sha256, archive.stat().st_ino) == (archive, expected, before)
        assert sorted(p.name for p in out_dir.iterdir()) == ["andijon-2005.tar", "andijon-2005.tar.sha256"]
    assert checksum.read_text(encoding="utf-8") == f"{expected}  andijon-2005.tar\n"


def test_an_archive_without_its_checksum_that_is_not_this_bags_is_kept_and_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "andijon-2005.tar").write_bytes(b"the user's")
    with pytest.raises(UsageError, match="without its .sha256 and is not this bag's archive"):
        serialize(bag, "tar", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["andijon-2005.tar"]
    assert (tmp_path / "out" / "andijon-2005.tar").read_bytes() == b"the user's"


# VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork and exec.
_MEASURE = """
import sys
from pathlib import Path
from cablekeep.handoff.serialize import serialize
serialize(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def test_memory_stays_flat_for_a_large_file(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, big=384 << 20)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for fmt in ("tar", "zip"):
        out = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(bag), fmt, str(tmp_path / fmt)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        peak_kib = int(out.split()[-1])
        assert peak_kib < 100 * 1024, f"{fmt}: peak RSS {peak_kib} KiB for a 384 MiB file"
