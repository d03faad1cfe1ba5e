"""A loopback site whose pages build their content with scripts, for the browser capture's tests.

Three hosts: the site on 127.0.0.1, a second host on 127.0.0.2 (an iframe's), and a forbidden one on
127.0.0.3 that the crawl's address guard must never let anything reach; every host counts the
requests it gets. The pages live in tests/data/browser_site/.
"""

from __future__ import annotations

import http.server
import threading
from collections import Counter
from pathlib import Path

DATA = Path(__file__).parent / "data" / "browser_site"
PNG = bytes.fromhex(  # a 1x1 transparent PNG
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d605f10000000049454e44ae426082"
)
TEXT = "Text a script fetched and wrote into the page"


class Host:
    """One loopback HTTP server that counts what it is asked for."""

    def __init__(self, address: str, routes: dict[str, tuple[int, str, bytes, dict[str, str]]]) -> None:
        self.routes = routes
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with host.lock:
                    host.requests[self.path] += 1
                path = self.path.split("?")[0]
                status, kind, body, headers = host.routes.get(path, (404, "text/plain", b"not here", {}))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://{address}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def total(self) -> int:
        with self.lock:
            return sum(self.requests.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ScriptSite:
    """The three hosts; ``site.base + "/script-page.html"`` and so on."""

    def __init__(self) -> None:
        self.forbidden = Host("127.0.0.3", {})
        self.frames = Host("127.0.0.2", {
            "/frame.html": (200, "text/html; charset=utf-8", _page("frame.html", self), {}),
            "/frame.css": (200, "text/css", b"p { color: navy; }", {}),
        })
        self.site = Host("127.0.0.1", {})
        self.site.routes.update({
            "/script-page.html": (200, "text/html; charset=utf-8", _page("script-page.html", self), {}),
            "/article.html": (200, "text/html; charset=utf-8", _page("article.html", self), {}),
            "/forbidden.html": (200, "text/html; charset=utf-8", _page("forbidden.html", self), {}),
            "/polling.html": (200, "text/html; charset=utf-8", _page("polling.html", self), {}),
            "/hang.html": (200, "text/html; charset=utf-8", _page("hang.html", self), {}),
            "/css/page.css": (200, "text/css", b"body { font-family: serif; }", {}),
            "/js/app.js": (302, "text/plain", b"", {"Location": "/js/app-v2.js"}),  # a redirecting script URL
            "/js/app-v2.js": (200, "application/javascript", (DATA / "app.js").read_bytes(), {}),
            "/data/text.json": (200, "application/json", ('{"text": "%s"}' % TEXT).encode(), {}),
            "/img/lazy.png": (200, "image/png", PNG, {}),
            "/img/native-lazy.png": (200, "image/png", PNG, {}),
            "/redirect-to-forbidden.js": (302, "text/plain", b"", {"Location": self.forbidden.base + "/from-redirect.js"}),
            "/poll": (200, "application/json", b"{}", {}),
        })

    @property
    def base(self) -> str:
        return self.site.base

    def close(self) -> None:
        for host in (self.site, self.frames, self.forbidden):
            host.close()


def _page(name: str, site: ScriptSite) -> bytes:
    text = (DATA / name).read_text(encoding="utf-8")
    frames = getattr(site, "frames", None)
    text = text.replace("{frame_base}", frames.base if frames is not None else "")
    return text.replace("{forbidden_base}", site.forbidden.base).encode("utf-8")
