"""A mirror of the sample cables on one loopback host, in another layout: for testing custom profiles.

The mirror serves the same ``SAMPLE_CABLES`` (same IDs, fields and texts) as the cable site, but
nothing on its pages is where the built-in ``cablebrowser`` profile looks, so only a custom
profile (``tests/data/profiles/mirror-profile.yaml``, ``manifests/mirror.yaml``) reads them:

=====================  ==========================================================================
``/``                  index: every cable, oldest first, each linking its page
``/archive/<ID>.htm``  a cable: the subject in ``<h1 class="subject">``, the post in
                       ``<span class="post">``, a ``<dl class="meta">`` (Reference, Date as
                       "Wednesday, 6 July 2005, 12:08 UTC", Redacted), ``<div id="classif">
                       CLASSIFICATION: ...</div>``, the tags as ``<a class="tag">`` links in a
                       ``<ul class="tags">``, the text in ``<div class="body">`` (a ``<p>`` per
                       paragraph, ``<br>`` between its lines) and, when the mirror knows the
                       originals host, an ``<a class="orig">`` link to the original
``/tag/<TAG>.htm``     the cables filed under a tag
``/style/mirror.css``  the one stylesheet
``/robots.txt``        allows everything
=====================  ==========================================================================

Anything else answers 404: IDs the mirror has no cable for (the cited missing, moved and soft-404
IDs of the cable site included), and ``/cable/<ID>``. Responses follow the cable site's server
(pre-rendered bodies, keep-alive, fixed ``Last-Modified``, strong ETags, 304s, nothing logged).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from .cables import SAMPLE_CABLES, SampleCable, original_path
from .server import HTML, Response, SampleSiteHandler, SampleSiteServer, ok

__all__ = ["MIRROR_LAST_MODIFIED", "MirrorSite", "mirror_site_routes", "serve_mirror_site"]

# Fixed, so that captures of the mirror compare byte for byte across runs.
MIRROR_LAST_MODIFIED = datetime(2012, 3, 1, 8, 0, 0, tzinfo=timezone.utc)
STYLESHEET_PATH = "/style/mirror.css"
ROBOTS_TXT = b"User-agent: *\nDisallow:\n"
STYLESHEET = b"""\
/* cable mirror */
body { margin: 0 auto; max-width: 46em; padding: 0 1em; font: 15px/1.5 Verdana, sans-serif; }
h1.subject { font-size: 18px; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
#classif { font-weight: bold; color: #8b1e1e; }
ul.tags { list-style: none; padding: 0; }
ul.tags li { display: inline; margin-right: 6px; }
a.tag { padding: 0 4px; background: #e6eef7; text-decoration: none; }
div.body { font-family: "Courier New", monospace; }
p.footer { font-size: 11px; color: #777; }
"""
_POLL_INTERVAL = 0.05  # seconds; how long shutdown() may wait for serve_forever to notice
# English names whatever the process locale, which strftime's %A and %B would follow.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_HEAD = (
    '<!DOCTYPE html>\n<html lang="en"><head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
    f'<link rel="stylesheet" href="{STYLESHEET_PATH}">\n</head><body>\n'
    '<p class="nav"><a href="/">All cables</a></p>\n'
)
_FOOTER = '<p class="footer">cable mirror, 2012</p>\n</body></html>\n'


@dataclass(frozen=True)
class MirrorSite:
    """Base URL of a running mirror, e.g. "http://127.0.0.4:40123"."""

    base: str

    def cable_url(self, cable_id: str) -> str:
        return f"{self.base}{cable_path(cable_id)}"


def cable_path(cable_id: str) -> str:
    """Path of a cable's page on the mirror: ``/archive/<ID>.htm``."""
    return f"/archive/{cable_id}.htm"


def tag_path(tag: str) -> str:
    """Path of a tag's page on the mirror: ``/tag/<TAG>.htm``."""
    return f"/tag/{tag}.htm"


def mirror_date(created: str) -> str:
    """The mirror's way of writing a "YYYY-MM-DD HH:MM:SS" date: "Wednesday, 6 July 2005, 12:08 UTC"."""
    when = datetime.strptime(created, "%Y-%m-%d %H:%M:%S")
    weekday, month = _WEEKDAYS[when.weekday()], _MONTHS[when.month - 1]
    return f"{weekday}, {when.day} {month} {when.year}, {when:%H:%M} UTC"


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _paragraphs(text: str) -> str:
    """The cable text as ``<p>`` paragraphs (split at blank lines), ``<br>`` between their lines."""
    return "".join(
        "<p>" + "<br>\n".join(_text(line) for line in paragraph.splitlines()) + "</p>\n"
        for paragraph in re.split(r"\n\s*\n", text.strip())
    )


def mirror_cable_page(cable: SampleCable, original_base: str | None = None) -> bytes:
    """The mirror's page for ``cable``; with ``original_base``, a link to its original there."""
    tags = "".join(
        f'<li><a class="tag" href="{_attr(tag_path(tag))}">{_text(tag)}</a></li>\n' for tag in cable.tags
    )
    parts = [
        _HEAD.format(title=f"{_text(cable.id)} - cable mirror"),
        f'<h1 class="subject">{_text(cable.subject)}</h1>\n',
        f'<p class="from">Sent by <span class="post">{_text(cable.origin)}</span></p>\n',
        '<dl class="meta">\n',
        f"<dt>Reference</dt><dd>{_text(cable.id)}</dd>\n",
        f"<dt>Date</dt><dd>{_text(mirror_date(cable.created))}</dd>\n",
        f"<dt>Redacted</dt><dd>{_text(cable.redacted)}</dd>\n",
        "</dl>\n",
        f'<div id="classif">CLASSIFICATION: {_text(cable.classification)}</div>\n',
        f'<ul class="tags">\n{tags}</ul>\n',
        f'<div class="body">\n{_paragraphs(cable.text)}</div>\n',
    ]
    if original_base is not None:
        href = _attr(original_base + original_path(cable))
        parts.append(f'<p><a class="orig" href="{href}">Original at Wikileaks.org</a></p>\n')
    parts.append(_FOOTER)
    return "".join(parts).encode("utf-8")


def _cable_list(title: str, cables: Iterable[SampleCable]) -> bytes:
    items = "".join(
        f'<li><a href="{_attr(cable_path(cable.id))}">{_text(cable.id)}</a> '
        f"{_text(mirror_date(cable.created))}: {_text(cable.subject)}</li>\n"
        for cable in sorted(cables, key=lambda cable: (cable.created, cable.id))
    )
    content = f'<h1>{_text(title)}</h1>\n<ol class="cables">\n{items}</ol>\n'
    return (_HEAD.format(title=_text(title)) + content + _FOOTER).encode("utf-8")


def mirror_index_page(cables: Iterable[SampleCable] = SAMPLE_CABLES) -> bytes:
    """The mirror's ``/``: every cable, oldest first."""
    return _cable_list("Cable mirror: all cables", cables)


def mirror_tag_page(tag: str, cables: Iterable[SampleCable] = SAMPLE_CABLES) -> bytes:
    """The mirror's ``/tag/<TAG>.htm``: the cables filed under ``tag``, oldest first."""
    return _cable_list(f"Cables tagged {tag}", (cable for cable in cables if tag in cable.tags))


def mirror_site_routes(original_base: str | None = None) -> dict[str, Response]:
    """Path -> response for the mirror; ``original_base`` is the originals host its pages link to."""
    routes = {
        "/": ok(mirror_index_page(), HTML, MIRROR_LAST_MODIFIED),
        "/robots.txt": ok(ROBOTS_TXT, "text/plain; charset=utf-8", MIRROR_LAST_MODIFIED),
        STYLESHEET_PATH: ok(STYLESHEET, "text/css; charset=utf-8", MIRROR_LAST_MODIFIED),
    }
    for cable in SAMPLE_CABLES:
        page = mirror_cable_page(cable, original_base)
        routes[cable_path(cable.id)] = ok(page, HTML, MIRROR_LAST_MODIFIED)
    for tag in sorted({tag for cable in SAMPLE_CABLES for tag in cable.tags}):
        routes[tag_path(tag)] = ok(mirror_tag_page(tag), HTML, MIRROR_LAST_MODIFIED)
    return routes


class MirrorSiteHandler(SampleSiteHandler):
    """The cable site's handler (keep-alive, no Nagle, silent, validators) under its own name."""

    server_version = "cablemirror/1"


class MirrorSiteServer(SampleSiteServer):
    """The mirror's host; ``routes`` is filled in before it serves."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address)
        self.RequestHandlerClass = MirrorSiteHandler


@contextmanager
def serve_mirror_site(
    host: str = "127.0.0.4",
    port: int = 0,
    *,
    original_base: str | None = None,
) -> Iterator[MirrorSite]:
    """Serve the mirror from a background thread until the block ends.

    Port 0 lets the OS choose. With ``original_base`` (e.g. a running sample site's
    ``original_base``) each cable page links its original there. Raises OSError when the
    address cannot be bound.
    """
    with ExitStack() as stack:
        server = MirrorSiteServer((host, port))
        stack.callback(server.server_close)
        server.routes = mirror_site_routes(original_base)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"mirror-site {server.base_url}",
            daemon=True,
        )
        thread.start()
        stack.callback(thread.join)
        stack.callback(server.shutdown)
        yield MirrorSite(base=server.base_url)
