"""A bag directory as a :class:`~cablekeep.fixity.sources.BagSource`: listed without following links,
its payload hashed on a process pool in bounded batches.

Hashing runs in-process for small bags and in a ``ProcessPoolExecutor`` (``processes``) when the
largest payload manifest has more than :data:`POOL_MIN_FILES` lines or Payload-Oxum declares more
than :data:`POOL_MIN_BYTES`. Files go to the workers in batches of at most :data:`BATCH_FILES`
files (or :data:`BATCH_BYTES`), a bounded number in flight; each worker hashes a file once for
every algorithm, checks a WARC record by record in the same read (and a WACZ against its
``datapackage.json``, read again), compares with the packed
manifest entry it was sent (:func:`cablekeep.fixity.packed.compare_found`) and returns only what
it found. The pool forks while this process has a single thread and uses ``forkserver`` otherwise
(:func:`cablekeep.bagging.hashing.make_pool`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..bagging.hashing import hasher_factory, make_pool
from ..bagging.layout import BLOCK, DEPENDS_FILE
from ..capture.cdxj import MalformedLine, iter_index
from ..errors import BagUnreadableError
from . import warcranges
from .names import escape_name
from .packed import Layout, compare_found
from .report import Problem
from .sources import BagSource, CountingHashers, Entry, FileHasher, Hashed, Tee, open_regular, special_kind
from .warccheck import WarcScan, is_warc_name, scan_warc_stream
from .waczcheck import check_wacz_fd, is_wacz_name
from .witness import INDEX, ReadClaims, check_directory_witness, has_witness_index, read_claims, read_index_claims

POOL_MIN_FILES = 64
POOL_MIN_BYTES = 64 << 20
BATCH_FILES = 256
BATCH_BYTES = 32 << 20
# Batches for an ``executor`` (a cluster, see cablekeep.cluster): each costs a round trip through its
# scheduler, so they are bigger.
REMOTE_BATCH_FILES = 4096
REMOTE_BATCH_BYTES = 256 << 20
INFLIGHT_PER_PROCESS = 3

_local = threading.local()  # each thread's read buffer (an executor may run batches in threads)


def open_nofollow(path: str) -> int:
    return open_regular(path)  # never through a link, never a FIFO or device


def _hash_fd(fd: int, rel: str, hashers: list[hashlib._Hash], check_warc: bool, result: Hashed,
             witness: bool = False, records: bool = True) -> int:
    """Feed the file to ``hashers`` (and scan it when a WARC, spooling what the index claims when
    ``witness``); its size."""
    buffer: bytearray | None = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = bytearray(BLOCK)
    if check_warc and records and is_warc_name(rel):
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as stream:
            counting = CountingHashers(hashers)
            scan = scan_warc_stream(stream, name=rel, display_path=rel, raw_hashers=[counting], witness=witness)
        result.problems.extend(scan.problems)
        scan.problems = []
        result.scans.append(scan)
        return counting.bytes
    view = memoryview(buffer)
    size = 0
    while n := os.readv(fd, [buffer]):
        chunk = view if n == BLOCK else view[:n]
        for hasher in hashers:
            hasher.update(chunk)
        size += n
    if check_warc and is_wacz_name(rel):
        result.problems.extend(check_wacz_fd(fd, rel))  # read again: a ZIP is read from its end
    return size


def check_batch(
    root: str,
    layout: Layout,
    items: list[tuple[str, bytes]],
    check_warcs: bool,
    open_file: Callable[[str], int] = open_nofollow,
    witness: bool = False,
    records: bool = True,
) -> Hashed:
    """Hash each file once for all algorithms and compare; runs in a worker or in-process.
    ``witness``: WARC scans spool what the bag's index claims (:mod:`.witness`). ``records`` False:
    a WARC's records are not checked (other tasks check its ranges: :mod:`.warcranges`)."""
    factories = [hasher_factory(name) for name in layout.hash_names]
    result = Hashed()
    for rel, packed in items:
        hashers: list[hashlib._Hash | None] = [None if f is None else f() for f in factories]
        try:
            fd = open_file(os.path.join(root, rel))
        except FileNotFoundError:
            result.problems.append(Problem("missing", rel, "the file disappeared while the bag was being verified."))
            continue
        except OSError as exc:
            result.problems.append(_open_problem(rel, exc))
            continue
        try:
            size = _hash_fd(fd, rel, [h for h in hashers if h is not None], check_warcs, result, witness, records)
        except OSError as exc:
            result.problems.append(
                Problem("not-checked", rel, f"reading the file failed ({exc.strerror or exc}); it was not verified.")
            )
            continue
        finally:
            os.close(fd)
        result.files += 1
        result.bytes += size
        found = [None if h is None else h.digest() for h in hashers]
        result.problems.extend(compare_found(rel, layout, packed, found, tag_file=not check_warcs))
    return result


def _open_problem(rel: str, exc: OSError) -> Problem:
    if exc.errno == errno.ELOOP:
        return Problem("symlink", rel, "the file is a symbolic link; links are refused, never followed.")
    return Problem("not-checked", rel, f"the file could not be opened ({exc.strerror or exc}); it was not verified.")


def _make_pool(processes: int) -> ProcessPoolExecutor:
    return make_pool(processes)  # the patch point for tests; see cablekeep.bagging.hashing


class _SplitWarc:
    """One WARC checked in ranges (:mod:`.warcranges`): the whole-file hash's future and each range's."""

    def __init__(self, rel: str, packed: bytes, hashing: Future[Hashed], ranges: list[Future[WarcScan]]) -> None:
        self.rel = rel
        self.packed = packed
        self.hashing = hashing
        self.ranges = ranges
        self.waiting: set[Future[Any]] = {hashing, *ranges}


class _Dispatcher(FileHasher):
    """Groups files into batches and runs them in-process or in the pool, a bounded number at a time.

    A large WARC (``split``: the offsets its records start at, by file name, e.g. from the bag's
    index) is hashed whole in one task and checked in ranges in others (:mod:`.warcranges`); the
    pool is made (``make_pool``) when the first one comes, if there is none yet.
    """

    def __init__(
        self,
        root: str,
        layout: Layout,
        pool: Executor | None,
        processes: int,
        on_result: Callable[[Hashed], None],
        open_file: Callable[[str], int] = open_nofollow,
        *,
        payload: bool = True,
        remote: bool = False,
        witness: bool = False,
        split: Callable[[], dict[str, list[int]]] | None = None,
        make_pool: Callable[[], Executor] | None = None,
        on_pool: Callable[[Executor], None] | None = None,
    ) -> None:
        self._witness = witness
        self._limits = (REMOTE_BATCH_FILES, REMOTE_BATCH_BYTES) if remote else (BATCH_FILES, BATCH_BYTES)
        self._open_file = open_file
        self._root = root
        self._layout = layout
        self._pool = pool
        self._payload = payload
        self._on_result = on_result
        self._processes = processes
        self._max_inflight = max(2, processes * INFLIGHT_PER_PROCESS)
        self._inflight: set[Future[Any]] = set()
        self._splits: dict[Future[Any], _SplitWarc] = {}
        self._batch: list[tuple[str, bytes]] = []
        self._batch_bytes = 0
        self._split = split
        self._offsets: dict[str, list[int]] | None = None
        self._make_pool = make_pool
        self._on_pool = on_pool  # told of the local pool, once there is one
        self.pool_made: Executor | None = None  # the pool this dispatcher made, for its owner to shut down
        if pool is not None and on_pool is not None:
            on_pool(pool)

    def add(self, rel: str, packed: bytes, size: int) -> None:
        most_files, most_bytes = self._limits
        if self._payload and is_warc_name(rel):
            if not self._submit_ranges(rel, packed, size):
                self._submit([(rel, packed)])
            return
        if size >= most_bytes:
            self._submit([(rel, packed)])
            return
        self._batch.append((rel, packed))
        self._batch_bytes += size
        if len(self._batch) >= most_files or self._batch_bytes >= most_bytes:
            self._flush()

    def _submit_ranges(self, rel: str, packed: bytes, size: int) -> bool:
        """Check the WARC at ``rel`` in ranges, if it is large and its record offsets are known."""
        if self._split is None or self._processes < 2 or size < warcranges.SPLIT_MIN_BYTES:
            return False
        if self._offsets is None:
            self._offsets = self._split()
        ranges = warcranges.plan_ranges(size, self._offsets.get(rel.rpartition("/")[2], ()),
                                        self._processes * warcranges.RANGES_PER_PROCESS)
        if len(ranges) < 2:
            return False
        if self._pool is None:
            if self._make_pool is None:
                return False
            self._pool = self.pool_made = self._make_pool()
            if self._on_pool is not None:
                self._on_pool(self._pool)
        pool = self._pool
        hashing = pool.submit(check_batch, self._root, self._layout, [(rel, packed)], True, self._open_file,
                              self._witness, False)
        scans = [pool.submit(warcranges.scan_range, self._root, rel, start, None if end == size else end,
                             self._open_file, self._witness) for start, end in ranges]
        group = _SplitWarc(rel, packed, hashing, scans)
        for future in group.waiting:
            self._splits[future] = group
            self._inflight.add(future)
        while len(self._inflight) >= self._max_inflight:
            self._collect()
        return True

    def _flush(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._submit(batch)

    def _submit(self, items: list[tuple[str, bytes]]) -> None:
        args = (self._root, self._layout, items, self._payload, self._open_file, self._witness)
        if self._pool is None:
            self._on_result(check_batch(*args))
            return
        self._inflight.add(self._pool.submit(check_batch, *args))
        while len(self._inflight) >= self._max_inflight:
            self._collect()

    def _collect(self) -> None:
        done, self._inflight = wait(self._inflight, return_when=FIRST_COMPLETED)
        for future in done:
            group = self._splits.pop(future, None)
            if group is None:
                self._on_result(future.result())
                continue
            group.waiting.discard(future)
            if not group.waiting:
                self._on_result(self._merge(group))

    def _merge(self, group: _SplitWarc) -> Hashed:
        """The result of a WARC checked in ranges; when a range found anything, the file is checked
        again in one piece, here, so that its problems are said exactly as the one-piece scan says them."""
        scans = [future.result() for future in group.ranges]
        merged = warcranges.merge_ranges(group.rel, scans)
        if merged is None:
            warcranges.discard_all(scans)
            return check_batch(self._root, self._layout, [(group.rel, group.packed)], True, self._open_file,
                               self._witness)
        hashed = group.hashing.result()
        hashed.scans.append(merged)
        return hashed

    def finish(self) -> None:
        self._flush()
        while self._inflight:
            self._collect()


class DirectorySource(BagSource):
    """The bag at ``root``, a directory. ``open_file`` opens a payload file for hashing (tests inject
    read errors with it; a module-level function when a pool is used)."""

    def __init__(
        self,
        root: Path,
        *,
        processes: int,
        open_file: Callable[[str], int] = open_nofollow,
        executor: Executor | None = None,
    ) -> None:
        self.executor = executor  # hashes the payload batches instead of a pool of our own (a cluster)
        if not root.is_dir():
            raise BagUnreadableError(f"{root} is not a directory; a bag is a directory holding bagit.txt")
        self.root = root
        self.root_s = os.fspath(root)
        self.target = self.root_s
        self.no_bag = f"{root} is not a bag: it has no bagit.txt, no manifest and no data/"
        self.processes = processes
        self.open_file = open_file
        self._problems: list[Problem] = []
        self._claims: Future[ReadClaims] | None = None  # the witness's crawl log, folded by the pool
        self._index_claims: Future[ReadClaims] | None = None  # its index and cables, folded by the pool

    def take_problems(self) -> list[Problem]:
        problems, self._problems = self._problems, []
        return problems

    def top_level(self) -> list[Entry]:
        try:
            listing = list(os.scandir(self.root_s))
        except OSError as exc:
            raise BagUnreadableError(f"cannot list the bag directory {self.root}: {exc.strerror or exc}") from exc
        return [self._entry(entry, entry.name) for entry in listing]

    @staticmethod
    def _entry(entry: os.DirEntry[str], rel: str) -> Entry:
        if entry.is_symlink():
            return Entry(rel, "symlink")
        if entry.is_dir(follow_symlinks=False):
            return Entry(rel, "dir")
        if not entry.is_file(follow_symlinks=False):
            return Entry(rel, "other", detail=special_kind(entry))
        return Entry(rel, "file", entry.stat(follow_symlinks=False).st_size)

    def iter_tree(self, top: str) -> Iterator[Entry]:
        stack = [top]
        while stack:
            rel_dir = stack.pop()
            try:
                iterator = os.scandir(os.path.join(self.root_s, rel_dir))
            except OSError as exc:
                self._problems.append(
                    Problem.not_checked(rel_dir, f"the directory could not be listed ({exc.strerror or exc}).")
                )
                continue
            with iterator:
                for dir_entry in iterator:
                    entry = self._entry(dir_entry, f"{rel_dir}/{dir_entry.name}")
                    if entry.kind == "dir":
                        stack.append(entry.rel)
                    else:
                        yield entry

    def open_tag(self, rel: str, hashers: list[hashlib._Hash]) -> Tee:
        fd = open_regular(os.path.join(self.root_s, rel))
        return Tee(os.fdopen(fd, "rb", buffering=0), hashers, owns=True)

    @contextmanager
    def payload_hasher(
        self, layout: Layout, on_result: Callable[[Hashed], None], *, declared_bytes: int
    ) -> Iterator[FileHasher]:
        if self.executor is not None:
            yield _Dispatcher(self.root_s, layout, self.executor, self.processes, on_result, self.open_file,
                              remote=True, witness=self.has_index())
            return
        pool = None
        if self.processes > 1 and (
            self._estimate_entries(layout) > POOL_MIN_FILES or declared_bytes > POOL_MIN_BYTES
        ):
            pool = _make_pool(self.processes)
        witness = self.has_index()
        dispatcher = _Dispatcher(self.root_s, layout, pool, self.processes, on_result, self.open_file,
                                 witness=witness, split=self._record_offsets if has_witness_index(self.root) else None,
                                 make_pool=lambda: _make_pool(self.processes),
                                 on_pool=self._read_claims_in if witness else None)
        try:
            yield dispatcher
        finally:
            for made in (pool, dispatcher.pool_made):
                if made is not None:
                    made.shutdown(wait=True, cancel_futures=True)

    def _record_offsets(self) -> dict[str, list[int]]:
        """Where records start in the bag's WARCs, by file name, as its index.cdxj says (candidates
        only: :mod:`.warcranges` proves each); nothing when the index cannot be read. Read here
        while the pool's two processes fold the index and the crawl log for the witness: this
        process would wait for its workers' first ranges otherwise."""
        try:
            return warcranges.index_offsets(self.root / INDEX)
        except OSError:
            return {}

    def _estimate_entries(self, layout: Layout) -> int:
        """Lines in the largest payload manifest, counted without parsing."""
        most = 0
        for name in layout.manifests:
            count = 0
            try:
                with open(os.path.join(self.root_s, name), "rb", buffering=0) as stream:
                    while block := stream.read(BLOCK):
                        count += block.count(b"\n")
            except OSError:
                continue
            most = max(most, count)
        return most

    def tag_hasher(self, layout: Layout, on_result: Callable[[Hashed], None]) -> FileHasher:
        return _Dispatcher(self.root_s, layout, None, 1, on_result, payload=False)

    def has_index(self) -> bool:
        """The bag has a data/index.cdxj (a regular file, not a link): its WARC scans spool what the
        witness compares, so that :meth:`witness` reads no WARC again."""
        return has_witness_index(self.root)

    def _read_claims_in(self, pool: Executor) -> None:
        """Have the pool fold the bag's index and cable list, and its crawl log, for the witness:
        two tasks, which its processes start on while this one reads where to cut the WARCs."""
        if self._index_claims is None:
            self._index_claims = pool.submit(read_index_claims, self.root_s)
        if self._claims is None:
            self._claims = pool.submit(read_claims, self.root_s)

    def witness(self, scans: Sequence[WarcScan]) -> list[Problem]:
        read, index = self._take(self._claims), self._take(self._index_claims)
        self._claims = self._index_claims = None
        return check_directory_witness(self.root, scans, read, index)

    @staticmethod
    def _take(future: Future[ReadClaims] | None) -> ReadClaims | None:
        if future is None:
            return None
        try:
            return future.result()
        except (OSError, UnicodeDecodeError, sqlite3.Error, CancelledError):
            return None  # folded again here, where a problem is reported as it always was

    def close(self) -> None:
        self._claims = self._index_claims = None  # never used (a fast or sample check, or it broke off): in memory only

    def earlier_record_ids(self) -> tuple[Iterable[str], bool, list[Problem]]:
        """The record ids in the CDXJ indexes of the earlier bags this bag names in
        ``cablekeep-depends-on.txt`` (one "<bag name> <External-Identifier>" a line; a bag of a
        collection-deduplicated crawl) that sit beside this bag; and whether all of them did."""
        listing = os.path.join(self.root_s, DEPENDS_FILE)
        if not os.path.isfile(listing):
            return [], False, []
        indexes: list[str] = []
        problems: list[Problem] = []
        with open(listing, encoding="utf-8", errors="surrogateescape") as handle:
            names = [line.split()[0] for line in handle if line.strip()]
        for name in names:
            index = os.path.join(os.path.dirname(self.root_s), name, "data", "index.cdxj")
            if os.path.sep in name or name in (".", "..") or not os.path.isfile(index):
                problems.append(Problem.not_checked(
                    DEPENDS_FILE,
                    f"earlier bag {escape_name(name)} is not beside this one: revisit records pointing into it "
                    "were not checked; put it next to this bag and verify again",
                ))
                continue
            indexes.append(index)
        return _cdxj_record_ids(indexes, problems), not problems, problems


def _cdxj_record_ids(indexes: list[str], problems: list[Problem]) -> Iterator[str]:
    """The record ids of the captures in earlier bags' CDXJ indexes, read as they are needed (by the
    capture wing's reader); a line or a file that cannot be read is not-checked, never a crash."""
    for index in indexes:
        where = f"{DEPENDS_FILE} ({escape_name(index)})"

        def malformed(line: MalformedLine, where: str = where) -> None:
            problems.append(Problem.not_checked(where, f"line {line.line_number} of the earlier bag's index cannot "
                                                       f"be read ({line.reason}); revisits into it were not checked"))

        try:
            for capture in iter_index(Path(index), on_malformed=malformed):
                if capture.record_id is not None:
                    yield capture.record_id
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem.not_checked(where, f"the earlier bag's index cannot be read ({exc})"))
