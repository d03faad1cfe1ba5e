"""A cable page whose text is not where its profile looks: the page's main text is read instead,
and the record says which rule gave the text. Three layouts, a page with no text, a huge page."""

from __future__ import annotations

import pytest

from cablekeep.cables.extract import PAGE_LIMIT, parse_page

META = """<table class="meta">
<tr><td>Identifier</td><td>05ALMATY2503</td></tr>
<tr><td>Origin</td><td>Embassy Almaty</td></tr>
<tr><td>Created</td><td>2005-07-12 10:41:00</td></tr>
<tr><td>Classification</td><td>CONFIDENTIAL</td></tr>
</table>"""
NAV = """<header><h1>Cable browser</h1><p>Browse 251,287 cables by origin, tag and date: a long header
paragraph that must not be taken for the cable's text because it sits in the page's header.</p></header>
<nav><p>Home | Origins | Tags | Dates | Search the cables of every embassy and consulate by keyword</p></nav>"""
FOOTER = """<div class="site-footer"><p>Footer: this site mirrors public material. Contact, legal notice,
privacy policy, accessibility statement and a list of every mirror of the archive, in many languages.</p></div>"""
BODY_PARAGRAPHS = [
    "SUBJECT: UZBEK REFUGEES IN KYRGYZSTAN",
    "REF: A. ALMATY 2401 B. STATE 112233",
    "1. (C) Summary: refugees from Andijon remain in camps near Jalal-Abad; officials report pressure.",
    "2. (C) The embassy met UNHCR representatives, who described the conditions in the camps.",
]


def _page(text_block: str) -> bytes:
    return f"<html><head><title>05ALMATY2503</title></head><body>{NAV}{META}{text_block}{FOOTER}</body></html>".encode()


LAYOUTS = {
    "paragraphs-in-body": "".join(f"<p>{line}</p>" for line in BODY_PARAGRAPHS),
    "bare-text-with-breaks": '<div id="content">' + "<br>\n".join(BODY_PARAGRAPHS) + "</div>",
    "article-in-a-cell": "<table><tr><td><article>" + "".join(f"<p>{line}</p>" for line in BODY_PARAGRAPHS)
    + "</article></td></tr></table>",
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_main_text_when_the_profile_selects_nothing(layout: str) -> None:
    record = parse_page(_page(LAYOUTS[layout]), "http://127.0.0.1/cable/05ALMATY2503")
    assert record.kind == "cable" and record.cable_id == "05ALMATY2503"
    assert record.text_rule == "main-text"
    assert "refugees from Andijon" in record.text and "UNHCR" in record.text
    assert "Footer" not in record.text and "Browse 251,287" not in record.text and "Home | Origins" not in record.text
    assert [c.cable_id for c in record.citations] == ["05ALMATY2401", "05STATE112233"]
    assert record.to_json()["text_rule"] == "main-text"


def test_the_profile_rule_is_named_when_it_finds_the_text() -> None:
    page = _page('<div class="text">' + "".join(f"<p>{line}</p>" for line in BODY_PARAGRAPHS) + "</div>")
    record = parse_page(page, "http://127.0.0.1/cable/05ALMATY2503")
    assert record.text_rule == "profile" and "UNHCR" in record.text


def test_a_cable_page_without_text_says_so() -> None:
    record = parse_page(f"<html><body>{META}</body></html>".encode(), "http://127.0.0.1/cable/05ALMATY2503")
    assert record.kind == "cable" and record.text == "" and record.text_rule == "none"
    assert record.citations == ()


def test_pages_that_are_not_cables_have_no_text_rule() -> None:
    record = parse_page(b"<html><body><p>Just a page</p></body></html>", "http://127.0.0.1/")
    assert record.kind == "other" and record.text_rule == "" and record.to_json()["text_rule"] is None


def test_a_page_past_the_limit_is_read_up_to_it() -> None:
    head = _page('<div class="text"><p>REF: A. ALMATY 2401</p></div>').replace(b"</body></html>", b"")
    filler = b"<p>" + b"x" * 1000 + b"</p>\n"
    body = head + filler * (PAGE_LIMIT // len(filler) + 10) + b'<a href="/after-the-limit">late</a></body></html>'
    record = parse_page(body, "http://127.0.0.1/cable/05ALMATY2503")
    assert record.truncated is True and record.cable_id == "05ALMATY2503"
    assert [c.cable_id for c in record.citations] == ["05ALMATY2401"]
    assert all("after-the-limit" not in link.url for link in record.links)
