"""A cluster as the rest of cablekeep sees it: an executor, how many tasks it runs at once, its workers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterSession:
    """An open cluster. ``executor`` runs module-level functions of picklable arguments on the workers
    (a task lost with its worker is run again elsewhere; a cluster still starting is waited for);
    ``slots`` is how many run at once (the workers' threads); ``worker_pids`` maps each worker's
    address to its process id on its host. ``fixity_executor`` runs independent tasks whose results
    merge in any order (the fixity shards): on this machine's processes while a local cluster starts,
    on its workers from then on; ``long_executor`` runs tasks that last (a crawl shard, mostly waiting
    on politeness) without holding a worker's slot, so that every shard runs at once whatever the
    workers' threads. Both are the ``executor`` itself when not given. ``outcome``, once the session
    is closed, says in one line what became of a cluster that was started for it and not used (a local
    cluster whose start was cancelled because this machine's processes did all the work), else None."""

    name: str
    executor: Executor
    slots: int
    worker_pids: Callable[[], dict[str, int]]
    starts_here: Executor | None = None  # the fixity executor of a cluster that starts in the background
    secedes: Executor | None = None  # the long tasks' executor
    outcome: Callable[[], str | None] = lambda: None

    @property
    def fixity_executor(self) -> Executor:
        return self.executor if self.starts_here is None else self.starts_here

    @property
    def long_executor(self) -> Executor:
        return self.executor if self.secedes is None else self.secedes
