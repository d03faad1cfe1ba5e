"""How verify cuts a bag into shards for an executor (a cluster): bigger than for its own pool, a WARC
file always its own, every file in exactly one shard; checked with a recording thread executor."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bagit

from cablekeep.fixity import dirsource as fixity_verify
from cablekeep.fixity.verify import verify_bag


class RecordingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.shards: list[list[str]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.shards.append([rel for rel, _packed in args[2]])  # _check_batch(root, layout, items, ...)
        return super().submit(fn, *args, **kwargs)


def test_shards_for_an_executor_are_bigger_and_cover_each_file_once(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    (root / "cables").mkdir(parents=True)
    for n in range(1500):
        (root / "cables" / f"{n:04d}.txt").write_bytes(b"x" * (n % 97))
    (root / "c.warc.gz").write_bytes(b"")  # not a valid WARC: a finding, and its own shard
    bagit.make_bag(str(root), {"Source-Organization": "cablekeep tests"}, checksums=["sha256"])
    with RecordingExecutor() as executor:
        report = verify_bag(root, executor=executor, processes=2)
    local = verify_bag(root, processes=1)
    assert report.problems == local.problems and report.files_checked == local.files_checked
    assert fixity_verify.BATCH_FILES < 1500 <= fixity_verify.REMOTE_BATCH_FILES
    assert sorted(len(s) for s in executor.shards) == [1, 1500]  # one shard of files, the WARC its own
    assert executor.shards[0] == ["data/c.warc.gz"] or executor.shards[1] == ["data/c.warc.gz"]
    listed = sorted(rel for shard in executor.shards for rel in shard)
    assert listed == sorted(set(listed)) and len(listed) == 1501
