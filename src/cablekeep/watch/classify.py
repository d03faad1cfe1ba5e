"""What became of an archived URL: an archived capture and a live probe in, a class and its reasons out.

Pure: no network, no files. The classes, in the order the rules are tried:

- ``blocked``: robots.txt disallows a hop, or the address guard refuses one (``robots``, ``blocked-address``);
- ``unreachable``: a hop got no HTTP response (refused, DNS, timeout, TLS, a broken response), or the
  redirects went round in a loop or past the limit;
- ``server-error``: the chain ended in a 5xx (or a 429 after the retries);
- ``unchanged``: a 304 to the conditional request built from the archived ETag / Last-Modified;
- ``gone``: a 404 or 410 (or another 4xx), or a redirect to the host's home page, to the page a URL that
  cannot exist is sent to, or to a page that is itself an error page;
- ``moved``: redirects to another URL that answers with a page;
- ``unchanged``: the same payload digest (or the same decoded page);
- ``soft-404``: a 200 whose page is an error page: alike the host's answer for a URL that cannot exist,
  worded as an error ("page not found", "no longer available") where the archived page was not, or a
  cable page that now says the cable was not found;
- ``changed``: any other answer: with how alike the texts still are and, for cable pages, each field
  whose value changed (old and new).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from ..capture.canon import surt_key
from .text import similarity

LinkClass = Literal["unchanged", "changed", "moved", "gone", "soft-404", "server-error", "unreachable", "blocked"]
CLASSES: tuple[LinkClass, ...] = (
    "unchanged", "changed", "moved", "gone", "soft-404", "server-error", "unreachable", "blocked",
)
# Classes that mean the source as archived can no longer be had at its URL: "bad since" starts at the first.
BAD_CLASSES: frozenset[str] = frozenset({"moved", "gone", "soft-404", "server-error", "unreachable"})
BLOCKED_REASONS = frozenset({"robots", "blocked-address"})
ERROR_PAGE_SIMILARITY = 0.85  # a page this alike the host's not-found answer is that answer
HOME_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php", "/home", "/default.aspx"})
ERROR_WORDING = re.compile(
    r"\b(?:page|document|file|article|resource|cable|content|url)s?\s+(?:was\s+|could\s+)?not\s+(?:be\s+)?found\b"
    r"|\bnot\s+found\b|\b404\b|\bno\s+longer\s+(?:available|exists?)\b|\bdoes\s+not\s+exist\b"
    r"|\bhas\s+been\s+(?:removed|deleted)\b|\b(?:could|cannot|can't)\s+(?:not\s+)?be\s+found\b",
    re.IGNORECASE,
)
WORDING_WINDOW = 600  # characters at the start of a page (title, heading) read for error wording


@dataclass(frozen=True)
class Archived:
    """What was archived for a URL: its payload digest, its visible text, and for a cable page its fields."""

    url: str
    digest: str | None = None
    text: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    kind: str = "other"  # the page kind as the extractor read it: "cable", "original", "not-found", "other"


@dataclass(frozen=True)
class Hop:
    """One response of a probe's chain."""

    url: str
    status: int
    location: str | None = None


@dataclass(frozen=True)
class Live:
    """A probe of a URL: every response of its chain, how it ended, and what the last response holds.

    ``failure`` is a crawl-log reason when the chain ended without a response (refused, dns, timeout,
    blocked-address, robots, redirect-loop, redirect-limit, ...); the last page's fields are empty for
    pages that are not cables."""

    hops: tuple[Hop, ...] = ()
    failure: str | None = None
    detail: str = ""
    digest: str | None = None
    same_decoded: bool = False  # the decoded page equals the archived one (another compression, same page)
    text: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    kind: str = "other"

    @property
    def final(self) -> Hop | None:
        return self.hops[-1] if self.hops else None


@dataclass(frozen=True)
class NotFoundAnswer:
    """What a host answered for a URL that cannot exist (fetched once per host per check)."""

    status: int | None
    final_url: str | None = None
    text: str = ""


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Verdict:
    """A URL's class at one check, why, where it ends now, and for a change how much and which fields."""

    link_class: LinkClass
    reason: str
    final_url: str | None = None
    status: int | None = None
    similarity: float | None = None
    field_changes: tuple[FieldChange, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "class": self.link_class, "reason": self.reason, "final_url": self.final_url, "status": self.status,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "field_changes": [{"field": c.name, "old": c.old, "new": c.new} for c in self.field_changes],
        }


def classify(archived: Archived, live: Live, not_found: NotFoundAnswer | None) -> Verdict:
    """The class of ``archived``'s URL given ``live``, its probe, and its host's ``not_found`` answer."""
    final = live.final
    status = final.status if final else None
    final_url = final.url if final else None
    if live.failure is not None:
        failed_at = (final.location or final.url) if final else None
        where = "" if final is None else f" after {len(live.hops)} redirect(s), at {failed_at}"
        if live.failure in BLOCKED_REASONS:
            return Verdict("blocked", f"{live.failure}{where}: {live.detail}".rstrip(": "), final_url, status)
        return Verdict("unreachable", f"{live.failure}{where}: {live.detail}".rstrip(": "), final_url, status)
    if final is None:
        return Verdict("unreachable", "no response", None, None)
    redirected = len(live.hops) > 1
    via = f" after redirects to {final.url}" if redirected else ""
    if status is not None and (status >= 500 or status == 429):
        return Verdict("server-error", f"HTTP {status}{via}", final_url, status)
    if status == 304 and not redirected:
        return Verdict("unchanged", "304 Not Modified to the conditional request", final_url, status)
    if status is not None and 400 <= status < 500:
        return Verdict("gone", f"HTTP {status}{via}", final_url, status)
    if status is not None and 300 <= status < 400:
        return Verdict("server-error", f"HTTP {status} without a usable Location{via}", final_url, status)
    moved_elsewhere = redirected and surt_key(final.url) != surt_key(archived.url)
    if moved_elsewhere:
        if _is_home(final.url) and not _is_home(archived.url):
            return Verdict("gone", f"redirects to the home page {final.url}", final_url, status)
        if not_found is not None and not_found.final_url and surt_key(not_found.final_url) == surt_key(final.url) \
                and surt_key(not_found.final_url) != surt_key(archived.url):
            return Verdict("gone", f"redirects to {final.url}, where a URL that cannot exist is sent too",
                           final_url, status)
        error = _error_page(archived, live, not_found)
        if error:
            return Verdict("gone", f"redirects to an error page {final.url} ({error})", final_url, status)
        return Verdict("moved", f"redirects to {final.url}", final_url, status)
    if archived.digest and live.digest == archived.digest:
        return Verdict("unchanged", "same payload digest", final_url, status, 1.0)
    if live.same_decoded:
        return Verdict("unchanged", "same page (only its transfer encoding differs)", final_url, status, 1.0)
    error = _error_page(archived, live, not_found)
    if error:
        return Verdict("soft-404", f"HTTP {status}, an error page ({error})", final_url, status)
    ratio = similarity(archived.text, live.text)
    changes = field_changes(archived.fields, live.fields) if archived.kind in {"cable", "original"} else ()
    fields = f"; fields changed: {', '.join(c.name for c in changes)}" if changes else ""
    return Verdict("changed", f"{ratio:.0%} of the text alike{fields}", final_url, status, ratio, changes)


def field_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[FieldChange, ...]:
    """Each field whose value differs (or that appeared or vanished), by name."""
    return tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if " ".join(str(old.get(name) or "").split()) != " ".join(str(new.get(name) or "").split())
    )


def _is_home(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in HOME_PATHS and not parts.query


def _error_page(archived: Archived, live: Live, not_found: NotFoundAnswer | None) -> str | None:
    """Why the live page is an error page, or None."""
    if archived.kind in {"cable", "original"} and live.kind == "not-found":
        return "the page says the cable was not found"
    if not_found is not None and not_found.text and live.text:
        ratio = similarity(not_found.text, live.text)
        if ratio >= ERROR_PAGE_SIMILARITY and similarity(not_found.text, archived.text) < ERROR_PAGE_SIMILARITY:
            return f"{ratio:.0%} alike what the host answers for a URL that cannot exist"
    wording = ERROR_WORDING.search(live.text[:WORDING_WINDOW])
    if wording and not ERROR_WORDING.search(archived.text[:WORDING_WINDOW]):
        return f"worded as an error: {wording.group(0)!r}"
    return None
