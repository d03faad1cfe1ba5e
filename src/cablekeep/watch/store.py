"""The link-rot history: one row per archived URL per check, in its own SQLite file.

By default ``$XDG_DATA_HOME/cablekeep/linkrot.sqlite``, beside the fixity history (the CLI picks the
path; nothing here reads the environment). A file of its own rather than a table in ``fixity.sqlite``:
a check of 10,000 URLs writes 10,000 rows each time, while the fixity history is an audit trail of a
few events per bag that is exported as PREMIS, backed up and migrated on its own schema version; the
two are written by different commands at different times and neither should lock the other.

Per URL (by SURT key) the latest class is kept with ``class_since`` (the first check of the current run
of that class) and ``bad_since`` (the first check at which the URL turned bad: moved, gone, soft-404,
server-error or unreachable; kept through later bad checks and through "blocked", which says nothing
either way; cleared when the URL answers as archived or changed again). Each result row carries both
as they were at that check, so a URL's whole story reads back from its rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from ..errors import OutputError
from .archive import ArchivedCapture
from .classify import BAD_CLASSES, Verdict

SCHEMA_VERSION = 1
COMMIT_EVERY = 500  # results written in one transaction
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, bags TEXT NOT NULL, counts TEXT
);
CREATE TABLE IF NOT EXISTS urls (
    surt TEXT PRIMARY KEY, url TEXT NOT NULL, last_class TEXT NOT NULL, class_since TEXT NOT NULL, bad_since TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY, check_id INTEGER NOT NULL REFERENCES checks (id), time TEXT NOT NULL,
    surt TEXT NOT NULL, url TEXT NOT NULL, host TEXT NOT NULL, collection TEXT NOT NULL, cable_id TEXT,
    link_class TEXT NOT NULL, reason TEXT NOT NULL, final_url TEXT, status INTEGER, similarity REAL,
    field_changes TEXT NOT NULL, class_since TEXT NOT NULL, bad_since TEXT,
    archived_time TEXT NOT NULL, bag TEXT NOT NULL, warc_file TEXT NOT NULL, warc_offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS results_surt ON results (surt, check_id);
CREATE INDEX IF NOT EXISTS results_check ON results (check_id);
"""
_COLUMNS = ("check_id", "time", "surt", "url", "host", "collection", "cable_id", "link_class", "reason", "final_url",
            "status", "similarity", "field_changes", "class_since", "bad_since", "archived_time", "bag", "warc_file",
            "warc_offset")


def time_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ResultRow:
    """One URL at one check, as stored."""

    check_id: int
    time: str
    surt: str
    url: str
    host: str
    collection: str
    cable_id: str | None
    link_class: str
    reason: str
    final_url: str | None
    status: int | None
    similarity: float | None
    field_changes: tuple[Mapping[str, object], ...]
    class_since: str
    bad_since: str | None
    archived_time: str  # 14 digits, UTC
    bag: str
    warc_file: str
    warc_offset: int

    def to_json(self) -> dict[str, object]:
        row = {name: getattr(self, name) for name in _COLUMNS}
        row["class"] = row.pop("link_class")
        row["field_changes"] = list(self.field_changes)
        return row


@dataclass(frozen=True)
class CheckRow:
    id: int
    started: str
    finished: str | None
    bags: tuple[str, ...]
    counts: Mapping[str, int]


class LinkRotHistory:
    """The link-rot history in one SQLite file; several processes may share it (WAL, a busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"{path}: cannot open the link-rot history: {exc}; pass another --db") from exc
        self._pending = 0

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    def __enter__(self) -> LinkRotHistory:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def start_check(self, started: datetime, bags: list[str]) -> int:
        cursor = self.db.execute("INSERT INTO checks (started, bags) VALUES (?, ?)",
                                 (time_text(started), json.dumps(bags)))
        self.db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def record(self, check_id: int, when: datetime, capture: ArchivedCapture, verdict: Verdict) -> ResultRow:
        """Store one URL's result; its "since" dates follow from its previous row."""
        now = time_text(when)
        cls = verdict.link_class
        previous = self.db.execute("SELECT last_class, class_since, bad_since FROM urls WHERE surt = ?",
                                   (capture.surt,)).fetchone()
        last_class, class_since, bad_since = previous if previous is not None else (None, None, None)
        class_since = str(class_since) if last_class == cls and class_since else now
        if cls in BAD_CLASSES:
            bad_since = bad_since or now
        elif cls != "blocked":
            bad_since = None
        self.db.execute("INSERT OR REPLACE INTO urls VALUES (?, ?, ?, ?, ?)",
                        (capture.surt, capture.url, cls, class_since, bad_since))
        changes = tuple({"field": c.name, "old": c.old, "new": c.new} for c in verdict.field_changes)
        row = ResultRow(
            check_id, now, capture.surt, capture.url, capture.host, capture.collection, capture.cable_id, cls,
            verdict.reason, verdict.final_url, verdict.status, verdict.similarity, changes, class_since, bad_since,
            capture.timestamp, str(capture.bag), capture.filename, capture.offset,
        )
        values = [getattr(row, name) for name in _COLUMNS]
        values[_COLUMNS.index("field_changes")] = json.dumps(list(changes), ensure_ascii=False)
        self.db.execute(f"INSERT INTO results ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                        values)
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.db.commit()
            self._pending = 0
        return row

    def finish_check(self, check_id: int, finished: datetime, counts: Mapping[str, int]) -> None:
        self.db.execute("UPDATE checks SET finished = ?, counts = ? WHERE id = ?",
                        (time_text(finished), json.dumps(dict(counts)), check_id))
        self.db.commit()
        self._pending = 0

    # -- reading -------------------------------------------------------------------------------

    def iter_checks(self) -> Iterator[CheckRow]:
        for id_, started, finished, bags, counts in self.db.execute(
                "SELECT id, started, finished, bags, counts FROM checks ORDER BY id"):
            yield CheckRow(int(id_), str(started), finished, tuple(json.loads(bags)), json.loads(counts or "{}"))

    def _rows(self, where: str, args: tuple[object, ...]) -> Iterator[ResultRow]:
        cursor = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM results r {where}", args)
        for values in cursor:
            fields = dict(zip(_COLUMNS, values))
            fields["field_changes"] = tuple(json.loads(str(fields["field_changes"])))
            yield ResultRow(**fields)

    def iter_history(self, url_surt: str) -> Iterator[ResultRow]:
        """Every result of one URL, oldest first."""
        return self._rows("WHERE surt = ? ORDER BY check_id", (url_surt,))

    def iter_check(self, check_id: int) -> Iterator[ResultRow]:
        return self._rows("WHERE check_id = ? ORDER BY host, surt", (check_id,))

    def iter_latest(self, collection: str | None = None) -> Iterator[ResultRow]:
        """Each URL's latest result (of the collection, when given), by host and URL, streamed."""
        where = "WHERE r.id = (SELECT MAX(id) FROM results WHERE surt = r.surt)"
        if collection is not None:
            return self._rows(where + " AND r.collection = ? ORDER BY host, surt", (collection,))
        return self._rows(where + " ORDER BY host, surt", ())

    def class_counts(self, collection: str | None = None) -> Iterator[tuple[int, str, dict[str, int]]]:
        """(check id, started, URLs per class) for every check, oldest first."""
        sql = ("SELECT c.id, c.started, r.link_class, COUNT(*) FROM checks c JOIN results r ON r.check_id = c.id "
               + ("WHERE r.collection = ? " if collection else "") + "GROUP BY c.id, r.link_class ORDER BY c.id")
        current: tuple[int, str] | None = None
        counts: dict[str, int] = {}
        for check_id, started, cls, n in self.db.execute(sql, (collection,) if collection else ()):
            if current is not None and current[0] != check_id:
                yield current[0], current[1], counts
                counts = {}
            current = (int(check_id), str(started))
            counts[str(cls)] = int(n)
        if current is not None:
            yield current[0], current[1], counts
