"""A bag as one archive (tar, tar.gz or zip), streamed, crash-safe, with its own checksum beside it.

The archive holds one folder named like the bag (RFC 8493 section 4, and APTrust's rule that a tar
unpacks to a folder named like the tar). Members come in a fixed order (bagit.txt, the other tag
files, then data/, each folder sorted by name), with owner 0, no user names and the files' own
times, so the same bag gives the same archive. Files are read in blocks of
:data:`~cablekeep.bagging.layout.BLOCK`, never whole, and never through a symbolic link.

The archive is written as ``.NAME.EXT.open`` in the output folder and renamed to ``NAME.EXT`` only
once complete and on disk; ``NAME.EXT.sha256`` (sha256sum format) is written after it, the same way
(``.NAME.EXT.sha256.open``, synced, renamed), so a checksum is never beside an archive it does not
describe. A killed serialization leaves only ``.open`` files, which the next one removes, or (killed
between the two renames) a finished archive without its ``.sha256``: the next serialization of the
same bag makes the archive again as ``.open`` (the same bag gives the same bytes), and when its sha256
is the one of the archive already there it writes the missing ``.sha256`` and keeps that archive.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..bagging.layout import BAGIT_TXT, BLOCK, PAYLOAD_DIR, open_nofollow
from ..errors import BagUnreadableError, OutputError, UsageError

FORMATS = {"tar": ".tar", "tar.gz": ".tar.gz", "zip": ".zip"}
OPEN_SUFFIX = ".open"
CHECKSUM_SUFFIX = ".sha256"
_ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip can record


@dataclass(frozen=True)
class SerializedBag:
    """A finished archive: where it is, its format, size and sha256, and the checksum file beside it."""

    path: Path
    fmt: str
    size: int
    sha256: str
    checksum_path: Path
    files: int


@dataclass(frozen=True)
class _Entry:
    rel: str  # bag-relative, "/" separated; "" is the bag folder itself
    is_dir: bool
    size: int
    mtime: float
    mode: int


def serialize(bag_dir: Path, fmt: str, out_dir: Path) -> SerializedBag:
    """Write the bag ``bag_dir`` as ``out_dir/<bag name>.<fmt>`` and its ``.sha256`` beside it.

    Raises :class:`UsageError` for an unknown format, a folder that is not a bag, a bag holding
    links or special files, or an archive already there (never overwritten); :class:`OutputError`
    when writing fails (nothing that looks finished is left).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown serialization {fmt!r}; use one of {', '.join(FORMATS)}")
    bag_dir = Path(os.path.abspath(bag_dir))
    if not (bag_dir / BAGIT_TXT).is_file():
        raise UsageError(f"{bag_dir} is not a bag (no {BAGIT_TXT}); bag it first")
    try:
        entries = list(_walk(bag_dir))
    except OSError as exc:  # a folder of the bag that cannot be listed, or a file gone meanwhile
        raise BagUnreadableError(f"cannot read {exc.filename or bag_dir}: {exc.strerror or exc}; nothing was "
                                 "written") from exc
    out_dir = Path(os.path.abspath(out_dir))
    final = out_dir / f"{bag_dir.name}{FORMATS[fmt]}"
    checksum_path = final.with_name(final.name + CHECKSUM_SUFFIX)
    unfinished = final.is_file() and not final.is_symlink() and not os.path.lexists(checksum_path)
    if (final.exists() or final.is_symlink()) and not unfinished:
        raise UsageError(f"{final} already exists; remove it or serialize into another folder")
    if out_dir == bag_dir or bag_dir in out_dir.parents:
        raise UsageError(f"cannot write the archive of {bag_dir} inside the bag itself; choose another folder")
    temp = out_dir / f".{final.name}{OPEN_SUFFIX}"
    checksum_temp = out_dir / f".{checksum_path.name}{OPEN_SUFFIX}"
    ours = [temp, checksum_temp]  # what to remove when this serialization fails
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (temp, checksum_temp):  # left by a killed serialization of this bag: ours to remove
            stale.unlink(missing_ok=True)
        with open(temp, "xb") as raw:
            if fmt == "zip":
                _write_zip(raw, bag_dir, entries)
                raw.flush()
                digest, size = _sha256_of(temp)
            else:
                hashing = _HashingWriter(raw)
                _write_tar(hashing, bag_dir, entries, gzipped=fmt == "tar.gz")
                digest, size = hashing.sha256.hexdigest(), hashing.size
            raw.flush()
            os.fsync(raw.fileno())
        if unfinished:  # an interrupted serialization left the archive without its checksum
            if _sha256_of(final) != (digest, size):
                raise UsageError(f"{final} already exists without its {CHECKSUM_SUFFIX} and is not this bag's "
                                 "archive; remove it or serialize into another folder")
            temp.unlink()
        else:
            # The archive first, complete and on disk, then the checksum that claims it: a crash between
            # the two leaves a finished archive without its checksum, never a checksum without its archive.
            os.rename(temp, final)
            ours.append(final)  # made by this call: removed too if its checksum cannot be written
            _fsync_dir(out_dir)
        with open(checksum_temp, "x", encoding="utf-8") as out:
            out.write(f"{digest}  {final.name}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(checksum_temp, checksum_path)
        ours.append(checksum_path)
        _fsync_dir(out_dir)
    except OSError as exc:
        for path in ours:
            path.unlink(missing_ok=True)
        raise OutputError(f"cannot write {final}: {exc.strerror or exc}; nothing finished was left") from exc
    except BaseException:
        for path in ours:
            path.unlink(missing_ok=True)
        raise
    files = sum(1 for entry in entries if not entry.is_dir)
    return SerializedBag(final, fmt, size, digest, checksum_path, files)


def _walk(bag_dir: Path) -> list[_Entry]:
    """Every folder and file of the bag in archive order; links and special files refused."""
    out: list[_Entry] = []
    refused: list[str] = []

    def visit(rel: str, top: bool) -> None:
        path = bag_dir / rel if rel else bag_dir
        st = os.lstat(path)
        out.append(_Entry(rel, True, 0, st.st_mtime, stat.S_IMODE(st.st_mode)))
        children = sorted(os.scandir(path), key=lambda e: e.name)
        if top:  # bagit.txt first, the other tag files, data/ last (readers meet the declaration first)
            children.sort(key=lambda e: (e.name != BAGIT_TXT, e.name == PAYLOAD_DIR, e.name))
        for entry in children:
            child = f"{rel}/{entry.name}" if rel else entry.name
            est = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(est.st_mode):
                visit(child, False)
            elif stat.S_ISREG(est.st_mode):
                out.append(_Entry(child, False, est.st_size, est.st_mtime, stat.S_IMODE(est.st_mode)))
            else:
                refused.append(child)

    visit("", True)
    if refused:
        raise UsageError(
            f"{bag_dir} holds links or special files, which a serialized bag cannot hold: {', '.join(refused[:5])}"
            + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        )
    return out


class _HashingWriter:
    """A write-only stream that hashes and counts what passes to ``raw``."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def _member_name(bag_name: str, rel: str) -> str:
    return f"{bag_name}/{rel}" if rel else bag_name


def _write_tar(out: _HashingWriter, bag_dir: Path, entries: list[_Entry], *, gzipped: bool) -> None:
    # gzip with a zero time and no file name, so the same bag gives the same bytes.
    stream: IO[bytes] = (
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6)
        if gzipped
        else out  # type: ignore[assignment]  # a write-only stream is all tarfile's stream mode needs
    )
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT, bufsize=BLOCK) as tar:
        for entry in entries:
            info = tarfile.TarInfo(_member_name(bag_dir.name, entry.rel))
            info.mtime = int(entry.mtime)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.is_dir:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.size, info.mode = entry.size, 0o644
            with os.fdopen(open_nofollow(bag_dir / entry.rel), "rb", buffering=0) as source:
                tar.addfile(info, _Exact(source, entry.size, entry.rel))
    if gzipped:
        stream.close()


class _Exact:
    """Reads a file for tarfile, refusing one that changed size since it was listed."""

    def __init__(self, source: IO[bytes], size: int, rel: str) -> None:
        self._source, self._left, self._rel = source, size, rel

    def read(self, n: int = -1) -> bytes:
        want = self._left if n < 0 else min(n, self._left)
        data = self._source.read(want) if want else b""
        self._left -= len(data)
        if want and not data:
            raise OSError(f"{self._rel} became shorter while being archived")
        return data


def _write_zip(raw: IO[bytes], bag_dir: Path, entries: list[_Entry]) -> None:
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=6) as zf:
        for entry in entries:
            name = _member_name(bag_dir.name, entry.rel)
            info = zipfile.ZipInfo(name + "/" if entry.is_dir else name, _zip_time(entry.mtime))
            info.create_system = 3  # unix: the mode bits below mean what they say
            if entry.is_dir:
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                zf.writestr(info, b"")
                continue
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.file_size = entry.size
            with os.fdopen(open_nofollow(bag_dir / entry.rel), "rb", buffering=0) as source, zf.open(
                info, "w", force_zip64=entry.size >= 0x7FFFFFFF
            ) as target:
                left = entry.size
                while left > 0:
                    block = source.read(min(BLOCK, left))
                    if not block:
                        raise OSError(f"{entry.rel} became shorter while being archived")
                    target.write(block)
                    left -= len(block)


def _zip_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    year, month, day, hour, minute, second = time.gmtime(max(mtime, _ZIP_EPOCH))[:6]
    return (min(year, 2107), month, day, hour, minute, second)


def _sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as stream:
        buffer = bytearray(BLOCK)
        while n := stream.readinto(buffer):
            digest.update(memoryview(buffer)[:n])
            size += n
    return digest.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
