"""Worker processes that die with the process that started them.

A SIGKILL of ``bag``, ``verify``, ``repair`` or ``run`` gives its workers no chance to be told; left
alone they would go on hashing or fetching for minutes, holding the terminal and the history
database. Each worker calls :func:`die_with_owner` first thing (a pool's initializer):

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker when its parent
  ends. Right after, the worker checks that its parent is still the owner (or the owner's direct
  child, a ``forkserver``): had the parent died before the call, no signal would ever come, so
  the worker ends itself instead.
- elsewhere, a pipe: the owner holds the writing end for its whole life (:func:`owner_pipe`);
  a thread in the worker waits on the reading end and ends the worker when it reads end-of-file,
  which happens when the owner has gone, however it went.

Used by the hashing pool (:mod:`cablekeep.bagging.hashing`) and the fetch processes
(:mod:`cablekeep.capture.workers`). Standard library only; nothing happens at import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_pipe: tuple[Connection, Connection] | None = None
_pipe_lock = threading.Lock()


def owner_pipe() -> Connection:
    """The reading end of this process's owner pipe, made once; hand it to workers (initargs).

    The writing end stays open in this process until it ends. Needed only where
    :func:`die_with_owner` cannot use prctl; harmless elsewhere."""
    global _pipe
    with _pipe_lock:
        if _pipe is None:
            _pipe = multiprocessing.Pipe(duplex=False)  # (reader, writer)
        return _pipe[0]


def worker_initargs() -> tuple[int, Connection | None]:
    """The arguments of :func:`die_with_owner` for workers this process starts: its pid, and the
    owner pipe where prctl is not there to use."""
    return os.getpid(), (None if sys.platform.startswith("linux") else owner_pipe())


def die_with_owner(owner: int, watch: Connection | None = None) -> None:
    """In a worker: make sure it ends when ``owner`` (the pid that started the pool) ends."""
    if _parent_death_signal():
        if not _started_by(owner):
            os._exit(1)  # the parent died before prctl took effect: no signal will come
        return
    if watch is not None:
        watch_pipe(watch)


def watch_pipe(watch: Connection) -> None:
    """Ends this process (exit 1) when ``watch`` reads end-of-file: every writer has gone."""
    if _pipe is not None and os.getpid() != _owner_pid:
        _pipe[1].close()  # a forked worker's copy of the writing end would keep the pipe open forever

    def wait() -> None:
        try:
            while True:
                watch.recv_bytes()
        except (EOFError, OSError):
            os._exit(1)

    threading.Thread(target=wait, name="cablekeep-owner-watch", daemon=True).start()


_owner_pid = os.getpid()  # the process that imported this module first (a forked worker keeps the value)


def _parent_death_signal() -> bool:
    """prctl(PR_SET_PDEATHSIG, SIGKILL) on Linux; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _started_by(owner: int) -> bool:
    """Whether this process's parent is ``owner``, or a child of ``owner`` (a forkserver)."""
    parent = os.getppid()
    return parent == owner or _parent_of(parent) == owner


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
    fields = stat[stat.rfind(b")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None


def parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` that makes the child (a program, not a Python
    worker: the headless browser) get SIGKILL when the thread that started it ends, or None where
    prctl is not there. libc is looked up here, in the parent: after fork the child only calls
    prctl, which takes no lock. Start such children from a thread that lives as long as the process."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return preexec
