"""Verifying a BagIt bag (RFC 8493): structure, completeness, Payload-Oxum, checksums, WARCs.

:func:`verify_bag` never stops at the first problem; it returns a :class:`~cablekeep.fixity.report.Report`
listing them all, in phase order. The checks, cheapest first:

1. structure -- bagit.txt (present, no byte-order mark, exactly ``BagIt-Version: M.N`` and
   ``Tag-File-Character-Encoding``); bag-info.txt (repeated labels, continuation lines, the
   declared encoding); every manifest and fetch.txt line parses and every path is safe (no
   absolute paths, no ``..``, no ``~``; from BagIt 1.0 only ``%0A``, ``%0D`` and ``%25`` are
   decoded); symbolic links anywhere in the bag are refused and never followed;
2. completeness -- every manifest entry exists, every payload file is in every payload
   manifest, duplicates (a warning before BagIt 1.0 when the checksums agree; invalid from 1.0
   or when they differ), fetch.txt (we never fetch: absent files are ``missing``), and
   Payload-Oxum;
3. content (full mode only) -- every file of every payload and tag manifest is read once, in
   1 MiB blocks, feeding all the bag's algorithms at once. WARC files in the payload are also
   checked record by record in that same read (:mod:`cablekeep.fixity.warccheck`), and their
   WARC-Concurrent-To / WARC-Refers-To references are resolved across all the bag's WARCs.
   Tag files are hashed while they are parsed.

``fast=True`` does 1 and 2 only and says so: one ``not-checked`` problem per manifest (and one
for the WARCs), and ``not-checked`` instead of a failure when there is no Payload-Oxum.

``only=paths`` (a sample, used by :mod:`cablekeep.fixity.audit`) does 1 and 2 in full, hashes every tag
file, and hashes only the payload files named (bag paths as stored, ``data/...``); the report's
mode is ``sample`` and ``files_not_sampled`` counts the rest. WARC references across files are
resolved only when every WARC file was in the sample. ``open_file`` opens a payload file for
hashing (``os.open`` without following links by default); it exists so tests can inject read
errors, and must be a module-level function when a process pool is used.

``executor`` (a ``concurrent.futures.Executor``, e.g. a Dask cluster's, see :mod:`cablekeep.cluster`)
hashes the payload batches instead of a pool of this machine's: each batch is a function of its
inputs (bag path, files and their expected digests) whose result merges here; ``processes`` is
then how many batches it runs at once, and batches are bigger (:data:`REMOTE_BATCH_FILES`,
:data:`REMOTE_BATCH_BYTES`): each costs a round trip through the cluster's scheduler. The bag-level checks run here, once.

Scale: hashing runs in-process for small bags and in a ``ProcessPoolExecutor`` (``processes``,
default ``os.cpu_count()``) when the largest payload manifest has more than
:data:`POOL_MIN_FILES` lines or Payload-Oxum declares more than :data:`POOL_MIN_BYTES`. The
payload walk hands the workers batches of at most :data:`BATCH_FILES` files (or
:data:`BATCH_BYTES`), a bounded number in flight; each result is compared and dropped. The one
structure that grows with the bag is the manifest map: path -> one packed ``bytes`` value per
file (which manifests list it, and their raw digests), which shrinks as files are found. The
pool forks while this process has a single thread and uses ``forkserver`` otherwise (forking a
threaded process can deadlock); a script that verifies big bags then needs the usual
``if __name__ == "__main__":`` guard.

Unicode: a file stored under another normalisation (NFC/NFD) than its manifest line is matched,
with a warning; manifest paths that differ only in case get a warning (they cannot coexist on
macOS or Windows), but case is never folded when matching.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..bagging.layout import BAGIT_TXT, BAG_INFO_TXT, BLOCK, DEPENDS_FILE, FETCH_TXT, MANIFEST_RE, PAYLOAD_DIR, READ_FLAGS, TAGMANIFEST_RE, hashlib_name
from .tagfiles import (
    LINE_END_RE,
    SYSTEM_FILE_NAMES,
    check_path,
    has_undecodable,
    is_hex_digest,
    parse_bag_info,
    parse_declaration,
    parse_fetch_line,
    parse_manifest_line,
    python_codec,
    split_lines,
)
from ..errors import BagUnreadableError, UsageError
from ..bagging.hashing import hasher_factory as _hasher_factory
from ..bagging.hashing import make_pool
from .checker import BagRules, ManifestQuirks
from .sources import TAG_TEXT_LIMIT, Tee, open_regular, special_kind
from .report import Problem, Report, problem_order
from .warccheck import WarcScan, is_warc_name, resolve_references, scan_warc_stream
from .witness import check_directory_witness

POOL_MIN_FILES = 64
POOL_MIN_BYTES = 64 << 20
BATCH_FILES = 256
BATCH_BYTES = 32 << 20
INFLIGHT_PER_PROCESS = 3
# Batches for an ``executor`` (a cluster): each costs a round trip through its scheduler, so they are bigger.
REMOTE_BATCH_FILES = 4096
REMOTE_BATCH_BYTES = 256 << 20

_CLUTTER_HINTS = (*sorted(SYSTEM_FILE_NAMES), "/._")


def verify_bag(
    path: Path,
    *,
    fast: bool = False,
    processes: int | None = None,
    only: Collection[str] | None = None,
    open_file: Callable[[str], int] | None = None,
    on_progress: Callable[[VerifyProgress], None] | None = None,
    executor: Executor | None = None,
) -> Report:
    """Verify the bag at ``path`` and report every problem found.

    Raises :class:`BagUnreadableError` when ``path`` is not a readable directory or shows no
    sign of being a bag (no bagit.txt, no manifest, no data/); anything wrong inside a bag is a
    problem in the report instead. :class:`UsageError` when ``processes`` is below 1, or when
    ``fast`` and ``only`` are both given. ``only``, ``open_file`` and ``executor``: see the module docstring.
    """
    if processes is None:
        processes = os.cpu_count() or 1
    if processes < 1:
        raise UsageError(f"processes must be at least 1, not {processes}")
    if fast and only is not None:
        raise UsageError("a fast check hashes nothing, so it cannot hash a sample; choose one")
    root = Path(path)
    if not root.is_dir():
        raise BagUnreadableError(f"{root} is not a directory; a bag is a directory holding bagit.txt")
    check = _BagCheck(root, fast=fast, processes=processes)
    if only is not None:
        check.only = frozenset(only)
    if open_file is not None:
        check.open_file = open_file
    check.on_progress = on_progress
    check.executor = executor
    return check.run()


@dataclass(frozen=True)
class VerifyProgress:
    """How far a full verification is: files and bytes hashed of the payload's (for a display)."""

    files_done: int
    bytes_done: int
    files_total: int
    bytes_total: int


# --------------------------------------------------------------------------- manifest entries


@dataclass(frozen=True)
class _Layout:
    """How one kind of manifest (payload or tag) packs an entry into a single ``bytes`` value.

    The value is a bit mask of the manifests that list the file, then each manifest's raw digest
    at a fixed offset (zeros where not listed). About a third of the memory of a dict of hex
    strings, and cheap to send to a worker.
    """

    manifests: tuple[str, ...]
    algorithms: tuple[str, ...]
    hash_names: tuple[str | None, ...]
    sizes: tuple[int, ...]
    mask_len: int
    offsets: tuple[int, ...]

    @classmethod
    def of(cls, manifests: list[tuple[str, str]]) -> _Layout:
        names = tuple(name for name, _ in manifests)
        algorithms = tuple(alg for _, alg in manifests)
        hash_names = tuple(hashlib_name(alg) for alg in algorithms)
        sizes = tuple(0 if h is None else hashlib.new(h).digest_size for h in hash_names)
        mask_len = max(1, (len(manifests) + 7) // 8)
        offsets = []
        offset = mask_len
        for size in sizes:
            offsets.append(offset)
            offset += size
        return cls(names, algorithms, hash_names, sizes, mask_len, tuple(offsets))

    def listed(self, packed: bytes, index: int) -> bool:
        return bool(packed[index // 8] & (1 << (index % 8)))

    def digest(self, packed: bytes, index: int) -> bytes:
        offset = self.offsets[index]
        return packed[offset : offset + self.sizes[index]]

    def empty(self) -> bytes:
        """An entry no manifest lists (yet)."""
        return bytes(self.mask_len + sum(self.sizes))

    def put(self, packed: bytes | None, index: int, digest: bytes) -> bytes:
        """``packed`` with manifest ``index`` listing the file with ``digest``."""
        if packed is None:
            if len(self.sizes) == 1:  # the common case: one payload manifest
                return b"\x01" + digest
            packed = self.empty()
        mask = int.from_bytes(packed[: self.mask_len], "little") | (1 << index)
        offset = self.offsets[index]
        return b"".join(
            (
                mask.to_bytes(self.mask_len, "little"),
                packed[self.mask_len : offset],
                digest,
                packed[offset + self.sizes[index] :],
            )
        )

    def listing(self, packed: bytes) -> list[str]:
        return [name for index, name in enumerate(self.manifests) if self.listed(packed, index)]


# --------------------------------------------------------------------------- hashing (also in workers)


@dataclass
class _BatchResult:
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    scans: list[WarcScan] = field(default_factory=list)


_buffer: bytearray | None = None


def _open_nofollow(path: str) -> int:
    return open_regular(path)  # never through a link, never a FIFO or device


class _CountingHashers:
    """Feeds a WARC's raw bytes to the manifest hashers and counts them."""

    def __init__(self, hashers: list[hashlib._Hash]) -> None:
        self._hashers = hashers
        self.bytes = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.bytes += len(data)
        for hasher in self._hashers:
            hasher.update(data)


def _check_batch(
    root: str,
    layout: _Layout,
    items: list[tuple[str, bytes]],
    check_warcs: bool,
    open_file: Callable[[str], int] = _open_nofollow,
) -> _BatchResult:
    """Hash each file once for all algorithms and compare; runs in a worker or in-process."""
    global _buffer
    if _buffer is None:
        _buffer = bytearray(BLOCK)
    view = memoryview(_buffer)
    factories = [_hasher_factory(name) for name in layout.hash_names]
    result = _BatchResult()
    for rel, packed in items:
        hashers: list[hashlib._Hash | None] = [None if f is None else f() for f in factories]
        active = [h for h in hashers if h is not None]
        size = 0
        try:
            fd = open_file(os.path.join(root, rel))
        except FileNotFoundError:
            result.problems.append(Problem("missing", rel, "the file disappeared while the bag was being verified."))
            continue
        except OSError as exc:
            result.problems.append(_open_problem(rel, exc))
            continue
        try:
            if check_warcs and is_warc_name(rel):
                with os.fdopen(fd, "rb", buffering=0, closefd=False) as stream:
                    counting = _CountingHashers(active)
                    scan = scan_warc_stream(stream, name=rel, display_path=rel, raw_hashers=[counting])
                    size = counting.bytes
                result.problems.extend(scan.problems)
                scan.problems = []
                result.scans.append(scan)
            else:
                while n := os.readv(fd, [_buffer]):
                    chunk = view if n == BLOCK else view[:n]
                    for hasher in active:
                        hasher.update(chunk)
                    size += n
        except OSError as exc:
            result.problems.append(
                Problem("not-checked", rel, f"reading the file failed ({exc.strerror or exc}); it was not verified.")
            )
            continue
        finally:
            os.close(fd)
        result.files += 1
        result.bytes += size
        for index, maybe in enumerate(hashers):
            if maybe is None or not layout.listed(packed, index):
                continue
            expected = layout.digest(packed, index)
            found = maybe.digest()
            if found != expected:
                algorithm = layout.algorithms[index]
                result.problems.append(
                    Problem(
                        "changed",
                        rel,
                        f"the {algorithm} checksum differs from {layout.manifests[index]}: the file has changed.",
                        algorithm=algorithm,
                        expected=expected.hex(),
                        found=found.hex(),
                    )
                )
    return result


def _open_problem(rel: str, exc: OSError) -> Problem:
    if exc.errno == errno.ELOOP:
        return Problem("symlink", rel, "the file is a symbolic link; links are refused, never followed.")
    return Problem("not-checked", rel, f"the file could not be opened ({exc.strerror or exc}); it was not verified.")


def _make_pool(processes: int) -> ProcessPoolExecutor:
    return make_pool(processes)  # the patch point for tests; see cablekeep.bagging.hashing


class _Dispatcher:
    """Groups files into batches and runs them in-process or in the pool, a bounded number at a time."""

    def __init__(
        self,
        root: str,
        layout: _Layout,
        pool: Executor | None,
        processes: int,
        on_result: Callable[[_BatchResult], None],
        open_file: Callable[[str], int] = _open_nofollow,
        remote: bool = False,
    ) -> None:
        self._open_file = open_file
        self._limits = (REMOTE_BATCH_FILES, REMOTE_BATCH_BYTES) if remote else (BATCH_FILES, BATCH_BYTES)
        self._root = root
        self._layout = layout
        self._pool = pool
        self._on_result = on_result
        self._max_inflight = max(2, processes * INFLIGHT_PER_PROCESS)
        self._inflight: set[Future[_BatchResult]] = set()
        self._batch: list[tuple[str, bytes]] = []
        self._batch_bytes = 0

    def add(self, rel: str, packed: bytes, size: int) -> None:
        most_files, most_bytes = self._limits
        if is_warc_name(rel) or size >= most_bytes:
            self._submit([(rel, packed)])
            return
        self._batch.append((rel, packed))
        self._batch_bytes += size
        if len(self._batch) >= most_files or self._batch_bytes >= most_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._submit(batch)

    def _submit(self, items: list[tuple[str, bytes]]) -> None:
        if self._pool is None:
            self._on_result(_check_batch(self._root, self._layout, items, True, self._open_file))
            return
        self._inflight.add(self._pool.submit(_check_batch, self._root, self._layout, items, True, self._open_file))
        while len(self._inflight) >= self._max_inflight:
            self._collect()

    def _collect(self) -> None:
        done, self._inflight = wait(self._inflight, return_when=FIRST_COMPLETED)
        for future in done:
            self._on_result(future.result())

    def finish(self) -> None:
        self._flush()
        while self._inflight:
            self._collect()


# --------------------------------------------------------------------------- reading tag files once


class _HashingRaw(io.RawIOBase):
    """A raw reader that feeds what it reads to hashers, so a tag file is parsed and hashed in one read."""

    def __init__(self, fd: int, hashers: dict[str, hashlib._Hash]) -> None:
        super().__init__()
        self._fd = fd
        self.hashers = hashers
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # typeshed: WriteableBuffer
        n = os.readv(self._fd, [buffer])
        if n:
            chunk = memoryview(buffer)[:n]
            for hasher in self.hashers.values():
                hasher.update(chunk)
            self.size += n
        return n

    def drain(self) -> None:
        buffer = bytearray(BLOCK)
        while self.readinto(buffer):
            pass

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


@dataclass
class _TagRead:
    """A tag file read once: its raw digest per tag-manifest algorithm, and its size."""

    digests: dict[str, bytes]
    size: int


@dataclass
class _ManifestRead:
    """One manifest being parsed, and the quirks counted for a single warning each."""

    name: str
    index: int
    layout: _Layout
    entries: dict[str, bytes]
    payload: bool
    quirks: ManifestQuirks

    @property
    def alg(self) -> str:
        return self.layout.algorithms[self.index]

    @property
    def size(self) -> int:
        return self.layout.sizes[self.index]


# --------------------------------------------------------------------------- the bag check


class _BagCheck(BagRules):
    def __init__(self, root: Path, *, fast: bool, processes: int) -> None:
        super().__init__(fast=fast)
        self.root = root
        self.root_s = os.fspath(root)
        self.processes = processes
        self.only: frozenset[str] | None = None  # a sample: hash only these payload files
        self.open_file: Callable[[str], int] = _open_nofollow
        self.on_progress: Callable[[VerifyProgress], None] | None = None
        self.executor: Executor | None = None  # hashes the batches instead of a pool of our own
        self.not_sampled = 0
        self.warcs_not_sampled = 0
        # top level
        self.top_files: dict[str, int] = {}
        self.payload_manifests: list[tuple[str, str]] = []  # (file name, algorithm)
        self.tag_manifests: list[tuple[str, str]] = []
        self.tag_dirs: list[str] = []
        self.has_data = False
        self.payload_layout = _Layout.of([])
        self.tag_layout = _Layout.of([])
        # manifests
        self.entries: dict[str, bytes] = {}
        self.tag_entries: dict[str, bytes] = {}
        self.bad_lines: set[tuple[bool, int, str]] = set()  # (payload?, manifest index, path) already reported
        self.tag_reads: dict[str, _TagRead] = {}
        # walk
        self.symlinks: set[str] = set()
        self.tag_files: dict[str, int] = {}
        # results
        self.scans: list[WarcScan] = []

    # -- driver

    def run(self) -> Report:
        self.read_top_level()
        self.read_bagit_txt()
        self.read_bag_info_txt()
        own_pool = self.start_pool() if self.executor is None else None
        pool = own_pool or self.executor
        try:
            self.read_manifests(self.payload_layout, self.entries, payload=True)
            self.read_manifests(self.tag_layout, self.tag_entries, payload=False)
            self.read_fetch_txt_file()
            self.warn_of_case_collisions()
            dispatcher = None
            if not self.fast:
                dispatcher = _Dispatcher(
                    self.root_s, self.payload_layout, pool, self.processes, self.on_result, self.open_file,
                    remote=own_pool is None and self.executor is not None,
                )
            self.walk(dispatcher)
            if dispatcher is not None:
                dispatcher.finish()
        finally:
            if own_pool is not None:
                own_pool.shutdown(wait=True, cancel_futures=True)
        self.report_missing()
        self.check_oxum()
        self.check_tag_files()
        if self.fast:
            self.report_fast_mode(
                (*zip(self.payload_layout.manifests, self.payload_layout.algorithms),
                 *zip(self.tag_layout.manifests, self.tag_layout.algorithms))
            )
        elif not self.warcs_not_sampled:
            indexes, all_present = self.earlier_bag_indexes()
            self.problems.extend(
                resolve_references(self.scans, elsewhere=_cdxj_record_ids(indexes), elsewhere_checked=all_present)
            )
            if self.only is None:  # the bag's own index as a second witness (full mode)
                self.problems.extend(check_directory_witness(self.root, self.scans))
        for scan in self.scans:
            scan.discard()
        self.problems.sort(key=problem_order)
        algorithms = tuple(dict.fromkeys(self.payload_layout.algorithms + self.tag_layout.algorithms))
        return Report(
            target=self.root_s,
            mode="fast" if self.fast else "full" if self.only is None else "sample",
            algorithms=algorithms,
            files_checked=self.files_checked,
            bytes_checked=self.bytes_checked,
            warc_records_checked=sum(scan.records for scan in self.scans),
            problems=self.problems,
            files_not_sampled=self.not_sampled,
        )

    def on_result(self, result: _BatchResult) -> None:
        self.problems.extend(result.problems)
        self.files_checked += result.files
        self.bytes_checked += result.bytes
        self.scans.extend(result.scans)
        if self.on_progress is not None:
            self.on_progress(VerifyProgress(self.files_checked, self.bytes_checked, self.payload_files,
                                            self.payload_bytes))

    def start_pool(self) -> ProcessPoolExecutor | None:
        """A pool for big bags, started before the manifests are parsed so workers start small."""
        if self.fast or self.processes < 2:
            return None
        declared_bytes = self.oxum[0] if self.oxum else 0
        if self.estimate_entries() <= POOL_MIN_FILES and declared_bytes <= POOL_MIN_BYTES:
            return None
        return _make_pool(self.processes)

    def estimate_entries(self) -> int:
        """Lines in the largest payload manifest, counted without parsing."""
        most = 0
        for name in self.payload_layout.manifests:
            count = 0
            try:
                with open(os.path.join(self.root_s, name), "rb", buffering=0) as stream:
                    while block := stream.read(BLOCK):
                        count += block.count(b"\n")
            except OSError:
                continue
            most = max(most, count)
        return most

    # -- 1. structure

    def read_top_level(self) -> None:
        try:
            listing = list(os.scandir(self.root_s))
        except OSError as exc:
            raise BagUnreadableError(f"cannot list the bag directory {self.root}: {exc.strerror or exc}") from exc
        payload_manifests: list[tuple[str, str]] = []
        tag_manifests: list[tuple[str, str]] = []
        for entry in listing:
            name = entry.name
            if entry.is_symlink():
                self.symlink(name)
            elif entry.is_dir(follow_symlinks=False):
                if name == PAYLOAD_DIR:
                    self.has_data = True
                else:
                    self.tag_dirs.append(name)
            elif not entry.is_file(follow_symlinks=False):
                self.add(Problem.special_file(name, special_kind(entry)))
            else:
                self.top_files[name] = entry.stat(follow_symlinks=False).st_size
                if match := MANIFEST_RE.match(name):
                    payload_manifests.append((name, match.group(1).lower()))
                elif match := TAGMANIFEST_RE.match(name):
                    tag_manifests.append((name, match.group(1).lower()))
        self.payload_layout = _Layout.of(sorted(payload_manifests))
        self.tag_layout = _Layout.of(sorted(tag_manifests))
        self.tag_files.update(self.top_files)
        if BAGIT_TXT not in self.top_files and not payload_manifests and not self.has_data:
            raise BagUnreadableError(f"{self.root} is not a bag: it has no bagit.txt, no manifest and no data/")
        if not self.has_data and PAYLOAD_DIR not in self.symlinks:
            self.no_payload_dir()
        if not payload_manifests:
            self.no_payload_manifest()

    def symlink(self, rel: str) -> None:
        self.symlinks.add(rel)
        self.add(Problem.symlink(rel))

    def tag_hashers(self) -> dict[str, hashlib._Hash]:
        """One hasher per tag-manifest algorithm (none in fast mode)."""
        if self.fast:
            return {}
        layout = self.tag_layout
        return {alg: hashlib.new(h) for alg, h in zip(layout.algorithms, layout.hash_names) if h is not None}

    def read_small_tag_file(self, name: str) -> bytes | None:
        """Bytes of a small top-level tag file (at most :data:`TAG_TEXT_LIMIT`), hashed for the tag
        manifests in the same read."""
        if name not in self.top_files:
            return None
        hashers = self.tag_hashers()
        try:
            fd = open_regular(os.path.join(self.root_s, name))
        except OSError as exc:
            self.add(Problem.unreadable(name, f"the file could not be read ({exc.strerror or exc})"))
            return None
        with os.fdopen(fd, "rb", buffering=0) as stream:
            tee = Tee(stream, list(hashers.values()))
            try:
                data = tee.read_capped(TAG_TEXT_LIMIT)
            except OSError as exc:
                self.add(Problem.unreadable(name, f"the file could not be read ({exc.strerror or exc})"))
                return None
        self.tag_reads[name] = _TagRead({alg: h.digest() for alg, h in hashers.items()}, tee.size)
        if data is None:
            self.add(Problem.too_large(name, TAG_TEXT_LIMIT))
        return data

    def read_bagit_txt(self) -> None:
        raw = self.read_small_tag_file(BAGIT_TXT)
        if raw is None:
            if BAGIT_TXT not in self.symlinks and BAGIT_TXT not in self.tag_reads:
                self.no_bagit_txt()
            return
        self.read_declaration(raw)


    def read_bag_info_txt(self) -> None:
        raw = self.read_small_tag_file(BAG_INFO_TXT)
        if raw is not None:
            self.read_bag_info(raw)

    def iter_manifest_chunks(self, name: str, quirks: ManifestQuirks) -> Iterator[tuple[int, list[str], bool]]:
        """Lines of a manifest in batches: (number of the first line, lines, batch is plain).

        A batch is plain when it is ASCII without NUL, tab or operating-system clutter names, so
        its ordinary lines can take the fast path in :meth:`read_manifest`. The file is hashed
        for the tag manifests in the same read.
        """
        try:
            fd = open_regular(os.path.join(self.root_s, name))
        except OSError as exc:
            self.add(Problem.unreadable(name, f"the file could not be read ({exc.strerror or exc})"))
            return
        raw = _HashingRaw(fd, self.tag_hashers())
        text = io.TextIOWrapper(io.BufferedReader(raw, BLOCK), encoding=self.codec, errors="surrogateescape", newline="")
        number = 1
        carry = ""
        try:
            while True:
                chunk = text.read(BLOCK)
                if chunk:
                    chunk = carry + chunk
                    carry_cr = chunk.endswith("\r")  # a CRLF may straddle two reads
                    if carry_cr:
                        chunk = chunk[:-1]
                    lines = LINE_END_RE.split(chunk) if "\r" in chunk else chunk.split("\n")
                    carry = lines.pop() + ("\r" if carry_cr else "")
                    seen = chunk
                else:
                    lines = split_lines(carry) if carry else []
                    seen = carry
                if lines:
                    plain = seen.isascii() and "\x00" not in seen and "\t" not in seen
                    if plain:
                        plain = not any(hint in seen for hint in _CLUTTER_HINTS)
                    elif not seen.isascii():
                        quirks.undecodable += sum(1 for line in lines if has_undecodable(line))
                    yield number, lines, plain
                    number += len(lines)
                if not chunk:
                    break
        except UnicodeError as exc:
            self.add(Problem.structure(name, f"the file is not valid {self.codec} ({exc})."))
        finally:
            raw.drain()
            self.tag_reads[name] = _TagRead({alg: h.digest() for alg, h in raw.hashers.items()}, raw.size)
            text.close()

    def read_manifests(self, layout: _Layout, entries: dict[str, bytes], *, payload: bool) -> None:
        for index, name in enumerate(layout.manifests):
            if layout.hash_names[index] is None:
                self.cannot_compute(name, layout.algorithms[index])
            self.read_manifest(_ManifestRead(name, index, layout, entries, payload, ManifestQuirks(name)))

    def read_manifest(self, m: _ManifestRead) -> None:
        """Parse one manifest into ``m.entries``.

        Ordinary payload lines (``<hex>  data/<plain path>``) take a fast path with no regular
        expression; anything else goes through :meth:`manifest_line`, which applies every rule
        and reports what is wrong.
        """
        entries, index, layout = m.entries, m.index, m.layout
        hex_len = 2 * m.size
        fast_ok = m.payload and m.size > 0
        percent_matters = self.strict
        for first, lines, plain in self.iter_manifest_chunks(m.name, m.quirks):
            if not (plain and fast_ok):
                for offset, line in enumerate(lines):
                    self.manifest_line(m, first + offset, line)
                continue
            for offset, line in enumerate(lines):
                digest, _, path = line.partition(" ")
                if path[:1] == " ":
                    path = path.lstrip(" ")
                if (
                    len(digest) == hex_len
                    and path.startswith("data/")
                    and "/." not in path
                    and "//" not in path
                    and "\\" not in path
                    and not path.endswith("/")
                    and not (percent_matters and "%" in path)
                ):
                    try:
                        raw = bytes.fromhex(digest)
                    except ValueError:
                        raw = b""
                    if len(raw) == m.size:
                        packed = entries.get(path)
                        if packed is None or not layout.listed(packed, index):
                            entries[path] = layout.put(packed, index, raw)
                            continue
                self.manifest_line(m, first + offset, line)
        self.manifest_quirks(m.quirks)

    def manifest_line(self, m: _ManifestRead, number: int, line: str) -> None:
        """One manifest line, every rule applied (:meth:`BagRules.vet_manifest_line`)."""
        if not line.strip():
            return
        entry = self.vet_manifest_line(m.name, m.alg, m.size, m.payload, number, line, m.quirks)
        if entry is None:
            return
        layout = m.layout
        if entry.digest is None:
            self.bad_lines.add((m.payload, m.index, entry.key))
            m.entries.setdefault(entry.key, layout.empty())  # present, so the file is not "unexpected"
            return
        packed = m.entries.get(entry.key)
        if packed is None or not layout.listed(packed, m.index):
            m.entries[entry.key] = layout.put(packed, m.index, entry.digest)
        else:
            self.duplicate_line(m.name, m.alg, entry.path, layout.digest(packed, m.index), entry.digest)


    def read_fetch_txt_file(self) -> None:
        raw = self.read_small_tag_file(FETCH_TXT)
        if raw is not None:
            self.read_fetch_txt(raw, self.entries)

    def warn_of_case_collisions(self) -> None:
        seen: set[int] = set()
        for key in self.entries:  # most bags have none: a cheap look first
            folded = hash(key.lower())
            if folded in seen:
                self.warn_case_collisions(self.entries)
                return
            seen.add(folded)

    def walk(self, dispatcher: _Dispatcher | None) -> None:
        if self.has_data:
            self.walk_tree(PAYLOAD_DIR, dispatcher, payload=True)
        for name in self.tag_dirs:
            self.walk_tree(name, None, payload=False)

    def walk_tree(self, top: str, dispatcher: _Dispatcher | None, *, payload: bool) -> None:
        stack = [top]
        while stack:
            rel_dir = stack.pop()
            try:
                iterator = os.scandir(os.path.join(self.root_s, rel_dir))
            except OSError as exc:
                self.add(Problem.not_checked(rel_dir, f"the directory could not be listed ({exc.strerror or exc})."))
                continue
            with iterator:
                for entry in iterator:
                    rel = f"{rel_dir}/{entry.name}"
                    if entry.is_symlink():
                        self.symlink(rel)
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append(rel)
                    elif not entry.is_file(follow_symlinks=False):
                        self.add(Problem.special_file(rel, special_kind(entry)))
                    elif payload:
                        self.found_payload(rel, entry.stat(follow_symlinks=False).st_size, dispatcher)
                    else:
                        self.tag_files[rel] = entry.stat(follow_symlinks=False).st_size

    def found_payload(self, rel: str, size: int, dispatcher: _Dispatcher | None) -> None:
        self.payload_files += 1
        self.payload_bytes += size
        if is_warc_name(rel):
            self.warc_files += 1
        packed = self.entries.pop(rel, None)
        if packed is None and not rel.isascii():
            listed = self.nfc_index.get(unicodedata.normalize("NFC", rel))
            if listed is not None and listed in self.entries:
                packed = self.entries.pop(listed)
                self.stored_as_other_form(rel, listed)
        if packed is None:
            self.add(Problem.unexpected_file(rel))
            return
        layout = self.payload_layout
        for index, name in enumerate(layout.manifests):
            if not layout.listed(packed, index) and (True, index, rel) not in self.bad_lines:
                self.not_in_manifest(rel, name, layout.algorithms[index])
        if dispatcher is None:
            return
        if self.only is not None and rel not in self.only:
            self.not_sampled += 1
            self.warcs_not_sampled += is_warc_name(rel)
            return
        dispatcher.add(rel, packed, size)

    def under_symlink(self, rel: str) -> bool:
        if not self.symlinks:
            return False
        parts = rel.split("/")
        return any("/".join(parts[:i]) in self.symlinks for i in range(1, len(parts) + 1))

    def report_missing(self) -> None:
        for rel, packed in self.entries.items():
            if not self.under_symlink(rel):
                self.missing(rel, self.payload_layout.listing(packed))
        self.entries.clear()


    def check_tag_files(self) -> None:
        layout = self.tag_layout
        to_hash: list[tuple[str, bytes]] = []
        for rel, packed in self.tag_entries.items():
            if rel not in self.tag_files:
                if not self.under_symlink(rel):
                    self.missing(rel, layout.listing(packed), payload=False)
                continue
            if self.fast:
                continue
            read = self.tag_reads.get(rel)
            if read is None:
                to_hash.append((rel, packed))
                continue
            self.files_checked += 1
            self.bytes_checked += read.size
            for index, alg in enumerate(layout.algorithms):
                found = read.digests.get(alg)
                if found is None or not layout.listed(packed, index):
                    continue
                self.compare(rel, layout.manifests[index], alg, layout.digest(packed, index), found, tag_file=True)
        if to_hash:
            self.on_result(_check_batch(self.root_s, layout, to_hash, False))

    def earlier_bag_indexes(self) -> tuple[list[str], bool]:
        """The CDXJ indexes of the earlier bags this bag names in ``cablekeep-depends-on.txt`` (one
        "<bag name> <External-Identifier>" a line; a bag of a collection-deduplicated crawl) that
        sit beside this bag; and whether all of them did."""
        listing = os.path.join(self.root_s, DEPENDS_FILE)
        if not os.path.isfile(listing):
            return [], False
        indexes: list[str] = []
        all_present = True
        with open(listing, encoding="utf-8") as handle:
            names = [line.split()[0] for line in handle if line.strip()]
        for name in names:
            index = os.path.join(os.path.dirname(self.root_s), name, "data", "index.cdxj")
            if os.path.sep in name or name in (".", "..") or not os.path.isfile(index):
                all_present = False
                self.add(Problem.warning(
                    DEPENDS_FILE,
                    f"earlier bag {name} is not beside this one: revisit records pointing into it were not checked; "
                    "put it next to this bag and verify again",
                ))
                continue
            indexes.append(index)
        return indexes, all_present


def _cdxj_record_ids(indexes: Iterable[str]) -> Iterator[str]:
    """The record ids of the captures in CDXJ index files, read as they are needed."""
    for index in indexes:
        with open(index, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split(" ", 2)
                if len(fields) == 3 and '"record_id"' in fields[2]:
                    record_id = json.loads(fields[2]).get("record_id")
                    if isinstance(record_id, str):
                        yield record_id
