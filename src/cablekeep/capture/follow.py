"""What a read page leads to, applied to the crawl: cable rows, citations, queued URLs, metadata.

The decisions are :mod:`cablekeep.capture.scope`'s (pure), made for a page by
:mod:`cablekeep.capture.pageplan` where it was read; this writes them down. For a cable page: its
row in the state, each citation (and the cited cable's URL, queued as a reference). For an
original: its row. For every page: its links queued as the plan says, each URL once (a URL left
out by a follow rule is logged once as ``out-of-scope``); and for cables and originals the
metadata record the plan holds (what was read and the outlinks). Redirect targets are queued here too, at the same depth, with loops and
chains past MAX_REDIRECTS stopped.
"""

from __future__ import annotations

import functools
import re

from ..cables.cableid import year_before
from ..manifest import Follow, Site
from .canon import InvalidUrlError, host_of, normalise_url, surt_key
from .exchange import Exchange
from .pageplan import PagePlan
from .recorder import Recorder
from .scope import MAX_REDIRECTS, Scope, followable, has_year
from .state import CrawlState, QueuedUrl
from .warc import WrittenRecord


class Follower:
    """Writes down what pages say and queues what they lead to."""

    def __init__(self, state: CrawlState, recorder: Recorder, follow: Follow, site: Site) -> None:
        self.state = state
        self.recorder = recorder
        self.follow = follow
        self.site = site
        self.scope = Scope(follow)

    def page(self, queued: QueuedUrl, exchange: Exchange, response: WrittenRecord, page: PagePlan) -> None:
        """A page read and planned: its rows, the URLs it leads to, and its metadata record."""
        if page.kind == "cable":
            self._cable(exchange, response, page)
        elif page.kind == "original" and page.cable_id:
            self.state.add_original(page.cable_id, exchange.url, page.fields)
        for target in page.follow:
            self.enqueue(target.url, queued, target.depth, target.hop)
        if page.metadata is not None:
            self.recorder.writer.write_metadata(exchange.url, response.record_id, page.metadata, response.date)

    def _cable(self, exchange: Exchange, response: WrittenRecord, record: PagePlan) -> None:
        entry: dict[str, object] = {
            "url": exchange.url,
            "captured": response.date.isoformat().replace("+00:00", "Z"),
            "status": exchange.status,
            "cable_id": record.cable_id,
            "fields": record.fields,
            "tags": list(record.tags),
            "cited": [c.cable_id for c in record.citations],
            "text_rule": record.text_rule or None,  # profile, main-text or none: which rule gave the text
            "warc_filename": response.filename,
            "warc_record_id": response.record_id,
        }
        self.state.add_cable(entry)
        for citation, target in zip(record.citations, record.references):
            self.state.add_citation(
                record.cable_id or exchange.url, exchange.url, citation.written, citation.cable_id, target,
                _canonical(target)[1] if target else None, has_year(citation.written),
            )

    def enqueue(self, url: str, via: QueuedUrl, depth: int, hop: str) -> None:
        """Queue ``url`` unless seen before; a URL a follow rule leaves out is logged once."""
        if not followable(url):
            return
        try:
            url, key, host = _canonical(url)
        except InvalidUrlError as exc:
            self.recorder.invalid_url(url, depth, hop, via.url, exc.reason)
            return
        if self.state.seen(key):
            return
        reason = self.scope.excluded(url, key, host, hop)
        if reason is not None:
            self.recorder.out_of_scope(key, url, host, depth, hop, via.url, reason)
            return
        self.state.add_url(key, url, host, depth, hop, via.url)

    def redirect(self, queued: QueuedUrl, location: str) -> str:
        """Queue a redirect's target (same depth and hop); returns a note for the crawl log."""
        if queued.redirects + 1 > MAX_REDIRECTS:
            return f"not followed: more than {MAX_REDIRECTS} redirects in a row"
        try:
            url, key, host = _canonical(location)
        except InvalidUrlError as exc:
            self.recorder.invalid_url(location, queued.depth, queued.hop, queued.url, exc.reason)
            return f"not followed: invalid URL ({exc.reason})"
        if self.state.seen(key):
            if key in self.state.redirect_chain(surt_key(queued.url), MAX_REDIRECTS):
                return f"redirect loop: {url} is earlier in this chain"
            return f"target {url} already captured or queued"
        self.state.add_url(key, url, host, queued.depth, queued.hop, queued.url, queued.redirects + 1)
        return ""

    def year_before(self, queued: QueuedUrl) -> None:
        """A citation written without a year took the citing cable's; when that cable is not on
        the site, the year before is tried (a January cable citing last December's)."""
        cable_url = self.site.cable_url
        if not cable_url:
            return
        for cable_id in self.state.yearless_citations_of(queued.key):
            earlier = year_before(cable_id)
            if earlier is not None:
                self.enqueue(cable_url.format(id=earlier), queued, queued.depth, "reference")


def _canonical(url: str) -> tuple[str, str, str]:
    """The URL normalised, its SURT key and its host; raises InvalidUrlError.

    What :func:`normalise_url`, :func:`surt_key` and :func:`host_of` give, computed in one pass for
    the form nearly every link has (see :func:`_plain_canonical`); any other URL goes through them."""
    plain = _plain_canonical(url)
    if plain is not None:
        return plain
    url = normalise_url(url)
    return url, surt_key(url), host_of(url)


# http(s), a lower-case host name or IPv4 address, a port without leading zeros, a path and query
# of characters that percent-encoding normalisation leaves alone, no fragment, no user.
_PLAIN_URL_RE = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9\-]+(?:\.[a-z0-9\-]+)*)(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?P<path>/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?(?:\?(?P<query>[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+))?"
)
_IPV4_RE = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
_NUMERIC_HOST_RE = re.compile(r"[0-9.]+")
_DEFAULT_PORT_TEXT = {"http": "80", "https": "443"}


def _plain_canonical(url: str) -> tuple[str, str, str] | None:
    """``_canonical(url)`` for a plain URL (``_PLAIN_URL_RE``), else None. Two to three times
    faster than the general functions, which parse the URL four times over."""
    match = _PLAIN_URL_RE.fullmatch(url)
    if match is None:
        return None
    scheme, host, port, path, query = match.group("scheme", "host", "port", "path", "query")
    authority = _authority(scheme, host, port)
    if authority is None:
        return None
    netloc, surt_host = authority
    path = path or "/"
    normal = f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"
    key_path = (path.rstrip("/") or "/") if len(path) > 1 else path
    key = f"{surt_host}){key_path}"
    if query:
        key += "?" + "&".join(sorted(arg for arg in query.split("&") if arg))
    return normal, key.lower(), netloc


@functools.lru_cache(maxsize=1024)
def _authority(scheme: str, host: str, port: str | None) -> tuple[str, str] | None:
    """The netloc (default port dropped) and SURT host of a plain URL's authority, or None when
    the general rules must decide (digits and dots that are not an IPv4 address, a port past
    65535). Cached: a crawl's links name few hosts."""
    name = host[4:] if host.startswith("www.") else host
    if _NUMERIC_HOST_RE.fullmatch(name) is not None:
        if _IPV4_RE.fullmatch(host) is None:
            return None
        surt_host = host
    else:
        surt_host = ",".join(reversed(name.split(".")))
    if port is not None:
        if int(port) > 65535:
            return None
        if port == _DEFAULT_PORT_TEXT[scheme]:
            port = None
    if port is None:
        return host, surt_host
    return f"{host}:{port}", f"{surt_host}:{port}"
