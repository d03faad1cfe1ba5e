"""A loopback site whose pages can change, move, vanish or break between checks (tests of the watch wing)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    validators: bool = True  # ETag and Last-Modified on a 200

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def html(title: str, text: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>\n".encode()


@dataclass
class Site:
    """Path -> page; ``missing`` answers every other path. Change them between checks."""

    routes: dict[str, Page] = field(default_factory=dict)
    missing: Page = field(default_factory=lambda: Page(404, html("404 Not Found", "No such page.")))
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.monotonic() of each request, in order
    base: str = ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        site = self.server.site
        path = self.path.split("?")[0]
        site.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
        site.times.append(time.monotonic())
        page = site.routes.get(path, site.missing)
        if page.status == 200 and page.validators and self.headers.get("If-None-Match") == page.etag:
            self.send_response(304)
            self.send_header("ETag", page.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        if page.location:
            self.send_header("Location", page.location)
        if page.status == 200 and page.validators:
            self.send_header("ETag", page.etag)
            self.send_header("Last-Modified", "Tue, 04 Oct 2011 09:00:00 GMT")
        self.end_headers()
        self.wfile.write(page.body)


class Served:
    """A running site; :meth:`stop` closes its port, so it stops answering (connections refused)."""

    def __init__(self, host: str) -> None:
        self.server = _Server((host, 0), _Handler)
        self.site = self.server.site = Site(base=f"http://{host}:{self.server.server_address[1]}")
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[Served]:
    served = Served(host)
    try:
        yield served
    finally:
        served.stop()
