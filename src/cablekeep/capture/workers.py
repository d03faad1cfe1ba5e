"""Where fetches run: threads in the crawl's process, or worker processes to use more cores.

The crawl's coordinating thread hands out jobs and takes back outcomes; what runs a job (``work``)
never touches the crawl state or the open WARC file, so it can run anywhere. Two pools:

- :class:`ThreadPool`: ``threads`` threads in this process (``fetch.processes: 1``).
- :class:`ProcessPool`: forked worker processes (``fetch.processes: N``), each with ``threads``
  threads, so that fetching, building records and parsing use more than the one core the GIL
  allows. Jobs go to the worker with the fewest in flight over a pipe, and the coordinator reads
  outcomes from the pipes itself (no reader threads to wait for the GIL). Both ways they travel
  in batches: the jobs handed out at once go to a worker in one message (:meth:`ProcessPool.submit_many`),
  and the outcomes a worker's threads finish while one is being sent go back together, so a page
  costs less than one pipe write and one wake-up each way. A worker with one thread runs its jobs
  in its main thread. Workers ignore SIGINT and SIGTERM (the crawl decides
  when to stop, also when a signal reaches the whole process group) and exit when their pipe
  closes or the crawl's process is gone: after a ``kill -9`` of the crawl a worker ends within
  a second of finishing the fetch it was making, and sends nothing anywhere.

Both are given the work function before they start: a forked worker inherits it, nothing about
it is pickled; jobs and outcomes are.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from ..children import die_with_owner, worker_initargs

J = TypeVar("J")
O = TypeVar("O")

PARENT_CHECK = 1.0  # seconds between a worker's checks that the crawl's process is still there


class ThreadPool(Generic[J, O]):
    """``threads`` daemon threads running ``work`` on each job."""

    def __init__(self, work: Callable[[J], O], threads: int) -> None:
        self._jobs: queue.SimpleQueue[J | None] = queue.SimpleQueue()
        self._work = work
        self._results: queue.SimpleQueue[O] = queue.SimpleQueue()
        # Daemon threads: a second interrupt or an error must not wait for the fetches in flight.
        self._threads = [threading.Thread(target=self._run, name=f"fetch-{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._results.put(self._work(job))

    def submit(self, job: J) -> None:
        self._jobs.put(job)

    def submit_many(self, jobs: list[J]) -> None:
        for job in jobs:
            self._jobs.put(job)

    def results(self, timeout: float) -> list[O]:
        """The outcomes ready, waiting up to ``timeout`` seconds for the first."""
        try:
            ready = [self._results.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                ready.append(self._results.get_nowait())
            except queue.Empty:
                return ready

    def shutdown(self, wait: bool) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


class ProcessPool(Generic[J, O]):
    """``processes`` forked workers, each running ``work`` in ``threads`` threads."""

    def __init__(self, work: Callable[[J], O], processes: int, threads: int) -> None:
        context = multiprocessing.get_context("fork")
        self._conns: list[Connection] = []
        self._load: list[int] = []
        self._processes = []
        parent, watch = worker_initargs()
        for i in range(processes):
            here, there = context.Pipe(duplex=True)
            process = context.Process(
                target=_worker_main, args=(there, work, threads, parent, watch), name=f"cablekeep-fetch-{i}",
                daemon=True,
            )
            process.start()
            there.close()
            self._conns.append(here)
            self._load.append(0)
            self._processes.append(process)
        self._index = {id(conn): i for i, conn in enumerate(self._conns)}

    def submit(self, job: J) -> None:
        self.submit_many([job])

    def submit_many(self, jobs: list[J]) -> None:
        """Each job to the worker with the fewest in flight; one message to each worker given some."""
        load = self._load
        batches: dict[int, list[J]] = {}
        for job in jobs:
            index = min(range(len(load)), key=load.__getitem__)
            load[index] += 1
            batches.setdefault(index, []).append(job)
        for index, batch in batches.items():
            self._conns[index].send(batch)

    def results(self, timeout: float) -> list[O]:
        """The outcomes ready, waiting up to ``timeout`` seconds for the first."""
        ready: list[O] = []
        for conn in wait(self._conns, timeout):
            assert isinstance(conn, Connection)
            try:
                while True:
                    batch = conn.recv()
                    ready.extend(batch)
                    self._load[self._index[id(conn)]] -= len(batch)
                    if not conn.poll():
                        break
            except EOFError:
                raise RuntimeError("a fetch worker process ended unexpectedly; run the same command again to resume") from None
        return ready

    def shutdown(self, wait: bool) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
            except OSError:
                pass  # that worker is gone already
        for process in self._processes:
            if wait:
                process.join()
            else:
                process.kill()
                process.join()
        for conn in self._conns:
            conn.close()


def _jobs_from(conn: Connection, parent: int) -> Iterator[Any]:
    """The jobs the coordinator sends (in batches), until it sends None or is gone (its pid no
    longer our parent)."""
    while True:
        if not conn.poll(PARENT_CHECK):
            if os.getppid() != parent:
                return
            continue
        batch = conn.recv()
        if batch is None:
            return
        yield from batch


class _Sender(Generic[O]):
    """Sends a worker's outcomes back in batches: the thread that finds nobody sending sends what
    is pending, and keeps sending what the other threads add meanwhile; the others only add."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._pending: list[O] = []
        self._sending = False

    def send(self, outcome: O) -> None:
        with self._lock:
            self._pending.append(outcome)
            if self._sending:
                return
            self._sending = True
        try:
            while True:
                with self._lock:
                    batch, self._pending = self._pending, []
                    if not batch:
                        self._sending = False
                        return
                self._conn.send(batch)
        except BaseException:
            with self._lock:
                self._sending = False
            raise


def _worker_main(conn: Connection, work: Callable[[J], O], threads: int, parent: int, watch: Connection | None) -> None:
    die_with_owner(parent, watch)  # killed with the crawl's process, even in the middle of a fetch
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.freeze()  # what the crawl's process had is never collected here: no collection walks it again
    if threads == 1:
        try:
            for job in _jobs_from(conn, parent):
                conn.send([work(job)])
        except (EOFError, OSError):
            pass
        finally:
            os._exit(0)
    jobs: queue.SimpleQueue[J | None] = queue.SimpleQueue()
    sender: _Sender[O] = _Sender(conn)

    def run() -> None:
        while (job := jobs.get()) is not None:
            sender.send(work(job))

    pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    try:
        for job in _jobs_from(conn, parent):
            jobs.put(job)
        for _ in pool:
            jobs.put(None)
        for thread in pool:
            thread.join()
    except (EOFError, OSError):
        pass
    finally:
        # the forked copy of the crawl (its state database, its open files) is not ours to close
        os._exit(0)
