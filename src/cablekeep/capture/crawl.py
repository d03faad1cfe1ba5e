"""The crawl: a frontier in SQLite, polite concurrent fetching, WARC records, extraction, following.

One coordinating thread owns the state database and the WARC file; workers never touch either.
A worker fetches and builds the fetch's request and response records (compressed, ready to
append). Workers are threads in this process, or with ``fetch.processes`` > 1 forked processes
(see :mod:`cablekeep.capture.workers`) that also parse the page. For each finished fetch the
coordinator appends the records (or writes a revisit record instead), understands the page
(cable metadata, citations, links), queues what the manifest says to follow, logs the outcome,
and commits. Politeness is per host and decided by the coordinator alone: at most
``per_host_concurrency`` requests in flight to a host and ``per_host_delay`` seconds between
them (raised by robots.txt Crawl-delay).

What is followed (``follow`` in the manifest), from a page fetched at depth ``d < depth``:
  references  cables cited in a cable page's text, at ``site.cable_url``, depth d+1
  sources     links out of a page (cited documents, the original), depth d+1; a link back to the
              site's home page is navigation and is not followed
  requisites  what an HTML page needs to render (css, scripts, images), same depth, never followed
  redirects   each hop is fetched and recorded, same depth, at most MAX_REDIRECTS in a chain
Seeds are always fetched. ``include``/``exclude`` apply to followed URLs; a URL left out is
logged once as ``out-of-scope`` with the rule that left it out.

Crawl-log outcomes: ok, redirect, not-found, gone, soft-404, client-error, server-error, robots,
blocked-address, timeout, refused, dns, bad-response, invalid-url, error, out-of-scope,
redirect-limit, truncated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import random
import re
import shutil
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .. import __version__
from ..cables.cableid import year_before
from .canon import host_of, normalise_url, surt_key
from ..errors import FetchError, OutputError, RunInterrupted, UsageError
from ..cables.extract import Link, PageRecord, original_url_from_template, parse_page
from .exchange import Exchange
from .fetch import AddressGuard, Fetcher
from .workers import ProcessPool, ThreadPool
from .frontier import Frontier
from ..manifest import Manifest
from ..cables.profiles import BUILTIN_PROFILES, resolve_profile
from .robots import RobotsRules, rules_from_response
from .state import CrawlState, QueuedUrl
from .warc import (
    OPEN_SUFFIX, Capture, PreparedExchange, WarcWriter, WrittenRecord, make_record_id, sha1_label, timestamp14,
    trim_open_file, warc_date,
)

MAX_REDIRECTS = 10
EXTRACT_LIMIT = 8 * 1024 * 1024  # bytes of a page read for extraction (decompressed bodies are capped too)
COMMIT_EVERY = 0.5  # seconds between state commits
ROBOTS_LIMIT = 512 * 1024  # bytes of robots.txt read (RFC 9309 asks for at least 500 KiB)
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is capped
HTML_TYPES = ("text/html", "application/xhtml+xml")
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRYABLE_REASONS = frozenset({"timeout", "refused", "bad-response", "error"})
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time, with +-50% jitter
MAX_BACKOFF = 60.0
MAX_RETRY_AFTER = 600.0  # a Retry-After longer than this ends the retries
NOT_ON_SITE = frozenset({"not-found", "gone", "soft-404"})


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


PROGRESS_HOSTS_KEPT = 10_000  # per-host counts kept for "busiest hosts" (smallest pruned past this)
FAILED_OUTCOMES = frozenset({
    "not-found", "gone", "soft-404", "client-error", "server-error", "blocked-address", "timeout",
    "refused", "dns", "bad-response", "invalid-url", "error", "redirect-limit", "truncated",
})


@dataclass
class _Job:
    queued: QueuedUrl
    robots_for: str | None = None  # set when this job fetches a host's robots.txt
    attempt: int = 1


@dataclass
class _Outcome:
    job: _Job
    exchange: Exchange | None
    error: FetchError | None
    # made by the worker thread, off the coordinator: the records, ready to append, and the page read
    prepared: PreparedExchange | None = None
    record: PageRecord | None = None  # the page read, when a worker process read it
    index_prefix: str | None = None  # "<surt key> <timestamp14>" of the capture's index line
    failure: BaseException | None = None  # an unexpected error in the worker, raised by the coordinator

    def close(self) -> None:
        if self.exchange is not None:
            self.exchange.close()
        if self.prepared is not None:
            self.prepared.close()

    def __getstate__(self) -> dict[str, object]:
        # sent back from a worker process: a FetchError is rebuilt from its parts
        state = dict(self.__dict__)
        if self.error is not None:
            state["error"] = (self.error.url, self.error.reason, self.error.detail)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        error = state.get("error")
        if isinstance(error, tuple):
            state["error"] = FetchError(*error)
        self.__dict__.update(state)


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
    ) -> None:
        self.manifest = manifest
        self.on_progress = on_progress
        self._done = self._failed = self._bytes = 0
        self._per_host: Counter[str] = Counter()
        self._started = time.monotonic()
        self.earlier_bags = list(earlier_bags)
        self.workdir = workdir
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.make_id = make_id
        self.on_entry = on_entry or (lambda entry: None)
        self.stop = stop or threading.Event()
        self.warc_dir = workdir / "warc"
        fetch = manifest.fetch
        self.user_agent = fetch.user_agent
        self.fetcher = Fetcher(
            user_agent=fetch.user_agent,
            timeout=fetch.timeout,
            max_bytes=fetch.max_bytes,
            guard=AddressGuard(fetch.allow_private, frozenset(h.lower() for h in fetch.allow_hosts)),
            clock=self.clock,
        )
        self.robots: dict[str, RobotsRules] = {}
        self.host_delay: dict[str, float] = {}
        self.attempts: dict[int, int] = {}  # URLs being retried: attempts so far
        self.profile = resolve_profile(manifest.site.profile)
        self.fallbacks = tuple(p for p in BUILTIN_PROFILES if p is not self.profile)
        self.result = CrawlResult(workdir, [])

    # -- set-up and resume -------------------------------------------------------------------

    def _open_state(self) -> tuple[CrawlState, WarcWriter]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = CrawlState(self.workdir / "state.sqlite")
        started = state.get("started")
        digest = hashlib.sha256(self.manifest.source_text.encode("utf-8")).hexdigest()
        if started is not None and state.get("manifest_sha256") not in (None, digest):
            state.abandon()
            raise UsageError(
                f"{self.manifest.path} changed since the interrupted crawl in {self.workdir}; run it as it was "
                f"to finish that crawl (its copy is in the state), or remove {self.workdir} to start over"
            )
        if started is None:
            state.set("manifest_sha256", digest)
            state.set("started", self.clock().isoformat())
            state.set("collection", self.manifest.collection)
            state.set("software", f"cablekeep/{__version__}")
            for seed in self.manifest.seeds:
                url = normalise_url(seed.url)
                state.add_url(surt_key(url), url, host_of(url), 0, "seed", None)
            self._load_earlier_bags(state)
            state.commit()
        else:
            self.result.resumed = True
        serial = self._recover_warcs(state)
        for host, status, body in state.iter_robots():
            self._apply_robots(host, status, body)
        org = self.manifest.organization
        operator = ", ".join(part for part in (org.name, org.contact.name, org.contact.email) if part)
        writer = WarcWriter(
            self.warc_dir,
            prefix=self.manifest.collection,
            max_size=self.manifest.warc.max_size,
            warcinfo={
                "operator": operator or "unknown",
                "isPartOf": self.manifest.collection,
                "description": self.manifest.title,
                "robots": self.manifest.fetch.robots,
                "http-header-user-agent": self.user_agent,
            },
            clock=self.clock,
            make_id=self.make_id,
            serial=serial,
        )
        self.writer = writer
        return state, writer

    def _recover_warcs(self, state: CrawlState) -> int:
        """Close what a crashed run left open: trim each ``.open`` file to its committed offset."""
        serial = 0
        for name, file_serial, file_state, committed in state.warc_files():
            serial = max(serial, file_serial)
            if file_state != "open":
                continue
            open_path = self.warc_dir / (name + OPEN_SUFFIX)
            final = self.warc_dir / name
            if open_path.exists():
                if committed > 0:
                    trim_open_file(open_path, committed)
                    open_path.replace(final)
                else:
                    open_path.replace(open_path.with_name(open_path.name + ".aborted"))
            if final.exists():
                state.warc_closed(name)
            else:
                state.db.execute("DELETE FROM warc_files WHERE name = ?", (name,))
        for stray in self.warc_dir.glob("*" + OPEN_SUFFIX) if self.warc_dir.exists() else []:
            stray.replace(stray.with_name(stray.name + ".aborted"))
        state.commit()
        return serial

    # -- main loop ---------------------------------------------------------------------------

    def run(self) -> CrawlResult:
        state, writer = self._open_state()
        fetch = self.manifest.fetch
        frontier = Frontier(state, per_host_concurrency=fetch.per_host_concurrency, per_host_delay=fetch.per_host_delay)
        for host, delay in self.host_delay.items():
            frontier.set_delay(host, delay)
        self.frontier = frontier
        self._inflight = 0
        last_commit = time.monotonic()
        try:
            pool: ThreadPool[_Job, _Outcome] | ProcessPool[_Job, _Outcome]
            if fetch.processes > 1:
                shutil.rmtree(self.spill_dir, ignore_errors=True)  # what a killed run's workers left
                threads = fetch.threads or math.ceil(fetch.concurrency / fetch.processes)
                pool = ProcessPool(self._fetch_detached, fetch.processes, threads)
            else:
                pool = ThreadPool(self._fetch, fetch.threads or fetch.concurrency)
            finished = False
            try:
                while True:
                    if not self.stop.is_set():
                        frontier.refill()
                        self._fill(state, pool)
                    if not self._inflight:
                        if self.stop.is_set() or frontier.drained():
                            break
                        pause = frontier.wait_time(time.monotonic())
                        time.sleep(min(pause if pause is not None else 0.05, 0.25))
                        continue
                    pause = frontier.wait_time(time.monotonic())
                    timeout = 0.25 if pause is None else min(max(pause, 0.001), 0.25)
                    for outcome in pool.results(timeout):
                        self._inflight -= 1
                        if outcome.failure is not None:
                            outcome.close()
                            raise outcome.failure
                        self._handle(state, writer, outcome)
                        self._roll(state, writer)
                    if time.monotonic() - last_commit > COMMIT_EVERY:
                        self._commit(state, writer)
                        self._report_progress(state)
                        last_commit = time.monotonic()
                finished = True
            finally:
                pool.shutdown(wait=finished)
            self._commit(state, writer)
            self._report_progress(state)
            self._close_warc(state, writer)
            if self.stop.is_set() and state.queued_count():
                state.commit()
                raise RunInterrupted(
                    f"crawl stopped with {state.queued_count()} URLs still queued; "
                    "run the same command again to resume"
                )
            state.set("crawled", self.clock().isoformat())
            state.commit()
        except RunInterrupted:
            self._finish(state)  # everything up to here was committed: count and close
            raise
        except BaseException:
            # Nothing more is committed: URLs marked done since the last commit may have records
            # past the committed WARC offset, which the next run cuts off and fetches again.
            self.fetcher.close()
            writer.abandon()
            state.abandon()
            raise
        self._finish(state)
        return self.result

    def _finish(self, state: CrawlState) -> None:
        self.fetcher.close()
        self.result.warc_files = sorted(p for p in self.warc_dir.glob("*.warc.gz"))
        self._count(state)
        state.close()

    def _report_progress(self, state: CrawlState) -> None:
        if self.on_progress is None:
            return
        self.on_progress(CrawlProgress(
            done=self._done, queued=state.queued_count(), failed=self._failed, bytes=self._bytes,
            elapsed=time.monotonic() - self._started, busiest_hosts=tuple(self._per_host.most_common(5)),
        ))

    def _count(self, state: CrawlState) -> None:
        result = self.result
        result.outcomes.clear()
        result.failed_hosts.clear()
        result.pages = result.bytes = 0
        for entry in state.iter_log_entries():
            outcome = str(entry["outcome"])
            result.outcomes[outcome] += 1
            size = entry.get("bytes")
            result.bytes += size if isinstance(size, int) else 0
            if entry.get("status") is not None:
                result.pages += 1
            if outcome not in {"ok", "redirect", "out-of-scope", "robots"}:
                result.failed_hosts[host_of(str(entry["url"]))] += 1
        result.cables = state.count("cables")

    def _fill(self, state: CrawlState, pool: ThreadPool[_Job, _Outcome] | ProcessPool[_Job, _Outcome]) -> None:
        fetch = self.manifest.fetch
        while self._inflight < fetch.concurrency:
            queued = self.frontier.next_ready(time.monotonic())
            if queued is None:
                return
            job = _Job(queued, attempt=self.attempts.get(queued.id, 0) + 1)
            if fetch.robots == "obey":
                rules = self.robots.get(queued.host)
                if rules is None:
                    job = _Job(queued, robots_for=urljoin(queued.url, "/robots.txt"))
                elif not rules.allowed(queued.url, self.user_agent):
                    self.frontier.release(queued, time.monotonic())
                    self._log(state, queued, "robots", reason="disallowed by robots.txt")
                    state.mark_done(queued.id, "robots")
                    continue
            pool.submit(job)
            self._inflight += 1

    def _fetch(self, job: _Job) -> _Outcome:
        """Runs in a worker thread: one fetch attempt, then its WARC records built and compressed
        (hashing and zlib let other threads run). In one process the page is parsed by the
        coordinator: Python work spread over the fetch threads made them wait for the GIL and the
        crawl slower. Worker processes parse it themselves (:meth:`_fetch_detached`)."""
        try:
            exchange = self.fetcher.fetch(job.robots_for or job.queued.url)
        except FetchError as exc:
            return _Outcome(job, None, exc)
        except BaseException as exc:  # raised again by the coordinator
            return _Outcome(job, None, None, failure=exc)
        outcome = _Outcome(job, exchange, None)
        try:
            outcome.prepared = self.writer.prepare_exchange(exchange)
            outcome.index_prefix = f"{surt_key(exchange.url)} {timestamp14(outcome.prepared.date)}"
        except BaseException as exc:  # raised again by the coordinator
            outcome.failure = exc
        return outcome

    def _fetch_detached(self, job: _Job) -> _Outcome:
        """Runs in a worker process: :meth:`_fetch`, the page read too, and the outcome made fit
        to send back: the body left behind (only robots.txt's comes back), the records in memory
        or in a file under ``spill_dir``, an unexpected error as text."""
        outcome = self._fetch(job)
        exchange = outcome.exchange
        try:
            if exchange is not None and outcome.failure is None:
                if job.robots_for is None and _parseable(exchange, job.queued):
                    outcome.record = self._parse(exchange, job.queued)
                kept = exchange.read_body(ROBOTS_LIMIT) if job.robots_for is not None else b""
                exchange.close()
                exchange.body, exchange.closed = io.BytesIO(kept), False
                if outcome.prepared is not None:
                    outcome.prepared = outcome.prepared.detach(self.spill_dir)
        except BaseException as exc:  # raised again by the coordinator
            outcome.failure = exc
        if outcome.failure is not None:
            failure = outcome.failure
            outcome.close()
            outcome.exchange = outcome.prepared = None
            if isinstance(failure, OutputError):
                outcome.failure = OutputError(str(failure))
            else:
                outcome.failure = RuntimeError(f"a fetch worker failed: {type(failure).__name__}: {failure}")
        return outcome

    @property
    def spill_dir(self) -> Path:
        """Where worker processes leave the records of large fetches for the coordinator."""
        return self.workdir / "spool"

    # -- one result --------------------------------------------------------------------------

    def _retry_delay(self, outcome: _Outcome) -> float | None:
        """Seconds to wait before trying again, or None when this outcome is final."""
        job = outcome.job
        if job.attempt > self.manifest.fetch.retries or self.stop.is_set():
            return None
        backoff: float = min(MAX_BACKOFF, BACKOFF_BASE * 2.0 ** (job.attempt - 1)) * (0.5 + random.random())
        if outcome.error is not None:
            return backoff if outcome.error.reason in RETRYABLE_REASONS else None
        assert outcome.exchange is not None
        if outcome.exchange.status not in RETRYABLE_STATUSES:
            return None
        after = _retry_after(outcome.exchange.header("Retry-After"), self.clock())
        if after is None:
            return backoff
        return after if after <= MAX_RETRY_AFTER else None

    def _handle(self, state: CrawlState, writer: WarcWriter, outcome: _Outcome) -> None:
        job = outcome.job
        queued = job.queued
        now = time.monotonic()
        if job.robots_for is not None:
            self._handle_robots(state, writer, outcome)
            # the URL that waited for its host's robots.txt goes first once the host may be asked again
            self.frontier.retry_later(queued, now + self.frontier._host(queued.host).delay)
            return
        retry_in = self._retry_delay(outcome)
        if retry_in is not None:
            # 429, 5xx, timeouts and refused connections back off this host only
            self.attempts[queued.id] = job.attempt
            outcome.close()
            self.frontier.retry_later(queued, now + retry_in)
            return
        self.attempts.pop(queued.id, None)
        self.frontier.release(queued, now)
        if outcome.error is not None:
            self._log(state, queued, outcome.error.reason, reason=outcome.error.detail, attempts=job.attempt)
            state.mark_done(queued.id, outcome.error.reason)
            return
        exchange = outcome.exchange
        assert exchange is not None
        prepared = outcome.prepared
        try:
            revisit = self._earlier_capture(state, exchange, prepared)
            if revisit is None and prepared is not None:
                request, response = writer.write_prepared(exchange, prepared)
            else:
                request, response = writer.write_exchange(exchange, revisit_of=revisit)
            date_text = prepared.warc_date if prepared is not None else warc_date(response.date)
            if revisit is None and _dedupable(exchange):
                digest = prepared.payload_digest if prepared is not None else sha1_label(exchange.body_sha1)
                state.add_digest(digest, exchange.url, date_text, response.record_id)
            self._index(state, response, date_text, outcome.index_prefix)
            verdict = _classify(exchange.status)
            reason = exchange.reason
            if exchange.truncated:
                verdict, reason = "truncated", f"body cut: {exchange.truncated}"
            location = exchange.location
            if location is not None:
                note = self._follow_redirect(state, queued, location)
                reason = f"{reason}; {note}" if note else reason
            elif _parseable(exchange, queued):
                record = outcome.record if outcome.record is not None else self._parse(exchange, queued)
                if record.kind == "not-found":
                    verdict, reason = "soft-404", "page answered 200 but says the cable was not found"
                self._understood(state, writer, queued, exchange, response, record)
            if verdict in NOT_ON_SITE and queued.hop == "reference":
                self._try_year_before(state, queued)
            self._log(
                state, queued, verdict, status=exchange.status, reason=reason, size=exchange.body_length,
                record=response, attempts=job.attempt, location=location,
            )
            state.mark_done(queued.id, verdict)
        finally:
            outcome.close()

    def _parse(self, exchange: Exchange, queued: QueuedUrl) -> PageRecord:
        """Understand a page: the manifest's profile first, then the built-in layouts. The links
        of a page that is not a cable or an original are read only when some would be followed."""
        follow = self.manifest.follow
        other_links = follow.requisites or (follow.sources and queued.depth < follow.depth)
        return parse_page(
            _decoded_body(exchange), exchange.url, exchange.content_type, self.profile, self.fallbacks,
            other_links=other_links,
        )

    def _try_year_before(self, state: CrawlState, queued: QueuedUrl) -> None:
        """A citation written without a year took the citing cable's; when that cable is not on
        the site, the year before is tried (a January cable citing last December's)."""
        cable_url = self.manifest.site.cable_url
        if not cable_url:
            return
        for cable_id in state.yearless_citations_of(queued.key):
            earlier = year_before(cable_id)
            if earlier is not None:
                self._enqueue(state, cable_url.format(id=earlier), queued, queued.depth, "reference")

    def _earlier_capture(
        self, state: CrawlState, exchange: Exchange, prepared: PreparedExchange | None = None
    ) -> Capture | None:
        """The first capture of the same payload, in this crawl or (dedup: collection) an earlier bag."""
        if not _dedupable(exchange):
            return None
        found = state.first_capture(prepared.payload_digest if prepared is not None else sha1_label(exchange.body_sha1))
        if found is None:
            return None
        url, date, record_id, bag = found
        if bag is not None:
            state.set(f"depends:{bag}", bag)
        return Capture(url, date, record_id)

    def _load_earlier_bags(self, state: CrawlState) -> None:
        """Payload digests of the collection's earlier bags, so unchanged payloads become revisits."""
        for bag in self.earlier_bags:
            index = bag / "data" / "index.cdxj"
            if not index.is_file():
                continue
            with open(index, encoding="utf-8") as handle:
                for line in handle:
                    _, _, fields_text = line.rstrip("\n").split(" ", 2)
                    fields = json.loads(fields_text)
                    if fields.get("mime") == "warc/revisit" or fields.get("status") != "200" or "warc_date" not in fields:
                        continue
                    state.add_digest(fields["digest"], fields["url"], fields["warc_date"], fields.get("record_id"), bag.name)

    def _handle_robots(self, state: CrawlState, writer: WarcWriter, outcome: _Outcome) -> None:
        host = outcome.job.queued.host
        exchange = outcome.exchange
        if exchange is None:
            # No answer at all: RFC 9309 would disallow the host, but then each of its URLs would be
            # logged as "robots" instead of its real failure (refused, dns, timeout). Fetching a
            # host that does not answer harms nobody, so its URLs go ahead and fail as they will.
            self.robots[host] = RobotsRules(None)
            state.set_robots(host, None, b"")
            return
        try:
            if outcome.prepared is not None:
                _, response = writer.write_prepared(exchange, outcome.prepared)
            else:
                _, response = writer.write_exchange(exchange)
            self._index(state, response, None, outcome.index_prefix)
            robots_entry = QueuedUrl(0, "", exchange.url, host, outcome.job.queued.depth, "robots", None, 0)
            self._log(state, robots_entry, _classify(exchange.status), status=exchange.status,
                      reason=exchange.reason, size=exchange.body_length, record=response)
            body = exchange.read_body(ROBOTS_LIMIT)
            state.set_robots(host, exchange.status, body)
            self._apply_robots(host, exchange.status, body)
        finally:
            outcome.close()

    def _apply_robots(self, host: str, status: int | None, body: bytes) -> None:
        if status is None:
            self.robots[host] = RobotsRules(None)
            return
        rules = rules_from_response(status, body)
        self.robots[host] = rules
        delay = rules.crawl_delay(self.user_agent)
        if delay is not None and delay > self.manifest.fetch.per_host_delay:
            self.host_delay[host] = min(delay, MAX_CRAWL_DELAY)
            if hasattr(self, "frontier"):
                self.frontier.set_delay(host, self.host_delay[host])

    def _understood(
        self,
        state: CrawlState,
        writer: WarcWriter,
        queued: QueuedUrl,
        exchange: Exchange,
        response: WrittenRecord,
        record: PageRecord,
    ) -> None:
        follow = self.manifest.follow
        deeper = queued.depth < follow.depth
        outlinks: list[str] = []
        if record.kind == "cable":
            cited = [c.cable_id for c in record.citations]
            entry: dict[str, object] = {
                "url": exchange.url,
                "captured": response.date.isoformat().replace("+00:00", "Z"),
                "status": exchange.status,
                "cable_id": record.cable_id,
                "fields": record.fields,
                "tags": list(record.tags),
                "cited": cited,
                "warc_filename": response.filename,
                "warc_record_id": response.record_id,
            }
            state.add_cable(entry)
            cable_url = self.manifest.site.cable_url
            for citation in record.citations:
                target = normalise_url(cable_url.format(id=citation.cable_id)) if cable_url else None
                state.add_citation(
                    record.cable_id or exchange.url, exchange.url, citation.written, citation.cable_id, target,
                    surt_key(target) if target else None, _has_year(citation.written),
                )
                if target is not None and follow.references and deeper:
                    outlinks.append(target)
                    self._enqueue(state, target, queued, queued.depth + 1, "reference")
            if not any(link.rel == "original" for link in record.links) and self.manifest.site.original_url:
                built = original_url_from_template(self.manifest.site.original_url, record)
                if built is not None:
                    record = dataclasses.replace(
                        record, links=(*record.links, Link(built, "original", "template", "original (from site.original_url)"))
                    )
        elif record.kind == "original" and record.cable_id:
            state.add_original(record.cable_id, exchange.url, record.fields)
        page_host = queued.host if exchange.url == queued.url else host_of(exchange.url)
        for link in record.links:
            if link.rel == "requisite":
                if follow.requisites:
                    self._enqueue(state, link.url, queued, queued.depth, "requisite")
            elif link.rel == "original" or not _is_navigation(link.url, page_host):
                outlinks.append(link.url)
                if follow.sources and deeper:
                    self._enqueue(state, link.url, queued, queued.depth + 1, "source")
        if record.kind in {"cable", "original"}:
            payload = {
                "software": f"cablekeep/{__version__}",
                "url": exchange.url,
                "record": record.to_json(),
                "outlinks": outlinks,
            }
            writer.write_metadata(
                exchange.url, response.record_id, json.dumps(payload, ensure_ascii=False).encode("utf-8"), response.date
            )

    def _follow_redirect(self, state: CrawlState, queued: QueuedUrl, location: str) -> str:
        """Queue a redirect's target (same depth and hop); returns a note for the crawl log."""
        if queued.redirects + 1 > MAX_REDIRECTS:
            return f"not followed: more than {MAX_REDIRECTS} redirects in a row"
        url = normalise_url(location)
        key = surt_key(url)
        if state.seen(key):
            if key in state.redirect_chain(surt_key(queued.url), MAX_REDIRECTS):
                return f"redirect loop: {url} is earlier in this chain"
            return f"target {url} already captured or queued"
        state.add_url(key, url, host_of(url), queued.depth, queued.hop, queued.url, queued.redirects + 1)
        return ""

    def _enqueue(self, state: CrawlState, url: str, via: QueuedUrl, depth: int, hop: str) -> None:
        if not url.startswith(("http://", "https://")):
            return
        url = normalise_url(url)
        key = surt_key(url)
        if state.seen(key):
            return
        host = host_of(url)
        reason = self._out_of_scope(url, key, host, hop)
        if reason is not None:
            state.add_done(key, url, host, depth, hop, via.url, "out-of-scope")
            entry: dict[str, object] = {
                "url": url, "outcome": "out-of-scope", "status": None, "reason": reason, "bytes": 0,
                "time": self.clock().isoformat().replace("+00:00", "Z"), "depth": depth, "hop": hop, "via": via.url,
            }
            state.add_log(entry)
            self.on_entry(entry)
            return
        state.add_url(key, url, host, depth, hop, via.url)

    def _out_of_scope(self, url: str, key: str, host: str, hop: str) -> str | None:
        follow = self.manifest.follow
        if follow.include and not any(p.search(url) or p.search(key) for p in follow.include):
            return "matches no follow.include pattern"
        for pattern in follow.exclude:
            if pattern.search(url) or pattern.search(key):
                return f"matches follow.exclude {pattern.pattern!r}"
        if hop == "source" and follow.hosts and host.split(":")[0] not in follow.hosts and host not in follow.hosts:
            return "host not in follow.hosts"
        return None

    # -- bookkeeping -------------------------------------------------------------------------

    def _index(
        self, state: CrawlState, record: WrittenRecord, date_text: str | None = None, prefix: str | None = None
    ) -> None:
        fields = {
            "url": record.target_uri,
            "mime": "warc/revisit" if record.record_type == "revisit" else record.mime or "unk",
            "status": str(record.status) if record.status is not None else "-",
            "digest": record.payload_digest or "-",
            "length": str(record.length),
            "offset": str(record.offset),
            "filename": record.filename,
            "warc_date": date_text or warc_date(record.date),
            "record_id": record.record_id,
        }
        if prefix is None:
            prefix = f"{surt_key(record.target_uri)} {timestamp14(record.date)}"
        state.add_capture(f"{prefix} {json.dumps(fields)}")

    def _log(
        self,
        state: CrawlState,
        queued: QueuedUrl,
        outcome: str,
        *,
        status: int | None = None,
        reason: str = "",
        size: int = 0,
        record: WrittenRecord | None = None,
        attempts: int = 1,
        location: str | None = None,
    ) -> None:
        entry: dict[str, object] = {
            "url": queued.url,
            "outcome": outcome,
            "status": status,
            "reason": reason,
            "bytes": size,
            "time": self.clock().isoformat().replace("+00:00", "Z"),
            "depth": queued.depth,
            "hop": queued.hop,
            "via": queued.via,
            "attempts": attempts,
        }
        if location is not None:
            entry["location"] = location
        if record is not None:
            entry["warc_filename"] = record.filename
            entry["warc_record_id"] = record.record_id
        state.add_log(entry)
        self.on_entry(entry)
        self._done += 1
        self._bytes += size
        self._failed += outcome in FAILED_OUTCOMES
        self._per_host[queued.host] += 1
        if len(self._per_host) > PROGRESS_HOSTS_KEPT:
            for host, _ in self._per_host.most_common()[PROGRESS_HOSTS_KEPT // 2:]:
                del self._per_host[host]

    def _commit(self, state: CrawlState, writer: WarcWriter) -> None:
        point = writer.commit_point()
        if point is not None:
            name, offset = point
            final_name = name[: -len(OPEN_SUFFIX)]
            if final_name not in {row[0] for row in state.warc_files("open")}:
                state.warc_opened(final_name, writer.serial)
            state.warc_committed(final_name, offset)
        state.commit()

    def _roll(self, state: CrawlState, writer: WarcWriter) -> None:
        if not writer.full():
            return
        self._commit(state, writer)
        self._close_warc(state, writer)

    def _close_warc(self, state: CrawlState, writer: WarcWriter) -> None:
        point = writer.commit_point()
        if point is None:
            return
        self._commit(state, writer)
        final = writer.close_file()
        if final is not None:
            state.warc_closed(final.name)
            state.commit()


def _retry_after(value: str | None, now: datetime) -> float | None:
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


def _is_navigation(url: str, page_host: str) -> bool:
    """A link back to the home page of the page's own site: navigation, not a source."""
    return host_of(url) == page_host and urlsplit(url).path in {"", "/"}


def _classify(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        return "redirect"
    if status == 404:
        return "not-found"
    if status == 410:
        return "gone"
    if 400 <= status < 500:
        return "client-error"
    return "server-error"


def _decoded_body(exchange: Exchange) -> bytes:
    """The body for extraction: Content-Encoding undone, never more than EXTRACT_LIMIT bytes.

    The WARC keeps the body as sent; this copy is only read. A compressed bomb stops expanding at
    the limit (zlib's max_length), whatever its ratio."""
    encoding = (exchange.header("Content-Encoding") or "").strip().lower()
    raw = exchange.read_body(EXTRACT_LIMIT)
    if encoding in {"gzip", "x-gzip", "deflate"}:
        wbits = 47 if encoding != "deflate" else 15  # 47: gzip or zlib header, auto-detected
        try:
            decoder = zlib.decompressobj(wbits)
            return decoder.decompress(raw, EXTRACT_LIMIT)
        except zlib.error:
            try:
                return zlib.decompressobj(-15).decompress(raw, EXTRACT_LIMIT)
            except zlib.error:
                return b""
    return raw


def _has_year(written: str) -> bool:
    """Whether a citation as written carries its own year ("05 ALMATY 1437", "05ALMATY1437")."""
    return re.match(r"\s*\d{2}(?!\d)", written) is not None


def _dedupable(exchange: Exchange) -> bool:
    """Only whole 200 responses with a body are compared by payload digest."""
    return exchange.status == 200 and exchange.body_length > 0 and exchange.truncated is None


def _parseable(exchange: Exchange, queued: QueuedUrl) -> bool:
    """A whole 2xx HTML page that is not a redirect or a requisite: read for fields and links."""
    return (
        200 <= exchange.status < 300 and not exchange.truncated and exchange.location is None
        and _is_html(exchange) and queued.hop != "requisite"
    )


def _is_html(exchange: Exchange) -> bool:
    content_type = (exchange.content_type or "").lower()
    return content_type.startswith(HTML_TYPES) or (not content_type and exchange.url.endswith((".html", ".htm", "/")))
