"""A request that gets no response is told in a sentence a person understands, on real loopback
endpoints: a closed port, a server that closes at once, one that resets, one that never answers, a
name that does not resolve, a TLS server whose certificate is not trusted."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cablekeep.capture.fetch import AddressGuard, Fetcher
from cablekeep.errors import FetchError


def _fetch_error(url: str, timeout: float = 5.0) -> FetchError:
    fetcher = Fetcher(user_agent="t", timeout=timeout, max_bytes=10_000, guard=AddressGuard(allow_private=True))
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(url)
    finally:
        fetcher.close()
    assert "HTTPConnectionPool" not in caught.value.detail and "Max retries" not in caught.value.detail
    return caught.value


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


def _serve(sock: socket.socket, behaviour: str, stop: threading.Event) -> None:
    held: list[socket.socket] = []
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except (TimeoutError, OSError):
            continue
        if behaviour == "close":
            conn.close()
        elif behaviour == "reset":
            conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()
        else:  # silent
            held.append(conn)
    for conn in held:
        conn.close()


def _with_server(listener: socket.socket, behaviour: str, timeout: float = 5.0) -> FetchError:
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, behaviour, stop), daemon=True)
    thread.start()
    try:
        return _fetch_error(f"http://127.0.0.1:{listener.getsockname()[1]}/page", timeout)
    finally:
        stop.set()
        thread.join()


def test_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = _fetch_error(f"http://127.0.0.1:{port}/")
    assert (error.reason, error.detail) == ("refused", f"connection refused by 127.0.0.1:{port}")


def test_server_that_closes(listener: socket.socket) -> None:
    error = _with_server(listener, "close")
    port = listener.getsockname()[1]
    assert error.reason == "bad-response"
    assert error.detail in (f"127.0.0.1:{port} closed the connection without a response",
                            f"connection reset by 127.0.0.1:{port} before a complete response")


def test_server_that_resets(listener: socket.socket) -> None:
    error = _with_server(listener, "reset")
    assert error.reason == "bad-response"
    assert error.detail == f"connection reset by 127.0.0.1:{listener.getsockname()[1]} before a complete response"


def test_server_that_never_answers(listener: socket.socket) -> None:
    error = _with_server(listener, "silent", timeout=0.5)
    assert (error.reason, error.detail) == (
        "timeout", f"no complete response from 127.0.0.1:{listener.getsockname()[1]} within 0.5 s")


def test_name_that_does_not_resolve() -> None:
    error = _fetch_error("http://nowhere.invalid/")
    assert error.reason == "dns"
    assert error.detail.startswith("cannot resolve nowhere.invalid")


def test_untrusted_certificate_names_the_host_and_sends_its_name(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                           "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate here: {made.stderr.decode(errors='replace')}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        port = sock.getsockname()[1]

        def serve() -> None:
            conn, _ = sock.accept()
            try:
                context.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        error = _fetch_error(f"https://localhost:{port}/")
        thread.join(10)
    assert error.detail.startswith("TLS handshake with localhost failed: certificate not accepted (")
    assert "certificate" in error.detail
    assert names == ["localhost"]  # the name from the URL, though the connection went to the checked address
