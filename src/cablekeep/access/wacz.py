"""Writing a WACZ 1.1.1 package from a bag: :func:`write_wacz`.

The bag's WARCs go into ``archive/`` byte for byte (ZIP *stored*, not recompressed, so a reader can
seek into them), its sorted CDXJ index into ``indexes/`` (plain up to ``index_inline_limit`` bytes,
else in gzip blocks with an ``.idx``), its cable records become ``pages/pages.jsonl``, and
``datapackage.json`` lists every resource with the sha256 and size computed while it was written
(each source file is read once, in blocks of :data:`~cablekeep.bagging.layout.BLOCK`).

Crash-safe: the package is written to a hidden ``.<name>.<random>.open`` file beside the output,
fsynced, and linked into place only when complete; an existing file is never replaced, and on any
error the temporary file is removed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from .. import __version__
from ..bagging.build import read_bag_info
from ..bagging.layout import BLOCK, PAYLOAD_DIR, open_nofollow
from ..errors import BagUnreadableError, OutputError
from .cdxgz import write_blocks
from .datapackage import (
    ARCHIVE_DIR,
    DATAPACKAGE,
    DATAPACKAGE_DIGEST,
    INDEX_GZ_PATH,
    INDEX_IDX_PATH,
    INDEX_PATH,
    PAGES_PATH,
    Resource,
    labelled,
    render_datapackage,
    render_digest,
)
from .pages import header_line, iter_page_lines

INDEX_INLINE_LIMIT = 4 << 20  # bytes of CDXJ written as one plain file; a larger index goes in gzip blocks
WARC_DIR = "warc"  # the bag's WARCs: data/warc/*.warc.gz
INDEX_FILE = "index.cdxj"
CABLES_FILE = "cables.jsonl"
WARC_SUFFIXES = (".warc.gz", ".warc")
SOFTWARE = f"cablekeep {__version__}"
_SPOOL = 1 << 20  # the .idx of a compressed index is kept in memory up to this size, then in a temporary file


@dataclass(frozen=True)
class WaczRef:
    """A finished WACZ file."""

    path: Path
    bytes: int  # size of the .wacz file
    resources: tuple[Resource, ...]  # as listed in its datapackage.json
    warcs: int
    pages: int  # cable pages in pages/pages.jsonl
    index: str  # the index's path inside: indexes/index.cdxj, or indexes/index.cdx.gz (with index.idx)


@dataclass(frozen=True)
class _Sources:
    warcs: tuple[Path, ...]
    index: Path
    cables: Path


def default_output(bag: Path) -> Path:
    """Where a bag's WACZ goes when no output is named: beside the bag, ``<bag>.wacz``."""
    bag = Path(bag)
    return bag.parent / f"{bag.name}.wacz"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _find_sources(bag: Path) -> _Sources:
    data = bag / PAYLOAD_DIR
    if not data.is_dir():
        raise BagUnreadableError(f"{bag} is not a bag (no {PAYLOAD_DIR}/ directory); give the path of a bag")
    warc_dir = data / WARC_DIR
    warcs = tuple(sorted(
        p for p in (warc_dir.iterdir() if warc_dir.is_dir() else ())
        if p.name.endswith(WARC_SUFFIXES) and not p.name.startswith(".")
    ))
    if not warcs:
        raise BagUnreadableError(f"{bag} holds no WARC in {PAYLOAD_DIR}/{WARC_DIR}/: only bags `cablekeep run` made can become WACZ")
    for name in (INDEX_FILE, CABLES_FILE):
        if not (data / name).is_file():
            raise BagUnreadableError(f"{bag} has no {PAYLOAD_DIR}/{name}: only bags `cablekeep run` made can become WACZ")
    return _Sources(warcs, data / INDEX_FILE, data / CABLES_FILE)


@contextmanager
def _open_source(path: Path, bag: Path) -> Iterator[IO[bytes]]:
    """A bag file opened for reading, never through a symbolic link."""
    try:
        fd = open_nofollow(path)
    except OSError as exc:
        raise BagUnreadableError(f"cannot read {path.relative_to(bag)} in {bag}: {exc.strerror or exc}; verify the bag") from exc
    with os.fdopen(fd, "rb") as stream:
        yield stream


class _Entry:
    """A ZIP entry being written: hashes and counts every byte on its way in."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._stream.write(data)

    def resource(self, path: str) -> Resource:
        return Resource(path, labelled(self._hash.hexdigest()), self.size)


class _Package:
    """The ZIP being written and the resources written into it so far."""

    def __init__(self, zf: zipfile.ZipFile, date_time: tuple[int, int, int, int, int, int]) -> None:
        self._zf = zf
        self._date_time = date_time
        self.resources: list[Resource] = []

    def _info(self, path: str, compress_type: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self._date_time)
        info.compress_type = compress_type
        info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
        return info

    @contextmanager
    def entry(self, path: str, *, stored: bool, size_hint: int) -> Iterator[_Entry]:
        """Write one resource; its hash and size are recorded when the block ends without an error."""
        info = self._info(path, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        # ZIP64 must be chosen before the size is known; a size near the 32-bit limit gets it.
        with self._zf.open(info, "w", force_zip64=size_hint >= zipfile.ZIP64_LIMIT // 2) as stream:
            entry = _Entry(stream)
            yield entry
        self.resources.append(entry.resource(path))

    def copy(self, source: IO[bytes], path: str, *, stored: bool, size_hint: int, where: str) -> None:
        with self.entry(path, stored=stored, size_hint=size_hint) as entry:
            while True:
                try:
                    block = source.read(BLOCK)
                except OSError as exc:
                    raise BagUnreadableError(f"cannot read {where}: {exc.strerror or exc}; verify the bag") from exc
                if not block:
                    break
                entry.write(block)

    def metadata(self, path: str, data: bytes) -> None:
        """A small JSON file that datapackage.json does not list (itself and its digest)."""
        self._zf.writestr(self._info(path, zipfile.ZIP_DEFLATED), data)


def _write_index(package: _Package, source: Path, bag: Path, inline_limit: int) -> str:
    with _open_source(source, bag) as raw:
        size = os.fstat(raw.fileno()).st_size
        if size <= inline_limit:
            package.copy(raw, INDEX_PATH, stored=False, size_hint=size, where=f"{source}")
            return INDEX_PATH
        lines = (line.decode("utf-8") for line in raw)
        with tempfile.SpooledTemporaryFile(_SPOOL, mode="w+", encoding="utf-8", newline="\n") as idx:
            with package.entry(INDEX_GZ_PATH, stored=True, size_hint=size) as data:
                write_blocks(lines, data, idx, data_name=INDEX_GZ_PATH.rsplit("/", 1)[-1])
            idx.seek(0)
            with package.entry(INDEX_IDX_PATH, stored=False, size_hint=size) as entry:
                while text := idx.read(BLOCK):
                    entry.write(text.encode("utf-8"))
        return INDEX_GZ_PATH


def _write_pages(package: _Package, source: Path, bag: Path, title: str) -> int:
    count = 0
    with _open_source(source, bag) as raw:
        size = os.fstat(raw.fileno()).st_size
        with package.entry(PAGES_PATH, stored=False, size_hint=size) as entry:
            entry.write(header_line(title).encode("utf-8"))
            for line in iter_page_lines(line.decode("utf-8") for line in raw):
                entry.write(line.encode("utf-8"))
                count += 1
    return count


def _link_into_place(temporary: Path, target: Path) -> None:
    """Give the finished file its name without ever replacing a file that appeared there meanwhile."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise OutputError(f"{target} already exists; remove it or choose another output") from None
    except OSError:
        os.rename(temporary, target)  # a file system without hard links; existence was checked before writing
        return
    os.unlink(temporary)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_wacz(
    bag: Path,
    out: Path | None = None,
    *,
    clock: Callable[[], datetime] = _now,
    index_inline_limit: int = INDEX_INLINE_LIMIT,
) -> WaczRef:
    """Write the WACZ 1.1.1 package of ``bag`` to ``out`` (default: ``<bag>.wacz`` beside the bag).

    ``clock`` gives the ``created`` time (and the ZIP entries' times), so two packages of a bag made
    at the same time are the same bytes. Raises :class:`BagUnreadableError` when ``bag`` is not a bag
    ``cablekeep run`` made or a file of it cannot be read, :class:`OutputError` when ``out`` exists or
    cannot be written; neither leaves a file behind.
    """
    bag = Path(bag)
    sources = _find_sources(bag)
    target = Path(out) if out is not None else default_output(bag)
    if target.exists() or target.is_symlink():
        raise OutputError(f"{target} already exists; remove it or choose another output")
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {target}: {target.parent} is not a directory")
    created = clock().astimezone(timezone.utc)
    info = read_bag_info(bag)
    title = info.get("External-Description") or bag.name
    extra = {
        "title": title,
        "description": f"The WARCs of bag {bag.name} ({info.get('External-Identifier', 'no External-Identifier')}), "
        f"with their CDXJ index and one page per archived cable.",
    }
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".open")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w+b") as raw:
            with zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
                stamp = created.timetuple()
                package = _Package(zf, (max(stamp.tm_year, 1980), stamp.tm_mon, stamp.tm_mday, stamp.tm_hour,
                                        stamp.tm_min, stamp.tm_sec))
                for warc in sources.warcs:
                    with _open_source(warc, bag) as stream:
                        size = os.fstat(stream.fileno()).st_size
                        package.copy(stream, f"{ARCHIVE_DIR}/{warc.name}", stored=True, size_hint=size, where=str(warc))
                index = _write_index(package, sources.index, bag, index_inline_limit)
                pages = _write_pages(package, sources.cables, bag, title)
                datapackage = render_datapackage(
                    package.resources, created=created.strftime("%Y-%m-%dT%H:%M:%SZ"), software=SOFTWARE, extra=extra
                )
                package.metadata(DATAPACKAGE, datapackage)
                package.metadata(DATAPACKAGE_DIGEST, render_digest(labelled(hashlib.sha256(datapackage).hexdigest())))
            raw.flush()
            os.fsync(raw.fileno())
            size = os.fstat(raw.fileno()).st_size
        _link_into_place(temporary, target)
        _fsync_directory(target.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}; nothing was left behind") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return WaczRef(target, size, tuple(package.resources), len(sources.warcs), pages, index)
