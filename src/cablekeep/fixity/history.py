"""The fixity history: every verification, audit and repair of a bag, kept in one SQLite file.

:class:`FixityHistory` stores :class:`~cablekeep.fixity.events.FixityEvent` objects, with two more things
per bag that audits need: the **inventory** of the bag as last audited (bag path -> size and one digest,
so the next audit can name files renamed, added and removed) and the **sample cycle** (which files a
cycle of sample audits has already hashed).

**One history per copy.** A bag is known by its External-Identifier and its location
(:func:`~cablekeep.fixity.identity.bag_identity`): two copies of one bag in two places have a history
each, so one copy's failure never shows up as the other's. A bag found at a new path with the tag
manifests and External-Identifier of a known copy is that copy moved -- only when the copy's old
location no longer holds it: the old path is gone, or holds a bag with another identifier. A copy
whose tag manifests were damaged, or whose folder cannot be listed, is still there.
:meth:`FixityHistory.copies` lists the copies of one identifier.

**Any file name.** Every text stored (paths, problems, details) is written through
:func:`~cablekeep.fixity.names.escape_name`, so names that are not UTF-8 or hold a newline are kept
exactly and read back as they were.

**Compact.** An event keeps the first problems of each kind and a count per kind
(:class:`~cablekeep.fixity.events.FixityEvent`); :meth:`FixityHistory.iter_events` reads one
row at a time, so listing and exporting stay flat in memory however long the history.

The database path is the caller's choice (the CLI picks one); nothing here reads the
environment. Several processes may share the file (WAL mode, a busy timeout); each event is
written in one transaction together with the inventory and sample cycle it updates. A database
that cannot be written raises :class:`~cablekeep.errors.OutputError`; one that is only read
(``cablekeep history``) may be read-only.
Exporting the events is :mod:`cablekeep.fixity.exports`' job.
"""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from ..errors import BagUnreadableError, CablekeepError, OutputError, UsageError
from .events import FixityEvent, parse_time, problem_json, time_text
from .identity import BagIdentity, bag_identity
from .names import escape_name, unescape_name
from .report import Problem, problem_kind

# 2: events.problem_counts (problems listed: the first of each kind).
SCHEMA_VERSION = 2

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
CREATE INDEX IF NOT EXISTS bags_identifier ON bags (external_identifier);
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
    cycle_started TEXT,
    problem_counts TEXT
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
class BagCopy:
    """One copy of a bag the history knows: where it is, and what its events say."""

    bag_id: int
    path: str
    external_identifier: str | None
    events: int
    last_time: datetime | None
    last_outcome: str | None


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
            if version < SCHEMA_VERSION:  # a new file, or an older schema: only then is anything written
                self._upgrade()
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open the fixity history {self.path}: {exc}; choose another with --db") from exc

    def _upgrade(self) -> None:
        """Create the tables, or bring a schema-1 file to this schema (once, whoever gets there first)."""
        with self._transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            if version == 1:
                self.db.execute("ALTER TABLE events ADD COLUMN problem_counts TEXT")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        stored = _stored_identity(identity)
        rows = self.db.execute(
            "SELECT id, external_identifier FROM bags WHERE path = ? ORDER BY id DESC", (stored.path,)
        ).fetchall()
        for bag_id, known in rows:
            if known is None or stored.external_identifier is None or known == stored.external_identifier:
                return int(bag_id)
        if identity.tagmanifest_digest is None:
            return None
        rows = self.db.execute(
            "SELECT id, path FROM bags WHERE tagmanifest_digest = ? AND external_identifier IS ? ORDER BY id DESC",
            (identity.tagmanifest_digest, stored.external_identifier),
        ).fetchall()
        for bag_id, old_path in rows:
            if not _still_holds(unescape_name(old_path), identity):
                return int(bag_id)  # moved
        return None

    def copies(self, external_identifier: str) -> list[BagCopy]:
        """Every copy of the bag with this External-Identifier, in the order first seen."""
        rows = self.db.execute(
            "SELECT b.id, b.path, b.external_identifier, COUNT(e.id), MAX(e.time), "
            " (SELECT outcome FROM events l WHERE l.bag_id = b.id ORDER BY l.time DESC, l.id DESC LIMIT 1) "
            "FROM bags b LEFT JOIN events e ON e.bag_id = b.id WHERE b.external_identifier = ? "
            "GROUP BY b.id ORDER BY b.id",
            (escape_name(external_identifier),),
        )
        return [
            BagCopy(int(bag_id), unescape_name(path), None if ext is None else unescape_name(ext), int(count),
                    None if last is None else parse_time(last), outcome)
            for bag_id, path, ext, count, last, outcome in rows
        ]

    def identifier_of(self, bag: Path | BagIdentity) -> str | None:
        """The External-Identifier the history knows ``bag`` by (None: unknown bag, or none)."""
        bag_id = self._lookup(bag)
        if bag_id is None:
            return None
        (known,) = self.db.execute("SELECT external_identifier FROM bags WHERE id = ?", (bag_id,)).fetchone()
        return None if known is None else unescape_name(known)

    def bag_for(self, identity: BagIdentity) -> int:
        """The id of the bag ``identity`` is, recording it (or its new path) when needed."""
        with self._transaction():
            return self._bag_for(identity)

    def _bag_for(self, identity: BagIdentity) -> int:
        bag_id = self.find_bag(identity)
        stored = _stored_identity(identity)
        if bag_id is None:
            cursor = self.db.execute(
                "INSERT INTO bags (path, external_identifier, tagmanifest_digest) VALUES (?, ?, ?)",
                (stored.path, stored.external_identifier, stored.tagmanifest_digest),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid
        if identity.tagmanifest_digest is not None:
            self.db.execute(
                "UPDATE bags SET path = ?, external_identifier = COALESCE(?, external_identifier), "
                "tagmanifest_digest = ? WHERE id = ?",
                (stored.path, stored.external_identifier, stored.tagmanifest_digest, bag_id),
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
        Raises :class:`OutputError` when the database cannot be written (nothing is then recorded).
        """
        try:
            return self._record(event, inventory, inventory_algorithm, sample)
        except sqlite3.Error as exc:
            raise OutputError(
                f"cannot record the fixity event in {self.path}: {exc}; choose another history with --db"
            ) from exc

    def _record(
        self,
        event: FixityEvent,
        inventory: Iterable[InventoryEntry] | None,
        inventory_algorithm: str | None,
        sample: SamplePlan | None,
    ) -> int:
        stored = _stored_identity(event.bag)
        with self._transaction():
            bag_id = self._bag_for(event.bag)
            cursor = self.db.execute(
                "INSERT INTO events (event_id, bag_id, time, event_type, bag_path, external_identifier, "
                "tagmanifest_digest, outcome, mode, algorithms, files_checked, bytes_checked, "
                "warc_records_checked, problems, paths, agent, detail, cycle_started, problem_counts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    bag_id,
                    time_text(event.time),
                    event.event_type,
                    stored.path,
                    stored.external_identifier,
                    stored.tagmanifest_digest,
                    event.outcome,
                    event.mode,
                    json.dumps(list(event.algorithms)),
                    event.files_checked,
                    event.bytes_checked,
                    event.warc_records_checked,
                    json.dumps([problem_json(p) for p in event.problems], ensure_ascii=False),
                    json.dumps([escape_name(p) for p in event.paths], ensure_ascii=False),
                    event.agent,
                    escape_name(event.detail),
                    None if event.cycle_started is None else time_text(event.cycle_started),
                    json.dumps(event.counts),
                ),
            )
            if inventory is not None:
                self._store_inventory(bag_id, inventory, inventory_algorithm)
            if sample is not None:
                self._advance_cycle(bag_id, sample)
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def iter_events(
        self, bag: Path | BagIdentity | BagCopy | None = None, *, identifier: str | None = None
    ) -> Iterator[FixityEvent]:
        """Events in time order, read one row at a time: all of them, those of one copy of a bag
        (none for an unknown bag), or with ``identifier`` those of every copy of that bag."""
        if identifier is not None:
            rows = self.db.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE bag_id IN "
                "(SELECT id FROM bags WHERE external_identifier = ?) ORDER BY time, id",
                (escape_name(identifier),),
            )
        elif bag is None:
            rows = self.db.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY time, id")
        else:
            bag_id = bag.bag_id if isinstance(bag, BagCopy) else self._lookup(bag)
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
        return None if row[0] is None else parse_time(row[0])

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
            self.db.executemany("INSERT INTO temp.listing (path) VALUES (?)", ((escape_name(p),) for p in listing))
            new = tuple(
                unescape_name(p)
                for (p,) in self.db.execute(
                    "SELECT l.path FROM temp.listing l LEFT JOIN inventory i ON i.bag_id = ? AND i.path = l.path "
                    "WHERE i.path IS NULL ORDER BY l.path",
                    (bag_id,),
                )
            )
            vanished = tuple(
                VanishedFile(unescape_name(p), size, None if digest is None else bytes(digest).hex())
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
                (escape_name(e.path), e.size, None if e.digest is None else bytes.fromhex(e.digest),
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
                started = parse_time(row[0])
                done = {
                    unescape_name(p)
                    for (p,) in self.db.execute("SELECT path FROM cycle_checked WHERE bag_id = ?", (bag_id,))
                }
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
        self.db.execute("UPDATE bags SET cycle_started = ? WHERE id = ?", (time_text(plan.cycle_started), bag_id))
        self.db.executemany(
            "INSERT OR IGNORE INTO cycle_checked (bag_id, path) VALUES (?, ?)",
            ((bag_id, escape_name(p)) for p in plan.paths),
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


def _stored_identity(identity: BagIdentity) -> BagIdentity:
    """``identity`` as the database holds it: path and identifier escaped."""
    ext = identity.external_identifier
    return BagIdentity(escape_name(identity.path), None if ext is None else escape_name(ext), identity.tagmanifest_digest)


def _still_holds(path: str, identity: BagIdentity) -> bool:
    """True when ``path``, a known copy's location, still holds that copy, so that ``identity``
    (found elsewhere) is a second copy and not the first one moved.

    A copy is still there when its folder cannot be listed (unreachable is not moved), or holds a
    bag with the same External-Identifier, whatever its tag manifests now say (damaged is not
    moved). A bag without External-Identifier is still there when its tag manifests are."""
    if not os.path.isdir(path):
        return False
    try:
        there = bag_identity(Path(path))
    except BagUnreadableError:
        return True
    if identity.external_identifier is None:
        return there.tagmanifest_digest == identity.tagmanifest_digest
    return there.external_identifier == identity.external_identifier


_EVENT_COLUMNS = (
    "id, event_id, time, event_type, bag_path, external_identifier, tagmanifest_digest, outcome, mode, "
    "algorithms, files_checked, bytes_checked, warc_records_checked, problems, paths, agent, detail, cycle_started, "
    "problem_counts"
)


def _problem_from_json(data: dict[str, object]) -> Problem:
    def text(name: str) -> str | None:
        value = data.get(name)
        return None if value is None else unescape_name(str(value))

    offset = data.get("offset")
    return Problem(
        problem_kind(str(data["kind"])),
        unescape_name(str(data["path"])),
        unescape_name(str(data["detail"])),
        algorithm=text("algorithm"),
        expected=text("expected"),
        found=text("found"),
        offset=offset if isinstance(offset, int) else None,
        record_id=text("record_id"),
    )


def _event_from_row(row: tuple[object, ...]) -> FixityEvent:
    (row_id, event_id, time, event_type, path, ext_id, tm_digest, outcome, mode, algorithms, files, size,
     records, problems, paths, agent, detail, cycle_started, counts) = row
    return FixityEvent(
        event_id=str(event_id),
        time=parse_time(str(time)),
        event_type=str(event_type),
        bag=BagIdentity(
            unescape_name(str(path)),
            None if ext_id is None else unescape_name(str(ext_id)),
            None if tm_digest is None else str(tm_digest),
        ),
        outcome=str(outcome),
        mode=str(mode),
        algorithms=tuple(json.loads(str(algorithms))),
        files_checked=int(str(files)),
        bytes_checked=int(str(size)),
        warc_records_checked=int(str(records)),
        problems=tuple(_problem_from_json(p) for p in json.loads(str(problems))),
        paths=tuple(unescape_name(p) for p in json.loads(str(paths))),
        agent=str(agent),
        detail=unescape_name(str(detail)),
        cycle_started=None if cycle_started is None else parse_time(str(cycle_started)),
        id=int(str(row_id)),
        problem_counts=None if counts is None else json.loads(str(counts)),  # None: schema 1, all listed
    )

