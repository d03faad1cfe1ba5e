"""Servers on 127.0.0.1 for the schedule tests: a small site whose pages can be slowed down, held or
taken away, a webhook receiver that can fail on purpose, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Page:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0  # seconds before answering
    content_type: str = "text/html; charset=utf-8"


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, str, bytes]] = []  # (method, path, body)
        self.lock = threading.Lock()
        self.fail_next = 0  # answer this many POSTs with 500 first
        self.release = threading.Event()  # a page with delay < 0 waits for this

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client killed mid-answer (the SIGKILL test) is expected here

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def posts(self, path: str = "/hook") -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for method, p, body in self.requests if method == "POST" and p == path]

    def gets(self, path: str) -> int:
        with self.lock:
            return sum(1 for method, p, _ in self.requests if method == "GET" and p == path)


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(("GET", self.path, b""))
        page = self.server.pages.get(self.path)
        if page is None:
            self._send(404, b"not found")
            return
        if page.delay < 0:
            self.server.release.wait(60)
        elif page.delay:
            time.sleep(page.delay)
        self._send(page.status, page.body, page.content_type)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            failing = self.server.fail_next > 0
            if failing:
                self.server.fail_next -= 1
            else:
                self.server.requests.append(("POST", self.path, body))
        self._send(500 if failing else 204, b"")


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class MailBox:
    messages: list[tuple[str, list[str], str]] = field(default_factory=list)  # (from, to, the message as text)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (user, password) of each AUTH

    def authenticate(self, server: object, session: object, envelope: object, mechanism: str, auth_data: object) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8")))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[MailBox, int]]:
    """aiosmtpd on 127.0.0.1; with ``tls``, STARTTLS is offered and required before MAIL and AUTH."""
    box = MailBox()
    port = _free_port()
    # without ``tls``, AUTH without TLS: the test server has no certificate (STARTTLS turned off in those manifests)
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
                            auth_require_tls=tls is not None, tls_context=tls, require_starttls=tls is not None)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
