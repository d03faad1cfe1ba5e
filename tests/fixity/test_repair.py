"""Comparing two copies of a bag and repairing one from the other, on real bags and real damage."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import bagit
import pytest

from cablekeep.errors import UsageError
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.history import FixityHistory
from cablekeep.errors import LockedError
from cablekeep.fixity.repair import TEMP_PREFIX, bag_lock_path, compare_copies, repair
from cablekeep.locks import exclusive

T0 = datetime(2026, 2, 1, tzinfo=timezone.utc)
FILES = {
    "a.txt": b"alpha\n" * 50,
    "b.txt": b"bravo\n" * 40,
    "deep/c.txt": b"charlie\n" * 30,
    "deep/er/d.txt": b"delta\n" * 20,
}


def make_bag(root: Path, files: dict[str, bytes] = FILES, identifier: str = "urn:uuid:00000000-0000-4000-8000-0000000000aa") -> Path:
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    bagit.make_bag(str(root), {"External-Identifier": identifier}, checksums=["sha256", "sha512"])
    return root


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    bag = make_bag(tmp_path / "primary" / "bag")
    copy = tmp_path / "replica" / "bag"
    shutil.copytree(bag, copy)
    return bag, copy


@pytest.fixture
def history(tmp_path: Path) -> Iterator[FixityHistory]:
    with FixityHistory(tmp_path / "fixity.sqlite") as h:
        yield h


def snapshot(root: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every entry under root: content (or link target) and mtime in nanoseconds, links not followed."""
    out: dict[str, tuple[bytes | str, int]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            info = path.lstat()
            if path.is_symlink():
                out[str(path.relative_to(root))] = (os.readlink(path), info.st_mtime_ns)
            elif path.is_file():
                out[str(path.relative_to(root))] = (path.read_bytes(), info.st_mtime_ns)
            else:
                out[str(path.relative_to(root))] = ("dir", info.st_mtime_ns)
    return out


def flip(path: Path, at: int = 3) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- compare


def test_identical_copies_compare_clean(pair: tuple[Path, Path]) -> None:
    comparison = compare_copies(*pair, processes=1)
    assert comparison.ok and comparison.same_bag and comparison.differences == ()


def test_compare_names_each_file_and_each_side_s_verdict(pair: tuple[Path, Path]) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    (bag / "data" / "b.txt").unlink()
    flip(copy / "data" / "deep" / "c.txt")
    flip(bag / "data" / "deep" / "er" / "d.txt")
    flip(copy / "data" / "deep" / "er" / "d.txt", at=5)
    comparison = compare_copies(bag, copy, processes=1)
    assert not comparison.ok and comparison.same_bag
    rows = {(d.path, d.in_bag, d.in_copy, d.repairable) for d in comparison.differences}
    assert rows == {
        ("data/a.txt", "changed", "ok", True),
        ("data/b.txt", "missing", "ok", True),
        ("data/deep/c.txt", "ok", "changed", False),
        ("data/deep/er/d.txt", "changed", "changed", False),
    }
    assert comparison.to_json()["schema"] == "cablekeep.compare/1"


def test_compare_says_when_two_bags_are_not_copies(tmp_path: Path) -> None:
    one = make_bag(tmp_path / "one")
    other = make_bag(tmp_path / "other", {**FILES, "a.txt": b"another alpha\n"})
    comparison = compare_copies(one, other, processes=1)
    assert not comparison.same_bag and not comparison.ok
    (difference,) = [d for d in comparison.differences if d.path.startswith("data/")]
    assert (difference.path, difference.in_bag, difference.in_copy, difference.manifests_agree) == ("data/a.txt", "ok", "ok", False)
    assert not difference.repairable


# --------------------------------------------------------------------------- repair


def test_repair_replaces_changed_and_missing_files_with_good_ones(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    shutil.rmtree(bag / "data" / "deep" / "er")  # a missing file in a missing directory
    copy_before = snapshot(copy)
    result = repair(bag, copy, history, clock=lambda: T0, make_id=lambda: "repair-1", processes=1)
    assert not result.before.ok and result.after.ok and result.ok
    assert result.replaced == ("data/a.txt", "data/deep/er/d.txt") and result.unrepairable == ()
    for name in ("a.txt", "deep/er/d.txt"):
        assert (bag / "data" / name).read_bytes() == FILES[name]
        assert (bag / "data" / name).stat().st_mtime_ns == (copy / "data" / name).stat().st_mtime_ns
    assert snapshot(copy) == copy_before  # the source is only read
    assert not list(bag.rglob(f"{TEMP_PREFIX}*"))
    bagit.Bag(str(bag)).validate()
    (event,) = history.events_for(bag)
    assert (event.event_type, event.outcome, event.paths, event.event_id) == (
        "repair", "valid", ("data/a.txt", "data/deep/er/d.txt"), "repair-1",
    )
    assert "replaced 2 file(s)" in event.detail and str(copy) in event.detail


def test_when_neither_copy_is_good_nothing_changes(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    flip(copy / "data" / "a.txt", at=7)
    (bag / "data" / "b.txt").unlink()
    (copy / "data" / "b.txt").unlink()
    before = snapshot(bag)
    result = repair(bag, copy, history, clock=lambda: T0, processes=1)
    assert snapshot(bag) == before  # bytes, mtimes, and no new entries (directories included)
    assert result.replaced == () and not result.ok
    reasons = {u.path: u.reason for u in result.unrepairable}
    assert set(reasons) == {"data/a.txt", "data/b.txt"}
    assert "does not match the manifest either (sha256 and sha512 differ)" in reasons["data/a.txt"]
    assert "does not have it either" in reasons["data/b.txt"]
    (event,) = history.events_for(bag)
    assert event.event_type == "repair" and event.outcome == "invalid" and event.paths == ()
    assert "nothing was changed" in event.detail and "2 file(s) not repaired" in event.detail


def test_only_files_the_copy_has_good_are_replaced(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    flip(bag / "data" / "b.txt")
    flip(copy / "data" / "b.txt")  # the same damage in both: the copy's b.txt is no better
    b_before = snapshot(bag)["data/b.txt"]
    result = repair(bag, copy, history, processes=1)
    assert result.replaced == ("data/a.txt",)
    assert [u.path for u in result.unrepairable] == ["data/b.txt"]
    assert snapshot(bag)["data/b.txt"] == b_before
    assert {(p.kind, p.path) for p in result.after.problems} == {("changed", "data/b.txt")}


def test_problems_that_are_not_failing_files_are_left_alone(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    (bag / "data" / "stray.txt").write_bytes(b"not in any manifest\n")
    before = snapshot(bag)
    result = repair(bag, copy, history, processes=1)
    assert result.replaced == () and result.unrepairable == () and not result.ok
    assert snapshot(bag) == before
    assert "left alone" in result.event.detail and result.event.event_type == "repair"


def test_a_valid_bag_needs_no_repair(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    before = snapshot(bag)
    result = repair(bag, copy, history, processes=1)
    assert result.ok and result.replaced == () and snapshot(bag) == before
    assert [e.event_type for e in history.events_for(bag)] == ["fixity check"]


def test_a_different_bag_or_the_bag_itself_is_refused(pair: tuple[Path, Path], tmp_path: Path, history: FixityHistory) -> None:
    bag, _copy = pair
    flip(bag / "data" / "a.txt")
    other = make_bag(tmp_path / "other", identifier="urn:uuid:00000000-0000-4000-8000-0000000000bb")
    before = snapshot(bag)
    with pytest.raises(UsageError, match="not a copy"):
        repair(bag, other, history, processes=1)
    with pytest.raises(UsageError, match="itself"):
        repair(bag, bag, history, processes=1)
    assert snapshot(bag) == before and history.events_for(bag) == []


def test_links_in_the_copy_are_never_followed(pair: tuple[Path, Path], tmp_path: Path, history: FixityHistory) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    flip(bag / "data" / "deep" / "c.txt")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.txt").write_bytes(FILES["a.txt"])  # the right bytes, but reached through a link
    (copy / "data" / "a.txt").unlink()
    (copy / "data" / "a.txt").symlink_to(outside / "a.txt")
    shutil.copytree(copy / "data" / "deep", outside / "deep")
    shutil.rmtree(copy / "data" / "deep")
    (copy / "data" / "deep").symlink_to(outside / "deep")
    before = snapshot(bag)
    result = repair(bag, copy, history, processes=1)
    assert result.replaced == () and snapshot(bag) == before
    reasons = {u.path: u.reason for u in result.unrepairable}
    assert "symbolic links are not followed" in reasons["data/a.txt"]
    assert "symbolic link" in reasons["data/deep/c.txt"]


def test_a_link_in_the_bag_is_replaced_not_written_through(pair: tuple[Path, Path], tmp_path: Path, history: FixityHistory) -> None:
    bag, copy = pair
    target = tmp_path / "precious.txt"
    target.write_bytes(b"not part of any bag\n")
    (bag / "data" / "b.txt").unlink()
    (bag / "data" / "b.txt").symlink_to(target)
    result = repair(bag, copy, history, processes=1)
    assert result.replaced == ("data/b.txt",) and result.ok
    assert not (bag / "data" / "b.txt").is_symlink() and (bag / "data" / "b.txt").read_bytes() == FILES["b.txt"]
    assert target.read_bytes() == b"not part of any bag\n"


def test_a_damaged_payload_manifest_is_repaired_first(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    manifest = bag / "manifest-sha256.txt"
    manifest.write_bytes(manifest.read_bytes().replace(b"data/a.txt", b"data/A.txt"))
    flip(bag / "data" / "b.txt")
    result = repair(bag, copy, history, processes=1)
    assert result.replaced == ("manifest-sha256.txt", "data/b.txt") and result.ok
    assert manifest.read_bytes() == (copy / "manifest-sha256.txt").read_bytes()
    bagit.Bag(str(bag)).validate()


def test_a_repaired_bag_verifies_in_both_modes_of_the_engine(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    (bag / "data" / "deep" / "c.txt").write_bytes(b"")
    repair(bag, copy, history, processes=1)
    assert verify_bag(bag, processes=1).ok and verify_bag(bag, fast=True).ok


def test_a_killed_repair_leaves_temporary_files_the_next_repair_removes(
    pair: tuple[Path, Path], history: FixityHistory
) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    # what a repair killed between creating and renaming its temporary copies leaves behind
    (bag / "data" / f"{TEMP_PREFIX}0123.tmp").write_bytes(b"half a file")
    (bag / "data" / "deep" / f"{TEMP_PREFIX}4567.tmp").write_bytes(b"another half")
    (bag / "data" / "deep" / "not-ours.tmp").write_bytes(b"someone else's")
    assert {p.kind for p in verify_bag(bag, processes=1).problems} >= {"unexpected"}
    result = repair(bag, copy, history, processes=1)
    assert result.cleaned == (f"data/{TEMP_PREFIX}0123.tmp", f"data/deep/{TEMP_PREFIX}4567.tmp")
    assert result.to_json()["cleaned"] == list(result.cleaned)
    assert not list(bag.rglob(f"{TEMP_PREFIX}*"))
    assert (bag / "data" / "deep" / "not-ours.tmp").exists()  # only cablekeep's own leftovers go
    assert result.replaced == ("data/a.txt",)


def test_one_repair_of_a_bag_at_a_time(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    with exclusive(bag_lock_path(bag), "bag"):
        with pytest.raises(LockedError, match=f"process {os.getpid()}"):
            repair(bag, copy, history, processes=1)
    assert (bag / "data" / "a.txt").read_bytes() != FILES["a.txt"]  # untouched while locked
    assert repair(bag, copy, history, processes=1).ok
    assert not any(p.name.endswith(".lock") for p in bag.rglob("*"))  # the lock is beside the bag, not in it
    assert not any(p.name.endswith(".lock") for p in bag.parent.iterdir())  # and gone once the repair ends


def test_a_fifo_in_the_copy_is_never_opened(pair: tuple[Path, Path], history: FixityHistory) -> None:
    bag, copy = pair
    flip(bag / "data" / "a.txt")
    (copy / "data" / "a.txt").unlink()
    os.mkfifo(copy / "data" / "a.txt")  # opening it for reading would block for ever
    result = repair(bag, copy, history, processes=1)
    assert not result.ok and result.replaced == ()
    (unrepairable,) = result.unrepairable
    assert unrepairable.path == "data/a.txt" and "not a regular file" in unrepairable.reason
