"""Two copies of a bag: comparing them, and repairing one from the other.

:func:`compare_copies` verifies both copies in full and lists every file on which they differ:
its verdict in each copy against that copy's own manifests, and whether the manifests agree.

:func:`repair` takes the files of ``bag`` that fail fixity (changed, missing, unreadable, or a
symbolic link where a file should be) from ``source`` -- but only a file whose every checksum
matches ``bag``'s own manifest. It refuses a ``source`` that is not a copy of the same bag (its
tag manifests or External-Identifier differ). Tag files (the payload manifests included) are
repaired first against the tag manifests, so payload files are then judged by good manifests;
the tag manifests themselves are the anchor and are never replaced. Each good file is written to
a temporary name in the target's directory, hashed as it is written, synced, and renamed over
the damaged one; a file for which neither copy is good is left exactly as it was. The whole bag
is verified again afterwards and a ``repair`` event records what was replaced.

No symbolic link is followed in either copy: every directory on the way to a file is opened
relative to its parent with ``ONOFOLLOW`` (a link there makes the file unrepairable), and a
link where a file should be is replaced by the file, never written through. An interrupted
repair leaves at most one ``.cablekeep-repair-*.tmp`` file, which verification reports as
``unexpected`` and the next repair of the bag removes (and names); every file is either the old
one or the new one, never half written. One repair of a bag at a time: a lock beside the bag.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..bagging.layout import BLOCK, CLOEXEC, DIRECTORY, MANIFEST_RE, NOFOLLOW, TAGMANIFEST_RE, hashlib_name
from ..errors import BagUnreadableError, UsageError
from ..locks import LOCK_SUFFIX, exclusive
from .verify import verify_bag
from .events import FixityEvent, new_event_id, utc_now
from .history import FixityHistory
from .identity import bag_identity, iter_manifest_entries
from .report import Problem, Report

COMPARE_SCHEMA = "cablekeep.compare/1"
REPAIR_SCHEMA = "cablekeep.repair/1"
TEMP_PREFIX = ".cablekeep-repair-"
# Problem kind -> a file's verdict, worst first.
_VERDICTS = {
    "symlink": "symlink",
    "missing": "missing",
    "not-checked": "unreadable",
    "changed": "changed",
    "warc": "broken WARC",
    "unexpected": "unlisted",
}
_REPAIRABLE = ("changed", "missing", "not-checked", "symlink")

Declared = dict[str, dict[str, str]]  # bag path -> {algorithm: hex digest}, payload and tag manifests


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class FileDifference:
    """One file on which two copies differ. Verdicts: ``ok``, ``changed``, ``missing``,
    ``unreadable``, ``symlink``, ``broken WARC``, ``unlisted`` (on disk, in no manifest),
    ``absent`` (neither listed nor on disk)."""

    path: str
    in_bag: str
    in_copy: str
    manifests_agree: bool

    @property
    def repairable(self) -> bool:
        """The copy's file is good by the same manifests, and the bag's is not."""
        return self.manifests_agree and self.in_copy == "ok" and self.in_bag in ("changed", "missing", "unreadable", "symlink")

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "in_bag": self.in_bag,
            "in_copy": self.in_copy,
            "manifests_agree": self.manifests_agree,
            "repairable": self.repairable,
        }


@dataclass(frozen=True)
class CopyComparison:
    """Two copies of a bag, each verified against its own manifests, and where they differ."""

    bag: Path
    copy: Path
    same_bag: bool
    bag_report: Report
    copy_report: Report
    differences: tuple[FileDifference, ...]

    @property
    def ok(self) -> bool:
        return self.same_bag and self.bag_report.ok and self.copy_report.ok and not self.differences

    def to_json(self) -> dict[str, object]:
        return {
            "schema": COMPARE_SCHEMA,
            "bag": str(self.bag),
            "copy": str(self.copy),
            "same_bag": self.same_bag,
            "ok": self.ok,
            "differences": [d.to_json() for d in self.differences],
            "bag_report": self.bag_report.to_json(),
            "copy_report": self.copy_report.to_json(),
        }


def compare_copies(bag: Path, copy: Path, *, processes: int | None = None) -> CopyComparison:
    """Verify ``bag`` and ``copy`` in full and list the files on which they differ.

    ``same_bag`` is false when their tag manifests or External-Identifiers differ; the files are
    compared anyway. Raises :class:`BagUnreadableError` when either cannot be read at all.
    """
    first, second = bag_identity(bag), bag_identity(copy)
    same = first.tagmanifest_digest is not None and (first.tagmanifest_digest, first.external_identifier) == (
        second.tagmanifest_digest,
        second.external_identifier,
    )
    bag_report = verify_bag(bag, processes=processes)
    copy_report = verify_bag(copy, processes=processes)
    declared_bag, declared_copy = _declared(bag), _declared(copy)
    verdicts_bag, verdicts_copy = _verdicts(bag_report), _verdicts(copy_report)
    paths = set(verdicts_bag) | set(verdicts_copy)
    paths |= {p for p in declared_bag.keys() | declared_copy.keys() if declared_bag.get(p) != declared_copy.get(p)}
    differences = []
    for path in sorted(paths):
        in_bag = _verdict(path, verdicts_bag, declared_bag)
        in_copy = _verdict(path, verdicts_copy, declared_copy)
        agree = declared_bag.get(path) == declared_copy.get(path)
        if in_bag == in_copy == "ok" and agree:
            continue
        differences.append(FileDifference(path, in_bag, in_copy, agree))
    return CopyComparison(Path(bag), Path(copy), same, bag_report, copy_report, tuple(differences))


def _declared(bag: Path) -> Declared:
    declared: Declared = {}
    try:
        names = sorted(os.listdir(bag))
    except OSError as exc:
        raise BagUnreadableError(f"cannot read the bag {bag}: {exc.strerror or exc}") from exc
    for name in names:
        match = MANIFEST_RE.match(name) or TAGMANIFEST_RE.match(name)
        if match is None:
            continue
        algorithm = match.group(1).lower()
        for path, digest in iter_manifest_entries(bag, name):
            declared.setdefault(path, {})[algorithm] = digest
    return declared


def _verdicts(report: Report) -> dict[str, str]:
    """The worst file-level verdict per path; bag-level problems (oxum, structure) are not per file."""
    order = list(_VERDICTS)
    worst: dict[str, str] = {}
    for p in report.problems:
        if p.kind not in _VERDICTS or (p.kind == "not-checked" and p.algorithm is not None):
            continue
        known = worst.get(p.path)
        if known is None or order.index(p.kind) < order.index(known):
            worst[p.path] = p.kind
    return {path: _VERDICTS[kind] for path, kind in worst.items()}


def _verdict(path: str, verdicts: dict[str, str], declared: Declared) -> str:
    if path in verdicts:
        return verdicts[path]
    return "ok" if path in declared else "absent"


# --------------------------------------------------------------------------- repairing


@dataclass(frozen=True)
class UnrepairableFile:
    path: str
    reason: str


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair` replaced, what it could not, and the verification before and after."""

    bag: Path
    source: Path
    before: Report
    after: Report
    replaced: tuple[str, ...]
    unrepairable: tuple[UnrepairableFile, ...]
    event: FixityEvent
    cleaned: tuple[str, ...] = ()  # temporary files an interrupted repair had left, removed first

    @property
    def ok(self) -> bool:
        """The bag is valid now."""
        return self.after.ok

    def to_json(self) -> dict[str, object]:
        return {
            "schema": REPAIR_SCHEMA,
            "bag": str(self.bag),
            "source": str(self.source),
            "ok": self.ok,
            "replaced": list(self.replaced),
            "unrepairable": [{"path": u.path, "reason": u.reason} for u in self.unrepairable],
            "cleaned": list(self.cleaned),
            "event_id": self.event.event_id,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }


def repair(
    bag: Path,
    source: Path,
    history: FixityHistory,
    *,
    clock: Callable[[], datetime] = utc_now,
    make_id: Callable[[], str] = new_event_id,
    processes: int | None = None,
) -> RepairResult:
    """Replace each file of ``bag`` that fails fixity with ``source``'s, where ``source``'s is good.

    See the module docstring. Raises :class:`UsageError` when ``source`` is ``bag`` itself or
    not a copy of it, :class:`BagUnreadableError` when either cannot be read at all, and
    :class:`LockedError` while another process repairs (or otherwise writes) the same bag.
    Temporary files left by an interrupted repair are removed first and named in the result.
    """
    bag, source = Path(bag), Path(source)
    if not bag.is_dir():
        raise BagUnreadableError(f"{bag} is not a bag directory")
    with exclusive(bag_lock_path(bag), f"bag {bag}", remove=True):  # nothing left beside the bag
        cleaned = remove_leftovers(bag)
        result = _repair(bag, source, history, clock=clock, make_id=make_id, processes=processes)
    return replace(result, cleaned=cleaned)


def bag_lock_path(bag: Path) -> Path:
    """The lock beside a bag (hidden, outside its payload, so verification never sees it)."""
    absolute = Path(os.path.abspath(bag))
    return absolute.parent / f".{absolute.name}{LOCK_SUFFIX}"


def remove_leftovers(bag: Path) -> tuple[str, ...]:
    """Remove the temporary files an interrupted repair left in ``bag``; their bag paths, sorted.

    Only regular files named like this module's temporary files; links are never followed.
    """
    removed: list[str] = []
    for folder, dirs, files in os.walk(bag, followlinks=False):
        for name in files:
            if name.startswith(TEMP_PREFIX) and name.endswith(".tmp"):
                path = os.path.join(folder, name)
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed.append(Path(path).relative_to(bag).as_posix())
    return tuple(sorted(removed))


def _repair(
    bag: Path,
    source: Path,
    history: FixityHistory,
    *,
    clock: Callable[[], datetime],
    make_id: Callable[[], str],
    processes: int | None,
) -> RepairResult:
    identity, theirs = bag_identity(bag), bag_identity(source)
    if os.path.samefile(bag, source):
        raise UsageError(f"{source} is {bag} itself; repair needs another copy of the bag")
    if identity.tagmanifest_digest is None or (identity.tagmanifest_digest, identity.external_identifier) != (
        theirs.tagmanifest_digest,
        theirs.external_identifier,
    ):
        raise UsageError(
            f"{source} is not a copy of {bag}: their tag manifests or External-Identifiers differ, so its files "
            "cannot be trusted for this bag (if one copy's tag manifest is damaged, compare them with "
            "'cablekeep verify BAG --against COPY')"
        )
    before = verify_bag(bag, processes=processes)
    if before.ok:
        event = FixityEvent.from_report(before, identity, time=clock(), event_id=make_id())
        event = replace(event, id=history.record(event))
        return RepairResult(bag, source, before, before, (), (), event)

    replaced: list[str] = []
    unrepairable: list[UnrepairableFile] = []
    declared = _declared(bag)
    report = before
    # 1. tag files, the payload manifests among them, against the tag manifests
    tag_failing = [p for p in _failing(report, declared) if not p.startswith("data/")]
    for path in tag_failing:
        _restore_one(bag, source, path, declared[path], replaced, unrepairable)
    if replaced:
        report = verify_bag(bag, processes=processes)
        declared = _declared(bag)
    bad_manifests = [p for p in _failing(report, declared) if MANIFEST_RE.match(p)]
    # 2. payload files, against payload manifests now known to be good
    for path in (p for p in _failing(report, declared) if p.startswith("data/")):
        if bad_manifests:
            unrepairable.append(UnrepairableFile(
                path,
                f"{', '.join(bad_manifests)} fails the tag manifest and neither copy has a good one, so this file "
                "cannot be judged",
            ))
            continue
        _restore_one(bag, source, path, declared[path], replaced, unrepairable)
    after = verify_bag(bag, processes=processes) if replaced else report
    event = FixityEvent.from_report(
        after,
        bag_identity(bag),
        time=clock(),
        event_id=make_id(),
        event_type="repair",
        paths=replaced,
        detail=_repair_detail(source, replaced, unrepairable),
    )
    event = replace(event, id=history.record(event))
    return RepairResult(bag, source, before, after, tuple(replaced), tuple(unrepairable), event)


def _failing(report: Report, declared: Declared) -> list[str]:
    """Listed files that fail fixity, except the tag manifests (the anchor)."""
    paths = {
        p.path
        for p in report.problems
        if p.kind in _REPAIRABLE and (p.kind != "not-checked" or p.algorithm is None) and p.path in declared
    }
    return sorted(p for p in paths if not TAGMANIFEST_RE.match(p))


def _repair_detail(source: Path, replaced: Iterable[str], unrepairable: Iterable[UnrepairableFile]) -> str:
    replaced, unrepairable = list(replaced), list(unrepairable)
    parts = [f"repair from {source}"]
    if replaced:
        parts.append(f"replaced {len(replaced)} file(s) with the copy's, each matching every manifest checksum: "
                     + ", ".join(replaced))
    else:
        parts.append("nothing was changed")
    if unrepairable:
        parts.append(f"{len(unrepairable)} file(s) not repaired: "
                     + "; ".join(f"{u.path} ({u.reason})" for u in unrepairable))
    elif not replaced:
        parts.append("no listed file fails fixity; the problems (unlisted files, Payload-Oxum, structure) are "
                     "not for a copy to fix and were left alone")
    return "; ".join(parts)


def _restore_one(
    bag: Path,
    source: Path,
    path: str,
    expected: dict[str, str],
    replaced: list[str],
    unrepairable: list[UnrepairableFile],
) -> None:
    reason = _restore(bag, source, path, expected)
    if reason is None:
        replaced.append(path)
    else:
        unrepairable.append(UnrepairableFile(path, reason))


def _open_parent(root: Path, parts: list[str], *, create: bool) -> int:
    """A descriptor of the directory ``root/parts...``, opened one component at a time without
    following links; missing directories are created when ``create``."""
    fd = os.open(root, os.O_RDONLY | DIRECTORY | CLOEXEC)
    try:
        for part in parts:
            flags = os.O_RDONLY | DIRECTORY | NOFOLLOW | CLOEXEC
            try:
                child = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, dir_fd=fd)
                child = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _restore(bag: Path, source: Path, path: str, expected: dict[str, str]) -> str | None:
    """Copy ``source/path`` over ``bag/path`` if it matches ``expected``; None, or why not."""
    names = {alg: hashlib_name(alg) for alg in expected}
    usable = {alg: name for alg, name in names.items() if name is not None}
    if not usable:
        return "no checksum cablekeep can compute is listed for it"
    *dirs, name = path.split("/")
    try:
        src_dir = _open_parent(source, dirs, create=False)
    except FileNotFoundError:
        return "the copy does not have it either"
    except OSError as exc:
        return f"a directory on the way to it in the copy is a symbolic link or unreadable ({exc.strerror or exc})"
    try:
        try:
            # a FIFO, a device or a socket is never opened (a FIFO would block, a device could read for
            # ever or rewind a tape); O_NONBLOCK covers the race of one appearing after the lstat
            mode = os.lstat(name, dir_fd=src_dir).st_mode
            if stat.S_ISLNK(mode):
                return "the copy's file is a symbolic link; symbolic links are not followed"
            if not stat.S_ISREG(mode):
                return "the copy's file is not a regular file (a FIFO, device or socket is never read)"
            src = os.open(name, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW | CLOEXEC, dir_fd=src_dir)
        except FileNotFoundError:
            return "the copy does not have it either"
        except OSError as exc:
            return f"the copy's file could not be opened ({exc.strerror or exc}); symbolic links are not followed"
        try:
            return _copy_verified(bag, dirs, name, src, expected, usable)
        finally:
            os.close(src)
    finally:
        os.close(src_dir)


def _hash_fd(fd: int, usable: dict[str, str], out: int | None = None) -> dict[str, str]:
    """Hex digests of ``fd`` from its start, for every algorithm at once; copied to ``out`` if given."""
    os.lseek(fd, 0, os.SEEK_SET)
    hashers = {alg: hashlib.new(h) for alg, h in usable.items()}
    while block := os.read(fd, BLOCK):
        for hasher in hashers.values():
            hasher.update(block)
        if out is not None:
            view = memoryview(block)
            while view:
                view = view[os.write(out, view) :]
    return {alg: hasher.hexdigest() for alg, hasher in hashers.items()}


def _mismatch(found: dict[str, str], expected: dict[str, str]) -> list[str]:
    return [alg for alg, digest in found.items() if digest != expected[alg].lower()]


def _copy_verified(
    bag: Path, dirs: list[str], name: str, src: int, expected: dict[str, str], usable: dict[str, str]
) -> str | None:
    """Check the copy's file first, touching nothing in the bag; then copy it, checking again."""
    info = os.fstat(src)
    if not stat.S_ISREG(info.st_mode):
        return "the copy's file is not a regular file"
    try:
        differs = _mismatch(_hash_fd(src, usable), expected)
    except OSError as exc:
        return f"the copy's file could not be read ({exc.strerror or exc})"
    if differs:
        verb = "differs" if len(differs) == 1 else "differ"
        return f"the copy's file does not match the manifest either ({' and '.join(differs)} {verb})"
    try:
        dst_dir = _open_parent(bag, dirs, create=True)
    except OSError as exc:
        return f"a directory on the way to it in the bag is a symbolic link or unusable ({exc.strerror or exc})"
    temp = f"{TEMP_PREFIX}{uuid.uuid4().hex}.tmp"
    try:
        try:
            out = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC, info.st_mode & 0o666, dir_fd=dst_dir
            )
        except OSError as exc:
            return f"a temporary file could not be created next to it ({exc.strerror or exc})"
        try:
            try:
                differs = _mismatch(_hash_fd(src, usable, out), expected)
                os.fsync(out)
                os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
            finally:
                os.close(out)
        except OSError as exc:
            os.unlink(temp, dir_fd=dst_dir)
            return f"copying it failed ({exc.strerror or exc})"
        if differs:
            os.unlink(temp, dir_fd=dst_dir)
            return f"the copy's file changed while it was copied ({' and '.join(differs)} no longer match)"
        try:
            os.replace(temp, name, src_dir_fd=dst_dir, dst_dir_fd=dst_dir)
        except OSError as exc:
            os.unlink(temp, dir_fd=dst_dir)
            return f"it could not be replaced ({exc.strerror or exc})"
        os.fsync(dst_dir)
        return None
    finally:
        os.close(dst_dir)
