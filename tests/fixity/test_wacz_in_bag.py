"""A WACZ inside a bag (issue 16): ``cablekeep bag`` keeps it whole, and ``cablekeep verify`` checks the
hashes inside it against its datapackage.json, in a bag directory and in a tar or zip of the bag.

Two WACZ files are used: one written by cablekeep (:func:`cablekeep.access.wacz.write_wacz`) and one by
another tool, py-wacz's own ``wacz create``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cablekeep.access.wacz import write_wacz
from cablekeep.fixity import waczcheck
from cablekeep.fixity.serialized import verify_serialized
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from cablekeep.sample_site import SampleSite

from ..conftest import CliResult
from .bags import rewrite_payload_manifests, serialize, warc_bytes

Cli = Callable[..., CliResult]
PY_WACZ = Path(sys.executable).parent / "wacz"
MAKERS = ("cablekeep", "py-wacz")


@pytest.fixture(scope="module")
def waczs(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> dict[str, Path]:
    """maker -> a WACZ it wrote: cablekeep's of a crawl of the sample site, py-wacz's of a warcio WARC."""
    root = tmp_path_factory.mktemp("waczs")
    manifest = {
        "cablekeep": 1, "collection": "wacz-in-bag", "title": "WACZ in a bag",
        "organization": {"name": "Test Archive", "address": "1 Loopback Road",
                         "contact": {"name": "A. Archivist", "email": "a@example.org"}},
        "site": {"cable_url": sample_site.cable_base + "/cable/{id}"},
        "seeds": [{"cable": "05ALMATY2503"}], "follow": {"depth": 0},
        "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10},
        "bag": {"output": str(root / "bags")},
    }
    (root / "collection.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(root / "xdg-data"))
        bag = run_manifest(load_manifest(root / "collection.yaml")).bag.path
    ours = write_wacz(bag, root / "cablekeep.wacz").path
    warc = root / "crawl.warc.gz"
    warc.write_bytes(warc_bytes(["http://127.0.0.1/cable/1", "http://127.0.0.1/cable/2"])[0])
    if not PY_WACZ.exists():
        pytest.skip("py-wacz's `wacz` command is not installed in this environment")
    theirs = root / "py-wacz.wacz"
    subprocess.run([str(PY_WACZ), "create", "-o", str(theirs), str(warc)], cwd=root, check=True,
                   capture_output=True, timeout=120)
    return {"cablekeep": ours, "py-wacz": theirs}


def _bag_of(cli: Cli, tmp_path: Path, files: dict[str, bytes]) -> Path:
    """``cablekeep bag`` of a folder holding ``files``; the new bag's directory."""
    folder = tmp_path / "collected"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    made = cli("bag", str(folder), "--output", str(tmp_path / "bags"), "--serialize", "zip")
    assert made.exit_code == 0, made.stderr
    return tmp_path / "bags" / "collected"


def _verify(cli: Cli, target: Path) -> tuple[int, dict[str, Any]]:
    result = cli("verify", "--json", str(target))
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout.splitlines()[0])


def _flip_inside(wacz: Path, member: str) -> None:
    """Flip one byte of ``member`` (stored, as a WACZ stores its WARCs) and write the ZIP CRC-32 it now has
    into its local header and central directory entry: the ZIP is sound, only datapackage.json disagrees."""
    raw = bytearray(wacz.read_bytes())
    with zipfile.ZipFile(wacz) as zf:
        info = zf.getinfo(member)
        central = zf.start_dir  # type: ignore[attr-defined]  # typeshed omits ZipFile.start_dir
    assert info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x08
    at = info.header_offset
    start = at + 30 + int.from_bytes(raw[at + 26: at + 28], "little") + int.from_bytes(raw[at + 28: at + 30], "little")
    raw[start + info.file_size // 2] ^= 0x01
    crc = zlib.crc32(raw[start: start + info.file_size]).to_bytes(4, "little")
    raw[at + 14: at + 18] = crc
    while raw[central: central + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = (int.from_bytes(raw[central + i: central + i + 2], "little")
                                                      for i in (28, 30, 32))
        if raw[central + 46: central + 46 + name_length] == member.encode():
            raw[central + 16: central + 20] = crc
            break
        central += 46 + name_length + extra_length + comment_length
    else:
        raise AssertionError(f"{member} not in the central directory")
    wacz.write_bytes(bytes(raw))


def _warc_member(wacz: Path) -> tuple[str, str]:
    """The first WARC inside ``wacz`` and its hash as datapackage.json lists it."""
    with zipfile.ZipFile(wacz) as zf:
        package = json.loads(zf.read("datapackage.json"))
    entry = next(r for r in package["resources"] if r["path"].startswith("archive/"))
    return entry["path"], entry["hash"].partition(":")[2]


@pytest.mark.parametrize("maker", MAKERS)
def test_a_bagged_wacz_is_kept_whole_and_its_inner_hashes_checked(
    maker: str, waczs: dict[str, Path], cli: Cli, tmp_path: Path
) -> None:
    original = waczs[maker].read_bytes()
    bag = _bag_of(cli, tmp_path, {"site.wacz": original, "readme.txt": b"a WACZ from elsewhere\n"})
    wacz = bag / "data" / "site.wacz"
    assert wacz.read_bytes() == original  # kept whole, not unpacked
    for target in (bag, bag.parent / "collected.zip"):
        code, report = _verify(cli, target)
        assert (code, report["verdict"], report["problems"]) == (0, "valid", []), target

    member, listed = _warc_member(wacz)
    _flip_inside(wacz, member)
    rewrite_payload_manifests(bag)  # the bag's own checksums agree with the changed WACZ
    found = hashlib.sha256(zipfile.ZipFile(wacz).read(member)).hexdigest()
    expected = [{"kind": "wacz", "path": "data/site.wacz",
                 "detail": f"inside the WACZ, {member}: does not match its hash in datapackage.json",
                 "algorithm": "sha256", "expected": listed, "found": found}]
    archives = [serialize(bag, "tar", out_dir=tmp_path / "tampered"), serialize(bag, "zip", out_dir=tmp_path / "tampered")]
    for target in (bag, *archives):
        code, report = _verify(cli, target)
        assert (code, report["verdict"], report["problems"]) == (1, "invalid", expected), target


def test_a_file_named_wacz_that_is_no_zip_is_reported(cli: Cli, tmp_path: Path) -> None:
    bag = _bag_of(cli, tmp_path, {"notes.wacz": b"just some notes, not a ZIP\n"})
    for target in (bag, bag.parent / "collected.zip"):
        code, report = _verify(cli, target)
        assert code == 1 and [(p["kind"], p["path"]) for p in report["problems"]] == [("wacz", "data/notes.wacz")]
        assert "not a readable ZIP file" in report["problems"][0]["detail"]


def test_a_wacz_without_its_digest_is_a_warning_and_an_unlisted_file_a_problem(
    waczs: dict[str, Path], cli: Cli, tmp_path: Path
) -> None:
    def without_digest(extra: dict[str, bytes]) -> bytes:
        out = tmp_path / "edited.wacz"
        with zipfile.ZipFile(waczs["py-wacz"]) as source, zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                if info.filename != "datapackage-digest.json":
                    target.writestr(info, source.read(info))
            for name, data in extra.items():
                target.writestr(name, data)
        return out.read_bytes()

    bag = _bag_of(cli, tmp_path, {"a.wacz": without_digest({}), "b.wacz": without_digest({"pages/extra.jsonl": b"{}\n"})})
    code, report = _verify(cli, bag)
    assert code == 1
    assert [(p["kind"], p["path"]) for p in report["problems"]] == [
        ("wacz", "data/b.wacz"), ("warning", "data/a.wacz"), ("warning", "data/b.wacz"),
    ]
    assert "pages/extra.jsonl: in the package but not listed" in report["problems"][0]["detail"]
    assert "inside the WACZ, datapackage-digest.json" in report["problems"][1]["detail"]


def test_an_archived_bags_large_wacz_is_copied_to_a_temporary_file_and_checked(
    waczs: dict[str, Path], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = _bag_of(cli, tmp_path, {"site.wacz": waczs["cablekeep"].read_bytes()})
    member, _ = _warc_member(bag / "data" / "site.wacz")
    _flip_inside(bag / "data" / "site.wacz", member)
    rewrite_payload_manifests(bag)
    archive = serialize(bag, "tar", out_dir=tmp_path / "tampered")
    made: list[object] = []
    real = tempfile.TemporaryFile

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs.get("prefix"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    in_memory = verify_serialized(archive)
    assert made == [] and [(p.kind, p.path) for p in in_memory.problems] == [("wacz", "data/site.wacz")]
    monkeypatch.setattr(waczcheck, "SPOOL_IN_MEMORY", 4096)
    on_disk = verify_serialized(archive)
    assert made == ["cablekeep-wacz-"] and on_disk.problems == in_memory.problems
