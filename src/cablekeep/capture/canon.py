"""Two keys per URL: cablekeep's own canonical key (:func:`surt_key`) and the replay index's (:func:`index_key`).

They do different jobs, so they stay two:

- :func:`surt_key` is the crawl's identity of a URL: the crawl state's frontier and "have we seen this
  URL" (fetched once per key, however it is written), scope and redirect-loop checks, citations' resolved
  targets, the link-rot checks (``watch``: captures, cable pages and their ``via`` joined by it, and the
  history of a URL over checks). ``surt_key("http://WWW.Example.org:80/a?b=2&a=1#x")`` is
  ``org,example)/a?a=1&b=2``: scheme and host case, the default port, the fragment, a leading ``www.``,
  the order of query arguments and a trailing slash do not change the key. IP-address hosts are not
  reversed; an IPv6 literal keeps its brackets and its canonical spelling (``http://[::1]:8080/`` is
  ``[::1]:8080)/``, never confused with a host named ``::1``). It is cablekeep's and stays stable: an
  interrupted crawl's state and earlier bags' watch history are keyed by it.
- :func:`index_key` is the first column of the CDXJ index (``data/index.cdxj``, and the WACZ's
  ``indexes/index.cdxj`` copied from it): exactly what pywb and ReplayWeb.page compute to look a capture
  up, the Internet Archive's SURT (``surt.surt(url)`` with its default canonicaliser, what pywb's
  ``canonicalize`` calls). It reverses IPv4 hosts (``http://127.0.0.1:8080/`` is
  ``1,0,0,127:8080)/``), drops brackets from IPv6 hosts, strips ``www``/``www2``, session ids and a
  path's trailing slash, resolves ``..`` and sorts the query. Only the index writer uses it
  (:mod:`~cablekeep.capture.jobs`, :mod:`~cablekeep.capture.recorder`); readers of an index get both keys
  (:class:`~cablekeep.capture.cdxj.CdxjLine`), whichever form an older bag's index was written in.

A URL that cannot be fetched as written (a port over 65535 or not a number, an unclosed or
malformed ``[`` host, no host at all, blanks or control characters in the host) raises
:class:`InvalidUrlError`, a ``ValueError`` whose ``reason`` says what is wrong: the only error the
functions here raise. The crawl logs such a URL as ``invalid-url`` and goes on.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import surt

DEFAULT_PORTS = {"http": 80, "https": 443}
_PORT_RE = re.compile(r"[0-9]{1,5}")
_BAD_HOST_RE = re.compile(r"[\x00-\x20\x7f<>\\^`{|}\"]")


class InvalidUrlError(ValueError):
    """A URL that cannot be fetched as written; ``reason`` says why, for the crawl log."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url!r}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Authority:
    """The parts of a URL's authority the crawl uses: host (IPv6 without brackets) and port."""

    host: str
    port: int | None
    ipv6: bool

    @property
    def netloc_host(self) -> str:
        return f"[{self.host}]" if self.ipv6 else self.host


def authority(url: str) -> Authority:
    """Host and port of ``url``, checked; raises :class:`InvalidUrlError`."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced "[" or "]"
        raise InvalidUrlError(url, f"malformed host: {exc}") from exc
    netloc = parts.netloc.rpartition("@")[2]
    if netloc.startswith("["):
        inside, closed, rest = netloc[1:].partition("]")
        if not closed:
            raise InvalidUrlError(url, "an IPv6 host is missing its closing ']'")
        if rest and not rest.startswith(":"):
            raise InvalidUrlError(url, f"unexpected {rest!r} after the IPv6 host")
        port_text = rest[1:] if rest else None
        host = _ipv6_host(url, inside)
        ipv6 = True
    else:
        if "[" in netloc or "]" in netloc:
            raise InvalidUrlError(url, "'[' or ']' outside an IPv6 host")
        host, colon, port_text_ = netloc.partition(":")
        port_text = port_text_ if colon else None
        host = host.lower().rstrip(".")
        ipv6 = False
        if _BAD_HOST_RE.search(host):
            raise InvalidUrlError(url, f"the host {host!r} holds characters a host name cannot have")
    if parts.scheme.lower() in DEFAULT_PORTS and not host:
        raise InvalidUrlError(url, "no host")
    port: int | None = None
    if port_text:
        if not _PORT_RE.fullmatch(port_text):
            raise InvalidUrlError(url, f"the port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
        if not 0 < port <= 65535:
            raise InvalidUrlError(url, f"the port {port} is out of range (1 to 65535)")
    return Authority(host, port, ipv6)


def _ipv6_host(url: str, inside: str) -> str:
    """The address inside ``[...]``, compressed and lower-case (a zone id as ``%zone``, RFC 6874)."""
    address, percent, zone = inside.partition("%")
    if percent:
        zone = zone[2:] if zone.startswith("25") else zone
        if not zone or _BAD_HOST_RE.search(zone) or "%" in zone:
            raise InvalidUrlError(url, f"the IPv6 zone {zone!r} is not valid")
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError as exc:
        raise InvalidUrlError(url, f"the IPv6 host {inside!r} is not an IPv6 address") from exc
    return f"{parsed.compressed}%25{zone}" if percent else parsed.compressed


def normalise_url(url: str) -> str:
    """The URL as it will be fetched: lower-case scheme and host, no default port, no fragment.
    Raises :class:`InvalidUrlError`."""
    url = url.strip()
    where = authority(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # unreachable after authority(); kept to honour the one documented error
        raise InvalidUrlError(url, str(exc)) from exc
    scheme = parts.scheme.lower()
    port = where.port
    host = where.netloc_host
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _normalise_escapes(text: str, safe: str) -> str:
    return quote(unquote(text), safe=safe)


def surt_key(url: str) -> str:
    """cablekeep's canonical key of ``url``, lower-cased: the crawl's identity of a URL (not the index's).
    Raises :class:`InvalidUrlError`."""
    normal = normalise_url(url)
    parts = urlsplit(normal)
    where = authority(normal)
    host = where.host
    if where.ipv6:
        surt_host = where.netloc_host
    else:
        if host.startswith("www.") and not _is_ip(host):
            host = host[4:]
        if _is_ip(host):
            surt_host = host
        else:
            surt_host = ",".join(reversed([label for label in host.split(".") if label]))
    port = where.port
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        surt_host = f"{surt_host}:{port}"
    path = _normalise_escapes(parts.path or "/", safe="/:@!$&'()*+,;=~-._")
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    key = f"{surt_host})" + path
    if parts.query:
        args = sorted(arg for arg in parts.query.split("&") if arg)
        key += "?" + "&".join(_normalise_escapes(arg, safe="=:@!$'()*+,;/?~-._") for arg in args)
    return key.lower()


def index_key(url: str) -> str:
    """The key pywb gives ``url`` in a CDXJ index (``surt.surt`` with the Internet Archive's default
    canonicaliser), for the index's first column. Raises :class:`InvalidUrlError`."""
    try:
        key: str = surt.surt(url)  # a str given a str
    except ValueError as exc:  # the canonicaliser's own complaint (UnicodeError is a ValueError too)
        raise InvalidUrlError(url, f"no SURT: {exc}") from exc
    return key


def host_of(url: str) -> str:
    """``host`` or ``host:port`` of a URL (``[::1]:8080`` for IPv6): the unit of politeness.
    Raises :class:`InvalidUrlError`."""
    where = authority(url)
    host = where.netloc_host
    if where.port is not None and where.port != DEFAULT_PORTS.get(urlsplit(url).scheme.lower()):
        return f"{host}:{where.port}"
    return host


def host_name(host: str) -> str:
    """The name (or address) in a ``host_of`` value, without port or IPv6 brackets."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]
