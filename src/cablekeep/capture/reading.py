"""Reading a fetched page for the crawl: which pages are read, their body decoded, parsed by profile.

A page is read when it is a whole 2xx HTML page that is not a redirect or a requisite
(:func:`parseable`). Its body is decoded (Content-Encoding undone, never more than EXTRACT_LIMIT
bytes: a compressed bomb stops expanding at the limit) and parsed with the manifest's profile
first, then the built-in layouts. The links of a page that is neither a cable nor an original are
read only when the crawl would follow some of them.
"""

from __future__ import annotations

import zlib

from ..cables.extract import PageRecord, parse_page
from ..cables.profiles import BUILTIN_PROFILES, Profile
from ..manifest import Follow
from .exchange import Exchange
from .scope import reads_other_links
from .state import QueuedUrl

EXTRACT_LIMIT = 8 * 1024 * 1024  # bytes of a page read for extraction (decompressed bodies are capped too)
HTML_TYPES = ("text/html", "application/xhtml+xml")


class PageReader:
    """Parses the pages a crawl reads, with its site profile and the built-in layouts as fallbacks."""

    def __init__(self, profile: Profile, follow: Follow) -> None:
        self.profile = profile
        self.fallbacks = tuple(p for p in BUILTIN_PROFILES if p is not profile)
        self.follow = follow

    def read(self, exchange: Exchange, queued: QueuedUrl) -> PageRecord:
        return parse_page(
            decoded_body(exchange), exchange.url, exchange.content_type, self.profile, self.fallbacks,
            other_links=reads_other_links(self.follow, queued.depth),
        )


def parseable(exchange: Exchange, queued: QueuedUrl) -> bool:
    """A whole 2xx HTML page that is not a redirect or a requisite: read for fields and links."""
    return (
        200 <= exchange.status < 300 and not exchange.truncated and exchange.location is None
        and is_html(exchange) and queued.hop != "requisite"
    )


def is_html(exchange: Exchange) -> bool:
    content_type = (exchange.content_type or "").lower()
    return content_type.startswith(HTML_TYPES) or (not content_type and exchange.url.endswith((".html", ".htm", "/")))


def decoded_body(exchange: Exchange) -> bytes:
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
