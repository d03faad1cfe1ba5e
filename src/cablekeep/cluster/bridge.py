"""Tasks that start on the coordinator's own processes while a cluster starts, and move to it once it is up.

A ``LocalCluster`` takes about a second to start its workers; a verify of 100,000 small files takes
two or three. :class:`BridgeExecutor` runs the independent tasks it is given (fixity shards: sets of
files whose results merge in any order) on a pool of this machine's processes until the cluster is
ready, then on the cluster: tasks the pool has not started by then move to the cluster (the pool
finishes only what it is running), and a task lost with a pool process runs again on the cluster.
Each task runs to completion once, wherever it ran.

A cluster that is only worth starting when the pool has more to do than it can start at once is
started by the bridge (``start``): when a task has to wait for one of the pool's ``slots``; a small
bag (every shard started on the pool as it came) never starts it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
_Task = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class BridgeExecutor(Executor):
    """``local`` until ``cluster`` (a future of the cluster's executor) is done, then the cluster.

    When ``cluster`` fails (the cluster could not start), every task not yet finished fails with its error.
    ``slots`` (when above 0) is how many tasks ``local`` runs at once: no more are handed to it, the others
    wait here, so that once the cluster is up every task not yet started goes to it and this machine's
    processes stop taking new ones (its cores are not shared by them and the workers). ``start``, when
    given, is called once, the first time a task has to wait for one of them: it starts the cluster that
    will complete ``cluster``."""

    def __init__(self, local: Executor, cluster: Future[Executor], *, slots: int = 0,
                 start: Callable[[], None] | None = None) -> None:
        self._local = local
        self._cluster = cluster
        self._lock = threading.RLock()  # a pool future done before its callback is added calls back at once
        self._on_local: dict[Future[Any], _Task] = {}
        self._slots = slots
        self._waiting: deque[_Task] = deque()  # for a free slot of ``local``, or the cluster
        self._start = start
        cluster.add_done_callback(self._cluster_ready)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        outer: Future[T] = Future()
        outer.set_running_or_notify_cancel()  # never cancelled by the caller: it runs once, here or there
        start = None
        with self._lock:
            here = not self._cluster.done()
            if here and 0 < self._slots <= len(self._on_local):  # it waits for a process: time for the cluster
                self._waiting.append((outer, fn, args, kwargs))
                start, self._start = self._start, None
            elif here:
                self._run_here((outer, fn, args, kwargs))
        if start is not None:
            start()  # outside the lock: the cluster's readiness calls back into the bridge
        if not here:
            self._to_cluster((outer, fn, args, kwargs))
        return outer

    def _run_here(self, task: _Task) -> None:
        """On ``local`` (the lock held); on the cluster when ``local`` is broken or shut."""
        outer, fn, args, kwargs = task
        try:
            inner = self._local.submit(fn, *args, **kwargs)
        except (BrokenProcessPool, RuntimeError):  # a pool process died, or the pool is shut: the cluster runs it
            self._to_cluster(task)
            return
        self._on_local[inner] = task
        inner.add_done_callback(self._local_done)

    def _local_done(self, inner: Future[Any]) -> None:
        with self._lock:
            task = self._on_local.pop(inner, None)
            if self._waiting and not self._cluster.done():  # a slot is free: the next waiting task takes it
                self._run_here(self._waiting.popleft())
        if task is None or inner.cancelled():  # moved to the cluster by _cluster_ready
            return
        outer = task[0]
        error = inner.exception()
        if isinstance(error, BrokenProcessPool):  # lost with a pool process: run it again on the cluster
            self._to_cluster(task)
        elif error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(inner.result())

    def _cluster_ready(self, cluster: Future[Executor]) -> None:
        with self._lock:
            waiting = list(self._on_local.items())
            queued, self._waiting = list(self._waiting), deque()
        for task in queued:
            self._to_cluster(task)
        for inner, task in waiting:
            if inner.cancel():  # not started on the pool: the cluster takes it
                self._to_cluster(task)

    def _to_cluster(self, task: _Task) -> None:
        outer, fn, args, kwargs = task

        def start(cluster: Future[Executor]) -> None:
            try:
                inner = cluster.result().submit(fn, *args, **kwargs)
            except BaseException as exc:  # the cluster did not start, or refused the task: the task fails
                outer.set_exception(exc)
                return
            inner.add_done_callback(lambda done: _copy(done, outer))

        self._cluster.add_done_callback(start)  # at once when the cluster is up

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shuts the local pool down; the cluster is closed by whoever opened it. ``cancel_futures``: the
        tasks still waiting for a slot fail (CancelledError)."""
        if cancel_futures:
            with self._lock:
                queued, self._waiting = list(self._waiting), deque()
            for outer, *_ in queued:
                outer.set_exception(CancelledError())
        self._local.shutdown(wait=wait, cancel_futures=cancel_futures)


def _copy(inner: Future[Any], outer: Future[Any]) -> None:
    if inner.cancelled():
        outer.set_exception(RuntimeError("the cluster cancelled the task"))
        return
    error = inner.exception()
    if error is not None:
        outer.set_exception(error)
    else:
        outer.set_result(inner.result())


class WhenReady(Executor):
    """The cluster's executor once ``cluster`` is done: ``submit`` starts it (``start``, when given)
    and waits for it to be up."""

    def __init__(self, cluster: Future[Executor], start: Callable[[], None] = lambda: None) -> None:
        self._cluster = cluster
        self._start = start

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self._start()
        return self._cluster.result().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing of its own to shut: the cluster is closed by whoever opened it."""
