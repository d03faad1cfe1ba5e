"""A headless Chromium and the DevTools protocol (CDP) spoken to it over a websocket.

The only module that imports ``websocket`` (websocket-client): a small synchronous client, one
websocket to the browser, pages reached as flattened sessions. Commands wait for their answer
(bounded); events are handed to the listener of their session on the reading thread, which must
not block.

The browser is started from one long-lived thread with a parent-death signal
(:func:`cablekeep.children.parent_death_preexec`): a SIGKILL of cablekeep kills it, and it is
the leader of its own process group, which :meth:`Chromium.close` kills whole (its renderers
too). Its profile is a temporary directory removed on close. It is pointed at a proxy that does
not exist, so a request the DevTools interception misses (a websocket, a service worker's) fails
instead of reaching the network: cablekeep stays the only network.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import websocket

from ..children import parent_death_preexec
from ..scratch import make_scratch

BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser",
                      "/usr/bin/google-chrome")
START_TIMEOUT = 30.0  # seconds for the browser to open its DevTools port
COMMAND_TIMEOUT = 15.0  # seconds a command may take unless told otherwise
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, nothing is sent anywhere

Json = dict[str, Any]
Listener = Callable[[str, Json], None]


class CdpError(Exception):
    """A command failed, timed out (:class:`CdpTimeout`), or the browser went away (:class:`BrowserGone`)."""


class CdpTimeout(CdpError):
    pass


class BrowserGone(CdpError):
    pass


def find_browser(candidates: Sequence[str] = BROWSER_CANDIDATES) -> Path | None:
    """The first Chromium found, or None (Debian: ``apt-get install chromium``)."""
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


_launcher: concurrent.futures.ThreadPoolExecutor | None = None
_launcher_lock = threading.Lock()


def _launch(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``args`` from the launcher thread, which lives as long as the process: the parent-death
    signal follows the thread that started the child, so a pool thread ending must not kill it."""
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cablekeep-browser-launcher")
    preexec = parent_death_preexec()
    return _launcher.submit(
        subprocess.Popen, args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec, env=env,
    ).result()


PROFILE_PREFIX = "cablekeep-browser-"
SHORT_TMPDIR = 60  # Chromium's own temporary files go inside the profile when that path is at most this long


class Chromium:
    """One headless browser process and the websocket to it. Its profile, and its own temporary
    files ($TMPDIR inside the profile, when its path is short enough for a socket's), are one folder
    named with this process's id: removed on close,
    or by the next start after a kill -9 (:mod:`cablekeep.scratch`)."""

    def __init__(self, executable: Path) -> None:
        self.profile = make_scratch(PROFILE_PREFIX)
        (self.profile / "tmp").mkdir()
        args = [
            str(executable), "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
            "--disable-gpu", "--mute-audio", "--hide-scrollbars", "--disable-dev-shm-usage",
            f"--proxy-server={DEAD_PROXY}", "--proxy-bypass-list=<-loopback>",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
        args.append("about:blank")
        env = dict(os.environ)
        if len(str(self.profile / "tmp")) <= SHORT_TMPDIR:  # its sockets' paths must stay under the kernel's 108
            env["TMPDIR"] = str(self.profile / "tmp")
        self.process = _launch(args, env)
        try:
            self.client = CdpClient(self._websocket_url())
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def _websocket_url(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserGone(f"the browser exited at start with status {self.process.returncode}")
            try:
                port, path = port_file.read_text().split()[:2]
                return f"ws://127.0.0.1:{int(port)}{path}"
            except (OSError, ValueError):
                time.sleep(0.05)
        raise BrowserGone(f"the browser did not open its DevTools port within {START_TIMEOUT:.0f} s")

    def alive(self) -> bool:
        return self.process.poll() is None and not self.client.closed

    def close(self) -> None:
        """Kill the browser and every process of its group, and remove its profile."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.message: Json | None = None


class CdpClient:
    """Commands and events over one websocket; safe to use from many threads."""

    def __init__(self, url: str) -> None:
        self._ws = websocket.create_connection(url, suppress_origin=True, enable_multithread=True, timeout=None)
        self._lock = threading.Lock()
        self._next_id = 0
        self._waiting: dict[int, _Waiter] = {}
        self._listeners: dict[str, Listener] = {}
        self.closed = False
        self._reader = threading.Thread(target=self._read, name="cablekeep-cdp-reader", daemon=True)
        self._reader.start()

    def listen(self, session_id: str, listener: Listener | None) -> None:
        """Give (or take away, with None) the events of one session to ``listener(method, params)``."""
        with self._lock:
            if listener is None:
                self._listeners.pop(session_id, None)
            else:
                self._listeners[session_id] = listener

    def send(self, method: str, params: Json | None = None, *, session_id: str | None = None,
             timeout: float = COMMAND_TIMEOUT) -> Json:
        """Run one command; its result, or CdpError (CdpTimeout, BrowserGone)."""
        waiter = _Waiter()
        with self._lock:
            if self.closed:
                raise BrowserGone("the browser connection is closed")
            self._next_id += 1
            command_id = self._next_id
            self._waiting[command_id] = waiter
        message: Json = {"id": command_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        try:
            self._ws.send(json.dumps(message))
        except (OSError, websocket.WebSocketException) as exc:
            self._forget(command_id)
            raise BrowserGone(f"cannot send {method} to the browser: {exc}") from exc
        if not waiter.done.wait(timeout):
            self._forget(command_id)
            raise CdpTimeout(f"{method} got no answer within {timeout:.0f} s")
        answer = waiter.message
        if answer is None:
            raise BrowserGone(f"the browser went away during {method}")
        if "error" in answer:
            error = answer["error"]
            raise CdpError(f"{method}: {error.get('message', error)}")
        result: Json = answer.get("result", {})
        return result

    def _forget(self, command_id: int) -> None:
        with self._lock:
            self._waiting.pop(command_id, None)

    def _read(self) -> None:
        try:
            while True:
                text = self._ws.recv()
                if not text:
                    break
                message = json.loads(text)
                if "id" in message:
                    with self._lock:
                        waiter = self._waiting.pop(message["id"], None)
                    if waiter is not None:
                        waiter.message = message
                        waiter.done.set()
                    continue
                with self._lock:
                    listener = self._listeners.get(message.get("sessionId", ""))
                if listener is not None:
                    listener(message.get("method", ""), message.get("params", {}))
        except (OSError, ValueError, websocket.WebSocketException):
            pass
        finally:
            with self._lock:
                self.closed = True
                waiting, self._waiting = self._waiting, {}
                listeners = list(self._listeners.values())
            for waiter in waiting.values():
                waiter.done.set()
            for listener in listeners:
                listener("cablekeep.browserGone", {})

    def close(self) -> None:
        with self._lock:
            self.closed = True
        try:
            self._ws.close()
        except (OSError, websocket.WebSocketException):
            pass
