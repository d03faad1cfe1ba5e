"""Making BagIt 1.0 bags (RFC 8493), built in a staging directory and renamed into place.

``make_bag`` takes payload files and their bag paths, hardlinks (or copies) them into
``<parent>/.staging-<name>/data/``, hashes each file once for all algorithms, writes
``bagit.txt``, ``bag-info.txt``, one payload manifest and one tag manifest per algorithm, fsyncs
and renames the staging directory to ``<parent>/<name>``. An interrupted run leaves only a
staging directory, which the next run removes: nothing that looks like a finished bag is ever
half written. bagit-python is not used here; it is the independent checker in the tests.

``bag_directory`` bags any directory of files, in place (as ``bagit.make_bag`` does) or as a copy
(each file read once for the copy and every digest); many files are hashed in a process pool in
bounded batches (:mod:`cablekeep.bagging.hashing`). Its docstring says what an interrupted run leaves and
how a rerun finishes it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .. import __version__
from ..errors import OutputError, UsageError
from ..locks import exclusive
from .hashing import OrderedBatches, digest_batch, make_pool
from .layout import BAG_INFO_TXT, BAGIT_TXT, BLOCK, WRITABLE_ALGORITHMS
from .staging import (
    IN_PLACE_PREFIX,
    STAGING_PREFIX,
    describe,
    discard_partial,
    lock_beside,
    make_output_dir,
    remove_staging,
)

__all__ = ["IN_PLACE_PREFIX", "STAGING_PREFIX", "BagRef", "BagProgress", "bag_directory", "make_bag"]


@dataclass(frozen=True)
class BagRef:
    """A finished bag."""

    path: Path
    name: str
    external_identifier: str
    payload_files: int
    payload_bytes: int
    algorithms: tuple[str, ...]
    cleaned: tuple[Path, ...] = ()  # stale staging folders an interrupted run had left, removed first

    @property
    def payload_oxum(self) -> str:
        return f"{self.payload_bytes}.{self.payload_files}"


def hash_file(path: Path, algorithms: Sequence[str]) -> tuple[int, dict[str, str]]:
    """Size and hex digests of one file, read once in blocks for all algorithms."""
    ((size, digests),) = digest_batch(os.fspath(path.parent), [path.name], algorithms)
    return size, {name: digest.hex() for name, digest in zip(algorithms, digests)}


def encode_manifest_path(path: str) -> str:
    """RFC 8493 section 2.1.3: CR, LF and % in a manifest path are percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _check_label(label: str) -> None:
    if not label or ":" in label or label != label.strip() or any(c in label for c in "\r\n"):
        raise UsageError(f"bag-info label {label!r} is not valid: no colon, newline or surrounding spaces")


def _info_lines(info: Mapping[str, str | Sequence[str]]) -> list[str]:
    lines = []
    for label, value in info.items():
        _check_label(label)
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            # Continuation lines (RFC 8493 2.2.2) keep multi-line values.
            lines.append(f"{label}: " + "\n  ".join(str(item).splitlines() or [""]))
    return lines


def _place(source: Path, target: Path, link: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_declaration(staging: Path) -> None:
    (staging / BAGIT_TXT).write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")


def _write_bag_info(
    staging: Path,
    info: Mapping[str, str | Sequence[str]],
    bagging_date: datetime,
    external_identifier: str,
    files: int,
    total: int,
) -> None:
    full_info: dict[str, str | Sequence[str]] = dict(info)
    full_info.update({
        "Bagging-Date": bagging_date.strftime("%Y-%m-%d"),
        "External-Identifier": external_identifier,
        "Payload-Oxum": f"{total}.{files}",
        "Bag-Size": human_size(total),
        "Bag-Software-Agent": f"cablekeep {__version__}",
    })
    (staging / BAG_INFO_TXT).write_text("\n".join(_info_lines(full_info)) + "\n", encoding="utf-8")


def _write_tag_manifests(staging: Path, algorithms: Sequence[str], tag_names: Sequence[str]) -> None:
    """One tagmanifest per algorithm over ``tag_names`` and the payload manifests."""
    names = [*tag_names, *(f"manifest-{alg}.txt" for alg in algorithms)]
    digests = {name: hash_file(staging / name, algorithms)[1] for name in names}
    for alg in algorithms:
        lines = [f"{digests[name][alg]}  {name}\n" for name in names]
        (staging / f"tagmanifest-{alg}.txt").write_text("".join(lines), encoding="utf-8")


def _check_tag_files(tag_files: Mapping[str, bytes] | None) -> dict[str, bytes]:
    """Extra tag files by plain file name; a reserved name (bagit.txt, bag-info.txt, manifests, data) is refused."""
    extra = dict(tag_files or {})
    for tag_name in extra:
        if "/" in tag_name or tag_name.startswith(("manifest-", "tagmanifest-", "bag")) or tag_name in ("data", "", ".", ".."):
            raise UsageError(f"tag file name {tag_name!r} is reserved or not a plain file name")
    return extra


def make_bag(
    parent: Path,
    name: str,
    payload: Iterable[tuple[Path, str]],
    *,
    info: Mapping[str, str | Sequence[str]],
    algorithms: Sequence[str],
    external_identifier: str,
    bagging_date: datetime,
    link: bool = True,
    tag_files: Mapping[str, bytes] | None = None,
) -> BagRef:
    """Build the bag ``parent/name`` from ``payload`` (source file, path under ``data/``)."""
    for algorithm in algorithms:
        if algorithm not in WRITABLE_ALGORITHMS:
            raise UsageError(f"unsupported checksum algorithm {algorithm!r}; use one of {', '.join(WRITABLE_ALGORITHMS)}")
    final = parent / name
    if final.exists():
        raise OutputError(f"bag {final} already exists; remove it or choose another name")
    staging = parent / f"{STAGING_PREFIX}{name}"
    cleaned: tuple[Path, ...] = ()
    try:
        if remove_staging(staging):  # a killed run's; the caller holds the lock on what is bagged here
            cleaned = (staging,)
        (staging / "data").mkdir(parents=True)
        manifests: dict[str, list[str]] = {alg: [] for alg in algorithms}
        files = total = 0
        for source, relative in payload:
            rel = PurePosixPath(relative)
            if rel.is_absolute() or ".." in rel.parts:
                raise UsageError(f"payload path {relative!r} would escape the bag")
            target = staging / "data" / rel
            _place(source, target, link)
            size, digests = hash_file(target, algorithms)
            files += 1
            total += size
            for alg, digest in digests.items():
                manifests[alg].append(f"{digest}  {encode_manifest_path('data/' + rel.as_posix())}\n")
        _write_declaration(staging)
        _write_bag_info(staging, info, bagging_date, external_identifier, files, total)
        for alg, lines in manifests.items():
            (staging / f"manifest-{alg}.txt").write_text("".join(sorted(lines, key=lambda l: l.split("  ", 1)[1])), encoding="utf-8")
        extra_tags = _check_tag_files(tag_files)
        for tag_name, content in extra_tags.items():
            (staging / tag_name).write_bytes(content)
        _write_tag_manifests(staging, algorithms, [BAGIT_TXT, BAG_INFO_TXT, *extra_tags])
        _fsync_tree(staging)
        os.replace(staging, final)
    except OSError as exc:
        raise OutputError(f"cannot build bag {final}: {describe(exc)}; {discard_partial(staging)}") from exc
    return BagRef(final, name, external_identifier, files, total, tuple(algorithms), cleaned)


# --------------------------------------------------------------------------- bagging a directory

POOL_MIN_FILES = 64
POOL_MIN_BYTES = 64 << 20
BATCH_FILES = 256
BATCH_BYTES = 32 << 20
INFLIGHT_PER_PROCESS = 3


@dataclass(frozen=True)
class BagProgress:
    """How far :func:`bag_directory` is: payload files (and their bytes) hashed so far, of all."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[BagProgress], None]


@dataclass(frozen=True)
class _Tree:
    """The regular files under a directory (``/``-separated relative paths, sorted) and its directories."""

    files: list[str]
    sizes: list[int]
    dirs: list[str]

    @property
    def total(self) -> int:
        return sum(self.sizes)


def _scan_tree(root: Path) -> _Tree:
    """Every regular file and directory under ``root``; raises UsageError for anything else.

    Symbolic links are refused (never followed), as are FIFOs, sockets and devices, and names that
    are not valid UTF-8 (a manifest is UTF-8 and could not name them).
    """
    entries: list[tuple[str, int]] = []
    dirs: list[str] = []
    refused: list[str] = []
    stack = [""]
    root_s = os.fspath(root)
    while stack:
        rel_dir = stack.pop()
        try:
            iterator = os.scandir(os.path.join(root_s, rel_dir) if rel_dir else root_s)
        except OSError as exc:
            raise UsageError(f"cannot list {os.path.join(root_s, rel_dir)}: {exc.strerror or exc}") from exc
        with iterator:
            for entry in iterator:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    rel.encode("utf-8")
                except UnicodeEncodeError:
                    refused.append(f"{rel!r} (the name is not valid UTF-8)")
                    continue
                if entry.is_symlink():
                    refused.append(f"{rel} (a symbolic link)")
                elif entry.is_dir(follow_symlinks=False):
                    dirs.append(rel)
                    stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    entries.append((rel, entry.stat(follow_symlinks=False).st_size))
                else:
                    refused.append(f"{rel} (not a regular file or directory)")
    if refused:
        shown = "; ".join(sorted(refused)[:5]) + (f"; and {len(refused) - 5} more" if len(refused) > 5 else "")
        raise UsageError(
            f"{root} holds {len(refused)} entr{'y' if len(refused) == 1 else 'ies'} a bag cannot hold: {shown}. "
            "Replace links with the files they point to and remove the rest, then bag again."
        )
    entries.sort()
    dirs.sort()
    return _Tree([rel for rel, _ in entries], [size for _, size in entries], dirs)


def _batches(tree: _Tree) -> Iterator[list[str]]:
    batch: list[str] = []
    batch_bytes = 0
    for rel, size in zip(tree.files, tree.sizes):
        batch.append(rel)
        batch_bytes += size
        if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
            yield batch
            batch, batch_bytes = [], 0
    if batch:
        yield batch


def _write_payload_manifests(
    staging: Path,
    source_root: Path,
    tree: _Tree,
    algorithms: Sequence[str],
    processes: int,
    copy_root: Path | None,
    on_progress: ProgressCallback | None = None,
) -> tuple[int, int]:
    """Hash (and copy) every file of ``tree`` and write the payload manifests; (files, bytes).

    Many files go to a process pool in batches, a bounded number in flight; results come back in
    order and are written out at once, so memory holds the file list and a few batches only.
    ``on_progress`` hears after each batch written. An empty tree gives empty manifests.
    """
    use_pool = processes > 1 and (len(tree.files) > POOL_MIN_FILES or tree.total > POOL_MIN_BYTES)
    pool = make_pool(processes) if use_pool else None
    runner: OrderedBatches[tuple[list[str], list[tuple[int, list[bytes]]]]] = OrderedBatches(
        pool, processes * INFLIGHT_PER_PROCESS
    )
    source_s = os.fspath(source_root)
    copy_s = None if copy_root is None else os.fspath(copy_root)
    files = total = 0
    tree_total = tree.total
    outputs = [open(staging / f"manifest-{alg}.txt", "w", encoding="utf-8", newline="\n") for alg in algorithms]
    try:

        def write(done: list[tuple[list[str], list[tuple[int, list[bytes]]]]]) -> None:
            nonlocal files, total
            for rels, results in done:
                for rel, (size, digests) in zip(rels, results):
                    path = encode_manifest_path(f"data/{rel}")
                    for output, digest in zip(outputs, digests):
                        output.write(f"{digest.hex()}  {path}\n")
                    files += 1
                    total += size
            if done and on_progress is not None:
                on_progress(BagProgress(files, len(tree.files), total, tree_total))

        for batch in _batches(tree):
            write(runner.submit(_digest_batch_with_names, source_s, batch, tuple(algorithms), copy_s))
        for done in runner.finish():  # one at a time, so progress is heard as each batch ends
            write([done])
    finally:
        runner.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for output in outputs:
            output.close()
    return files, total


def _digest_batch_with_names(
    source_root: str, rels: list[str], algorithms: tuple[str, ...], copy_root: str | None
) -> tuple[list[str], list[tuple[int, list[bytes]]]]:
    return rels, digest_batch(source_root, rels, algorithms, copy_root)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finish_tags(
    staging: Path,
    *,
    algorithms: Sequence[str],
    info: Mapping[str, str | Sequence[str]],
    bagging_date: datetime,
    external_identifier: str,
    files: int,
    total: int,
    tag_files: Mapping[str, bytes],
) -> None:
    _write_declaration(staging)
    _write_bag_info(staging, info, bagging_date, external_identifier, files, total)
    for tag_name, content in tag_files.items():
        (staging / tag_name).write_bytes(content)
    _write_tag_manifests(staging, algorithms, [BAGIT_TXT, BAG_INFO_TXT, *tag_files])
    for entry in os.scandir(staging):
        if entry.is_file(follow_symlinks=False):
            _fsync_path(Path(entry.path))


def _check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    if not algorithms:
        raise UsageError("give at least one checksum algorithm")
    for algorithm in algorithms:
        if algorithm not in WRITABLE_ALGORITHMS:
            raise UsageError(f"unsupported checksum algorithm {algorithm!r}; use one of {', '.join(WRITABLE_ALGORITHMS)}")
    return tuple(dict.fromkeys(algorithms))


def _new_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class _Order:
    """What a bagging of a folder is asked to write, checked: the same for in place and as a copy."""

    algorithms: tuple[str, ...]
    info: Mapping[str, str | Sequence[str]]
    processes: int
    bagging_date: datetime
    make_id: Callable[[], str]
    on_progress: ProgressCallback | None
    tag_files: Mapping[str, bytes]


def bag_directory(
    source: Path,
    *,
    dest_parent: Path | None,
    in_place: bool,
    algorithms: Sequence[str] = ("sha512", "sha256"),
    info: Mapping[str, str | Sequence[str]] | None = None,
    processes: int | None = None,
    clock: Callable[[], datetime] = _now,
    make_id: Callable[[], str] = _new_id,
    on_progress: ProgressCallback | None = None,
    tag_files: Mapping[str, bytes] | None = None,
) -> BagRef:
    """Bag the directory ``source`` (BagIt 1.0), in place or as a copy under ``dest_parent``.

    Every regular file below ``source``, hidden ones included, becomes payload at the same path
    under ``data/``; symbolic links, FIFOs, sockets, devices and names that are not UTF-8 are
    refused before anything is touched. Each file is read once for all ``algorithms`` (and, when
    copying, for the copy too); many files are hashed by ``processes`` workers (default: one per
    CPU) in bounded batches; ``on_progress`` hears how far hashing is after each batch. An empty
    directory (or one holding only empty directories) makes a bag with an empty payload and empty
    payload manifests, Payload-Oxum ``0.0``, as ``bagit.make_bag`` bags it. bag-info.txt gets ``info`` plus Bagging-Date (from ``clock``),
    External-Identifier (from ``make_id``), Payload-Oxum, Bag-Size and Bag-Software-Agent.
    ``tag_files`` (plain file name -> content, such as a profile's ``aptrust-info.txt``) are written
    beside bag-info.txt and listed in the tag manifests.

    In place (``in_place=True``, ``dest_parent=None``), ``SOURCE`` ends up holding ``data/`` (its
    former contents) and the tag files, as ``bagit.make_bag`` leaves it. How: the directory is
    renamed to ``<parent>/.cablekeep-bagging-<name>/data`` (one atomic rename), the tag files are
    written and fsynced beside it, and that staging directory is renamed back to ``SOURCE`` (a
    second atomic rename). An interrupted run therefore leaves either the original directory, or
    ``SOURCE`` missing and ``<parent>/.cablekeep-bagging-<name>/data`` holding every original
    file untouched. Running the same call again finishes the bag from that state; to undo
    instead, move that ``data`` directory back to ``SOURCE``. A staging directory without
    ``data/`` holds nothing of the user's and is removed.

    As a copy (``in_place=False``), the bag is ``dest_parent/<name of SOURCE>``, built in
    ``dest_parent/.staging-<name>`` (removed and rebuilt if an earlier run left it) and renamed
    into place after ``os.sync()``; ``SOURCE`` is only read. Copies keep permission bits and times.

    Raises :class:`UsageError` for a bad call or a source that cannot be bagged (not a
    directory, already a bag, links), :class:`OutputError` when writing fails (the
    message says what state is left).
    """
    algorithms = _check_algorithms(algorithms)
    info = dict(info or {})
    _info_lines(info)  # a bad label is a usage error before anything is touched
    extra_tags = _check_tag_files(tag_files)
    if in_place == (dest_parent is not None):
        raise UsageError("bag a directory either in place or into a destination directory, not both or neither")
    if processes is None:
        processes = os.cpu_count() or 1
    if processes < 1:
        raise UsageError(f"processes must be at least 1, not {processes}")
    source = Path(os.path.abspath(source))
    if not source.name:
        raise UsageError(f"cannot bag {source}: choose a directory below it")
    order = _Order(algorithms, info, processes, clock(), make_id, on_progress, extra_tags)
    if in_place:
        return _bag_in_place(source, order)
    assert dest_parent is not None
    return _bag_copy(source, Path(os.path.abspath(dest_parent)), order)


def _check_source(source: Path) -> None:
    if source.is_symlink():
        raise UsageError(f"{source} is a symbolic link; give the directory it points to")
    if not os.path.lexists(source):
        raise UsageError(f"{source} is not a directory: it does not exist")
    if not source.is_dir():
        raise UsageError(f"{source} is not a directory")
    if (source / BAGIT_TXT).exists():
        raise UsageError(f"{source} is already a bag (it has {BAGIT_TXT}); check it with 'cablekeep verify {source}'")


def _bag_in_place(source: Path, order: _Order) -> BagRef:
    """One in-place bagging of a folder at a time, under the lock beside it (removed when done).

    What cannot be bagged is refused before anything is written, the lock file included; the tree
    read then is read again under the lock only if the folder's state changed meanwhile.
    """
    data = source.parent / f"{IN_PLACE_PREFIX}{source.name}" / "data"
    resuming = data.is_dir() and not data.is_symlink()
    if not resuming:
        _check_source(source)
    scanned = (resuming, _scan_tree(data if resuming else source))
    with exclusive(lock_beside(source), f"folder {source}", remove=True):
        return _bag_in_place_locked(source, order, scanned)


def _bag_in_place_locked(source: Path, order: _Order, scanned: tuple[bool, _Tree]) -> BagRef:
    staging = source.parent / f"{IN_PLACE_PREFIX}{source.name}"
    data = staging / "data"
    resuming = data.is_dir() and not data.is_symlink()
    if resuming and os.path.lexists(source):
        raise OutputError(
            f"both {source} and {data} (an interrupted in-place bagging) exist; keep one: move {data} back to "
            f"{source} if it holds the files, or remove it, then bag again"
        )
    cleaned: tuple[Path, ...] = ()
    if os.path.lexists(staging) and not resuming:
        _check_source(source)
        try:
            remove_staging(staging)  # tag files only: an earlier run stopped before moving the payload
        except OSError as exc:
            raise OutputError(f"cannot remove {staging}, left by an interrupted bagging: {describe(exc)}") from exc
        cleaned = (staging,)
    if not resuming:
        _check_source(source)
    tree = scanned[1] if scanned[0] == resuming else _scan_tree(data if resuming else source)
    try:
        if not resuming:
            staging.mkdir(mode=0o700)
            try:
                os.rename(source, data)
            except OSError:
                staging.rmdir()
                raise
        for stale in os.scandir(staging):  # tag files of an interrupted run are rewritten
            if stale.name != "data":
                os.unlink(stale.path)
        files, total, identifier = _write_manifests_and_tags(staging, data, tree, order, None)
        os.chmod(staging, data.stat().st_mode & 0o7777)
        _fsync_path(staging)
        os.rename(staging, source)
        _fsync_path(source.parent)
    except OSError as exc:
        state = (
            f"your files are in {data}: run the same command again to finish the bag, or move {data} back to "
            f"{source} to undo"
            if data.is_dir()
            else f"{source} is as it was"
        )
        raise OutputError(f"cannot bag {source} in place: {describe(exc)}; {state}") from exc
    return BagRef(source, source.name, identifier, files, total, order.algorithms, cleaned)


def _write_manifests_and_tags(staging: Path, source: Path, tree: _Tree, order: _Order,
                              copy_to: Path | None) -> tuple[int, int, str]:
    """Hash (and copy, when ``copy_to``) the payload into its manifests, then every tag file: (files, bytes, id)."""
    files, total = _write_payload_manifests(staging, source, tree, order.algorithms, order.processes, copy_to,
                                            order.on_progress)
    identifier = order.make_id()
    _finish_tags(
        staging, algorithms=order.algorithms, info=order.info, bagging_date=order.bagging_date,
        external_identifier=identifier, files=files, total=total, tag_files=order.tag_files,
    )
    return files, total, identifier


def _bag_copy(source: Path, dest_parent: Path, order: _Order) -> BagRef:
    _check_source(source)
    real_source, real_dest = os.path.realpath(source), os.path.realpath(dest_parent)
    if os.path.commonpath([real_source, real_dest]) == real_source:
        raise UsageError(f"the destination {dest_parent} is inside {source}; choose a directory outside it")
    final = dest_parent / source.name
    if os.path.lexists(final):
        raise OutputError(f"{final} already exists; remove it or choose another --output directory")
    tree = _scan_tree(source)  # what cannot be bagged is refused before anything is written
    make_output_dir(dest_parent, f"cannot bag {source} into {dest_parent}")
    with exclusive(lock_beside(final), f"bag {final}", remove=True):  # one copy into this place at a time
        if os.path.lexists(final):
            raise OutputError(f"{final} already exists; remove it or choose another --output directory")
        staging = dest_parent / f"{STAGING_PREFIX}{source.name}"
        cleaned: tuple[Path, ...] = ()
        try:
            if remove_staging(staging):  # an interrupted copy; the source was never changed
                cleaned = (staging,)
            data = staging / "data"
            data.mkdir(parents=True)
            for rel in tree.dirs:
                (data / rel).mkdir()
            files, total, identifier = _write_manifests_and_tags(staging, source, tree, order, data)
            os.sync()  # every copied file on disk before the bag gets its final name
            os.rename(staging, final)
            _fsync_path(dest_parent)
        except OSError as exc:
            raise OutputError(
                f"cannot bag {source} into {dest_parent}: {describe(exc)}; {discard_partial(staging)}; "
                f"{source} is unchanged"
            ) from exc
    return BagRef(final, final.name, identifier, files, total, order.algorithms, cleaned)


def read_bag_info(bag: Path) -> dict[str, str]:
    """The first value of each label in a bag's bag-info.txt (continuation lines joined); {} without one.

    For bags cablekeep made or is about to extend (their External-Identifier, Payload-Oxum); a bag's
    verification reads bag-info.txt through :mod:`cablekeep.fixity.tagfiles`, with every problem named.
    """
    try:
        text = (bag / BAG_INFO_TXT).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    info: dict[str, str] = {}
    current = ""  # the label a continuation line extends; "" after a repeated label or a bad line
    for line in text.splitlines():
        if line[:1] in (" ", "\t"):
            if current:
                info[current] = f"{info[current]} {line.strip()}".strip()
            continue
        label, colon, value = line.partition(":")
        label = label.strip()
        current = label if colon and label and label not in info else ""
        if current:
            info[current] = value.strip()
    return info
