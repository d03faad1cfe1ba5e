"""Bag sources: how the files of a bag are listed, read and hashed, for a directory, a tar and a zip.

:class:`BagSource` is the one interface the checker (:mod:`cablekeep.fixity.bagcheck`) reads a
bag through, in the manner of pywb's index sources: one base class, interchangeable sources. A
source offers four things: the top-level entries and, streamed, the entries under a top-level
directory (each an :class:`Entry`: regular file, directory, link or special file, and its size);
a tag file opened for reading, hashed as it is read (:class:`Tee`); and a :class:`FileHasher`
that takes the listed files one by one and hands back what their hashing found
(:class:`Hashed`), in the order it likes. The rules apply the same whatever the source; what
differs is only how entries arrive:

- a directory (:mod:`cablekeep.fixity.dirsource`) is listed with ``os.scandir`` and never
  followed through a link; a file is opened with :func:`open_regular`, which refuses links
  (``O_NOFOLLOW``) and special files: a FIFO, device or socket is never read (opened without
  blocking, checked with ``fstat``, closed); its payload is hashed on a process pool;
- a tar (plain, gzip, bzip2, xz) is read once as a stream (``r|``), member after member, and a
  zip's members in the order they are stored (:mod:`cablekeep.fixity.archivesource`): each
  member is hashed as it passes, and the checker is answered from what the pass kept.

Every source reads a tag file the same way, through :class:`Tee`: hashed while read, and kept only
up to :data:`TAG_TEXT_LIMIT` bytes (bag-info.txt, fetch.txt, bagit.txt); past it the file is still
hashed but not parsed, and the check says so (``Problem.too_large``).
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
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple, cast

from ..bagging.layout import BLOCK, READ_FLAGS
from ..errors import BagUnreadableError
from .packed import Layout
from .report import Problem
from .warccheck import WarcScan

TAG_TEXT_LIMIT = 16 << 20  # the most of a tag file that is read to be parsed, for every source

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

_SPECIAL = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class AlreadyReported(OSError):
    """A tag file the source could not read; its problem is reported already."""


class SpecialFileError(OSError):
    """A bag path names a FIFO, device or socket; it is never read."""


# --------------------------------------------------------------------------- the interface


class Entry(NamedTuple):
    """One entry of a bag, by its bag-relative path (a tuple: a bag of a million files lists fast)."""

    rel: str
    kind: str  # "file", "dir", "symlink", "other" (FIFO, device, socket: never read)
    size: int = 0
    detail: str = ""  # a link's target, or what a special file is


@dataclass
class Hashed:
    """What hashing some listed files found: their problems (mismatches, read errors), how many
    files and bytes were checked, and the WARC scans made in the same read."""

    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    scans: list[WarcScan] = field(default_factory=list)


class FileHasher(ABC):
    """Takes listed files (path, packed manifest entry, size) and reports on each, in any order."""

    @abstractmethod
    def add(self, rel: str, packed: bytes, size: int) -> None: ...

    @abstractmethod
    def finish(self) -> None:
        """Every file added has been reported once this returns."""


class BagSource(ABC):
    """A bag to check: a directory, a tar stream or a zip."""

    target: str  # what the report names
    no_bag: str  # the message when it holds no bag

    @abstractmethod
    def top_level(self) -> list[Entry]:
        """The entries at the top of the bag. :class:`BagUnreadableError` when there is no bag."""

    @abstractmethod
    def iter_tree(self, top: str) -> Iterator[Entry]:
        """Every file, link and special file under the top-level directory ``top``, streamed;
        a directory that cannot be listed is a ``not-checked`` problem in :meth:`problems`."""

    @abstractmethod
    def open_tag(self, rel: str, hashers: list[hashlib._Hash]) -> Tee:
        """A tag file for reading, fed to ``hashers`` as it is read; ``OSError`` when it cannot be."""

    @abstractmethod
    def payload_hasher(
        self, layout: Layout, on_result: Callable[[Hashed], None], *, declared_bytes: int
    ) -> AbstractContextManager[FileHasher]:
        """Hashes payload files against ``layout``'s manifests (WARCs checked in the same read),
        made before the manifests are read (a pool starts small)."""

    @abstractmethod
    def tag_hasher(self, layout: Layout, on_result: Callable[[Hashed], None]) -> FileHasher:
        """Hashes the tag files not read as text against the tag manifests."""

    @abstractmethod
    def take_problems(self) -> list[Problem]:
        """Problems of the source itself found so far (an archive cut short, a member beside the
        bag...), each handed out once."""

    def earlier_record_ids(self) -> tuple[Iterable[str], bool, list[Problem]]:
        """The WARC record ids of earlier bags this one depends on (a collection-deduplicated
        crawl), whether every such bag was found, and a warning for each one that was not."""
        return (), False, []

    def witness(self, scans: Sequence[WarcScan]) -> list[Problem]:
        """The bag's own index, cable records and crawl log checked against its WARCs (scanned as
        ``scans``): :mod:`cablekeep.fixity.witness`. Nothing for a source that cannot read it again."""
        return []

    def close(self) -> None:
        """Release what the source holds (spooled WARC record ids of files never handed out)."""


# --------------------------------------------------------------------------- a directory


def open_regular(path: str) -> int:
    """A read-only descriptor for the regular file at ``path``.

    ``OSError`` (ELOOP) for a symbolic link; :class:`SpecialFileError` for a FIFO, device or
    socket, which is opened without blocking and closed unread (a FIFO would otherwise block the
    check forever).
    """
    fd = os.open(path, READ_FLAGS | _NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SpecialFileError(f"{path} is {special_name(mode)}, not a regular file")
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def special_name(mode: int) -> str:
    return _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")


def special_kind(entry: os.DirEntry[str]) -> str:
    """What a directory entry that is neither a regular file, a directory nor a link is."""
    try:
        return special_name(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return "not a regular file"


# --------------------------------------------------------------------------- reading while hashing


class CountingHashers:
    """Feeds the bytes of a file being checked (a WARC read once for its records too)'s raw bytes to the manifest hashers and counts them."""

    def __init__(self, hashers: list[hashlib._Hash]) -> None:
        self._hashers = hashers
        self.bytes = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.bytes += len(data)
        for hasher in self._hashers:
            hasher.update(data)


class Tee(io.RawIOBase):
    """Reads a member stream, feeding every byte to hashers and counting them."""

    def __init__(self, stream: IO[bytes], hashers: list[hashlib._Hash], *, owns: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._owns = owns  # close ``stream`` with the tee
        self.hashers = hashers
        self.size = 0

    def close(self) -> None:
        if self._owns and not self.closed:
            self._stream.close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # typeshed: WriteableBuffer
        data = self._take(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = data
        return n

    def read_capped(self, limit: int) -> bytes | None:
        """Everything (None past ``limit`` bytes: the rest is still read and hashed)."""
        parts: list[bytes] = []
        kept = 0
        while data := self._take(BLOCK):
            kept += len(data)
            if kept <= limit:
                parts.append(data)
        return b"".join(parts) if kept <= limit else None

    def drain(self) -> None:
        while self._take(BLOCK):
            pass

    def _take(self, size: int) -> bytes:
        """Up to ``size`` bytes, hashed and counted (no buffer of our own to fill: a member's reader
        hands out its own bytes)."""
        data = self._stream.read(size)
        if data:
            for hasher in self.hashers:
                hasher.update(data)
            self.size += len(data)
        return data


# --------------------------------------------------------------------------- archives


@dataclass
class Member:
    """One archive member. ``stream`` is set for regular files only and must be used before the next."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink", "other" (FIFO, device...), "unreadable" (detail says why)
    size: int = 0
    detail: str = ""
    stream: IO[bytes] | None = None


class ArchiveBroken(Exception):
    """The archive could not be read past this point."""


MemberReader = Callable[[], Iterator[Member]]


def archive_reader(archive: Path) -> MemberReader:
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
        return lambda: iter_zip(archive)
    try:
        with open_tar_stream(archive) as stream, tarfile.open(fileobj=stream, mode="r|"):
            pass
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise BagUnreadableError(
            f"{archive} is not a readable tar (.tar, .tar.gz) or zip archive ({exc}); a serialized bag is one of these"
        ) from exc
    return lambda: iter_tar(archive)


def open_tar_stream(archive: Path) -> IO[bytes]:
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


TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


def iter_tar(archive: Path) -> Iterator[Member]:
    errors = TAR_ERRORS
    with open_tar_stream(archive) as raw:
        try:
            tar = tarfile.open(fileobj=raw, mode="r|")
        except errors as exc:
            raise ArchiveBroken(str(exc)) from exc
        with tar:
            while True:
                try:
                    info = tar.next()
                except errors as exc:
                    raise ArchiveBroken(f"after {tar.offset} bytes: {exc}") from exc
                if info is None:
                    return
                # tarfile keeps every TarInfo in the undocumented .members; cleared, memory does not grow.
                tar.members.clear()  # type: ignore[attr-defined]  # typeshed omits TarFile.members
                if info.isreg():
                    try:
                        stream = tar.extractfile(info)
                    except errors as exc:
                        raise ArchiveBroken(f"at {info.name!r}: {exc}") from exc
                    yield Member(info.name, "file", info.size, stream=stream)
                elif info.isdir():
                    yield Member(info.name, "dir")
                elif info.issym():
                    yield Member(info.name, "symlink", detail=info.linkname)
                elif info.islnk():
                    yield Member(info.name, "hardlink", detail=info.linkname)
                else:
                    what = {
                        tarfile.FIFOTYPE: "a FIFO",
                        tarfile.CHRTYPE: "a character device",
                        tarfile.BLKTYPE: "a block device",
                    }.get(info.type, f"a member of tar type {info.type!r}")
                    yield Member(info.name, "other", detail=what)


def iter_zip(archive: Path) -> Iterator[Member]:
    with zipfile.ZipFile(archive) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if info.is_dir() or kind == stat.S_IFDIR:
                yield Member(info.filename, "dir")
            elif kind == stat.S_IFLNK:
                yield Member(info.filename, "symlink", detail="(target in the member's data)")
            elif kind not in (0, stat.S_IFREG):
                what = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
                        stat.S_IFSOCK: "a socket"}.get(kind, "not a regular file")
                yield Member(info.filename, "other", detail=what)
            elif info.flag_bits & 0x1:
                yield Member(info.filename, "unreadable", info.file_size, detail="this zip member is encrypted")
            else:
                try:
                    stream = zf.open(info)
                except (zipfile.BadZipFile, NotImplementedError, OSError, zlib.error) as exc:
                    yield Member(info.filename, "unreadable", info.file_size, detail=f"this zip member cannot be read ({exc})")
                    continue
                with stream:
                    yield Member(info.filename, "file", info.file_size, stream=stream)
