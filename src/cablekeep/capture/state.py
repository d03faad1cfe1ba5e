"""The crawl's state in SQLite: the frontier, the logs, the WARC files and how far each is complete.

One database per crawl in its work directory. Only the crawl's coordinating thread touches it.
A URL is ``queued`` until its records are written and the WARC offset that holds them is
committed in the same transaction as its ``done`` mark, so after a crash (even ``kill -9``)
every URL is either done with its records in a WARC, or queued and fetched again.
Nothing here is held in memory per URL: the frontier, the crawl log, the cable records and the
index lines all live in tables and are streamed out when the bag is made.
"""

from __future__ import annotations

import json
import sqlite3
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..errors import OutputError

BATCH_ROWS = 2_000  # rows of a kind held before they are written anyway
P = ParamSpec("P")
R = TypeVar("R")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS urls (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    depth INTEGER NOT NULL,
    hop TEXT NOT NULL,
    via TEXT,
    redirects INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued',
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS urls_via ON urls (via);
CREATE TABLE IF NOT EXISTS citations (
    id INTEGER PRIMARY KEY, citing TEXT NOT NULL, citing_url TEXT NOT NULL, written TEXT NOT NULL,
    cable_id TEXT NOT NULL, url TEXT, key TEXT, had_year INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS citations_key ON citations (key);
CREATE TABLE IF NOT EXISTS originals (cable_id TEXT PRIMARY KEY, url TEXT NOT NULL, fields TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS urls_queue ON urls (state, id);
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cables (id INTEGER PRIMARY KEY, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captures (id INTEGER PRIMARY KEY, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS digests (
    digest TEXT PRIMARY KEY, url TEXT NOT NULL, date TEXT NOT NULL, record_id TEXT, bag TEXT
);
CREATE TABLE IF NOT EXISTS robots (host TEXT PRIMARY KEY, status INTEGER, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS warc_files (
    name TEXT PRIMARY KEY,
    serial INTEGER NOT NULL,
    state TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True, slots=True)  # a frontier window holds 10,000 of them
class QueuedUrl:
    id: int
    key: str
    url: str
    host: str
    depth: int
    hop: str
    via: str | None
    redirects: int

    def __reduce__(self) -> tuple[type[QueuedUrl], tuple[object, ...]]:
        # sent to fetch workers: by its fields, not slot by slot through dataclasses' __setstate__
        return (QueuedUrl, (self.id, self.key, self.url, self.host, self.depth, self.hop, self.via, self.redirects))


class CrawlState:
    """The SQLite database of one crawl."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level="DEFERRED")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.commit()
        # Rows written for every fetch, batched until the next read of their table or commit
        # (executemany): the same transactions, a fraction of the calls.
        self._done: list[tuple[str, int]] = []
        self._logs: list[tuple[str]] = []
        self._captures: list[tuple[str]] = []

    def _flush(self) -> None:
        if self._done:
            self.db.executemany("UPDATE urls SET state = 'done', outcome = ? WHERE id = ?", self._done)
            self._done = []
        if self._logs:
            self.db.executemany("INSERT INTO log (line) VALUES (?)", self._logs)
            self._logs = []
        if self._captures:
            self.db.executemany("INSERT INTO captures (line) VALUES (?)", self._captures)
            self._captures = []

    def _batched(self, rows: list[Any], row: Any) -> None:
        rows.append(row)
        if len(rows) >= BATCH_ROWS:
            self._flush()

    def close(self) -> None:
        self.commit()
        self.db.close()

    def abandon(self) -> None:
        """Close without committing: after a failure, the last commit is the truth."""
        self._done, self._logs, self._captures = [], [], []
        try:
            self.db.rollback()
        finally:
            self.db.close()

    def commit(self) -> None:
        self._flush()
        self.db.commit()

    # -- meta --------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def has_key_with_prefix(self, prefix: str) -> bool:
        """Whether some meta key starts with ``prefix`` (a range of the primary key, not a scan)."""
        row = self.db.execute("SELECT 1 FROM meta WHERE key >= ? AND key < ? LIMIT 1",
                              (prefix, prefix + "\U0010ffff")).fetchone()
        return row is not None

    def set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- frontier ----------------------------------------------------------------------------

    def add_url(
        self, key: str, url: str, host: str, depth: int, hop: str, via: str | None, redirects: int = 0
    ) -> bool:
        """Queue a URL unless its key was seen before; True when it was new."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO urls (key, url, host, depth, hop, via, redirects) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, url, host, depth, hop, via, redirects),
        )
        return cursor.rowcount == 1

    def add_done(
        self, key: str, url: str, host: str, depth: int, hop: str, via: str | None, outcome: str = "out-of-scope"
    ) -> bool:
        """Record a URL that will not be fetched (out of scope) so it is judged once."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO urls (key, url, host, depth, hop, via, state, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, 'done', ?)",
            (key, url, host, depth, hop, via, outcome),
        )
        return cursor.rowcount == 1

    def seen(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM urls WHERE key = ?", (key,)).fetchone() is not None

    def redirect_chain(self, key: str, limit: int) -> list[str]:
        """Keys of ``key`` and the URLs that redirected to it, walking ``via`` back ``limit`` hops."""
        self._flush()
        chain = [key]
        row = self.db.execute("SELECT via, redirects FROM urls WHERE key = ?", (key,)).fetchone()
        while row is not None and row[0] is not None and int(row[1]) > 0 and len(chain) <= limit:
            row = self.db.execute("SELECT key, via, redirects FROM urls WHERE url = ?", (row[0],)).fetchone()
            if row is None:
                break
            chain.append(str(row[0]))
            row = (row[1], row[2])
        return chain

    def iter_queued(self, limit: int, after_id: int = 0) -> list[QueuedUrl]:
        self._flush()
        rows = self.db.execute(
            "SELECT id, key, url, host, depth, hop, via, redirects FROM urls "
            "WHERE state = 'queued' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [QueuedUrl(*row) for row in rows]

    def queued_count(self) -> int:
        self._flush()
        return int(self.db.execute("SELECT COUNT(*) FROM urls WHERE state = 'queued'").fetchone()[0])

    def mark_done(self, url_id: int, outcome: str) -> None:
        self._batched(self._done, (outcome, url_id))

    def url_outcome(self, key: str) -> tuple[str, str, str | None] | None:
        """(url, state, outcome) of a URL by its key."""
        self._flush()
        row = self.db.execute("SELECT url, state, outcome FROM urls WHERE key = ?", (key,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), row[2])

    def redirect_target(self, url: str) -> tuple[str, str, str | None] | None:
        """(url, state, outcome) of the URL that ``url`` redirected to."""
        self._flush()
        row = self.db.execute(
            "SELECT url, state, outcome FROM urls WHERE via = ? AND redirects > 0 ORDER BY id LIMIT 1", (url,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), row[2])

    # -- what pages said ---------------------------------------------------------------------

    def add_citation(
        self, citing: str, citing_url: str, written: str, cable_id: str, url: str | None, key: str | None, had_year: bool
    ) -> None:
        self.db.execute(
            "INSERT INTO citations (citing, citing_url, written, cable_id, url, key, had_year) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (citing, citing_url, written, cable_id, url, key, int(had_year)),
        )

    def yearless_citations_of(self, key: str) -> list[str]:
        """Cable IDs cited without a year that resolved to the URL with ``key``."""
        rows = self.db.execute("SELECT DISTINCT cable_id FROM citations WHERE key = ? AND had_year = 0", (key,))
        return [str(row[0]) for row in rows]

    def iter_citations(self) -> Iterator[tuple[str, str, str, str, str | None, str | None, bool]]:
        cursor = self.db.execute(
            "SELECT citing, citing_url, written, cable_id, url, key, had_year FROM citations ORDER BY id"
        )
        for citing, citing_url, written, cable_id, url, key, had_year in cursor:
            yield str(citing), str(citing_url), str(written), str(cable_id), url, key, bool(had_year)

    def add_original(self, cable_id: str, url: str, fields: dict[str, str]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO originals (cable_id, url, fields) VALUES (?, ?, ?)",
            (cable_id, url, json.dumps(fields, ensure_ascii=False)),
        )

    def original_of(self, cable_id: str) -> tuple[str, dict[str, str]] | None:
        row = self.db.execute("SELECT url, fields FROM originals WHERE cable_id = ?", (cable_id,)).fetchone()
        if row is None:
            return None
        fields = json.loads(row[1])
        assert isinstance(fields, dict)
        return str(row[0]), fields

    # -- outputs -----------------------------------------------------------------------------

    def add_log(self, entry: dict[str, object]) -> None:
        self._batched(self._logs, (json.dumps(entry, sort_keys=False),))

    def add_cable(self, entry: dict[str, object]) -> None:
        self.db.execute("INSERT INTO cables (line) VALUES (?)", (json.dumps(entry, ensure_ascii=False),))

    def add_capture(self, line: str) -> None:
        self._batched(self._captures, (line,))

    def iter_lines(self, table: str) -> Iterator[str]:
        if table not in {"log", "cables", "captures"}:
            raise ValueError(table)
        self._flush()
        cursor = self.db.execute(f"SELECT line FROM {table} ORDER BY id")  # noqa: S608 - table checked above
        for (line,) in cursor:
            yield str(line)

    def count(self, table: str) -> int:
        if table not in {"log", "cables", "captures", "urls"}:
            raise ValueError(table)
        self._flush()
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608

    def iter_log_entries(self) -> Iterator[dict[str, object]]:
        for line in self.iter_lines("log"):
            entry = json.loads(line)
            assert isinstance(entry, dict)
            yield entry

    # -- payload digests, for revisit records ---------------------------------------------------

    def first_capture(self, digest: str) -> tuple[str, str, str | None, str | None] | None:
        """(url, WARC-Date, record id, earlier bag or None) of the first capture of a payload."""
        row = self.db.execute("SELECT url, date, record_id, bag FROM digests WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), row[2], row[3])

    def add_digest(self, digest: str, url: str, date: str, record_id: str | None, bag: str | None = None) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO digests (digest, url, date, record_id, bag) VALUES (?, ?, ?, ?, ?)",
            (digest, url, date, record_id, bag),
        )

    def depended_bags(self) -> list[str]:
        """Earlier bags that revisit records of this crawl point into."""
        rows = self.db.execute("SELECT value FROM meta WHERE key LIKE 'depends:%' ORDER BY key")
        return [str(row[0]) for row in rows]

    # -- robots.txt, fetched once per host per crawl ------------------------------------------

    def set_robots(self, host: str, status: int | None, body: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO robots (host, status, body) VALUES (?, ?, ?)", (host, status, body))

    def iter_robots(self) -> Iterator[tuple[str, int | None, bytes]]:
        for host, status, body in self.db.execute("SELECT host, status, body FROM robots"):
            yield str(host), (int(status) if status is not None else None), bytes(body)

    # -- WARC files --------------------------------------------------------------------------

    def warc_opened(self, name: str, serial: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO warc_files (name, serial, state, committed) VALUES (?, ?, 'open', 0)",
            (name, serial),
        )

    def warc_committed(self, name: str, offset: int) -> None:
        self.db.execute("UPDATE warc_files SET committed = ? WHERE name = ?", (offset, name))

    def warc_closed(self, name: str) -> None:
        self.db.execute("UPDATE warc_files SET state = 'closed' WHERE name = ?", (name,))

    def warc_forget(self, name: str) -> None:
        """Drop a WARC file that never reached the disk (a crash before its first record)."""
        self.db.execute("DELETE FROM warc_files WHERE name = ?", (name,))

    def warc_files(self, state: str | None = None) -> list[tuple[str, int, str, int]]:
        query = "SELECT name, serial, state, committed FROM warc_files"
        args: Iterable[str] = ()
        if state is not None:
            query += " WHERE state = ?"
            args = (state,)
        return [(str(a), int(b), str(c), int(d)) for a, b, c, d in self.db.execute(query + " ORDER BY serial", tuple(args))]


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            raise OutputError(
                f"cannot write the crawl state: {exc}; free space (or fix the disk) and run again to resume"
            ) from exc

    return wrapper


# A full disk or an I/O error in any state operation is an OutputError: the last commit stays the truth.
for _name, _value in list(vars(CrawlState).items()):
    if callable(_value) and (not _name.startswith("_") or _name == "__init__"):
        setattr(CrawlState, _name, _guarded(_value))
