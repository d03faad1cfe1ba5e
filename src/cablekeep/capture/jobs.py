"""The work a fetch worker does: a :class:`Job` in, an :class:`Outcome` back.

Runs in a worker thread (or a forked worker process, see :mod:`cablekeep.capture.workers`) and
never touches the crawl state or the open WARC file: one fetch attempt, then the fetch's request
and response records built and compressed (hashing and zlib let other threads run). In one
process the page is read by the coordinator (Python work spread over the fetch threads made them
wait for the GIL and the crawl slower); worker processes read it themselves and send back an
outcome fit to pickle (:meth:`FetchWork.run_detached`), with the page planned
(:mod:`~cablekeep.capture.pageplan`): the plan goes back, not the page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import FetchError, OutputError
from ..manifest import CaptureMode
from .browser import Browser, RenderedPage, RenderFailed
from .cdxj import index_prefix
from .exchange import Exchange
from .fetch import Fetcher
from .modes import needs_browser
from .pageplan import PagePlan, PagePlanner
from .reading import PageReader, decoded_body, is_html, parseable
from .state import QueuedUrl
from .warc import PreparedExchange, WarcWriter

ROBOTS_LIMIT = 512 * 1024  # bytes of robots.txt read (RFC 9309 asks for at least 500 KiB)


@dataclass
class Job:
    """One fetch attempt: a queued URL, or its host's robots.txt (``robots_for``) before it."""

    queued: QueuedUrl
    robots_for: str | None = None  # set when this job fetches a host's robots.txt
    attempt: int = 1
    mode: CaptureMode = "http"  # browser, auto: an HTML page is rendered too (auto: when mostly script)

    @property
    def url(self) -> str:
        return self.robots_for or self.queued.url


@dataclass
class Outcome:
    """What came of a job: an exchange or a fetch error, with what the worker made of it."""

    job: Job
    exchange: Exchange | None
    error: FetchError | None
    # made by the worker, off the coordinator: the records, ready to append, and the page read
    prepared: PreparedExchange | None = None
    page: PagePlan | None = None  # the page read and planned, when a worker process read it
    index_prefix: str | None = None  # "<index key> <timestamp14>" of the capture's index line (cdxj.index_prefix)
    failure: BaseException | None = None  # an unexpected error in the worker, raised by the coordinator
    rendered: RenderedPage | None = None  # the page as the browser rendered it
    render_note: str | None = None  # why a page that was to be rendered was not (or why auto rendered it)

    def close(self) -> None:
        if self.exchange is not None:
            self.exchange.close()
        if self.prepared is not None:
            self.prepared.close()
        if self.rendered is not None:
            self.rendered.close()

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


class FetchWork:
    """What a worker runs on each job; made before the pool starts (forked workers inherit it)."""

    def __init__(self, fetcher: Fetcher, writer: WarcWriter, reader: PageReader, planner: PagePlanner,
                 spill_dir: Path, browser: Browser | None = None) -> None:
        self.fetcher = fetcher
        self.writer = writer
        self.reader = reader
        self.planner = planner
        self.spill_dir = spill_dir  # where worker processes leave the records of large fetches
        self.browser = browser  # None in worker processes: pages there are captured over HTTP

    def run(self, job: Job) -> Outcome:
        """In a worker thread: one fetch attempt, then its WARC records built and compressed."""
        try:
            exchange = self.fetcher.fetch(job.url)
        except FetchError as exc:
            return Outcome(job, None, exc)
        except BaseException as exc:  # raised again by the coordinator
            return Outcome(job, None, None, failure=exc)
        outcome = Outcome(job, exchange, None)
        try:
            outcome.prepared = self.writer.prepare_exchange(exchange)
            outcome.index_prefix = index_prefix(exchange.url, outcome.prepared.date)
            if job.mode != "http" and job.robots_for is None:
                self.render(outcome)
        except BaseException as exc:  # raised again by the coordinator
            outcome.failure = exc
        return outcome

    def render(self, outcome: Outcome) -> None:
        """An HTML page rendered in the browser (capture: browser, or auto and mostly script), its
        document answered from the fetch just made; why not, in ``render_note``."""
        exchange = outcome.exchange
        assert exchange is not None
        if not (exchange.status == 200 and not exchange.truncated and is_html(exchange)):
            return
        if outcome.job.mode == "auto":
            why = needs_browser(decoded_body(exchange))
            if why is None:
                return
            outcome.render_note = f"rendered: {why}"
        if self.browser is None:
            outcome.render_note = "not rendered: the browser runs with fetch.processes: 1 only; captured over HTTP"
            return
        missing = self.browser.unavailable()
        if missing is not None:
            outcome.render_note = f"not rendered: {missing}; captured over HTTP"
            return
        try:
            outcome.rendered = self.browser.render(exchange.url, exchange)
        except RenderFailed as exc:
            outcome.render_note = f"not rendered: {exc}; captured over HTTP"

    def run_detached(self, job: Job) -> Outcome:
        """In a worker process: :meth:`run`, the page read and planned too, and the outcome made fit to send
        back: the body left behind (only robots.txt's comes back), the records in memory or in a
        file under ``spill_dir``, an unexpected error as text."""
        outcome = self.run(job)
        exchange = outcome.exchange
        try:
            if exchange is not None and outcome.failure is None:
                if job.robots_for is None and parseable(exchange, job.queued):
                    queued = job.queued  # the page's URL is the one queued: its host is queued.host
                    outcome.page = self.planner.plan(self.reader.read(exchange, queued), queued, queued.host)
                kept = exchange.read_body(ROBOTS_LIMIT) if job.robots_for is not None else b""
                exchange.close()
                exchange.body, exchange.closed = io.BytesIO(kept), False
                if outcome.prepared is not None:
                    outcome.prepared = outcome.prepared.detach(self.spill_dir)
        except BaseException as exc:  # raised again by the coordinator
            outcome.failure = exc
        if outcome.failure is not None:
            _make_sendable(outcome)
        return outcome


def _make_sendable(outcome: Outcome) -> None:
    """An outcome whose worker failed, stripped to an error that pickles."""
    failure = outcome.failure
    outcome.close()
    outcome.exchange = outcome.prepared = None
    if isinstance(failure, OutputError):
        outcome.failure = OutputError(str(failure))
    else:
        outcome.failure = RuntimeError(f"a fetch worker failed: {type(failure).__name__}: {failure}")
