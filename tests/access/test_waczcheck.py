"""verify_wacz: every resource's hash and size, the datapackage digest, and every problem named."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cablekeep.access.datapackage import DATAPACKAGE, DATAPACKAGE_DIGEST, PAGES_PATH
from cablekeep.access.wacz import write_wacz
from cablekeep.fixity.waczcheck import verify_wacz
from cablekeep.errors import BagUnreadableError
from cablekeep.fixity.report import Problem


@pytest.fixture(scope="module")
def good_wacz(real_bag: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wacz(real_bag, tmp_path_factory.mktemp("wacz") / "good.wacz").path


def _warc_path(zf: zipfile.ZipFile) -> str:
    return next(name for name in zf.namelist() if name.startswith("archive/"))


def test_a_byte_flipped_in_a_warc_names_the_warc(good_wacz: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wacz"
    raw = bytearray(good_wacz.read_bytes())
    with zipfile.ZipFile(good_wacz) as zf:
        name = _warc_path(zf)
        info = zf.getinfo(name)
    # the entry's data starts after its local header: 30 bytes, the name, the extra field
    name_length = int.from_bytes(raw[info.header_offset + 26: info.header_offset + 28], "little")
    extra_length = int.from_bytes(raw[info.header_offset + 28: info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    raw[start + info.compress_size // 2] ^= 0x01
    broken.write_bytes(bytes(raw))

    problems = verify_wacz(broken)
    assert [(p.kind, p.path) for p in problems] == [("changed", name)]
    assert "damaged" in problems[0].detail
    # py-wacz's validator sees it too: its acceptance of the good package is worth something
    script = "import sys; from wacz.main import main; sys.exit(main())"
    checked = subprocess.run([sys.executable, "-c", script, "validate", "-f", str(broken)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode != 0


def _rewrite(source: Path, target: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    """Copy a WACZ entry by entry, letting ``change`` edit the name -> bytes mapping first."""
    with zipfile.ZipFile(source) as zf:
        entries = {info.filename: zf.read(info) for info in zf.infolist()}
    change(entries)
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def _edit_package(entries: dict[str, bytes], edit: Callable[[dict[str, object]], None], *, redigest: bool = True) -> None:
    package = json.loads(entries[DATAPACKAGE])
    edit(package)
    entries[DATAPACKAGE] = json.dumps(package).encode("utf-8")
    if redigest:
        digest = "sha256:" + hashlib.sha256(entries[DATAPACKAGE]).hexdigest()
        entries[DATAPACKAGE_DIGEST] = json.dumps({"path": DATAPACKAGE, "hash": digest}).encode("utf-8")


def _resource(package: dict[str, object], path: str) -> dict[str, object]:
    resources = package["resources"]
    assert isinstance(resources, list)
    return next(r for r in resources if r["path"] == path)


def _wrong_hash(entries: dict[str, bytes]) -> None:
    _edit_package(entries, lambda p: _resource(p, PAGES_PATH).update(hash="sha256:" + "0" * 64))


def _wrong_size(entries: dict[str, bytes]) -> None:
    _edit_package(entries, lambda p: _resource(p, PAGES_PATH).update(bytes=1))


def _missing(entries: dict[str, bytes]) -> None:
    del entries[PAGES_PATH]


def _unexpected(entries: dict[str, bytes]) -> None:
    entries["pages/extra.jsonl"] = b"{}\n"


def _package_edited(entries: dict[str, bytes]) -> None:
    _edit_package(entries, lambda p: p.update(title="changed"), redigest=False)


def _no_digest(entries: dict[str, bytes]) -> None:
    del entries[DATAPACKAGE_DIGEST]


def _no_version(entries: dict[str, bytes]) -> None:
    _edit_package(entries, lambda p: p.pop("wacz_version"))


def _climbs_out(entries: dict[str, bytes]) -> None:
    _edit_package(entries, lambda p: _resource(p, PAGES_PATH).update(path="../pages.jsonl"))


def _unknown_algorithm(entries: dict[str, bytes]) -> None:
    _edit_package(entries, lambda p: _resource(p, PAGES_PATH).update(hash="whirlpool9:00"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_wrong_hash, [("changed", PAGES_PATH, "sha256")]),
        (_wrong_size, [("changed", PAGES_PATH, None)]),
        (_missing, [("missing", PAGES_PATH, None)]),
        (_unexpected, [("unexpected", "pages/extra.jsonl", None)]),
        (_package_edited, [("changed", DATAPACKAGE, "sha256")]),
        (_no_digest, [("warning", DATAPACKAGE_DIGEST, None)]),
        (_no_version, [("invalid-structure", DATAPACKAGE, None)]),
        (_climbs_out, [("unsafe-path", "../pages.jsonl", None), ("unexpected", PAGES_PATH, None)]),
        (_unknown_algorithm, [("not-checked", PAGES_PATH, None)]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_each_problem_is_named(
    good_wacz: Path, tmp_path: Path, change: Callable[[dict[str, bytes]], None], expected: list[tuple[str, str, str | None]]
) -> None:
    target = tmp_path / "changed.wacz"
    _rewrite(good_wacz, target, change)
    assert [(p.kind, p.path, p.algorithm) for p in verify_wacz(target)] == expected


def test_every_problem_is_collected(good_wacz: Path, tmp_path: Path) -> None:
    target = tmp_path / "many.wacz"

    def change(entries: dict[str, bytes]) -> None:
        _wrong_hash(entries)
        _unexpected(entries)
        _package_edited(entries)

    _rewrite(good_wacz, target, change)
    kinds = {(p.kind, p.path) for p in verify_wacz(target)}
    assert kinds == {("changed", PAGES_PATH), ("unexpected", "pages/extra.jsonl"), ("changed", DATAPACKAGE)}


def test_the_rewritten_copy_itself_passes(good_wacz: Path, tmp_path: Path) -> None:
    """The rewriting above changes nothing by itself: each problem found is the one made."""
    target = tmp_path / "copy.wacz"
    _rewrite(good_wacz, target, lambda entries: None)
    assert verify_wacz(target) == []


def test_not_a_wacz(tmp_path: Path) -> None:
    with pytest.raises(BagUnreadableError, match="does not exist"):
        verify_wacz(tmp_path / "nothing.wacz")
    (tmp_path / "text.wacz").write_text("not a zip")
    with pytest.raises(BagUnreadableError, match="not a readable ZIP"):
        verify_wacz(tmp_path / "text.wacz")
    with zipfile.ZipFile(tmp_path / "empty.wacz", "w") as zf:
        zf.writestr("a.txt", "a")
    assert verify_wacz(tmp_path / "empty.wacz") == [
        Problem("invalid-structure", DATAPACKAGE, f"no {DATAPACKAGE}: not a WACZ, nothing could be checked")
    ]
