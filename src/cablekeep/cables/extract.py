"""Extraction: what a fetched page says, as plain data. Pure functions, no network.

``parse_page`` decodes a body, reads it with lxml's forgiving HTML parser (2011-era markup with
unclosed cells, upper-case tags and bare attributes reads like clean markup), applies a
``Profile`` (see ``cablekeep.cables.profiles``) and returns a ``PageRecord``: the page kind, the cable ID
and metadata fields, the cable text with its line breaks and paragraph numbers, the cables the
text cites and every link, marked as a *requisite* (needed to render the page: stylesheets,
scripts, images, icons, frames), a *source* (a link out) or the *original* (the Wikileaks row).

Decoding follows the order a browser would: a byte-order mark, the Content-Type charset, a
``<meta>`` charset in the first 4 KB, UTF-8 when the body is valid UTF-8, else a guess between
windows-1251 and windows-1252 (see ``decode_html``).
"""

from __future__ import annotations

import codecs
import functools
from copy import deepcopy as copy_element
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from lxml import etree

from .cableid import normalise_cable_id
from .citations import Citation, iter_citations
from .profiles import BUILTIN_PROFILES, CABLEBROWSER, DATE_OUTPUT, FieldRule, Profile, normalise_label
from .urls import Resolver, absolute as _absolute

__all__ = [
    "PAGE_LIMIT",
    "Link",
    "PageKind",
    "PageRecord",
    "check_url_template",
    "decode_html",
    "detect_profile",
    "original_url_from_template",
    "main_text",
    "parse_page",
]

PageKind = Literal["cable", "original", "not-found", "other"]
LinkRel = Literal["requisite", "source", "original"]
# Where a cable's text came from: the profile's text rule, the page's main text when that rule
# selected nothing, or nowhere; "" on pages that are not cables or originals.
TextRule = Literal["profile", "main-text", "none", ""]

# At most this much of a page is parsed (a crawl reads no more of a body for extraction, and
# ``cablekeep extract`` no more of a file): libxml2 and XPath on a page of 100 MB take gigabytes.
PAGE_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class Link:
    """A URL a page refers to: absolute, without fragment.

    ``rel`` is "requisite" (needed to render the page), "source" (an ``<a href>`` out) or
    "original" (the link to the original cable); ``tag`` is the element it came from.
    """

    url: str
    rel: LinkRel
    tag: str
    text: str = ""

    def __reduce__(self) -> tuple[type[Link], tuple[str, LinkRel, str, str]]:
        # pickled by its fields (crawl workers send pages back): a frozen dataclass's default
        # state is set field by field through object.__setattr__, several times slower
        return (Link, (self.url, self.rel, self.tag, self.text))


@dataclass(frozen=True)
class PageRecord:
    """What one page says. ``fields`` holds the fields its profile found, values as strings."""

    url: str
    kind: PageKind
    cable_id: str | None
    fields: dict[str, str]
    tags: tuple[str, ...]
    text: str
    citations: tuple[Citation, ...]
    links: tuple[Link, ...]
    title: str
    text_rule: TextRule = ""
    truncated: bool = False  # only the first PAGE_LIMIT bytes were read

    def __reduce__(self) -> tuple[type[PageRecord], tuple[object, ...]]:
        return (PageRecord, (self.url, self.kind, self.cable_id, self.fields, self.tags, self.text,
                             self.citations, self.links, self.title, self.text_rule, self.truncated))

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict; keys in a fixed order, ``fields`` sorted by name."""
        return {
            "url": self.url,
            "kind": self.kind,
            "cable_id": self.cable_id,
            "title": self.title,
            "fields": {key: self.fields[key] for key in sorted(self.fields)},
            "tags": list(self.tags),
            "citations": [
                {"written": citation.written, "cable_id": citation.cable_id}
                for citation in self.citations
            ],
            "links": [
                {"url": link.url, "rel": link.rel, "tag": link.tag, "text": link.text}
                for link in self.links
            ],
            "text": self.text,
            "text_rule": self.text_rule or None,
            "truncated": self.truncated,
        }


# --- decoding -------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_META_CHARSET_RE = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_PRESCAN_BYTES = 4096
# Labels that browsers read as windows-1252, which is what such pages really are.
_AS_WINDOWS_1252 = frozenset({"iso8859-1", "ascii", "latin-1"})
_HIGH_BYTES = bytes(range(0x80, 0x100))
_CYRILLIC_RUN_RE = re.compile(rb"[\xc0-\xff]{3,}")


def _codec_name(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    return "cp1252" if name in _AS_WINDOWS_1252 else name


def _looks_cyrillic(body: bytes) -> bool:
    """True when the bytes above 0x7F are mostly runs of 3+ letters in 0xC0-0xFF.

    In windows-1251 those bytes are Cyrillic letters, so Russian words are such runs; in
    windows-1252 they are accented Latin letters, which sit alone between ASCII letters.
    """
    high = len(body) - len(body.translate(None, _HIGH_BYTES))
    in_runs = sum(len(run) for run in _CYRILLIC_RUN_RE.findall(body))
    return in_runs >= 6 and in_runs * 2 >= high


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The text of an HTML body and the codec used to read it.

    In order: a byte-order mark; the ``charset`` of ``content_type``; a ``<meta>`` charset in the
    first 4 KB (UTF-16 there means UTF-8, as in browsers); UTF-8 when the whole body is valid
    UTF-8; else windows-1251 when the high bytes look like Cyrillic words, windows-1252
    otherwise. ISO-8859-1 and ASCII labels are read as windows-1252. Bytes that are invalid in
    the chosen codec become U+FFFD.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace"), name
    declared = None
    if content_type:
        match = _HEADER_CHARSET_RE.search(content_type)
        declared = _codec_name(match.group(1)) if match else None
    if declared is None:
        meta = _META_CHARSET_RE.search(body, 0, _PRESCAN_BYTES)
        declared = _codec_name(meta.group(1).decode("ascii")) if meta else None
        if declared is not None and declared.startswith(("utf-16", "utf-32")):
            declared = "utf-8"
    if declared is not None:
        return body.decode(declared, errors="replace"), declared
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        name = "cp1251" if _looks_cyrillic(body) else "cp1252"
        return body.decode(name, errors="replace"), name


# libxml2's HTML parser as lxml.html uses it, without lxml.html's element classes: those are
# looked up by a Python call for every element touched, a fifth of the time spent on a page.
_PARSER = etree.HTMLParser(encoding="utf-8")
_EMPTY_DOCUMENT = b"<html></html>"


def _document(body: bytes, content_type: str | None) -> etree._Element:
    text, _ = decode_html(body, content_type)
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        root = None
    # libxml2 calls a body with no elements (empty, blanks, a lone comment) "empty": that page
    # has nothing to extract, which an empty document says.
    return root if root is not None else etree.fromstring(_EMPTY_DOCUMENT, _PARSER)


# --- text rendering -------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template"})
_PARAGRAPH_TAGS = frozenset(
    {"p", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl"}
)
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "center", "dd", "details", "div", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav",
        "section", "tbody", "tfoot", "thead", "tr", "caption", "title",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_HTML_SPACE_RE = re.compile(r"[ \t\n\f]+")


class _TextBuilder:
    """Text as a browser lays it out: blocks on their own lines, white space collapsed outside
    ``<pre>``, ``<br>`` as a line break, a blank line around paragraphs."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._newlines = 0

    def text(self, text: str | None, pre: bool) -> None:
        if not text:
            return
        if not pre:
            text = _HTML_SPACE_RE.sub(" ", text)
            if self._newlines or not self._parts or self._parts[-1].endswith(" "):
                text = text.lstrip(" ")
            if not text:
                return
        self._parts.append(text)
        stripped = text.rstrip("\n")
        self._newlines = (self._newlines if not stripped else 0) + len(text) - len(stripped)

    def line_break(self, count: int = 1, hard: bool = False) -> None:
        if not self._parts:
            return
        self._parts[-1] = self._parts[-1].rstrip(" \t")
        missing = 1 if hard else count - self._newlines
        if missing > 0:
            self._parts.append("\n" * missing)
            self._newlines += missing

    def cell(self) -> None:
        if self._parts and not self._newlines and not self._parts[-1].endswith(" "):
            self._parts.append(" ")

    def result(self) -> str:
        return "".join(self._parts).strip()


def _render(root: etree._Element) -> str:
    """The text of ``root`` with its line breaks (iterative: deep malformed trees are common)."""
    if len(root) == 0 and isinstance(root.tag, str):
        # no children (elements, comments): only its own text, white space collapsed unless in
        # <pre>; the line breaks around it would be stripped
        text = root.text or ""
        return (text if root.tag == "pre" else _HTML_SPACE_RE.sub(" ", text)).strip()
    return _render_tree(root)


def _render_tree(root: etree._Element) -> str:
    """:func:`_render` by walking the tree (any element)."""
    builder = _TextBuilder()
    pre_depth = 0
    stack: list[tuple[etree._Element, bool]] = [(root, True)]
    while stack:
        element, entering = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if entering and (not tag or (tag in _SKIPPED_TAGS and element is not root)):
            if element is not root:
                builder.text(element.tail, pre_depth > 0)
            continue
        if entering:
            if tag == "br":
                builder.line_break(hard=True)
            elif tag in _PARAGRAPH_TAGS:
                builder.line_break(2)
            elif tag in _BLOCK_TAGS:
                builder.line_break()
            elif tag in _CELL_TAGS:
                builder.cell()
            text = element.text
            if tag == "pre":
                pre_depth += 1
                if text and text.startswith("\n"):
                    text = text[1:]  # HTML drops the newline that opens a <pre>
            builder.text(text, pre_depth > 0)
            stack.append((element, False))
            stack.extend((child, True) for child in reversed(element))
            continue
        if tag == "pre":
            pre_depth -= 1
        if tag in _PARAGRAPH_TAGS:
            builder.line_break(2)
        elif tag in _BLOCK_TAGS:
            builder.line_break()
        if element is not root:
            builder.text(element.tail, pre_depth > 0)
    return builder.result()


def _collapse(text: str) -> str:
    return " ".join(text.split())


# --- applying a profile ---------------------------------------------------------------------

_FOLLOWING_ROW = etree.XPath("following::tr[1]")


class _Page:
    """A parsed document and the label index its label rules share (built on first use)."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._labels: dict[str, etree._Element] | None = None

    def labels(self) -> dict[str, etree._Element]:
        if self._labels is None:
            self._labels = _label_index(self.root)
        return self._labels

    def values(self, rule: FieldRule) -> Iterator[str]:
        """The texts ``rule`` selects (line breaks kept), after its regex, empty ones left out."""
        for value in self._selected(rule):
            if rule.compiled_regex is not None:
                match = rule.compiled_regex.search(value)
                if match is None:
                    continue
                value = match.group(1) if rule.compiled_regex.groups else match.group(0)
            if rule.date is not None:
                try:
                    value = datetime.strptime(_collapse(value), rule.date).strftime(DATE_OUTPUT)
                except ValueError:
                    continue
            if value and value.strip():
                yield value

    def _selected(self, rule: FieldRule) -> Iterator[str]:
        if rule.label_key is not None:
            element = self.labels().get(rule.label_key)
            if element is not None:
                yield _render(element)
            return
        assert rule.compiled_xpath is not None  # a rule has a label or a compiled XPath
        result = rule.compiled_xpath(self.root)
        if isinstance(result, list):
            for item in result:
                if isinstance(item, etree._Element):
                    yield _render(item)
                elif isinstance(item, str):
                    yield item
                elif isinstance(item, bytes):
                    yield item.decode("utf-8", errors="replace")
        elif isinstance(result, bool):
            if result:
                yield "true"
        elif isinstance(result, (str, float)):
            yield str(result)

    def field(self, rule: FieldRule) -> str | None:
        """The first value ``rule`` selects, white space collapsed; None when it selects none."""
        if rule.label_key is not None and rule.compiled_regex is None and rule.date is None:
            # a plain label rule, the most common, without the generators of ``values``
            element = self.labels().get(rule.label_key)
            value = _collapse(_render(element)) if element is not None else ""
            return value or None
        return next((_collapse(value) for value in self.values(rule)), None)


def _label_index(root: etree._Element) -> dict[str, etree._Element]:
    """Label (normalised) to the element holding its value; the first one of a label wins.

    Reads table rows whose first cell is the label, header rows of ``<th>`` over a data row,
    and ``<dt>``/``<dd>`` pairs.
    """
    index: dict[str, etree._Element] = {}
    for row in root.iter("tr"):
        cells = [cell for cell in row if cell.tag in _CELL_TAGS]
        if not cells:
            continue
        if all(cell.tag == "th" for cell in cells):
            following = _FOLLOWING_ROW(row)
            data_row = following[0] if isinstance(following, list) and following else None
            if isinstance(data_row, etree._Element):
                data = [cell for cell in data_row if cell.tag == "td"]
                if data:
                    for head, value in zip(cells, data):
                        index.setdefault(normalise_label(_render(head)), value)
                    continue
        if len(cells) >= 2:
            index.setdefault(normalise_label(_render(cells[0])), cells[1])
    for term in root.iter("dt"):
        definition = next((e for e in term.itersiblings() if isinstance(e.tag, str)), None)
        if definition is not None and definition.tag == "dd":
            index.setdefault(normalise_label(_render(term)), definition)
    return index


# --- links ----------------------------------------------------------------------------------

_CSS_URL_RE = re.compile(
    r"""url\(\s*(?P<q1>['"]?)(?P<url>.*?)(?P=q1)\s*\)|@import\s+(?P<q2>['"])(?P<imp>.*?)(?P=q2)""",
    re.IGNORECASE,
)
_REFRESH_URL_RE = re.compile(r"""url\s*=\s*['"]?([^'"]+)""", re.IGNORECASE)
_REQUISITE_LINK_RELS = frozenset(
    {
        "stylesheet", "icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed",
        "mask-icon", "manifest", "preload", "modulepreload",
    }
)  # fmt: skip
_REQUISITE_SRC_TAGS = frozenset(
    {"script", "img", "iframe", "frame", "embed", "video", "audio", "source", "track"}
)
_BACKGROUND_TAGS = frozenset({"body", "table", "tr", "td", "th"})
_REL_PRIORITY: dict[str, int] = {"requisite": 0, "original": 1, "source": 2}


def _srcset_urls(srcset: str | None) -> Iterator[str]:
    for candidate in (srcset or "").split(","):
        words = candidate.split()
        if words:
            yield words[0]


# The elements that can hold a reference, found in document order by libxml2 (most of a page
# never becomes Python objects; one walk by tag name costs a tenth of an XPath union of the
# elements with their attributes); any element can hold one in a style attribute, so a page that
# has style attributes is walked whole.
_LINK_TAGS = ("a", "area", "link", "object", "input", "meta", "style", *_REQUISITE_SRC_TAGS, *_BACKGROUND_TAGS)
_STYLED = etree.XPath("//*[@style]")


def _link_text(element: etree._Element) -> str:
    """``_collapse(_render(element))``; without children, straight from the element's own text."""
    if len(element) == 0 and isinstance(element.tag, str):
        return _collapse(element.text or "")
    return _collapse(_render(element))


def _raw_links(root: etree._Element) -> Iterator[tuple[str | None, LinkRel, str, str]]:
    """(href, rel, tag, text) for every reference in the document, in document order."""
    elements = root.iter() if _STYLED(root) else root.iter(*_LINK_TAGS)
    for element in elements:
        tag = element.tag
        if not isinstance(tag, str):
            continue
        get = element.get
        if tag in ("a", "area"):
            href = get("href")
            if href is not None:
                yield href, "source", tag, _link_text(element) if tag == "a" else get("alt", "")
        elif tag == "link":
            rels = set((get("rel") or "").lower().split())
            yield get("href"), "requisite" if rels & _REQUISITE_LINK_RELS else "source", tag, ""
        elif tag in _REQUISITE_SRC_TAGS:
            yield get("src"), "requisite", tag, get("alt", "") if tag == "img" else ""
            for url in _srcset_urls(get("srcset")):
                yield url, "requisite", tag, ""
            if tag == "video":
                yield get("poster"), "requisite", tag, ""
        elif tag == "object":
            yield get("data"), "requisite", tag, ""
        elif tag == "input" and (get("type") or "").lower() == "image":
            yield get("src"), "requisite", tag, ""
        elif tag == "meta" and (get("http-equiv") or "").lower() == "refresh":
            match = _REFRESH_URL_RE.search(get("content") or "")
            yield (match.group(1) if match else None), "source", tag, ""
        elif tag == "style":
            for match in _CSS_URL_RE.finditer(element.text or ""):
                yield match.group("url") or match.group("imp"), "requisite", tag, ""
        if tag in _BACKGROUND_TAGS:
            background = get("background")
            if background is not None:
                yield background, "requisite", tag, ""
        style = get("style")
        if style and "url(" in style.lower():
            for match in _CSS_URL_RE.finditer(style):
                yield match.group("url"), "requisite", tag, ""


def _base_url(root: etree._Element, page_url: str) -> str:
    """What relative URLs resolve against: the first ``<base href>``, else the page URL."""
    base_element = root.find(".//base[@href]")
    if base_element is None:
        return page_url
    return _absolute(page_url, base_element.get("href")) or page_url


def _links(root: etree._Element, base: str, original_url: str | None) -> tuple[Link, ...]:
    """Each URL once, at its first place; its rel is the strongest seen (requisite first)."""
    links: dict[str, Link] = {}
    resolve = Resolver(base).resolve
    for href, rel, tag, text in _raw_links(root):
        url = resolve(href)
        if url is None:
            continue
        if rel == "source" and tag == "a" and url == original_url:
            rel = "original"
        known = links.get(url)
        if known is None or _REL_PRIORITY[rel] < _REL_PRIORITY[known.rel]:
            links[url] = Link(url, rel, tag, text)  # an update keeps the first position
    return tuple(links.values())


# --- pages ----------------------------------------------------------------------------------

_TAG_SPLIT_RE = re.compile(r"[\s,;]+")


def parse_page(
    body: bytes,
    url: str,
    content_type: str | None = None,
    profile: Profile = CABLEBROWSER,
    fallbacks: Sequence[Profile] = (),
    *,
    other_links: bool = True,
) -> PageRecord:
    """Read one fetched page with ``profile``, or else the first of ``fallbacks`` that finds an
    identifier (the page is parsed once for all of them). With ``other_links`` false, the links
    of a page that is neither a cable nor an original are not read (a crawl that follows none).

    The kind is the profile's ("cable" or "original") when its ``identifier`` rule finds a
    value, "not-found" when the page says so (``profile.not_found``), else "other". Citations
    come from the text, dated by the page's own cable ID, which is never among them. An "other"
    page has no text or citations: only its links are read.
    """
    truncated = len(body) > PAGE_LIMIT
    page = _Page(_document(body[:PAGE_LIMIT] if truncated else body, content_type))
    base = _base_url(page.root, url)
    fields: dict[str, str] = {}
    for candidate in (profile, *fallbacks):
        fields = _fields(page, base, candidate)
        if "identifier" in fields:
            profile = candidate
            break
    else:
        fields = _fields(page, base, profile) if fallbacks else fields

    identifier = fields.get("identifier")
    kind: PageKind
    text = ""
    text_rule: TextRule = ""
    if identifier is not None:
        kind = profile.kind
        cable_id = normalise_cable_id(identifier)
        text = "\n\n".join(value.strip() for value in page.values(profile.text)).strip()
        text_rule = "profile"
        if not text:
            text = main_text(page.root)
            text_rule = "main-text" if text else "none"
    else:
        cable_id = None
        # the text as lxml sees it (C speed) is enough to find the "Cable not found" phrase
        page_text = etree.tostring(page.root, method="text", encoding="unicode")
        kind = "not-found" if profile.says_not_found(page_text) else "other"

    title_element = page.root.find(".//title")
    return PageRecord(
        url=url,
        kind=kind,
        cable_id=cable_id,
        fields=fields,
        tags=tuple(tag for tag in _TAG_SPLIT_RE.split(fields.get("tags", "")) if tag),
        text=text,
        citations=tuple(iter_citations(text, cable_id)) if text else (),
        links=_links(page.root, base, fields.get("original_url")) if other_links or identifier is not None else (),
        title=_collapse(_render(title_element)) if title_element is not None else "",
        text_rule=text_rule,
        truncated=truncated,
    )


# --- the main text, when a profile's text rule selects nothing ---------------------------------

_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "form", "menu", "script", "style", "noscript"})
_CHROME_NAME_RE = re.compile(r"(?:^|[\s_-])(?:nav|navbar|menu|header|footer|sidebar|breadcrumbs?|banner)(?:$|[\s_-])", re.I)
_TEXT_CONTAINERS = ("p", "pre", "blockquote")
_BARE_TEXT_HOSTS = ("div", "td", "article", "section", "main", "body", "center", "font")
MIN_MAIN_TEXT = 40  # characters: less is a label or a date, not a cable's text


def _is_chrome(element: etree._Element) -> bool:
    """Inside navigation, a header or a footer (by tag, or by a class, id or role that says so)."""
    return any(_is_own_chrome(node) for node in (element, *element.iterancestors()) if isinstance(node.tag, str))


def _bare_text_length(element: etree._Element) -> int:
    """Characters of text directly inside ``element`` (its text and its children's tails)."""
    total = len((element.text or "").strip())
    for child in element:
        total += len((child.tail or "").strip())
    return total


def main_text(root: etree._Element) -> str:
    """The largest block of text outside navigation, header and footer, rendered; "" when none.

    Each paragraph (``p``, ``pre``, ``blockquote``) scores its length for its parent, and text
    standing bare in a container (lines between ``<br>``) scores for the container itself; the
    element with the highest score is the main text. Readability-style, without its heuristics
    for ads: cable pages have none.
    """
    scores: dict[etree._Element, int] = {}
    for element in root.iter(*_TEXT_CONTAINERS):
        parent = element.getparent()
        if parent is None or _is_chrome(element):
            continue
        length = len(etree.tostring(element, method="text", encoding="unicode").strip())
        scores[parent] = scores.get(parent, 0) + length
    for element in root.iter(*_BARE_TEXT_HOSTS):
        length = _bare_text_length(element)
        if length and not _is_chrome(element):
            scores[element] = scores.get(element, 0) + length
    if not scores:
        return ""
    best = max(scores, key=lambda element: scores[element])
    if scores[best] < MIN_MAIN_TEXT:
        return ""
    return _render(_without_chrome(best)).strip()


def _without_chrome(element: etree._Element) -> etree._Element:
    """A copy of ``element`` without its navigation, header and footer (their tails kept)."""
    copy = copy_element(element)
    for node in [n for n in copy.iterdescendants() if isinstance(n.tag, str) and _is_own_chrome(n)]:
        parent = node.getparent()
        if parent is None:
            continue
        if node.tail:
            previous = node.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + node.tail
            else:
                parent.text = (parent.text or "") + node.tail
        parent.remove(node)
    return copy


def _is_own_chrome(element: etree._Element) -> bool:
    if element.tag in _CHROME_TAGS:
        return True
    return any(
        (value := element.get(attribute)) is not None and _CHROME_NAME_RE.search(value) is not None
        for attribute in ("class", "id", "role")
    )


def _fields(page: _Page, base: str, profile: Profile) -> dict[str, str]:
    """The profile's fields found on the page; none unless its identifier is one of them."""
    if page.field(profile.fields["identifier"]) is None:
        return {}
    fields: dict[str, str] = {}
    for name, rule in profile.fields.items():
        value = page.field(rule)
        if value is not None:
            fields[name] = value
    if "original_url" in fields:
        absolute = _absolute(base, fields["original_url"])
        if absolute is None:
            del fields["original_url"]
        else:
            fields["original_url"] = absolute
    return fields


def detect_profile(
    body: bytes,
    content_type: str | None = None,
    candidates: Sequence[Profile] = BUILTIN_PROFILES,
) -> Profile:
    """The first of ``candidates`` whose ``detect`` rule finds something, else CABLEBROWSER."""
    page = _Page(_document(body, content_type))
    for profile in candidates:
        if profile.detect is not None and next(page.values(profile.detect), None) is not None:
            return profile
    return CABLEBROWSER


# --- URL templates --------------------------------------------------------------------------

_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{(?P<name>[A-Za-z_]\w*)(?::(?P<spec>[^{}]*))?\}|[{}]")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@functools.lru_cache(maxsize=64)
def _template_parts(template: str) -> tuple[str | tuple[str, str], ...]:
    parts: list[str | tuple[str, str]] = []
    position = 0
    for match in _PLACEHOLDER_RE.finditer(template):
        parts.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group("name") is None:
            raise ValueError(
                f"URL template {template!r}: unmatched {token!r} at {match.start()}; "
                "write {{ or }} for a literal brace"
            )
        else:
            parts.append((match.group("name"), match.group("spec") or ""))
    parts.append(template[position:])
    return tuple(part for part in parts if part != "")


def check_url_template(template: str, profile: Profile = CABLEBROWSER) -> None:
    """Raise ``ValueError`` unless ``template`` can build URLs from pages read with ``profile``:
    valid syntax, formats that work, and placeholders that are ``id`` or fields of the profile."""
    for part in _template_parts(template):
        if isinstance(part, str):
            continue
        name, spec = part
        if name != "id" and name not in profile.fields:
            known = ", ".join(["id", *profile.fields])
            raise ValueError(
                f"URL template {template!r}: unknown placeholder {{{name}}}; use one of {known}"
            )
        sample: object = datetime(2005, 7, 6, 12, 8) if "%" in spec else "05ALMATY2503"
        try:
            format(sample, spec)
        except ValueError as exc:
            raise ValueError(f"URL template {template!r}: {{{name}:{spec}}}: {exc}") from exc


def _date(written: str | None) -> datetime | None:
    for layout in _DATE_FORMATS:
        try:
            return datetime.strptime((written or "").strip(), layout)
        except ValueError:
            continue
    return None


def original_url_from_template(template: str, record: PageRecord) -> str | None:
    """The original's URL built from ``template``, or None when the record lacks a value.

    Placeholders: ``{id}`` is the canonical cable ID; ``{NAME}`` is the field NAME,
    percent-encoded; ``{NAME:FORMAT}`` with strftime codes reads the field as a date
    ("2005-07-06 12:08:00", "2005-07-06 12:08" or "2005-07-06"): ``{created:%Y}/{created:%m}``.
    ``{{`` and ``}}`` are literal braces. Raises ``ValueError`` for a malformed template.
    """
    pieces: list[str] = []
    for part in _template_parts(template):
        if isinstance(part, str):
            pieces.append(part)
            continue
        name, spec = part
        written = record.cable_id if name == "id" else record.fields.get(name)
        value: object = None
        if "%" in spec:
            value = _date(written)
        elif written is not None:
            value = written if name == "id" else quote(written, safe="")
        if value is None:
            return None
        pieces.append(format(value, spec))
    return "".join(pieces)
