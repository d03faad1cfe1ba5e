"""The visible text of a page, and how alike two texts are. Pure functions over the standard library.

:func:`visible_text` keeps what a reader sees (the title and the body's text, without scripts,
styles and templates), whitespace runs read as one space. :func:`similarity` is the share of words
two texts have in common in the same order (difflib's ratio over words), 1.0 for identical texts.
"""

from __future__ import annotations

import difflib
from html.parser import HTMLParser

from ..cables.extract import decode_html

MAX_WORDS = 5_000  # words of each text compared: enough to tell a page from an error page, and quick
_HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.parts.append(data)


def visible_text(body: bytes, content_type: str | None = None) -> str:
    """The title and visible text of an HTML page (other types: the decoded text as it is)."""
    text, _ = decode_html(body, content_type)
    if content_type and "html" not in content_type.lower() and "xml" not in content_type.lower():
        return " ".join(text.split())
    parser = _TextParser()
    parser.feed(text)
    parser.close()
    return " ".join(" ".join([*parser.title, " ", *parser.parts]).split())


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0.0 to 1.0: difflib's ratio over their first MAX_WORDS words."""
    if a == b:
        return 1.0
    words_a, words_b = a.split()[:MAX_WORDS], b.split()[:MAX_WORDS]
    if not words_a or not words_b:
        return 0.0
    return difflib.SequenceMatcher(None, words_a, words_b, autojunk=False).ratio()
