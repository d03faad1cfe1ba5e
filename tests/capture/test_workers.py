"""The fetch worker pools' batched hand-offs (capture/workers.py)."""

from __future__ import annotations

import os
import threading
import time

from cablekeep.capture.workers import ProcessPool, ThreadPool, _Sender


class _SlowConn:
    """A pipe end whose first send waits until the test lets it go."""

    def __init__(self) -> None:
        self.sent: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, batch: list[int]) -> None:
        if not self.sent:
            self.entered.set()
            assert self.release.wait(10)
        self.sent.append(list(batch))


def test_outcomes_finished_while_one_is_sent_go_back_together() -> None:
    conn = _SlowConn()
    sender: _Sender[int] = _Sender(conn)  # type: ignore[arg-type]  # a stand-in for the pipe
    first = threading.Thread(target=sender.send, args=(1,))
    first.start()
    assert conn.entered.wait(10)
    sender.send(2)  # the first thread is sending: these wait for it, and do not block here
    sender.send(3)
    assert conn.sent == []
    conn.release.set()
    first.join(10)
    assert conn.sent == [[1], [2, 3]]
    sender.send(4)  # nobody sending: sent at once, alone
    assert conn.sent == [[1], [2, 3], [4]]


def _pid_of(job: int) -> tuple[int, int]:
    time.sleep(0.05)
    return job, os.getpid()


def test_jobs_handed_out_together_reach_every_worker_and_all_come_back() -> None:
    pool: ProcessPool[int, tuple[int, int]] = ProcessPool(_pid_of, processes=2, threads=3)
    try:
        pool.submit_many([1, 2, 3, 4, 5, 6])
        done: list[tuple[int, int]] = []
        deadline = time.monotonic() + 30
        while len(done) < 6 and time.monotonic() < deadline:
            done.extend(pool.results(0.5))
        assert sorted(job for job, _ in done) == [1, 2, 3, 4, 5, 6]
        assert len({pid for _, pid in done}) == 2  # three each: the least loaded worker gets the next
        assert pool.results(0.05) == []
        pool.submit(7)  # one job alone still goes
        again: list[tuple[int, int]] = []
        while not again and time.monotonic() < deadline:
            again = pool.results(0.5)
        assert [job for job, _ in again] == [7]
    finally:
        pool.shutdown(wait=True)


def test_thread_pool_takes_batches_too() -> None:
    pool: ThreadPool[int, int] = ThreadPool(lambda job: job * 10, threads=2)
    try:
        pool.submit_many([1, 2, 3])
        done: list[int] = []
        deadline = time.monotonic() + 10
        while len(done) < 3 and time.monotonic() < deadline:
            done.extend(pool.results(0.5))
        assert sorted(done) == [10, 20, 30]
    finally:
        pool.shutdown(wait=True)
