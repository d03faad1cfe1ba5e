"""verify_bag on bags made by bagit-python, then tampered with."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import bagit
import pytest

from cablekeep.fixity import dirsource, sources
from cablekeep.fixity.tagfiles import check_path, parse_bag_info, parse_declaration
from cablekeep.errors import BagUnreadableError, UsageError
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.report import Problem, Report, problem_kind, report_lines

from .bags import ALGORITHMS, make_bag, rewrite_payload_manifests, rewrite_tag_manifests, warc_bytes, write_bag


def kinds(report: Report) -> list[tuple[str, str]]:
    return [(p.kind, p.path) for p in report.problems if p.kind != "warning"]


def cables(count: int = 3) -> dict[str, bytes]:
    return {f"cables/{n:03d}.html": f"<html>cable {n}</html>\n".encode() * (n + 1) for n in range(count)}


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    return make_bag(tmp_path / "bag", {**cables(), "index.txt": b"index\n"})


def test_a_fresh_bag_is_ok(bag: Path) -> None:
    report = verify_bag(bag)
    assert report.ok and report.fully_checked and report.problems == []
    assert report.mode == "full" and report.algorithms == ("sha256", "sha512")
    assert report.files_checked == 4 + 4  # payload + bagit.txt, bag-info.txt, two manifests
    assert report.bytes_checked > 0
    bagit.Bag(str(bag)).validate()


def test_flipped_byte_is_changed_once_per_algorithm(bag: Path) -> None:
    target = bag / "data/cables/001.html"
    content = bytearray(target.read_bytes())
    content[3] ^= 0x01
    target.write_bytes(bytes(content))
    report = verify_bag(bag)
    assert not report.ok
    changed = [p for p in report.problems if p.kind == "changed"]
    assert [(p.path, p.algorithm) for p in changed] == [("data/cables/001.html", a) for a in ALGORITHMS]
    for problem in changed:
        assert problem.algorithm is not None
        manifest = (bag / f"manifest-{problem.algorithm}.txt").read_text()
        assert f"{problem.expected}  data/cables/001.html" in manifest
        assert problem.found == hashlib.new(problem.algorithm, bytes(content)).hexdigest()
    assert kinds(report) == [("changed", "data/cables/001.html")] * 2  # same size: Payload-Oxum agrees


def test_deleted_file_is_missing(bag: Path) -> None:
    (bag / "data/index.txt").unlink()
    report = verify_bag(bag)
    assert ("missing", "data/index.txt") in kinds(report)
    assert ("oxum", "bag-info.txt") in kinds(report)


def test_added_file_is_unexpected(bag: Path) -> None:
    (bag / "data/cables/new.html").write_bytes(b"new")
    report = verify_bag(bag)
    assert ("unexpected", "data/cables/new.html") in kinds(report)
    assert ("oxum", "bag-info.txt") in kinds(report)


def test_edited_bag_info_is_changed_on_the_tag_manifest(bag: Path) -> None:
    with open(bag / "bag-info.txt", "a") as info:
        info.write("Contact-Name: Someone Else\n")
    report = verify_bag(bag)
    changed = [(p.kind, p.path, p.algorithm) for p in report.problems]
    assert changed == [("changed", "bag-info.txt", a) for a in ALGORITHMS]
    assert "tagmanifest-sha256.txt" in report.problems[0].detail


def test_wrong_payload_oxum(bag: Path) -> None:
    info = (bag / "bag-info.txt").read_text()
    (bag / "bag-info.txt").write_text(info.replace("Payload-Oxum: ", "Payload-Oxum: 1"))
    rewrite_tag_manifests(bag)
    report = verify_bag(bag)
    assert kinds(report) == [("oxum", "bag-info.txt")]
    oxum = report.problems[0]
    assert oxum.expected is not None and oxum.found is not None and oxum.expected.startswith("1")


def test_symlinked_file_and_directory_are_refused_never_followed(tmp_path: Path, bag: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not part of the bag")
    os.symlink(outside / "secret.txt", bag / "data/link.txt")
    os.symlink(outside, bag / "data/linked-dir")
    report = verify_bag(bag)
    found = kinds(report)
    assert ("symlink", "data/link.txt") in found
    assert ("symlink", "data/linked-dir") in found
    assert not any("secret" in path for _, path in found)  # nothing inside the linked directory was read


def test_symlink_in_place_of_a_listed_file(tmp_path: Path, bag: Path) -> None:
    target = bag / "data/index.txt"
    (tmp_path / "elsewhere.txt").write_bytes(target.read_bytes())
    target.unlink()
    os.symlink(tmp_path / "elsewhere.txt", target)
    found = kinds(verify_bag(bag))
    assert ("symlink", "data/index.txt") in found
    assert ("missing", "data/index.txt") not in found  # one problem, not two


def test_file_in_one_manifest_but_not_another(bag: Path) -> None:
    manifest = bag / "manifest-sha512.txt"
    lines = [line for line in manifest.read_text().splitlines(keepends=True) if "index.txt" not in line]
    manifest.write_text("".join(lines))
    rewrite_tag_manifests(bag)
    report = verify_bag(bag)
    assert [(p.kind, p.path, p.algorithm) for p in report.problems] == [
        ("invalid-structure", "data/index.txt", "sha512")
    ]


def test_dot_dot_path_is_unsafe_and_not_opened(tmp_path: Path, bag: Path) -> None:
    (tmp_path / "passwd").write_bytes(b"root:x:0:0\n")
    digest = hashlib.sha256(b"root:x:0:0\n").hexdigest()
    with open(bag / "manifest-sha256.txt", "a") as manifest:
        manifest.write(f"{digest}  data/../../passwd\n")
    rewrite_tag_manifests(bag)
    report = verify_bag(bag)
    assert kinds(report) == [("unsafe-path", "data/../../passwd")]


def test_fast_mode_passes_a_same_size_change_but_says_it_did_not_check(bag: Path) -> None:
    target = bag / "data/index.txt"
    target.write_bytes(target.read_bytes().upper())
    report = verify_bag(bag, fast=True)
    assert report.ok
    assert not report.fully_checked
    assert report.files_checked == 0 and report.bytes_checked == 0
    assert {p.path for p in report.not_checked} == {
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    }
    assert all("not verified" in p.detail for p in report.not_checked)
    assert report.to_json()["fully_checked"] is False
    assert not verify_bag(bag).ok  # and the full check does catch it


def test_fast_mode_on_deleted_file(bag: Path) -> None:
    (bag / "data/index.txt").unlink()
    report = verify_bag(bag, fast=True)
    assert not report.ok
    assert ("missing", "data/index.txt") in kinds(report)


def test_fast_mode_without_payload_oxum_is_not_checked(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text("".join(l for l in info.read_text().splitlines(keepends=True) if "Payload-Oxum" not in l))
    rewrite_tag_manifests(bag)
    report = verify_bag(bag, fast=True)
    assert report.ok
    assert any(p.path == "bag-info.txt" and "Payload-Oxum" in p.detail for p in report.not_checked)
    assert verify_bag(bag).problems == []  # Payload-Oxum is optional in a full check


def test_every_problem_is_reported_in_one_run(tmp_path: Path, bag: Path) -> None:
    content = bytearray((bag / "data/cables/000.html").read_bytes())
    content[0] ^= 0x20
    (bag / "data/cables/000.html").write_bytes(bytes(content))
    (bag / "data/cables/002.html").unlink()
    (bag / "data/extra.bin").write_bytes(b"\0" * 10)
    os.symlink(tmp_path, bag / "data/escape")
    with open(bag / "bag-info.txt", "a") as info:
        info.write("Note: edited\n")
    report = verify_bag(bag)
    found = set(kinds(report))
    assert found >= {
        ("changed", "data/cables/000.html"),
        ("missing", "data/cables/002.html"),
        ("unexpected", "data/extra.bin"),
        ("symlink", "data/escape"),
        ("changed", "bag-info.txt"),
        ("oxum", "bag-info.txt"),
    }
    order = [p.kind for p in report.problems]
    assert order.index("symlink") < order.index("missing") < order.index("changed")  # phase order


def test_multiprocess_report_equals_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bag = make_bag(tmp_path / "many", {f"cables/{n:04d}.txt": f"cable {n}\n".encode() * 20 for n in range(200)})
    for n in (3, 77, 150):
        path = bag / f"data/cables/{n:04d}.txt"
        path.write_bytes(path.read_bytes().replace(b"cable", b"CABLE", 1))
    (bag / "data/cables/0100.txt").unlink()
    (bag / "data/cables/zz-extra.txt").write_text("extra")
    monkeypatch.setattr(dirsource, "BATCH_FILES", 16)  # many batches, several in flight
    pools: list[int] = []
    real_make_pool = dirsource._make_pool

    def counting_make_pool(processes: int) -> ProcessPoolExecutor:
        pools.append(processes)
        return real_make_pool(processes)

    monkeypatch.setattr(dirsource, "_make_pool", counting_make_pool)
    in_process = verify_bag(bag, processes=1)
    assert pools == []
    pooled = verify_bag(bag, processes=2)
    assert pools == [2]
    assert pooled.to_json() == in_process.to_json()
    assert len([p for p in pooled.problems if p.kind == "changed"]) == 6
    assert pooled.files_checked == 199 + 4


def test_small_bags_use_no_pool(bag: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(processes: int) -> None:
        raise AssertionError("a 4-file bag must be hashed in-process")

    monkeypatch.setattr(dirsource, "_make_pool", no_pool)
    assert verify_bag(bag, processes=4).ok


def test_threshold_is_a_module_constant(bag: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dirsource, "POOL_MIN_FILES", 1)
    pooled = verify_bag(bag, processes=2)
    assert pooled.to_json() == verify_bag(bag, processes=1).to_json()


# --------------------------------------------------------------------------- WARCs in the payload


def test_warcs_in_the_payload_are_checked_record_by_record(tmp_path: Path) -> None:
    first, ids = warc_bytes(["http://example.org/a", "http://example.org/b"])
    second, _ = warc_bytes(["http://example.org/c"], concurrent_to=ids[0])  # a reference into the other file
    bag = make_bag(tmp_path / "bag", {"warcs/one.warc.gz": first, "warcs/two.warc.gz": second})
    report = verify_bag(bag)
    assert report.ok and report.warc_records_checked == 3

    fast = verify_bag(bag, fast=True)
    assert any(p.path == "data" and "WARC" in p.detail for p in fast.not_checked)

    # Cut the first WARC short and re-checksum it: the manifests agree, the WARC does not.
    (bag / "data/warcs/one.warc.gz").write_bytes(first[: len(first) - 30])
    rewrite_payload_manifests(bag)
    info = bag / "bag-info.txt"
    octets = sum(p.stat().st_size for p in (bag / "data").rglob("*") if p.is_file())
    info.write_text(info.read_text().replace(
        next(line for line in info.read_text().splitlines() if line.startswith("Payload-Oxum")),
        f"Payload-Oxum: {octets}.2",
    ))
    rewrite_tag_manifests(bag)
    report = verify_bag(bag)
    assert {(p.kind, p.path) for p in report.problems} == {("warc", "data/warcs/one.warc.gz")}
    assert all(p.offset is not None for p in report.problems)


def test_dangling_reference_across_the_bag(tmp_path: Path) -> None:
    lonely, _ = warc_bytes(["http://example.org/c"], concurrent_to="<urn:uuid:00000000-0000-0000-0000-000000000000>")
    report = verify_bag(make_bag(tmp_path / "bag", {"lonely.warc.gz": lonely}))
    assert [(p.kind, p.path) for p in report.problems] == [("warc", "data/lonely.warc.gz")]


# --------------------------------------------------------------------------- structure details


def test_percent_encoded_names_in_bagit_1_0(tmp_path: Path) -> None:
    files = {"data/100%.txt": b"a", "data/line\nbreak.txt": b"b", "data/%7Etilde.txt": b"c"}
    listed = {"data/100%25.txt": b"a", "data/line%0Abreak.txt": b"b", "data/%7Etilde.txt": b"c"}
    assert verify_bag(write_bag(tmp_path / "v1", "1.0", listed, files)).problems == []
    # before 1.0 nothing is decoded: %25 is three characters of a file name
    report = verify_bag(write_bag(tmp_path / "v097", "0.97", listed, files))
    assert ("missing", "data/100%25.txt") in kinds(report)


def test_leading_dot_slash_is_read_with_a_warning(tmp_path: Path) -> None:
    report = verify_bag(write_bag(tmp_path / "b", "1.0", {"./data/a.txt": b"a"}, {"data/a.txt": b"a"}))
    assert report.ok and [p.kind for p in report.problems] == ["warning"]


def test_duplicates_by_version(tmp_path: Path) -> None:
    for version, ok in (("0.97", True), ("1.0", False)):
        root = write_bag(tmp_path / version, version, {"data/a.txt": b"a"}, {"data/a.txt": b"a"})
        with open(root / "manifest-sha256.txt", "a") as manifest:
            manifest.write(f"{hashlib.sha256(b'a').hexdigest()}  data/a.txt\n")
        assert verify_bag(root).ok is ok


def test_unicode_normalisation_is_matched_with_a_warning(tmp_path: Path) -> None:
    nfc, nfd = "data/Nu\u0301n\u0303ez.txt", "data/N\u00fa\u00f1ez.txt"
    report = verify_bag(write_bag(tmp_path / "b", "1.0", {nfc: b"x"}, {nfd: b"x"}))
    assert report.ok and [p.kind for p in report.problems] == ["warning"]


def test_not_a_bag_raises(tmp_path: Path) -> None:
    with pytest.raises(BagUnreadableError):
        verify_bag(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagUnreadableError):
        verify_bag(tmp_path / "empty")
    with pytest.raises(UsageError):
        verify_bag(tmp_path, processes=0)


def test_bag_info_parsing() -> None:
    lines = [
        "Source-Organization: Spengler University",
        "External-Description: Uncompressed greyscale TIFF images from the",
        "   Yoshimuri papers collection.",
        "Test-Tag : 3",
        "Test-Tag: 4",
        "no colon here",
    ]
    elements, problems = parse_bag_info(lines)
    assert elements == [
        ("Source-Organization", "Spengler University"),
        ("External-Description", "Uncompressed greyscale TIFF images from the Yoshimuri papers collection."),
        ("Test-Tag", "3"),
        ("Test-Tag", "4"),
    ]
    assert sorted(p.kind for p in problems) == ["invalid-structure", "warning"]


@pytest.mark.parametrize(
    ("text", "kinds_found"),
    [
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", []),
        (b"BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n", ["invalid-structure"]),
        (b"BagIt-Version : 0.97\nTag-File-Character-Encoding: UTF-8\n", ["warning"]),
        (b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", ["invalid-structure"]),
        (b"BagIt-Version: 1.0\n", ["invalid-structure"]),
        (b"BagIt-Version: .97\nTag-File-Character-Encoding: UTF-8\n", ["invalid-structure"]),
        (b"Tag-File-Character-Encoding: UTF-8\r\nBagIt-Version: 1.0\r\n", ["invalid-structure"]),
    ],
)
def test_bagit_txt(text: bytes, kinds_found: list[str]) -> None:
    assert [p.kind for p in parse_declaration(text).problems] == kinds_found


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("data/a.txt", None),
        ("/etc/passwd", "unsafe-path"),
        ("data/../../x", "unsafe-path"),
        ("data\\..\\..\\x", "unsafe-path"),
        ("~/x", "unsafe-path"),
        ("~root/x", "unsafe-path"),
        ("C:\\Windows\\x", "unsafe-path"),
        ("data/dir/~tilde-inside-is-fine", None),
        ("data//double", "invalid-structure"),
        ("data/./x", "invalid-structure"),
    ],
)
def test_path_safety(raw: str, kind: str | None) -> None:
    assert check_path(raw, strict=True).kind == kind


def test_report_json_schema(bag: Path) -> None:
    (bag / "data/index.txt").write_bytes(b"changed!\n")
    data = verify_bag(bag).to_json()
    json.dumps(data)
    assert data["schema"] == "cablekeep.verify/1"
    assert data["ok"] is False and data["mode"] == "full"
    assert set(data) == {
        "schema", "target", "mode", "verdict", "ok", "fully_checked", "algorithms", "files_checked", "bytes_checked",
        "warc_records_checked", "counts", "problems",
    }
    problems = data["problems"]
    assert isinstance(problems, list)
    changed = [p for p in problems if p["kind"] == "changed"]
    assert [p["algorithm"] for p in changed] == ALGORITHMS
    assert all("offset" not in p and p["path"] == "data/index.txt" for p in changed)
    assert data["counts"] == {"changed": 2, "oxum": 1}


def test_problem_kinds_are_checked() -> None:
    with pytest.raises(ValueError):
        Problem("broken", "x", "no such kind")
    make: Callable[[], Report] = lambda: Report("t", "sometimes")  # noqa: E731
    with pytest.raises(ValueError):
        make()


def test_text_report_is_one_line_per_file_and_problem_with_nothing_unknown(bag: Path) -> None:
    target = bag / "data/index.txt"
    target.write_bytes(target.read_bytes().upper())  # same size: fast mode cannot see it
    fast = report_lines(verify_bag(bag, fast=True))
    assert fast and not any("None" in line for line in fast)
    assert any("not-checked: manifest-sha256.txt" in line for line in fast)
    full = verify_bag(bag)
    changed = [line for line in report_lines(full) if line.startswith("  changed:")]
    assert len(changed) == 1 and "data/index.txt" in changed[0]
    for problem in full.problems:
        assert f"{problem.algorithm} expected {problem.expected} found {problem.found}" in changed[0]


def test_problem_kind_read_back_from_text() -> None:
    assert problem_kind("missing") == "missing"
    with pytest.raises(ValueError):
        problem_kind("mising")


def test_mypy_rejects_a_misspelt_problem_kind(tmp_path: Path) -> None:
    from mypy import api

    source = "from cablekeep.fixity.report import Problem\nProblem({kind!r}, 'data/a', 'detail')\n"
    (tmp_path / "mypy.ini").write_text("[mypy]\n")  # not the project's, which names the files to check
    args = ["--config-file", str(tmp_path / "mypy.ini"), "--strict", "--cache-dir", str(tmp_path / "cache"),
            "--no-error-summary", "-c"]
    assert api.run([*args, source.format(kind="missing")])[2] == 0
    out, _err, status = api.run([*args, source.format(kind="mising")])
    assert status == 1 and "mising" in out


def test_a_huge_bag_info_is_capped_in_a_directory_bag(bag: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sources.TAG_TEXT_LIMIT == 16 << 20
    info = bag / "bag-info.txt"
    limit = len(info.read_bytes()) + 100
    monkeypatch.setattr(sources, "TAG_TEXT_LIMIT", limit)  # the cap every source reads tag files with
    assert verify_bag(bag).ok  # under the cap: read as before
    with open(info, "ab") as handle:
        handle.write(b"Note: " + b"x" * 200 + b"\n")
    rewrite_tag_manifests(bag)
    report = verify_bag(bag)
    assert [(p.kind, p.path) for p in report.problems] == [("not-checked", "bag-info.txt")]
    assert f"{limit >> 20} MiB" in report.problems[0].detail


def test_a_fifo_in_the_payload_is_reported_and_never_read(bag: Path) -> None:
    fifo = bag / "data" / "pipe"
    os.mkfifo(fifo)
    report = verify_bag(bag, processes=1)  # a read would block here forever
    assert ("invalid-structure", "data/pipe") in kinds(report)
    assert "FIFO" in next(p.detail for p in report.problems if p.path == "data/pipe")


def test_a_fifo_in_place_of_a_listed_file_is_never_read(bag: Path) -> None:
    (bag / "data/index.txt").unlink()
    os.mkfifo(bag / "data/index.txt")
    report = verify_bag(bag, processes=1)
    assert ("invalid-structure", "data/index.txt") in kinds(report)
    with pytest.raises(OSError):
        sources.open_regular(os.fspath(bag / "data/index.txt"))
