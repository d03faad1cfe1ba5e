"""bag_directory: any directory of files as a BagIt 1.0 bag, checked by bagit-python and verify_bag."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import bagit
import pytest

from cablekeep.bagging import build as bag_module
from cablekeep.bagging.build import IN_PLACE_PREFIX, STAGING_PREFIX, bag_directory
from cablekeep.errors import OutputError, UsageError
from cablekeep.fixity.verify import verify_bag

ALGORITHMS = ("sha256", "sha512")
WHEN = datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)


def fill(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


FILES = {
    "index.txt": b"index\n",
    "cables/05ALMATY2503.html": b"<html>cable</html>\n" * 50,
    "cables/deeper/still/x.bin": bytes(range(256)) * 9,
    "with space/a file.txt": b"spaces\n",
    ".hidden": b"hidden files are payload too\n",
    "empty.txt": b"",
}


def bag_ok(path: Path) -> None:
    bagit.Bag(str(path)).validate()
    report = verify_bag(path)
    assert report.ok and report.problems == [], report.problems


def test_copy_mode_leaves_the_source_and_makes_a_valid_bag(tmp_path: Path) -> None:
    source = fill(tmp_path / "cables-2005", FILES)
    before = snapshot(source)
    ref = bag_directory(
        source,
        dest_parent=tmp_path / "out",
        in_place=False,
        algorithms=ALGORITHMS,
        info={"Source-Organization": "Test Archive", "External-Description": "two\nlines"},
        clock=lambda: WHEN,
        make_id=lambda: "urn:uuid:00000000-0000-0000-0000-000000000001",
    )
    assert snapshot(source) == before
    assert ref.path == tmp_path / "out/cables-2005" and ref.name == "cables-2005"
    assert ref.payload_files == len(FILES) and ref.payload_bytes == sum(map(len, FILES.values()))
    assert ref.algorithms == ALGORITHMS
    assert snapshot(ref.path / "data") == before
    info = (ref.path / "bag-info.txt").read_text()
    for line in ("Source-Organization: Test Archive", "External-Description: two\n  lines", "Bagging-Date: 2026-11-27",
                 "External-Identifier: urn:uuid:00000000-0000-0000-0000-000000000001",
                 f"Payload-Oxum: {ref.payload_oxum}"):
        assert line in info
    assert (ref.path / "bagit.txt").read_text() == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    bag_ok(ref.path)
    assert not list((tmp_path / "out").glob(".*"))  # no staging left


def test_copies_keep_permission_bits_and_times(tmp_path: Path) -> None:
    source = fill(tmp_path / "src", {"run.sh": b"#!/bin/sh\n"})
    os.chmod(source / "run.sh", 0o750)
    os.utime(source / "run.sh", (1_000_000_000, 1_000_000_000))
    ref = bag_directory(source, dest_parent=tmp_path / "out", in_place=False)
    copied = (ref.path / "data/run.sh").stat()
    assert copied.st_mode & 0o777 == 0o750 and int(copied.st_mtime) == 1_000_000_000


def test_in_place_moves_the_contents_into_data(tmp_path: Path) -> None:
    source = fill(tmp_path / "cables", FILES)
    os.chmod(source, 0o750)
    before = snapshot(source)
    ref = bag_directory(source, dest_parent=None, in_place=True, algorithms=ALGORITHMS)
    assert ref.path == source
    assert sorted(p.name for p in source.iterdir()) == [
        "bag-info.txt", "bagit.txt", "data", "manifest-sha256.txt", "manifest-sha512.txt",
        "tagmanifest-sha256.txt", "tagmanifest-sha512.txt",
    ]
    assert snapshot(source / "data") == before
    assert source.stat().st_mode & 0o777 == 0o750
    assert not list(tmp_path.glob(f"{IN_PLACE_PREFIX}*"))
    bag_ok(source)


@pytest.mark.parametrize("in_place", (True, False))
def test_many_files_in_a_pool_give_the_same_bag_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    files = {f"d{n % 7}/f{n:04d}.txt": f"file {n}\n".encode() * (n % 13) for n in range(600)}
    monkeypatch.setattr(bag_module, "BATCH_FILES", 16)  # many batches, several in flight
    manifests = []
    for processes in (1, 2):
        source = fill(tmp_path / f"p{processes}" / "src", files)
        dest = None if in_place else tmp_path / f"p{processes}" / "out"
        ref = bag_directory(source, dest_parent=dest, in_place=in_place, algorithms=ALGORITHMS, processes=processes)
        bag_ok(ref.path)
        manifests.append([(ref.path / f"manifest-{a}.txt").read_bytes() for a in ALGORITHMS])
    assert manifests[0] == manifests[1]


def test_newline_and_percent_in_names_are_percent_encoded(tmp_path: Path) -> None:
    source = fill(tmp_path / "odd", {"line\nbreak.txt": b"n", "100%.txt": b"p", "cr\rname.txt": b"r"})
    ref = bag_directory(source, dest_parent=tmp_path / "out", in_place=False, algorithms=("sha256",))
    listed = (ref.path / "manifest-sha256.txt").read_text()
    assert "data/line%0Abreak.txt" in listed and "data/100%25.txt" in listed and "data/cr%0Dname.txt" in listed
    assert verify_bag(ref.path).problems == []  # RFC 8493 2.1.3, BagIt 1.0


def test_bagit_python_accepts_newlines_but_not_percent_signs(tmp_path: Path) -> None:
    """bagit-python 1.9 decodes %0A and %0D but not %25, so it rejects an RFC 8493 name with '%'."""
    newline = bag_directory(fill(tmp_path / "nl", {"line\nbreak.txt": b"n"}), dest_parent=tmp_path / "o1",
                            in_place=False)
    bagit.Bag(str(newline.path)).validate()
    percent = bag_directory(fill(tmp_path / "pc", {"100%.txt": b"p"}), dest_parent=tmp_path / "o2", in_place=False)
    assert verify_bag(percent.path).ok
    with pytest.raises(bagit.BagValidationError):  # bagit-python's deviation; cablekeep keeps the RFC
        bagit.Bag(str(percent.path)).validate()


def test_an_empty_directory_is_bagged_with_an_empty_payload(tmp_path: Path) -> None:
    # as bagit.make_bag does (Payload-Oxum 0.0); the payload manifests are there, empty, as RFC 8493 wants
    (tmp_path / "empty/only/dirs").mkdir(parents=True)
    copy = bag_directory(tmp_path / "empty", dest_parent=tmp_path / "out", in_place=False, algorithms=ALGORITHMS)
    in_place = bag_directory(tmp_path / "empty", dest_parent=None, in_place=True, algorithms=ALGORITHMS)
    for ref in (copy, in_place):
        assert (ref.payload_oxum, ref.payload_files) == ("0.0", 0)
        assert (ref.path / "data/only/dirs").is_dir() and (ref.path / "manifest-sha256.txt").read_bytes() == b""
        assert bag_module.read_bag_info(ref.path)["Payload-Oxum"] == "0.0"
        bag_ok(ref.path)


def test_an_existing_bag_is_refused(tmp_path: Path) -> None:
    source = fill(tmp_path / "src", {"a.txt": b"a"})
    bag_directory(source, dest_parent=None, in_place=True)
    before = snapshot(source)
    with pytest.raises(UsageError, match="already a bag"):
        bag_directory(source, dest_parent=None, in_place=True)
    with pytest.raises(UsageError, match="already a bag"):
        bag_directory(source, dest_parent=tmp_path / "out", in_place=False)
    assert snapshot(source) == before


def test_an_existing_destination_is_refused(tmp_path: Path) -> None:
    source = fill(tmp_path / "src", {"a.txt": b"a"})
    (tmp_path / "out/src").mkdir(parents=True)
    with pytest.raises(OutputError, match="already exists"):
        bag_directory(source, dest_parent=tmp_path / "out", in_place=False)


@pytest.mark.parametrize("kind", ("file link", "dir link", "fifo"))
@pytest.mark.parametrize("in_place", (True, False))
def test_links_and_special_files_are_refused_before_anything_changes(tmp_path: Path, kind: str, in_place: bool) -> None:
    source = fill(tmp_path / "src", {"a.txt": b"a", "sub/b.txt": b"b"})
    if kind == "file link":
        (source / "sub/link.txt").symlink_to(source / "a.txt")
    elif kind == "dir link":
        (source / "elsewhere").symlink_to(tmp_path)
    else:
        os.mkfifo(source / "sub/pipe")
    listing = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(UsageError, match="symbolic link" if "link" in kind else "not a regular file"):
        bag_directory(source, dest_parent=None if in_place else tmp_path / "out", in_place=in_place)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == listing


def test_bad_calls(tmp_path: Path) -> None:
    source = fill(tmp_path / "src", {"a.txt": b"a"})
    with pytest.raises(UsageError):
        bag_directory(source, dest_parent=tmp_path / "out", in_place=True)
    with pytest.raises(UsageError):
        bag_directory(source, dest_parent=None, in_place=False)
    with pytest.raises(UsageError, match="unsupported"):
        bag_directory(source, dest_parent=None, in_place=True, algorithms=("crc32",))
    with pytest.raises(UsageError):
        bag_directory(source, dest_parent=None, in_place=True, info={"Bad: label": "x"})
    with pytest.raises(UsageError, match="inside"):
        bag_directory(source, dest_parent=source / "bags", in_place=False)
    with pytest.raises(UsageError, match="not a directory"):
        bag_directory(tmp_path / "absent", dest_parent=None, in_place=True)
    assert snapshot(source) == {"a.txt": b"a"}


# --------------------------------------------------------------------------- interrupted runs


class Boom(Exception):
    pass


@pytest.mark.parametrize("error", (OSError("disk full"), KeyboardInterrupt(), Boom()))
def test_an_interrupted_in_place_run_is_finished_by_a_rerun(tmp_path: Path, error: BaseException) -> None:
    source = fill(tmp_path / "cables", FILES)
    before = snapshot(source)

    def interrupted(progress: object) -> None:  # the public progress callback: the run stops mid-way
        raise error

    with pytest.raises((OutputError, KeyboardInterrupt, Boom)) as caught:
        bag_directory(source, dest_parent=None, in_place=True, processes=1, on_progress=interrupted)
    staging = tmp_path / f"{IN_PLACE_PREFIX}cables"
    if isinstance(error, OSError):
        assert str(staging / "data") in str(caught.value)  # the message says where the files are
    # the recognisable state: the directory has moved, whole, into the staging directory
    assert not source.exists() and snapshot(staging / "data") == before
    ref = bag_directory(source, dest_parent=None, in_place=True)
    assert ref.path == source and snapshot(source / "data") == before and not staging.exists()
    bag_ok(source)


def test_a_staging_directory_without_payload_is_removed(tmp_path: Path) -> None:
    source = fill(tmp_path / "cables", {"a.txt": b"a"})
    staging = tmp_path / f"{IN_PLACE_PREFIX}cables"
    staging.mkdir()
    (staging / "bagit.txt").write_text("left over\n")
    bag_ok(bag_directory(source, dest_parent=None, in_place=True).path)
    assert not staging.exists()


def test_both_the_source_and_a_staged_payload_is_refused(tmp_path: Path) -> None:
    source = fill(tmp_path / "cables", {"a.txt": b"a"})
    fill(tmp_path / f"{IN_PLACE_PREFIX}cables" / "data", {"b.txt": b"b"})
    with pytest.raises(OutputError, match="keep one"):
        bag_directory(source, dest_parent=None, in_place=True)
    assert snapshot(source) == {"a.txt": b"a"}


def test_an_interrupted_copy_is_rebuilt(tmp_path: Path) -> None:
    source = fill(tmp_path / "src", FILES)
    out = tmp_path / "out"

    def interrupted(progress: object) -> None:  # the public progress callback: the run stops mid-way
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bag_directory(source, dest_parent=out, in_place=False, processes=1, on_progress=interrupted)
    assert (out / f"{STAGING_PREFIX}src").is_dir() and not (out / "src").exists()
    bag_ok(bag_directory(source, dest_parent=out, in_place=False).path)
    assert sorted(p.name for p in out.iterdir()) == ["src"]


@pytest.mark.parametrize("processes", [1, 2])
def test_progress_is_reported_in_order_up_to_the_totals(tmp_path: Path, processes: int) -> None:
    from cablekeep.bagging.build import BagProgress

    files = {f"d{i % 7}/f{i:04d}.txt": b"x" * (i * 37) for i in range(bag_module.BATCH_FILES * 3 + 5)}
    source = fill(tmp_path / "many", files)
    seen: list[BagProgress] = []
    ref = bag_directory(source, dest_parent=tmp_path / "out", in_place=False, algorithms=ALGORITHMS,
                        processes=processes, on_progress=seen.append)
    assert len(seen) >= 4, "one report per batch written"
    assert [p.files_done for p in seen] == sorted({p.files_done for p in seen})
    assert all(p.files_total == len(files) and p.bytes_total == sum(map(len, files.values())) for p in seen)
    assert (seen[-1].files_done, seen[-1].bytes_done) == (ref.payload_files, ref.payload_bytes) == (
        len(files), sum(map(len, files.values())))


def test_progress_in_place(tmp_path: Path) -> None:
    source = fill(tmp_path / "papers", FILES)
    seen: list[object] = []
    bag_directory(source, dest_parent=None, in_place=True, algorithms=ALGORITHMS, on_progress=seen.append)
    assert seen and getattr(seen[-1], "files_done") == len(FILES)
    bag_ok(source)
