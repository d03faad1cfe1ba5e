"""A deliberately misbehaving HTTP server on loopback, one endpoint per way a server goes wrong.

Raw sockets, not http.server, so it can send what no well-behaved server would: a malformed
status line, a Content-Length that lies, a body that never ends. Every endless response stops
by itself after ``ENDLESS_LIMIT`` bytes or when the client goes away.
"""

from __future__ import annotations

import zlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ENDLESS_LIMIT = 64 * 1024 * 1024


def _bomb(expanded: int) -> bytes:
    """A gzip body that expands to ``expanded`` bytes of HTML, made without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"<html><body>")]
    block = b" " * (1024 * 1024)
    for _ in range(expanded // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b"</body></html>"))
    parts.append(compressor.flush())
    return b"".join(parts)


BOMB = _bomb(200 * 1024 * 1024)
CYRILLIC_PAGE = (
    "<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1251'>"
    "<title>Телеграмма</title></head><body><p>Посольство США в Алматы</p>"
    "<a href='/from-cp1251'>дальше</a></body></html>"
).encode("windows-1251")


@dataclass
class Misbehaving:
    host: str
    port: int
    hits: dict[str, list[float]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


def _head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _respond(conn: socket.socket, path: str, server: Misbehaving) -> bool:
    """Answer one request; False when the connection must close."""
    server.hits.setdefault(path, []).append(time.monotonic())
    count = len(server.hits[path])
    html = [("Content-Type", "text/html; charset=utf-8")]
    if path == "/ok":
        body = b"<html><body>fine</body></html>"
        conn.sendall(_head("200 OK", html + [("Content-Length", str(len(body)))]) + body)
    elif path == "/robots.txt":
        conn.sendall(_head("404 Not Found", [("Content-Length", "0")]))
    elif path == "/truncated":
        conn.sendall(_head("200 OK", html + [("Content-Length", "5000")]) + b"<html>only the start")
        return False
    elif path == "/length-short":  # Content-Length smaller than the body: the rest is garbage
        conn.sendall(_head("200 OK", html + [("Content-Length", "10"), ("Connection", "close")]) + b"0123456789EXTRA BYTES")
        return False
    elif path == "/redirect-loop-a":
        conn.sendall(_head("302 Found", [("Location", "/redirect-loop-b"), ("Content-Length", "0")]))
    elif path == "/redirect-loop-b":
        conn.sendall(_head("302 Found", [("Location", "/redirect-loop-a"), ("Content-Length", "0")]))
    elif path == "/drip":
        conn.sendall(_head("200 OK", html + [("Content-Length", "1000")]))
        for _ in range(1000):
            time.sleep(0.05)
            conn.sendall(b".")
        return False
    elif path == "/endless":
        conn.sendall(_head("200 OK", html))
        sent = 0
        chunk = b"x" * 65536
        while sent < ENDLESS_LIMIT:
            conn.sendall(chunk)
            sent += len(chunk)
        return False
    elif path == "/bomb":
        conn.sendall(_head("200 OK", html + [("Content-Encoding", "gzip"), ("Content-Length", str(len(BOMB)))]) + BOMB)
    elif path == "/bad-status":
        conn.sendall(b"HTTP/1.1 OK-ish maybe\r\nthis is not a header\r\n\r\nbody")
        return False
    elif path == "/cp1251":
        conn.sendall(_head("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(CYRILLIC_PAGE)))]) + CYRILLIC_PAGE)
    elif path == "/429":
        if count == 1:
            conn.sendall(_head("429 Too Many Requests", [("Retry-After", "1"), ("Content-Length", "0")]))
        else:
            body = b"<html>now ok</html>"
            conn.sendall(_head("200 OK", html + [("Content-Length", str(len(body)))]) + body)
    elif path == "/503-then-200":
        if count == 1:
            conn.sendall(_head("503 Service Unavailable", [("Content-Length", "0")]))
        else:
            body = b"<html>recovered</html>"
            conn.sendall(_head("200 OK", html + [("Content-Length", str(len(body)))]) + body)
    elif path == "/to-blocked":
        conn.sendall(_head("302 Found", [("Location", "http://127.0.0.1:9/admin"), ("Content-Length", "0")]))
    else:
        conn.sendall(_head("404 Not Found", [("Content-Length", "0")]))
    return True


def _serve_connection(conn: socket.socket, server: Misbehaving) -> None:
    buffer = b""
    with conn:
        conn.settimeout(10)
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
                if not _respond(conn, path, server):
                    return
        except OSError:
            return


@contextmanager
def serve_misbehaving(host: str = "127.0.0.1") -> Iterator[Misbehaving]:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(64)
    listener.settimeout(0.2)
    server = Misbehaving(host, listener.getsockname()[1])
    stopping = threading.Event()

    def accept_loop() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=_serve_connection, args=(conn, server), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join(2)
        listener.close()
