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
    on its workers from then on; the ``executor`` itself when not given."""

    name: str
    executor: Executor
    slots: int
    worker_pids: Callable[[], dict[str, int]]
    fixity_executor: Executor | None = None

    def __post_init__(self) -> None:
        if self.fixity_executor is None:
            object.__setattr__(self, "fixity_executor", self.executor)
