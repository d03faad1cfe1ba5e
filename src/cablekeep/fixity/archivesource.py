"""A serialized bag (tar stream or zip) as a :class:`~cablekeep.fixity.sources.BagSource`, read once.

The archive is read in one pass, in member order, when the bag is first listed, and nothing is
written to disk but a large WACZ's copy (below). As each member passes its name is vetted (absolute
names, ``..``, ``~`` and drive
letters are ``unsafe-path``; a second top-level entry, files beside the bag directory, a path
stored twice and hard links are ``invalid-structure``; refused members are never read); a regular
file is hashed in 1 MiB blocks, and a WARC in the payload checked record by record in that same
read; a WACZ in the payload is copied aside in that read and checked against its ``datapackage.json``
(a ZIP is read from its end: past 16 MiB the copy goes to a temporary file, the one thing written to
disk). Which algorithms to compute is decided per member: those of the (tag) manifests whose names
have passed, or :data:`PRESUMED_ALGORITHMS` before any. The tag files the checker parses
(bagit.txt, bag-info.txt, fetch.txt, manifests) are kept, zlib-compressed (bagit.txt, bag-info.txt
and fetch.txt only up to the cap), so the checker reads them in its own order: a manifest that
arrives after the payload, or bagit.txt after a manifest, changes nothing.

What a file hashed to is kept compactly (size, plan and raw digests in one ``bytes``); should a
manifest need an algorithm a file was not hashed with, :meth:`FileHasher.finish` reads the
archive once more for just what is missing. A zip's central directory is held by ``zipfile``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from ..bagging.hashing import hasher_factory
from ..errors import BagUnreadableError
from ..bagging.layout import BAG_INFO_TXT, BAGIT_TXT, BLOCK, FETCH_TXT, MANIFEST_RE, TAGMANIFEST_RE, hashlib_name
from . import sources
from .packed import Layout, compare_found
from .report import Problem
from .checker import PACKAGE_INFO_TXT
from .sources import (
    TAR_ERRORS,
    AlreadyReported,
    ArchiveBroken,
    BagSource,
    CountingHashers,
    Entry,
    FileHasher,
    Hashed,
    Member,
    MemberReader,
    Tee,
)
from .tagfiles import check_path
from .warccheck import WarcScan, is_warc_name, scan_warc_stream
from .waczcheck import WaczSpool, is_wacz_name
from .witness import check_archive_witness

PRESUMED_ALGORITHMS = ("sha256", "sha512")
MACOS_METADATA_DIR = "__MACOSX"

_NO_PLAN = 255
_SIZE_BYTES = 8
_CAPPED_TEXTS = (BAGIT_TXT, BAG_INFO_TXT, PACKAGE_INFO_TXT, FETCH_TXT)


@dataclass
class _Plan:
    """Algorithms a file was hashed with, in order; an id is stored with each file's digests."""

    algorithms: tuple[str, ...]
    offsets: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, algorithms: tuple[str, ...]) -> _Plan:
        offsets: dict[str, tuple[int, int]] = {}
        at = _SIZE_BYTES + 1
        for alg in algorithms:
            name = hashlib_name(alg)
            if name is None:
                continue
            size = hashlib.new(name).digest_size
            offsets[alg] = (at, at + size)
            at += size
        return cls(tuple(offsets), offsets)


def _new_hasher(alg: str) -> hashlib._Hash:
    factory = hasher_factory(hashlib_name(alg))
    assert factory is not None  # plans hold computable algorithms only
    return factory()


class _Spool:
    """A tag file's bytes kept zlib-compressed; ``limit`` bytes at most (then ``cut``)."""

    def __init__(self, limit: int | None) -> None:
        self._zip = zlib.compressobj(1)
        self._parts: list[bytes] = []
        self._limit = limit
        self.kept = 0
        self.cut = False
        self.data = b""

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        if self._limit is not None and self.kept + len(data) > self._limit:
            data = memoryview(data)[: self._limit - self.kept]
            self.cut = True
        self.kept += len(data)
        self._parts.append(self._zip.compress(data))

    def done(self) -> None:
        self._parts.append(self._zip.flush())
        self.data = b"".join(self._parts)
        self._parts = []


class _Unspool(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._unzip = zlib.decompressobj()
        self._tail = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = BLOCK if size is None or size < 0 else size
        out = self._unzip.decompress(self._tail, size)
        self._tail = self._unzip.unconsumed_tail
        return out if out or not self._tail else self.read(size)


class ArchiveSource(BagSource):
    """The bag inside a tar or zip archive; ``members`` streams the archive's members."""

    def __init__(self, archive: Path, members: MemberReader, *, fast: bool) -> None:
        self.archive = archive
        self.target = str(archive)
        self.no_bag = f"{archive} holds no bag: no top-level directory with bagit.txt, a manifest or data/"
        self.members = members
        self.fast = fast
        self.root: str | None = None
        self.extra_tops: set[str] = set()
        self.macos_members = 0
        self.entries: list[Entry] = []
        self.seen: dict[str, bytes] = {}  # regular file -> size, plan id, digests
        self.texts: dict[str, _Spool] = {}
        self.unreadable: set[str] = set()
        self.manifest_algs: dict[bool, set[str]] = {True: set(), False: set()}
        self.plans: list[_Plan] = []
        self.plan_ids: dict[tuple[str, ...], int] = {}
        self.scans: dict[str, WarcScan] = {}
        self.waczs: dict[str, list[Problem]] = {}  # a payload WACZ's problems, reported with its hashes
        self._problems: list[Problem] = []
        self._read = False

    # -- the interface

    def take_problems(self) -> list[Problem]:
        problems, self._problems = self._problems, []
        return problems

    def top_level(self) -> list[Entry]:
        self._first_pass()
        tops: dict[str, Entry] = {}
        for entry in self.entries:
            top, slash, _ = entry.rel.partition("/")
            if slash:
                tops.setdefault(top, Entry(top, "dir"))
            else:
                tops[top] = entry
        return list(tops.values())

    def iter_tree(self, top: str) -> Iterator[Entry]:
        prefix = top + "/"
        return (e for e in self.entries if e.rel.startswith(prefix) and e.kind != "dir")

    def open_tag(self, rel: str, hashers: list[hashlib._Hash]) -> Tee:
        spool = self.texts.get(rel)
        if spool is None:
            raise AlreadyReported(f"{rel} could not be read")
        return Tee(cast(BinaryIO, _Unspool(spool.data)), hashers, owns=True)

    @contextmanager
    def payload_hasher(
        self, layout: Layout, on_result: Callable[[Hashed], None], *, declared_bytes: int
    ) -> Iterator[FileHasher]:
        yield _StoredDigests(self, layout, on_result, payload=True)

    def tag_hasher(self, layout: Layout, on_result: Callable[[Hashed], None]) -> FileHasher:
        return _StoredDigests(self, layout, on_result, payload=False)

    def witness(self, scans: Sequence[WarcScan]) -> list[Problem]:
        return check_archive_witness(
            lambda: ((rel, m.stream, m.size) for rel, m in self.iter_bag_members(report=False) if m.stream), scans, None
        )

    def close(self) -> None:
        for scan in self.scans.values():
            scan.discard()

    # -- the pass

    def iter_bag_members(self, *, report: bool) -> Iterator[tuple[str, Member]]:
        """(bag-relative path, member) for members inside the bag; the rest reported once (``report``)."""
        try:
            for member in self.members():
                rel = self._bag_path(member, report)
                if rel is not None:
                    yield rel, member
        except ArchiveBroken as exc:
            if report:
                self._broken(exc)

    def _broken(self, exc: ArchiveBroken) -> None:
        self._problems.append(Problem(
            "invalid-structure", self.archive.name,
            f"the archive is cut short or damaged ({exc}); members after that point were not checked.",
        ))

    def _beside(self, name: str, what: str) -> None:
        self._problems.append(Problem(
            "invalid-structure", name,
            f"{what}; a serialized bag holds exactly one top-level directory, the bag (BagIt serialization, "
            "RFC 8493).",
        ))

    def _bag_path(self, member: Member, report: bool) -> str | None:
        name = member.name
        normal = name
        while normal.startswith("./"):
            normal = normal[2:]
        normal = normal.rstrip("/") if member.kind == "dir" else normal
        if normal in ("", "."):
            return None
        checked = check_path(normal, False)
        if checked.kind is not None:
            if report:
                self._problems.append(Problem(checked.kind, name, f"archive member {name!r}: {checked.detail} It was not read."))
            return None
        top, slash, rel = checked.path.partition("/")
        if top == MACOS_METADATA_DIR:
            self.macos_members += report
            return None
        if not slash and member.kind != "dir" and self.root is None:
            if report:
                self._beside(name, "this member lies beside the bag's directory. It was not checked")
            return None
        if self.root is None:
            self.root = top
        if top != self.root:
            if report and top not in self.extra_tops:
                self.extra_tops.add(top)
                self._beside(top, f"a second top-level entry beside the bag {self.root!r}. Its contents were not checked")
            return None
        if not slash:
            if member.kind == "symlink" and report:
                self._problems.append(Problem(
                    "symlink", top, f"the bag's directory is a symbolic link to {member.detail!r}; refused."
                ))
            return None
        return rel

    def _first_pass(self) -> None:
        if self._read:
            return
        self._read = True
        known: set[str] = set()
        try:
            for rel, member in self.iter_bag_members(report=True):
                if member.kind in ("file", "unreadable") and rel in known:
                    self._problems.append(Problem(
                        "invalid-structure", rel,
                        "the archive holds this path more than once; unpacking it would keep only the last copy, "
                        "and only the first was checked.",
                    ))
                    continue
                known.add(rel)
                if member.kind in ("file", "unreadable"):
                    self._regular_file(rel, member)  # listed once read: a member cut short is missing
                    self.entries.append(Entry(rel, "file", member.size))
                else:
                    self.entries.append(Entry(rel, member.kind, member.size, member.detail))
        except ArchiveBroken as exc:  # raised while a member was being read
            self._broken(exc)
        if self.macos_members:
            self._problems.append(Problem.warning(
                MACOS_METADATA_DIR,
                f"{self.macos_members} member(s) under {MACOS_METADATA_DIR}/ (macOS resource forks) lie beside the "
                "bag; ignored.",
            ))
        if self.root is None:
            raise BagUnreadableError(self.no_bag)

    def _plan_id(self, payload: bool) -> int:
        algorithms = tuple(sorted(self.manifest_algs[payload].union(PRESUMED_ALGORITHMS)))
        known = self.plan_ids.get(algorithms)
        if known is None:
            known = len(self.plans)
            self.plans.append(_Plan.of(algorithms))
            self.plan_ids[algorithms] = known
        return known

    def _unhashed(self, rel: str, size: int) -> None:
        self.seen[rel] = size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])

    def _regular_file(self, rel: str, member: Member) -> None:
        payload = rel.startswith("data/")
        if "/" not in rel and (match := MANIFEST_RE.match(rel) or TAGMANIFEST_RE.match(rel)):
            if hashlib_name(match.group(1).lower()):
                self.manifest_algs[rel.startswith("manifest-")].add(match.group(1).lower())
        if member.kind == "unreadable":
            self._unhashed(rel, member.size)
            self.unreadable.add(rel)
            self._problems.append(Problem.unreadable(rel, member.detail))
            return
        assert member.stream is not None
        spool = None
        if "/" not in rel and (rel in _CAPPED_TEXTS or MANIFEST_RE.match(rel) or TAGMANIFEST_RE.match(rel)):
            spool = self.texts[rel] = _Spool(sources.TAG_TEXT_LIMIT + 1 if rel in _CAPPED_TEXTS else None)
        if self.fast and spool is None:  # completeness only: the content is skipped, never read
            self._unhashed(rel, member.size)
            return
        plan_id = _NO_PLAN if self.fast else self._plan_id(payload)
        hashers = [] if self.fast else [_new_hasher(alg) for alg in self.plans[plan_id].algorithms]
        wacz = WaczSpool() if payload and is_wacz_name(rel) and not self.fast else None
        tee = Tee(member.stream, [*hashers, *([spool] if spool else []), *([wacz] if wacz else [])])  # type: ignore[list-item]  # spools take updates
        try:
            if payload and is_warc_name(rel) and not self.fast:
                counting = CountingHashers(hashers)
                self.scans[rel] = scan_warc_stream(
                    cast(BinaryIO, member.stream), name=rel, display_path=rel, raw_hashers=[counting],
                    # whether the bag has an index is known only once the whole archive has passed,
                    # and the exact comparison could not read a member again without another pass
                    witness=True, spool_fields=True,
                )
                tee.size = counting.bytes
            else:
                tee.drain()
        except zipfile.BadZipFile as exc:
            if wacz is not None:
                wacz.close()
            self._unhashed(rel, member.size)
            self.unreadable.add(rel)
            self.texts.pop(rel, None)
            self._problems.append(Problem("changed", rel, f"the zip member is damaged ({exc}); its content could not be checked."))
            return
        except TAR_ERRORS as exc:
            if wacz is not None:
                wacz.close()
            raise ArchiveBroken(f"while reading {rel!r}: {exc}") from exc
        if wacz is not None:
            self.waczs[rel] = wacz.check(rel)
        if spool is not None:
            spool.done()
        size = tee.size if not self.fast else member.size
        self.seen[rel] = size.to_bytes(_SIZE_BYTES, "little") + bytes([plan_id]) + b"".join(h.digest() for h in hashers)

    def digest_of(self, rel: str, alg: str, extra: dict[str, dict[str, bytes]]) -> bytes | None:
        packed = self.seen[rel]
        plan_id = packed[_SIZE_BYTES]
        if plan_id != _NO_PLAN:
            span = self.plans[plan_id].offsets.get(alg)
            if span is not None:
                return packed[span[0] : span[1]]
        return extra.get(rel, {}).get(alg)

    def size_of(self, rel: str) -> int:
        return int.from_bytes(self.seen[rel][:_SIZE_BYTES], "little")

    def hash_again(self, need: dict[str, list[str]]) -> dict[str, dict[str, bytes]]:
        """One more pass for the algorithms files were not hashed with: path -> algorithm -> digest."""
        found: dict[str, dict[str, bytes]] = {}
        for rel, member in self.iter_bag_members(report=False):
            wanted = need.pop(rel, None) if member.stream is not None else None
            if wanted:
                hashers = [_new_hasher(alg) for alg in wanted]
                try:
                    Tee(member.stream, hashers).drain()  # type: ignore[arg-type]  # checked above
                except (zipfile.BadZipFile, *TAR_ERRORS):
                    continue  # reported in the first pass if it was broken then; left not-checked
                found[rel] = {alg: h.digest() for alg, h in zip(wanted, hashers)}
            if not need:
                break
        return found


class _StoredDigests(FileHasher):
    """Answers from the digests the pass kept; what they lack is hashed in one more pass at the end."""

    def __init__(self, source: ArchiveSource, layout: Layout, on_result: Callable[[Hashed], None], *, payload: bool) -> None:
        self._source = source
        self._layout = layout
        self._on_result = on_result
        self._payload = payload
        self._later: list[tuple[str, bytes]] = []
        self._extra: dict[str, dict[str, bytes]] = {}

    def add(self, rel: str, packed: bytes, size: int) -> None:
        source = self._source
        if rel in source.unreadable:
            return  # reported when the pass met it
        if any(source.digest_of(rel, alg, self._extra) is None for alg in self._layout.wanted(packed)):
            self._later.append((rel, packed))
            return
        self._emit(rel, packed)

    def _emit(self, rel: str, packed: bytes) -> None:
        source, layout = self._source, self._layout
        found = [source.digest_of(rel, alg, self._extra) if name else None
                 for alg, name in zip(layout.algorithms, layout.hash_names)]
        result = Hashed(compare_found(rel, layout, packed, found, tag_file=not self._payload), 1, source.size_of(rel))
        if self._payload:
            result.problems.extend(source.waczs.pop(rel, []))
        scan = source.scans.get(rel) if self._payload else None
        if scan is not None:
            result.problems.extend(scan.problems)
            scan.problems = []
            result.scans.append(scan)
        self._on_result(result)

    def finish(self) -> None:
        if not self._later:
            return
        need: dict[str, list[str]] = {}
        for rel, packed in self._later:
            need[rel] = [alg for alg in self._layout.wanted(packed) if self._source.digest_of(rel, alg, {}) is None]
        self._extra = self._source.hash_again(need)
        for rel, packed in self._later:
            self._emit(rel, packed)
        self._later = []
