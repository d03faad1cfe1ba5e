"""Odd URLs in links and redirects (IPv6 literals, ports out of range or not numbers, broken
brackets, zone ids) are logged as ``invalid-url`` with their reason, or fetched (or refused by the
address guard) when valid; the crawl never crashes on them, first run or resume."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bagit
import pytest

from cablekeep.capture.canon import InvalidUrlError, host_of, normalise_url, surt_key

from ..conftest import CliResult, run_cli, start_cli

ODD = [
    "http://[::1]:8080/", "http://[::1]/a", "http://[::1", "http://[::1/", "http://[::1]]/", "http://[]/",
    "http://[x]/", "http://[1.2.3.4]/", "http://[v1.x]/", "http://[fe80::1%25eth0]/", "http://[fe80::1%eth0]:80/",
    "http://[fe80::1%25]/", "http://[::ffff:127.0.0.1]/", "http://x:99999/", "http://x:65536/", "http://x:0/",
    "http://x:http/", "http://x:-1/", "http://x:8o/", "http://x:/", "http://:80/", "http:///x", "http://a b/",
    "http://ex\x00ample/", "http://é.com/", "https://[::1]:443/", "http://u@[::1]:1/", "http://x]/", "http://x[/",
    "http://[::1]x/", "http://[::1]:99999/", "http://1.2.3.4:008080/",
]


@pytest.mark.parametrize("url", ODD)
def test_canon_raises_only_its_documented_error(url: str) -> None:
    for function in (normalise_url, surt_key, host_of):
        try:
            value = function(url)
        except InvalidUrlError as exc:
            assert exc.reason and exc.url
        else:
            assert isinstance(value, str)


def test_canon_on_random_authorities() -> None:
    pieces = ["[", "]", ":", "::1", "%25", "%", "eth0", "99999", "http", "80", "x", ".", "@", "fe80::", "1", " ", "/"]
    rng = random.Random(11)
    for _ in range(20000):
        url = "http://" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) + "/p"
        for function in (normalise_url, surt_key, host_of):
            try:
                function(url)
            except InvalidUrlError:
                pass


def test_ipv6_literal_keeps_brackets_and_one_key() -> None:
    assert normalise_url("HTTP://[0:0::1]:80/a#f") == "http://[::1]/a"
    assert surt_key("http://[::1]:8080/a") == surt_key("http://[0::1]:8080/a/") == "[::1]:8080)/a"
    assert host_of("http://[::1]:8080/") == "[::1]:8080"
    assert normalise_url("http://[fe80::1%eth0]/") == "http://[fe80::1%25eth0]/"


def test_invalid_reasons_name_the_fault() -> None:
    with pytest.raises(InvalidUrlError, match="port 99999"):
        normalise_url("http://x:99999/")
    with pytest.raises(InvalidUrlError, match="'http' is not a number"):
        host_of("http://x:http/")
    with pytest.raises(InvalidUrlError, match="IPv6"):
        surt_key("http://[::1/")


# -- a crawl of a site full of odd links and redirects ----------------------------------------


@dataclass
class OddSite:
    base: str
    v6_port: int
    hits: dict[str, int] = field(default_factory=dict)
    slow_started: threading.Event = field(default_factory=threading.Event)
    release_slow: threading.Event = field(default_factory=threading.Event)


def _links(site: OddSite) -> dict[str, str]:
    """Link path on the site -> the odd target its redirect names."""
    v6 = site.v6_port
    return {
        "/r-v6": f"http://[::1]:{v6}/redirected-v6",
        "/r-bigport": "http://127.0.0.1:99999/big",
        "/r-nameport": "http://127.0.0.1:http/name",
        "/r-unclosed": "http://[::1/unclosed",
        "/r-zone": "http://[fe80::1%25eth0]/zone",
        "/r-empty": "http://[]/empty",
    }


def _handler(site: OddSite, v6: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path
            site.hits[("v6" if v6 else "v4") + path] = site.hits.get(path, 0) + 1
            if v6:
                self._send(200, b"<html><body><p>over IPv6</p></body></html>", {})
                return
            redirects = _links(site)
            if path == "/":
                links = [*redirects, f"http://[::1]:{site.v6_port}/linked-v6", "http://127.0.0.1:99999/x",
                         "http://127.0.0.1:http/y", "http://[::1]:70000/z", "http://[fe80::1%25eth0]:8/w",
                         "http://[::ffff:127.0.0.2]/mapped", "/slow"]
                body = "".join(f"<a href='{link}'>{i}</a> " for i, link in enumerate(links))
                self._send(200, f"<html><body><p>odd links</p>{body}</body></html>".encode(), {})
            elif path in redirects:
                self._send(302, b"", {"Location": redirects[path]})
            elif path == "/slow":
                site.slow_started.set()
                site.release_slow.wait(30)
                self._send(200, b"<html><body>slow</body></html>", {})
            elif path == "/robots.txt":
                self._send(404, b"", {})
            else:
                self._send(404, b"no", {})

    return Handler


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture
def odd_site() -> Iterator[OddSite]:
    if not _ipv6_available():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    site = OddSite("", 0)
    v6 = _V6Server(("::1", 0), _handler(site, True))
    v4 = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site, False))
    site.v6_port = v6.server_address[1]
    site.base = f"http://127.0.0.1:{v4.server_address[1]}"
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (v4, v6)]
    for thread in threads:
        thread.start()
    try:
        yield site
    finally:
        site.release_slow.set()
        for server in (v4, v6):
            server.shutdown()
            server.server_close()


def _manifest(tmp: Path, site: OddSite) -> Path:
    path = tmp / "odd.yaml"
    path.write_text(
        "cablekeep: 1\ncollection: odd\n"
        f"seeds: [{{url: '{site.base}/'}}]\n"
        "follow: {depth: 1}\n"
        "fetch: {per_host_delay: 0, retries: 0, timeout: 5, allow_hosts: ['127.0.0.1', '::1']}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    return path


def _run(manifest: Path) -> CliResult:
    return run_cli("run", "--quiet", "--json", str(manifest), timeout=120)


def _check_bag(result: CliResult, site: OddSite) -> None:
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    bag = Path(json.loads(result.stdout)["bag"])
    bagit.Bag(str(bag)).validate()
    log = [json.loads(line) for line in (bag / "data" / "crawl-log.jsonl").read_text("utf-8").splitlines()]
    by_url = {entry["url"]: entry for entry in log}
    v6 = site.v6_port
    invalid = {
        "http://127.0.0.1:99999/x": "99999", "http://127.0.0.1:http/y": "'http'", "http://[::1]:70000/z": "70000",
        "http://127.0.0.1:99999/big": "99999", "http://127.0.0.1:http/name": "'http'",
        "http://[::1/unclosed": "IPv6", "http://[]/empty": "",
    }
    for url, said in invalid.items():
        assert by_url[url]["outcome"] == "invalid-url", (url, by_url.get(url))
        assert said in by_url[url]["reason"]
        assert [e["url"] for e in log].count(url) == 1
    for path in ("/r-bigport", "/r-nameport", "/r-unclosed", "/r-empty"):
        assert "invalid URL" in by_url[site.base + path]["reason"]
    # valid IPv6 literals: fetched when the guard allows ::1, refused where it does not
    assert by_url[f"http://[::1]:{v6}/linked-v6"]["outcome"] == "ok"
    assert by_url[f"http://[::1]:{v6}/redirected-v6"]["outcome"] == "ok"
    assert site.hits.get("v6/linked-v6") and site.hits.get("v6/redirected-v6")
    for url in ("http://[fe80::1%25eth0]/zone", "http://[fe80::1%25eth0]:8/w", "http://[::ffff:7f00:2]/mapped"):
        assert by_url[url]["outcome"] == "blocked-address", by_url[url]


def test_crawl_logs_odd_urls_and_finishes(odd_site: OddSite, tmp_path: Path) -> None:
    odd_site.release_slow.set()
    _check_bag(_run(_manifest(tmp_path, odd_site)), odd_site)


def test_resume_after_kill_goes_past_odd_urls(odd_site: OddSite, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, odd_site)
    process = start_cli("run", "--quiet", "--json", str(manifest),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert odd_site.slow_started.wait(60), "the crawl never reached /slow"
        time.sleep(1.0)  # the odd links of / are judged and committed meanwhile
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    odd_site.release_slow.set()
    _check_bag(_run(manifest), odd_site)
