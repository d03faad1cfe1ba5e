"""Delivering a bag to a library: a drop folder or S3-compatible storage, each object checked where it arrived.

``deliver(bag, destination)`` sends a bag directory (every file, under ``NAME/``) or a serialized bag
(the archive and its ``.sha256``) and returns a :class:`Receipt`, also written beside the bag as
``NAME.receipt.json`` (what, where, when, each object's SHA-256, how it was verified, the outcome).

- **Checked on receipt.** Every S3 upload carries its SHA-256, which the server checks as it
  receives it; files larger than ``part_size`` go in parts, each with its own SHA-256.
- **Verified on arrival.** Afterwards each object is looked up again: its size, and the server's
  SHA-256 when it keeps one (for a multipart object, the SHA-256 of the parts' SHA-256s); when it
  keeps none, the object is read back and hashed. A copy into a folder is always read back.
- **Nothing half there under the bag's name.** A bag folder is built in the destination folder as
  ``.NAME.open/`` and renamed to ``NAME`` once every file in it is verified.
- **Resumable.** An object already there and intact is not sent again; an unfinished multipart
  upload is continued, sending only the parts that did not arrive intact.
- **Never over another bag.** The bag's identity files (its tag manifests, else its manifests and
  bag-info.txt; for an archive, its ``.sha256``) are compared first: when the destination holds
  different ones under the same name, nothing is sent (:class:`~cablekeep.errors.OutputError`).
- **What announces a bag arrives last.** The payload goes first, then the tag files, ``bagit.txt``
  the very last; an archive before its ``.sha256``: a watcher keyed on either never sees it early.

Credentials are never parameters: boto3 finds them in the environment or the named AWS profile.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import queue
import stat
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from ..bagging.layout import BAG_INFO_TXT, BAGIT_TXT, BLOCK, MANIFEST_RE, TAGMANIFEST_RE, open_nofollow
from ..errors import OutputError, UsageError
from .contents import serialized_form
from .s3 import RemoteObject, S3Store
from .serialize import CHECKSUM_SUFFIX, OPEN_SUFFIX

RECEIPT_SCHEMA = "cablekeep.delivery/1"
RECEIPT_SUFFIX = ".receipt.json"
MIB = 1 << 20
DEFAULT_PART_SIZE = 8 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's smallest part but the last
MAX_PARTS = 10_000


@dataclass(frozen=True)
class DirectoryDestination:
    """A folder, such as a mounted share: the bag arrives as ``path/NAME``."""

    path: Path

    def describe(self) -> dict[str, str]:
        return {"kind": "directory", "path": str(self.path)}


@dataclass(frozen=True)
class S3Destination:
    """A bucket of S3-compatible storage; the bag arrives under ``prefix/NAME``.

    ``profile`` names an AWS profile to take credentials from; otherwise boto3 reads the environment.
    """

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    storage_class: str | None = None
    profile: str | None = None

    def describe(self) -> dict[str, str]:
        out = {"kind": "s3", "bucket": self.bucket, "prefix": self.prefix}
        for name in ("endpoint_url", "region", "storage_class", "profile"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


Destination = DirectoryDestination | S3Destination


@dataclass
class DeliveredObject:
    """One file of the bag at the destination. ``outcome``: ``sent``, ``already-there`` or ``failed``."""

    path: str
    key: str
    size: int
    sha256: str
    outcome: str
    verified_by: str | None = None  # "server-checksum" or "read-back"; None when not verified
    parts_sent: int = 0
    parts_reused: int = 0
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "verified_by": self.verified_by,
            "parts_sent": self.parts_sent,
            "parts_reused": self.parts_reused,
            "detail": self.detail,
        }


@dataclass
class Receipt:
    """What one delivery did. ``ok`` when every object is at the destination and verified there."""

    bag: str
    name: str
    destination: dict[str, str]
    started: datetime
    finished: datetime
    objects: list[DeliveredObject] = field(default_factory=list)
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return all(obj.outcome != "failed" for obj in self.objects)

    @property
    def bytes_sent(self) -> int:
        return sum(obj.size for obj in self.objects if obj.outcome == "sent")

    def to_json(self) -> dict[str, object]:
        return {
            "schema": RECEIPT_SCHEMA,
            "bag": self.bag,
            "name": self.name,
            "destination": self.destination,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "outcome": "delivered" if self.ok else "failed",
            "objects": [obj.to_json() for obj in self.objects],
        }


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- local digests


@dataclass
class _Digests:
    """A file's SHA-256 and those of its parts (``part_size`` each, the last shorter)."""

    sha256: str
    parts: list[bytes]

    def composite_b64(self) -> str:
        """The SHA-256 S3 reports for a multipart object: that of the parts' SHA-256s."""
        return base64.b64encode(hashlib.sha256(b"".join(self.parts)).digest()).decode()

    def full_b64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def _part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def _local_digests(path: Path, size: int, part_size: int) -> _Digests:
    whole = hashlib.sha256()
    parts: list[bytes] = []
    buffer = bytearray(min(BLOCK, max(size, 1)))
    view = memoryview(buffer)
    with os.fdopen(open_nofollow(path), "rb", buffering=0) as source:
        for _ in range(_part_count(size, part_size)):
            part = hashlib.sha256()
            left = min(part_size, size - len(parts) * part_size)
            while left > 0:
                n = source.readinto(view[: min(len(buffer), left)])
                if not n:
                    raise OutputError(f"{path} became shorter while being delivered; deliver it again")
                part.update(view[:n])
                whole.update(view[:n])
                left -= n
            parts.append(part.digest())
    return _Digests(whole.hexdigest(), parts)


def _read_part(source: io.FileIO, buffer: bytearray, path: Path) -> None:
    """Fill ``buffer`` from ``source``: one read of each byte, into memory already there."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        n = source.readinto(view[filled:])
        if not n:
            raise OutputError(f"{path} became shorter while being delivered; deliver it again")
        filled += n


class _Buffers:
    """At most ``count`` part buffers, reused from part to part and file to file: what a delivery holds
    in memory is ``count`` x the part size, whatever the size of the bag. ``take`` waits while all are
    in flight."""

    def __init__(self, count: int) -> None:
        self._free: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
        for _ in range(count):
            self._free.put(None)  # made on first use: a bag of small files never holds a whole part

    def take(self, length: int) -> bytearray:
        buffer = self._free.get()
        if buffer is not None and len(buffer) == length:
            return buffer
        buffer = None  # let the old one go before making one of the size wanted
        return bytearray(length)

    def give(self, buffer: bytearray) -> None:
        self._free.put(buffer)


# --------------------------------------------------------------------------- targets


class _Target(Protocol):
    def where(self, key: str) -> str: ...

    def exists(self, key: str) -> bool: ...

    def verify(self, key: str, size: int, digests: _Digests, multipart: bool) -> tuple[bool | None, str]:
        """(None when absent, else whether it is intact; how that was decided)."""
        ...

    def send(self, obj: DeliveredObject, path: Path, part_size: int) -> _Digests: ...

    def finish(self, ok: bool) -> None:
        """Called once every object was sent and verified (``ok``) or not."""
        ...


class _FolderTarget:
    """A folder: each file copied as ``.NAME.open`` beside its place, synced and renamed.

    A bag folder that is not yet at the destination is built as ``.NAME.open/`` (hidden, so a library's
    watcher never takes a half bag for a bag) and renamed to ``NAME`` once every file is there and
    verified; an interrupted delivery leaves only ``.NAME.open/``, which the next one continues.
    A bag folder already there (delivered before) is mended in place, file by file.
    """

    def __init__(self, root: Path, name: str, on_part: Callable[[str, int], None] | None) -> None:
        self.root = root
        self.on_part = on_part
        self.name = name
        self.staging: Path | None = None
        if name and not os.path.lexists(root / name):
            self.staging = root / f".{name}{OPEN_SUFFIX}"

    def _path(self, key: str) -> Path:
        if self.staging is not None and key.startswith(self.name + "/"):
            return self.staging / key[len(self.name) + 1 :]
        return self.root / key

    def where(self, key: str) -> str:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return os.path.lexists(self._path(key))

    def verify(self, key: str, size: int, digests: _Digests, multipart: bool) -> tuple[bool | None, str]:
        path = self._path(key)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None, ""
        if not stat.S_ISREG(st.st_mode):
            return False, "read-back"
        found = _local_digests(path, st.st_size, max(st.st_size, 1)).sha256 if st.st_size == size else ""
        return found == digests.sha256, "read-back"

    def send(self, obj: DeliveredObject, path: Path, part_size: int) -> _Digests:
        target = self._path(obj.key)
        temp = target.with_name(f".{target.name}{OPEN_SUFFIX}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp.unlink(missing_ok=True)
            whole = hashlib.sha256()
            buffer = bytearray(BLOCK)
            view = memoryview(buffer)
            with os.fdopen(open_nofollow(path), "rb", buffering=0) as source, open(temp, "xb", buffering=0) as out:
                while n := source.readinto(buffer):
                    whole.update(view[:n])
                    out.write(view[:n])
                os.fsync(out.fileno())
            os.replace(temp, target)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise OutputError(f"cannot copy {path} to {target}: {exc.strerror or exc}") from exc
        obj.parts_sent = 1
        if self.on_part is not None:
            self.on_part(obj.key, 1)
        return _Digests(whole.hexdigest(), [])

    def finish(self, ok: bool) -> None:
        """Rename a bag built in ``.NAME.open/`` into place once everything in it is verified."""
        if self.staging is None or not ok:
            return
        final = self.root / self.name
        if os.path.lexists(final):
            raise OutputError(f"{final} appeared while the bag was being delivered beside it as {self.staging}; "
                              "nothing was replaced: look at both and deliver again")
        try:
            _fsync_tree_dirs(self.staging)
            os.rename(self.staging, final)
            _fsync_dir(self.root)
        except OSError as exc:
            raise OutputError(f"cannot rename {self.staging} to {final}: {exc.strerror or exc}; deliver again") from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree_dirs(root: Path) -> None:
    """Sync every folder under ``root`` (the files were synced as they were written): their entries are on disk."""
    for folder, _dirs, _files in os.walk(root):
        _fsync_dir(Path(folder))


class _S3Target:
    """S3-compatible storage: each part read once into a reused buffer, which is hashed (the part's SHA-256
    for the server, in a worker, and the whole file's for the receipt, meanwhile in the reading thread)
    and sent from where it lies, never copied; at most ``concurrency`` parts in memory and in flight."""

    def __init__(self, store: S3Store, concurrency: int, on_part: Callable[[str, int], None] | None) -> None:
        self.store = store
        self.concurrency = concurrency
        self.on_part = on_part
        self.buffers = _Buffers(concurrency)

    def where(self, key: str) -> str:
        return f"s3://{self.store.bucket}/{key}"

    def finish(self, ok: bool) -> None:
        """Nothing to do: each object appears at its key only once complete (a multipart one once completed)."""

    def exists(self, key: str) -> bool:
        return self.store.head(key) is not None

    def verify(self, key: str, size: int, digests: _Digests, multipart: bool) -> tuple[bool | None, str]:
        remote = self.store.head(key)
        if remote is None:
            return None, ""
        if remote.size != size:
            return False, "server-checksum"
        if _server_checksum_matches(remote, digests, multipart):
            return True, "server-checksum"
        found, found_size = self.store.read_sha256(key)
        return found == digests.sha256 and found_size == size, "read-back"

    def send(self, obj: DeliveredObject, path: Path, part_size: int) -> _Digests:
        if obj.size <= part_size:
            buffer = self.buffers.take(obj.size)
            try:
                with os.fdopen(open_nofollow(path), "rb", buffering=0) as source:
                    _read_part(source, buffer, path)
                    if source.read(1):
                        raise OutputError(f"{path} became longer while being delivered; deliver it again")
                digest = hashlib.sha256(buffer)
                self.store.put(obj.key, buffer, base64.b64encode(digest.digest()).decode())
            finally:
                self.buffers.give(buffer)
            obj.parts_sent = 1
            self._tell(obj.key, 1)
            return _Digests(digest.hexdigest(), [digest.digest()])
        return self._send_parts(obj, path, part_size)

    def _tell(self, key: str, number: int) -> None:
        if self.on_part is not None:
            self.on_part(key, number)

    def _send_parts(self, obj: DeliveredObject, path: Path, part_size: int) -> _Digests:
        store = self.store
        upload_id = store.find_upload(obj.key)
        arrived = store.list_parts(obj.key, upload_id) if upload_id else {}
        if upload_id is None:
            upload_id = store.start_upload(obj.key)
        count = _part_count(obj.size, part_size)
        whole = hashlib.sha256()
        digests: list[bytes | None] = [None] * count
        done: list[tuple[int, str, str]] = []
        pending: deque[tuple[int, Future[tuple[str, bytes]], bytearray]] = deque()
        with os.fdopen(open_nofollow(path), "rb", buffering=0) as source, ThreadPoolExecutor(self.concurrency) as pool:
            try:
                for number in range(1, count + 1):
                    buffer = self.buffers.take(min(part_size, obj.size - (number - 1) * part_size))
                    while pending and pending[0][1].done():  # what arrived meanwhile, in order
                        self._collect(obj, pending.popleft(), done, digests)
                    try:
                        _read_part(source, buffer, path)
                    except BaseException:
                        self.buffers.give(buffer)
                        raise
                    there = arrived.get(number)
                    if there is not None:
                        part_digest = hashlib.sha256(buffer).digest()
                        sha_b64 = base64.b64encode(part_digest).decode()
                        if _part_intact(there.size, there.sha256_b64, there.etag, buffer, sha_b64):
                            whole.update(buffer)
                            self.buffers.give(buffer)
                            digests[number - 1] = part_digest
                            done.append((number, there.etag, sha_b64))
                            obj.parts_reused += 1
                            continue
                    future = pool.submit(self._send_part, obj.key, upload_id, number, buffer)
                    pending.append((number, future, buffer))
                    whole.update(buffer)  # hashlib lets go of the GIL: a worker hashes and sends the part meanwhile
                while pending:
                    self._collect(obj, pending.popleft(), done, digests)
            except BaseException:
                for _, future, buffer in pending:
                    if future.cancel():  # never to run: its buffer goes back from here
                        self.buffers.give(buffer)
                raise
        if len(done) != count:
            raise OutputError(f"{obj.key}: {count - len(done)} parts did not arrive; deliver it again to resume")
        store.complete_upload(obj.key, upload_id, sorted(done))
        return _Digests(whole.hexdigest(), [d for d in digests if d is not None])

    def _send_part(self, key: str, upload_id: str, number: int, buffer: bytearray) -> tuple[str, bytes]:
        """Hash a part and send it with its SHA-256 (in a worker thread); the buffer goes back for reuse
        once the server answered. Returns (ETag, digest)."""
        try:
            digest = hashlib.sha256(buffer).digest()
            etag = self.store.upload_part(key, upload_id, number, buffer, base64.b64encode(digest).decode())
        finally:
            self.buffers.give(buffer)
        return etag, digest

    def _collect(
        self,
        obj: DeliveredObject,
        item: tuple[int, Future[tuple[str, bytes]], bytearray],
        done: list[tuple[int, str, str]],
        digests: list[bytes | None],
    ) -> None:
        number, future, _ = item
        etag, digest = future.result()
        digests[number - 1] = digest
        done.append((number, etag, base64.b64encode(digest).decode()))
        obj.parts_sent += 1
        self._tell(obj.key, number)


def _server_checksum_matches(remote: RemoteObject, digests: _Digests, multipart: bool) -> bool:
    if remote.sha256_b64 is None:
        return False
    reported = remote.sha256_b64.split("-")[0]  # S3 appends "-<parts>" to a multipart object's checksum
    return reported == (digests.composite_b64() if multipart else digests.full_b64())


def _part_intact(size: int, sha256_b64: str | None, etag: str, data: bytearray, ours: str) -> bool:
    """A part already on the server is reused only when it is this part: its SHA-256, or else its MD5 ETag."""
    if size != len(data):
        return False
    if sha256_b64 is not None:
        return sha256_b64 == ours
    return etag.strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()


# --------------------------------------------------------------------------- the delivery


@dataclass(frozen=True)
class _Source:
    rel: str
    path: Path
    size: int


def check_deliverable(bag: Path) -> None:
    """Raise :class:`UsageError` unless ``bag`` is a bag folder (it has bagit.txt) or a serialized bag's file."""
    if bag.is_file():
        if serialized_form(bag) is None:
            raise UsageError(f"{bag} is neither a bag folder nor a .tar, .tar.gz, .tgz or .zip bag")
    elif not (bag / BAGIT_TXT).is_file():
        raise UsageError(f"{bag} is not a bag (no {BAGIT_TXT}); bag or serialize it first")


def _sources(bag: Path) -> tuple[str, list[_Source], list[str]]:
    """(name at the destination, the files in the order sent, the identity files' paths)."""
    check_deliverable(bag)
    if bag.is_file():
        files = [_Source(bag.name, bag, bag.stat().st_size)]
        checksum = bag.with_name(bag.name + CHECKSUM_SUFFIX)
        if checksum.is_file():  # last: a checksum never arrives before the archive it claims
            files.append(_Source(checksum.name, checksum, checksum.stat().st_size))
        return "", files, [files[-1].rel]
    files = []
    for rel in _walk(bag):
        files.append(_Source(rel, bag / rel, os.lstat(bag / rel).st_size))
    names = [f.rel for f in files]
    identity = [n for n in names if TAGMANIFEST_RE.match(n)] or [
        n for n in names if MANIFEST_RE.match(n) or n == BAG_INFO_TXT
    ]
    # the payload first, the tag files last (bagit.txt the very last): what announces a bag comes after it
    files.sort(key=lambda f: (f.rel == BAGIT_TXT, f.rel in identity or "/" not in f.rel, f.rel))
    return bag.name, files, identity


def _walk(root: Path) -> Iterator[str]:
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        for entry in sorted(os.scandir(root / rel_dir if rel_dir else root), key=lambda e: e.name):
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append(rel)
            elif entry.is_file(follow_symlinks=False):
                yield rel
            else:
                raise UsageError(f"{root / rel} is a link or special file; a bag to deliver holds regular files only")


def deliver(
    bag: Path,
    destination: Destination,
    *,
    part_size: int = DEFAULT_PART_SIZE,
    concurrency: int = 4,
    clock: Callable[[], datetime] = _utc_now,
    on_part: Callable[[str, int], None] | None = None,
) -> Receipt:
    """Deliver the bag at ``bag`` (a bag folder, or a serialized bag) to ``destination``; see the module docstring.

    ``part_size`` (at least 5 MiB) is the size of the parts of larger files, ``concurrency`` how
    many are sent at once (memory: about their product); ``on_part(key, number)`` is called as
    each part arrives. The receipt is returned and written beside the bag whatever the outcome
    of verification; an error that stops the delivery (refused, unreachable) raises instead,
    and delivering again resumes.
    """
    if part_size < MIN_PART_SIZE:
        raise UsageError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's smallest part)")
    if concurrency < 1:
        raise UsageError("concurrency must be at least 1")
    bag = Path(os.path.abspath(bag))
    if not bag.exists():
        raise UsageError(f"{bag} does not exist")
    name, files, identity = _sources(bag)
    target: _Target
    if isinstance(destination, DirectoryDestination):
        target = _FolderTarget(Path(os.path.abspath(destination.path)), name, on_part)
        prefix = ""
    else:
        store = S3Store(
            destination.bucket,
            endpoint_url=destination.endpoint_url,
            region=destination.region,
            profile=destination.profile,
            storage_class=destination.storage_class,
        )
        target = _S3Target(store, concurrency, on_part)
        prefix = destination.prefix.strip("/")
    started = clock()

    def key_of(rel: str) -> str:
        return "/".join(part for part in (prefix, name, rel) if part)

    def part_size_for(size: int) -> int:
        needed = -(-size // MAX_PARTS)
        return max(part_size, -(-needed // MIB) * MIB)

    for source in files:  # a different bag of the same name is found before anything is sent
        if source.rel in identity and target.exists(key_of(source.rel)):
            multipart = isinstance(target, _S3Target) and source.size > part_size_for(source.size)
            there, _ = target.verify(key_of(source.rel), source.size,
                                     _local_digests(source.path, source.size, part_size_for(source.size)), multipart)
            if there is False:
                raise OutputError(
                    f"{target.where(key_of(source.rel))} holds a different {source.rel} than {bag}: a different bag "
                    f"named {name or source.rel} is there. Nothing was sent; deliver under another prefix or name."
                )
    objects: list[DeliveredObject] = []
    for source in files:
        size_of_parts = part_size_for(source.size)
        multipart = isinstance(target, _S3Target) and source.size > size_of_parts
        obj = DeliveredObject(source.rel, key_of(source.rel), source.size, "", "failed")
        if source.rel in identity or target.exists(obj.key):
            digests = _local_digests(source.path, source.size, size_of_parts)
            intact, how = target.verify(obj.key, source.size, digests, multipart)
            if intact is False and source.rel in identity:
                raise OutputError(
                    f"{target.where(obj.key)} holds a different {source.rel} than {bag}: a different bag named "
                    f"{name or source.rel} is there. Nothing was sent; deliver under another prefix or name."
                )
            if intact:
                obj.sha256, obj.outcome, obj.verified_by = digests.sha256, "already-there", how
                objects.append(obj)
                continue
        digests = target.send(obj, source.path, size_of_parts)
        obj.sha256 = digests.sha256
        intact, how = target.verify(obj.key, source.size, digests, multipart)
        obj.verified_by = how
        if intact:
            obj.outcome = "sent"
        else:
            obj.outcome = "failed"
            obj.detail = f"what arrived at {target.where(obj.key)} is not what was sent ({how})"
        objects.append(obj)
    target.finish(all(obj.outcome != "failed" for obj in objects))
    receipt = Receipt(str(bag), name or bag.name, destination.describe(), started, clock(), objects)
    receipt.path = _write_receipt(bag, receipt)
    return receipt


def _write_receipt(bag: Path, receipt: Receipt) -> Path:
    path = bag.with_name(bag.name + RECEIPT_SUFFIX)
    temp = path.with_name(f".{path.name}{OPEN_SUFFIX}")
    try:
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(receipt.to_json(), out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OutputError(f"cannot write the delivery receipt {path}: {exc.strerror or exc}") from exc
    return path
