"""The crawl: seeds to WARC files through a frontier in SQLite, polite concurrent fetching and following.

One coordinating thread owns the state database and the WARC file; workers never touch either.
A worker fetches and builds the fetch's request and response records, compressed, ready to append
(:mod:`~cablekeep.capture.jobs`). Workers are threads in this process, or with ``fetch.processes``
> 1 forked processes (:mod:`~cablekeep.capture.workers`) that also read the page. For each
finished fetch the coordinator appends the records or a revisit record instead
(:mod:`~cablekeep.capture.recorder`), reads the page (:mod:`~cablekeep.capture.reading`), queues
what the manifest says to follow (:mod:`~cablekeep.capture.scope`, :mod:`~cablekeep.capture.follow`),
logs the outcome and commits. Politeness is per host and decided by the coordinator alone
(:mod:`~cablekeep.capture.politeness`): at most ``per_host_concurrency`` requests in flight to a host
and ``per_host_delay`` seconds between them (raised by robots.txt Crawl-delay). Seeds are always
fetched; a crawl stopped or killed is resumed from its last commit (:mod:`~cablekeep.capture.resume`).

The parts, in the order a URL meets them::

    resume ─> frontier ─> politeness.gate ─> jobs (worker) ─> recorder ─> reading ─> follow/scope ─> state
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

from ..cables.profiles import resolve_profile
from ..errors import RunInterrupted
from ..manifest import CAPTURE_MODES, CaptureMode, Manifest
from .browser import Browser, BrowserOptions, Gate
from .canon import host_of, surt_key
from .fetch import AddressGuard, Fetcher, parse_networks
from .follow import Follower
from .frontier import Frontier
from .jobs import ROBOTS_LIMIT, FetchWork, Job, Outcome
from .modes import mode_of
from .pageplan import PagePlanner
from .scope import MAX_REDIRECTS
from .politeness import Politeness
from .progress import CABLE_WITHOUT_TEXT, CrawlProgress, CrawlResult, Tally, count_result
from .reading import PageReader, parseable
from .recorder import Recorder, classify
from .resume import SEED_CAPTURE_PREFIX, open_state, recover_warcs
from .shard import HostShard, ShardState
from .state import CrawlState, QueuedUrl
from .warc import WarcWriter, make_record_id
from .workers import ProcessPool, ThreadPool

__all__ = ["COMMIT_EVERY", "NOT_ON_SITE", "Crawl", "CrawlProgress", "CrawlResult"]

COMMIT_EVERY = 0.5  # seconds between state commits
NOT_ON_SITE = frozenset({"not-found", "gone", "soft-404"})
Pool = ThreadPool[Job, Outcome] | ProcessPool[Job, Outcome]
_CAPTURE_MODES: dict[str, CaptureMode] = {mode: mode for mode in CAPTURE_MODES}


class Crawl:
    """One crawl of a manifest into ``workdir`` (state.sqlite and warc/)."""

    def __init__(
        self,
        manifest: Manifest,
        workdir: Path,
        *,
        clock: Callable[[], datetime] | None = None,
        make_id: Callable[[], str] = make_record_id,
        on_entry: Callable[[dict[str, object]], None] | None = None,
        stop: threading.Event | None = None,
        earlier_bags: Sequence[Path] = (),
        on_progress: Callable[[CrawlProgress], None] | None = None,
        browser_options: BrowserOptions | None = None,
        shard: HostShard | None = None,
    ) -> None:
        self.manifest = manifest
        self.shard = shard  # a crawl of this shard's hosts only (the cluster's crawl by host)
        self.workdir = workdir
        self.warc_dir = workdir / "warc"
        self.spill_dir = workdir / "spool"  # where worker processes leave the records of large fetches
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.make_id = make_id
        self.on_entry = on_entry or (lambda entry: None)
        self.stop = stop or threading.Event()
        self.earlier_bags = list(earlier_bags)
        self.on_progress = on_progress
        self.tally = Tally()
        fetch = manifest.fetch
        self.fetcher = Fetcher(
            user_agent=fetch.user_agent,
            timeout=fetch.timeout,
            max_bytes=fetch.max_bytes,
            guard=AddressGuard(fetch.allow_private, frozenset(h.lower() for h in fetch.allow_hosts),
                               parse_networks(fetch.allow_networks)),
            clock=self.clock,
        )
        self.politeness = Politeness(fetch)
        # Started on the first page to render; the pages' own requests pass robots.txt (as known so
        # far) and a per-host delay, then the crawl's fetcher.
        self.browser = Browser(
            self.fetcher,
            Gate(user_agent=fetch.user_agent, per_host_delay=fetch.per_host_delay, obey_robots=fetch.robots == "obey",
                 robots=self.politeness.robots, host_delays=self.politeness.host_delays),
            browser_options or BrowserOptions(settle_time=fetch.timeout),
        )
        self.reader = PageReader(resolve_profile(manifest.site.profile), manifest.follow)
        self.planner = PagePlanner(manifest.follow, manifest.site)
        self.result = CrawlResult(workdir, [])

    def run(self) -> CrawlResult:
        """Crawl until the frontier is drained (or ``stop`` is set: RunInterrupted, resumable)."""
        state, self.result.resumed = open_state(
            self.manifest, self.workdir, clock=self.clock, earlier_bags=self.earlier_bags, make_state=self.open_state
        )
        serial = recover_warcs(state, self.warc_dir)
        for host, status, body in state.iter_robots():
            self.politeness.apply_robots(host, status, body)
        return Coordinator(self, state, self._writer(serial)).run()

    def open_state(self, path: Path) -> CrawlState:
        """The crawl's state database: a shard's keeps URLs of other shards' hosts aside."""
        return CrawlState(path) if self.shard is None else ShardState(path, self.shard)

    def _writer(self, serial: int) -> WarcWriter:
        manifest = self.manifest
        org = manifest.organization
        operator = ", ".join(part for part in (org.name, org.contact.name, org.contact.email) if part)
        return WarcWriter(
            self.warc_dir,
            prefix=manifest.collection,
            max_size=manifest.warc.max_size,
            warcinfo={
                "operator": operator or "unknown",
                "isPartOf": manifest.collection,
                "description": manifest.title,
                "robots": manifest.fetch.robots,
                "http-header-user-agent": manifest.fetch.user_agent,
            },
            clock=self.clock,
            make_id=self.make_id,
            serial=serial,
            tag=self.shard.tag if self.shard is not None else "",
        )


class Coordinator:
    """The loop of one run of a crawl: hands out jobs as hosts are ready, takes back outcomes."""

    def __init__(self, crawl: Crawl, state: CrawlState, writer: WarcWriter) -> None:
        fetch = crawl.manifest.fetch
        self.crawl = crawl
        self.fetch = fetch
        self.state = state
        self.writer = writer
        self.politeness = crawl.politeness
        self.frontier = Frontier(state, per_host_concurrency=fetch.per_host_concurrency, per_host_delay=fetch.per_host_delay)
        for host, delay in self.politeness.host_delays.items():
            self.frontier.set_delay(host, delay)
        self.recorder = Recorder(state, writer, clock=crawl.clock, on_entry=crawl.on_entry, tally=crawl.tally)
        self.follower = Follower(state, self.recorder, crawl.manifest.follow, crawl.manifest.site)
        self.work = FetchWork(crawl.fetcher, writer, crawl.reader, crawl.planner, crawl.spill_dir,
                              crawl.browser if fetch.processes == 1 else None)
        self.inflight = 0
        # seeds with a capture mode of their own are written before the crawl starts: when there is
        # none, no seed's mode is looked up (a query a seed)
        self.seed_modes = state.has_key_with_prefix(SEED_CAPTURE_PREFIX)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> CrawlResult:
        state = self.state
        try:
            pool = self._pool()
            finished = False
            try:
                self._loop(pool)
                finished = True
            finally:
                pool.shutdown(wait=finished)
                self.crawl.browser.close()
            self._wind_down()
        except RunInterrupted:
            self._finish()  # everything up to here was committed: count and close
            raise
        except BaseException:
            # Nothing more is committed: URLs marked done since the last commit may have records
            # past the committed WARC offset, which the next run cuts off and fetches again.
            self.crawl.fetcher.close()
            self.crawl.browser.close()
            self.writer.abandon()
            state.abandon()
            raise
        self._finish()
        return self.crawl.result

    def _pool(self) -> Pool:
        fetch = self.fetch
        if fetch.processes > 1:
            shutil.rmtree(self.crawl.spill_dir, ignore_errors=True)  # what a killed run's workers left
            threads = fetch.threads or math.ceil(fetch.concurrency / fetch.processes)
            return ProcessPool(self.work.run_detached, fetch.processes, threads)
        return ThreadPool(self.work.run, fetch.threads or fetch.concurrency)

    def _loop(self, pool: Pool) -> None:
        stop, frontier = self.crawl.stop, self.frontier
        last_commit = time.monotonic()
        while True:
            if not stop.is_set():
                frontier.refill()
                self._fill(pool)
            if not self.inflight:
                if stop.is_set() or frontier.drained():
                    return
                pause = frontier.wait_time(time.monotonic())
                time.sleep(min(pause if pause is not None else 0.05, 0.25))
                continue
            pause = frontier.wait_time(time.monotonic())
            timeout = 0.25 if pause is None else min(max(pause, 0.001), 0.25)
            for outcome in pool.results(timeout):
                self.inflight -= 1
                if outcome.failure is not None:
                    outcome.close()
                    raise outcome.failure
                self._handle(outcome)
                self.recorder.roll()
            if time.monotonic() - last_commit > COMMIT_EVERY:
                self.recorder.commit()
                self._report_progress()
                last_commit = time.monotonic()

    def _wind_down(self) -> None:
        state = self.state
        self.recorder.commit()
        self._report_progress()
        self.recorder.close_warc()
        if self.crawl.stop.is_set() and state.queued_count():
            state.commit()
            raise RunInterrupted(
                f"crawl stopped with {state.queued_count()} URLs still queued; run the same command again to resume"
            )
        state.set("crawled", self.crawl.clock().isoformat())
        state.commit()

    def _finish(self) -> None:
        crawl = self.crawl
        crawl.fetcher.close()
        crawl.result.warc_files = sorted(p for p in crawl.warc_dir.glob("*.warc.gz"))
        count_result(self.state, crawl.result)
        self.state.close()

    def _report_progress(self) -> None:
        if self.crawl.on_progress is not None:
            self.crawl.on_progress(self.crawl.tally.snapshot(self.state.queued_count()))

    def _fill(self, pool: Pool) -> None:
        """Hand out jobs while there is room and a host is ready; robots.txt first where unknown.
        The jobs go out together (one message to each worker process given some)."""
        jobs: list[Job] = []
        self._next_jobs(jobs)
        if jobs:
            pool.submit_many(jobs)
            self.inflight += len(jobs)

    def _next_jobs(self, jobs: list[Job]) -> None:
        while self.inflight + len(jobs) < self.fetch.concurrency:
            queued = self.frontier.next_ready(time.monotonic())
            if queued is None:
                return
            gate = self.politeness.gate(queued)
            if gate == "disallowed":
                self.frontier.release(queued, time.monotonic())
                self.recorder.done(queued, "robots", reason="disallowed by robots.txt")
                continue
            if gate == "robots-first":
                job = Job(queued, robots_for=urljoin(queued.url, "/robots.txt"))
            else:
                job = Job(queued, attempt=self.politeness.attempt(queued), mode=self._mode(queued))
            jobs.append(job)

    def _mode(self, queued: QueuedUrl) -> CaptureMode:
        """How ``queued`` is captured: its rule's mode, or a seed's own (a redirect keeps its seed's)."""
        seed_mode: CaptureMode | None = None
        if queued.hop == "seed" and self.seed_modes:
            chain = self.state.redirect_chain(queued.key, MAX_REDIRECTS) if queued.redirects else [queued.key]
            for key in chain:
                seed_mode = _CAPTURE_MODES.get(self.state.get(SEED_CAPTURE_PREFIX + key) or "")
                if seed_mode is not None:
                    break
        return mode_of(queued.hop, self.crawl.manifest.follow, seed_mode)

    # -- one outcome ---------------------------------------------------------------------------

    def _handle(self, outcome: Outcome) -> None:
        job = outcome.job
        queued = job.queued
        now = time.monotonic()
        if job.robots_for is not None:
            self._handle_robots(outcome)
            # the URL that waited for its host's robots.txt goes first once the host may be asked again
            self.frontier.retry_later(queued, now + self.frontier.delay_of(queued.host))
            return
        retry_in = self._retry_in(outcome)
        if retry_in is not None:
            # 429, 5xx, timeouts and refused connections back off this host only
            self.politeness.retrying(queued, job.attempt)
            outcome.close()
            self.frontier.retry_later(queued, now + retry_in)
            return
        self.politeness.settled(queued)
        self.frontier.release(queued, now)
        if outcome.error is not None:
            self.recorder.done(queued, outcome.error.reason, reason=outcome.error.detail, attempts=job.attempt)
            return
        try:
            self._record(outcome)
        finally:
            outcome.close()

    def _retry_in(self, outcome: Outcome) -> float | None:
        """Seconds to wait before trying again, or None when this outcome is final (or stopping)."""
        if self.crawl.stop.is_set():
            return None
        if outcome.error is not None:
            return self.politeness.retry_in(outcome.job.attempt, reason=outcome.error.reason)
        exchange = outcome.exchange
        assert exchange is not None
        return self.politeness.retry_in(
            outcome.job.attempt, status=exchange.status, retry_after=exchange.header("Retry-After"),
            now=self.crawl.clock(),
        )

    def _record(self, outcome: Outcome) -> None:
        """A response: its records written, its page read and followed, its outcome logged."""
        queued, exchange = outcome.job.queued, outcome.exchange
        assert exchange is not None
        response = self.recorder.write(exchange, outcome.prepared, outcome.index_prefix)
        extra = None
        if outcome.rendered is not None:
            extra = self.recorder.write_rendered(queued, outcome.rendered, response)
            if outcome.render_note:
                extra["auto"] = outcome.render_note
        verdict, reason = classify(exchange.status), exchange.reason
        if exchange.truncated:
            verdict, reason = "truncated", f"body cut: {exchange.truncated}"
        location = exchange.location
        warning = None
        if location is not None:
            note = self.follower.redirect(queued, location)
            reason = f"{reason}; {note}" if note else reason
        elif parseable(exchange, queued):
            page = outcome.page
            if page is None:  # read here (one process)
                page_host = queued.host if exchange.url == queued.url else host_of(exchange.url)
                page = self.crawl.planner.plan(self.crawl.reader.read(exchange, queued), queued, page_host)
            if page.kind == "not-found":
                verdict, reason = "soft-404", "page answered 200 but says the cable was not found"
            elif page.kind == "cable" and page.text_rule == "none":
                warning = CABLE_WITHOUT_TEXT
            self.follower.page(queued, exchange, response, page)
        if verdict in NOT_ON_SITE and queued.hop == "reference":
            self.follower.year_before(queued)
        if outcome.rendered is None and outcome.render_note is not None:
            warning = outcome.render_note
        elif outcome.rendered is not None and not outcome.rendered.settled:
            warning = f"page never settled: {outcome.rendered.note}"
        self.recorder.done(
            queued, verdict, status=exchange.status, reason=reason, size=exchange.body_length,
            record=response, attempts=outcome.job.attempt, location=location, warning=warning, extra=extra,
        )

    def _handle_robots(self, outcome: Outcome) -> None:
        host = outcome.job.queued.host
        exchange = outcome.exchange
        if exchange is None:
            # No answer at all: RFC 9309 would disallow the host, but then each of its URLs would be
            # logged as "robots" instead of its real failure (refused, dns, timeout). Fetching a
            # host that does not answer harms nobody, so its URLs go ahead and fail as they will.
            self.politeness.apply_robots(host, None, b"")
            self.state.set_robots(host, None, b"")
            return
        try:
            response = self.recorder.write_whole(exchange, outcome.prepared, outcome.index_prefix)
            robots_entry = QueuedUrl(0, "", exchange.url, host, outcome.job.queued.depth, "robots", None, 0)
            self.recorder.log(robots_entry, classify(exchange.status), status=exchange.status,
                              reason=exchange.reason, size=exchange.body_length, record=response)
            body = exchange.read_body(ROBOTS_LIMIT)
            self.state.set_robots(host, exchange.status, body)
            delay = self.politeness.apply_robots(host, exchange.status, body)
            if delay is not None:
                self.frontier.set_delay(host, delay)
        finally:
            outcome.close()
