"""write_wacz on a real bag of the sample site: what is inside, what replay tools and py-wacz accept."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from cablekeep.access.cdxgz import write_blocks
from cablekeep.access.datapackage import DATAPACKAGE, DATAPACKAGE_DIGEST, INDEX_GZ_PATH, INDEX_IDX_PATH, INDEX_PATH
from cablekeep.access.wacz import default_output, write_wacz
from cablekeep.access.waczcheck import verify_wacz
from cablekeep.errors import BagUnreadableError, OutputError

CLOCK = datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """py-wacz's own validator (`wacz validate -f FILE`), run as its console script runs it."""
    script = "import sys; from wacz.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", script, "validate", "-f", str(path)],
                          capture_output=True, text=True, timeout=120)


def records(stream: object) -> list[tuple[str, str | None, bytes]]:
    return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
            for r in ArchiveIterator(stream)]


def test_wacz_of_a_real_bag(real_bag: Path, tmp_path: Path) -> None:
    out = tmp_path / "cables.wacz"
    ref = write_wacz(real_bag, out, clock=lambda: CLOCK)
    assert ref.path == out and ref.bytes == out.stat().st_size and ref.index == INDEX_PATH
    assert verify_wacz(out) == []

    checked = wacz_validate(out)
    assert checked.returncode == 0 and "Validation succeeded" in checked.stdout, checked.stdout + checked.stderr

    warcs = sorted((real_bag / "data" / "warc").iterdir())
    assert ref.warcs == len(warcs) >= 1
    with zipfile.ZipFile(out) as zf:
        package = json.loads(zf.read(DATAPACKAGE))
        assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
        assert package["created"] == "2026-11-27T21:00:00Z" and package["software"].startswith("cablekeep ")
        listed = {r["path"]: r for r in package["resources"]}
        assert set(listed) == {f"archive/{w.name}" for w in warcs} | {INDEX_PATH, "pages/pages.jsonl"}
        for path, resource in listed.items():
            assert resource["bytes"] == zf.getinfo(path).file_size and resource["hash"].startswith("sha256:")
        digest = json.loads(zf.read(DATAPACKAGE_DIGEST))
        assert digest["path"] == DATAPACKAGE

        # the WARCs: byte for byte the bag's, stored (not recompressed), every record readable with warcio
        for warc in warcs:
            info = zf.getinfo(f"archive/{warc.name}")
            assert info.compress_type == zipfile.ZIP_STORED
            assert zf.read(info) == warc.read_bytes()
            with zf.open(info) as inside, warc.open("rb") as original:
                inner, outer = records(inside), records(original)
            assert inner == outer and {"request", "response", "metadata"} <= {t for t, _, _ in inner}
        assert zf.read(INDEX_PATH) == (real_bag / "data" / "index.cdxj").read_bytes()

        # the page list: a header, then every cable of the bag with its ID and subject as title
        lines = zf.read("pages/pages.jsonl").decode("utf-8").splitlines()
    header, pages = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["format"] == "json-pages-1.0" and header["id"] == "pages"
    cables = [json.loads(line) for line in (real_bag / "data" / "cables.jsonl").read_text("utf-8").splitlines()]
    assert ref.pages == len(pages) == len(cables) >= 2
    for page, cable in zip(pages, cables):
        assert page["url"] == cable["url"] and page["ts"] == cable["captured"] and page["cable_id"] == cable["cable_id"]
        subject = cable["fields"].get("subject")
        assert page["title"] == (f"{cable['cable_id']}: {subject}" if subject else cable["cable_id"])
    assert any(": DETAINED UZBEK REFUGEE FACING DEPORTATION" in p["title"] for p in pages)
    assert len({p["id"] for p in pages}) == len(pages)


def test_a_large_index_is_written_in_gzip_blocks_with_its_idx(real_bag: Path, tmp_path: Path) -> None:
    out = tmp_path / "blocks.wacz"
    ref = write_wacz(real_bag, out, index_inline_limit=0)
    assert ref.index == INDEX_GZ_PATH and verify_wacz(out) == []
    checked = wacz_validate(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(out) as zf:
        assert INDEX_PATH not in zf.NameToInfo
        assert zf.getinfo(INDEX_GZ_PATH).compress_type == zipfile.ZIP_STORED
        data, idx = zf.read(INDEX_GZ_PATH), zf.read(INDEX_IDX_PATH).decode("utf-8")
    assert gzip.decompress(data) == (real_bag / "data" / "index.cdxj").read_bytes()
    assert idx.splitlines()[0] == '!meta 0 {"format": "cdxj-gzip-1.0", "filename": "index.cdx.gz"}'


def test_each_idx_line_finds_its_gzip_block(real_bag: Path) -> None:
    lines = (real_bag / "data" / "index.cdxj").read_text("utf-8").splitlines(keepends=True)
    assert len(lines) > 3

    data, idx = io.BytesIO(), io.StringIO()
    blocks = write_blocks(lines, data, idx, data_name="x.cdx.gz", block_lines=3)
    whole, idx_lines = data.getvalue(), idx.getvalue().splitlines()
    assert blocks == len(idx_lines) - 1 == -(-len(lines) // 3)
    for number, line in enumerate(idx_lines[1:]):
        key, _, entry = line.partition(" {")
        where = json.loads("{" + entry)
        member = whole[where["offset"]: where["offset"] + where["length"]]
        block = gzip.decompress(member).decode("utf-8").splitlines(keepends=True)
        assert block == lines[number * 3: number * 3 + 3]
        assert key == block[0].split("{", 1)[0].strip()


def test_same_bag_and_clock_give_the_same_bytes(real_bag: Path, tmp_path: Path) -> None:
    first = write_wacz(real_bag, tmp_path / "a.wacz", clock=lambda: CLOCK)
    second = write_wacz(real_bag, tmp_path / "b.wacz", clock=lambda: CLOCK)
    assert first.path.read_bytes() == second.path.read_bytes()


def test_default_output_is_beside_the_bag(real_bag: Path, tmp_path: Path) -> None:
    bag = tmp_path / real_bag.name
    shutil.copytree(real_bag, bag)
    ref = write_wacz(bag)
    assert ref.path == default_output(bag) == tmp_path / f"{bag.name}.wacz"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([bag.name, f"{bag.name}.wacz"])


def test_an_existing_output_is_never_replaced(real_bag: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.wacz"
    out.write_bytes(b"the user's file")
    with pytest.raises(OutputError, match="already exists"):
        write_wacz(real_bag, out)
    assert out.read_bytes() == b"the user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["mine.wacz"]


def test_a_failed_write_leaves_nothing_behind(real_bag: Path, tmp_path: Path) -> None:
    """The last WARC of the bag is a symbolic link: refused (never followed) after the others were written."""
    bag = tmp_path / "bag"
    shutil.copytree(real_bag, bag)
    warc = sorted((bag / "data" / "warc").iterdir())[-1]
    outside = tmp_path / "elsewhere.warc.gz"
    warc.rename(outside)
    (bag / "data" / "warc" / "zz-last.warc.gz").symlink_to(outside)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(BagUnreadableError, match="zz-last.warc.gz"):
        write_wacz(bag, out_dir / "cables.wacz")
    assert list(out_dir.iterdir()) == []


def test_not_a_bag_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data" / "warc").mkdir(parents=True)
    with pytest.raises(BagUnreadableError, match="no WARC"):
        write_wacz(tmp_path, tmp_path.parent / "x.wacz")
    assert not (tmp_path.parent / "x.wacz").exists()
