"""``check_bags``: every URL the bags archived, probed politely and classified, each result stored.

The crawler's parts do the politeness, as in a crawl: the URLs go into a scratch
:class:`~cablekeep.capture.state.CrawlState` (SQLite, host by host), a
:class:`~cablekeep.capture.frontier.Frontier` hands them out when their host is ready (``per_host_concurrency``,
``per_host_delay``, raised by a robots.txt Crawl-delay), :class:`~cablekeep.capture.politeness.Politeness`
gates each on its host's robots.txt (fetched first, once per host) and decides retries with backoff
(5xx, 429 with Retry-After, timeouts, refused connections, up to ``fetch.retries``). Before a host's first
URL, one request for a URL that cannot exist on it shows what the host answers for a missing page (the
soft-404 yardstick), once per host per check. Probes run on ``fetch.concurrency`` threads.

Memory stays flat in the number of URLs: the archive is streamed into SQLite, the frontier holds a
window, each result goes to the history as it comes; only per-host facts are kept.
"""

from __future__ import annotations

import concurrent.futures as futures
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..cables.extract import parse_page
from ..cables.profiles import BUILTIN_PROFILES
from ..capture.fetch import AddressGuard, Fetcher
from ..capture.frontier import Frontier
from ..capture.politeness import Politeness
from ..capture.state import CrawlState, QueuedUrl
from ..capture.warc import StoredResponse, read_response_at
from ..manifest import FetchOptions
from .archive import ArchiveIndex, ArchivedCapture
from .classify import CLASSES, Archived, Live, NotFoundAnswer, Verdict, classify
from .probe import Probe, fetch_robots, probe
from .store import LinkRotHistory
from .text import visible_text

IDLE_WAIT = 0.05  # seconds the coordinator sleeps when nothing is ready and nothing in flight


@dataclass
class CheckReport:
    """What one check found: URLs per class overall and per host."""

    check_id: int
    started: datetime
    finished: datetime | None = None
    urls: int = 0
    skipped: int = 0  # captures that are not pages (redirects, errors, robots.txt)
    counts: Counter[str] = field(default_factory=Counter)
    hosts: dict[str, Counter[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "schema": "cablekeep.check/1", "check": self.check_id,
            "started": self.started.isoformat().replace("+00:00", "Z"),
            "finished": self.finished.isoformat().replace("+00:00", "Z") if self.finished else None,
            "urls": self.urls, "skipped_captures": self.skipped,
            "classes": {name: self.counts.get(name, 0) for name in CLASSES},
            "hosts": {host: dict(counts) for host, counts in sorted(self.hosts.items())},
        }


@dataclass(frozen=True)
class _Job:
    kind: str  # "robots", "not-found" or "probe"
    queued: QueuedUrl
    attempt: int = 1
    capture: ArchivedCapture | None = None  # looked up by the coordinator: the index is its alone


def missing_url(url: str, token: str) -> str:
    """A URL on ``url``'s host that cannot exist."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/cablekeep-watch-{token}-does-not-exist.html", "", ""))


def _conditional(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found = {name.lower(): value for name, value in headers}
    out = []
    if found.get("etag"):
        out.append(("If-None-Match", found["etag"]))
    if found.get("last-modified"):
        out.append(("If-Modified-Since", found["last-modified"]))
    return out


def read_archived(capture: ArchivedCapture) -> StoredResponse | None:
    """The archived response of a capture (its payload resolved), or None when it cannot be read."""
    try:
        return read_response_at(capture.warc_path, capture.payload_offset)
    except (KeyError, OSError, ValueError):
        return None


def archived_of(capture: ArchivedCapture, stored: StoredResponse | None) -> Archived:
    """The archived page as the classifier reads it: its text and its fields."""
    if stored is None:
        return Archived(capture.url, capture.digest)
    content_type = next((v for k, v in stored.headers if k.lower() == "content-type"), None)
    record = parse_page(stored.payload, capture.url, content_type, BUILTIN_PROFILES[0], BUILTIN_PROFILES[1:],
                        other_links=False)
    return Archived(capture.url, capture.digest, visible_text(stored.payload, content_type), dict(record.fields),
                    record.kind)


def live_of(result: Probe, archived_payload_text: str | None = None) -> Live:
    """The probe as the classifier reads it: the last page parsed for its text and fields."""
    if result.failure is not None or not result.body:
        return Live(tuple(result.hops), result.failure, result.detail, result.digest)
    final_url = result.hops[-1].url
    record = parse_page(result.body, final_url, result.content_type, BUILTIN_PROFILES[0], BUILTIN_PROFILES[1:],
                        other_links=False)
    text = visible_text(result.body, result.content_type)
    return Live(tuple(result.hops), None, result.detail, result.digest,
                same_decoded=archived_payload_text is not None and text == archived_payload_text,
                text=text, fields=dict(record.fields), kind=record.kind)


class _Check:
    def __init__(self, index: ArchiveIndex, state: CrawlState, fetch: FetchOptions, history: LinkRotHistory,
                 report: CheckReport, *, fetcher: Fetcher, clock: Callable[[], datetime],
                 make_token: Callable[[], str], on_result: Callable[[object], None] | None) -> None:
        self.index, self.state, self.fetch, self.history, self.report = index, state, fetch, history, report
        self.fetcher, self.clock, self.make_token, self.on_result = fetcher, clock, make_token, on_result
        self.politeness = Politeness(fetch)
        self.frontier = Frontier(state, per_host_concurrency=fetch.per_host_concurrency,
                                 per_host_delay=fetch.per_host_delay)
        self.not_found: dict[str, NotFoundAnswer | None] = {}

    def run(self) -> None:
        inflight: dict[futures.Future[object], _Job] = {}
        with futures.ThreadPoolExecutor(max_workers=max(1, self.fetch.concurrency)) as pool:
            while True:
                self.frontier.refill()
                while len(inflight) < max(1, self.fetch.concurrency):
                    queued = self.frontier.next_ready(time.monotonic())
                    if queued is None:
                        break
                    job = self._job_for(queued)
                    if job is not None:
                        inflight[pool.submit(self._work, job)] = job
                if not inflight:
                    if self.frontier.drained():
                        return
                    time.sleep(min(IDLE_WAIT, self.frontier.wait_time(time.monotonic()) or IDLE_WAIT))
                    continue
                wait = self.frontier.wait_time(time.monotonic())
                done, _ = futures.wait(inflight, timeout=wait if wait else None,
                                       return_when=futures.FIRST_COMPLETED)
                for future in done:
                    self._finished(inflight.pop(future), future.result())

    def _job_for(self, queued: QueuedUrl) -> _Job | None:
        gate = self.politeness.gate(queued)
        if gate == "robots-first":
            return _Job("robots", queued)
        if gate == "disallowed":
            self._settle(queued, Live(failure="robots", detail="disallowed by robots.txt"), None)
            return None
        if queued.host not in self.not_found:
            return _Job("not-found", queued)
        return _Job("probe", queued, self.politeness.attempt(queued), self.index.latest(queued.key))

    def _work(self, job: _Job) -> object:
        """Run in a fetch thread: the robots.txt, the not-found answer, or a probe and what it is compared with."""
        url = job.queued.url
        if job.kind == "robots":
            return fetch_robots(self.fetcher, url)
        if job.kind == "not-found":
            answer = probe(self.fetcher, missing_url(url, self.make_token()), robots_of=self.politeness.robots.get,
                           obey_robots=self.fetch.robots == "obey", delay_of=self.frontier.delay_of)
            if answer.failure is not None:
                return answer, None
            final = answer.hops[-1]
            return answer, NotFoundAnswer(final.status, final.url, visible_text(answer.body, answer.content_type))
        capture = job.capture
        assert capture is not None
        stored = read_archived(capture)  # read before, parsed after the probe: the host waits for neither
        conditional = _conditional(stored.headers) if stored is not None else []
        result = probe(self.fetcher, url, conditional=conditional, robots_of=self.politeness.robots.get,
                       obey_robots=self.fetch.robots == "obey", delay_of=self.frontier.delay_of)
        answered = time.monotonic()  # the host's delay runs from its last answer, not from our bookkeeping
        archived = archived_of(capture, stored)
        return capture, archived, result, live_of(result, archived.text), answered

    def _finished(self, job: _Job, outcome: object) -> None:
        queued, now = job.queued, time.monotonic()
        if job.kind == "robots":
            assert isinstance(outcome, tuple)
            status, body = outcome
            delay = self.politeness.apply_robots(queued.host, status, body)
            if delay is not None:
                self.frontier.set_delay(queued.host, delay)
            self.frontier.retry_later(queued, now + self.frontier.delay_of(queued.host))
            return
        if job.kind == "not-found":
            assert isinstance(outcome, tuple)
            answer, found = outcome
            self._keep_robots(answer)
            self.not_found[queued.host] = found
            self.frontier.retry_later(queued, now + self.frontier.delay_of(queued.host))
            return
        assert isinstance(outcome, tuple)
        capture, archived, result, live, answered = outcome
        self._keep_robots(result)
        wait = self._retry_in(job, result)
        if wait is not None:
            self.politeness.retrying(queued, job.attempt)
            self.frontier.retry_later(queued, answered + wait)
            return
        self.politeness.settled(queued)
        self._settle(queued, live, archived, capture, answered=answered)

    def _keep_robots(self, result: Probe) -> None:
        for host, status, body in result.robots:
            if host not in self.politeness.robots:
                delay = self.politeness.apply_robots(host, status, body)
                if delay is not None:
                    self.frontier.set_delay(host, delay)

    def _retry_in(self, job: _Job, result: Probe) -> float | None:
        if result.failure is not None:
            if result.failure in {"robots", "blocked-address", "redirect-loop", "redirect-limit"}:
                return None
            return self.politeness.retry_in(job.attempt, reason=result.failure)
        return self.politeness.retry_in(job.attempt, status=result.status, now=self.clock())

    def _settle(self, queued: QueuedUrl, live: Live, archived: Archived | None,
                capture: ArchivedCapture | None = None, *, answered: float | None = None) -> None:
        capture = capture or self.index.latest(queued.key)
        assert capture is not None
        verdict: Verdict = classify(archived or Archived(capture.url, capture.digest), live,
                                    self.not_found.get(queued.host))
        row = self.history.record(self.report.check_id, self.clock(), capture, verdict)
        self.report.counts[verdict.link_class] += 1
        self.report.hosts.setdefault(queued.host, Counter())[verdict.link_class] += 1
        self.state.mark_done(queued.id, verdict.link_class)
        self.frontier.release(queued, time.monotonic() if answered is None else answered)
        if self.on_result is not None:
            self.on_result(row)


def check_bags(
    bags: Sequence[Path],
    fetch: FetchOptions,
    history: LinkRotHistory,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    make_token: Callable[[], str] = lambda: uuid.uuid4().hex,
    on_result: Callable[[object], None] | None = None,
) -> CheckReport:
    """Probe every URL archived in ``bags`` with ``fetch``'s settings, classify each, store each in ``history``."""
    started = clock()
    with tempfile.TemporaryDirectory(prefix="cablekeep-check-") as scratch:
        index = ArchiveIndex(Path(scratch) / "archive.sqlite")
        state = CrawlState(Path(scratch) / "queue.sqlite")
        fetcher = Fetcher(user_agent=fetch.user_agent, timeout=fetch.timeout, max_bytes=fetch.max_bytes,
                          guard=AddressGuard(fetch.allow_private, frozenset(h.lower() for h in fetch.allow_hosts)))
        try:
            for bag in bags:
                index.add_bag(bag)
            for surt, url, host in index.iter_urls():
                state.add_url(surt, url, host, 0, "watch", None)
            state.commit()
            report = CheckReport(history.start_check(started, [str(b) for b in bags]), started,
                                 urls=index.count(), skipped=index.skipped)
            _Check(index, state, fetch, history, report, fetcher=fetcher, clock=clock, make_token=make_token,
                   on_result=on_result).run()
            report.finished = clock()
            history.finish_check(report.check_id, report.finished, report.counts)
            return report
        finally:
            fetcher.close()
            state.close()
            index.close()
