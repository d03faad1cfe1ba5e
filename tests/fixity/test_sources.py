"""The bag sources one checker reads a bag through: a directory, a tar stream and a zip give the
same entries and the same verdict; a source is any BagSource, the checker needs nothing more."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from cablekeep.fixity import sources
from cablekeep.fixity.archivesource import ArchiveSource
from cablekeep.fixity.bagcheck import BagCheck
from cablekeep.fixity.dirsource import DirectorySource
from cablekeep.fixity.packed import Layout, compare_found
from cablekeep.fixity.report import Problem, Report
from cablekeep.fixity.serialized import verify_serialized
from cablekeep.fixity.sources import BagSource, Entry, FileHasher, Hashed, Tee, archive_reader
from cablekeep.fixity.verify import verify_bag

from .bags import make_bag, rewrite_tag_manifests, serialize, write_bag

KINDS = ("directory", "tar", "tgz", "zip")


def check(bag: Path, kind: str, out: Path) -> Report:
    if kind == "directory":
        return verify_bag(bag, processes=1)
    out.mkdir(parents=True, exist_ok=True)
    return verify_serialized(serialize(bag, kind, "tags-last", out / kind))


def shape(report: Report) -> list[tuple[str, str, str | None]]:
    return [(p.kind, p.path, p.algorithm) for p in report.problems]


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    files = {f"cables/{n:02d}/{n}.txt": f"cable {n}\n".encode() * (n + 1) for n in range(12)}
    return make_bag(tmp_path / "bag", {**files, "index.txt": b"index\n"})


def listing(source: BagSource) -> tuple[set[tuple[str, str, int]], set[tuple[str, str, int]]]:
    top = {(e.rel, e.kind, e.size) for e in source.top_level()}
    tree = {(e.rel, e.kind, e.size) for e in source.iter_tree("data")}
    return top, tree


@pytest.mark.parametrize("fmt", ("tar", "tgz", "zip"))
def test_an_archive_lists_what_the_directory_lists(bag: Path, fmt: str) -> None:
    directory = listing(DirectorySource(bag, processes=1))
    archive = serialize(bag, fmt)
    assert listing(ArchiveSource(archive, archive_reader(archive), fast=False)) == directory
    assert ("data", "dir", 0) in directory[0] and len(directory[1]) == 13


@pytest.mark.parametrize("kind", KINDS)
def test_a_tag_file_past_the_cap_is_still_hashed_whole(
    bag: Path, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive keeps only the cap of bag-info.txt; its tag-manifest digests come from the whole file."""
    info = bag / "bag-info.txt"
    monkeypatch.setattr(sources, "TAG_TEXT_LIMIT", len(info.read_bytes()) + 50)
    with open(info, "ab") as handle:
        handle.write(b"Note: " + b"x" * 300 + b"\n")
    rewrite_tag_manifests(bag)
    assert shape(check(bag, kind, tmp_path / "whole")) == [("not-checked", "bag-info.txt", None)]
    info.write_bytes(info.read_bytes()[:-2] + b"y\n")  # past the cap: only a full hash sees it
    problems = shape(check(bag, kind, tmp_path / "changed"))
    assert ("changed", "bag-info.txt", "sha256") in problems and ("changed", "bag-info.txt", "sha512") in problems


@pytest.mark.parametrize("kind", KINDS)
def test_a_manifest_longer_than_a_block_is_read_whole(tmp_path: Path, kind: str) -> None:
    listed = {f"data/gone/{n:06d}-{'x' * 40}.txt": b"" for n in range(30_000)}  # about 3 MiB of lines
    root = write_bag(tmp_path / "long", "1.0", {"data/here.txt": b"here", **listed}, {"data/here.txt": b"here"})
    assert (root / "manifest-sha256.txt").stat().st_size > 2 * (1 << 20)
    report = check(root, kind, tmp_path)
    assert [p.path for p in report.problems if p.kind == "missing"] == sorted(listed)
    assert {p.kind for p in report.problems} == {"missing"}


# --------------------------------------------------------------------------- any source will do


class MemorySource(BagSource):
    """A bag held in a dict (bag path -> bytes): the checker needs nothing but the interface."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.target = "memory"
        self.no_bag = "no bag in memory"

    def top_level(self) -> list[Entry]:
        tops = {rel.partition("/")[0]: rel for rel in self.files}
        return [Entry(top, "dir") if "/" in rel else Entry(rel, "file", len(self.files[rel])) for top, rel in tops.items()]

    def iter_tree(self, top: str) -> Iterator[Entry]:
        return (Entry(rel, "file", len(data)) for rel, data in self.files.items() if rel.startswith(top + "/"))

    def open_tag(self, rel: str, hashers: list[hashlib._Hash]) -> Tee:
        return Tee(cast(BinaryIO, io.BytesIO(self.files[rel])), hashers, owns=True)

    @contextmanager
    def payload_hasher(
        self, layout: Layout, on_result: Callable[[Hashed], None], *, declared_bytes: int
    ) -> Iterator[FileHasher]:
        yield self.tag_hasher(layout, on_result)

    def tag_hasher(self, layout: Layout, on_result: Callable[[Hashed], None]) -> FileHasher:
        files = self.files

        class Hasher(FileHasher):
            def add(self, rel: str, packed: bytes, size: int) -> None:
                found = [None if h is None else hashlib.new(h, files[rel]).digest() for h in layout.hash_names]
                on_result(Hashed(compare_found(rel, layout, packed, found, tag_file=False), 1, size))

            def finish(self) -> None:
                pass

        return Hasher()

    def take_problems(self) -> list[Problem]:
        return []


def test_the_checker_runs_over_any_bag_source(bag: Path) -> None:
    files = {p.relative_to(bag).as_posix(): p.read_bytes() for p in bag.rglob("*") if p.is_file()}
    report = BagCheck(MemorySource(dict(files)), fast=False).run()
    assert report.problems == [] and report.files_checked == len(files) - 2  # all but the two tag manifests
    files["data/index.txt"] = b"changed\n"
    del files["data/cables/03/3.txt"]
    report = BagCheck(MemorySource(files), fast=False).run()
    assert shape(report) == [
        ("oxum", "bag-info.txt", None),
        ("missing", "data/cables/03/3.txt", None),
        ("changed", "data/index.txt", "sha256"),
        ("changed", "data/index.txt", "sha512"),
    ]
    assert BagCheck(MemorySource(files), fast=True).run().mode == "fast"
