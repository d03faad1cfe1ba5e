"""The crawl sharded by host: shards run the one-machine crawl on the workers, the coordinator routes.

The hosts are split into ``count`` shards by a stable hash (:func:`~cablekeep.capture.shard.shard_of`);
a host lives on one shard, so politeness stays per host. Shard ``i`` crawls in its own folder,
``<work>/shards/s<i>/`` (its ``state.sqlite`` and its WARC files, ``<collection>-<time>-s<i>-NNNNN.warc.gz``),
on storage every worker sees. :func:`crawl_shard` is the task: a function of (manifest, folder, shard,
URLs handed to it, a hand-off cursor) that queues the handed URLs, crawls until its frontier is
drained and returns the URLs it found on other shards' hosts since the cursor.

The coordinator (:func:`crawl_on_cluster`) keeps at most one task per shard in flight. When a task
returns, its hand-offs go to the inboxes of their owners; a shard that is idle and has an inbox is
started again. The crawl is over when no task runs and every inbox is empty. Then the shards' tables
merge into the coordinator's state (:mod:`~cablekeep.cluster.merge`), from which ``run.package``
builds the one bag as for a one-machine crawl.

Failure: a worker killed mid-crawl loses its task; the scheduler runs it again on another worker,
from the shard's last commit (the one-machine ``kill -9`` rule: every URL either done with its
records in a WARC or queued again; the open WARC file cut back). A hand-off is committed with the
page that found it and handed again from the old cursor, and an owner queues a URL it has seen
before no second time, so nothing is lost and nothing is fetched twice. Shards are sequential on
their own folder; the scheduler never runs two tasks of one shard at once (the coordinator asks
for the next only after the last returned).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..capture.crawl import Crawl, CrawlResult
from ..capture.resume import open_state
from ..capture.shard import HandedUrl, HostShard, ShardState, shard_of
from ..capture.warc import make_record_id
from ..errors import RunInterrupted
from ..manifest import Manifest
from .merge import merge_shards
from .session import ClusterSession

SHARDS_DIR = "shards"
STOP_POLL = 0.5  # seconds between looks at the stop event while shards run
SHARDS_FILE = "shards.json"  # how many shards the crawl in this folder was split into, for good


@dataclass(frozen=True)
class ShardResult:
    """What one run of a shard hands back: URLs for other shards, and the cursor past them."""

    index: int
    handoff: tuple[HandedUrl, ...]
    cursor: int


def shard_dir(workdir: Path, shard: HostShard) -> Path:
    return workdir / SHARDS_DIR / shard.tag


def crawl_shard(
    manifest: Manifest,
    folder: Path,
    shard: HostShard,
    handed: Sequence[HandedUrl],
    cursor: int,
    *,
    clock: Callable[[], datetime] | None = None,
    make_id: Callable[[], str] = make_record_id,
    earlier_bags: Sequence[Path] = (),
) -> ShardResult:
    """One run of shard ``shard`` in ``folder``: queue ``handed``, crawl its hosts until drained, and
    return the URLs it found on other shards' hosts past ``cursor``. Runs on a worker; run again after
    a crash, it resumes from the shard's last commit."""
    # a shard is one worker's task: its fetches run as threads there (a worker may not fork fetch processes)
    one_process = dataclasses.replace(manifest, fetch=dataclasses.replace(manifest.fetch, processes=1))
    crawl = Crawl(one_process, folder, clock=clock, make_id=make_id, earlier_bags=earlier_bags, shard=shard)
    state, _ = open_state(one_process, folder, clock=crawl.clock, earlier_bags=earlier_bags,
                          make_state=crawl.open_state)
    try:
        assert isinstance(state, ShardState)
        state.add_handed(list(handed))
        state.commit()
    finally:
        state.close()
    crawl.run()
    state = ShardState(folder / "state.sqlite", shard)
    try:
        found = list(state.iter_handoff(cursor))
    finally:
        state.close()
    return ShardResult(shard.index, tuple(url for _, url in found), max((i for i, _ in found), default=cursor))


def shard_count(workdir: Path, wanted: int) -> int:
    """The number of shards of the crawl in ``workdir``: fixed by its first run (ownership must not
    move between runs), ``wanted`` for a new crawl. Written to a temporary name, then renamed."""
    path = workdir / SHARDS_FILE
    if path.is_file():
        return int(json.loads(path.read_text(encoding="utf-8"))["shards"])
    workdir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".open")
    temporary.write_text(json.dumps({"shards": wanted}) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return wanted


def crawl_on_cluster(
    manifest: Manifest,
    workdir: Path,
    session: ClusterSession,
    *,
    clock: Callable[[], datetime] | None = None,
    make_id: Callable[[], str] = make_record_id,
    earlier_bags: Sequence[Path] = (),
    shards: int | None = None,
    on_shard: Callable[[ShardResult], None] | None = None,
    stop: threading.Event | None = None,
) -> CrawlResult:
    """Crawl ``manifest`` on ``session``'s workers, sharded by host (``shards``: default twice the
    cluster's slots, so one slow shard leaves room), and merge the shards into ``workdir``'s state."""
    count = shard_count(workdir, shards or 2 * session.slots)
    everyone = [HostShard(i, count) for i in range(count)]
    cursors = [0] * count
    inbox: dict[int, list[HandedUrl]] = {shard.index: [] for shard in everyone}
    waiting = set(inbox)  # the first round: every shard seeds its own hosts (or resumes)
    running: dict[Future[ShardResult], int] = {}
    while waiting or running:
        for index in sorted(waiting):
            shard = everyone[index]
            future = session.long_executor.submit(  # every shard at once, whatever the workers' threads
                crawl_shard, manifest, shard_dir(workdir, shard), shard, tuple(inbox[index]), cursors[index],
                clock=clock, make_id=make_id, earlier_bags=tuple(earlier_bags),
            )
            inbox[index] = []
            running[future] = index
        waiting = set()
        done, _ = wait(list(running), timeout=STOP_POLL, return_when=FIRST_COMPLETED)
        if stop is not None and stop.is_set():
            for future in running:
                future.cancel()  # a task already running ends with its worker (a local cluster's, on close)
            raise RunInterrupted(
                "crawl stopped; each shard keeps what it committed: run the same command again to resume"
            )
        for future in done:
            running.pop(future)
            result = future.result()  # a shard that failed past the scheduler's retries fails the crawl
            cursors[result.index] = result.cursor
            for url in result.handoff:
                inbox[shard_of(url.host, count)].append(url)
            if on_shard is not None:
                on_shard(result)
        busy = set(running.values())
        waiting = {index for index, urls in inbox.items() if urls and index not in busy}
    folders = [shard_dir(workdir, shard) for shard in everyone]
    return merge_shards(manifest, workdir, folders, clock=clock)
