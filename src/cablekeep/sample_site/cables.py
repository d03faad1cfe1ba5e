"""The content of the sample cable site: the cables, the roles some IDs play, and the pages made from them.

Forty-four cables from Central Asia in 2005-2006. ``05ALMATY2503`` is the real page the project began
from, with every word of its text (line breaks put back so it reads like a cable). All the other
texts are synthetic, written for tests and the demo: plausible in form, not real cables.

Cables cite each other in the formats real cables use, so a crawl that follows citations grows:
``REF: A. ALMATY 2401 B. STATE 112233`` (05ALMATY2610), ``Ref: A) 05 Almaty 4353 B) Almaty 1437``
(05ALMATY4460), ``REF: 06 ASTANA 919`` (06ASTANA1102), a bare ``05ALMATY2401`` in the text
(05ALMATY2610), ``A. STATE 112233 B. SECSTATE 4455`` (05ALMATY3120, no ``REF:`` label) and a REF
line spread over two lines (06ASTANA919). A citation without a year takes the citing cable's year;
SECSTATE is STATE.

Roles (IDs as the cable site spells them; the constants below are the source of truth):

=====================  ==========================================================================
demo seeds             05ALMATY2503 (cites nothing; cited by 05DUSHANBE1120, 05ALMATY2542,
                       05STATE125880, 06ASTANA604, 06ASTANA919), 05ALMATY2401, 06ASTANA919
missing (404)          05STATE112233 (cited by 05ALMATY2401, 05ALMATY2610, 05ALMATY3120),
                       06BISHKEK88 (by 06BISHKEK520), 06STATE30411 (by 06STATE61220)
moved (301)            05ALMATY1437 -> 05ALMATY1473 (cited by 05ALMATY2401 and 05ALMATY4460)
soft 404 (200)         05ALMATY4353 (cited by 05ALMATY4460 and 06ASTANA919): "Cable not found"
malformed markup       05BISHKEK412, 05TASHKENT1190, 05ALMATY2210, 05DUSHANBE1120,
                       05BUENOSAIRES1702, 06ALMATY311
original missing       05USUNNEWYORK1102, 06ALMATY311 (their "View at Wikileaks.org" link is a 404)
sources block          05TASHKENT1190, 05ALMATY2401, 05ALMATY2503, 05BISHKEK1299, 05ALMATY4460,
                       06ASTANA919
gone document (404)    /doc/hrw-andijan-2005-06.html (05TASHKENT1190),
                       /doc/kz-draft-refugee-law-2006.html (06ASTANA919)
redirected doc (302)   /doc/unhcr-2005-07-04.html -> /doc/archive/2005/unhcr-2005-07-04.html
                       (05ALMATY2503)
robots-disallowed      /private/editor-notes/05ALMATY2401.html on the cable site (05ALMATY2401);
                       it answers 200, but robots.txt disallows /private/
=====================  ==========================================================================

From the demo seeds, depth 1 reaches 05ALMATY1437 (301), 05STATE112233 (404) and 05ALMATY4353
(soft 404); 05ALMATY2401 alone reaches the first two.

A source path under ``/doc/`` is on the originals host; any other source path is on the cable site
and is written as a site-relative link.

The cables themselves are package data, read once at import by :func:`load_sample_cables`:
``data/cables.json`` lists them in the site's order (ID, subject, origin, created, classification,
tags, redacted, sources, malformed, original) and ``data/cables/<ID>.txt`` holds each one's text.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

ORIGINAL_RELEASED = "2011-08-30 01:44"  # the "Released" column of every original page
SITE_RELEASE = "cablebrowser-2, released 2011-10-04"
DISCLAIMER = (
    "Disclaimer: This site has been first put up 15 years ago. Since then I would probably do a couple "
    "things differently, but because I've noticed this site had been linked from news outlets, PhD theses "
    "and peer rewieved papers and because I really hate the concept of \"digital dark age\" I've decided "
    "to put it back up. There's no chance it can produce any harm now."
)
PARTIAL_NOTE = (
    "This record is a partial extract of the original cable. "
    "The full text of the original cable is not available."
)
NOT_FOUND_TEXT = "Cable not found"

DEMO_SEEDS: tuple[str, ...] = ("05ALMATY2503", "05ALMATY2401", "06ASTANA919")

# Cited by cables on the site, never published: the cable site answers 404.
MISSING_IDS: tuple[str, ...] = ("05STATE112233", "06BISHKEK88", "06STATE30411")

# Old ID -> new ID; the old URL answers 301 to the new one. cablebrowser-1 listed 05ALMATY1473 under
# 05ALMATY1437, the transposed serial under which 05ALMATY2401 and 05ALMATY4460 cite it ("ALMATY
# 1437"); cablebrowser-2 moved the page to the cable's real ID and kept the old URL as a redirect.
MOVED_IDS: Mapping[str, str] = MappingProxyType({"05ALMATY1437": "05ALMATY1473"})

# Cited IDs that answer 200 with a page saying "Cable not found" and no metadata table.
SOFT_404_IDS: tuple[str, ...] = ("05ALMATY4353",)

# Source documents (paths on the originals host) that are gone: 404.
GONE_DOCUMENTS: tuple[str, ...] = ("/doc/hrw-andijan-2005-06.html", "/doc/kz-draft-refugee-law-2006.html")

# Source documents that moved (old path -> new path on the originals host): 302 to the new path.
REDIRECTED_DOCUMENTS: Mapping[str, str] = MappingProxyType(
    {"/doc/unhcr-2005-07-04.html": "/doc/archive/2005/unhcr-2005-07-04.html"}
)

# The rules of the cable site's robots.txt (the originals host allows everything) ...
ROBOTS_DISALLOW_PREFIXES: tuple[str, ...] = ("/private/",)
# ... and the paths on the cable site that pages link to and robots.txt disallows (they answer 200).
ROBOTS_DISALLOWED_PATHS: tuple[str, ...] = ("/private/editor-notes/05ALMATY2401.html",)

# The originals host names some posts differently from the cable site, as the real sites did.
_ORIGINAL_ORIGINS: Mapping[str, str] = MappingProxyType({"US Office Almaty": "Embassy Almaty"})


@dataclass(frozen=True)
class SampleCable:
    """One cable of the sample site, as its page shows it."""

    id: str
    subject: str
    origin: str
    created: str  # "YYYY-MM-DD HH:MM:SS"
    classification: str
    tags: tuple[str, ...]
    redacted: str
    text: str
    sources: tuple[tuple[str, str], ...] = ()  # (path, title)
    malformed: bool = False  # written in 2011-era markup
    original: Literal["ok", "missing"] = "ok"  # whether the originals host has the original page
    layout: Layout = "table"  # how its page shows the text (see LAYOUTS)


class SampleDataError(ValueError):
    """The sample site's data files are broken; lists every problem found, one a line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("the sample site's data is broken:\n" + "\n".join(f"  {p}" for p in self.problems))


# How a cable page shows its text, as sites laid out otherwise do: "table" (the profile's div.text,
# a pre), "paragraphs" (p elements in a div the profile does not name), "bare-text" (lines between
# br in a div), "no-text" (the metadata only: no text, no disclaimer, no redaction note).
Layout = Literal["table", "paragraphs", "bare-text", "no-text"]
LAYOUTS: tuple[Layout, ...] = ("table", "paragraphs", "bare-text", "no-text")
_OPTIONAL_FIELDS: Mapping[str, type] = MappingProxyType({"layout": str})

# The keys of each cable in cables.json, each with the type its value must have.
_FIELDS: Mapping[str, type] = MappingProxyType({
    "id": str, "subject": str, "origin": str, "created": str, "classification": str, "tags": list,
    "redacted": str, "sources": list, "malformed": bool, "original": str,
})
_ID_RE = re.compile(r"[0-9]{2}[A-Z]+[0-9]+")
_CREATED_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _read_cable(entry: object, where: str, texts: Traversable, problems: list[str]) -> SampleCable | None:
    """One entry of cables.json and its text file, or None with the entry's problems added."""
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected an object with the keys {', '.join(_FIELDS)}")
        return None
    found = len(problems)
    for key in sorted(entry.keys() - _FIELDS.keys() - _OPTIONAL_FIELDS.keys()):
        problems.append(f"{where}: unknown key {key!r}")
    for key, kind in _OPTIONAL_FIELDS.items():
        if key in entry and not isinstance(entry[key], kind):
            problems.append(f"{where}.{key}: expected {kind.__name__}, got {type(entry[key]).__name__}")
    for key, kind in _FIELDS.items():
        if key not in entry:
            problems.append(f"{where}: missing key {key!r}")
        elif not isinstance(entry[key], kind):
            problems.append(f"{where}.{key}: expected {kind.__name__}, got {type(entry[key]).__name__}")
    if len(problems) > found:
        return None
    cable_id, sources = entry["id"], entry["sources"]
    if not _ID_RE.fullmatch(cable_id):
        problems.append(f"{where}.id: {cable_id!r} is not a cable ID such as 05ALMATY2503")
    if not _CREATED_RE.fullmatch(entry["created"]):
        problems.append(f"{where}.created: {entry['created']!r} is not YYYY-MM-DD HH:MM:SS")
    if not _strings(entry["tags"]):
        problems.append(f"{where}.tags: expected a list of text")
    layout = entry.get("layout", "table")
    if layout not in LAYOUTS:
        problems.append(f"{where}.layout: {layout!r} is not one of {', '.join(LAYOUTS)}")
    if entry["original"] not in ("ok", "missing"):
        problems.append(f"{where}.original: {entry['original']!r} is neither 'ok' nor 'missing'")
    if not all(isinstance(s, dict) and s.keys() == {"path", "title"} and _strings(list(s.values())) for s in sources):
        problems.append(f"{where}.sources: expected a list of {{\"path\": ..., \"title\": ...}} with text values")
    if len(problems) > found:
        return None
    text_file = texts.joinpath(f"{cable_id}.txt")
    if not text_file.is_file():
        problems.append(f"{where}: no text file cables/{cable_id}.txt")
        return None
    return SampleCable(
        id=cable_id,
        subject=entry["subject"],
        origin=entry["origin"],
        created=entry["created"],
        classification=entry["classification"],
        tags=tuple(entry["tags"]),
        redacted=entry["redacted"],
        text=text_file.read_bytes().decode("utf-8"),
        sources=tuple((source["path"], source["title"]) for source in sources),
        malformed=entry["malformed"],
        original=entry["original"],
        layout=layout,
    )


def load_sample_cables(root: Traversable) -> tuple[SampleCable, ...]:
    """The cables described by ``root/cables.json`` (a list of objects, in the site's order), each
    with its text from ``root/cables/<ID>.txt`` (UTF-8, read as bytes so line ends stay as written).

    Every problem is collected: an entry with an unknown, missing or mistyped key, a malformed ID or
    date, a repeated ID, a cable without a text file and a text file without a cable. Raises one
    :class:`SampleDataError` listing them all.
    """
    try:
        entries = json.loads(root.joinpath("cables.json").read_bytes())
    except (OSError, ValueError) as error:
        raise SampleDataError([f"cables.json: cannot read it: {error}"]) from None
    if not isinstance(entries, list):
        raise SampleDataError(["cables.json: expected a list of cables"])
    texts = root.joinpath("cables")
    problems: list[str] = []
    cables: list[SampleCable] = []
    for index, entry in enumerate(entries):
        cable = _read_cable(entry, f"cables.json[{index}]", texts, problems)
        if cable is not None:
            cables.append(cable)
    counts = Counter(cable.id for cable in cables)
    problems += [f"cables.json: {cable_id} is listed {n} times" for cable_id, n in counts.items() if n > 1]
    text_names = {item.name for item in texts.iterdir() if item.is_file()} if texts.is_dir() else set()
    listed = {f"{entry['id']}.txt" for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)}
    problems += [f"cables/{name}: no cable in cables.json has this text" for name in sorted(text_names - listed)]
    if problems:
        raise SampleDataError(problems)
    return tuple(cables)


# The sample cables, in the site's order, from the package data in ``data/``.
SAMPLE_CABLES: tuple[SampleCable, ...] = load_sample_cables(files("cablekeep.sample_site").joinpath("data"))


CABLES_BY_ID: Mapping[str, SampleCable] = MappingProxyType({cable.id: cable for cable in SAMPLE_CABLES})
MALFORMED_IDS: tuple[str, ...] = tuple(cable.id for cable in SAMPLE_CABLES if cable.malformed)
MISSING_ORIGINALS: tuple[str, ...] = tuple(cable.id for cable in SAMPLE_CABLES if cable.original == "missing")

CABLE_ROBOTS_TXT = (
    "User-agent: *\n" + "".join(f"Disallow: {prefix}\n" for prefix in ROBOTS_DISALLOW_PREFIXES)
).encode("ascii")
ORIGINAL_ROBOTS_TXT = b"User-agent: *\nDisallow:\n"

_DOCTYPE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">'
_HEAD = (
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
    "<title>{title}</title>\n"
    '<link rel="stylesheet" type="text/css" href="/static/cablebrowser.css">\n'
    '<script type="text/javascript" src="/static/cablebrowser.js"></script>\n'
)
_HEADER = (
    '<div id="header"><a href="/"><img src="/static/logo.png" alt="cablebrowser" width="120" '
    'height="40"></a></div>\n'
)
_FOOTER = f'<p class="footer">Latest source of this page is {SITE_RELEASE}</p>\n'


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def original_path(cable: SampleCable) -> str:
    """Path of a cable's original on the originals host: ``/cable/<YYYY>/<MM>/<ID>.html``."""
    return f"/cable/{cable.created[:4]}/{cable.created[5:7]}/{cable.id}.html"


def source_href(path: str, original_base: str) -> str:
    """The link a page writes for a source: ``/doc/...`` on the originals host, else site-relative."""
    return original_base + path if path.startswith("/doc/") else path


def iter_documents() -> Iterable[tuple[str, str]]:
    """(path, title) of each document the originals host serves: sources not gone, moved ones at
    their new path."""
    seen: set[str] = set()
    for cable in SAMPLE_CABLES:
        for path, title in cable.sources:
            if not path.startswith("/doc/") or path in GONE_DOCUMENTS:
                continue
            served = REDIRECTED_DOCUMENTS.get(path, path)
            if served not in seen:
                seen.add(served)
                yield served, title


def iter_private_pages() -> Iterable[tuple[str, str]]:
    """(path, title) of each page on the cable site that robots.txt disallows."""
    for cable in SAMPLE_CABLES:
        for path, title in cable.sources:
            if path in ROBOTS_DISALLOWED_PATHS:
                yield path, title


def cable_page(cable: SampleCable, original_base: str) -> bytes:
    """The cable site's page for ``cable`` (``/cable/<ID>``), linking its original on ``original_base``."""
    original_url = original_base + original_path(cable)
    rows = (
        ("Identifier", _text(cable.id)),
        ("Wikileaks", None),
        ("Origin", _text(cable.origin)),
        ("Created", _text(cable.created)),
        ("Classification", _text(cable.classification)),
        ("Tags", _text(" ".join(cable.tags))),
        ("Redacted", _text(cable.redacted)),
    )
    view = f"View {_text(cable.id)} at Wikileaks.org"
    title = f"Cable {cable.id}: {cable.subject}"
    if cable.malformed:
        return _malformed_cable_page(cable, title, rows, original_base, view)
    bare = cable.layout == "no-text"
    parts = [
        _DOCTYPE,
        "\n<html><head>\n",
        _HEAD.format(title=_text(title)),
        "</head><body>\n",
        _HEADER,
        "" if bare else f'<p class="disclaimer">{_text(DISCLAIMER)}</p>\n',
        '<table class="cable">\n',
    ]
    for label, value in rows:
        if value is None:
            value = f'<a href="{_attr(original_url)}">{view}</a>'
        if not (bare and label == "Redacted"):
            parts.append(f'<tr><td class="label">{label}:</td><td>{value}</td></tr>\n')
    parts.append("</table>\n")
    if not bare:
        parts += [f'<p class="partial">{PARTIAL_NOTE}</p>\n', _text_block(cable)]
    if cable.sources:
        parts.append('<div class="sources"><h3>Sources</h3><ul>\n')
        for path, source_title in cable.sources:
            href = source_href(path, original_base)
            parts.append(f'<li><a href="{_attr(href)}">{_text(source_title)}</a></li>\n')
        parts.append("</ul></div>\n")
    parts += [_FOOTER, "</body></html>\n"]
    return "".join(parts).encode("utf-8")


def _text_block(cable: SampleCable) -> str:
    """The cable's text as its layout shows it (not for "no-text")."""
    if cable.layout == "paragraphs":
        paragraphs = [p.strip() for p in cable.text.split("\n\n") if p.strip()]
        inner = "".join(f"<p>{_text(p)}</p>\n" for p in paragraphs)
        return f'<div class="message">\n{inner}</div>\n'
    if cable.layout == "bare-text":
        return '<div class="message">' + "<br>\n".join(_text(line) for line in cable.text.splitlines()) + "</div>\n"
    return f'<div class="text"><pre>{_text(cable.text)}</pre></div>\n'


def _malformed_cable_page(
    cable: SampleCable,
    title: str,
    rows: tuple[tuple[str, str | None], ...],
    original_base: str,
    view: str,
) -> bytes:
    """The same page in 2011-era markup: upper-case tags, unclosed tr/td/p/li, unquoted attributes.

    Unquoted values never hold spaces, quotes, ``=``, ``<``, ``>`` or a backtick, so an HTML parser
    reads them whole; ``href="/"`` keeps its quotes because ``HREF=/>`` is read differently by some
    parsers."""
    parts = [
        _DOCTYPE,
        "\n<HTML><HEAD>\n",
        '<META HTTP-EQUIV=Content-Type CONTENT="text/html; charset=utf-8">\n',
        f"<TITLE>{_text(title)}</TITLE>\n",
        "<LINK REL=stylesheet TYPE=text/css HREF=/static/cablebrowser.css>\n",
        "<SCRIPT TYPE=text/javascript SRC=/static/cablebrowser.js></SCRIPT>\n",
        "</HEAD><BODY>\n",
        '<DIV ID=header><A HREF="/"><IMG SRC=/static/logo.png ALT=cablebrowser WIDTH=120 HEIGHT=40></A></DIV>\n',
        f"<P CLASS=disclaimer>{_text(DISCLAIMER)}\n",
        "<TABLE CLASS=cable>\n",
    ]
    for label, value in rows:
        if value is None:
            value = f"<A HREF={_unquoted(original_base + original_path(cable))}>{view}</A>"
        parts.append(f"<TR><TD CLASS=label>{label}:<TD>{value}\n")
    parts += [
        "</TABLE>\n",
        f"<P CLASS=partial>{PARTIAL_NOTE}\n",
        f"<DIV CLASS=text><PRE>{_text(cable.text)}</PRE></DIV>\n",
    ]
    if cable.sources:
        parts.append("<DIV CLASS=sources><H3>Sources</H3><UL>\n")
        for path, source_title in cable.sources:
            href = _unquoted(source_href(path, original_base))
            parts.append(f"<LI><A HREF={href}>{_text(source_title)}</A>\n")
        parts.append("</UL></DIV>\n")
    parts += [f"<P CLASS=footer>Latest source of this page is {SITE_RELEASE}\n", "</BODY></HTML>\n"]
    return "".join(parts).encode("utf-8")


def _unquoted(value: str) -> str:
    """``value`` as an unquoted attribute value; refuses what would need quotes."""
    if not value or any(char in value for char in " \t\n\"'=<>`&"):
        raise ValueError(f"{value!r} cannot be written as an unquoted attribute value")
    return value


def original_page(cable: SampleCable) -> bytes:
    """The originals host's page for ``cable`` (``/cable/<YYYY>/<MM>/<ID>.html``), with the full text."""
    origin = _ORIGINAL_ORIGINS.get(cable.origin, cable.origin)
    cells = (cable.id, cable.created[:16], ORIGINAL_RELEASED, cable.classification, origin)
    return (
        f"<html><head><title>Cable reference id: #{_text(cable.id)}</title></head><body>\n"
        f"<h2>Viewing cable {_text(cable.id)}, {_text(cable.subject)}</h2>\n"
        '<table class="cable">\n'
        "<tr><th>Reference ID</th><th>Created</th><th>Released</th><th>Classification</th><th>Origin</th></tr>\n"
        "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in cells) + "</tr>\n"
        "</table>\n"
        f"<pre>{_text(cable.text)}</pre>\n"
        "</body></html>\n"
    ).encode("utf-8")


def index_page(cables: Iterable[SampleCable] = SAMPLE_CABLES) -> bytes:
    """The cable site's ``/``: every cable, oldest first, each linking ``/cable/<ID>``."""
    items = "".join(
        f'<li><a href="/cable/{_attr(cable.id)}">{_text(cable.id)}</a> {_text(cable.created[:10])} '
        f"{_text(cable.subject)}</li>\n"
        for cable in sorted(cables, key=lambda cable: (cable.created, cable.id))
    )
    return _site_page("cablebrowser: all cables", f'<ul class="cables">\n{items}</ul>\n')


def soft_404_page(cable_id: str) -> bytes:
    """What the cable site answers, with status 200, for a cited cable it does not have."""
    body = (
        f'<p class="notfound">{NOT_FOUND_TEXT}</p>\n'
        f"<p>There is no cable {_text(cable_id)} in this release. <a href=\"/\">All cables</a></p>\n"
    )
    return _site_page(f"cablebrowser: {NOT_FOUND_TEXT}", body)


def _site_page(title: str, content: str) -> bytes:
    return (
        f"{_DOCTYPE}\n<html><head>\n{_HEAD.format(title=_text(title))}</head><body>\n{_HEADER}"
        f"{content}{_FOOTER}</body></html>\n"
    ).encode("utf-8")


def document_page(title: str) -> bytes:
    """A source document on the originals host."""
    return (
        f"<html><head><title>{_text(title)}</title></head><body>\n<h1>{_text(title)}</h1>\n"
        "<p>Archived copy of a document cited by the cable browser.</p>\n</body></html>\n"
    ).encode("utf-8")


def private_page(title: str) -> bytes:
    """A page under a robots.txt-disallowed path on the cable site."""
    return (
        f"<html><head><title>{_text(title)}</title></head><body>\n<h1>{_text(title)}</h1>\n"
        "<p>Private. A crawler that obeys robots.txt does not fetch this page.</p>\n</body></html>\n"
    ).encode("utf-8")
