"""One HTTP exchange as recorded: the type the fetcher makes and the WARC writer writes.

Plain data over the standard library, so the WARC writer does not depend on the fetcher (or on
requests): :class:`Exchange` holds the request as sent, the status line and headers as received,
and the body exactly as it came off the wire (Content-Encoding kept) in a seekable file, with its
sha1 computed while it was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import IO
from urllib.parse import urljoin

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Hop-by-hop framing that requests undoes before we see the body; the recorded headers must
# describe the body we store, so this header is renamed (see Exchange.response_head).
DECHUNKED_HEADER = "X-Cablekeep-Orig-Transfer-Encoding"


@dataclass
class Exchange:
    """One HTTP request and the response to it, as recorded."""

    url: str
    method: str
    request_head: bytes
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: IO[bytes]
    body_length: int
    body_sha1: bytes
    ip_address: str | None
    started: datetime
    elapsed: float
    truncated: str | None = None
    closed: bool = field(default=False, repr=False)

    @property
    def response_head(self) -> bytes:
        """Status line and headers; a chunked Transfer-Encoding is renamed (the body is de-chunked)."""
        lines = [f"{self.http_version} {self.status} {self.reason}".rstrip()]
        for name, value in self.headers:
            if name.lower() == "transfer-encoding" and "chunked" in value.lower():
                name = DECHUNKED_HEADER
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1", "replace")

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    @property
    def location(self) -> str | None:
        """The absolute redirect target of a 3xx response, if it names one (as written when it
        cannot be joined to the URL, e.g. a broken IPv6 host: the follower logs it as invalid)."""
        target = self.header("Location")
        if self.status not in REDIRECT_STATUSES or not target:
            return None
        try:
            return urljoin(self.url, target.strip())
        except ValueError:
            return target.strip()

    def read_body(self, limit: int) -> bytes:
        """At most ``limit`` bytes of the body from its start (for extraction), leaving it rewound."""
        self.body.seek(0)
        data = self.body.read(limit)
        self.body.seek(0)
        return data

    def close(self) -> None:
        if not self.closed:
            self.body.close()
            self.closed = True

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
