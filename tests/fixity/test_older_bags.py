"""Bags of BagIt versions before 1.0 keep the leniencies their drafts allowed (as warnings), and what
RFC 8493 says MUST stays an error. Every bag is built here and checked three ways: as a directory, a tar
and a zip, through the one bag check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cablekeep.fixity.report import Report
from cablekeep.fixity.serialized import verify_serialized
from cablekeep.fixity.verify import verify_bag

from .bags import serialize

INFO = b"Source-Organization: cablekeep tests\n"
PAYLOAD = {"data/a.txt": b"alpha\n", "data/sub/b.txt": b"beta\n"}


def _line(alg: str, path: str, content: bytes) -> str:
    return f"{hashlib.new(alg, content).hexdigest()}  {path}\n"


def build(root: Path, version: str, manifests: dict[str, list[tuple[str, bytes]]],
          files: dict[str, bytes] | None = None, fetch: str = "") -> Path:
    """A bag declaring ``version``: ``manifests`` maps an algorithm to the (path, content) lines of
    manifest-<alg>.txt; ``files`` are written as they are (default: PAYLOAD and bag-info.txt)."""
    root.mkdir(parents=True)
    (root / "bagit.txt").write_text(f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n")
    for name, content in (files if files is not None else {**PAYLOAD, "bag-info.txt": INFO}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    for alg, lines in manifests.items():
        (root / f"manifest-{alg}.txt").write_text("".join(_line(alg, p, c) for p, c in lines))
    if fetch:
        (root / "fetch.txt").write_text(fetch)
    return root


def three_ways(bag: Path, tmp_path: Path) -> dict[str, Report]:
    reports = {"directory": verify_bag(bag)}
    for fmt in ("tar", "zip"):
        reports[fmt] = verify_serialized(serialize(bag, fmt, out_dir=tmp_path / "archives"))
    return reports


def errors(report: Report) -> list[str]:
    return [f"{p.kind} {p.path}: {p.detail}" for p in report.problems if p.kind != "warning"]


def assert_valid_with_warning(reports: dict[str, Report], words: str) -> None:
    for way, report in reports.items():
        assert report.ok, (way, errors(report))
        assert any(words in p.detail for p in report.warnings), (way, report.problems)


def assert_invalid(reports: dict[str, Report], kind: str, words: str) -> None:
    for way, report in reports.items():
        assert not report.ok, way
        assert any(p.kind == kind and words in p.detail for p in report.problems), (way, report.problems)


# --------------------------------------------------------------------------- payload manifest listing tag files
# BagIt 0.97 (draft-kunze-bagit-09, 2.1.3): "Each line of a payload manifest file MUST be of the form
#   checksum filepath  where filepath is the pathname of a file relative to the base directory" -- any
# file, so bags of 0.93-0.97 list bag-info.txt there too (bagit-python and bagit-java check such lines).
# RFC 8493, 2.1.3 keeps payload manifests to payload files: in a 1.0 bag such a line is an error.

WITH_TAG_LINE = [*PAYLOAD.items(), ("bag-info.txt", INFO)]


@pytest.mark.parametrize("version", ["0.93", "0.95", "0.96", "0.97"])
def test_payload_manifest_listing_a_tag_file_is_a_warning_before_1_0(version: str, tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", version, {"sha256": WITH_TAG_LINE})
    reports = three_ways(bag, tmp_path)
    assert_valid_with_warning(reports, "are tag files (bag-info.txt)")
    assert all(report.fully_checked for report in reports.values())


def test_a_tag_file_a_payload_manifest_lists_is_checked(tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", "0.97", {"sha256": WITH_TAG_LINE})
    (bag / "bag-info.txt").write_bytes(INFO + b"Contact-Name: someone else\n")
    reports = three_ways(bag, tmp_path)
    assert_invalid(reports, "changed", "checksum differs from manifest-sha256.txt")
    for report in reports.values():
        assert [p.path for p in report.problems if p.kind == "changed"] == ["bag-info.txt"]


def test_a_missing_tag_file_a_payload_manifest_lists_is_an_error(tmp_path: Path) -> None:
    files = dict(PAYLOAD)  # no bag-info.txt, though manifest-sha256.txt lists it
    bag = build(tmp_path / "bag", "0.97", {"sha256": WITH_TAG_LINE}, files)
    assert_invalid(three_ways(bag, tmp_path), "missing", "manifest-sha256.txt")


def test_payload_manifest_listing_a_tag_file_is_an_error_in_1_0(tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", "1.0", {"sha256": WITH_TAG_LINE})
    assert_invalid(three_ways(bag, tmp_path), "invalid-structure", "outside data/, so it cannot be payload")


# --------------------------------------------------------------------------- every payload manifest
# RFC 8493, 3 (complete bag): "Every payload file MUST be listed in every payload manifest." (bagit-java
# asks only "at least one manifest" before 1.0, but cablekeep keeps this an error for every version: bags
# bagit-python makes declare 0.97, and a dropped manifest line is how tampering shows.)

PARTIAL = {"sha256": list(PAYLOAD.items()), "md5": [("data/a.txt", PAYLOAD["data/a.txt"])]}


def test_a_file_missing_from_one_of_two_manifests_is_an_error_in_1_0(tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", "1.0", PARTIAL)
    assert_invalid(three_ways(bag, tmp_path), "invalid-structure", "every payload file must be in every payload")


def test_a_file_in_no_manifest_is_an_error_before_1_0_too(tmp_path: Path) -> None:
    # BagIt 0.97, 3: every payload file must be listed in a manifest; the leniency ends there.
    bag = build(tmp_path / "bag", "0.97", {"sha256": [("data/a.txt", PAYLOAD["data/a.txt"])]})
    for report in three_ways(bag, tmp_path).values():
        assert not report.ok and any(p.path == "data/sub/b.txt" for p in report.problems if p.kind != "warning")


# --------------------------------------------------------------------------- the same line twice
# From BagIt 1.0 each file appears in a manifest exactly once (RFC 8493, 2.1.3; the conformance suite's
# v1.0/invalid/same-filename-listed-twice-with-the-same-hash); the drafts did not ask it, and bagit-python
# only warns before 1.0 ("lists ... multiple times with the same value").

@pytest.mark.parametrize(("version", "ok"), [("0.97", True), ("1.0", False)])
def test_the_same_line_twice(version: str, ok: bool, tmp_path: Path) -> None:
    lines = [*PAYLOAD.items(), ("data/a.txt", PAYLOAD["data/a.txt"])]
    bag = build(tmp_path / "bag", version, {"sha256": lines})
    for way, report in three_ways(bag, tmp_path).items():
        assert report.ok is ok, (way, report.problems)
        assert any("more than once" in p.detail for p in report.problems)


# --------------------------------------------------------------------------- fetch.txt
# RFC 8493, 2.2.3: "Every file listed in the fetch file MUST be listed in every payload manifest." The
# same was asked of every earlier version; it stays an error whatever the version.

@pytest.mark.parametrize("version", ["0.96", "0.97", "1.0"])
def test_a_fetch_entry_no_payload_manifest_lists_is_an_error(version: str, tmp_path: Path) -> None:
    fetch = "http://127.0.0.1:9/c.txt 3 data/c.txt\n"
    bag = build(tmp_path / "bag", version, {"sha256": list(PAYLOAD.items())}, fetch=fetch)
    assert_invalid(three_ways(bag, tmp_path), "invalid-structure", "fetch.txt lists this file but no payload manifest")


@pytest.mark.parametrize("version", ["0.97", "1.0"])
def test_a_fetch_entry_the_manifest_lists_is_valid_once_fetched(version: str, tmp_path: Path) -> None:
    fetch = "http://127.0.0.1:9/a.txt - data/a.txt\n"
    bag = build(tmp_path / "bag", version, {"sha256": list(PAYLOAD.items())}, fetch=fetch)
    for way, report in three_ways(bag, tmp_path).items():
        assert report.ok, (way, errors(report))


# --------------------------------------------------------------------------- package-info.txt
# BagIt 0.93 to 0.95 named the bag's metadata file package-info.txt (0.96 renamed it bag-info.txt);
# bagit-python reads package-info.txt as the tag file of those versions ("(0, 93) <= version_info <=
# (0, 95)"). Its Payload-Oxum is checked as bag-info.txt's is.

OXUM_WRONG = b"Source-Organization: cablekeep tests\nPayload-Oxum: 999.7\n"
OXUM_RIGHT = b"Payload-Oxum: 11.2\n"


@pytest.mark.parametrize("version", ["0.93", "0.94", "0.95"])
def test_package_info_is_the_bag_info_of_0_93_to_0_95(version: str, tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", version, {"md5": list(PAYLOAD.items())},
                files={**PAYLOAD, "package-info.txt": OXUM_WRONG})
    reports = three_ways(bag, tmp_path)
    assert_invalid(reports, "oxum", "declares 7 files and 999 bytes")
    for report in reports.values():
        assert [p.path for p in report.problems if p.kind == "oxum"] == ["package-info.txt"]


def test_package_info_with_the_right_oxum_is_valid(tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", "0.95", {"md5": list(PAYLOAD.items())},
                files={**PAYLOAD, "package-info.txt": OXUM_RIGHT})
    for way, report in three_ways(bag, tmp_path).items():
        assert report.ok and not report.problems, (way, report.problems)


@pytest.mark.parametrize("version", ["0.96", "1.0"])
def test_package_info_is_only_another_tag_file_from_0_96(version: str, tmp_path: Path) -> None:
    bag = build(tmp_path / "bag", version, {"md5": list(PAYLOAD.items())},
                files={**PAYLOAD, "package-info.txt": OXUM_WRONG})
    for way, report in three_ways(bag, tmp_path).items():
        assert not any(p.kind == "oxum" for p in report.problems), (way, report.problems)
