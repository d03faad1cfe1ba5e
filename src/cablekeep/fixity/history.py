"""Fixity history: every verification, audit and repair of a bag, kept in one SQLite file.

A :class:`FixityEvent` says when (UTC), what (``fixity check``, ``validation`` for a fast
check, ``repair``), on which bag, with which outcome (``valid``, ``invalid``, ``unreadable``),
mode (``full``, ``fast``, ``sample``), algorithms, counts and problems, by which agent
(``cablekeep <version>``). :class:`FixityHistory` stores them, with two more things per bag that
audits need: the **inventory** of the bag as last audited (bag path -> size and one digest, so
the next audit can name files renamed, added and removed) and the **sample cycle** (which files
a cycle of sample audits has already hashed).

Bag identity
------------
A bag is known by its path, its bag-info.txt ``External-Identifier`` and the SHA-256 of its tag
manifests (:func:`bag_identity`). A bag seen again at the same path with the same (or no)
External-Identifier is the same bag, even when its tag files changed. A bag at a new path whose
tag manifests and External-Identifier match a known bag is that bag moved -- unless the known
bag is still at its old path, in which case it is a second copy with its own history.

The database path is the caller's choice (the CLI picks one); nothing here reads the
environment. Several processes may share the file (WAL mode, a busy timeout); each event is
written in one transaction together with the inventory and sample cycle it updates.

Exports: :func:`export_jsonl` (one ``cablekeep.event/1`` JSON object a line) and
:func:`export_premis` (PREMIS 3.0 XML; event types from the Library of Congress vocabulary
http://id.loc.gov/vocabulary/preservation/eventType: ``fixity check``, ``validation``, and
``recovery`` for a repair from another copy -- the vocabulary has no "repair").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sqlite3
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesNSImpl

from .. import __version__
from ..bagging.layout import BAGIT_TXT, BAG_INFO_TXT, BLOCK, MANIFEST_RE, READ_FLAGS, TAGMANIFEST_RE
from .tagfiles import (
    check_path,
    parse_bag_info,
    parse_declaration,
    parse_manifest_line,
    python_codec,
    split_lines,
)
from ..errors import BagUnreadableError, CablekeepError, OutputError, UsageError
from .report import Problem, Report, problem_kind

AGENT = f"cablekeep {__version__}"
EVENT_SCHEMA = "cablekeep.event/1"
EVENT_TYPES = ("fixity check", "validation", "repair")
OUTCOMES = ("valid", "invalid", "unreadable")
EVENT_MODES = ("full", "fast", "sample")
SCHEMA_VERSION = 1

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_LOC = "http://id.loc.gov/vocabulary/preservation"
# Our event type -> (PREMIS eventType term, its code in the LoC vocabulary).
PREMIS_EVENT_TYPES = {
    "fixity check": ("fixity check", "fix"),
    "validation": ("validation", "val"),
    "repair": ("recovery", "rec"),
}

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bags (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    external_identifier TEXT,
    tagmanifest_digest TEXT,
    inventory_algorithm TEXT,
    cycle_started TEXT
);
CREATE INDEX IF NOT EXISTS bags_path ON bags (path);
CREATE INDEX IF NOT EXISTS bags_tagmanifest ON bags (tagmanifest_digest);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    bag_id INTEGER NOT NULL REFERENCES bags (id),
    time TEXT NOT NULL,
    event_type TEXT NOT NULL,
    bag_path TEXT NOT NULL,
    external_identifier TEXT,
    tagmanifest_digest TEXT,
    outcome TEXT NOT NULL,
    mode TEXT NOT NULL,
    algorithms TEXT NOT NULL,
    files_checked INTEGER NOT NULL,
    bytes_checked INTEGER NOT NULL,
    warc_records_checked INTEGER NOT NULL,
    problems TEXT NOT NULL,
    paths TEXT NOT NULL,
    agent TEXT NOT NULL,
    detail TEXT NOT NULL,
    cycle_started TEXT
);
CREATE INDEX IF NOT EXISTS events_bag_time ON events (bag_id, time);
CREATE TABLE IF NOT EXISTS inventory (
    bag_id INTEGER NOT NULL REFERENCES bags (id),
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    digest BLOB,
    PRIMARY KEY (bag_id, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cycle_checked (
    bag_id INTEGER NOT NULL REFERENCES bags (id),
    path TEXT NOT NULL,
    PRIMARY KEY (bag_id, path)
) WITHOUT ROWID;
"""


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(timezone.utc)


def new_event_id() -> str:
    """The default event identifier: a random UUID."""
    return str(uuid.uuid4())


def _as_utc(time: datetime) -> datetime:
    if time.tzinfo is None:
        raise UsageError(f"event time {time.isoformat()} has no time zone; give times in UTC")
    return time.astimezone(timezone.utc)


def _time_text(time: datetime) -> str:
    return _as_utc(time).strftime(_TIME_FORMAT)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- what a bag says of itself


@dataclass(frozen=True)
class BagIdentity:
    """How a bag is recognised: absolute path, External-Identifier, SHA-256 of its tag manifests."""

    path: str
    external_identifier: str | None
    tagmanifest_digest: str | None


def _read_small(path: Path) -> bytes:
    fd = os.open(path, READ_FLAGS)
    with os.fdopen(fd, "rb") as stream:
        return stream.read()


def _tag_codec(bag: Path) -> tuple[str, bool]:
    """The codec of the bag's tag files and whether BagIt 1.0 path rules apply."""
    try:
        declaration = parse_declaration(_read_small(bag / BAGIT_TXT))
    except OSError:
        return "utf-8", True
    codec = python_codec(declaration.encoding or "utf-8") or "utf-8"
    return ("utf-8-sig" if codec == "utf-8" else codec), declaration.strict


def bag_identity(path: Path) -> BagIdentity:
    """The identity of the bag at ``path``: see the module docstring.

    The digest covers every ``tagmanifest-*.txt`` (name and bytes, in name order), or, in a bag
    without tag manifests, every ``manifest-*.txt`` and bag-info.txt. Symbolic links are not
    followed. Raises :class:`BagUnreadableError` when ``path`` is not a directory.
    """
    root = Path(os.path.abspath(path))
    try:
        names = sorted(entry.name for entry in os.scandir(root) if entry.is_file(follow_symlinks=False))
    except OSError as exc:
        raise BagUnreadableError(f"cannot read the bag {root}: {exc.strerror or exc}") from exc
    external_identifier = None
    if BAG_INFO_TXT in names:
        codec, _strict = _tag_codec(root)
        try:
            text = _read_small(root / BAG_INFO_TXT).decode(codec, "replace")
        except OSError:
            text = ""
        elements, _problems = parse_bag_info(split_lines(text))
        external_identifier = next((v for k, v in elements if k.lower() == "external-identifier" and v), None)
    covered = [n for n in names if TAGMANIFEST_RE.match(n)]
    if not covered:
        covered = [n for n in names if MANIFEST_RE.match(n) or n == BAG_INFO_TXT]
    digest = None
    if covered:
        hasher = hashlib.sha256()
        for name in covered:
            hasher.update(name.encode("utf-8", "surrogateescape") + b"\0")
            try:
                fd = os.open(root / name, READ_FLAGS)
            except OSError:
                hasher.update(b"unreadable\0")
                continue
            with os.fdopen(fd, "rb") as stream:
                while block := stream.read(BLOCK):
                    hasher.update(block)
            hasher.update(b"\0")
        digest = hasher.hexdigest()
    return BagIdentity(str(root), external_identifier, digest)


def iter_manifest_entries(bag: Path, name: str) -> Iterator[tuple[str, str]]:
    """(path, lower-case hex digest) for each well-formed, safe line of the manifest ``name``.

    Paths are decoded as RFC 8493 says for the bag's BagIt version. Malformed and unsafe lines
    are skipped: reporting them is :func:`cablekeep.fixity.verify.verify_bag`'s job. The file is read
    as a stream, without following a symbolic link.
    """
    codec, strict = _tag_codec(bag)
    try:
        fd = os.open(bag / name, READ_FLAGS)
    except OSError:
        return
    with open(fd, encoding=codec, errors="surrogateescape", newline="") as stream:
        for raw in stream:
            parsed = parse_manifest_line(raw.rstrip("\r\n"))
            if parsed is None:
                continue
            checked = check_path(parsed.path, strict)
            if checked.kind is None:
                yield checked.path, parsed.digest.lower()


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class FixityEvent:
    """One verification, sample audit or repair of one bag. ``id`` is set once recorded.

    ``paths`` names the files a sample hashed, or the files a repair replaced; it is empty for
    a check of the whole bag. ``cycle_started`` is set on the sample run that completes a cycle:
    every payload file has then been hashed at least once since that time.
    """

    event_id: str
    time: datetime
    event_type: str
    bag: BagIdentity
    outcome: str
    mode: str
    algorithms: tuple[str, ...] = ()
    files_checked: int = 0
    bytes_checked: int = 0
    warc_records_checked: int = 0
    problems: tuple[Problem, ...] = ()
    paths: tuple[str, ...] = ()
    agent: str = AGENT
    detail: str = ""
    cycle_started: datetime | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event_type!r}; expected one of {EVENT_TYPES}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of {OUTCOMES}")
        if self.mode not in EVENT_MODES:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {EVENT_MODES}")
        object.__setattr__(self, "time", _as_utc(self.time))

    @classmethod
    def from_report(
        cls,
        report: Report,
        bag: BagIdentity,
        *,
        time: datetime,
        event_id: str,
        event_type: str | None = None,
        problems: Iterable[Problem] | None = None,
        paths: Iterable[str] = (),
        detail: str = "",
        cycle_started: datetime | None = None,
    ) -> FixityEvent:
        """The event for a bag verification (or, with ``event_type="repair"``, the verification
        that ended a repair). By default a fast check is a ``validation``, not a fixity check."""
        if report.mode not in EVENT_MODES:
            raise UsageError(f"a {report.mode} report is not a bag verification; only bags have a fixity history")
        if not detail:
            detail = {
                "full": "every file of the bag hashed against its manifests",
                "fast": "completeness and Payload-Oxum only; no checksum verified",
                "sample": f"a sample of the payload hashed; {report.files_not_sampled} payload files not this time",
            }[report.mode]
        return cls(
            event_id=event_id,
            time=time,
            event_type=event_type or ("validation" if report.mode == "fast" else "fixity check"),
            bag=bag,
            outcome="valid" if report.ok else "invalid",
            mode=report.mode,
            algorithms=report.algorithms,
            files_checked=report.files_checked,
            bytes_checked=report.bytes_checked,
            warc_records_checked=report.warc_records_checked,
            problems=tuple(report.problems if problems is None else problems),
            paths=tuple(paths),
            detail=detail,
            cycle_started=cycle_started,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict in the ``cablekeep.event/1`` schema."""
        return {
            "schema": EVENT_SCHEMA,
            "event_id": self.event_id,
            "time": _time_text(self.time),
            "event_type": self.event_type,
            "bag": {
                "path": self.bag.path,
                "external_identifier": self.bag.external_identifier,
                "tagmanifest_sha256": self.bag.tagmanifest_digest,
            },
            "outcome": self.outcome,
            "mode": self.mode,
            "algorithms": list(self.algorithms),
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "warc_records_checked": self.warc_records_checked,
            "problems": [p.to_json() for p in self.problems],
            "paths": list(self.paths),
            "agent": self.agent,
            "detail": self.detail,
            "cycle_started": None if self.cycle_started is None else _time_text(self.cycle_started),
        }


class InventoryEntry(NamedTuple):
    """One payload file as an audit saw it.

    ``digest``: hex, in the bag's inventory algorithm, when this audit knows the content (hashed
    it, or verified it against the manifest); None keeps the digest stored for the path as long as
    its size is unchanged. ``declared``: the manifest's digest, used when nothing better is known.
    """

    path: str
    size: int
    digest: str | None = None
    declared: str | None = None


class VanishedFile(NamedTuple):
    path: str
    size: int
    digest: str | None


@dataclass(frozen=True)
class InventoryDiff:
    """Payload paths that appeared and vanished since the inventory was stored."""

    algorithm: str | None
    new: tuple[str, ...]
    vanished: tuple[VanishedFile, ...]


@dataclass(frozen=True)
class SamplePlan:
    """The payload files one sample run hashes, and where the run stands in its cycle."""

    paths: tuple[str, ...]
    cycle_started: datetime
    checked_before: int
    population: int
    completes: bool


# --------------------------------------------------------------------------- the database


class FixityHistory:
    """The fixity events, inventories and sample cycles of any number of bags, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self.db.close()
                raise CablekeepError(
                    f"{self.path} was written by a newer cablekeep (history schema {version}); upgrade cablekeep"
                )
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open the fixity history {self.path}: {exc}; choose another with --db") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> FixityHistory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- bags

    def find_bag(self, identity: BagIdentity) -> int | None:
        """The id of the known bag ``identity`` is (see the module docstring), or None."""
        rows = self.db.execute(
            "SELECT id, external_identifier FROM bags WHERE path = ? ORDER BY id DESC", (identity.path,)
        ).fetchall()
        for bag_id, known in rows:
            if known is None or identity.external_identifier is None or known == identity.external_identifier:
                return int(bag_id)
        if identity.tagmanifest_digest is None:
            return None
        rows = self.db.execute(
            "SELECT id, path FROM bags WHERE tagmanifest_digest = ? AND external_identifier IS ? ORDER BY id DESC",
            (identity.tagmanifest_digest, identity.external_identifier),
        ).fetchall()
        for bag_id, old_path in rows:
            if not _holds(old_path, identity.tagmanifest_digest):
                return int(bag_id)  # moved
        return None

    def bag_for(self, identity: BagIdentity) -> int:
        """The id of the bag ``identity`` is, recording it (or its new path) when needed."""
        with self._transaction():
            return self._bag_for(identity)

    def _bag_for(self, identity: BagIdentity) -> int:
        bag_id = self.find_bag(identity)
        if bag_id is None:
            cursor = self.db.execute(
                "INSERT INTO bags (path, external_identifier, tagmanifest_digest) VALUES (?, ?, ?)",
                (identity.path, identity.external_identifier, identity.tagmanifest_digest),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid
        if identity.tagmanifest_digest is not None:
            self.db.execute(
                "UPDATE bags SET path = ?, external_identifier = COALESCE(?, external_identifier), "
                "tagmanifest_digest = ? WHERE id = ?",
                (identity.path, identity.external_identifier, identity.tagmanifest_digest, bag_id),
            )
        return bag_id

    def _lookup(self, bag: Path | BagIdentity) -> int | None:
        if isinstance(bag, BagIdentity):
            return self.find_bag(bag)
        try:
            identity = bag_identity(bag)
        except BagUnreadableError:
            identity = BagIdentity(os.path.abspath(bag), None, None)
        return self.find_bag(identity)

    # -- events

    def record(
        self,
        event: FixityEvent,
        *,
        inventory: Iterable[InventoryEntry] | None = None,
        inventory_algorithm: str | None = None,
        sample: SamplePlan | None = None,
    ) -> int:
        """Store ``event``; returns its row id.

        With ``inventory``, the bag's stored inventory becomes exactly those paths (digests in
        ``inventory_algorithm``), in the same transaction; with ``sample``, the cycle advances.
        """
        with self._transaction():
            bag_id = self._bag_for(event.bag)
            cursor = self.db.execute(
                "INSERT INTO events (event_id, bag_id, time, event_type, bag_path, external_identifier, "
                "tagmanifest_digest, outcome, mode, algorithms, files_checked, bytes_checked, "
                "warc_records_checked, problems, paths, agent, detail, cycle_started) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    bag_id,
                    _time_text(event.time),
                    event.event_type,
                    event.bag.path,
                    event.bag.external_identifier,
                    event.bag.tagmanifest_digest,
                    event.outcome,
                    event.mode,
                    json.dumps(list(event.algorithms)),
                    event.files_checked,
                    event.bytes_checked,
                    event.warc_records_checked,
                    json.dumps([p.to_json() for p in event.problems], ensure_ascii=False),
                    json.dumps(list(event.paths), ensure_ascii=False),
                    event.agent,
                    event.detail,
                    None if event.cycle_started is None else _time_text(event.cycle_started),
                ),
            )
            if inventory is not None:
                self._store_inventory(bag_id, inventory, inventory_algorithm)
            if sample is not None:
                self._advance_cycle(bag_id, sample)
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def iter_events(self, bag: Path | BagIdentity | None = None) -> Iterator[FixityEvent]:
        """Events in time order: all of them, or those of one bag (none for an unknown bag)."""
        if bag is None:
            rows = self.db.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY time, id")
        else:
            bag_id = self._lookup(bag)
            if bag_id is None:
                return
            rows = self.db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE bag_id = ? ORDER BY time, id", (bag_id,))
        for row in rows:
            yield _event_from_row(row)

    def events_for(self, bag: Path | BagIdentity) -> list[FixityEvent]:
        """A bag's events, oldest first, found by its identity (so also after it moved)."""
        return list(self.iter_events(bag))

    def last_full_check(self, bag: Path | BagIdentity) -> datetime | None:
        """When every file of the bag was last hashed: the latest full fixity check that could
        read the bag, or the start of the latest completed sample cycle; None if never."""
        bag_id = self._lookup(bag)
        if bag_id is None:
            return None
        row = self.db.execute(
            "SELECT MAX(t) FROM ("
            " SELECT MAX(time) AS t FROM events WHERE bag_id = ? AND event_type = 'fixity check' AND mode = 'full'"
            " AND outcome != 'unreadable'"
            " UNION ALL SELECT MAX(cycle_started) FROM events WHERE bag_id = ? AND cycle_started IS NOT NULL)",
            (bag_id, bag_id),
        ).fetchone()
        return None if row[0] is None else _parse_time(row[0])

    # -- inventory

    def inventory_diff(self, bag: BagIdentity, listing: Mapping[str, int]) -> InventoryDiff | None:
        """Paths in ``listing`` (path -> size) that the stored inventory lacks, and stored paths
        missing from it. None when the bag has no inventory yet."""
        bag_id = self.find_bag(bag)
        if bag_id is None:
            return None
        row = self.db.execute("SELECT inventory_algorithm FROM bags WHERE id = ?", (bag_id,)).fetchone()
        if self.db.execute("SELECT 1 FROM inventory WHERE bag_id = ? LIMIT 1", (bag_id,)).fetchone() is None:
            return None
        with self._transaction():
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS listing (path TEXT PRIMARY KEY) WITHOUT ROWID")
            self.db.execute("DELETE FROM temp.listing")
            self.db.executemany("INSERT INTO temp.listing (path) VALUES (?)", ((p,) for p in listing))
            new = tuple(
                p
                for (p,) in self.db.execute(
                    "SELECT l.path FROM temp.listing l LEFT JOIN inventory i ON i.bag_id = ? AND i.path = l.path "
                    "WHERE i.path IS NULL ORDER BY l.path",
                    (bag_id,),
                )
            )
            vanished = tuple(
                VanishedFile(p, size, None if digest is None else bytes(digest).hex())
                for p, size, digest in self.db.execute(
                    "SELECT i.path, i.size, i.digest FROM inventory i LEFT JOIN temp.listing l ON l.path = i.path "
                    "WHERE i.bag_id = ? AND l.path IS NULL ORDER BY i.path",
                    (bag_id,),
                )
            )
            self.db.execute("DELETE FROM temp.listing")
        return InventoryDiff(row[0], new, vanished)

    def _store_inventory(self, bag_id: int, entries: Iterable[InventoryEntry], algorithm: str | None) -> None:
        stored = self.db.execute("SELECT inventory_algorithm FROM bags WHERE id = ?", (bag_id,)).fetchone()[0]
        if stored != algorithm:
            self.db.execute("DELETE FROM inventory WHERE bag_id = ?", (bag_id,))  # digests not comparable
            self.db.execute("UPDATE bags SET inventory_algorithm = ? WHERE id = ?", (algorithm, bag_id))
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS current (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
            "digest BLOB, declared BLOB) WITHOUT ROWID"
        )
        self.db.execute("DELETE FROM temp.current")
        self.db.executemany(
            "INSERT INTO temp.current (path, size, digest, declared) VALUES (?, ?, ?, ?)",
            (
                (e.path, e.size, None if e.digest is None else bytes.fromhex(e.digest),
                 None if e.declared is None else bytes.fromhex(e.declared))
                for e in entries
            ),
        )
        self.db.execute(
            "DELETE FROM inventory WHERE bag_id = ? AND path NOT IN (SELECT path FROM temp.current)", (bag_id,)
        )
        self.db.execute(
            "INSERT INTO inventory (bag_id, path, size, digest) "
            "SELECT ?, path, size, COALESCE(digest, declared) FROM temp.current WHERE true "
            "ON CONFLICT (bag_id, path) DO UPDATE SET size = excluded.size, digest = COALESCE("
            " (SELECT digest FROM temp.current c WHERE c.path = excluded.path),"
            " CASE WHEN inventory.size = excluded.size THEN inventory.digest END,"
            " (SELECT declared FROM temp.current c WHERE c.path = excluded.path))",
            (bag_id,),
        )
        self.db.execute("DELETE FROM temp.current")

    # -- sample cycles

    def sample_plan(
        self,
        bag: BagIdentity,
        population: Collection[str],
        fraction: float,
        rng: random.Random,
        now: datetime,
    ) -> SamplePlan:
        """The next sample of ``population`` (the payload files now in the bag).

        Each run takes ``ceil(len(population) * fraction)`` files at random from those the
        current cycle has not hashed yet, so ``ceil(1 / fraction)`` runs hash every file exactly
        once; files added during a cycle join it, files removed leave it. The run that takes
        the last files completes the cycle; the next run starts a new one.
        """
        if not 0 < fraction <= 1:
            raise UsageError(f"a sample is a fraction above 0 and at most 1, not {fraction}")
        bag_id = self.find_bag(bag)
        done: set[str] = set()
        started = now
        if bag_id is not None:
            row = self.db.execute("SELECT cycle_started FROM bags WHERE id = ?", (bag_id,)).fetchone()
            if row[0] is not None:
                started = _parse_time(row[0])
                done = {p for (p,) in self.db.execute("SELECT path FROM cycle_checked WHERE bag_id = ?", (bag_id,))}
        remaining = sorted(p for p in population if p not in done)
        checked_before = len(population) - len(remaining)
        if not remaining and population:  # everything done but the cycle was not closed: start afresh
            remaining, checked_before, started = sorted(population), 0, now
        size = min(len(remaining), math.ceil(len(population) * fraction))
        chosen = tuple(sorted(rng.sample(remaining, size)))
        return SamplePlan(chosen, started, checked_before, len(population), completes=size == len(remaining))

    def _advance_cycle(self, bag_id: int, plan: SamplePlan) -> None:
        if plan.completes:
            self.db.execute("DELETE FROM cycle_checked WHERE bag_id = ?", (bag_id,))
            self.db.execute("UPDATE bags SET cycle_started = NULL WHERE id = ?", (bag_id,))
            return
        if plan.checked_before == 0:
            self.db.execute("DELETE FROM cycle_checked WHERE bag_id = ?", (bag_id,))
        self.db.execute("UPDATE bags SET cycle_started = ? WHERE id = ?", (_time_text(plan.cycle_started), bag_id))
        self.db.executemany(
            "INSERT OR IGNORE INTO cycle_checked (bag_id, path) VALUES (?, ?)", ((bag_id, p) for p in plan.paths)
        )

    # -- transactions

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); nested uses join the outer one."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.outer:
            return
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _holds(path: str, tagmanifest_digest: str) -> bool:
    """True when ``path`` still holds a bag with these tag manifests."""
    try:
        return bag_identity(Path(path)).tagmanifest_digest == tagmanifest_digest
    except BagUnreadableError:
        return False


_EVENT_COLUMNS = (
    "id, event_id, time, event_type, bag_path, external_identifier, tagmanifest_digest, outcome, mode, "
    "algorithms, files_checked, bytes_checked, warc_records_checked, problems, paths, agent, detail, cycle_started"
)


def _problem_from_json(data: dict[str, object]) -> Problem:
    def text(name: str) -> str | None:
        value = data.get(name)
        return None if value is None else str(value)

    offset = data.get("offset")
    return Problem(
        problem_kind(str(data["kind"])),
        str(data["path"]),
        str(data["detail"]),
        algorithm=text("algorithm"),
        expected=text("expected"),
        found=text("found"),
        offset=offset if isinstance(offset, int) else None,
        record_id=text("record_id"),
    )


def _event_from_row(row: tuple[object, ...]) -> FixityEvent:
    (row_id, event_id, time, event_type, path, ext_id, tm_digest, outcome, mode, algorithms, files, size,
     records, problems, paths, agent, detail, cycle_started) = row
    return FixityEvent(
        event_id=str(event_id),
        time=_parse_time(str(time)),
        event_type=str(event_type),
        bag=BagIdentity(str(path), None if ext_id is None else str(ext_id), None if tm_digest is None else str(tm_digest)),
        outcome=str(outcome),
        mode=str(mode),
        algorithms=tuple(json.loads(str(algorithms))),
        files_checked=int(str(files)),
        bytes_checked=int(str(size)),
        warc_records_checked=int(str(records)),
        problems=tuple(_problem_from_json(p) for p in json.loads(str(problems))),
        paths=tuple(json.loads(str(paths))),
        agent=str(agent),
        detail=str(detail),
        cycle_started=None if cycle_started is None else _parse_time(str(cycle_started)),
        id=int(str(row_id)),
    )


# --------------------------------------------------------------------------- exports


def export_jsonl(events: Iterable[FixityEvent], out: IO[str]) -> int:
    """Write one ``cablekeep.event/1`` JSON object a line; returns the number written."""
    count = 0
    for event in events:
        out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        count += 1
    return count


@dataclass
class _Xml:
    gen: XMLGenerator
    depth: int = 0
    qnames: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def start(self, name: str, attrs: Mapping[str, str] | None = None) -> None:
        values: dict[tuple[str | None, str], str] = {}
        qnames: dict[tuple[str | None, str], str] = {}
        for key, value in (attrs or {}).items():
            ns, local = (XSI_NS, key[4:]) if key.startswith("xsi:") else (None, key)
            values[(ns, local)] = value
            qnames[(ns, local)] = key
        if self.depth:
            self.gen.ignorableWhitespace("\n" + "  " * self.depth)
        self.gen.startElementNS((PREMIS_NS, name), f"premis:{name}", AttributesNSImpl(values, qnames))
        self.depth += 1

    def end(self, name: str, *, inline: bool = False) -> None:
        self.depth -= 1
        if not inline:
            self.gen.ignorableWhitespace("\n" + "  " * self.depth)
        self.gen.endElementNS((PREMIS_NS, name), f"premis:{name}")

    def leaf(self, name: str, text: str, attrs: Mapping[str, str] | None = None) -> None:
        self.start(name, attrs)
        self.gen.characters(_xml_safe(text))
        self.end(name, inline=True)

    def identifier(self, name: str, kind: str, value: str) -> None:
        self.start(name)
        self.leaf(f"{name}Type", kind)
        self.leaf(f"{name}Value", value)
        self.end(name)


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters or lone surrogates; show them escaped."""
    return "".join(
        c if (c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff")
        else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
        for c in text
    )


def _object_identifier(bag: BagIdentity) -> tuple[str, str]:
    if bag.external_identifier:
        kind = "URN" if bag.external_identifier.lower().startswith("urn:") else "BagIt External-Identifier"
        return kind, bag.external_identifier
    return "local path", bag.path


def _vocabulary(scheme: str, code: str) -> dict[str, str]:
    return {"authority": scheme, "authorityURI": f"{_LOC}/{scheme}", "valueURI": f"{_LOC}/{scheme}/{code}"}


def _problem_note(problem: Problem) -> str:
    note = f"{problem.kind}: {problem.path}: {problem.detail}"
    if problem.algorithm:
        note += f" [{problem.algorithm}"
        if problem.expected or problem.found:
            note += f" expected {problem.expected} found {problem.found}"
        note += "]"
    if problem.offset is not None:
        note += f" [offset {problem.offset}]"
    return note


def export_premis(events: Iterable[FixityEvent], out: IO[bytes]) -> int:
    """Write the events as a PREMIS 3.0 document; returns the number of events written.

    One ``object`` (a ``representation``) per bag, identified by its External-Identifier (or
    its path), then one ``event`` per event, then one ``agent`` per cablekeep version, in the
    order the PREMIS 3 schema requires. Raises :class:`UsageError` when there are no events:
    a PREMIS document must describe at least one object.
    """
    events = list(events)
    if not events:
        raise UsageError("there are no fixity events to export; verify or audit a bag first")
    objects = list(dict.fromkeys(_object_identifier(e.bag) for e in events))
    agents = list(dict.fromkeys(e.agent for e in events))
    gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
    xml = _Xml(gen)
    gen.startDocument()
    gen.startPrefixMapping("premis", PREMIS_NS)
    gen.startPrefixMapping("xsi", XSI_NS)
    xml.start("premis", {"version": "3.0", "xsi:schemaLocation": f"{PREMIS_NS} https://www.loc.gov/standards/premis/premis.xsd"})
    for kind, value in objects:
        xml.start("object", {"xsi:type": "premis:representation"})
        xml.identifier("objectIdentifier", kind, value)
        xml.end("object")
    for event in events:
        term, code = PREMIS_EVENT_TYPES[event.event_type]
        xml.start("event")
        xml.identifier("eventIdentifier", "UUID", event.event_id)
        xml.leaf("eventType", term, _vocabulary("eventType", code))
        xml.leaf("eventDateTime", event.time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        xml.start("eventDetailInformation")
        algorithms = ", ".join(event.algorithms) or "none"
        xml.leaf(
            "eventDetail",
            f"{event.event_type} ({event.mode}) of the bag at {event.bag.path}; {event.detail}; algorithms: "
            f"{algorithms}; tag manifests sha256 {event.bag.tagmanifest_digest or 'unknown'}",
        )
        xml.end("eventDetailInformation")
        xml.start("eventOutcomeInformation")
        xml.leaf("eventOutcome", event.outcome)
        notes = [
            f"{event.files_checked} files, {event.bytes_checked} bytes and {event.warc_records_checked} WARC "
            f"records checked; {len(event.problems)} problems"
        ]
        if event.paths:
            notes.append(("files replaced: " if event.event_type == "repair" else "files hashed: ") + ", ".join(event.paths))
        notes.extend(_problem_note(p) for p in event.problems)
        for note in notes:
            xml.start("eventOutcomeDetail")
            xml.leaf("eventOutcomeDetailNote", note)
            xml.end("eventOutcomeDetail")
        xml.end("eventOutcomeInformation")
        xml.start("linkingAgentIdentifier")
        xml.leaf("linkingAgentIdentifierType", "local")
        xml.leaf("linkingAgentIdentifierValue", event.agent)
        xml.leaf("linkingAgentRole", "executing program", _vocabulary("eventRelatedAgentRole", "exe"))
        xml.end("linkingAgentIdentifier")
        kind, value = _object_identifier(event.bag)
        xml.start("linkingObjectIdentifier")
        xml.leaf("linkingObjectIdentifierType", kind)
        xml.leaf("linkingObjectIdentifierValue", value)
        role = ("outcome", "out") if event.event_type == "repair" else ("source", "sou")
        xml.leaf("linkingObjectRole", role[0], _vocabulary("eventRelatedObjectRole", role[1]))
        xml.end("linkingObjectIdentifier")
        xml.end("event")
    for agent in agents:
        name, _, version = agent.partition(" ")
        xml.start("agent")
        xml.identifier("agentIdentifier", "local", agent)
        xml.leaf("agentName", name)
        xml.leaf("agentType", "software", _vocabulary("agentType", "sof"))
        if version:
            xml.leaf("agentVersion", version)
        xml.end("agent")
    xml.end("premis")
    gen.ignorableWhitespace("\n")
    gen.endPrefixMapping("xsi")
    gen.endPrefixMapping("premis")
    gen.endDocument()
    return len(events)
