"""Verifying a serialized bag (``.tar``, ``.tar.gz``/``.tgz``, ``.zip``) without unpacking it.

BagIt serialization (RFC 8493): a serialized bag holds exactly one top-level directory, the bag. This
module reads the archive once, in member order (tar in stream mode ``r|*``; zip members in the
order they are stored), and nothing is written to disk. As each member passes:

- its name is vetted: absolute names, ``..``, ``~`` and drive letters are ``unsafe-path``;
  symbolic links are ``symlink``; hard links, devices, FIFOs, a second top-level entry and files
  beside the bag directory are ``invalid-structure``. Refused members are never read;
- a regular file is hashed in 1 MiB blocks; a WARC in the payload is also checked record by
  record in that same read (:func:`cablekeep.fixity.warccheck.scan_warc_stream`);
- bagit.txt is parsed at once (its version and encoding decide how manifests are read);
  manifests are parsed line by line as they stream; bag-info.txt and fetch.txt are kept (up to
  :data:`TAG_TEXT_LIMIT`) and parsed at the end.

Manifests may come after the payload, so what a file hashed to is kept, compactly, until the end
(path -> size and raw digests in one ``bytes``), and compared then. Which algorithms to compute
is decided per member: those of the (tag) manifests already seen, or
:data:`PRESUMED_ALGORITHMS` before any. Should a manifest arrive later that needs an algorithm a
file was not hashed with -- or bagit.txt arrive after a manifest whose reading it changes -- one
more pass reads just what is missing. Memory holds a block, the manifest entries and the
per-file digests: it does not grow with member sizes. A zip's central directory is held by
``zipfile`` (a few hundred bytes per member).

The report has the schema and the checks of :func:`cablekeep.fixity.verify.verify_bag`: a valid bag
gives the same problems serialized or unpacked, and a damaged one the same kinds of problems.
The archive itself adds: a tar cut short (``invalid-structure``), a zip member whose CRC-32
fails (``changed``, no algorithm) and an encrypted or unsupported zip member (``not-checked``).
Fast mode reads no payload content, but a compressed tar is still inflated to find its members.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, cast

from ..bagging.layout import BAGIT_TXT, BAG_INFO_TXT, BLOCK, FETCH_TXT, MANIFEST_RE, PAYLOAD_DIR, TAGMANIFEST_RE, hashlib_name
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
from ..errors import BagUnreadableError
from ..bagging.hashing import hasher_factory
from .report import Problem, ProblemKind, Report, problem_order
from .warccheck import WarcScan, is_warc_name, resolve_references, scan_warc_stream

SERIALIZED_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
PRESUMED_ALGORITHMS = ("sha256", "sha512")
TAG_TEXT_LIMIT = 16 << 20
MACOS_METADATA_DIR = "__MACOSX"

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_NO_PLAN = 255
_SIZE_BYTES = 8


def is_serialized_bag_name(path: Path | str) -> bool:
    """True when the file name ends like a serialized bag cablekeep reads."""
    return os.fspath(path).lower().endswith(SERIALIZED_SUFFIXES)


def verify_serialized(path: Path, *, fast: bool = False) -> Report:
    """Verify the bag inside the archive at ``path`` without unpacking it; every problem found.

    Raises :class:`BagUnreadableError` when ``path`` cannot be opened, is not a tar (plain or
    compressed) or zip archive, or holds no bag at all. Anything wrong inside is a problem.
    """
    archive = Path(path)
    open_members = _archive_reader(archive)
    return _SerializedCheck(archive, open_members, fast=fast).run()


# --------------------------------------------------------------------------- archive members


@dataclass
class _Member:
    """One archive member. ``stream`` is set for regular files only and must be used before the next."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink", "other" (FIFO, device...), "unreadable" (detail says why)
    size: int = 0
    detail: str = ""
    stream: IO[bytes] | None = None


class _ArchiveBroken(Exception):
    """The archive could not be read past this point."""


MemberReader = Callable[[], Iterator[_Member]]


def _archive_reader(archive: Path) -> MemberReader:
    """A function that streams the archive's members, checked to open now."""
    try:
        with open(archive, "rb") as probe:
            head = probe.read(512)
    except OSError as exc:
        raise BagUnreadableError(f"cannot read {archive}: {exc.strerror or exc}") from exc
    if head.startswith(_ZIP_MAGICS):
        try:
            with zipfile.ZipFile(archive):
                pass
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BagUnreadableError(f"{archive} is not a readable zip archive: {exc}") from exc
        return lambda: _iter_zip(archive)
    try:
        with _open_tar_stream(archive) as stream, tarfile.open(fileobj=stream, mode="r|"):
            pass
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise BagUnreadableError(
            f"{archive} is not a readable tar (.tar, .tar.gz) or zip archive ({exc}); a serialized bag is one of these"
        ) from exc
    return lambda: _iter_tar(archive)


def _open_tar_stream(archive: Path) -> IO[bytes]:
    """The archive's tar bytes, decompressed by gzip, bz2 or lzma when it starts like one.

    Their readers bound how much they inflate per read; tarfile's own ``r|gz`` inflates a whole
    10 KiB record at once, up to ~10 MiB for highly compressible data.
    """
    with open(archive, "rb") as probe:
        head = probe.read(6)
    if head.startswith(b"\x1f\x8b"):
        return cast(IO[bytes], gzip.open(archive, "rb"))
    if head.startswith(b"BZh"):
        return cast(IO[bytes], bz2.open(archive, "rb"))
    if head.startswith(b"\xfd7zXZ\x00"):
        return cast(IO[bytes], lzma.open(archive, "rb"))
    return open(archive, "rb")


_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


def _iter_tar(archive: Path) -> Iterator[_Member]:
    errors = _TAR_ERRORS
    with _open_tar_stream(archive) as raw:
        try:
            tar = tarfile.open(fileobj=raw, mode="r|")
        except errors as exc:
            raise _ArchiveBroken(str(exc)) from exc
        with tar:
            while True:
                try:
                    info = tar.next()
                except errors as exc:
                    raise _ArchiveBroken(f"after {tar.offset} bytes: {exc}") from exc
                if info is None:
                    return
                # tarfile keeps every TarInfo in the undocumented .members; cleared, memory does not grow.
                tar.members.clear()  # type: ignore[attr-defined]  # typeshed omits TarFile.members
                if info.isreg():
                    try:
                        stream = tar.extractfile(info)
                    except errors as exc:
                        raise _ArchiveBroken(f"at {info.name!r}: {exc}") from exc
                    yield _Member(info.name, "file", info.size, stream=stream)
                elif info.isdir():
                    yield _Member(info.name, "dir")
                elif info.issym():
                    yield _Member(info.name, "symlink", detail=info.linkname)
                elif info.islnk():
                    yield _Member(info.name, "hardlink", detail=info.linkname)
                else:
                    what = {
                        tarfile.FIFOTYPE: "a FIFO",
                        tarfile.CHRTYPE: "a character device",
                        tarfile.BLKTYPE: "a block device",
                    }.get(info.type, f"a member of tar type {info.type!r}")
                    yield _Member(info.name, "other", detail=what)


def _iter_zip(archive: Path) -> Iterator[_Member]:
    with zipfile.ZipFile(archive) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if info.is_dir() or kind == stat.S_IFDIR:
                yield _Member(info.filename, "dir")
            elif kind == stat.S_IFLNK:
                yield _Member(info.filename, "symlink", detail="(target in the member's data)")
            elif kind not in (0, stat.S_IFREG):
                what = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
                        stat.S_IFSOCK: "a socket"}.get(kind, "not a regular file")
                yield _Member(info.filename, "other", detail=what)
            elif info.flag_bits & 0x1:
                yield _Member(info.filename, "unreadable", info.file_size, detail="this zip member is encrypted")
            else:
                try:
                    stream = zf.open(info)
                except (zipfile.BadZipFile, NotImplementedError, OSError, zlib.error) as exc:
                    yield _Member(info.filename, "unreadable", info.file_size, detail=f"this zip member cannot be read ({exc})")
                    continue
                with stream:
                    yield _Member(info.filename, "file", info.file_size, stream=stream)


# --------------------------------------------------------------------------- reading while hashing


class _Tee(io.RawIOBase):
    """Reads a member stream, feeding every byte to hashers and counting them."""

    def __init__(self, stream: IO[bytes], hashers: list[hashlib._Hash]) -> None:
        super().__init__()
        self._stream = stream
        self.hashers = hashers
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # typeshed: WriteableBuffer
        data = self._stream.read(len(buffer))
        n = len(data)
        if n:
            memoryview(buffer)[:n] = data
            for hasher in self.hashers:
                hasher.update(data)
            self.size += n
        return n

    def read_capped(self, limit: int) -> bytes | None:
        """Everything (None past ``limit`` bytes: the rest is still read and hashed)."""
        parts: list[bytes] = []
        kept = 0
        buffer = bytearray(BLOCK)
        while n := self.readinto(buffer):
            kept += n
            if kept <= limit:
                parts.append(bytes(buffer[:n]))
        return b"".join(parts) if kept <= limit else None

    def drain(self) -> None:
        buffer = bytearray(BLOCK)
        while self.readinto(buffer):
            pass


class _Counting:
    """Feeds a WARC's raw bytes to the manifest hashers and counts them."""

    def __init__(self, hashers: list[hashlib._Hash]) -> None:
        self._hashers = hashers
        self.bytes = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.bytes += len(data)
        for hasher in self._hashers:
            hasher.update(data)


def _iter_text_lines(raw: _Tee, codec: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of a tag file, split on CR, LF or CRLF, streamed in blocks."""
    text = io.TextIOWrapper(io.BufferedReader(raw, BLOCK), encoding=codec, errors="surrogateescape", newline="")
    number = 1
    carry = ""
    while True:
        chunk = text.read(BLOCK)
        if not chunk:
            for line in split_lines(carry) if carry else []:
                yield number, line
                number += 1
            return
        chunk = carry + chunk
        carry_cr = chunk.endswith("\r")  # a CRLF may straddle two reads
        if carry_cr:
            chunk = chunk[:-1]
        lines = LINE_END_RE.split(chunk)
        carry = lines.pop() + ("\r" if carry_cr else "")
        for line in lines:
            yield number, line
            number += 1


# --------------------------------------------------------------------------- what was seen


@dataclass
class _ManifestState:
    """One payload or tag manifest: its entries (path -> raw digest; b"" = line not checkable)."""

    name: str
    alg: str
    payload: bool
    entries: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bad_lines: set[str] = field(default_factory=set)
    strict_used: bool = True
    codec_used: str = "utf-8-sig"
    has_percent: bool = False
    has_non_ascii: bool = False
    duplicate_lines: int = 0
    parsed: bool = False

    @property
    def size(self) -> int:
        name = hashlib_name(self.alg)
        return 0 if name is None else hashlib.new(name).digest_size


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


# --------------------------------------------------------------------------- the check


class _SerializedCheck:
    def __init__(self, archive: Path, open_members: MemberReader, *, fast: bool) -> None:
        self.archive = archive
        self.open_members = open_members
        self.fast = fast
        self.problems: list[Problem] = []
        self.root: str | None = None
        self.extra_tops: set[str] = set()
        self.macos_members = 0
        # declaration
        self.declaration_seen = False
        self.strict = True
        self.codec = "utf-8-sig"
        self.bag_info_raw: bytes | None = None
        self.fetch_raw: bytes | None = None
        # members
        self.plans: list[_Plan] = []
        self.plan_ids: dict[tuple[str, ...], int] = {}
        self.payload_seen: dict[str, bytes] = {}
        self.tag_seen: dict[str, bytes] = {}
        self.extra_digests: dict[str, dict[str, bytes]] = {}
        self.unreadable: set[str] = set()
        self.links: set[str] = set()
        self.has_data = False
        self.payload_files = 0
        self.payload_bytes = 0
        self.warc_files = 0
        self.scans: dict[str, WarcScan] = {}
        self.manifests: dict[str, _ManifestState] = {}
        self.nfc_index: dict[str, str] = {}
        # the end
        self.oxum: tuple[int, int] | None = None
        self.fetch: dict[str, str] = {}
        self.listed_payload: set[str] = set()
        self.files_checked = 0
        self.bytes_checked = 0

    def problem(
        self,
        kind: ProblemKind,
        path: str,
        detail: str,
        *,
        algorithm: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.problems.append(Problem(kind, path, detail, algorithm=algorithm, expected=expected, found=found))

    # -- driver

    def run(self) -> Report:
        self.first_pass()
        if self.root is None or (
            BAGIT_TXT not in self.tag_seen and not self.manifests and not self.has_data and not self.links
        ):
            raise BagUnreadableError(
                f"{self.archive} holds no bag: no top-level directory with bagit.txt, a manifest or data/"
            )
        self.second_pass()
        self.check_structure()
        self.check_payload()
        self.check_oxum()
        self.check_tag_files()
        if self.fast:
            self.report_fast_mode()
        else:
            listed_scans = [scan for rel, scan in self.scans.items() if rel in self.listed_payload]
            for scan in listed_scans:
                self.problems.extend(scan.problems)
            self.problems.extend(resolve_references(listed_scans))
        for scan in self.scans.values():
            scan.discard()
        self.problems.sort(key=problem_order)
        payload_algs = tuple(m.alg for name, m in sorted(self.manifests.items()) if m.payload)
        tag_algs = tuple(m.alg for name, m in sorted(self.manifests.items()) if not m.payload)
        return Report(
            target=os.fspath(self.archive),
            mode="fast" if self.fast else "full",
            algorithms=tuple(dict.fromkeys(payload_algs + tag_algs)),
            files_checked=self.files_checked,
            bytes_checked=self.bytes_checked,
            warc_records_checked=sum(scan.records for rel, scan in self.scans.items() if rel in self.listed_payload),
            problems=self.problems,
        )

    def iter_bag_members(self, *, report: bool) -> Iterator[tuple[str, _Member]]:
        """(bag-relative path, member) for members inside the bag; the rest reported once (``report``)."""
        try:
            for member in self.open_members():
                rel = self.bag_path(member, report)
                if rel is not None:
                    yield rel, member
        except _ArchiveBroken as exc:
            if report:
                self.archive_broken(exc)

    def archive_broken(self, exc: _ArchiveBroken) -> None:
        self.problem(
            "invalid-structure",
            self.archive.name,
            f"the archive is cut short or damaged ({exc}); members after that point were not checked.",
        )

    def bag_path(self, member: _Member, report: bool) -> str | None:
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
                self.problem(
                    checked.kind, name, f"archive member {name!r}: {checked.detail} It was not read."
                )
            return None
        top, slash, rel = checked.path.partition("/")
        if top == MACOS_METADATA_DIR:
            self.macos_members += report
            return None
        if not slash and member.kind != "dir" and self.root is None:
            if report:
                self.problem(
                    "invalid-structure",
                    name,
                    "this member lies beside the bag's directory; a serialized bag holds exactly one top-level "
                    "directory, the bag (BagIt serialization, RFC 8493). It was not checked.",
                )
            return None
        if self.root is None:
            self.root = top
        if top != self.root:
            if report and top not in self.extra_tops:
                self.extra_tops.add(top)
                self.problem(
                    "invalid-structure",
                    top,
                    f"a second top-level entry beside the bag {self.root!r}; a serialized bag holds exactly one "
                    "top-level directory (BagIt serialization, RFC 8493). Its contents were not checked.",
                )
            return None
        if not slash:
            if member.kind == "symlink" and report:
                self.problem("symlink", top, f"the bag's directory is a symbolic link to {member.detail!r}; refused.")
            return None
        return rel

    # -- pass 1

    def first_pass(self) -> None:
        try:
            self.first_pass_members()
        except _ArchiveBroken as exc:  # raised while a member was being read
            self.archive_broken(exc)

    def first_pass_members(self) -> None:
        for rel, member in self.iter_bag_members(report=True):
            if member.kind == "dir":
                if rel == PAYLOAD_DIR or rel.startswith("data/"):
                    self.has_data = True
                continue
            if member.kind == "symlink":
                self.links.add(rel)
                self.problem(
                    "symlink",
                    rel,
                    f"this is a symbolic link (to {member.detail!r}); links inside a bag are refused and never "
                    "followed. Replace it with the file or directory it points to.",
                )
                continue
            if member.kind == "hardlink":
                self.links.add(rel)
                self.problem(
                    "invalid-structure",
                    rel,
                    f"this member is a hard link to {member.detail!r}; links in a serialized bag are refused and "
                    "never followed. Store the file itself.",
                )
                continue
            if member.kind == "other":
                self.problem("invalid-structure", rel, f"this is not a regular file or directory ({member.detail}).")
                continue
            if rel in self.payload_seen or rel in self.tag_seen or rel in self.links:
                self.problem(
                    "invalid-structure",
                    rel,
                    "the archive holds this path more than once; unpacking it would keep only the last copy, and "
                    "only the first was checked.",
                )
                continue
            self.regular_file(rel, member)

    def plan_id(self, algorithms: tuple[str, ...]) -> int:
        known = self.plan_ids.get(algorithms)
        if known is None:
            known = len(self.plans)
            self.plans.append(_Plan.of(algorithms))
            self.plan_ids[algorithms] = known
        return known

    def current_plan(self, payload: bool) -> tuple[str, ...]:
        """The presumed algorithms and those of the (tag) manifests seen so far, if computable."""
        seen = {m.alg for m in self.manifests.values() if m.payload == payload and hashlib_name(m.alg)}
        return tuple(sorted(seen.union(PRESUMED_ALGORITHMS)))

    def regular_file(self, rel: str, member: _Member) -> None:
        payload = rel.startswith("data/")
        if payload:
            self.has_data = True
            self.payload_files += 1
            self.payload_bytes += member.size
            self.warc_files += is_warc_name(rel)
        elif "/" not in rel:
            match = MANIFEST_RE.match(rel) or TAGMANIFEST_RE.match(rel)
            if match:
                self.manifests[rel] = _ManifestState(rel, match.group(1).lower(), rel.startswith("manifest-"))
        seen = self.payload_seen if payload else self.tag_seen
        if member.kind == "unreadable":
            seen[rel] = member.size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])
            self.unreadable.add(rel)
            self.problem("not-checked", rel, f"{member.detail}; it was not checked.")
            return
        assert member.stream is not None
        if self.fast and payload:  # completeness only: the content is skipped, never read
            seen[rel] = member.size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])
            return
        plan_id = _NO_PLAN if self.fast else self.plan_id(self.current_plan(payload))
        hashers = [] if self.fast else [self.new_hasher(alg) for alg in self.plans[plan_id].algorithms]
        tee = _Tee(member.stream, hashers)
        try:
            if payload and is_warc_name(rel):
                counting = _Counting(hashers)
                self.scans[rel] = scan_warc_stream(cast(BinaryIO, member.stream), name=rel, display_path=rel, raw_hashers=[counting])
                tee.size = counting.bytes
            elif payload:
                self.read_plain(tee)
            elif rel == BAGIT_TXT:
                self.read_declaration(tee)
            elif rel == BAG_INFO_TXT:
                self.bag_info_raw = self.read_tag_text(rel, tee)
            elif rel == FETCH_TXT:
                self.fetch_raw = self.read_tag_text(rel, tee)
            elif rel in self.manifests:
                self.read_manifest(self.manifests[rel], tee)
            elif not self.fast:
                self.read_plain(tee)
        except zipfile.BadZipFile as exc:
            seen[rel] = member.size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])
            self.unreadable.add(rel)
            self.problem("changed", rel, f"the zip member is damaged ({exc}); its content could not be checked.")
            return
        except _TAR_ERRORS as exc:
            raise _ArchiveBroken(f"while reading {rel!r}: {exc}") from exc
        size = tee.size if not self.fast else member.size
        seen[rel] = size.to_bytes(_SIZE_BYTES, "little") + bytes([plan_id]) + b"".join(h.digest() for h in hashers)

    @staticmethod
    def new_hasher(alg: str) -> hashlib._Hash:
        factory = hasher_factory(hashlib_name(alg))
        assert factory is not None  # plans hold computable algorithms only
        return factory()

    @staticmethod
    def read_plain(tee: _Tee) -> None:
        tee.drain()

    def read_tag_text(self, rel: str, tee: _Tee) -> bytes | None:
        data = tee.read_capped(TAG_TEXT_LIMIT)
        if data is None:
            self.problem(
                "not-checked", rel, f"the file is larger than {TAG_TEXT_LIMIT >> 20} MiB; its content was not read."
            )
        return data

    def read_declaration(self, tee: _Tee) -> None:
        raw = self.read_tag_text(BAGIT_TXT, tee)
        if raw is None:
            return
        self.declaration_seen = True
        declaration = parse_declaration(raw)
        self.problems.extend(declaration.problems)
        self.strict = declaration.strict
        if declaration.encoding is not None:
            codec = python_codec(declaration.encoding)
            if codec is None:
                self.problem(
                    "invalid-structure",
                    BAGIT_TXT,
                    f"Tag-File-Character-Encoding {declaration.encoding!r} is not a known encoding; tag files "
                    "were read as UTF-8.",
                )
            else:
                self.codec = "utf-8-sig" if codec == "utf-8" else codec

    def read_manifest(self, m: _ManifestState, tee: _Tee) -> None:
        m.entries.clear()
        m.problems.clear()
        m.bad_lines.clear()
        m.strict_used, m.codec_used = self.strict, self.codec
        m.has_percent = m.has_non_ascii = False
        m.duplicate_lines = 0
        m.parsed = True
        dot_lines = marker_lines = undecodable = 0
        system_files: list[str] = []
        digest_size = m.size
        hex_len = 2 * digest_size

        def problem(
            kind: ProblemKind,
            path: str,
            detail: str,
            *,
            algorithm: str | None = None,
            expected: str | None = None,
            found: str | None = None,
        ) -> None:
            m.problems.append(Problem(kind, path, detail, algorithm=algorithm, expected=expected, found=found))

        try:
            for number, line in _iter_text_lines(tee, self.codec):
                if not line.strip():
                    continue
                if not line.isascii():
                    m.has_non_ascii = True
                    undecodable += has_undecodable(line)
                parsed = parse_manifest_line(line)
                if parsed is None:
                    problem("invalid-structure", m.name, f"line {number} is not '<checksum> <path>': {line[:80]!r}.")
                    continue
                marker_lines += parsed.md5sum_marker
                m.has_percent |= "%" in parsed.path
                checked = check_path(parsed.path, self.strict)
                if checked.kind is not None:
                    problem(checked.kind, checked.path, f"{m.name} line {number}: {checked.detail}")
                    continue
                path = checked.path
                dot_lines += checked.leading_dot
                if m.payload != path.startswith("data/"):
                    where = (
                        "outside data/, so it cannot be payload"
                        if m.payload
                        else "inside data/; tag manifests list tag files only"
                    )
                    problem("invalid-structure", path, f"{m.name} line {number} lists a path {where}.")
                    continue
                key = path
                if m.payload and not path.isascii():
                    known = self.nfc_index.setdefault(unicodedata.normalize("NFC", path), path)
                    if known != path:
                        problem(
                            "warning",
                            path,
                            f"{m.name} line {number} lists {path!r} ({_form(path)}), which is {known!r} "
                            f"({_form(known)}) in another Unicode normalisation; both are taken as one file.",
                        )
                        key = known
                if m.payload:
                    base = path.rpartition("/")[2]
                    if base in SYSTEM_FILE_NAMES or base.startswith("._"):
                        system_files.append(path)
                if digest_size and not is_hex_digest(parsed.digest, hex_len):
                    problem(
                        "invalid-structure",
                        path,
                        f"{m.name} line {number}: {parsed.digest[:140]!r} is not a hex {m.alg} checksum, so this "
                        f"file cannot be checked against {m.name}.",
                        algorithm=m.alg,
                    )
                    m.bad_lines.add(key)
                    m.entries.setdefault(key, b"")
                    continue
                digest = bytes.fromhex(parsed.digest) if digest_size else b""
                known_digest = m.entries.get(key)
                if known_digest is None or key in m.bad_lines:
                    m.entries[key] = digest
                elif known_digest == digest:
                    m.duplicate_lines += 1
                    problem(
                        "invalid-structure" if self.strict else "warning",
                        path,
                        f"{m.name} lists this file more than once"
                        + (
                            " (each file must appear exactly once from BagIt 1.0)."
                            if self.strict
                            else "; the checksums agree."
                        ),
                        algorithm=m.alg,
                    )
                else:
                    problem(
                        "invalid-structure",
                        path,
                        f"{m.name} lists this file more than once with different checksums.",
                        algorithm=m.alg,
                        expected=known_digest.hex(),
                        found=digest.hex(),
                    )
        except UnicodeError as exc:
            problem("invalid-structure", m.name, f"the file is not valid {self.codec} ({exc}).")
        finally:
            tee.drain()
        if undecodable:
            problem(
                "invalid-structure",
                m.name,
                f"{undecodable} line(s) are not valid {self.codec}; their paths were matched byte for byte.",
            )
        if dot_lines:
            problem("warning", m.name, f"{dot_lines} path(s) start with './'; read without it.")
        if marker_lines:
            problem(
                "warning",
                m.name,
                f"{marker_lines} line(s) carry md5sum's binary marker ('*' before the path); read without it.",
            )
        if system_files:
            shown = ", ".join(system_files[:5]) + (" ..." if len(system_files) > 5 else "")
            problem(
                "warning",
                m.name,
                f"{len(system_files)} listed file(s) are operating-system clutter ({shown}); probably bagged by "
                "accident.",
            )

    # -- pass 2: only what pass 1 could not know in time

    def digest_of(self, packed: bytes, rel: str, alg: str) -> bytes | None:
        plan_id = packed[_SIZE_BYTES]
        if plan_id != _NO_PLAN:
            span = self.plans[plan_id].offsets.get(alg)
            if span is not None:
                return packed[span[0] : span[1]]
        return self.extra_digests.get(rel, {}).get(alg)

    def missing_algorithms(self) -> dict[str, list[str]]:
        """Files listed with a computable algorithm they were not hashed with: path -> algorithms."""
        need: dict[str, list[str]] = {}
        if self.fast:
            return need
        nfc_seen = {unicodedata.normalize("NFC", rel): rel for rel in self.payload_seen if not rel.isascii()}
        for m in self.manifests.values():
            if hashlib_name(m.alg) is None:
                continue
            seen = self.payload_seen if m.payload else self.tag_seen
            for key in m.entries:
                rel: str | None = key
                if key not in seen:
                    rel = nfc_seen.get(unicodedata.normalize("NFC", key)) if m.payload and not key.isascii() else None
                if rel is None or rel in self.unreadable or key in m.bad_lines:
                    continue
                if self.digest_of(seen[rel], rel, m.alg) is None and m.alg not in need.get(rel, []):
                    need.setdefault(rel, []).append(m.alg)
        return need

    def second_pass(self) -> None:
        reparse = {
            name
            for name, m in self.manifests.items()
            if m.parsed
            and (
                (m.strict_used != self.strict and (m.has_percent or m.duplicate_lines))
                or (m.codec_used != self.codec and m.has_non_ascii)
            )
        }
        if reparse:
            for name in reparse:  # read again, with what bagit.txt says
                self.manifests[name].parsed = False
        need = self.missing_algorithms()
        if not reparse and not need:
            return
        for rel, member in self.iter_bag_members(report=False):
            if member.stream is None:
                continue
            if rel in reparse and rel not in self.unreadable:
                self.read_manifest(self.manifests[rel], _Tee(member.stream, []))
                reparse.discard(rel)
            wanted = need.pop(rel, None)
            if wanted:
                hashers = [self.new_hasher(alg) for alg in wanted]
                try:
                    self.read_plain(_Tee(member.stream, hashers))
                except (zipfile.BadZipFile, *_TAR_ERRORS):
                    continue  # reported in pass 1 if it was broken then; if not, left not-checked below
                self.extra_digests[rel] = {alg: h.digest() for alg, h in zip(wanted, hashers)}
            if not reparse and not need:
                break
        # Anything still unknown (the archive changed between the passes) is reported not-checked.

    # -- the end: compare

    def check_structure(self) -> None:
        if BAGIT_TXT not in self.tag_seen and BAGIT_TXT not in self.links:
            self.problem("invalid-structure", BAGIT_TXT, "the bag has no bagit.txt; every bag must declare itself.")
        if self.bag_info_raw is not None:
            elements, problems = parse_bag_info(split_lines(self.decode_tag_text(BAG_INFO_TXT, self.bag_info_raw)))
            self.problems.extend(problems)
            parsed: set[tuple[int, int]] = set()
            for label, value in elements:
                if label.lower() != "payload-oxum":
                    continue
                octets, dot, count = value.partition(".")
                if not (dot and octets.isdigit() and count.isdigit()):
                    self.problem(
                        "oxum", BAG_INFO_TXT, f"Payload-Oxum {value!r} is not '<octets>.<file count>'.", expected=value
                    )
                    continue
                parsed.add((int(octets), int(count)))
            if len(parsed) > 1:
                self.problem("oxum", BAG_INFO_TXT, "bag-info.txt declares different Payload-Oxum values.")
            self.oxum = parsed.pop() if len(parsed) == 1 else None
        if not self.has_data and PAYLOAD_DIR not in self.links:
            self.problem("invalid-structure", PAYLOAD_DIR, "the bag has no data/ payload directory.")
        if not any(m.payload for m in self.manifests.values()):
            self.problem("invalid-structure", "manifest-<algorithm>.txt", "the bag has no payload manifest.")
        for name, m in sorted(self.manifests.items()):
            if hashlib_name(m.alg) is None:
                self.problem(
                    "not-checked",
                    name,
                    f"cablekeep cannot compute {m.alg!r} checksums; the checksums in {name} were not verified.",
                    algorithm=m.alg,
                )
            if not m.parsed and name not in self.unreadable:
                self.problem("not-checked", name, "the manifest could not be read again; it was not verified.")
            self.problems.extend(m.problems)
        if self.fetch_raw is not None:
            self.read_fetch_txt(self.fetch_raw)
        self.warn_case_collisions()
        if self.macos_members:
            self.problem(
                "warning",
                MACOS_METADATA_DIR,
                f"{self.macos_members} member(s) under {MACOS_METADATA_DIR}/ (macOS resource forks) lie beside the "
                "bag; ignored.",
            )

    def decode_tag_text(self, name: str, raw: bytes) -> str:
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError as exc:
            self.problem("invalid-structure", name, f"the file is not valid {self.codec} ({exc.reason}).")
            return raw.decode(self.codec, "replace")

    def read_fetch_txt(self, raw: bytes) -> None:
        payload_keys = self.payload_keys()
        for number, line in enumerate(split_lines(self.decode_tag_text(FETCH_TXT, raw)), 1):
            if not line.strip():
                continue
            parsed = parse_fetch_line(line)
            if parsed is None:
                self.problem("invalid-structure", FETCH_TXT, f"line {number} is not '<url> <length> <path>'.")
                continue
            checked = check_path(parsed.path, self.strict)
            if checked.kind is not None:
                self.problem(checked.kind, checked.path, f"{FETCH_TXT} line {number}: {checked.detail}")
                continue
            if not checked.path.startswith("data/"):
                self.problem("invalid-structure", checked.path, f"{FETCH_TXT} line {number} names a path outside data/.")
                continue
            self.fetch[checked.path] = parsed.url
        for path in self.fetch:
            if path not in payload_keys:
                self.problem("invalid-structure", path, "fetch.txt lists this file but no payload manifest does.")

    def payload_manifests(self) -> list[_ManifestState]:
        return [m for _, m in sorted(self.manifests.items()) if m.payload]

    def payload_keys(self) -> set[str]:
        keys: set[str] = set()
        for m in self.payload_manifests():
            keys.update(m.entries)
        return keys

    def warn_case_collisions(self) -> None:
        groups: dict[str, list[str]] = {}
        for key in self.payload_keys():
            groups.setdefault(key.lower(), []).append(key)
        for names in groups.values():
            if len(names) > 1:
                self.problem(
                    "warning",
                    min(names),
                    f"{' and '.join(repr(n) for n in sorted(names))} differ only in case; they cannot coexist on "
                    "a case-insensitive filesystem (macOS, Windows).",
                )

    def under_link(self, rel: str) -> bool:
        if not self.links:
            return False
        parts = rel.split("/")
        return any("/".join(parts[:i]) in self.links for i in range(1, len(parts) + 1))

    def check_payload(self) -> None:
        manifests = self.payload_manifests()
        keys = self.payload_keys()
        matched: set[str] = set()
        nfc_keys = {unicodedata.normalize("NFC", k): k for k in keys if not k.isascii()}
        for rel, packed in self.payload_seen.items():
            key: str | None = rel if rel in keys else None
            if key is None and not rel.isascii():
                listed = nfc_keys.get(unicodedata.normalize("NFC", rel))
                if listed is not None and listed not in matched and listed not in self.payload_seen:
                    key = listed
                    self.problem(
                        "warning",
                        rel,
                        f"the manifests list this file as {listed!r} ({_form(listed)}) and it is stored as "
                        f"{_form(rel)}; matched as one file.",
                    )
            if key is None:
                self.problem(
                    "unexpected",
                    rel,
                    "this payload file is in no payload manifest: it was added, or the manifests are out of date.",
                )
                continue
            matched.add(key)
            self.listed_payload.add(rel)
            for m in manifests:
                if key not in m.entries and key not in m.bad_lines:
                    self.problem(
                        "invalid-structure",
                        rel,
                        f"this file is missing from {m.name}; every payload file must be in every payload manifest.",
                        algorithm=m.alg,
                    )
            if self.fast or rel in self.unreadable:
                continue
            self.compare(rel, packed, key, manifests, "the file has changed")
        for key in sorted(keys - matched):
            if self.under_link(key):
                continue
            listing = ", ".join(m.name for m in manifests if key in m.entries) or "a manifest"
            url = self.fetch.get(key)
            if url is not None:
                detail = (
                    f"listed in fetch.txt ({url}) and {listing} but not in the bag; cablekeep never fetches: "
                    "fetch the file, then verify again."
                )
            else:
                detail = f"listed in {listing} but not in the bag."
            self.problem("missing", key, detail)

    def compare(self, rel: str, packed: bytes, key: str, manifests: list[_ManifestState], what: str) -> None:
        self.files_checked += 1
        self.bytes_checked += int.from_bytes(packed[:_SIZE_BYTES], "little")
        for m in manifests:
            expected = m.entries.get(key)
            if not expected or hashlib_name(m.alg) is None:
                continue
            found = self.digest_of(packed, rel, m.alg)
            if found is None:
                self.problem(
                    "not-checked", rel, f"the {m.alg} checksum could not be computed; it was not verified.", algorithm=m.alg
                )
            elif found != expected:
                self.problem(
                    "changed",
                    rel,
                    f"the {m.alg} checksum differs from {m.name}: {what}.",
                    algorithm=m.alg,
                    expected=expected.hex(),
                    found=found.hex(),
                )

    def check_oxum(self) -> None:
        if self.oxum is None:
            if self.fast:
                self.problem(
                    "not-checked",
                    BAG_INFO_TXT,
                    "the bag has no Payload-Oxum, so fast mode could not compare payload sizes; run a full "
                    "verification.",
                )
            return
        octets, count = self.oxum
        if (octets, count) != (self.payload_bytes, self.payload_files):
            self.problem(
                "oxum",
                BAG_INFO_TXT,
                f"Payload-Oxum declares {count} files and {octets} bytes, but data/ holds {self.payload_files} "
                f"files and {self.payload_bytes} bytes.",
                expected=f"{octets}.{count}",
                found=f"{self.payload_bytes}.{self.payload_files}",
            )

    def check_tag_files(self) -> None:
        tag_manifests = [m for _, m in sorted(self.manifests.items()) if not m.payload]
        keys: set[str] = set()
        for m in tag_manifests:
            keys.update(m.entries)
        for rel in sorted(keys):
            packed = self.tag_seen.get(rel)
            if packed is None:
                if not self.under_link(rel):
                    listing = ", ".join(m.name for m in tag_manifests if rel in m.entries) or "a tag manifest"
                    self.problem("missing", rel, f"listed in {listing} but not in the bag.")
                continue
            if self.fast or rel in self.unreadable:
                continue
            self.compare(rel, packed, rel, tag_manifests, "the tag file has changed")

    def report_fast_mode(self) -> None:
        for name, m in sorted(self.manifests.items(), key=lambda item: (not item[1].payload, item[0])):
            self.problem(
                "not-checked",
                name,
                f"fast mode: the {m.alg} checksums in {name} were not verified (only completeness and "
                "Payload-Oxum were); run a full verification to check file contents.",
                algorithm=m.alg,
            )
        if self.warc_files:
            self.problem(
                "not-checked", PAYLOAD_DIR, f"fast mode: the records of {self.warc_files} WARC file(s) were not checked."
            )


def _form(path: str) -> str:
    for form in ("NFC", "NFD"):
        if unicodedata.is_normalized(form, path):
            return form
    return "not normalised"
