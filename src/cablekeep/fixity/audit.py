"""Audits: verify the bags that are due, in full or a sample at a time, record it, name what changed.

:func:`audit` finds the bags under the paths given (a path is a bag, or a directory whose
children are bags), and for each one:

1. **due?** -- skipped when ``older_than`` is given and the bag's last full check
   (:meth:`FixityHistory.last_full_check`: a full fixity check, or the start of a completed
   sample cycle) is more recent than that;
2. **verify** -- :func:`cablekeep.fixity.verify.verify_bag` in full, or, with ``sample``, on the next
   sample of the cycle (:meth:`FixityHistory.sample_plan`: every payload file exactly once in
   ``ceil(1 / sample)`` runs);
3. **retry** -- a file that could not be opened or read (``not-checked``; a vanished file is
   ``missing`` and not retried) is verified again, up to ``retries`` more times; only then is
   it reported. A checksum mismatch is never retried: it is a finding, not a read error;
4. **what changed since the last audit** -- the payload on disk is compared with the inventory
   the last audit stored: a new path whose size and checksum are those of a vanished path is
   ``renamed`` (the old path in ``expected``), other new paths are ``added``, other vanished
   paths ``removed``. Digests come from this run's verification where it has them; a new file
   it did not hash (unlisted, or outside the sample) is hashed here, once;
5. **record** -- one event, the new inventory and the cycle's progress, in one transaction.

The findings list each problem once per file: a file whose checksums differ for several
algorithms is one ``changed`` finding naming them all (the strongest algorithm's expected and
found digests are kept); a renamed file is one ``renamed`` finding instead of ``missing`` plus
``unexpected``. The verification report itself keeps every detail.

Memory: the payload listing (path -> size) and one manifest's digests are held per bag; the
stored inventory stays in SQLite.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from ..bagging.layout import BAGIT_TXT, BLOCK, MANIFEST_RE, PAYLOAD_DIR, READ_FLAGS, hashlib_name
from ..errors import BagUnreadableError, UsageError
from .verify import verify_bag
from .events import FixityEvent, new_event_id, utc_now
from .history import FixityHistory, InventoryEntry, SamplePlan
from .identity import BagIdentity, bag_identity, iter_manifest_entries
from .report import Problem, Report, problem_order

AUDIT_SCHEMA = "cablekeep.audit/1"
# Strongest first: the algorithm an inventory keeps, and whose digests a ``changed`` finding shows.
ALGORITHM_PREFERENCE = (
    "sha512", "sha3-512", "sha3_512", "blake2b", "sha384", "sha3-384", "sha3_384", "sha256", "sha3-256",
    "sha3_256", "blake2s", "sha224", "sha3-224", "sha3_224", "sha1", "md5",
)

Clock = Callable[[], datetime]
OpenFile = Callable[[str], int]


@dataclass(frozen=True)
class RetriedFile:
    """A path whose verification hit a read error: how many attempts it took, and whether one worked."""

    path: str
    attempts: int
    recovered: bool


@dataclass(frozen=True)
class BagAudit:
    """What an audit did with one bag. ``status``: ``checked``, ``skipped`` or ``unreadable``."""

    path: Path
    status: str
    last_full_check: datetime | None
    report: Report | None = None
    findings: tuple[Problem, ...] = ()
    sample: SamplePlan | None = None
    retried: tuple[RetriedFile, ...] = ()
    event: FixityEvent | None = None
    detail: str = ""

    @property
    def outcome(self) -> str | None:
        return None if self.event is None else self.event.outcome

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "status": self.status,
            "outcome": self.outcome,
            "mode": None if self.event is None else self.event.mode,
            "last_full_check": None if self.last_full_check is None else self.last_full_check.isoformat(),
            "detail": self.detail,
            "files_checked": 0 if self.report is None else self.report.files_checked,
            "bytes_checked": 0 if self.report is None else self.report.bytes_checked,
            "sample": None if self.sample is None else {
                "paths": list(self.sample.paths),
                "population": self.sample.population,
                "checked_in_cycle": self.sample.checked_before + len(self.sample.paths),
                "cycle_started": self.sample.cycle_started.isoformat(),
                "cycle_complete": self.sample.completes,
            },
            "retried": [{"path": r.path, "attempts": r.attempts, "recovered": r.recovered} for r in self.retried],
            "findings": [p.to_json() for p in self.findings],
            "event_id": None if self.event is None else self.event.event_id,
        }


@dataclass(frozen=True)
class AuditReport:
    """Every bag an audit found, in the order found."""

    bags: tuple[BagAudit, ...]

    @property
    def ok(self) -> bool:
        """True when every bag checked was valid and none was unreadable."""
        return all(b.status == "skipped" or b.outcome == "valid" for b in self.bags)

    @property
    def checked(self) -> tuple[BagAudit, ...]:
        return tuple(b for b in self.bags if b.status == "checked")

    @property
    def skipped(self) -> tuple[BagAudit, ...]:
        return tuple(b for b in self.bags if b.status == "skipped")

    def to_json(self) -> dict[str, object]:
        return {"schema": AUDIT_SCHEMA, "ok": self.ok, "bags": [b.to_json() for b in self.bags]}


def audit(
    paths: Sequence[Path],
    history: FixityHistory,
    *,
    older_than: timedelta | None,
    sample: float | None,
    rng: random.Random,
    clock: Clock = utc_now,
    retries: int = 3,
    processes: int | None = None,
    open_file: OpenFile | None = None,
    make_id: Callable[[], str] = new_event_id,
    max_depth: int | None = None,
    executor: Executor | None = None,
) -> AuditReport:
    """Audit the bags at or under ``paths`` (at most ``max_depth`` levels down); see the module docstring.

    ``sample`` is a fraction in (0, 1]; ``retries`` how many more attempts a read error gets;
    ``open_file`` replaces ``os.open`` for every payload read (a seam for injecting read
    errors); ``executor`` hashes the payload in batches elsewhere (a Dask cluster: :mod:`cablekeep.cluster`)
    while the bag-level checks and the history stay here. Raises :class:`BagUnreadableError` when a path
    does not exist or is neither a bag nor a directory, :class:`UsageError` for out-of-range arguments. A bag that cannot be read
    is recorded and reported as ``unreadable``; the audit goes on with the others.
    """
    if sample is not None and not 0 < sample <= 1:
        raise UsageError(f"--sample must be above 0% and at most 100%, not {sample:.2%}")
    if retries < 0:
        raise UsageError(f"retries must be 0 or more, not {retries}")
    if older_than is not None and older_than < timedelta(0):
        raise UsageError("--older-than must not be negative")
    run = _Audit(history, older_than, sample, rng, clock, retries, processes, open_file, make_id, executor)
    return AuditReport(tuple(run.bag(bag) for bag in find_bags(paths, max_depth)))


_AGE_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` as a timedelta (whole hours, days or weeks); :class:`UsageError` otherwise."""
    text = text.strip()
    if not (text[:-1].isdigit() and text[-1:] in _AGE_UNITS):
        raise UsageError(f"{text!r} is not an age: give whole hours, days or weeks, such as 12h, 90d or 2w")
    return timedelta(**{_AGE_UNITS[text[-1]]: int(text[:-1])})


def parse_share(text: str) -> float:
    """``5%`` (or ``0.05``) as a fraction above 0 and at most 1; :class:`UsageError` otherwise."""
    text = text.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:  # also false for NaN
        raise UsageError(f"{text!r} is not a share of a bag's files: give a percentage above 0% and at most 100%, such as 5%")
    return value


def find_bags(paths: Iterable[Path], max_depth: int | None = None) -> list[Path]:
    """The bags at or under ``paths``, at any depth (at most ``max_depth`` levels below a path given),
    each once, in name order, without following symbolic links below a path given and without
    looking inside a bag. Hidden directories (``.work``, ``.staging-*``) are not searched.

    Raises :class:`BagUnreadableError` when a path does not exist, is neither a bag nor a
    directory, or when no bag is found at all (an audit of nothing is not a passed audit).
    """
    if max_depth is not None and max_depth < 0:
        raise UsageError(f"--max-depth must be 0 or more, not {max_depth}")
    found: dict[str, Path] = {}
    given = [Path(path) for path in paths]
    for path in given:
        if not os.path.lexists(path):
            raise BagUnreadableError(f"{path} does not exist")
        if _looks_like_bag(path):
            found.setdefault(os.path.abspath(path), path)
        elif path.is_dir():
            for bag in _iter_bags_below(path, max_depth):
                found.setdefault(os.path.abspath(bag), bag)
        else:
            raise BagUnreadableError(f"{path} is neither a bag nor a directory of bags")
    if not found:
        depth = "at any depth" if max_depth is None else f"down to {max_depth} level(s)"
        raise BagUnreadableError(
            f"no bags found in {', '.join(str(p) for p in given)} ({depth}): a bag is a folder holding bagit.txt"
        )
    return list(found.values())


def _iter_bags_below(folder: Path, max_depth: int | None, depth: int = 0) -> Iterator[Path]:
    """Bags below ``folder``, depth first in name order; a bag's own folders are not searched. A folder
    that cannot be listed is yielded too: its audit fails as unreadable, never passes in silence."""
    if max_depth is not None and depth >= max_depth:
        return
    try:
        with os.scandir(folder) as iterator:
            entries = sorted(
                (e for e in iterator if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)),
                key=lambda e: e.name,
            )
    except OSError:
        yield folder
        return
    for entry in entries:
        child = Path(entry.path)
        if _looks_like_bag(child):
            yield child
        else:
            yield from _iter_bags_below(child, max_depth, depth + 1)


def _looks_like_bag(path: Path) -> bool:
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return BAGIT_TXT in names or any(MANIFEST_RE.match(n) for n in names)


def record_verification(
    history: FixityHistory,
    bag: Path,
    report: Report,
    *,
    clock: Clock = utc_now,
    make_id: Callable[[], str] = new_event_id,
    identity: BagIdentity | None = None,
) -> FixityEvent:
    """Record a verification done outside an audit (``cablekeep verify``, ``cablekeep run``).

    ``identity`` for a bag that is not a directory (a serialized bag is known by its path only)."""
    identity = identity if identity is not None else bag_identity(bag)
    event = FixityEvent.from_report(report, identity, time=clock(), event_id=make_id())
    return replace(event, id=history.record(event))


# --------------------------------------------------------------------------- one audit run


@dataclass
class _Audit:
    history: FixityHistory
    older_than: timedelta | None
    fraction: float | None
    rng: random.Random
    clock: Clock
    retries: int
    processes: int | None
    open_file: OpenFile | None
    make_id: Callable[[], str]
    executor: Executor | None

    def bag(self, path: Path) -> BagAudit:
        now = self.clock()
        mode = "full" if self.fraction is None else "sample"
        try:
            identity = bag_identity(path)
        except BagUnreadableError as exc:
            return self.unreadable(path, BagIdentity(os.path.abspath(path), None, None), None, now, mode, exc)
        last = self.history.last_full_check(identity)
        if self.older_than is not None and last is not None and now - last < self.older_than:
            due = last + self.older_than
            return BagAudit(path, "skipped", last, detail=f"last full check {last:%Y-%m-%d %H:%M} UTC; due {due:%Y-%m-%d}")
        listing = _payload_listing(path)
        plan = None
        if self.fraction is not None:
            plan = self.history.sample_plan(identity, listing.keys(), self.fraction, self.rng, now)
        try:
            report = verify_bag(
                path, processes=self.processes, only=None if plan is None else plan.paths, open_file=self.open_file,
                executor=self.executor,
            )
            report, retried = self.retry(path, report, listing, plan)
        except BagUnreadableError as exc:
            return self.unreadable(path, identity, last, now, mode, exc)

        algorithm = _inventory_algorithm(path)
        declared = dict(iter_manifest_entries(path, f"manifest-{algorithm}.txt")) if algorithm else {}
        verified = _verified_digests(report, listing, plan, declared, algorithm)
        changes = self.changes(path, identity, listing, verified, algorithm)
        findings = _findings(report, changes, algorithm)
        detail = _detail(report, plan, retried, changes)
        event = FixityEvent.from_report(
            report,
            identity,
            time=now,
            event_id=self.make_id(),
            problems=findings,
            paths=() if plan is None else plan.paths,
            detail=detail,
            cycle_started=plan.cycle_started if plan is not None and plan.completes else None,
        )
        entries = (InventoryEntry(p, size, verified.get(p), declared.get(p)) for p, size in listing.items())
        row = self.history.record(event, inventory=entries, inventory_algorithm=algorithm, sample=plan)
        return BagAudit(
            path, "checked", last, report, tuple(findings), plan, tuple(retried), replace(event, id=row), detail
        )

    def unreadable(
        self, path: Path, identity: BagIdentity, last: datetime | None, now: datetime, mode: str, exc: Exception
    ) -> BagAudit:
        problem = Problem("not-checked", ".", f"the bag could not be read: {exc}")
        event = FixityEvent(
            event_id=self.make_id(), time=now, event_type="fixity check", bag=identity, outcome="unreadable",
            mode=mode, problems=(problem,), detail=str(exc),
        )
        row = self.history.record(event)
        return BagAudit(path, "unreadable", last, findings=(problem,), event=replace(event, id=row), detail=str(exc))

    def retry(
        self, path: Path, report: Report, listing: dict[str, int], plan: SamplePlan | None
    ) -> tuple[Report, list[RetriedFile]]:
        """Verify again what could not be read, up to ``retries`` times; a mismatch is never retried."""
        pending = {p.path for p in report.problems if _read_error(p)}
        attempts: dict[str, int] = dict.fromkeys(pending, 1)
        recovered: set[str] = set()
        problems = list(report.problems)
        files, size, records = report.files_checked, report.bytes_checked, report.warc_records_checked
        for _ in range(self.retries):
            if not pending:
                break
            for p in pending:
                attempts[p] += 1
            if all(p in listing for p in pending):  # payload files only: verify just those again
                again = verify_bag(path, processes=self.processes, only=pending, open_file=self.open_file,
                                   executor=self.executor)
                still = {p.path for p in again.problems if p.path in pending and _read_error(p)}
                problems = [p for p in problems if p.path not in pending]
                problems.extend(p for p in again.problems if p.path in pending)
                done = pending - still
                files += len(done)
                size += sum(listing[p] for p in done)
                records += again.warc_records_checked
            else:  # a tag file or a directory: the whole verification again
                again = verify_bag(
                    path, processes=self.processes, only=None if plan is None else plan.paths, open_file=self.open_file,
                    executor=self.executor,
                )
                still = {p.path for p in again.problems if _read_error(p)}
                problems = list(again.problems)
                files, size, records = again.files_checked, again.bytes_checked, again.warc_records_checked
                attempts.update({p: attempts.get(p, 1) for p in still})
                done = pending - still
            recovered |= done
            pending = still
        problems.sort(key=problem_order)
        merged = replace(report, problems=problems, files_checked=files, bytes_checked=size, warc_records_checked=records)
        retried = [RetriedFile(p, n, p in recovered) for p, n in sorted(attempts.items())]
        return merged, retried

    def changes(
        self,
        path: Path,
        identity: BagIdentity,
        listing: dict[str, int],
        verified: dict[str, str],
        algorithm: str | None,
    ) -> _Changes:
        diff = self.history.inventory_diff(identity, listing)
        if diff is None:
            return _Changes()
        comparable = algorithm is not None and diff.algorithm == algorithm
        by_content: dict[tuple[int, str], list[str]] = {}
        if comparable:
            for old in diff.vanished:
                if old.digest is not None:
                    by_content.setdefault((old.size, old.digest), []).append(old.path)
        renamed: list[tuple[str, str]] = []
        added: list[str] = []
        for new in diff.new:
            digest = verified.get(new)
            if comparable and by_content and digest is None:
                assert algorithm is not None
                digest = _hash_file(path, new, algorithm, self.open_file)
                if digest is not None:
                    verified[new] = digest  # hashed now: the inventory keeps it
            olds = by_content.get((listing[new], digest)) if digest is not None else None
            if olds:
                renamed.append((new, olds.pop(0)))
            else:
                added.append(new)
        moved_from = {old for _, old in renamed}
        removed = [old.path for old in diff.vanished if old.path not in moved_from]
        return _Changes(tuple(renamed), tuple(added), tuple(removed), diff_known=True)


@dataclass(frozen=True)
class _Changes:
    renamed: tuple[tuple[str, str], ...] = ()  # (new path, old path)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    diff_known: bool = False


def _read_error(problem: Problem) -> bool:
    """A file or directory that could not be opened or read (not: an algorithm cablekeep lacks)."""
    return problem.kind == "not-checked" and problem.algorithm is None


def _payload_listing(bag: Path) -> dict[str, int]:
    """Payload files on disk (bag path -> size), without following symbolic links."""
    listing: dict[str, int] = {}
    stack = [PAYLOAD_DIR]
    root = os.fspath(bag)
    while stack:
        rel_dir = stack.pop()
        try:
            iterator = os.scandir(os.path.join(root, rel_dir))
        except OSError:
            continue  # verify_bag reports it
        with iterator:
            for entry in iterator:
                rel = f"{rel_dir}/{entry.name}"
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    listing[rel] = entry.stat(follow_symlinks=False).st_size
    return dict(sorted(listing.items()))


def _inventory_algorithm(bag: Path) -> str | None:
    """The strongest payload-manifest algorithm cablekeep can compute."""
    try:
        present = {m.group(1).lower() for n in os.listdir(bag) if (m := MANIFEST_RE.match(n))}
    except OSError:
        return None
    for algorithm in ALGORITHM_PREFERENCE:
        if algorithm in present and hashlib_name(algorithm) is not None:
            return algorithm
    return None


def _verified_digests(
    report: Report,
    listing: dict[str, int],
    plan: SamplePlan | None,
    declared: dict[str, str],
    algorithm: str | None,
) -> dict[str, str]:
    """Digests this verification established: the manifest's for files hashed without a problem,
    the one found for files that changed."""
    if algorithm is None:
        return {}
    hashed = listing.keys() if plan is None else plan.paths
    troubled: set[str] = set()
    found: dict[str, str] = {}
    for p in report.problems:
        if p.kind == "changed" and p.algorithm == algorithm and p.found:
            found[p.path] = p.found
        elif p.kind != "changed":
            troubled.add(p.path)
    digests = {p: declared[p] for p in hashed if p in declared and p not in troubled}
    digests.update({p: d for p, d in found.items() if p not in troubled})
    return digests


def _hash_file(bag: Path, rel: str, algorithm: str, open_file: OpenFile | None) -> str | None:
    name = hashlib_name(algorithm)
    if name is None:
        return None
    try:
        fd = (open_file or _open_nofollow)(os.path.join(bag, rel))
    except OSError:
        return None
    hasher = hashlib.new(name)
    try:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while block := stream.read(BLOCK):
                hasher.update(block)
    except OSError:
        return None
    return hasher.hexdigest()


def _open_nofollow(path: str) -> int:
    return os.open(path, READ_FLAGS)


def _findings(report: Report, changes: _Changes, algorithm: str | None) -> list[Problem]:
    """The report's problems once per file, with what changed since the last audit named."""
    renamed_new = {new: old for new, old in changes.renamed}
    renamed_old = {old: new for new, old in changes.renamed}
    added, removed = set(changes.added), set(changes.removed)
    kinds_at: dict[str, set[str]] = {}
    changed: dict[str, list[Problem]] = {}
    out: list[Problem] = []
    for p in report.problems:
        kinds_at.setdefault(p.path, set()).add(p.kind)
        if p.kind == "changed":
            changed.setdefault(p.path, []).append(p)
        elif p.kind == "unexpected" and (p.path in renamed_new or p.path in added):
            continue  # named below
        elif p.kind == "missing" and (p.path in renamed_old or p.path in removed):
            continue
        else:
            out.append(p)
    for path, group in changed.items():
        out.append(_one_change(path, group, algorithm))
    for new, old in changes.renamed:
        stale = "unexpected" in kinds_at.get(new, ()) or "missing" in kinds_at.get(old, ())
        out.append(Problem(
            "renamed",
            new,
            f"this file has the size and {algorithm} checksum of {old}, which was in the bag at the last audit "
            "and is gone: it was moved or renamed"
            + (f"; the manifests still list it as {old}: move it back, or update the manifests." if stale
               else "; the manifests list it under its new name."),
            expected=old,
        ))
    for path in changes.added:
        unlisted = "unexpected" in kinds_at.get(path, ())
        out.append(Problem(
            "added",
            path,
            "this file was not in the bag at the last audit"
            + ("; it is in no payload manifest: it was added, or the manifests are out of date." if unlisted
               else "; the manifests list it."),
        ))
    for path in changes.removed:
        listed = "missing" in kinds_at.get(path, ())
        out.append(Problem(
            "removed",
            path,
            "this file was in the bag at the last audit and is gone"
            + ("; the manifests still list it: restore it from another copy (cablekeep repair --from)." if listed
               else "; the manifests no longer list it."),
        ))
    out.sort(key=problem_order)
    return out


def _one_change(path: str, group: list[Problem], algorithm: str | None) -> Problem:
    """One ``changed`` finding for a file however many algorithms disagree."""
    if len(group) == 1:
        return group[0]
    names = [p.algorithm or "?" for p in group]
    shown = next((p for p in group if p.algorithm == algorithm), group[0])
    return Problem(
        "changed",
        path,
        f"the {', '.join(names[:-1])} and {names[-1]} checksums differ from the manifests: the file has changed.",
        algorithm=shown.algorithm,
        expected=shown.expected,
        found=shown.found,
    )


def _detail(report: Report, plan: SamplePlan | None, retried: list[RetriedFile], changes: _Changes) -> str:
    if plan is None:
        parts = ["audit: every file of the bag hashed against its manifests"]
    else:
        done = plan.checked_before + len(plan.paths)
        parts = [
            f"audit sample: {len(plan.paths)} of {plan.population} payload files hashed; {done} of {plan.population} "
            f"in the cycle begun {plan.cycle_started:%Y-%m-%d %H:%M} UTC"
            + ("; cycle complete" if plan.completes else f"; about {_runs_left(plan)} more run(s) to complete it")
        ]
    for r in retried:
        if r.recovered:
            parts.append(f"read error on {r.path}: read on attempt {r.attempts}")
        else:
            parts.append(f"read error on {r.path}: still failing after {r.attempts} attempts")
    if changes.diff_known:
        parts.append(
            f"since the last audit: {len(changes.renamed)} renamed, {len(changes.added)} added, "
            f"{len(changes.removed)} removed"
        )
    return "; ".join(parts)


def _runs_left(plan: SamplePlan) -> int:
    left = plan.population - plan.checked_before - len(plan.paths)
    return math.ceil(left / len(plan.paths)) if plan.paths else 0
