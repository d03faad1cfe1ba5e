"""What the bags archived: their captures streamed into a scratch SQLite database, one latest capture per URL.

A check never holds the collection in memory: :class:`ArchiveIndex` reads each bag's ``data/index.cdxj``
(through :func:`~cablekeep.capture.cdxj.iter_index`), ``data/cables.jsonl`` and ``data/crawl-log.jsonl``
line by line into tables, and hands back the latest capture of each URL (by SURT key) in host order.
Only captures of a page are watched: 2xx responses and revisits of them; redirects, errors and
robots.txt fetches are the crawl's business, not sources. A revisit's payload is found through the
capture that holds the same payload digest. The cable of a URL is its own (a cable page) or the
cable of the page that led to it (the crawl log's ``via``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..bagging.build import read_bag_info
from ..bagging.layout import PAYLOAD_DIR
from ..capture.canon import host_of, surt_key
from ..capture.cdxj import iter_index
from ..errors import BagUnreadableError

REVISIT_MIME = "warc/revisit"
_SCHEMA = """
CREATE TABLE captures (
    id INTEGER PRIMARY KEY, surt TEXT NOT NULL, url TEXT NOT NULL, host TEXT NOT NULL, timestamp TEXT NOT NULL,
    digest TEXT, status INTEGER, revisit INTEGER NOT NULL, bag TEXT NOT NULL, collection TEXT NOT NULL,
    filename TEXT NOT NULL, offset INTEGER NOT NULL
);
CREATE INDEX captures_surt ON captures (surt, timestamp);
CREATE INDEX captures_digest ON captures (digest, revisit);
CREATE TABLE cables (surt TEXT PRIMARY KEY, cable_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE vias (surt TEXT PRIMARY KEY, via TEXT NOT NULL) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class ArchivedCapture:
    """The latest capture of one URL, where its records are, and where its payload is (a revisit's
    payload lives in the capture it refers to)."""

    surt: str
    url: str
    host: str
    timestamp: str  # 14 digits, UTC
    digest: str | None
    bag: Path
    collection: str
    filename: str
    offset: int
    payload_bag: Path
    payload_filename: str
    payload_offset: int
    cable_id: str | None

    @property
    def warc_path(self) -> Path:
        return self.payload_bag / PAYLOAD_DIR / "warc" / self.payload_filename

    def to_json(self) -> dict[str, object]:
        return {"url": self.url, "timestamp": self.timestamp, "digest": self.digest, "bag": str(self.bag),
                "collection": self.collection, "warc_file": self.filename, "offset": self.offset,
                "cable_id": self.cable_id}


class ArchiveIndex:
    """The captures of some bags in a scratch SQLite file (the caller's temporary directory)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(_SCHEMA)
        self.skipped = 0  # captures that are not pages (redirects, errors, robots.txt)

    def close(self) -> None:
        self.db.close()

    def add_bag(self, bag: Path) -> None:
        """Read one bag's index, cable records and crawl log, a line at a time."""
        data = bag / PAYLOAD_DIR
        index = data / "index.cdxj"
        if not index.is_file():
            raise BagUnreadableError(f"{bag}: no {PAYLOAD_DIR}/index.cdxj: not a bag made by cablekeep run")
        info = read_bag_info(bag)
        collection = info.get("Bag-Group-Identifier") or bag.name.rsplit("-", 1)[0]
        rows: list[tuple[object, ...]] = []
        try:
            for line in iter_index(index, on_malformed=lambda problem: None):
                if line.url is None or line.filename is None or line.offset is None:
                    continue
                revisit = line.mime == REVISIT_MIME
                if urlsplit(line.url).path == "/robots.txt" or not (revisit or 200 <= (line.status or 0) < 300):
                    self.skipped += 1
                    continue
                rows.append((line.surt, line.url, host_of(line.url), line.timestamp, line.digest, line.status,
                             int(revisit), str(bag), collection, line.filename, line.offset))
                if len(rows) >= 2000:
                    self._insert(rows)
            self._insert(rows)
            self._read_jsonl(data / "cables.jsonl", "INSERT OR REPLACE INTO cables VALUES (?, ?)",
                             lambda e: (surt_key(str(e["url"])), e["cable_id"]) if e.get("cable_id") else None)
            self._read_jsonl(data / "crawl-log.jsonl", "INSERT OR IGNORE INTO vias VALUES (?, ?)",
                             lambda e: (surt_key(str(e["url"])), surt_key(str(e["via"])))
                             if e.get("via") and e.get("url") else None)
        except OSError as exc:
            raise BagUnreadableError(f"{bag}: cannot read its index: {exc}") from exc
        self.db.commit()

    def _insert(self, rows: list[tuple[object, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO captures (surt, url, host, timestamp, digest, status, revisit, bag, collection, filename, "
            "offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        rows.clear()

    def _read_jsonl(self, path: Path, sql: str, row: Callable[[dict[str, object]], tuple[object, ...] | None]) -> None:
        if not path.is_file():
            return
        batch: list[tuple[object, ...]] = []
        with open(path, encoding="utf-8") as handle:
            for text in handle:
                try:
                    entry = json.loads(text)
                except ValueError:
                    continue
                if isinstance(entry, dict) and (values := row(entry)) is not None:
                    batch.append(values)
                if len(batch) >= 2000:
                    self.db.executemany(sql, batch)
                    batch.clear()
        self.db.executemany(sql, batch)

    def count(self) -> int:
        """URLs to watch (distinct SURT keys)."""
        return int(self.db.execute("SELECT COUNT(DISTINCT surt) FROM captures").fetchone()[0])

    def iter_urls(self) -> Iterator[tuple[str, str, str]]:
        """(surt, url, host) of every URL, streamed, interleaved across hosts: the first URL of every host, then
        the second of every host, and so on. The check's frontier holds a bounded window of the queue in
        memory; grouped by host, a window would hold only a few hosts' URLs and the others would sit idle."""
        cursor = self.db.execute(
            "SELECT surt, url, host FROM (SELECT surt, url, host, ROW_NUMBER() OVER (PARTITION BY host ORDER BY surt) "
            "AS n FROM (SELECT surt, MAX(timestamp), url, host FROM captures GROUP BY surt)) ORDER BY n, host")
        for surt, url, host in cursor:
            yield str(surt), str(url), str(host)

    def latest(self, surt: str) -> ArchivedCapture | None:
        """The latest capture of a URL, its payload's place resolved, its cable named."""
        row = self.db.execute(
            "SELECT url, host, timestamp, digest, bag, collection, filename, offset, revisit FROM captures "
            "WHERE surt = ? ORDER BY timestamp DESC, id DESC LIMIT 1", (surt,)).fetchone()
        if row is None:
            return None
        url, host, timestamp, digest, bag, collection, filename, offset, revisit = row
        payload = (bag, filename, offset)
        if revisit and digest:
            original = self.db.execute(
                "SELECT bag, filename, offset FROM captures WHERE digest = ? AND revisit = 0 "
                "ORDER BY bag = ? DESC, timestamp LIMIT 1", (digest, bag)).fetchone()
            if original is not None:
                payload = original
        return ArchivedCapture(
            surt=surt, url=str(url), host=str(host), timestamp=str(timestamp), digest=digest, bag=Path(bag),
            collection=str(collection), filename=str(filename), offset=int(offset), payload_bag=Path(payload[0]), payload_filename=str(payload[1]),
            payload_offset=int(payload[2]), cable_id=self._cable_of(surt),
        )

    def _cable_of(self, surt: str) -> str | None:
        row = self.db.execute("SELECT cable_id FROM cables WHERE surt = ?", (surt,)).fetchone()
        if row is not None:
            return str(row[0])
        row = self.db.execute(
            "SELECT c.cable_id FROM vias v JOIN cables c ON c.surt = v.via WHERE v.surt = ?", (surt,)).fetchone()
        return None if row is None else str(row[0])
