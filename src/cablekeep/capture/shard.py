"""A crawl restricted to some hosts: the seam a crawl sharded by host (the cluster wing) runs through.

A :class:`HostShard` owns the hosts whose stable hash falls on its index (``shard_of``: SHA-256 of
the host, so every process and every run agrees). A :class:`ShardState` is the crawl state of one
shard: a URL on a host it owns is queued as usual; a URL on another host is not fetched but kept in
the ``handoff`` table, once, committed in the same transaction as the page that led to it, for the
coordinator to pass to its owner (:meth:`ShardState.iter_handoff`). A seed of another host is left to
its owner, which seeds it itself; a redirect away from a seed is handed off like any link.
Everything else is the one-machine crawl: the same frontier, politeness, recorder and resume rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .state import CrawlState

HANDOFF_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoff (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, url TEXT NOT NULL, host TEXT NOT NULL,
    depth INTEGER NOT NULL, hop TEXT NOT NULL, via TEXT, redirects INTEGER NOT NULL DEFAULT 0
);
"""


def shard_of(host: str, count: int) -> int:
    """The shard (0 .. count-1) that owns ``host``: stable across processes, machines and runs."""
    digest = hashlib.sha256(host.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class HostShard:
    """Shard ``index`` of ``count``: owns the hosts :func:`shard_of` puts on it."""

    index: int
    count: int

    @property
    def tag(self) -> str:
        """The shard in file names: ``s03`` (its WARC files are ``<collection>-<time>-s03-00001.warc.gz``)."""
        return f"s{self.index:02d}"

    def owns(self, host: str) -> bool:
        return shard_of(host, self.count) == self.index


@dataclass(frozen=True)
class HandedUrl:
    """A URL one shard found on a host another shard owns, as the owner queues it."""

    key: str
    url: str
    host: str
    depth: int
    hop: str
    via: str | None
    redirects: int


class ShardState(CrawlState):
    """The crawl state of one shard: URLs on other shards' hosts are handed off, not queued."""

    def __init__(self, path: Path, shard: HostShard) -> None:
        super().__init__(path)
        self.shard = shard
        self.db.executescript(HANDOFF_SCHEMA)
        self.db.commit()

    def add_url(
        self, key: str, url: str, host: str, depth: int, hop: str, via: str | None, redirects: int = 0
    ) -> bool:
        if self.shard.owns(host):
            return super().add_url(key, url, host, depth, hop, via, redirects)
        if hop == "seed" and via is None:
            return False  # its owner seeds it from the same manifest
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO handoff (key, url, host, depth, hop, via, redirects) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, url, host, depth, hop, via, redirects),
        )
        return cursor.rowcount == 1

    def add_done(
        self, key: str, url: str, host: str, depth: int, hop: str, via: str | None, outcome: str = "out-of-scope"
    ) -> bool:
        if hop == "seed" and via is None and not self.shard.owns(host):
            return False  # an invalid seed is logged once, by the shard that owns its (empty) host
        return super().add_done(key, url, host, depth, hop, via, outcome)

    def seen(self, key: str) -> bool:
        if super().seen(key):
            return True
        return self.db.execute("SELECT 1 FROM handoff WHERE key = ?", (key,)).fetchone() is not None

    def add_handed(self, urls: list[HandedUrl]) -> int:
        """Queue URLs other shards handed over (each once: one seen before is ignored); how many were new."""
        added = 0
        for item in urls:
            if super().add_url(item.key, item.url, item.host, item.depth, item.hop, item.via, item.redirects):
                added += 1
        return added

    def iter_handoff(self, after_id: int = 0) -> Iterator[tuple[int, HandedUrl]]:
        """The committed hand-offs past ``after_id``, in the order they were found."""
        cursor = self.db.execute(
            "SELECT id, key, url, host, depth, hop, via, redirects FROM handoff WHERE id > ? ORDER BY id", (after_id,)
        )
        for row in cursor.fetchall():
            yield int(row[0]), HandedUrl(str(row[1]), str(row[2]), str(row[3]), int(row[4]), str(row[5]), row[6],
                                         int(row[7]))
