"""The sample site's two HTTP servers on loopback: the cable site and the originals host.

Every body is rendered once when the servers start; a request is a dictionary look-up. Responses are
HTTP/1.1 with keep-alive, ``Content-Length``, a ``Content-Type`` (with charset for text), and for
each 200 a fixed ``Last-Modified`` and a strong ``ETag`` (SHA-256 of the body); ``If-None-Match``
(and, without it, ``If-Modified-Since``) answers 304. Unknown paths answer 404 with a small HTML
body. Nothing is logged or printed.
"""

from __future__ import annotations

import hashlib
import html
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import cast
from urllib.parse import urlsplit

from .cables import (
    CABLE_ROBOTS_TXT,
    CABLES_BY_ID,
    MOVED_IDS,
    ORIGINAL_ROBOTS_TXT,
    REDIRECTED_DOCUMENTS,
    SAMPLE_CABLES,
    SOFT_404_IDS,
    cable_page,
    document_page,
    index_page,
    iter_documents,
    iter_private_pages,
    original_page,
    original_path,
    private_page,
    soft_404_page,
)

HTML = "text/html; charset=utf-8"
# Fixed dates, so that captures of the site compare byte for byte across runs.
SITE_LAST_MODIFIED = datetime(2011, 10, 4, 9, 0, 0, tzinfo=timezone.utc)  # the cablebrowser-2 release
ORIGINAL_LAST_MODIFIED = datetime(2011, 8, 30, 1, 44, 0, tzinfo=timezone.utc)  # the originals' release
STATIC_FILES = {
    "/static/cablebrowser.css": ("cablebrowser.css", "text/css; charset=utf-8"),
    "/static/cablebrowser.js": ("cablebrowser.js", "text/javascript; charset=utf-8"),
    "/static/logo.png": ("logo.png", "image/png"),
    "/favicon.ico": ("favicon.ico", "image/vnd.microsoft.icon"),
}
_POLL_INTERVAL = 0.05  # seconds; how long shutdown() may wait for serve_forever to notice


@dataclass(frozen=True)
class SampleSite:
    """Base URLs of a running sample site: the cable site and the originals ("Wikileaks.org") host."""

    cable_base: str  # e.g. "http://127.0.0.1:43567"
    original_base: str  # e.g. "http://127.0.0.2:39121"

    def cable_url(self, cable_id: str) -> str:
        return f"{self.cable_base}/cable/{cable_id}"

    def original_url(self, cable_id: str) -> str | None:
        """URL of the cable's original (it may be one of the missing ones); None for IDs the site
        has no cable for."""
        cable = CABLES_BY_ID.get(cable_id)
        return None if cable is None else self.original_base + original_path(cable)


@dataclass(frozen=True)
class Response:
    """A pre-rendered response."""

    status: HTTPStatus
    body: bytes
    content_type: str = HTML
    location: str | None = None
    last_modified: datetime | None = None
    etag: str | None = None


def ok(body: bytes, content_type: str, last_modified: datetime) -> Response:
    """A 200 with a fixed ``Last-Modified`` and a strong ETag made from the body."""
    etag = '"' + hashlib.sha256(body).hexdigest() + '"'
    return Response(HTTPStatus.OK, body, content_type, last_modified=last_modified, etag=etag)


def redirect(status: HTTPStatus, location: str) -> Response:
    href = html.escape(location, quote=True)
    body = f'<html><body><p>Moved to <a href="{href}">{href}</a></p></body></html>\n'.encode()
    return Response(status, body, location=location)


def not_found(path: str) -> Response:
    body = f"<html><body><h1>404 Not Found</h1><p>{html.escape(path)}</p></body></html>\n"
    return Response(HTTPStatus.NOT_FOUND, body.encode("utf-8"))


def cable_site_routes(site: SampleSite) -> dict[str, Response]:
    """Path -> response for the cable site."""
    routes = {
        "/": ok(index_page(), HTML, SITE_LAST_MODIFIED),
        "/robots.txt": ok(CABLE_ROBOTS_TXT, "text/plain; charset=utf-8", SITE_LAST_MODIFIED),
    }
    static = files("cablekeep.sample_site").joinpath("static")
    for path, (name, content_type) in STATIC_FILES.items():
        routes[path] = ok(static.joinpath(name).read_bytes(), content_type, SITE_LAST_MODIFIED)
    for cable in SAMPLE_CABLES:
        routes[f"/cable/{cable.id}"] = ok(cable_page(cable, site.original_base), HTML, SITE_LAST_MODIFIED)
    for old, new in MOVED_IDS.items():
        routes[f"/cable/{old}"] = redirect(HTTPStatus.MOVED_PERMANENTLY, site.cable_url(new))
    for cable_id in SOFT_404_IDS:
        routes[f"/cable/{cable_id}"] = ok(soft_404_page(cable_id), HTML, SITE_LAST_MODIFIED)
    for path, title in iter_private_pages():
        routes[path] = ok(private_page(title), HTML, SITE_LAST_MODIFIED)
    return routes


def original_site_routes(site: SampleSite) -> dict[str, Response]:
    """Path -> response for the originals host; missing originals and gone documents are 404s."""
    routes = {"/robots.txt": ok(ORIGINAL_ROBOTS_TXT, "text/plain; charset=utf-8", ORIGINAL_LAST_MODIFIED)}
    for cable in SAMPLE_CABLES:
        if cable.original == "ok":
            routes[original_path(cable)] = ok(original_page(cable), HTML, ORIGINAL_LAST_MODIFIED)
    for path, title in iter_documents():
        routes[path] = ok(document_page(title), HTML, ORIGINAL_LAST_MODIFIED)
    for old, new in REDIRECTED_DOCUMENTS.items():
        routes[old] = redirect(HTTPStatus.FOUND, site.original_base + new)
    return routes


class SampleSiteServer(ThreadingHTTPServer):
    """One host of the sample site; ``routes`` is filled in before it serves."""

    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, SampleSiteHandler)
        self.routes: Mapping[str, Response] = {}

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SampleSiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # without it each keep-alive response stalls ~40 ms
    server_version = "cablebrowser/2"
    timeout = 60  # seconds an idle keep-alive connection keeps its thread

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Silent: the sample site logs nothing."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        server = cast(SampleSiteServer, self.server)
        path = urlsplit(self.path).path
        response = server.routes.get(path)
        if response is None:
            response = not_found(path)
        if response.status == HTTPStatus.OK and self._not_modified(response):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self._send_validators(response)
            self.end_headers()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.location is not None:
            self.send_header("Location", response.location)
        self._send_validators(response)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def _send_validators(self, response: Response) -> None:
        if response.last_modified is not None:
            self.send_header("Last-Modified", format_datetime(response.last_modified, usegmt=True))
        if response.etag is not None:
            self.send_header("ETag", response.etag)

    def _not_modified(self, response: Response) -> bool:
        """RFC 9110 section 13.2.2: If-None-Match (weak comparison) wins over If-Modified-Since."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
            return "*" in tags or response.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None or response.last_modified is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unparseable date is ignored, as the RFC says
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return response.last_modified <= since


@contextmanager
def serve_sample_site(
    cable_host: str = "127.0.0.1",
    cable_port: int = 0,
    original_host: str = "127.0.0.2",
    original_port: int = 0,
) -> Iterator[SampleSite]:
    """Serve the cable site and the originals host from background threads until the block ends.

    Port 0 lets the OS choose. Raises OSError when an address cannot be bound.
    """
    with ExitStack() as stack:
        cable_server = SampleSiteServer((cable_host, cable_port))
        stack.callback(cable_server.server_close)
        original_server = SampleSiteServer((original_host, original_port))
        stack.callback(original_server.server_close)
        site = SampleSite(cable_base=cable_server.base_url, original_base=original_server.base_url)
        cable_server.routes = cable_site_routes(site)
        original_server.routes = original_site_routes(site)
        for server in (cable_server, original_server):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"sample-site {server.base_url}",
                daemon=True,
            )
            thread.start()
            stack.callback(thread.join)
            stack.callback(server.shutdown)
        yield site
