"""A cluster as the rest of cablekeep sees it: an executor, how many tasks it runs at once, its workers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterSession:
    """An open cluster. ``executor`` runs module-level functions of picklable arguments on the workers
    (a task lost with its worker is run again elsewhere); ``slots`` is how many run at once (the workers'
    threads); ``worker_pids`` maps each worker's address to its process id on its host."""

    name: str
    executor: Executor
    slots: int
    worker_pids: Callable[[], dict[str, int]]
