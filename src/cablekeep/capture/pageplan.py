"""What a read page leads to, worked out where the page was read: a :class:`PagePlan`.

Pure, like :mod:`~cablekeep.capture.scope`, whose decisions it applies to one page: the URLs of
the cables it cites, the link to its original built from ``site.original_url`` when a cable page
has none, which URLs are to be queued (:func:`~cablekeep.capture.scope.plan_links`), and for
cables and originals the payload of the page's metadata record (what was read, and the outlinks).
A crawl's worker process plans the page it read and sends back the plan, not the page: the links
the plan no longer needs (all of them, when the crawl's depth is reached) are never sent, and the
metadata record's JSON is encoded off the coordinator. The crawl's follower writes the plan down
(:mod:`~cablekeep.capture.follow`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from .. import __version__
from ..cables.citations import Citation
from ..cables.extract import Link, PageKind, PageRecord, TextRule, original_url_from_template
from ..manifest import Follow, Site
from .scope import ToFollow, plan_links, reference_urls
from .state import QueuedUrl

SOFTWARE = f"cablekeep/{__version__}"


@dataclass(frozen=True, slots=True)
class PagePlan:
    """A page read and planned: what the crawl writes down about it and what it queues."""

    kind: PageKind
    cable_id: str | None
    fields: dict[str, str]
    tags: tuple[str, ...]
    citations: tuple[Citation, ...]
    text_rule: TextRule
    references: tuple[str | None, ...]  # the URL of each cited cable (a cable page's), None without a template
    follow: tuple[ToFollow, ...]  # to queue, in order, unless seen before
    metadata: bytes | None  # the metadata record's payload (cables and originals), JSON

    def __reduce__(self) -> tuple[type[PagePlan], tuple[object, ...]]:
        # sent back by worker processes: by its fields (slots, frozen)
        return (PagePlan, (self.kind, self.cable_id, self.fields, self.tags, self.citations, self.text_rule,
                           self.references, self.follow, self.metadata))


class PagePlanner:
    """Plans the pages of one crawl (its ``follow`` rules and ``site``)."""

    def __init__(self, follow: Follow, site: Site) -> None:
        self.follow = follow
        self.site = site

    def plan(self, record: PageRecord, queued: QueuedUrl, page_host: str) -> PagePlan:
        """``record``, read from the page fetched for ``queued`` on ``page_host`` (a link to that
        host's home page is navigation), planned."""
        references: list[str | None] = []
        if record.kind == "cable":
            references = reference_urls(record, self.site.cable_url)
            record = self._with_original(record)
        plan = plan_links(self.follow, record, references, queued.depth, page_host)
        metadata = None
        if record.kind in {"cable", "original"}:
            payload = {"software": SOFTWARE, "url": record.url, "record": record.to_json(), "outlinks": list(plan.outlinks)}
            metadata = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return PagePlan(record.kind, record.cable_id, record.fields, record.tags, record.citations, record.text_rule,
                        tuple(references), plan.follow, metadata)

    def _with_original(self, record: PageRecord) -> PageRecord:
        """A cable page without a link to its original gets one from ``site.original_url``."""
        if any(link.rel == "original" for link in record.links) or not self.site.original_url:
            return record
        built = original_url_from_template(self.site.original_url, record)
        if built is None:
            return record
        link = Link(built, "original", "template", "original (from site.original_url)")
        return dataclasses.replace(record, links=(*record.links, link))
