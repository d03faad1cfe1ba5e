"""The extractor's shortcuts give what the general paths give: leaf rendering, link texts, label fields."""

from __future__ import annotations

import itertools

import pytest
from lxml import etree

from cablekeep.cables import extract
from cablekeep.cables.profiles import FieldRule

TAGS = ("p", "pre", "td", "th", "div", "br", "a", "span", "title", "script", "style", "li", "h1", "b")
TEXTS = (
    None, "", " ", "x", "  x  ", "\nx\n", "\n\nx y\n", "a\n  b\t\tc  d", "\xa0x\xa0", "\u2003x \u2003",
    "x\r\ny", "line 1\n\n  line 2  \n", "\t", "\n", "x\u00a0\u00a0y", "é  ü",
)  # fmt: skip


@pytest.mark.parametrize("tag, text", list(itertools.product(TAGS, TEXTS)))
def test_a_leaf_renders_as_the_walk_renders_it(tag: str, text: str | None) -> None:
    element = etree.Element(tag)
    element.text = text
    element.tail = " tail "
    assert len(element) == 0
    assert extract._render(element) == extract._render_tree(element)


def test_an_element_with_a_comment_is_walked() -> None:
    root = etree.fromstring("<html><body><p>a <!-- c --> b</p></body></html>", etree.HTMLParser())
    paragraph = root.find(".//p")
    assert paragraph is not None and len(paragraph) == 1
    assert extract._render(paragraph) == extract._render_tree(paragraph) == "a b"


@pytest.mark.parametrize("text", TEXTS)
def test_a_leaf_link_s_text_is_its_rendered_text_collapsed(text: str | None) -> None:
    element = etree.Element("a")
    element.text = text
    assert extract._link_text(element) == extract._collapse(extract._render_tree(element))


LABEL_CELLS = ("05ALMATY2503", "", " ", "\xa0", "  a \n b ", "<b>x</b> y", "<br>", "<pre>\n x\n</pre>", "<!-- c -->", "<script>x</script>")


@pytest.mark.parametrize("cell", LABEL_CELLS)
def test_a_plain_label_field_is_the_first_value_collapsed(cell: str) -> None:
    html = f"<html><body><table><tr><td>Identifier:</td><td>{cell}</td></tr></table></body></html>"
    page = extract._Page(etree.fromstring(html, etree.HTMLParser()))
    rule = FieldRule(label="Identifier")
    general = next((extract._collapse(value) for value in page.values(rule)), None)
    assert page.field(rule) == general
