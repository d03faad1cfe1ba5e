"""Fast loopback HTTP/1.1 test servers for the crawl benchmarks, run in a process of their own.

One asyncio event loop (``asyncio.Protocol``, no external dependencies) listens on the same port on
each of ``127.0.0.1`` .. ``127.0.0.N`` and answers keep-alive GET and HEAD requests:

  /p/<n>.html   0 <= n < pages: a pre-rendered HTML page of exactly ``size`` bytes with
                Content-Length, no links, no requisites (so a crawl of a URL list is exactly the list)
  anything else 404 with a short body (robots.txt included)

Bodies come from a pool of 64 distinct texts made of words (so gzip sees text, not one repeated
page); the page number is written into a fixed-width slot, so a response is three byte strings
joined, with nothing rendered per request.

Run it on its own to profile a crawl against it::

    .venv/bin/python benchmarks/_servers.py --hosts 1 --pages 10000

It prints one JSON line ({"port": ..., "hosts": [...]}) once it is listening, and stops on Ctrl-C,
after ``--lifetime`` seconds, or (with ``--until-stdin-closes``, as the benchmark starts it) when
its standard input closes; then it prints a JSON line with its request count and CPU seconds.

Only 127.0.0.x addresses are ever bound.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import random
import resource
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

POOL = 64
NUMBER_WIDTH = 8
MAX_HEAD = 16 * 1024  # a request head longer than this closes the connection
WORDS = (
    "cable embassy refugee border minister consulate report official statement government "
    "delegation meeting office summary comment action request press release security regional "
    "political economic human rights agreement talks visit ambassador counselor deputy director "
    "camp transfer asylum status decision court hearing witness account protest crowd square "
    "morning evening tuesday thursday province district city village road bridge river market"
).split()


@dataclass
class Site:
    """The pre-rendered responses of the benchmark site."""

    pages: int
    size: int
    requests: int = 0
    heads: list[bytes] = field(default_factory=list)
    bodies: list[tuple[bytes, bytes]] = field(default_factory=list)
    not_found: bytes = b""

    def __post_init__(self) -> None:
        if self.pages >= 10**NUMBER_WIDTH:
            raise ValueError(f"at most {10**NUMBER_WIDTH - 1} pages")
        rng = random.Random(1628)
        for variant in range(POOL):
            self.bodies.append(_page_body(rng, variant, self.size))
        head = (
            "HTTP/1.1 200 OK\r\n"
            "Server: cablekeep-bench\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {self.size}\r\n"
            "\r\n"
        ).encode("ascii")
        self.heads = [head]
        body = b"<html><body><h1>Not found</h1></body></html>\n"
        self.not_found = (
            "HTTP/1.1 404 Not Found\r\n"
            "Server: cablekeep-bench\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        ).encode("ascii") + body

    def respond(self, method: bytes, target: bytes) -> bytes:
        self.requests += 1
        number = _page_number(target)
        if number is None or number >= self.pages:
            response = self.not_found
        else:
            before, after = self.bodies[number % POOL]
            response = self.heads[0] + before + b"%08d" % number + after
        if method == b"HEAD":
            return response[: response.index(b"\r\n\r\n") + 4]
        return response


def _page_number(target: bytes) -> int | None:
    if not (target.startswith(b"/p/") and target.endswith(b".html")):
        return None
    digits = target[3:-5]
    if not digits.isdigit() or len(digits) > NUMBER_WIDTH:
        return None
    return int(digits)


def _page_body(rng: random.Random, variant: int, size: int) -> tuple[bytes, bytes]:
    """One HTML page of exactly ``size`` bytes, split around the slot for the page number."""
    before = b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Benchmark page "
    middle = f"</title></head>\n<body>\n<h1>Report {variant:02d}</h1>\n".encode("ascii")
    end = b"</body></html>\n"
    room = size - len(before) - NUMBER_WIDTH - len(middle) - len(end)
    if room < 16:
        raise ValueError(f"a page needs at least {size - room + 16} bytes")
    text = bytearray()
    while len(text) < room:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18)))
        text += f"<p>{sentence.capitalize()}.</p>\n".encode("ascii")
    text = text[:room]
    text[-1:] = b"\n"
    if b"<" in text[-4:]:  # do not leave a half tag at the cut
        text[-4:] = b"   \n"
    return before, bytes(middle + text + end)


class _Connection(asyncio.Protocol):
    def __init__(self, site: Site) -> None:
        self.site = site
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer = self.buffer + data if self.buffer else data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            head = self.buffer[:end]
            self.buffer = self.buffer[end + 4:]
            request_line, _, headers = head.partition(b"\r\n")
            parts = request_line.split(b" ")
            if len(parts) != 3:
                self.transport.write(self.site.not_found)
                self.transport.close()
                return
            method, target, version = parts
            self.transport.write(self.site.respond(method, target))
            lowered = headers.lower()
            if b"connection: close" in lowered or (version == b"HTTP/1.0" and b"keep-alive" not in lowered):
                self.transport.close()
                return


async def _listen(site: Site, hosts: Sequence[str], port: int) -> tuple[list[asyncio.Server], int]:
    """Listen on one port on every host; with port 0, find a port free on all of them (bounded)."""
    loop = asyncio.get_running_loop()
    for _attempt in range(20):
        servers: list[asyncio.Server] = []
        try:
            first = await loop.create_server(lambda: _Connection(site), hosts[0], port, backlog=1024)
            servers.append(first)
            chosen = first.sockets[0].getsockname()[1]
            for host in hosts[1:]:
                servers.append(await loop.create_server(lambda: _Connection(site), host, chosen, backlog=1024))
            return servers, chosen
        except OSError as exc:
            for server in servers:
                server.close()
            if exc.errno != errno.EADDRINUSE or port != 0:
                raise
    raise OSError(errno.EADDRINUSE, "no port free on every host after 20 tries")


def loopback_hosts(count: int) -> list[str]:
    if not 1 <= count <= 250:
        raise ValueError("between 1 and 250 loopback hosts")
    return [f"127.0.0.{n}" for n in range(1, count + 1)]


async def _serve(args: argparse.Namespace) -> None:
    site = Site(pages=args.pages, size=args.size)
    hosts = loopback_hosts(args.hosts)
    servers, port = await _listen(site, hosts, args.port)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    if args.until_stdin_closes:
        def on_stdin() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                loop.remove_reader(sys.stdin.fileno())
                stopped.set()
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    print(json.dumps({"port": port, "hosts": hosts, "pages": site.pages, "size": site.size}), flush=True)
    try:
        await asyncio.wait_for(stopped.wait(), timeout=args.lifetime)
    except asyncio.TimeoutError:
        print(f"_servers: lifetime of {args.lifetime:g}s reached, stopping", file=sys.stderr)
    for server in servers:
        server.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"requests": site.requests, "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}),
          flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1, help="serve on 127.0.0.1 .. 127.0.0.N (default 1)")
    parser.add_argument("--pages", type=int, default=10_000, help="pages per host (default 10000)")
    parser.add_argument("--size", type=int, default=8192, help="bytes per page (default 8192)")
    parser.add_argument("--port", type=int, default=0, help="port on every host (default: a free one)")
    parser.add_argument("--lifetime", type=float, default=3600.0, help="stop after this many seconds")
    parser.add_argument("--until-stdin-closes", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
