"""verify_serialized on real .tar, .tar.gz and .zip archives of bags made by bagit-python.

Each case is checked against verify_bag on the same bag unpacked: the same problems for a valid
bag, the same kinds (and paths and algorithms) for a tampered one. Malicious members are refused
as problems and nothing is ever written to disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cablekeep.errors import BagUnreadableError
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.report import Report
from cablekeep.fixity.serialized import is_serialized_bag_name, verify_serialized

from .bags import make_bag, members_of, rewrite_payload_manifests, rewrite_tag_manifests, serialize, warc_bytes, write_bag

FORMATS = ("tar", "tgz", "zip")
ORDERS = ("sorted", "tags-last", "tags-first")
TAG_NAMES = ("bagit.txt", "bag-info.txt")


def shape(report: Report) -> list[tuple[str, str, str | None]]:
    return [(p.kind, p.path, p.algorithm) for p in report.problems]


def files_of(root: Path) -> set[str]:
    return {os.fspath(p) for p in root.rglob("*")}


def cable_files() -> dict[str, bytes]:
    first, ids = warc_bytes(["http://example.org/a", "http://example.org/b"])
    second, _ = warc_bytes(["http://example.org/c"], concurrent_to=ids[0])
    return {
        **{f"cables/{n:03d}.html": f"<html>cable {n}</html>\n".encode() * (n + 1) for n in range(4)},
        "warcs/one.warc.gz": first,
        "warcs/two.warc.gz": second,
        "index.txt": b"index\n",
    }


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    return make_bag(tmp_path / "bag", cable_files())


# --------------------------------------------------------------------------- same result as unpacked


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_valid_bag_gives_what_verify_bag_gives(bag: Path, fmt: str, order: str) -> None:
    archive = serialize(bag, fmt, order)
    report = verify_serialized(archive)
    unpacked = verify_bag(bag)
    assert unpacked.ok and unpacked.problems == []
    assert report.problems == unpacked.problems
    assert report.ok and report.fully_checked and report.mode == "full" and report.target == str(archive)
    assert (report.algorithms, report.files_checked, report.bytes_checked, report.warc_records_checked) == (
        unpacked.algorithms,
        unpacked.files_checked,
        unpacked.bytes_checked,
        unpacked.warc_records_checked,
    )
    fast = verify_serialized(archive, fast=True)
    assert fast.mode == "fast" and fast.ok and not fast.fully_checked
    assert fast.problems == verify_bag(bag, fast=True).problems


def flip_byte(bag: Path) -> None:
    target = bag / "data/cables/001.html"
    content = bytearray(target.read_bytes())
    content[3] ^= 0x01
    target.write_bytes(bytes(content))


def delete_file(bag: Path) -> None:
    (bag / "data/index.txt").unlink()


def add_file(bag: Path) -> None:
    (bag / "data/cables/new.html").write_bytes(b"new")


def edit_bag_info(bag: Path) -> None:
    with open(bag / "bag-info.txt", "a") as info:
        info.write("Contact-Name: Someone Else\n")


def edit_manifest_digest(bag: Path) -> None:
    manifest = bag / "manifest-sha512.txt"
    digest, rest = manifest.read_text().split(" ", 1)
    manifest.write_text("0" * len(digest) + " " + rest)


def drop_manifest_line(bag: Path) -> None:
    manifest = bag / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(line for line in lines if "index.txt" not in line))
    rewrite_tag_manifests(bag)


def cut_warc(bag: Path) -> None:
    warc = bag / "data/warcs/one.warc.gz"
    warc.write_bytes(warc.read_bytes()[:-30])
    rewrite_payload_manifests(bag)


def wrong_oxum(bag: Path) -> None:
    info = bag / "bag-info.txt"
    text = info.read_text()
    line = next(line for line in text.splitlines() if line.startswith("Payload-Oxum"))
    info.write_text(text.replace(line, "Payload-Oxum: 1.1"))
    rewrite_tag_manifests(bag)


def delete_tag_manifest_target(bag: Path) -> None:
    (bag / "bag-info.txt").unlink()


TAMPERINGS: dict[str, Callable[[Path], None]] = {
    "flipped byte": flip_byte,
    "deleted file": delete_file,
    "added file": add_file,
    "edited bag-info": edit_bag_info,
    "edited manifest digest": edit_manifest_digest,
    "dropped manifest line": drop_manifest_line,
    "cut WARC": cut_warc,
    "wrong Payload-Oxum": wrong_oxum,
    "deleted bag-info": delete_tag_manifest_target,
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(TAMPERINGS))
def test_tampering_is_found_as_in_the_unpacked_bag(bag: Path, fmt: str, case: str) -> None:
    TAMPERINGS[case](bag)
    unpacked = verify_bag(bag)
    assert not unpacked.ok
    for order in ORDERS:
        report = verify_serialized(serialize(bag, fmt, order))
        assert shape(report) == shape(unpacked), (case, order)
        assert not report.ok
    assert shape(verify_serialized(serialize(bag, fmt), fast=True)) == shape(verify_bag(bag, fast=True))


def test_manifests_with_an_algorithm_not_presumed_come_after_the_payload(tmp_path: Path) -> None:
    root = tmp_path / "md5bag"
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub").mkdir()
    (root / "sub/b.txt").write_bytes(b"beta")
    import bagit

    bagit.make_bag(str(root), {"Source-Organization": "t"}, checksums=["md5"])
    unpacked = verify_bag(root)
    for fmt in FORMATS:
        report = verify_serialized(serialize(root, fmt, "tags-last"))  # md5 is known only after the payload
        assert report.problems == [] and report.files_checked == unpacked.files_checked == 5
    (root / "data/a.txt").write_bytes(b"alphA")
    report = verify_serialized(serialize(root, "tgz", "tags-last", tmp_path / "again"))
    assert shape(report) == [("changed", "data/a.txt", "md5")]


def test_bagit_txt_after_a_manifest_it_governs(tmp_path: Path) -> None:
    """BagIt 0.97 decodes no %-escapes; a manifest read before bagit.txt is read again by its rules."""
    files = {"data/x%25y.txt": b"a", "data/plain.txt": b"b"}
    root = write_bag(tmp_path / "old", "0.97", {"data/x%25y.txt": b"a", "data/plain.txt": b"b"}, files)
    unpacked = verify_bag(root)
    assert unpacked.ok
    for fmt in FORMATS:
        assert verify_serialized(serialize(root, fmt, "tags-last")).problems == unpacked.problems


def test_percent_and_newline_names_in_bagit_1_0(tmp_path: Path) -> None:
    files = {"data/100%.txt": b"a", "data/line\nbreak.txt": b"b"}
    root = write_bag(tmp_path / "v1", "1.0", {"data/100%25.txt": b"a", "data/line%0Abreak.txt": b"b"}, files)
    for fmt in ("tar", "zip"):
        assert verify_serialized(serialize(root, fmt, "tags-first")).problems == []


def test_zip_member_with_a_bad_crc_is_changed(bag: Path) -> None:
    archive = bag.parent / "stored.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in members_of(bag, "sorted"):
            zf.write(path, path.relative_to(bag.parent).as_posix())
    data = bytearray(archive.read_bytes())
    at = data.index(b"<html>cable 2</html>")
    data[at + 1] ^= 0x01
    archive.write_bytes(bytes(data))
    report = verify_serialized(archive)
    assert [(p.kind, p.path) for p in report.problems] == [("changed", "data/cables/002.html")]
    assert "damaged" in report.problems[0].detail and not report.ok


def test_an_encrypted_zip_member_is_not_checked(bag: Path) -> None:
    archive = serialize(bag, "zip")
    # zipfile cannot encrypt: set the "encrypted" flag bit in the member's local and central headers
    data = bytearray(archive.read_bytes())
    name = b"bag/data/index.txt"
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = _header_of(data, signature, name_at, name)
        data[at + flags_at] |= 0x01
    archive.write_bytes(bytes(data))
    report = verify_serialized(archive)
    assert [(p.kind, p.path) for p in report.problems] == [("not-checked", "data/index.txt")]
    assert not report.ok and not report.fully_checked


def _header_of(data: bytearray, signature: bytes, name_at: int, name: bytes) -> int:
    at = -1
    while True:
        at = data.index(signature, at + 1)
        if data[at + name_at : at + name_at + len(name)] == name:
            return at


def test_a_truncated_tgz_is_reported_not_raised(bag: Path) -> None:
    archive = serialize(bag, "tgz", "tags-first")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    report = verify_serialized(archive)
    assert not report.ok
    assert ("invalid-structure", archive.name) in [(p.kind, p.path) for p in report.problems]
    assert any(p.kind == "missing" for p in report.problems)


def test_a_tar_cut_inside_a_member_is_reported(bag: Path) -> None:
    archive = serialize(bag, "tar", "tags-first")
    data = archive.read_bytes()
    archive.write_bytes(data[: data.index(b"<html>cable 2</html>") + 5])
    report = verify_serialized(archive)
    found = [(p.kind, p.path) for p in report.problems]
    assert ("invalid-structure", archive.name) in found and ("missing", "data/cables/002.html") in found


# --------------------------------------------------------------------------- malicious members


def add_members(archive: Path, fmt: str, extra: list[tuple[tarfile.TarInfo, bytes | None]]) -> None:
    mode = "w:gz" if fmt == "tgz" else "w"
    original = archive.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(original), mode="r:*") as source, tarfile.open(archive, mode) as out:
        for info in source.getmembers():
            out.addfile(info, source.extractfile(info) if info.isreg() else None)
        for info, content in extra:
            out.addfile(info, io.BytesIO(content) if content is not None else None)


def tar_info(name: str, kind: bytes = tarfile.REGTYPE, *, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.linkname = link
    info.mtime = int(time.time())
    return info


@pytest.mark.parametrize("fmt", ("tar", "tgz"))
def test_malicious_tar_members_are_refused_and_nothing_is_written(
    tmp_path: Path, bag: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = serialize(bag, fmt)
    add_members(archive, fmt, [
        (tar_info("../evil", size=4), b"evil"),
        (tar_info("/tmp/cablekeep-evil-absolute", size=4), b"evil"),
        (tar_info("bag/data/../../escape", size=4), b"evil"),
        (tar_info("bag/data/link", tarfile.SYMTYPE, link="/etc/passwd"), None),
        (tar_info("bag/data/hard", tarfile.LNKTYPE, link="bag/data/index.txt"), None),
        (tar_info("bag/data/fifo", tarfile.FIFOTYPE), None),
        (tar_info("bag/data/tty", tarfile.CHRTYPE), None),
        (tar_info("other/x.txt", size=1), b"x"),
        (tar_info("other/y.txt", size=1), b"y"),
    ])
    temp = tmp_path / "tempdir"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    before = files_of(tmp_path)
    report = verify_serialized(archive)
    assert files_of(tmp_path) == before and not any(temp.iterdir())
    assert not Path("/tmp/cablekeep-evil-absolute").exists() and not (tmp_path / "escape").exists()
    found = {(p.kind, p.path) for p in report.problems}
    assert found == {
        ("unsafe-path", "../evil"),
        ("unsafe-path", "/tmp/cablekeep-evil-absolute"),
        ("unsafe-path", "bag/data/../../escape"),
        ("symlink", "data/link"),
        ("invalid-structure", "data/hard"),
        ("invalid-structure", "data/fifo"),
        ("invalid-structure", "data/tty"),
        ("invalid-structure", "other"),  # one problem for the second top-level directory
    }  # refused members are not payload, so Payload-Oxum still agrees
    assert not report.ok
    assert not any(p.kind in ("changed", "missing", "unexpected") for p in report.problems)


def test_malicious_zip_members_are_refused(tmp_path: Path, bag: Path) -> None:
    archive = serialize(bag, "zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../evil", b"evil")
        zf.writestr("/etc/cablekeep-evil", b"evil")
        link = zipfile.ZipInfo("bag/data/link")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        fifo = zipfile.ZipInfo("bag/data/fifo")
        fifo.create_system = 3
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, b"")
        zf.writestr("second/x.txt", b"x")
    before = files_of(tmp_path)
    report = verify_serialized(archive)
    assert files_of(tmp_path) == before
    assert {(p.kind, p.path) for p in report.problems} == {
        ("unsafe-path", "../evil"),
        ("unsafe-path", "/etc/cablekeep-evil"),
        ("symlink", "data/link"),
        ("invalid-structure", "data/fifo"),
        ("invalid-structure", "second"),
    }


def test_a_member_stored_twice_is_invalid(bag: Path) -> None:
    archive = serialize(bag, "tar")
    add_members(archive, "tar", [(tar_info("bag/data/index.txt", size=5), b"evil\n")])
    report = verify_serialized(archive)
    assert [(p.kind, p.path) for p in report.problems] == [("invalid-structure", "data/index.txt")]


def test_files_beside_the_bag_directory(bag: Path) -> None:
    archive = bag.parent / "flat.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(bag / "bagit.txt", "README.txt")  # a file at the top, before the bag's directory
        tf.add(bag, "bag")
    report = verify_serialized(archive)
    assert [(p.kind, p.path) for p in report.problems] == [("invalid-structure", "README.txt")]


def test_macos_resource_forks_are_a_warning(bag: Path) -> None:
    archive = serialize(bag, "zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("__MACOSX/bag/._bagit.txt", b"\x00\x05\x16\x07")
    report = verify_serialized(archive)
    assert report.ok and [(p.kind, p.path) for p in report.problems] == [("warning", "__MACOSX")]


# --------------------------------------------------------------------------- not an archive, no bag


def test_unreadable_archives_raise(tmp_path: Path) -> None:
    with pytest.raises(BagUnreadableError):
        verify_serialized(tmp_path / "absent.tar")
    for name, content in (
        ("empty.tar", b""),
        ("text.tar", b"this is not an archive\n" * 40),
        ("broken.zip", b"PK\x03\x04" + b"\x00" * 100),
        ("broken.tgz", b"\x1f\x8b\x08\x00" + b"\xff" * 100),
    ):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(BagUnreadableError):
            verify_serialized(tmp_path / name)


def test_an_archive_without_a_bag_raises(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff/notes.txt").write_text("no bag here")
    archive = tmp_path / "stuff.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(tmp_path / "stuff", "stuff")
    with pytest.raises(BagUnreadableError):
        verify_serialized(archive)


def test_serialized_names() -> None:
    for name in ("b.tar", "b.tar.gz", "b.TGZ", "b.zip"):
        assert is_serialized_bag_name(name)
    assert not is_serialized_bag_name("b.warc.gz") and not is_serialized_bag_name("bag")


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize("fmt", FORMATS)
def test_memory_does_not_grow_with_member_size(tmp_path: Path, fmt: str) -> None:
    size = 48 << 20
    root = tmp_path / "big"
    root.mkdir()
    with open(root / "big.bin", "wb") as out:
        block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, compresses well
        for _ in range(size >> 20):
            out.write(block)
    import bagit

    bagit.make_bag(str(root), {"Source-Organization": "t"}, checksums=["sha256", "sha512"])
    archive = serialize(root, fmt, "tags-last")
    tracemalloc.start()
    try:
        report = verify_serialized(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and report.bytes_checked > size
    assert peak < 8 << 20, f"peak {peak >> 20} MiB for a {size >> 20} MiB member"
