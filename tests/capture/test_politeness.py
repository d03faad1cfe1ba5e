"""Politeness on real loopback hosts: per-host delay, Crawl-delay, host-only backoff; with the
fetches in the crawl's process and in worker processes (``fetch.processes: 2``)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest


@contextmanager
def host(address: str, robots: str = "", slow_429: bool = False) -> Iterator[tuple[str, dict[str, list[float]]]]:
    hits: dict[str, list[float]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hits.setdefault(self.path, []).append(time.monotonic())
            status, body, headers = 200, b"<html><body>page</body></html>", [("Content-Type", "text/html")]
            if self.path == "/robots.txt":
                status, body = (200, robots.encode()) if robots else (404, b"")
            elif slow_429 and len(hits[self.path]) == 1:
                status, body, headers = 429, b"", [("Retry-After", "2")]
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((address, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{address}:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


def _run(tmp: Path, seeds: list[str], **fetch: object) -> list[dict[str, object]]:
    options = {"per_host_delay": 0, "allow_private": True, "retries": 2, "concurrency": 4}
    options.update(fetch)
    manifest = tmp / "m.yaml"
    manifest.write_text(json.dumps({
        "cablekeep": 1, "collection": "polite", "seeds": [{"url": s} for s in seeds],
        "follow": {"depth": 0}, "fetch": options, "bag": {"output": str(tmp / "bags")},
    }), encoding="utf-8")
    summary = run_manifest(load_manifest(manifest))
    assert summary.report.ok
    return [json.loads(line) for line in (summary.bag.path / "data" / "crawl-log.jsonl").read_text().splitlines()]


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


@pytest.mark.parametrize("processes", [1, 2])
def test_per_host_delay_and_one_request_at_a_time(tmp_path: Path, processes: int) -> None:
    with host("127.0.0.7") as (base, hits):
        _run(tmp_path, [f"{base}/p{i}" for i in range(6)], per_host_delay=0.2, processes=processes)
    starts = sorted(t for path, times in hits.items() if path.startswith("/p") for t in times)
    assert len(starts) == 6
    assert min(_gaps(starts)) >= 0.19


@pytest.mark.parametrize("processes", [1, 2])
def test_robots_crawl_delay_raises_the_delay(tmp_path: Path, processes: int) -> None:
    with host("127.0.0.8", robots="User-agent: *\nCrawl-delay: 0.5\nDisallow: /secret\n") as (base, hits):
        log = _run(tmp_path, [f"{base}/p{i}" for i in range(4)] + [f"{base}/secret"], per_host_delay=0.05, processes=processes)
    starts = sorted(t for path, times in hits.items() if path.startswith("/p") for t in times)
    assert min(_gaps(starts)) >= 0.45
    assert "/secret" not in hits
    assert [e["outcome"] for e in log if str(e["url"]).endswith("/secret")] == ["robots"]
    assert len(hits["/robots.txt"]) == 1


@pytest.mark.parametrize("processes", [1, 2])
def test_429_backs_off_only_that_host(tmp_path: Path, processes: int) -> None:
    with host("127.0.0.9", slow_429=True) as (slow, slow_hits), host("127.0.0.10") as (fast, fast_hits):
        log = _run(tmp_path, [f"{slow}/a"] + [f"{fast}/p{i}" for i in range(5)], per_host_delay=0.1, processes=processes)
    first, second = slow_hits["/a"]
    assert second - first >= 1.9  # Retry-After: 2
    fast_times = sorted(t for path, times in fast_hits.items() if path.startswith("/p") for t in times)
    assert sum(1 for t in fast_times if first < t < second) >= 4, "the other host waited too"
    entry = next(e for e in log if str(e["url"]).endswith("/a"))
    assert entry["outcome"] == "ok" and entry["attempts"] == 2
