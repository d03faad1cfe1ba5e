"""Twenty hosts on loopback (127.0.0.1 .. 127.0.0.20, each its own port) linking to each other.

Host h's home page links to five pages of its own (``/p/0`` .. ``/p/4``) and to ``/x/h`` on host
h+1; each ``/p/k`` links to ``/q/h-k`` on host h+3. The ``/x/`` and ``/q/`` pages are found only
on another host's pages, so a crawl sharded by host reaches them only through hand-offs. Every body
is distinct (no revisits). ``delay`` slows every answer down (the kill test's window).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTS = 20
PAGES = 5


@dataclass
class Hosts:
    bases: list[str]  # http://127.0.0.h:port, h = 1 .. HOSTS
    delay: float = 0.0

    def expected_urls(self) -> set[str]:
        """Every page URL a crawl of the homes at depth 2 captures (robots.txt aside)."""
        urls = set()
        for h, base in enumerate(self.bases):
            urls.add(base + "/")
            urls.update(f"{base}/p/{k}" for k in range(PAGES))
            urls.add(f"{self.bases[(h + 1) % HOSTS]}/x/{h}")
            urls.update(f"{self.bases[(h + 3) % HOSTS]}/q/{h}-{k}" for k in range(PAGES))
        return urls


def _handler(hosts: Hosts, h: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            pass

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if hosts.delay:
                threading.Event().wait(hosts.delay)
            path = self.path
            links: list[str] = []
            if path == "/robots.txt":
                self._send(404, b"", "text/plain")
                return
            if path == "/":
                links = [f"/p/{k}" for k in range(PAGES)] + [f"{hosts.bases[(h + 1) % HOSTS]}/x/{h}"]
            elif path.startswith("/p/"):
                links = [f"{hosts.bases[(h + 3) % HOSTS]}/q/{h}-{path[3:]}"]
            elif not path.startswith(("/x/", "/q/")):
                self._send(404, b"not here", "text/plain")
                return
            anchors = "".join(f'<a href="{link}">{link}</a>\n' for link in links)
            body = f"<html><body><h1>host {h} {path}</h1>\n{anchors}</body></html>\n".encode()
            self._send(200, body, "text/html")

        def _send(self, status: int, body: bytes, mime: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_hosts(delay: float = 0.0) -> Iterator[Hosts]:
    hosts = Hosts([], delay)
    servers = []
    try:
        for h in range(HOSTS):
            server = ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), _handler(hosts, h))
            server.daemon_threads = True
            servers.append(server)
            hosts.bases.append(f"http://127.0.0.{h + 1}:{server.server_address[1]}")
            threading.Thread(target=server.serve_forever, daemon=True).start()
        yield hosts
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def manifest_text(hosts: Hosts, output: str, collection: str = "hosts", extra: str = "") -> str:
    seeds = "".join(f"  - url: {base}/\n" for base in hosts.bases)
    return (
        f"cablekeep: 1\ncollection: {collection}\nseeds:\n{seeds}"
        "follow: {depth: 2}\n"
        "fetch: {per_host_delay: 0, concurrency: 4, allow_private: true, retries: 0, timeout: 10}\n"
        f"bag: {{output: '{output}'}}\n{extra}"
    )
