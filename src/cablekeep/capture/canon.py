"""One canonical key per URL: SURT, as pywb and the CDXJ index use it.

``surt_key("http://WWW.Example.org:80/a?b=2&a=1#x")`` is ``org,example)/a?a=1&b=2``: scheme and
host case, the default port, the fragment, a leading ``www.`` and the order of query arguments
do not change the key. IP-address hosts are not reversed (as in pywb). The crawl fetches a URL
once per key, however it is written.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(url: str) -> str:
    """The URL as it will be fetched: lower-case scheme and host, no default port, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets (urlsplit's hostname drops them)
    port = parts.port
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
    """The SURT form of ``url``, lower-cased, for de-duplication and the CDXJ index."""
    parts = urlsplit(normalise_url(url))
    host = parts.hostname or ""
    if host.startswith("www.") and not _is_ip(host):
        host = host[4:]
    if _is_ip(host):
        surt_host = host
    else:
        surt_host = ",".join(reversed([label for label in host.split(".") if label]))
    port = parts.port
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


def host_of(url: str) -> str:
    """``host`` or ``host:port`` of a URL: the unit of politeness."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{parts.port}"
    return host
