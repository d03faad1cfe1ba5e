"""The frontier's working set: per-host queues, politeness and backoff, fed from the crawl state.

The state database holds every queued URL; this keeps a bounded window of them in memory
(``window`` URLs at most), split into one queue per host, and hands out the next URL whose host
is ready: fewer than ``per_host_concurrency`` requests in flight there and its delay since the
last response passed. A host that answers 429 or 503 (or cannot be reached) is backed off on its
own; other hosts carry on. Hosts wait in a heap keyed by the time they are ready, so choosing is
O(log hosts) whatever the number of URLs.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

from .state import CrawlState, QueuedUrl


WINDOW = 10_000  # queued URLs held in memory (~2.5 MB), refilled from the state in batches


@dataclass
class _Host:
    name: str
    queue: deque[QueuedUrl] = field(default_factory=deque)
    busy: int = 0
    ready_at: float = 0.0
    delay: float = 0.0
    in_heap: bool = False


class Frontier:
    """Per-host queues over the crawl state's queued URLs, in discovery (breadth-first) order."""

    def __init__(
        self,
        state: CrawlState,
        *,
        per_host_concurrency: int,
        per_host_delay: float,
        window: int = WINDOW,
        batch: int = 2_000,
    ) -> None:
        self.state = state
        self.per_host_concurrency = per_host_concurrency
        self.per_host_delay = per_host_delay
        self.window = window
        self.batch = batch
        self.hosts: dict[str, _Host] = {}
        self.buffered = 0
        self.inflight = 0
        self._last_id = 0
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()

    # -- hosts -------------------------------------------------------------------------------

    def _host(self, name: str) -> _Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = _Host(name, delay=self.per_host_delay)
        return host

    def set_delay(self, name: str, delay: float) -> None:
        """A host's own delay (robots.txt Crawl-delay), never below the manifest's."""
        self._host(name).delay = max(delay, self.per_host_delay)

    def delay_of(self, name: str) -> float:
        """Seconds a host waits between responses: its own delay, or the manifest's."""
        host = self.hosts.get(name)
        return host.delay if host is not None else self.per_host_delay

    def _schedule(self, host: _Host) -> None:
        if host.queue and host.busy < self.per_host_concurrency and not host.in_heap:
            heapq.heappush(self._heap, (host.ready_at, next(self._seq), host.name))
            host.in_heap = True

    def _forget_if_idle(self, host: _Host) -> None:
        # Hosts with nothing queued or in flight are dropped so memory follows the window, not
        # the number of hosts ever seen; the delay is kept for hosts that set their own.
        if not host.queue and not host.busy and host.delay == self.per_host_delay and not host.in_heap:
            self.hosts.pop(host.name, None)

    # -- filling -----------------------------------------------------------------------------

    def refill(self) -> None:
        """Load more queued URLs from the state when the window runs low."""
        if self.buffered > self.window - self.batch:
            return
        for queued in self.state.iter_queued(self.batch, after_id=self._last_id):
            self._last_id = queued.id
            host = self._host(queued.host)
            host.queue.append(queued)
            self.buffered += 1
            self._schedule(host)

    # -- choosing ----------------------------------------------------------------------------

    def next_ready(self, now: float) -> QueuedUrl | None:
        """The next URL whose host is ready now, claimed (in flight), or None."""
        while self._heap and self._heap[0][0] <= now:
            _, _, name = heapq.heappop(self._heap)
            host = self.hosts.get(name)
            if host is None:
                continue
            host.in_heap = False
            if not host.queue or host.busy >= self.per_host_concurrency:
                continue
            if host.ready_at > now:
                self._schedule(host)
                continue
            queued = host.queue.popleft()
            self.buffered -= 1
            host.busy += 1
            self.inflight += 1
            self._schedule(host)
            return queued
        return None

    def wait_time(self, now: float) -> float | None:
        """Seconds until some host is ready, 0 when one is, None when nothing is buffered."""
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - now)

    # -- results -----------------------------------------------------------------------------

    def release(self, queued: QueuedUrl, now: float) -> None:
        """A fetch of ``queued`` finished: its host may go again after its delay."""
        host = self._host(queued.host)
        host.busy -= 1
        self.inflight -= 1
        host.ready_at = max(host.ready_at, now + host.delay)
        self._schedule(host)
        self._forget_if_idle(host)

    def retry_later(self, queued: QueuedUrl, not_before: float) -> None:
        """Put ``queued`` back at the head of its host's queue; the host waits till ``not_before``."""
        host = self._host(queued.host)
        host.busy -= 1
        self.inflight -= 1
        host.queue.appendleft(queued)
        self.buffered += 1
        host.ready_at = max(host.ready_at, not_before)
        self._schedule(host)

    def drained(self) -> bool:
        """Nothing buffered, nothing in flight, and nothing more queued in the state."""
        if self.buffered or self.inflight:
            return False
        self.refill()
        return self.buffered == 0
