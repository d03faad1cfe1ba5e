"""Fetching one URL with requests: streamed, bounded, hashed while read, recorded as sent.

The only module that imports requests. ``Fetcher.fetch`` makes one HTTP request (no redirect
following: every hop is the crawl's business, so each one is recorded and checked) and returns an
:class:`~cablekeep.capture.exchange.Exchange`: the request as sent, the status line and headers as received, and the body
exactly as it came off the wire (Content-Encoding kept) in a spooled temporary file, with its
sha1 computed while it was read.

Bounds: ``timeout`` is a deadline for the whole response, not per read; ``max_bytes`` cuts the
body. Either cut keeps what arrived and marks the exchange ``truncated`` ("time", "length" or
"disconnect"), as WARC-Truncated expects.

Before connecting, the host's addresses are resolved and refused when loopback, private,
link-local or reserved, unless allowed (see :class:`AddressGuard`).
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO
from urllib.parse import urlsplit

import requests
import urllib3

from ..errors import FetchError
from .exchange import Exchange

CHUNK = 64 * 1024
SPOOL_MAX = 1024 * 1024
@dataclass(frozen=True)
class AddressGuard:
    """Refuses loopback, private, link-local and reserved addresses unless allowed."""

    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()

    def check(self, url: str) -> None:
        if self.allow_private:
            return
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host.lower() in self.allow_hosts:
            return
        port = parts.port or 80
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(url, "dns", f"cannot resolve {host!r}: {exc}") from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global or address.is_multicast:
                raise FetchError(
                    url,
                    "blocked-address",
                    f"{host} resolves to {address}, a non-public address; set fetch.allow_private "
                    "or list the host in fetch.allow_hosts to allow it",
                )


class Fetcher:
    """Makes bounded, streamed GET requests; safe to share between threads (one session each)."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float,
        max_bytes: int,
        guard: AddressGuard,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.guard = guard
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Nothing from the environment: no ~/.netrc credentials sent to the sites we archive,
            # no proxy settings looked up on every request.
            session.trust_env = False
            session.headers["User-Agent"] = self.user_agent
            session.headers["Accept-Encoding"] = "gzip, deflate"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def fetch(self, url: str, extra_headers: Iterable[tuple[str, str]] = ()) -> Exchange:
        """GET ``url`` once. Raises FetchError when no HTTP response arrives at all."""
        self.guard.check(url)
        started = self.clock()
        t0 = time.monotonic()
        deadline = t0 + self.timeout
        session = self._session()
        try:
            # The adapter, not Session.send: the session reads (and decodes) the body of every
            # 3xx itself, even with allow_redirects=False, and the record would lose it.
            # A request prepared on its own, not by Session.prepare_request: the session never
            # holds cookies or auth (the adapter never gives it any), and merging them costs
            # a third of a fetch's CPU.
            prepared = prepare_get(url, {**session.headers, **dict(extra_headers)})
            response = session.get_adapter(url).send(
                prepared, stream=True, timeout=(min(self.timeout, 10.0), self.timeout)
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise FetchError(url, "timeout", f"no connection within the deadline: {exc}") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise FetchError(url, "timeout", f"no response within {self.timeout:g}s") from exc
        except requests.exceptions.ConnectionError as exc:
            raise FetchError(url, _connection_reason(exc), _short(exc)) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise FetchError(url, "invalid-url", _short(exc)) from exc
        except requests.exceptions.RequestException as exc:
            raise FetchError(url, "error", _short(exc)) from exc
        try:
            return self._record(url, response, started, t0, deadline)
        finally:
            response.close()

    def _record(
        self,
        url: str,
        response: requests.Response,
        started: datetime,
        t0: float,
        deadline: float,
    ) -> Exchange:
        raw = response.raw
        ip_address = _peer_address(raw)
        request = response.request
        request_head = _request_head(request, url)
        body: IO[bytes] = io.BytesIO()  # moved to a temporary file past SPOOL_MAX
        digest = hashlib.sha1()
        length = 0
        truncated: str | None = None
        try:
            while True:
                if time.monotonic() > deadline:
                    truncated = "time"
                    break
                chunk = raw.read1(CHUNK, decode_content=False)
                if not chunk:
                    break
                room = self.max_bytes - length
                if len(chunk) > room:
                    chunk = chunk[:room]
                    truncated = "length"
                body.write(chunk)
                digest.update(chunk)
                length += len(chunk)
                if length > SPOOL_MAX and isinstance(body, io.BytesIO):
                    spilled = tempfile.TemporaryFile()
                    spilled.write(body.getbuffer())
                    body = spilled
                if truncated:
                    break
        except (urllib3.exceptions.ReadTimeoutError, socket.timeout, TimeoutError):
            truncated = "time"
        except (urllib3.exceptions.HTTPError, OSError):
            truncated = "disconnect"
        body.seek(0)
        return Exchange(
            url=url,
            method=request.method or "GET",
            request_head=request_head,
            status=response.status_code,
            reason=response.reason or "",
            http_version=getattr(raw, "version_string", "HTTP/1.1") or "HTTP/1.1",
            headers=[(str(k), str(v)) for k, v in raw.headers.items()],
            body=body,
            body_length=length,
            body_sha1=digest.digest(),
            ip_address=ip_address,
            started=started,
            elapsed=time.monotonic() - t0,
            truncated=truncated,
        )


# A URL already in the form requests' prepare_url gives it (lower-case host of whole labels, a
# port without leading zeros, no user info, no dot segments, no percent-escapes to normalise, no
# fragment, no empty query): its parse and re-quote can be skipped.
_PREPARED_URL_RE = re.compile(
    r"(?!.*/\.{1,2}(?:[/?;]|\Z))"
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[1-9][0-9]{0,4})?"
    r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+)?\Z"
)


def prepare_get(url: str, headers: Mapping[str, str | bytes]) -> requests.PreparedRequest:
    """A GET as requests prepares it (no cookies or auth: the crawl sends none)."""
    prepared = requests.PreparedRequest()
    if not _PREPARED_URL_RE.match(url):
        prepared.prepare(method="GET", url=url, headers=headers)
        return prepared
    prepared.prepare_method("GET")
    prepared.url = url
    prepared.prepare_headers(headers)
    prepared.prepare_body(None, None)
    prepared.prepare_hooks(None)
    return prepared


def _request_head(request: requests.PreparedRequest, url: str) -> bytes:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    lines = [f"{request.method} {request.path_url} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1", "replace")


def _peer_address(raw: urllib3.response.HTTPResponse) -> str | None:
    connection = getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return None
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return None


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    if "Name or service not known" in text or "NameResolutionError" in text or "getaddrinfo" in text:
        return "dns"
    if "Connection refused" in text or "NewConnectionError" in text:
        return "refused"
    if "timed out" in text:
        return "timeout"
    if "RemoteDisconnected" in text or "BadStatusLine" in text or "Connection aborted" in text:
        return "bad-response"
    return "error"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
