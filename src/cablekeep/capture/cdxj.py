"""The CDXJ index of a crawl, as pywb reads it: ``<surt> <timestamp> <json>``, sorted.

Lines are sorted with a bounded-memory external merge sort (runs of ``run_lines`` lines sorted
in memory, spilled to temporary files, merged), so a 250,000-capture index never sits in memory
whole.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

RUN_LINES = 10_000  # index lines sorted in memory at a time (a few MB); more are merged from files


def _spill(lines: list[str], directory: Path) -> Path:
    lines.sort()
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False, suffix=".run") as handle:
        for line in lines:
            handle.write(line + "\n")
    return Path(handle.name)


def _read_run(handle: IO[str]) -> Iterator[str]:
    for line in handle:
        yield line.rstrip("\n")


def write_sorted(lines: Iterable[str], out: Path, *, run_lines: int = RUN_LINES) -> int:
    """Write ``lines`` sorted to ``out`` (one per line); returns how many were written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cdxj-sort-") as tmp:
        runs: list[Path] = []
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= run_lines:
                runs.append(_spill(batch, Path(tmp)))
                batch = []
        batch.sort()
        count = 0
        with ExitStack() as stack, open(out, "w", encoding="utf-8") as target:
            streams: list[Iterable[str]] = [batch]
            for run in runs:
                streams.append(_read_run(stack.enter_context(open(run, encoding="utf-8"))))
            for line in heapq.merge(*streams):
                target.write(line + "\n")
                count += 1
    return count
