"""What a crawl tells its caller: live progress while it runs, the result when it ends.

:class:`Tally` counts each logged outcome as it happens (for :class:`CrawlProgress` snapshots, in
bounded memory whatever the number of hosts); :func:`count_result` fills :class:`CrawlResult` from
the crawl log in the state, so a resumed crawl counts its earlier runs too.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .canon import InvalidUrlError, host_of
from .state import CrawlState

PROGRESS_HOSTS_KEPT = 10_000  # per-host counts kept for "busiest hosts" (smallest pruned past this)
FAILED_OUTCOMES = frozenset({
    "not-found", "gone", "soft-404", "client-error", "server-error", "blocked-address", "timeout",
    "refused", "dns", "bad-response", "invalid-url", "error", "redirect-limit", "truncated",
})
# the crawl-log warning of a cable page from which no rule read any text, counted in the result
CABLE_WITHOUT_TEXT = ("cable page without text: neither the site profile's text rule nor the page's main "
                      "text gave any; check the page, or the profile's text rule")
# outcomes not held against a host (an invalid URL is the linking page's fault, and has no host)
NOT_FAILURES = frozenset({"ok", "redirect", "out-of-scope", "robots", "invalid-url"})


@dataclass
class CrawlResult:
    """What a crawl produced and how it went."""

    workdir: Path
    warc_files: list[Path]
    outcomes: Counter[str] = field(default_factory=Counter)
    failed_hosts: Counter[str] = field(default_factory=Counter)
    pages: int = 0
    cables: int = 0
    bytes: int = 0
    citations: int = 0  # these three are counted when the citations are exported (run.package)
    citations_archived: int = 0
    citations_missing: int = 0
    resumed: bool = False
    cables_without_text: int = 0  # cable pages no text rule read any text from (a warning each in the log)


@dataclass(frozen=True)
class CrawlProgress:
    """A snapshot for a live display."""

    done: int
    queued: int
    failed: int
    bytes: int
    elapsed: float
    busiest_hosts: tuple[tuple[str, int], ...]

    @property
    def pages_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


class Tally:
    """Outcomes counted as they are logged in this run, for progress snapshots."""

    def __init__(self, *, hosts_kept: int = PROGRESS_HOSTS_KEPT, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.done = 0
        self.failed = 0
        self.bytes = 0
        self.per_host: Counter[str] = Counter()
        self.hosts_kept = hosts_kept
        self.monotonic = monotonic
        self.started = monotonic()

    def count(self, host: str, outcome: str, size: int) -> None:
        self.done += 1
        self.bytes += size
        self.failed += outcome in FAILED_OUTCOMES
        self.per_host[host] += 1
        if len(self.per_host) > self.hosts_kept:
            for name, _ in self.per_host.most_common()[self.hosts_kept // 2:]:
                del self.per_host[name]

    def snapshot(self, queued: int) -> CrawlProgress:
        return CrawlProgress(
            done=self.done, queued=queued, failed=self.failed, bytes=self.bytes,
            elapsed=self.monotonic() - self.started, busiest_hosts=tuple(self.per_host.most_common(5)),
        )


def count_result(state: CrawlState, result: CrawlResult) -> None:
    """Fill ``result``'s counts from the whole crawl log (earlier runs of a resumed crawl included)."""
    result.outcomes.clear()
    result.failed_hosts.clear()
    result.pages = result.bytes = result.cables_without_text = 0
    for entry in state.iter_log_entries():
        outcome = str(entry["outcome"])
        result.outcomes[outcome] += 1
        size = entry.get("bytes")
        result.bytes += size if isinstance(size, int) else 0
        if entry.get("status") is not None:
            result.pages += 1
        if entry.get("warning") == CABLE_WITHOUT_TEXT:
            result.cables_without_text += 1
        if outcome not in NOT_FAILURES:
            try:
                host = host_of(str(entry["url"]))
            except InvalidUrlError:
                host = "(invalid URLs)"
            result.failed_hosts[host] += 1
    result.cables = state.count("cables")
