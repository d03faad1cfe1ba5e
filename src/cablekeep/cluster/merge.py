"""The shards of a crawl merged into one crawl state, from which the bag is made as on one machine.

The coordinator's ``<work>/state.sqlite`` holds what a one-machine crawl's state would: its meta
(started, manifest digest, the bag's identifier once chosen) from its first run, and, rebuilt
at each merge in one transaction, the shards' tables: URLs (a shard's own hosts first, so a URL
another shard only judged out of scope keeps its owner's outcome), the crawl log (a URL judged
without fetching, out of scope or invalid, logged once however many shards met it), cable rows,
originals, citations (resolved after the merge, against every shard's captures), index lines and
payload digests. ``run.package`` then writes one sorted index and the bag; the WARC files stay in
the shards' folders, named by shard.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..capture.crawl import CrawlResult
from ..capture.progress import count_result
from ..capture.resume import open_state
from ..capture.shard import shard_of
from ..capture.state import CrawlState
from ..manifest import Manifest

JUDGED = frozenset({"out-of-scope", "invalid-url"})  # outcomes of URLs never fetched, logged once
_TABLES = ("urls", "log", "cables", "captures", "citations", "originals", "digests", "robots")


def merge_shards(
    manifest: Manifest, workdir: Path, folders: Sequence[Path], *, clock: Callable[[], datetime] | None = None
) -> CrawlResult:
    """Merge the shards in ``folders`` (shard i in ``folders[i]``) into ``workdir``'s state; the result
    counts the whole crawl and lists every shard's WARC files."""
    state, _ = open_state(manifest, workdir, clock=clock or (lambda: datetime.now(timezone.utc)))
    state.commit()
    db = state.db
    count = len(folders)
    db.create_function("shard_of", 1, lambda host: shard_of(str(host), count), deterministic=True)
    try:
        for table in _TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - names from _TABLES
        db.execute("DELETE FROM meta WHERE key LIKE 'depends:%'")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS judged (url TEXT PRIMARY KEY)")
        db.execute("DELETE FROM judged")
        for owner_pass in (True, False):
            for index, folder in enumerate(folders):
                _attach(db, folder)
                try:
                    mine = "shard_of(host) = ?" if owner_pass else "shard_of(host) != ?"
                    db.execute(
                        "INSERT OR IGNORE INTO urls (key, url, host, depth, hop, via, redirects, state, outcome) "
                        f"SELECT key, url, host, depth, hop, via, redirects, state, outcome FROM shard.urls "
                        f"WHERE {mine} ORDER BY id",
                        (index,),
                    )
                    if owner_pass:
                        _merge_rows(db)
                finally:
                    db.commit()
                    db.execute("DETACH DATABASE shard")
        db.commit()
    except BaseException:
        state.abandon()
        raise
    result = CrawlResult(workdir, sorted(p for folder in folders for p in (folder / "warc").glob("*.warc.gz")))
    result.resumed = any((folder / "state.sqlite").is_file() for folder in folders)
    count_result(state, result)
    state.close()
    return result


def _attach(db: sqlite3.Connection, folder: Path) -> None:
    db.commit()
    db.execute("ATTACH DATABASE ? AS shard", (str(folder / "state.sqlite"),))


def _merge_rows(db: sqlite3.Connection) -> None:
    for table in ("cables", "captures"):
        db.execute(f"INSERT INTO {table} (line) SELECT line FROM shard.{table} ORDER BY id")  # noqa: S608
    db.execute(
        "INSERT INTO citations (citing, citing_url, written, cable_id, url, key, had_year) "
        "SELECT citing, citing_url, written, cable_id, url, key, had_year FROM shard.citations ORDER BY id"
    )
    db.execute("INSERT OR REPLACE INTO originals SELECT * FROM shard.originals")
    db.execute("INSERT OR IGNORE INTO digests SELECT * FROM shard.digests")
    db.execute("INSERT OR REPLACE INTO robots SELECT * FROM shard.robots")
    db.execute("INSERT OR REPLACE INTO meta SELECT * FROM shard.meta WHERE key LIKE 'depends:%'")
    for (line,) in db.cursor().execute("SELECT line FROM shard.log ORDER BY id"):  # streamed
        entry = json.loads(line)
        if entry.get("outcome") in JUDGED:
            if db.execute("INSERT OR IGNORE INTO judged (url) VALUES (?)", (str(entry.get("url")),)).rowcount != 1:
                continue
        db.execute("INSERT INTO log (line) VALUES (?)", (line,))
