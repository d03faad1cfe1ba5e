"""How a queued URL is captured: over plain HTTP, rendered in a browser, or ``auto`` (pure decisions).

A URL's mode comes from the manifest: a seed's own ``capture`` (else http), ``follow.capture``
for the pages a rule reaches (references: http, sources: auto by default). Requisites are always
fetched over HTTP (in a browser capture they are the page's own requests), and a redirect's
target keeps the mode of the URL that redirected to it.

``auto`` fetches the page over HTTP first and renders it in the browser only when its HTML is
mostly script, by this rule (:func:`needs_browser`), checked on at most the first
:data:`SNIFF_BYTES` of the decoded body:

1. a ``<noscript>`` whose text names JavaScript (``"please enable JavaScript"``,
   ``"JavaScript is required"``): the page says itself that it needs a browser;
2. the visible text (outside script, style, template, noscript and the head) is under
   :data:`MIN_TEXT` characters and the page has a script (inline or ``src``): an empty shell;
3. the inline scripts hold more than :data:`MIN_SCRIPT` bytes and more than
   :data:`SCRIPT_RATIO` times the visible text: a page its scripts write.

Anything else is captured as fetched. The rule reads text, not a DOM: it runs on the fetch
worker for every ``auto`` page.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ..manifest import CaptureMode, Follow

SNIFF_BYTES = 2 * 1024 * 1024  # of the decoded body, read to decide
MIN_TEXT = 400  # characters of visible text under which a page with a script is a shell
MIN_SCRIPT = 20_000  # inline script bytes over which a page may be written by its scripts
SCRIPT_RATIO = 2.0  # ... when they are also this many times the visible text
_NEEDS_JS = re.compile(r"javascript", re.IGNORECASE)
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr"})


def mode_of(hop: str, follow: Follow, seed_mode: CaptureMode | None) -> CaptureMode:
    """The mode of a URL reached by ``hop`` (``seed_mode``: the seed's own, for a seed)."""
    if hop == "seed":
        return seed_mode or "http"
    if hop == "reference":
        return follow.capture.references
    if hop == "source":
        return follow.capture.sources
    return "http"


class _Sniffer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text = 0
        self.script_bytes = 0
        self.scripts = 0
        self.noscript_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        where = self.open[-1] if self.open else ""
        if where == "script":
            self.script_bytes += len(data.encode("utf-8", "replace"))
        elif "noscript" in self.open:
            self.noscript_text.append(data)
        elif not _HIDDEN.intersection(self.open):
            self.text += len(" ".join(data.split()))


def needs_browser(html: bytes) -> str | None:
    """Why ``html`` should be rendered in a browser (the rule above), or None when it need not."""
    sniffer = _Sniffer()
    try:
        sniffer.feed(html[:SNIFF_BYTES].decode("utf-8", "replace"))
        sniffer.close()
    except AssertionError:  # html.parser gives up on some broken markup: judged on what it read
        pass
    if any(_NEEDS_JS.search(text) for text in sniffer.noscript_text):
        return "its <noscript> says it needs JavaScript"
    if sniffer.text < MIN_TEXT and sniffer.scripts:
        return f"{sniffer.text} characters of visible text and {sniffer.scripts} script(s)"
    if sniffer.script_bytes > MIN_SCRIPT and sniffer.script_bytes > SCRIPT_RATIO * sniffer.text:
        return f"{sniffer.script_bytes} bytes of inline script for {sniffer.text} characters of text"
    return None
