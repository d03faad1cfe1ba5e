"""The bridge a local cluster's verify starts on: this machine's processes until the cluster is up, then
the cluster; tasks not yet started move over, a task lost with a pool process runs again on the cluster."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from cablekeep.cluster.bridge import BridgeExecutor, WhenReady


def _where(gate: threading.Event | None = None) -> str:
    if gate is not None:
        assert gate.wait(30)
    return threading.current_thread().name.split("_")[0]


def _dies_the_first_time(marker: str) -> int:
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)  # the pool process is lost with the task
    return os.getpid()


def test_tasks_run_here_until_the_cluster_is_up_and_the_waiting_ones_move_to_it() -> None:
    local = ThreadPoolExecutor(1, thread_name_prefix="local")
    remote = ThreadPoolExecutor(2, thread_name_prefix="cluster")
    ready: Future[Executor] = Future()
    bridge = BridgeExecutor(local, ready)
    gate = threading.Event()
    try:
        running = bridge.submit(_where, gate)  # holds the one local thread
        waiting = [bridge.submit(_where) for _ in range(3)]  # queued behind it, not started
        ready.set_result(remote)
        assert [f.result(timeout=30) for f in waiting] == ["cluster"] * 3
        gate.set()
        assert running.result(timeout=30) == "local"  # what the pool had started, it finishes
        assert bridge.submit(_where).result(timeout=30) == "cluster"
    finally:
        gate.set()
        bridge.shutdown()
        remote.shutdown()


def test_before_the_cluster_is_up_everything_runs_here() -> None:
    ready: Future[Executor] = Future()
    bridge = BridgeExecutor(ThreadPoolExecutor(2, thread_name_prefix="local"), ready)
    try:
        assert {bridge.submit(_where).result(timeout=30) for _ in range(5)} == {"local"}
    finally:
        bridge.shutdown()
        ready.cancel()


def test_a_task_lost_with_a_pool_process_runs_again_on_the_cluster(tmp_path: Path) -> None:
    local = ProcessPoolExecutor(1)
    remote = ThreadPoolExecutor(1)
    ready: Future[Executor] = Future()
    bridge = BridgeExecutor(local, ready)
    try:
        lost = bridge.submit(_dies_the_first_time, str(tmp_path / "died"))
        threading.Timer(0.5, ready.set_result, (remote,)).start()  # the cluster comes up after the loss
        assert lost.result(timeout=60) == os.getpid()  # run again, once, on the cluster (here: a thread)
    finally:
        bridge.shutdown()
        remote.shutdown()


def test_a_cluster_that_did_not_start_fails_the_tasks_waiting_for_it() -> None:
    local = ThreadPoolExecutor(1, thread_name_prefix="local")
    ready: Future[Executor] = Future()
    bridge = BridgeExecutor(local, ready)
    gate = threading.Event()
    try:
        running = bridge.submit(_where, gate)
        waiting = bridge.submit(_where)
        ready.set_exception(OSError("no port"))
        with pytest.raises(OSError, match="no port"):
            waiting.result(timeout=30)
        with pytest.raises(OSError, match="no port"):
            bridge.submit(_where).result(timeout=30)
        gate.set()
        assert running.result(timeout=30) == "local"
    finally:
        gate.set()
        bridge.shutdown()


def test_when_ready_waits_for_the_cluster() -> None:
    remote = ThreadPoolExecutor(1, thread_name_prefix="cluster")
    ready: Future[Executor] = Future()
    threading.Timer(0.2, ready.set_result, (remote,)).start()
    try:
        assert WhenReady(ready).submit(_where).result(timeout=30) == "cluster"
    finally:
        remote.shutdown()


def test_the_cluster_is_started_once_when_a_task_has_to_wait_for_a_pool_process() -> None:
    local = ThreadPoolExecutor(2, thread_name_prefix="local")
    ready: Future[Executor] = Future()
    starts: list[int] = []
    bridge = BridgeExecutor(local, ready, slots=2, start=lambda: starts.append(1))
    gate = threading.Event()
    try:
        first = [bridge.submit(_where, gate) for _ in range(2)]  # each has a process: no cluster yet
        assert starts == []
        third = bridge.submit(_where, gate)  # waits for a process: the cluster is started
        more = bridge.submit(_where, gate)
        assert starts == [1]
        gate.set()
        assert {f.result(timeout=30) for f in [*first, third, more]} == {"local"}
    finally:
        gate.set()
        bridge.shutdown()
        ready.cancel()


def test_tasks_taken_one_at_a_time_never_start_the_cluster() -> None:
    ready: Future[Executor] = Future()
    starts: list[int] = []
    bridge = BridgeExecutor(ThreadPoolExecutor(2, thread_name_prefix="local"), ready, slots=2,
                            start=lambda: starts.append(1))
    try:
        assert [bridge.submit(_where).result(timeout=30) for _ in range(5)] == ["local"] * 5
        assert starts == []
    finally:
        bridge.shutdown()
        ready.cancel()


def test_when_ready_starts_the_cluster_it_waits_for() -> None:
    remote = ThreadPoolExecutor(1, thread_name_prefix="cluster")
    ready: Future[Executor] = Future()
    try:
        assert WhenReady(ready, lambda: ready.set_result(remote)).submit(_where).result(timeout=30) == "cluster"
    finally:
        remote.shutdown()


def test_tasks_beyond_the_slots_wait_here_and_go_to_the_cluster_once_it_is_up() -> None:
    local = ThreadPoolExecutor(2, thread_name_prefix="local")  # a free thread, but one slot: it takes no more
    remote = ThreadPoolExecutor(2, thread_name_prefix="cluster")
    ready: Future[Executor] = Future()
    bridge = BridgeExecutor(local, ready, slots=1)
    gate = threading.Event()
    try:
        running = bridge.submit(_where, gate)
        waiting = [bridge.submit(_where) for _ in range(3)]
        assert not any(f.done() for f in waiting)  # none started on the pool's free thread
        ready.set_result(remote)
        assert [f.result(timeout=30) for f in waiting] == ["cluster"] * 3
        gate.set()
        assert running.result(timeout=30) == "local"
    finally:
        gate.set()
        bridge.shutdown()
        remote.shutdown()


def test_a_free_slot_takes_the_next_waiting_task_while_the_cluster_starts() -> None:
    ready: Future[Executor] = Future()
    bridge = BridgeExecutor(ThreadPoolExecutor(1, thread_name_prefix="local"), ready, slots=1)
    try:
        assert [f.result(timeout=30) for f in [bridge.submit(_where) for _ in range(4)]] == ["local"] * 4
    finally:
        bridge.shutdown()
        ready.cancel()
