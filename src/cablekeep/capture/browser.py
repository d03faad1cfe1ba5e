"""Capturing what a reader sees: a page rendered in headless Chromium, every request it makes fetched by cablekeep.

The browser renders; cablekeep fetches. Each page gets a fresh tab in its own browser context,
with the DevTools Fetch domain pausing every request the page makes (document, scripts, styles,
XHR and fetch, images, fonts, frames, each redirect hop). A paused request goes through the
crawl's :class:`Gate` (robots.txt, per-host delay) and the crawl's own
:class:`~cablekeep.capture.fetch.Fetcher` (address guard, time and size bounds), and the browser
gets the answer with ``Fetch.fulfillRequest`` (a redirect is answered as one, so the browser asks
for its target, which is checked in turn) or ``Fetch.failRequest`` when cablekeep refused or got
no response. The document itself is answered from the HTTP fetch the crawl already made.

After the load event the page is given until the network is idle (:attr:`BrowserOptions.idle_time`
without a request), at most ``settle_time`` seconds from the start: a page that never stops is cut
there and its capture marked unsettled. Then it is scrolled to its end (bounded steps and time) so
lazy content loads, and a full-page PNG screenshot and the rendered DOM are taken.

Tabs are a bounded pool (:attr:`BrowserOptions.tabs`, by default from the machine's cores and
memory). A tab that crashes or hangs (a command unanswered for ``hang_time``) is closed and the
page tried once more, then failed with its reason (:class:`RenderFailed`); a browser that dies is
started again. The protocol and the process are :mod:`cablekeep.capture.cdp`'s.
"""

from __future__ import annotations

import base64
import concurrent.futures
import os
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FetchError
from .canon import InvalidUrlError, host_of
from .cdp import BrowserGone, CdpClient, CdpError, CdpTimeout, Chromium, find_browser
from .exchange import Exchange
from .fetch import Fetcher
from .robots import RobotsRules

MAX_SCREENSHOT_HEIGHT = 16_384  # CSS pixels of a full-page screenshot, at most
MAX_SCREENSHOT_WIDTH = 4_096
VIEWPORT = (1280, 800)
FETCH_THREADS = 6  # a page's requests fetched at once (each host still paced by the gate)
DROPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})  # the body is given decoded
FAIL_REASONS = {"blocked-address": "BlockedByClient", "robots": "BlockedByClient", "invalid-url": "AddressUnreachable",
                "dns": "NameNotResolved", "refused": "ConnectionRefused", "timeout": "TimedOut"}


def default_tabs() -> int:
    """Pages rendered at once: one per core, one per 512 MB of memory available, between 1 and 8."""
    cores = os.cpu_count() or 1
    try:
        pages, page_size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        by_memory = max(1, pages * page_size // (512 * 1024 * 1024))
    except (OSError, ValueError):
        by_memory = 2
    return max(1, min(8, cores, by_memory))


@dataclass(frozen=True)
class BrowserOptions:
    tabs: int = field(default_factory=default_tabs)
    settle_time: float = 30.0  # seconds from navigation to an idle network, at most; then the page is cut
    idle_time: float = 0.5  # seconds without a request that make the network idle
    scroll_steps: int = 20  # viewport heights scrolled, at most
    scroll_time: float = 5.0  # seconds of scrolling, at most
    hang_time: float = 10.0  # seconds a tab may leave a command unanswered before it counts as hung


class RenderFailed(Exception):
    """A page could not be rendered (its tab crashed or hung twice, or the browser would not start)."""


@dataclass
class RenderedPage:
    """What the browser made of a page: the fetches it needed (the document aside), what was
    refused, the screenshot and the DOM, and whether the network ever settled."""

    url: str
    resources: list[Exchange]
    failures: list[FetchError]
    screenshot: bytes | None
    dom: bytes
    settled: bool
    note: str  # how the capture ended, for the crawl log

    def close(self) -> None:
        for exchange in self.resources:
            exchange.close()


class Gate:
    """What each request a page makes passes before the fetcher: robots.txt, as far as the crawl
    knows it (``robots``: the crawl's rules by host, read only), and a delay per host."""

    def __init__(self, *, user_agent: str, per_host_delay: float, obey_robots: bool,
                 robots: Mapping[str, RobotsRules], host_delays: Mapping[str, float]) -> None:
        self.user_agent = user_agent
        self.per_host_delay = per_host_delay
        self.obey_robots = obey_robots
        self.robots = robots
        self.host_delays = host_delays
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, url: str) -> None:
        """Wait for the host's turn; FetchError (robots, invalid-url) when the URL may not be fetched."""
        try:
            host = host_of(url)
        except InvalidUrlError as exc:
            raise FetchError(url, "invalid-url", exc.reason) from exc
        rules = self.robots.get(host)
        if self.obey_robots and rules is not None and not rules.allowed(url, self.user_agent):
            raise FetchError(url, "robots", "disallowed by robots.txt")
        delay = max(self.per_host_delay, self.host_delays.get(host, 0.0))
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + delay
        if start > now:
            time.sleep(start - now)


class Browser:
    """A bounded pool of tabs in one headless Chromium, started on first use, restarted when it dies."""

    def __init__(self, fetcher: Fetcher, gate: Gate, options: BrowserOptions | None = None,
                 executable: Path | None = None) -> None:
        self.fetcher = fetcher
        self.gate = gate
        self.options = options or BrowserOptions()
        self.executable = executable or find_browser()
        self._chromium: Chromium | None = None
        self._lock = threading.Lock()
        self._tabs = threading.BoundedSemaphore(self.options.tabs)
        self._closed = False
        self.starts = 0  # browser processes started, restarts included

    def unavailable(self) -> str | None:
        """Why no page can be rendered here, or None."""
        if self.executable is None:
            return "no Chromium found (install Debian's chromium package)"
        return None

    @property
    def pid(self) -> int | None:
        return self._chromium.pid if self._chromium is not None else None

    def _client(self) -> CdpClient:
        with self._lock:
            if self._closed:
                raise RenderFailed("the browser is closed")
            if self._chromium is not None and not self._chromium.alive():
                self._chromium.close()
                self._chromium = None
            if self._chromium is None:
                if self.executable is None:
                    raise RenderFailed(self.unavailable() or "no browser")
                try:
                    self._chromium = Chromium(self.executable)
                except (OSError, CdpError) as exc:
                    raise RenderFailed(f"the browser would not start: {exc}") from exc
                self.starts += 1
            return self._chromium.client

    def render(self, url: str, document: Exchange | None = None) -> RenderedPage:
        """Render ``url`` (its document answered from ``document`` when given); RenderFailed."""
        with self._tabs:
            problem = ""
            for _attempt in (1, 2):
                client = self._client()
                try:
                    return _PageCapture(client, self, url, document).run()
                except _TabFailed as exc:
                    problem = str(exc)
                except BrowserGone as exc:
                    problem = f"the browser went away: {exc}"
            raise RenderFailed(f"{problem}; tried twice")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._chromium is not None:
                self._chromium.close()
                self._chromium = None


class _TabFailed(Exception):
    """The tab crashed or hung: it is closed and the page tried again."""


class _PageCapture:
    """One page in one fresh tab: intercept, load, settle, scroll, screenshot, DOM, close."""

    def __init__(self, client: CdpClient, browser: Browser, url: str, document: Exchange | None) -> None:
        self.client = client
        self.browser = browser
        self.options = browser.options
        self.url = url
        self.document = document
        self.resources: list[Exchange] = []
        self.failures: list[FetchError] = []
        self.lock = threading.Lock()
        self.pending = 0
        self.last_activity = time.monotonic()
        self.loaded = threading.Event()
        self.crashed = threading.Event()
        self.session = ""
        self.children: list[str] = []  # sessions of frames in other processes and of workers
        self.pool = concurrent.futures.ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="cablekeep-page-fetch")

    # -- events (on the protocol's reading thread: never block) --------------------------------

    def _listener(self, session: str) -> Callable[[str, dict[str, Any]], None]:
        return lambda method, params: self._event(session, method, params)

    def _event(self, session: str, method: str, params: dict[str, Any]) -> None:
        if method in ("Fetch.requestPaused", "Target.attachedToTarget"):
            with self.lock:
                self.pending += 1
                self.last_activity = time.monotonic()
            work = self._serve if method == "Fetch.requestPaused" else self._attach
            try:
                self.pool.submit(work, session, params)
            except RuntimeError:  # the capture is over
                with self.lock:
                    self.pending -= 1
        elif method == "Page.loadEventFired":
            self.loaded.set()
        elif method in ("Inspector.targetCrashed", "cablekeep.browserGone"):
            self.crashed.set()

    # -- one request the page makes ------------------------------------------------------------

    def _attach(self, _parent: str, params: dict[str, Any]) -> None:
        """A frame in another process or a worker (auto-attached, paused): intercepted like the page."""
        session = params["sessionId"]
        try:
            with self.lock:
                self.children.append(session)
            self.client.listen(session, self._listener(session))
            if params.get("targetInfo", {}).get("type") in ("iframe", "worker", "shared_worker", "service_worker"):
                self._send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}, session=session)
                self._send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
                           session=session)
            self._send("Runtime.runIfWaitingForDebugger", session=session)
        except (CdpError, _TabFailed):
            pass  # gone already
        finally:
            with self.lock:
                self.pending -= 1
                self.last_activity = time.monotonic()

    def _serve(self, session: str, params: dict[str, Any]) -> None:
        request_id, request = params["requestId"], params["request"]
        url = request["url"]
        try:
            document = self.document
            if document is not None and url == document.url:
                self.document = None  # answered once; a reload is fetched
                self._fulfill(session, request_id, document)
                return
            if request.get("method", "GET") != "GET" or not url.startswith(("http://", "https://")):
                self._refuse(session, request_id, FetchError(url, "error", f"{request.get('method')} {url.split(':')[0]} "
                                                    "requests are not made by cablekeep"))
                return
            headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
            extra = [(name.title(), headers[name]) for name in ("accept", "referer", "accept-language") if name in headers]
            try:
                self.browser.gate.admit(url)
                exchange = self.browser.fetcher.fetch(url, extra)
            except FetchError as exc:
                self._refuse(session, request_id, exc)
                return
            with self.lock:
                self.resources.append(exchange)
            self._fulfill(session, request_id, exchange)
        except (CdpError, _TabFailed):
            pass  # the tab went away meanwhile: what was fetched is kept
        finally:
            with self.lock:
                self.pending -= 1
                self.last_activity = time.monotonic()

    def _refuse(self, session: str, request_id: str, error: FetchError) -> None:
        with self.lock:
            self.failures.append(error)
        self._send("Fetch.failRequest", {"requestId": request_id,
                                         "errorReason": FAIL_REASONS.get(error.reason, "Failed")}, session=session)

    def _fulfill(self, session: str, request_id: str, exchange: Exchange) -> None:
        headers = [{"name": name, "value": value} for name, value in exchange.headers
                   if name.lower() not in DROPPED_HEADERS]
        body = _decoded(exchange, self.browser.fetcher.max_bytes)
        params: dict[str, Any] = {"requestId": request_id, "responseCode": exchange.status,
                                  "responseHeaders": headers, "body": base64.b64encode(body).decode("ascii")}
        if exchange.reason:
            params["responsePhrase"] = exchange.reason
        self._send("Fetch.fulfillRequest", params, session=session)

    def _send(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None,
              session: str | None = None) -> dict[str, Any]:
        try:
            return self.client.send(method, params, session_id=session or self.session,
                                    timeout=self.options.hang_time if timeout is None else timeout)
        except CdpTimeout as exc:
            raise _TabFailed(f"the tab hung: {exc}") from exc

    # -- the page ------------------------------------------------------------------------------

    def run(self) -> RenderedPage:
        client, options = self.client, self.options
        started = time.monotonic()
        deadline = started + options.settle_time
        try:
            context = client.send("Target.createBrowserContext", {"disposeOnDetach": True})["browserContextId"]
        except CdpTimeout as exc:
            raise _TabFailed(f"the browser hung: {exc}") from exc
        target = ""
        try:
            target = client.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
            self.session = client.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            client.listen(self.session, self._listener(self.session))
            self._send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})
            # frames in other processes and workers: attached paused, intercepted before they run
            self._send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True})
            self._send("Page.enable")
            self._send("Inspector.enable")
            width, height = VIEWPORT
            self._send("Emulation.setDeviceMetricsOverride",
                       {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            self._send("Page.navigate", {"url": self.url}, timeout=max(options.hang_time, options.settle_time))
            settled = self._wait_settled(deadline, need_load=True)
            self._scroll(min(time.monotonic() + options.scroll_time, max(deadline, time.monotonic() + 1.0)))
            if settled:
                settled = self._wait_settled(deadline, need_load=False)
            screenshot = self._screenshot()
            dom = self._dom()
            self._check_crash()
        except CdpTimeout as exc:
            raise _TabFailed(f"the tab hung: {exc}") from exc
        except CdpError as exc:
            if self.crashed.is_set() and not isinstance(exc, BrowserGone):
                raise _TabFailed("the tab crashed") from exc
            raise
        finally:
            for session in [self.session, *self.children]:
                if session:
                    client.listen(session, None)
            self.pool.shutdown(wait=True, cancel_futures=True)
            self._close_tab(target, context)
        elapsed = time.monotonic() - started
        note = "settled" if settled else f"cut after {elapsed:.1f} s: the network never went idle"
        return RenderedPage(self.url, list(self.resources), list(self.failures), screenshot, dom, settled, note)

    def _check_crash(self) -> None:
        if self.crashed.is_set():
            raise _TabFailed("the tab crashed")

    def _idle(self) -> bool:
        with self.lock:
            return self.pending == 0 and time.monotonic() - self.last_activity >= self.options.idle_time

    def _wait_settled(self, deadline: float, *, need_load: bool) -> bool:
        """Until loaded (when asked) and idle; False when ``deadline`` came first."""
        while time.monotonic() < deadline:
            self._check_crash()
            if (self.loaded.is_set() or not need_load) and self._idle():
                return True
            time.sleep(0.05)
        return False

    def _scroll(self, deadline: float) -> None:
        """Viewport by viewport to the end of the page, waiting for what each step loads."""
        script = ("(() => { window.scrollBy(0, window.innerHeight); const e = document.scrollingElement"
                  " || document.documentElement; return window.scrollY + window.innerHeight >= e.scrollHeight - 1; })()")
        for _step in range(self.options.scroll_steps):
            if time.monotonic() >= deadline:
                return
            answer = self._send("Runtime.evaluate", {"expression": script, "returnByValue": True})
            step_end = min(deadline, time.monotonic() + max(1.0, 4 * self.options.idle_time))
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            self._wait_settled(step_end, need_load=False)
            if answer.get("result", {}).get("value") is True:
                return

    def _screenshot(self) -> bytes:
        metrics = self._send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
        width = max(1, min(MAX_SCREENSHOT_WIDTH, int(size.get("width", VIEWPORT[0]))))
        height = max(1, min(MAX_SCREENSHOT_HEIGHT, int(size.get("height", VIEWPORT[1]))))
        shot = self._send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }, timeout=max(self.options.hang_time, 30.0))
        return base64.b64decode(shot["data"])

    def _dom(self) -> bytes:
        root = self._send("DOM.getDocument", {"depth": 0})["root"]
        html: str = self._send("DOM.getOuterHTML", {"nodeId": root["nodeId"]})["outerHTML"]
        return html.encode("utf-8")

    def _close_tab(self, target: str, context: str) -> None:
        for method, params in (("Target.closeTarget", {"targetId": target}),
                               ("Target.disposeBrowserContext", {"browserContextId": context})):
            if params and all(params.values()):
                try:
                    self.client.send(method, params, timeout=5.0)
                except CdpError:
                    pass  # a hung or crashed tab: the context goes with the browser if not now


def _decoded(exchange: Exchange, limit: int) -> bytes:
    """The body as the browser needs it: Content-Encoding undone, at most ``limit`` bytes."""
    raw = exchange.read_body(limit)
    encoding = (exchange.header("Content-Encoding") or "").strip().lower()
    if encoding in {"gzip", "x-gzip", "deflate"}:
        try:
            return zlib.decompressobj(47 if encoding != "deflate" else 15).decompress(raw, limit)
        except zlib.error:
            try:
                return zlib.decompressobj(-15).decompress(raw, limit)
            except zlib.error:
                return b""
    return raw

