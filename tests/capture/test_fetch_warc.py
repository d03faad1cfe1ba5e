"""The fetcher's bounds and the WARC writer's crash safety, against a misbehaving local server."""

from __future__ import annotations

import gzip
import io
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from cablekeep.errors import FetchError
from cablekeep.capture.fetch import AddressGuard, Fetcher
from cablekeep.capture.warc import OPEN_SUFFIX, WarcWriter, trim_open_file


class Misbehaving(http.server.BaseHTTPRequestHandler):
    def date_time_string(self, timestamp: float | None = None) -> str:
        # one Date for every response: two fetches of a page compared record by record must not
        # differ because a second ticked between them
        return "Tue, 04 Oct 2011 01:02:03 GMT"

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/big":
            body = b"x" * 50_000
            self._send(200, body)
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                try:
                    self.wfile.write(b"d")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
        elif self.path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"only this")
            self.close_connection = True
        elif self.path == "/gzip":
            body = gzip.compress(b"<html>hello</html>")
            self._send(200, body, [("Content-Encoding", "gzip"), ("Content-Type", "text/html")])
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/echo":  # the request's header lines as received, in order
            self._send(200, str(self.headers).encode("iso-8859-1"))
        else:
            self._send(404, b"no")

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up on purpose (deadline, max_bytes) is not news


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), Misbehaving)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def fetcher(**kwargs: object) -> Fetcher:
    options: dict[str, object] = {"user_agent": "test", "timeout": 5.0, "max_bytes": 10**6,
                                  "guard": AddressGuard(allow_private=True)}
    options.update(kwargs)
    return Fetcher(**options)  # type: ignore[arg-type]


def test_max_bytes_cuts_and_marks_length(server: str) -> None:
    with fetcher(max_bytes=1000).fetch(server + "/big") as exchange:
        assert exchange.truncated == "length"
        assert exchange.body_length == 1000


def test_deadline_is_for_the_whole_response(server: str) -> None:
    started = time.monotonic()
    with fetcher(timeout=0.5).fetch(server + "/drip") as exchange:
        assert time.monotonic() - started < 2.0
        assert exchange.truncated == "time"
        assert 0 < exchange.body_length < 100


def test_short_body_is_a_disconnect(server: str) -> None:
    with fetcher().fetch(server + "/short") as exchange:
        assert exchange.truncated == "disconnect"
        assert exchange.read_body(100) == b"only this"


def test_body_kept_as_sent(server: str) -> None:
    with fetcher().fetch(server + "/gzip") as exchange:
        assert exchange.header("Content-Encoding") == "gzip"
        assert gzip.decompress(exchange.read_body(10_000)) == b"<html>hello</html>"


def test_guard_refuses_loopback_unless_allowed(server: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher(guard=AddressGuard()).fetch(server + "/big")
    assert caught.value.reason == "blocked-address"
    with fetcher(guard=AddressGuard(allow_hosts=frozenset({"127.0.0.1"}))).fetch(server + "/big") as exchange:
        assert exchange.status == 200


def test_refused(server: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetcher().fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.reason == "refused"


def _writer(tmp_path: Path, **kwargs: object) -> WarcWriter:
    return WarcWriter(tmp_path, prefix="t", max_size=10**9, warcinfo={"operator": "test"}, **kwargs)  # type: ignore[arg-type]


def test_truncated_and_chunked_records_read_back(server: str, tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    f = fetcher(max_bytes=1000)
    for path in ("/big", "/chunked", "/short"):
        with f.fetch(server + path) as exchange:
            writer.write_exchange(exchange)
    [final] = writer.close()
    found = {}
    with open(final, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise"):
            if record.rec_type == "response":
                body = record.content_stream().read()
                found[record.rec_headers.get_header("WARC-Target-URI").rsplit("/", 1)[1]] = (
                    record.rec_headers.get_header("WARC-Truncated"), body)
    assert found["big"] == ("length", b"x" * 1000)
    assert found["chunked"] == (None, b"hello world")
    assert found["short"] == ("disconnect", b"only this")


def test_open_until_closed_and_trim_to_commit_point(server: str, tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    f = fetcher()
    with f.fetch(server + "/big") as exchange:
        writer.write_exchange(exchange)
    name, committed = writer.commit_point()  # type: ignore[misc]
    assert name.endswith(".warc.gz" + OPEN_SUFFIX)
    assert not list(tmp_path.glob("*.warc.gz")), "nothing looks finished while open"
    with f.fetch(server + "/gzip") as exchange:
        writer.write_exchange(exchange)  # written, never committed: the "crash" comes first
    final = writer.close_file()
    assert final is not None
    open_path = final.rename(tmp_path / name)  # as the crash would have left it
    with open(open_path, "ab") as handle:  # and a torn record at the end
        handle.write(b"\x1f\x8b\x08\x00garbage")
    trim_open_file(open_path, committed)
    with open(open_path, "rb") as handle:
        types = [r.rec_type for r in ArchiveIterator(handle, check_digests="raise")]
    assert types == ["warcinfo", "response", "request"]


def test_ids_and_clock_are_parameters(server: str, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    ids = iter(f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(100))
    fixed = datetime(2011, 10, 4, tzinfo=timezone.utc)
    writer = _writer(tmp_path, clock=lambda: fixed, make_id=lambda: next(ids))
    with fetcher(clock=lambda: fixed).fetch(server + "/big") as exchange:
        request, response = writer.write_exchange(exchange)
    [final] = writer.close()
    assert final.name == "t-20111004000000-00001.warc.gz"
    assert response.record_id.endswith("000000000001>")
    with open(final, "rb") as handle:
        dates = {r.rec_headers.get_header("WARC-Date") for r in ArchiveIterator(handle)}
    assert dates == {"2011-10-04T00:00:00Z"}


def _records(path: Path) -> list[tuple[str, dict[str, str], bytes]]:
    with open(path, "rb") as handle:
        return [
            (r.rec_type, dict(r.rec_headers.headers), (r.http_headers.to_bytes() if r.http_headers else b"") + r.raw_stream.read())
            for r in ArchiveIterator(handle, check_digests="raise")
        ]


@pytest.mark.parametrize("path", ["/big", "/chunked", "/short", "/gzip"])
def test_prepared_records_match_warcios(server: str, tmp_path: Path, path: str) -> None:
    """The hot path formats a fetch's records itself; warcio reads them back (digests checked)
    with the same headers, HTTP head and body as the records warcio's own builder writes."""
    from datetime import datetime, timezone

    fixed = datetime(2011, 10, 4, 1, 2, 3, 456789, tzinfo=timezone.utc)
    written = {}
    for how in ("warcio", "prepared"):
        ids = iter(f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(100))
        writer = _writer(tmp_path / how, clock=lambda: fixed, make_id=lambda: next(ids))
        with fetcher(max_bytes=1000, clock=lambda: fixed).fetch(server + path) as exchange:
            if how == "warcio":
                request, response = writer.write_exchange(exchange)
            else:
                prepared = writer.prepare_exchange(exchange)
                request, response = writer.write_prepared(exchange, prepared)
                prepared.close()
        assert (request.record_type, response.record_type) == ("request", "response")
        [final] = writer.close()
        written[how] = _records(final)
    assert [r[0] for r in written["prepared"]] == ["warcinfo", "response", "request"]
    response, request = (headers for _, headers, _ in written["prepared"][1:])
    assert response["WARC-Concurrent-To"] == request["WARC-Record-ID"]
    assert request["WARC-Concurrent-To"] == response["WARC-Record-ID"]
    ids = ("WARC-Record-ID", "WARC-Concurrent-To")  # drawn in another order: warcinfo came first there
    for (kind, mine, block), (theirs_kind, theirs, theirs_block) in zip(written["prepared"][1:], written["warcio"][1:]):
        assert kind == theirs_kind
        assert {k: v for k, v in mine.items() if k not in ids} == {k: v for k, v in theirs.items() if k not in ids}
        assert block == theirs_block


def test_prepared_records_refuse_a_line_break_in_a_header(server: str, tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    with fetcher().fetch(server + "/big") as exchange:
        exchange.ip_address = "127.0.0.1\r\nWARC-Type: forged"
        with pytest.raises(ValueError, match="line break"):
            writer.prepare_exchange(exchange)


def test_prepared_records_refuse_a_body_shorter_than_recorded(server: str, tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    with fetcher().fetch(server + "/big") as exchange:
        exchange.body_length += 10
        with pytest.raises(ValueError, match="ended 10 bytes before"):
            writer.prepare_exchange(exchange)


def test_request_recorded_as_sent_with_extra_headers_replacing_without_case(server: str) -> None:
    """The request head in the record holds the header lines the server received (Host first), one of
    each name: an extra header replaces a default one whatever its case."""
    extra = [("accept-encoding", "identity"), ("If-None-Match", '"v1"')]
    with fetcher().fetch(server + "/echo", extra) as exchange:
        received = exchange.body.read().decode("iso-8859-1").strip().splitlines()
        head = exchange.request_head.decode("iso-8859-1").strip().split("\r\n")
    assert head[0] == "GET /echo HTTP/1.1"
    assert head[1] == f"Host: {server.removeprefix('http://')}"
    assert sorted(head[1:]) == sorted(line for line in received if line)
    names = [line.split(":", 1)[0].lower() for line in head[1:]]
    assert sorted(names) == sorted(set(names))
    assert "accept-encoding: identity" in head and 'If-None-Match: "v1"' in head
    assert "User-Agent: test" in head


def test_credentials_in_the_url_are_sent_as_before(server: str) -> None:
    """user:password in a URL becomes Basic authorization, as requests' preparation made it."""
    with fetcher().fetch(server.replace("http://", "http://user:pw@") + "/echo") as exchange:
        received = exchange.body.read().decode("iso-8859-1")
        head = exchange.request_head.decode("iso-8859-1")
    assert "Authorization: Basic dXNlcjpwdw==" in received.splitlines()
    assert "Authorization: Basic dXNlcjpwdw==\r\n" in head and "user:pw" not in head


def test_netrc_credentials_are_never_sent(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archival crawler sends no credentials from the operator's ~/.netrc to the sites it archives."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login operator password secret\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with fetcher().fetch(server + "/big") as exchange:
        assert exchange.status == 200
        assert b"authorization" not in exchange.request_head.lower()


def test_a_long_body_moves_to_a_file_whole(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cablekeep.capture import fetch

    monkeypatch.setattr(fetch, "SPOOL_MAX", 1000)
    writer = _writer(tmp_path)
    with fetcher().fetch(server + "/big") as exchange:
        assert not isinstance(exchange.body, io.BytesIO)  # past 1,000 bytes it went to a temporary file
        assert exchange.read_body(10**6) == b"x" * 50_000
        prepared = writer.prepare_exchange(exchange)
        writer.write_prepared(exchange, prepared)
        prepared.close()
    [final] = writer.close()
    bodies = [body for kind, _, body in _records(final) if kind == "response"]
    assert len(bodies) == 1 and bodies[0].endswith(b"\r\n\r\n" + b"x" * 50_000)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/cable/05ALMATY2503",
    "https://example.org/a/b?x=1&y=2",
    "http://example.org/p;params?q=a:b@c/d?e",
    "http://example.org/~user/(1)!$'*+,=",
    "http://example.org/",
    # not in prepared form: requests' own preparation runs
    "http://Example.ORG/a",
    "http://example.org/a%41%2fb",
    "http://example.org/a b",
    "http://example.org/a?",
    "http://user:pw@example.org/a",
    "http://example.org/caf\u00e9",
    "http://b\u00fccher.example/",
    "http://example.org/a#frag",
    "http://[::1]:8080/a",
    "http://example.org/b/../c",
    "http://example.org/./b",
    "http://example.org/b/..",
    "http://example.org/p;x=1/..",
    "http://example.org:080/x",
    "http://example.org:00000/x",
    "http://.example.org/x",
    "http://example..org/x",
])
def test_prepared_get_is_what_requests_prepares(url: str) -> None:
    import requests

    from cablekeep.capture.fetch import prepare_get

    headers = {"User-Agent": "test", "Accept": "*/*"}

    def prepared(prepare: Callable[[], requests.PreparedRequest]) -> tuple[object, ...]:
        try:
            request = prepare()
        except requests.exceptions.RequestException as exc:
            return (type(exc),)
        return (request.method, request.url, dict(request.headers), request.body)

    def theirs() -> requests.PreparedRequest:
        request = requests.PreparedRequest()
        request.prepare(method="GET", url=url, headers=headers)
        return request

    assert prepared(lambda: prepare_get(url, headers)) == prepared(theirs)
