"""The CDXJ index's bounded-memory sort: runs spilled to files and merged."""

from __future__ import annotations

import random
from pathlib import Path

from cablekeep.capture.cdxj import write_sorted


def test_lines_sorted_across_spilled_runs(tmp_path: Path) -> None:
    lines = [f"org,example)/p/{n:05d} 2026{n % 7:02d} {{\"n\": {n}}}" for n in range(1000)]
    shuffled = random.Random(4).sample(lines, len(lines))
    out = tmp_path / "index.cdxj"
    assert write_sorted(iter(shuffled), out, run_lines=64) == 1000  # 15 runs on disk and one in memory
    assert out.read_text(encoding="utf-8").splitlines() == sorted(lines)
    assert [p.name for p in tmp_path.iterdir()] == ["index.cdxj"]  # the runs are gone


def test_fewer_lines_than_a_run_and_none(tmp_path: Path) -> None:
    assert write_sorted(["b 2 {}", "a 1 {}"], tmp_path / "small.cdxj") == 2
    assert (tmp_path / "small.cdxj").read_text(encoding="utf-8") == "a 1 {}\nb 2 {}\n"
    assert write_sorted([], tmp_path / "empty.cdxj") == 0
    assert (tmp_path / "empty.cdxj").read_text(encoding="utf-8") == ""
