"""The one module that imports Dask: opening a cluster (a running scheduler, or a ``LocalCluster``).

Imported only when a cluster is asked for (``--cluster``), so that a command without it never
loads Dask; Dask itself is imported when a cluster is opened (for a local cluster, in the thread
that starts it). Local clusters listen on 127.0.0.1 only (the scheduler's HTTP routes on a free
port), with one thread per worker process (hashing holds the interpreter lock; a crawl shard leaves
its thread, see :class:`LongTasks`), and keep their scratch space in ``local_directory`` (a
temporary folder of their own, removed at the end, when none is given).

A local cluster starts in the background (its import, its scheduler and workers take about a
second), and only when it is wanted: the session is open at once, its ``fixity_executor`` hashes on a
pool of ``workers`` processes of this machine, one shard each, starts the cluster when a shard has
to wait for one of them, and hands every shard not yet started to the workers once they are up
(:class:`~cablekeep.cluster.bridge.BridgeExecutor`); its ``executor`` (the crawl's) starts it and
waits for it. A start the work overtook is cancelled (its starting workers killed); the session's
``outcome`` then says that the cluster was not needed. The workers fork from a ``forkserver`` that
imported Dask and the hashing code once (:data:`WORKER_PRELOAD`).
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor, Future
from contextlib import ExitStack, contextmanager
from multiprocessing import forkserver
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..bagging.hashing import make_pool
from ..errors import UsageError
from .address import ClusterSpec
from .bridge import BridgeExecutor, WhenReady
from .session import ClusterSession

if TYPE_CHECKING:
    from distributed import Client

if importlib.util.find_spec("distributed") is None:  # what the CLI turns into "needs the cluster extra"
    raise ImportError("No module named 'distributed'")

T = TypeVar("T")
CONNECT_TIMEOUT = 10.0  # seconds
# A local cluster's scheduler hands a worker every task it is given at once (the caller bounds how many
# are in flight), so a worker finishing one shard starts the next without a round trip to the scheduler.
_LOCAL_CONFIG = {"distributed.scheduler.worker-saturation": float("inf")}
# What a local cluster's forkserver imports once for all its workers: Dask, and the fixity shards' code
# (verify and audit are the short commands, where start-up counts; a crawl shard imports its own code).
WORKER_PRELOAD = ("distributed", "cablekeep.fixity.dirsource")


def _pid() -> int:
    return os.getpid()


@contextmanager
def open_cluster(spec: ClusterSpec, *, local_directory: Path | None = None) -> Iterator[ClusterSession]:
    """The cluster ``spec`` names, open for the ``with`` block; :class:`UsageError` when it cannot be reached."""
    with ExitStack() as stack:
        if spec.address is None:
            if local_directory is None:
                scratch = tempfile.mkdtemp(prefix="cablekeep-dask-")
                stack.callback(shutil.rmtree, scratch, ignore_errors=True)  # the workers' spill space, ours alone
                local_directory = Path(scratch)
            yield stack.enter_context(_local_session(spec, local_directory))
        else:
            yield stack.enter_context(_remote_session(spec))


@contextmanager
def _remote_session(spec: ClusterSpec) -> Iterator[ClusterSession]:
    from distributed import Client

    assert spec.address is not None
    try:
        client = Client(spec.address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"--cluster {spec.address}: no Dask scheduler answered ({exc}); start one (dask scheduler) "
            "or use --cluster local:N"
        ) from exc
    with client:
        if not client.nthreads():
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        executor = client.get_executor(pure=False)  # a retried shard is a new task, never a cached result
        slots = max(1, sum(client.nthreads().values()))
        yield ClusterSession(str(spec), executor, slots, lambda: _worker_pids(client),
                             secedes=LongTasks(executor))


@contextmanager
def _local_session(spec: ClusterSpec, local_directory: Path) -> Iterator[ClusterSession]:
    pool = make_pool(spec.workers)  # forked now, while this process has one thread: cheap
    ready: Future[Executor] = Future()
    clients: list[Client] = []
    done = threading.Event()  # the block is over: the starting thread closes what it opened
    ours = set(multiprocessing.active_children())  # the pool's processes; any later one is the cluster's
    starter = threading.Thread(target=_run_local, args=(spec, local_directory, ready, clients, done),
                               name="cablekeep-local-cluster", daemon=True)
    starting = threading.Lock()
    closing: list[bool] = []

    def start() -> None:  # once: when the pool has more shards than processes, or the cluster is asked for
        with starting:
            if starter.ident is None and not closing:
                starter.start()

    bridge = BridgeExecutor(pool, ready, slots=spec.workers, start=start)
    outcome: list[str] = []

    def worker_pids() -> dict[str, int]:
        start()
        ready.result()
        return _worker_pids(clients[0])

    try:
        on_cluster = WhenReady(ready, start)
        yield ClusterSession(str(spec), on_cluster, spec.workers, worker_pids, starts_here=bridge,
                             secedes=LongTasks(on_cluster), outcome=lambda: outcome[0] if outcome else None)
    finally:
        bridge.shutdown(wait=True, cancel_futures=True)
        with starting:
            closing.append(True)  # never started from now on
            started = starter.ident is not None
        if not started:
            outcome.append(f"--cluster {spec}: the cluster was not needed (this machine's {spec.workers} "
                           "processes took every shard as it came); it was not started")
        elif not ready.done():  # everything ran on this machine's processes: the workers are not waited for
            outcome.append(f"--cluster {spec}: the cluster was not needed (this machine's processes did all "
                           "the work before its workers were up); its start was cancelled")
            _cancel_start(ours)
        done.set()
        if started:
            starter.join()
    if not started:
        ready.set_exception(CancelledError("the cluster was not needed"))  # for any task that still waits
    elif ready.done() and ready.exception() is not None and not outcome:
        raise UsageError(f"--cluster {spec}: the local cluster did not start ({ready.exception()})")


def _cancel_start(ours: set[multiprocessing.process.BaseProcess]) -> None:
    """Stop a local cluster's start at once: its worker processes (children started since ``ours``)
    are killed, so that the start fails now instead of finishing only to be closed; what Dask logs
    about the failure it is told is silenced (the failure is ours)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
    for process in set(multiprocessing.active_children()) - ours:
        process.kill()


def _fork_workers_cheaply() -> dict[str, str]:
    """The Dask setting that starts worker processes from a ``forkserver`` which has imported Dask
    and the hashing code once, started now (it imports while this process imports Dask): each worker
    is then a fork of it (~0.05 CPU seconds) instead of a new interpreter importing both (~0.6).
    The forkserver is this process's: a pool made later with threads running (``make_pool``) forks
    from it too. Nothing when there is no forkserver (not POSIX): Dask's default, spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return {}
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))
    forkserver.ensure_running()  # no effect on a forkserver already running: its workers import on their own
    return {"distributed.worker.multiprocessing-method": "forkserver"}


def _run_local(spec: ClusterSpec, local_directory: Path, ready: Future[Executor], clients: list[Any],
               done: threading.Event) -> None:
    """Start the local cluster, hand its executor over through ``ready``, and close it when ``done``
    (at once when ``done`` came first: the start was cancelled)."""
    cluster = None
    try:
        fork_config = _fork_workers_cheaply()
        import dask.config
        from distributed import Client, LocalCluster

        with dask.config.set({"temporary-directory": os.fspath(local_directory), **_LOCAL_CONFIG, **fork_config}):
            if done.is_set():
                raise CancelledError("the cluster was not needed")
            cluster = LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # its HTTP routes (None means 8787, on every interface)
                local_directory=os.fspath(local_directory),
                silence_logs=logging.ERROR,
            )
            if done.is_set():
                raise CancelledError("the cluster was not needed")
            client = Client(cluster)
            with cluster, client:  # a worker restarted by its nanny is forked the same way
                clients.append(client)
                ready.set_result(client.get_executor(pure=False))  # a retried shard is a new task, not a cached result
                done.wait()
    except BaseException as exc:  # reported when the session ends, and to every task waiting for it
        if cluster is not None:
            cluster.close()
        if not ready.done():
            ready.set_exception(exc)


class LongTasks(Executor):
    """Tasks that leave their worker's thread pool once started (Dask's ``secede``): a crawl shard
    waits on politeness most of the time, and a worker with one thread (hashing's setting) would
    otherwise run its shards one after the other, the hosts of the later ones idle meanwhile."""

    def __init__(self, cluster: Executor) -> None:
        self._cluster = cluster

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._cluster.submit(_seceded, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing of its own to shut: the cluster is closed by whoever opened it."""


def _seceded(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    from distributed import secede

    secede()  # the worker opens a slot for its next task; the scheduler counts this one as long-running
    return fn(*args, **kwargs)


def _worker_pids(client: Client) -> dict[str, int]:
    return {str(k): int(v) for k, v in client.run(_pid).items()}
