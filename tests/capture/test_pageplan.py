"""A page planned where it was read (capture/pageplan.py): what the crawl queues and writes down."""

from __future__ import annotations

import json
import pickle

from cablekeep import __version__
from cablekeep.cables.citations import Citation
from cablekeep.cables.extract import Link, PageRecord
from cablekeep.capture.pageplan import PagePlanner
from cablekeep.capture.scope import ToFollow
from cablekeep.capture.state import QueuedUrl
from cablekeep.manifest import Follow, Site

SITE = Site(cable_url="http://site.test/cable/{id}", original_url="http://orig.test/{id}.html")


def _cable(links: int = 20) -> PageRecord:
    return PageRecord(
        url="http://site.test/cable/05ALMATY1", kind="cable", cable_id="05ALMATY1", fields={"subject": "S"},
        tags=("PREL",), text="TEXT " * 200, citations=(Citation("05 ALMATY 7", "05ALMATY7"),),
        links=(Link("http://site.test/", "source", "a", "home"), Link("http://site.test/style.css", "requisite", "link"),
               *(Link(f"http://docs.test/d{n}", "source", "a", f"doc {n}") for n in range(links))),
        title="T", text_rule="profile",
    )


def _queued(depth: int) -> QueuedUrl:
    return QueuedUrl(1, "test,site)/cable/05almaty1", "http://site.test/cable/05ALMATY1", "site.test", depth, "seed", None, 0)


def test_at_the_last_depth_nothing_is_followed_but_the_metadata_lists_every_outlink() -> None:
    follow = Follow(references=True, sources=True, requisites=False, depth=0)
    page = PagePlanner(follow, SITE).plan(_cable(), _queued(0), "site.test")
    assert page.follow == ()
    assert page.references == ("http://site.test/cable/05ALMATY7",)
    assert page.metadata is not None
    payload = json.loads(page.metadata)
    assert payload["software"] == f"cablekeep/{__version__}" and payload["url"] == "http://site.test/cable/05ALMATY1"
    # the home page is navigation; the original's link is built from site.original_url
    assert payload["outlinks"] == [*(f"http://docs.test/d{n}" for n in range(20)), "http://orig.test/05ALMATY1.html"]
    assert payload["record"]["links"][-1]["tag"] == "template" and payload["record"]["text"] == "TEXT " * 200
    # what a worker process sends back: the plan, without the page's links as objects (cheaper to pickle)
    assert b"Link" in pickle.dumps(_cable()) and b"Link" not in pickle.dumps(page)
    assert pickle.loads(pickle.dumps(page)) == page


def test_a_page_with_depth_left_queues_references_sources_and_requisites_in_order() -> None:
    follow = Follow(references=True, sources=True, requisites=True, depth=1)
    page = PagePlanner(follow, SITE).plan(_cable(links=2), _queued(0), "site.test")
    assert page.follow == (
        ToFollow("http://site.test/cable/05ALMATY7", 1, "reference"),
        ToFollow("http://site.test/style.css", 0, "requisite"),
        ToFollow("http://docs.test/d0", 1, "source"),
        ToFollow("http://docs.test/d1", 1, "source"),
        ToFollow("http://orig.test/05ALMATY1.html", 1, "source"),
    )
    assert json.loads(page.metadata or b"")["outlinks"][0] == "http://site.test/cable/05ALMATY7"


def test_pages_that_are_neither_cables_nor_originals_get_no_metadata_record() -> None:
    other = PageRecord(url="http://site.test/about", kind="other", cable_id=None, fields={}, tags=(), text="",
                       citations=(), links=(Link("http://docs.test/x", "source", "a"),), title="")
    page = PagePlanner(Follow(depth=1), SITE).plan(other, _queued(0), "site.test")
    assert page.metadata is None and page.follow == (ToFollow("http://docs.test/x", 1, "source"),)
