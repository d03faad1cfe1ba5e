"""What a crawl follows, and why not: pure decisions over the manifest's ``follow`` section.

From a page fetched at depth ``d``, with ``deeper`` meaning ``d < follow.depth``:

  references  cables cited in a cable page's text, at ``site.cable_url``, depth d+1 (when deeper)
  sources     links out of a page (cited documents, the original), depth d+1 (when deeper); a link
              back to the site's home page is navigation and is not followed
  requisites  what an HTML page needs to render (css, scripts, images), same depth, always
  redirects   each hop is fetched and recorded, same depth, at most MAX_REDIRECTS in a chain

:func:`plan_links` says which of a page's links are queued (as :class:`ToFollow`) and which are its
outlinks (written in the page's metadata record); :meth:`Scope.excluded` says why a URL to be
followed is left out (``include``/``exclude``/``hosts``), or ``None``. Nothing here touches the
state: the crawl's follower applies the plan (:mod:`cablekeep.capture.follow`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ..cables.extract import PageRecord
from ..manifest import Follow
from .canon import host_name, host_of, normalise_url

MAX_REDIRECTS = 10
Hop = Literal["seed", "reference", "source", "requisite"]


@dataclass(frozen=True, slots=True)
class ToFollow:
    """A URL a page leads to, the depth it is queued at and the hop that found it."""

    url: str
    depth: int
    hop: Hop


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """What one page leads to: URLs to queue (in order) and the outlinks its metadata record lists."""

    follow: tuple[ToFollow, ...]
    outlinks: tuple[str, ...]


class Scope:
    """The manifest's ``follow.include``, ``follow.exclude`` and ``follow.hosts`` rules."""

    def __init__(self, follow: Follow) -> None:
        self.follow = follow

    def excluded(self, url: str, key: str, host: str, hop: str) -> str | None:
        """Why a URL to be followed is left out (the rule, for the crawl log), or None when it is in."""
        follow = self.follow
        if follow.include and not any(p.search(url) or p.search(key) for p in follow.include):
            return "matches no follow.include pattern"
        for pattern in follow.exclude:
            if pattern.search(url) or pattern.search(key):
                return f"matches follow.exclude {pattern.pattern!r}"
        if hop == "source" and follow.hosts and host_name(host) not in follow.hosts and host not in follow.hosts:
            return "host not in follow.hosts"
        return None


def reference_urls(record: PageRecord, cable_url: str | None) -> list[str | None]:
    """The URL of each cable a page cites (``site.cable_url`` filled in), None without a template."""
    return [normalise_url(cable_url.format(id=c.cable_id)) if cable_url else None for c in record.citations]


def plan_links(
    follow: Follow, record: PageRecord, references: Sequence[str | None], depth: int, page_host: str
) -> LinkPlan:
    """Which of a page's references and links are queued, and its outlinks.

    ``references`` are the URLs of the cables it cites (:func:`reference_urls`); ``page_host`` is
    the host of the page (a link to its home page is navigation)."""
    deeper = depth < follow.depth
    queue: list[ToFollow] = []
    outlinks: list[str] = []
    if follow.references and deeper:
        for target in references:
            if target is not None:
                outlinks.append(target)
                queue.append(ToFollow(target, depth + 1, "reference"))
    for link in record.links:
        if link.rel == "requisite":
            if follow.requisites:
                queue.append(ToFollow(link.url, depth, "requisite"))
        elif link.rel == "original" or not is_navigation(link.url, page_host):
            outlinks.append(link.url)
            if follow.sources and deeper:
                queue.append(ToFollow(link.url, depth + 1, "source"))
    return LinkPlan(tuple(queue), tuple(outlinks))


def reads_other_links(follow: Follow, depth: int) -> bool:
    """Whether the links of a page that is neither a cable nor an original would be followed."""
    return follow.requisites or (follow.sources and depth < follow.depth)


# An http(s) URL whose path is more than "/" as urlsplit reads it: no blank or control character
# (urlsplit strips or drops some), the authority up to the first "/", then a character that starts
# neither the query nor the fragment. Nearly every link is one, and is then no navigation.
_LONG_PATH_RE = re.compile(r"https?://[^/?#\x00-\x20]*/[^?#\x00-\x20]")


def is_navigation(url: str, page_host: str) -> bool:
    """A link back to the home page of the page's own site: navigation, not a source. The path is
    looked at first: most links have one, and then their host need not be parsed (nor the URL
    split, when :data:`_LONG_PATH_RE` already shows the path)."""
    if _LONG_PATH_RE.match(url) is not None:
        return False
    try:
        if urlsplit(url).path not in {"", "/"}:
            return False
        return host_of(url) == page_host
    except ValueError:  # canon.InvalidUrlError or urlsplit's own: not navigation; logged as invalid-url
        return False


def has_year(written: str) -> bool:
    """Whether a citation as written carries its own year ("05 ALMATY 1437", "05ALMATY1437")."""
    return re.match(r"\s*\d{2}(?!\d)", written) is not None


def followable(url: str) -> bool:
    """Only http and https URLs are followed."""
    return url.startswith(("http://", "https://"))
