"""What a crawl learnt, exported from its state: cable records with their originals, resolved citations.

``iter_cable_records`` joins each cable page with the original-source page of the same cable when
one was archived and names each field on which the two disagree. ``iter_citation_records``
resolves each citation: the cited cable was ``archived`` (directly or after redirects, or one
year earlier for a citation written without a year), is ``not-on-site`` (404, 410 or a "Cable
not found" page), ``failed`` (no usable answer), or ``not-followed`` (beyond the depth, out of
scope, references off). Everything streams from SQLite; nothing is held per cable.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..cables.cableid import year_before
from .canon import normalise_url, surt_key
from .state import CrawlState

NOT_ON_SITE = frozenset({"not-found", "gone", "soft-404"})
COMPARED_FIELDS = ("created", "classification", "origin", "subject")
MAX_REDIRECT_HOPS = 10


def _resolve(state: CrawlState, url: str | None) -> tuple[str, str | None]:
    """(outcome, final URL) of a cited cable's URL."""
    if url is None:
        return "not-followed", None
    found = state.url_outcome(surt_key(url))
    for _ in range(MAX_REDIRECT_HOPS + 1):
        if found is None:
            return "not-followed", None
        final_url, url_state, outcome = found
        if url_state != "done" or outcome in (None, "out-of-scope", "robots"):
            return "not-followed", None
        if outcome == "ok":
            return "archived", final_url
        if outcome in NOT_ON_SITE:
            return "not-on-site", final_url
        if outcome != "redirect":
            return "failed", final_url
        found = state.redirect_target(final_url)
    return "failed", None


def _swap_id(url: str, old: str, new: str) -> str:
    return normalise_url(url.replace(old, new))


def iter_citation_records(state: CrawlState) -> Iterator[dict[str, object]]:
    for citing, citing_url, written, cable_id, url, _key, had_year in state.iter_citations():
        outcome, final_url = _resolve(state, url)
        resolved_id = cable_id
        if outcome == "not-on-site" and not had_year and url is not None:
            earlier = year_before(cable_id)
            if earlier is not None:
                earlier_outcome, earlier_url = _resolve(state, _swap_id(url, cable_id, earlier))
                if earlier_outcome == "archived":
                    outcome, final_url, resolved_id = earlier_outcome, earlier_url, earlier
        yield {
            "citing": citing,
            "citing_url": citing_url,
            "written": written,
            "cable_id": cable_id,
            "resolved_id": resolved_id,
            "url": url,
            "resolved_url": final_url,
            "outcome": outcome,
        }


def counted(records: Iterable[dict[str, object]], counts: Counter[str]) -> Iterator[dict[str, object]]:
    """``records`` unchanged, counting each ``outcome`` (and ``cited`` for all) on the way."""
    for record in records:
        counts["cited"] += 1
        counts[str(record["outcome"])] += 1
        yield record


def _same(field: str, page: str, original: str) -> bool:
    a, b = " ".join(page.split()).casefold(), " ".join(original.split()).casefold()
    if field == "created":  # the original gives minutes, the cable browser seconds
        return a[:16] == b[:16]
    return a == b


def iter_cable_records(state: CrawlState) -> Iterator[dict[str, object]]:
    for line in state.iter_lines("cables"):
        record = json.loads(line)
        assert isinstance(record, dict)
        cable_id = record.get("cable_id")
        original = state.original_of(cable_id) if isinstance(cable_id, str) else None
        if original is not None:
            original_url, original_fields = original
            fields = record.get("fields")
            page_fields = fields if isinstance(fields, dict) else {}
            record["original"] = {"url": original_url, "fields": original_fields}
            record["disagreements"] = [
                {"field": name, "page": page_fields[name], "original": original_fields[name]}
                for name in COMPARED_FIELDS
                if name in page_fields and name in original_fields
                and not _same(name, str(page_fields[name]), str(original_fields[name]))
            ]
        yield record


def write_jsonl(records: Iterable[dict[str, object]], out: Path) -> int:
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
