"""Fetching one URL with urllib3: streamed, bounded, hashed while read, recorded as sent.

The only module that imports urllib3 and requests (whose URL preparation it keeps for URLs not
already in prepared form). ``Fetcher.fetch`` makes one HTTP request (no redirect
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
import http.client
import io
import ipaddress
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any
from urllib.parse import urlsplit

import requests
import requests.utils
import urllib3
import urllib3.util.ssl_

from ..errors import FetchError
from .canon import DEFAULT_PORTS, InvalidUrlError, authority, host_of
from .exchange import Exchange

CHUNK = 64 * 1024
CONNECT_TIMEOUT = 10.0  # seconds to connect, at most (the whole response has ``timeout``)
SPOOL_MAX = 1024 * 1024
POOLS = 64  # connection pools (checked addresses) a fetch thread keeps open
POOL_SIZE = 4  # connections kept per pool and thread
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """CIDR texts ("127.0.0.2/32", "10.0.0.0/8", "::1/128") as networks; raises ValueError."""
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in texts)


@dataclass(frozen=True)
class AddressGuard:
    """Refuses loopback, private, link-local and reserved addresses unless allowed.

    ``allow_private`` allows every address; ``allow_hosts`` allows every address of the hosts named;
    ``allow_networks`` allows the addresses inside those networks (CIDR), whatever host names them.
    :meth:`resolve` resolves a host once and gives the addresses it checked: the fetcher connects to
    one of those, never resolving the name again (a DNS answer that changes between the check and
    the connection cannot send a fetch elsewhere)."""

    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[Network, ...] = ()

    def check(self, url: str) -> None:
        """Raise FetchError unless every address of ``url``'s host may be fetched."""
        self.resolve(url)

    def resolve(self, url: str) -> tuple[str, ...]:
        """The addresses of ``url``'s host, each one checked; raises FetchError (dns, blocked-address,
        invalid-url)."""
        try:
            where = authority(url)
        except InvalidUrlError as exc:
            raise FetchError(url, "invalid-url", exc.reason) from exc
        host = where.host.replace("%25", "%")
        port = where.port or DEFAULT_PORTS.get(urlsplit(url).scheme.lower(), 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise FetchError(url, "dns", f"cannot resolve {where.netloc_host}: {_dns_text(exc)}") from exc
        addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchError(url, "dns", f"cannot resolve {where.netloc_host}: no address")
        if self.allow_private or where.host.lower() in self.allow_hosts:
            return addresses
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if any(address in network for network in self.allow_networks):
                continue
            if not is_public(address):
                raise FetchError(
                    url,
                    "blocked-address",
                    f"{where.netloc_host} resolves to {address}, a non-public address; set fetch.allow_private, "
                    "list the host in fetch.allow_hosts or its network in fetch.allow_networks to allow it",
                )
        return addresses


# IPv6 prefixes that carry an IPv4 address a router may forward to: NAT64 (RFC 6052, RFC 8215),
# IPv4-compatible (deprecated, RFC 4291); 6to4, Teredo and IPv4-mapped are read by ipaddress itself.
_EMBEDDING_V4 = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
)


def embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, 6to4, Teredo server and client, NAT64, compatible)."""
    if address.version == 4:
        return []
    assert isinstance(address, ipaddress.IPv6Address)
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    if any(address in network for network in _EMBEDDING_V4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address that does not lead, through an IPv4 address it embeds, somewhere that is not."""
    if not address.is_global or address.is_multicast:
        return False
    return all(inner.is_global and not inner.is_multicast for inner in embedded_ipv4(address))


class Fetcher:
    """Makes bounded, streamed GET requests; safe to share between threads (a pool manager each).

    Requests go through urllib3 directly (requests' own transport, a third of the CPU of a fetch
    through requests' adapter and session): one connection pool per checked address, so a pool
    never serves another address, while the request keeps its Host header and, for https, the TLS
    server name and the certificate check against the host name in the URL."""

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
        # Sent with every request, in this order (as requests' session sent them), then the Host.
        self.headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*",
                        "Connection": "keep-alive"}
        self._timeout = urllib3.Timeout(connect=min(timeout, CONNECT_TIMEOUT), read=timeout)
        self._local = threading.local()
        self._managers: list[urllib3.PoolManager] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def _manager(self) -> urllib3.PoolManager:
        manager: urllib3.PoolManager | None = getattr(self._local, "manager", None)
        if manager is None:
            # Nothing from the environment: no proxy settings, no ~/.netrc (urllib3 reads neither).
            manager = urllib3.PoolManager(num_pools=POOLS, maxsize=POOL_SIZE, block=False, retries=False)
            self._local.manager = manager
            with self._lock:
                self._managers.append(manager)
        return manager

    def _tls_context(self) -> ssl.SSLContext:
        """The certificates requests trusts (certifi's bundle), as its verify=True did."""
        if self._tls is None:
            context = urllib3.util.ssl_.create_urllib3_context()
            context.load_verify_locations(requests.utils.DEFAULT_CA_BUNDLE_PATH)
            self._tls = context
        return self._tls

    def close(self) -> None:
        with self._lock:
            for manager in self._managers:
                manager.clear()
            self._managers.clear()

    def fetch(self, url: str, extra_headers: Iterable[tuple[str, str]] = ()) -> Exchange:
        """GET ``url`` once, from the address the guard checked. Raises FetchError when no HTTP
        response arrives at all."""
        addresses = self.guard.resolve(url)
        started = self.clock()
        t0 = time.monotonic()
        deadline = t0 + self.timeout
        try:
            target, authorization = url, None
            if not _PREPARED_URL_RE.match(url):
                prepared = prepare_get(url, {})
                target, authorization = prepared.url or url, prepared.headers.get("Authorization")
            parts = urlsplit(target)
            scheme = parts.scheme.lower()
            if scheme not in DEFAULT_PORTS:
                raise FetchError(url, "invalid-url", f"cannot fetch {url!r}: No connection adapters were found for {url!r}")
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = _merged(self.headers, extra_headers)
            if authorization is not None:  # user:password in the URL, sent as requests sent it
                headers["Authorization"] = str(authorization)
            host_header = _host_header(url)
            request_head = _request_head(path, host_header, headers)
            headers["Host"] = host_header
            pool_kwargs: dict[str, Any] = {}
            if scheme == "https":
                name = (parts.hostname or "").strip("[]")
                pool_kwargs = {"server_hostname": name, "assert_hostname": name, "ssl_context": self._tls_context()}
            pool = self._manager().connection_from_host(
                addresses[0], parts.port or DEFAULT_PORTS[scheme], scheme, pool_kwargs=pool_kwargs
            )
            response = pool.urlopen(
                "GET", path, headers=headers, retries=False, redirect=False, assert_same_host=False,
                timeout=self._timeout, preload_content=False, decode_content=False,
            )
        except FetchError:
            raise
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError, ValueError) as exc:
            raise FetchError(url, *explain(exc, url, self.timeout)) from exc
        try:
            return self._record(url, response, request_head, started, t0, deadline)
        finally:
            response.close()
            response.release_conn()

    def _record(
        self,
        url: str,
        raw: urllib3.BaseHTTPResponse,
        request_head: bytes,
        started: datetime,
        t0: float,
        deadline: float,
    ) -> Exchange:
        ip_address = _peer_address(raw)
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
            method="GET",
            request_head=request_head,
            status=raw.status,
            reason=raw.reason or "",
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


def _merged(base: Mapping[str, str], extra: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``base`` and then ``extra``, names compared without case (a later value replaces an earlier one in
    its place, under the later spelling), as requests' header dictionary merges them."""
    folded: dict[str, tuple[str, str]] = {name.lower(): (name, value) for name, value in base.items()}
    for name, value in dict(extra).items():
        folded[name.lower()] = (name, value)
    return {name: value for name, value in folded.values()}


# A URL already in the form requests' prepare_url gives it (lower-case host of whole labels, a
# port without leading zeros, no user info, no dot segments, no percent-escapes to normalise, no
# fragment, no empty query): its parse and re-quote can be skipped.
_PREPARED_URL_RE = re.compile(
    r"(?!.*/\.{1,2}(?:[/?;]|\Z))"
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[1-9][0-9]{0,4})?"
    r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+)?\Z"
)


def prepare_get(url: str, headers: Mapping[str, str | bytes]) -> requests.PreparedRequest:
    """A GET as requests prepares it (no cookies or auth: the crawl sends none). The fetcher uses its
    URL (IDNA, percent-escapes, dot segments) when ``url`` is not already in that form."""
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


def _host_header(url: str) -> str:
    """The Host header of ``url``: host (IPv6 in brackets), and the port when not the default."""
    return host_of(url)


def _request_head(path: str, host: str, headers: Mapping[str, str]) -> bytes:
    """The request as recorded: request line, Host, then the other headers in the order sent."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1", "replace")


def _peer_address(raw: urllib3.BaseHTTPResponse) -> str | None:
    connection = getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return None
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return None


def explain(exc: BaseException, url: str, timeout: float) -> tuple[str, str]:
    """The crawl-log reason and a sentence a person understands for a request that got no
    response (not urllib3's "HTTPConnectionPool(...): Max retries exceeded ...")."""
    where = _endpoint(url)
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or str(cause)
            return "error", f"TLS handshake with {_host_name(url)} failed: certificate not accepted ({detail})"
        if isinstance(cause, ssl.SSLError):
            return "error", f"TLS handshake with {_host_name(url)} failed: {cause.reason or cause.strerror or cause}"
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return "refused", f"connection refused by {where}"
        if isinstance(cause, ConnectionResetError):
            return "bad-response", f"connection reset by {where} before a complete response"
        if isinstance(cause, http.client.RemoteDisconnected):
            return "bad-response", f"{where} closed the connection without a response"
        if isinstance(cause, http.client.BadStatusLine):
            return "bad-response", f"{where} answered something that is not HTTP"
        if isinstance(cause, socket.gaierror):
            return "dns", f"cannot resolve {_host_name(url)}: {_dns_text(cause)}"
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(c, urllib3.exceptions.ConnectTimeoutError) and not isinstance(c, urllib3.exceptions.NewConnectionError)
        for c in causes
    ):
        return "timeout", f"no connection to {where} within {min(timeout, CONNECT_TIMEOUT):g} s"
    if isinstance(exc, requests.exceptions.Timeout) or any(
        isinstance(c, (TimeoutError, urllib3.exceptions.TimeoutError)) for c in causes
    ):
        return "timeout", f"no complete response from {where} within {timeout:g} s"
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return "error", f"connection to {where} failed: {cause.strerror}"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        urllib3.exceptions.LocationParseError, ValueError)):
        return "invalid-url", f"cannot fetch {url!r}: {_innermost(causes)}"
    return "error", f"request to {where} failed: {_innermost(causes)}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: urllib3's ``reason``, exception arguments, causes and contexts."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner: list[object] = [getattr(current, "reason", None), *current.args, current.__cause__, current.__context__]
        stack.extend(item for item in inner if isinstance(item, BaseException))


def _innermost(causes: list[BaseException]) -> str:
    text = str(causes[-1]) if causes else ""
    return text if len(text) <= 200 else text[:197] + "..."


def _host_name(url: str) -> str:
    try:
        return authority(url).netloc_host
    except InvalidUrlError:
        return url


def _endpoint(url: str) -> str:
    """``HOST:PORT`` of ``url``, the port always written."""
    try:
        where = authority(url)
    except InvalidUrlError:
        return url
    return f"{where.netloc_host}:{where.port or DEFAULT_PORTS.get(urlsplit(url).scheme.lower(), 80)}"


def _dns_text(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror) and exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
        return "no such host name"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
