"""Hashing files for bags: each file read once for all algorithms, many files in a process pool.

Shared by :mod:`cablekeep.fixity.verify` (its hasher factory and pool start-up) and :mod:`cablekeep.bagging.build`
(:func:`digest_batch` and :class:`OrderedBatches`).

- :func:`hasher_factory` -- ``hashlib.sha256`` and friends are cheaper to call than
  ``hashlib.new("sha256")``.
- :func:`digest_batch` -- size and raw digests of a batch of files, each read once in 1 MiB
  blocks for all algorithms, optionally written to a copy in the same read. Runs in a worker or
  in-process; files are opened without following symbolic links.
- :func:`make_pool` -- a ``ProcessPoolExecutor`` whose workers are started at once, forked while
  this process has a single thread (cheapest) and started by ``forkserver`` otherwise (forking a
  threaded process can deadlock).
- :class:`OrderedBatches` -- submits batches with a bounded number in flight and hands results
  back in submission order, so a caller can stream results (manifest lines) in a fixed order
  while memory stays bounded.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Generic, TypeVar, cast

from ..children import die_with_owner, worker_initargs
from .layout import BLOCK, CREATE_FLAGS, open_nofollow


HashFactory = Callable[[], "hashlib._Hash"]
T = TypeVar("T")


def hasher_factory(name: str | None) -> HashFactory | None:
    """A constructor for the hashlib algorithm ``name``; None for None (cannot be computed)."""
    if name is None:
        return None
    if name in hashlib.algorithms_guaranteed and hasattr(hashlib, name):
        return cast(HashFactory, getattr(hashlib, name))
    return lambda: hashlib.new(name)


_buffer: bytearray | None = None


def _block_buffer() -> bytearray:
    global _buffer
    if _buffer is None:
        _buffer = bytearray(BLOCK)
    return _buffer


def digest_fd(fd: int, factories: Sequence[HashFactory], copy_fd: int | None = None) -> tuple[int, list[bytes]]:
    """Size and raw digests of what ``fd`` holds, read once to its end (and written to ``copy_fd``)."""
    buffer = _block_buffer()
    view = memoryview(buffer)
    hashers = [factory() for factory in factories]
    size = 0
    while n := os.readv(fd, [buffer]):
        chunk = view if n == BLOCK else view[:n]
        for hasher in hashers:
            hasher.update(chunk)
        if copy_fd is not None:
            written = 0
            while written < n:
                written += os.write(copy_fd, chunk[written:])
        size += n
    return size, [hasher.digest() for hasher in hashers]


def digest_batch(
    source_root: str, rels: Sequence[str], hash_names: Sequence[str], copy_root: str | None = None
) -> list[tuple[int, list[bytes]]]:
    """(size, raw digests in ``hash_names`` order) of each ``source_root/rel``, in order.

    With ``copy_root`` each file is also written to ``copy_root/rel`` (which must not exist; its
    directory must) in the same read, with the source's permission bits and times. Raises
    ``OSError`` naming the file on any failure.
    """
    factories = []
    for name in hash_names:
        factory = hasher_factory(name)
        if factory is None:
            raise ValueError(f"hashlib cannot compute {name!r}")
        factories.append(factory)
    results: list[tuple[int, list[bytes]]] = []
    for rel in rels:
        source = os.path.join(source_root, rel)
        try:
            fd = open_nofollow(source)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, source) from None
        try:
            if copy_root is None:
                results.append(digest_fd(fd, factories))
                continue
            target = os.path.join(copy_root, rel)
            info = os.fstat(fd)
            try:
                out = os.open(target, CREATE_FLAGS, 0o600)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, target) from None
            try:
                results.append(digest_fd(fd, factories, out))
                os.fchmod(out, info.st_mode & 0o7777)
                os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
            finally:
                os.close(out)
        finally:
            os.close(fd)
    return results


def _warm_up() -> int:
    return os.getpid()


def pool_context() -> multiprocessing.context.BaseContext:
    """fork is cheapest, but only safe while this process has a single thread."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def make_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of ``processes`` workers, started now, while this process is still small."""
    # each worker dies with this process, even when it is killed (SIGKILL gives no chance to stop them)
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=pool_context(), initializer=die_with_owner,
                               initargs=worker_initargs())
    pool.submit(_warm_up).result()
    return pool


class OrderedBatches(Generic[T]):
    """Runs batches in a pool (or in-process when ``pool`` is None), a bounded number in flight.

    :meth:`submit` returns the results now due, oldest first; :meth:`finish` yields the rest.
    Results always come back in submission order.
    """

    def __init__(self, pool: ProcessPoolExecutor | None, max_inflight: int) -> None:
        self._pool = pool
        self._max_inflight = max(1, max_inflight)
        self._inflight: deque[Future[T]] = deque()

    def submit(self, fn: Callable[..., T], *args: object) -> list[T]:
        """Start ``fn(*args)``; the results now due (oldest first), waiting while too many run."""
        if self._pool is None:
            return [fn(*args)]
        self._inflight.append(self._pool.submit(fn, *args))
        ready = []
        while len(self._inflight) >= self._max_inflight:
            ready.append(self._inflight.popleft().result())
        return ready

    def finish(self) -> Iterator[T]:
        while self._inflight:
            yield self._inflight.popleft().result()

    def cancel(self) -> None:
        for future in self._inflight:
            future.cancel()
        self._inflight.clear()
