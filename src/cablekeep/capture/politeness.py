"""Politeness per host, decided by the coordinator alone: robots.txt, Crawl-delay, retries and backoff.

The frontier enforces ``per_host_concurrency`` and a delay between responses per host; this
module decides what those delays are and what to do with a URL:

- :meth:`Politeness.gate`: fetch it, fetch its host's robots.txt first, or leave it out
  (disallowed) when ``fetch.robots`` is ``obey``.
- :meth:`Politeness.apply_robots`: a host's robots.txt read; a Crawl-delay above the manifest's
  ``per_host_delay`` raises the host's delay (capped at MAX_CRAWL_DELAY).
- :meth:`Politeness.retry_in`: 429, 5xx, timeouts and refused connections are tried again after
  an exponential backoff with jitter (or the server's Retry-After), up to ``fetch.retries``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

from ..manifest import FetchOptions
from .robots import RobotsRules, rules_from_response
from .state import QueuedUrl

MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is capped
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRYABLE_REASONS = frozenset({"timeout", "refused", "bad-response", "error"})
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time, with +-50% jitter
MAX_BACKOFF = 60.0
MAX_RETRY_AFTER = 600.0  # a Retry-After longer than this ends the retries

Gate = Literal["fetch", "robots-first", "disallowed"]


class Politeness:
    """robots.txt rules, per-host delays and retry attempts of one crawl."""

    def __init__(self, fetch: FetchOptions, *, jitter: Callable[[], float] = random.random) -> None:
        self.fetch = fetch
        self.robots: dict[str, RobotsRules] = {}
        self.host_delays: dict[str, float] = {}  # hosts whose robots.txt raised their delay
        self.attempts: dict[int, int] = {}  # URLs (by id) being retried: attempts so far
        self.jitter = jitter

    # -- robots.txt ----------------------------------------------------------------------------

    def gate(self, queued: QueuedUrl) -> Gate:
        """What to do with a URL whose host is ready."""
        if self.fetch.robots != "obey":
            return "fetch"
        rules = self.robots.get(queued.host)
        if rules is None:
            return "robots-first"
        return "fetch" if rules.allowed(queued.url, self.fetch.user_agent) else "disallowed"

    def apply_robots(self, host: str, status: int | None, body: bytes) -> float | None:
        """Take a host's robots.txt (``status`` None: no answer, everything allowed). Returns the
        host's new delay when its Crawl-delay raises it, for the frontier."""
        if status is None:
            self.robots[host] = RobotsRules(None)
            return None
        rules = rules_from_response(status, body)
        self.robots[host] = rules
        delay = rules.crawl_delay(self.fetch.user_agent)
        if delay is None or delay <= self.fetch.per_host_delay:
            return None
        self.host_delays[host] = min(delay, MAX_CRAWL_DELAY)
        return self.host_delays[host]

    # -- retries -------------------------------------------------------------------------------

    def attempt(self, queued: QueuedUrl) -> int:
        """The number of the attempt about to be made at ``queued`` (1 for the first)."""
        return self.attempts.get(queued.id, 0) + 1

    def retry_in(
        self, attempt: int, *, reason: str | None = None, status: int | None = None,
        retry_after: str | None = None, now: datetime | None = None,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when this outcome is final.

        ``reason`` is a failed fetch's (no response); otherwise ``status`` and the response's
        Retry-After header decide."""
        if attempt > self.fetch.retries:
            return None
        backoff: float = min(MAX_BACKOFF, BACKOFF_BASE * 2.0 ** (attempt - 1)) * (0.5 + self.jitter())
        if reason is not None:
            return backoff if reason in RETRYABLE_REASONS else None
        if status not in RETRYABLE_STATUSES:
            return None
        after = retry_after_seconds(retry_after, now or datetime.now(timezone.utc))
        if after is None:
            return backoff
        return after if after <= MAX_RETRY_AFTER else None

    def retrying(self, queued: QueuedUrl, attempt: int) -> None:
        """``queued`` goes back to the frontier after ``attempt`` attempts."""
        self.attempts[queued.id] = attempt

    def settled(self, queued: QueuedUrl) -> None:
        """``queued`` got its final outcome: its attempts are forgotten."""
        self.attempts.pop(queued.id, None)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())
