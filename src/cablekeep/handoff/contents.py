"""What a bag holds, as far as a profile cares: its file names and sizes, and a few small tag files.

One reader per form of bag, one result (:class:`BagContents`): a directory (walked without following
links), a ``.tar``/``.tar.gz``/``.tgz`` (tar stream mode, never unpacked, nothing written) and a
``.zip`` (members in stored order, only the wanted tag files read). Member names are vetted as
manifest paths are (:func:`cablekeep.fixity.tagfiles.check_path`): an absolute name, ``..``, a link,
a device or a second top-level entry is a structure problem and the member is never read.
Tag files are kept up to :data:`TAG_TEXT_LIMIT` bytes; payload is never read at all.
"""

from __future__ import annotations

import functools
import gzip
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from ..bagging.layout import PAYLOAD_DIR, open_nofollow
from ..errors import BagUnreadableError
from ..fixity.tagfiles import check_path

TAG_TEXT_LIMIT = 1 << 20

# Serialized forms cablekeep reads and writes, by file-name ending (longest first).
SERIALIZED_FORMS = ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".tar", "tar"), (".zip", "zip"))


def serialized_form(path: Path | str) -> tuple[str, str] | None:
    """(format, name without the ending) for a serialized bag's file name, or None for anything else."""
    name = os.path.basename(os.fspath(path))
    for ending, form in SERIALIZED_FORMS:
        if name.lower().endswith(ending) and len(name) > len(ending):
            return form, name[: -len(ending)]
    return None


@dataclass(frozen=True)
class Structure:
    """A structural fault of the bag or archive itself (``path`` is bag-relative, or the archive's name)."""

    path: str
    detail: str


@dataclass
class BagContents:
    """The names in a bag (``files``: bag-relative path -> size) and the wanted tag files' bytes.

    ``serialization`` is None for a directory, else ``"tar"``, ``"tar.gz"`` or ``"zip"``;
    ``folder`` is the bag's directory name (inside the archive for a serialized bag) and ``stem``
    the archive's name without its ending. ``oversized`` names wanted tag files past the limit.
    """

    target: str
    serialization: str | None
    folder: str
    stem: str
    files: dict[str, int] = field(default_factory=dict)
    texts: dict[str, bytes] = field(default_factory=dict)
    oversized: set[str] = field(default_factory=set)
    structure: list[Structure] = field(default_factory=list)

    def payload(self) -> dict[str, int]:
        prefix = PAYLOAD_DIR + "/"
        return {path: size for path, size in self.files.items() if path.startswith(prefix)}


def read_bag_contents(bag: Path, wanted: Iterable[str]) -> BagContents:
    """The contents of the bag at ``bag`` (a directory or a serialized bag), reading only ``wanted`` tag files.

    Raises :class:`BagUnreadableError` when ``bag`` is neither a directory nor a readable archive.
    """
    bag = Path(bag)
    wanted_set = set(wanted)
    if bag.is_dir():
        return _read_directory(bag, wanted_set)
    form = serialized_form(bag)
    if form is None:
        if not bag.exists():
            raise BagUnreadableError(f"{bag} does not exist; give a bag directory, .tar, .tar.gz or .zip")
        raise BagUnreadableError(f"{bag} is neither a directory nor a .tar, .tar.gz, .tgz or .zip file")
    fmt, stem = form
    contents = BagContents(str(bag), fmt, "", stem)
    try:
        members = _iter_zip(bag) if fmt == "zip" else _iter_tar(bag)
        _collect(contents, members, wanted_set)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error) as exc:
        if not contents.files and not contents.structure:
            raise BagUnreadableError(f"cannot read {bag} as a {fmt} archive: {exc}") from exc
        contents.structure.append(Structure(bag.name, f"the archive could not be read to its end: {exc}"))
    if not contents.folder and not contents.structure:
        raise BagUnreadableError(f"{bag} holds no bag: the archive is empty")
    return contents


def _read_directory(bag: Path, wanted: set[str]) -> BagContents:
    contents = BagContents(str(bag), None, bag.name, bag.name)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = sorted(os.scandir(bag / rel_dir) if rel_dir else os.scandir(bag), key=lambda e: e.name)
        except OSError as exc:
            contents.structure.append(Structure(rel_dir or ".", f"cannot list this folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                contents.structure.append(Structure(rel, "a symbolic link; a bag holds regular files only"))
            elif entry.is_dir(follow_symlinks=False):
                stack.append(rel)
            elif entry.is_file(follow_symlinks=False):
                size = entry.stat(follow_symlinks=False).st_size
                contents.files[rel] = size
                if rel in wanted:
                    _keep_text(contents, rel, size, functools.partial(_read_file, entry.path))
            else:
                contents.structure.append(Structure(rel, "not a regular file (a FIFO, socket or device)"))
    return contents


def _keep_text(contents: BagContents, rel: str, size: int, read: Callable[[int], bytes]) -> None:
    if size > TAG_TEXT_LIMIT:
        contents.oversized.add(rel)
        return
    contents.texts[rel] = read(TAG_TEXT_LIMIT + 1)


def _read_file(path: str, limit: int) -> bytes:
    with os.fdopen(open_nofollow(path), "rb") as stream:
        return stream.read(limit)


@dataclass
class _Member:
    name: str
    kind: str  # "file", "dir", "link", "other"
    size: int
    read: Callable[[int], bytes] | None = None


def _iter_tar(archive: Path) -> Iterator[_Member]:
    with open(archive, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    raw: IO[bytes] = cast("IO[bytes]", gzip.open(archive, "rb")) if gzipped else open(archive, "rb")
    with raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        for info in tar:
            tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every TarInfo otherwise
            if info.isreg():
                stream = tar.extractfile(info)
                yield _Member(info.name, "file", info.size, None if stream is None else stream.read)
            elif info.isdir():
                yield _Member(info.name, "dir", 0)
            elif info.issym() or info.islnk():
                yield _Member(info.name, "link", 0)
            else:
                yield _Member(info.name, "other", 0)


def _iter_zip(archive: Path) -> Iterator[_Member]:
    with zipfile.ZipFile(archive) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if info.is_dir() or kind == stat.S_IFDIR:
                yield _Member(info.filename.rstrip("/"), "dir", 0)
            elif kind == stat.S_IFLNK:
                yield _Member(info.filename, "link", 0)
            elif kind not in (0, stat.S_IFREG):
                yield _Member(info.filename, "other", 0)
            else:
                yield _Member(info.filename, "file", info.file_size, functools.partial(_read_zip_member, zf, info))


def _read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A zip member's first ``limit`` bytes: opened only when wanted (most members never are)."""
    with zf.open(info) as stream:
        return stream.read(limit)


def _collect(contents: BagContents, members: Iterator[_Member], wanted: set[str]) -> None:
    for member in members:
        checked = check_path(member.name.rstrip("/"), True)
        if checked.kind is not None:
            contents.structure.append(Structure(member.name, f"unsafe member name: {checked.detail}"))
            continue
        top, _, rel = checked.path.partition("/")
        if not contents.folder:
            contents.folder = top
        if top != contents.folder or (not rel and member.kind != "dir"):
            contents.structure.append(
                Structure(member.name, f"outside the bag's folder {contents.folder!r}: a serialized bag holds one folder")
            )
            continue
        if member.kind == "link":
            contents.structure.append(Structure(rel, "a link; a serialized bag holds regular files only"))
        elif member.kind == "other":
            contents.structure.append(Structure(rel, "not a regular file (a FIFO or device)"))
        elif member.kind == "file" and member.read is not None:
            if rel in contents.files:
                contents.structure.append(Structure(rel, "this name is in the archive twice"))
            contents.files[rel] = member.size
            if rel in wanted:
                _keep_text(contents, rel, member.size, member.read)
