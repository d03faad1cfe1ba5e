"""One archived URL probed: a chain of single requests through the capture wing's fetcher, hop by hop.

The fetcher (:class:`~cablekeep.capture.fetch.Fetcher`) makes one request and follows no redirect; as
the crawler does, the hops are followed here, at most MAX_REDIRECTS, each through the address guard
(in the fetcher) and the robots rules of its host. The first request carries the conditional headers
built from the archived response (If-None-Match from its ETag, If-Modified-Since from its
Last-Modified), so an unchanged page may answer 304 without a body.

Robots rules of a redirect target's host that the check does not know yet are fetched here, once, and
handed back (:attr:`Probe.robots`) for the check's politeness to keep.
"""

from __future__ import annotations

import time

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ..capture.canon import host_of, surt_key
from ..capture.fetch import Fetcher
from ..capture.reading import decoded_body
from ..capture.robots import RobotsRules, rules_from_response
from ..capture.warc import sha1_label
from ..errors import FetchError
from .classify import Hop

MAX_REDIRECTS = 10  # as the crawler: at most 10 redirects in a row
ROBOTS_LIMIT = 512 * 1024


@dataclass
class Probe:
    """What a probe saw: every response of its chain, how it ended, and the last page (decoded)."""

    hops: list[Hop] = field(default_factory=list)
    failure: str | None = None
    detail: str = ""
    digest: str | None = None
    body: bytes = b""
    content_type: str | None = None
    robots: list[tuple[str, int | None, bytes]] = field(default_factory=list)  # (host, status, body) fetched

    @property
    def status(self) -> int | None:
        return self.hops[-1].status if self.hops else None


def fetch_robots(fetcher: Fetcher, url: str) -> tuple[int | None, bytes]:
    """A host's robots.txt: (status, body), or (None, b"") when it got no response."""
    try:
        with fetcher.fetch(urljoin(url, "/robots.txt")) as exchange:
            return exchange.status, decoded_body(exchange)[:ROBOTS_LIMIT]
    except FetchError:
        return None, b""


def probe(
    fetcher: Fetcher,
    url: str,
    *,
    conditional: Iterable[tuple[str, str]] = (),
    robots_of: Callable[[str], RobotsRules | None] = lambda host: None,
    obey_robots: bool = True,
    delay_of: Callable[[str], float] = lambda host: 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Probe:
    """Follow ``url``'s redirects to a final answer. ``robots_of`` gives the known rules of a host
    (None: unknown, fetched here for redirect targets); the first URL's host is the caller's to gate. Each
    redirect is followed after ``delay_of`` its host, as the crawler waits between the hops it queues."""
    result = Probe()
    seen = {surt_key(url)}
    headers = list(conditional)
    current = url
    fetched: dict[str, RobotsRules] = {}
    while True:
        if result.hops:
            sleep(delay_of(host_of(current)))
        if obey_robots and result.hops:
            host = host_of(current)
            rules = robots_of(host) or fetched.get(host)
            if rules is None:
                status, body = fetch_robots(fetcher, current)
                result.robots.append((host, status, body))
                rules = fetched[host] = rules_from_response(status, body) if status is not None else RobotsRules(None)
            if not rules.allowed(current, fetcher.user_agent):
                result.failure, result.detail = "robots", f"{current} is disallowed by robots.txt"
                return result
        try:
            exchange = fetcher.fetch(current, headers)
        except FetchError as exc:
            result.failure, result.detail = exc.reason, exc.detail
            return result
        with exchange:
            location = exchange.location
            result.hops.append(Hop(current, exchange.status, location))
            if location is None:
                result.digest = sha1_label(exchange.body_sha1) if exchange.body_length else None
                result.body = decoded_body(exchange) if 200 <= exchange.status < 300 else b""
                result.content_type = exchange.content_type
                if exchange.truncated:
                    result.detail = f"truncated ({exchange.truncated})"
                return result
        key = surt_key(location)
        if key in seen:
            result.failure, result.detail = "redirect-loop", f"{location} redirects back into the chain"
            return result
        if len(result.hops) > MAX_REDIRECTS:
            result.failure, result.detail = "redirect-limit", f"more than {MAX_REDIRECTS} redirects"
            return result
        seen.add(key)
        current = location
        headers = []  # the conditional headers are the archived URL's, not a redirect target's
