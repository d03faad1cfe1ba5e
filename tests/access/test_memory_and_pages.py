"""Memory flat in the bag's size, and the page entries built from cable records."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from cablekeep.access.pages import iter_page_lines, page_title
from cablekeep.access.wacz import write_wacz
from cablekeep.access.waczcheck import verify_wacz
from cablekeep.errors import BagUnreadableError

MB = 1 << 20


def _synthetic_bag(root: Path, warc_mb: int, captures: int) -> Path:
    """A bag-shaped folder: write_wacz copies its WARC without parsing it, so random bytes do."""
    warc_dir = root / "bag" / "data" / "warc"
    warc_dir.mkdir(parents=True)
    with open(warc_dir / "big-00001.warc.gz", "wb") as out:
        for _ in range(warc_mb):
            out.write(os.urandom(MB))
    with open(root / "bag" / "data" / "index.cdxj", "w", encoding="utf-8") as index, \
            open(root / "bag" / "data" / "cables.jsonl", "w", encoding="utf-8") as cables:
        for n in range(captures):
            url = f"http://127.0.0.1:8000/cable/05ALMATY{n:06d}"
            entry = {"url": url, "mime": "text/html", "status": "200", "digest": "sha1:" + "A" * 32,
                     "length": "4856", "offset": str(n * 5000), "filename": "big-00001.warc.gz"}
            index.write(f"127.0.0.1:8000)/cable/05almaty{n:06d} 20261127210000 {json.dumps(entry)}\n")
            record = {"url": url, "captured": "2026-11-27T21:00:00Z", "status": 200, "cable_id": f"05ALMATY{n}",
                      "fields": {"subject": "A SUBJECT " * 10}, "warc_record_id": f"<urn:uuid:{n:032x}>"}
            cables.write(json.dumps(record) + "\n")
    return root / "bag"


def test_memory_stays_flat_in_the_bag_size(tmp_path: Path) -> None:
    """A 48 MB WARC and 60,000 captures (a 12 MB index, so the gzip-block form) in a few MB of Python memory."""
    bag = _synthetic_bag(tmp_path, warc_mb=48, captures=60_000)
    out = tmp_path / "big.wacz"
    tracemalloc.start()
    try:
        ref = write_wacz(bag, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref.index == "indexes/index.cdx.gz" and ref.pages == 60_000
    assert peak < 8 * MB, f"writing took {peak / MB:.1f} MB of Python memory"
    tracemalloc.start()
    try:
        assert verify_wacz(out) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, f"checking took {peak / MB:.1f} MB of Python memory"


def test_titles_from_id_and_subject() -> None:
    assert page_title("05ALMATY2503", "DETAINED UZBEK REFUGEE", "http://x/") == "05ALMATY2503: DETAINED UZBEK REFUGEE"
    assert page_title("05ALMATY2503", None, "http://x/") == "05ALMATY2503"
    assert page_title("05ALMATY2503", "  ", "http://x/") == "05ALMATY2503"
    assert page_title(None, None, "http://x/") == "http://x/"


def test_a_broken_cable_record_is_named_not_skipped() -> None:
    good = json.dumps({"url": "http://x/a", "captured": "2026-11-27T21:00:00Z", "cable_id": "05ALMATY1"})
    lines = [good + "\n", "\n", json.dumps({"url": "http://x/b"}) + "\n"]
    pages = iter_page_lines(lines)
    assert json.loads(next(pages))["title"] == "05ALMATY1"
    with pytest.raises(BagUnreadableError, match=r"data/cables.jsonl:3: .*capture time"):
        next(pages)
