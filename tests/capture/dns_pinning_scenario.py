"""Run inside a fresh network and mount namespace (see test_dns_pinning.py), never on its own.

A DNS server on 127.0.0.53:53 answers the A queries for ``pinned.test`` with 127.0.0.2 and 127.0.0.1
in turn (AAAA: no answer); HTTP servers on 127.0.0.2 and 127.0.0.1, on one port, count their requests.
The fetcher, allowed 127.0.0.2/32 only, fetches ``http://pinned.test:PORT/`` FETCHES times; then a
control does what the fetcher did before (check the name, then let the HTTP client resolve it
again) as many times. Prints one JSON object with the counts.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from cablekeep.capture.fetch import AddressGuard, Fetcher, parse_networks
from cablekeep.errors import FetchError

FETCHES = 50
NAME = b"pinned.test"
ANSWERS = ("127.0.0.2", "127.0.0.1")


class Dns:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.53", 53))
        self.a_queries = 0
        self.answered: list[str] = []

    def serve(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(512)
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, query: bytes) -> bytes | None:
        if len(query) < 12:
            return None
        labels, at = [], 12
        while at < len(query) and query[at]:
            labels.append(query[at + 1: at + 1 + query[at]])
            at += 1 + query[at]
        qtype = int.from_bytes(query[at + 1: at + 3], "big")
        question = query[12: at + 5]
        known = b".".join(labels).lower() == NAME
        answers = b""
        count = 0
        if known and qtype == 1:
            address = ANSWERS[self.a_queries % 2]
            self.a_queries += 1
            self.answered.append(address)
            answers = b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (0).to_bytes(4, "big")
            answers += (4).to_bytes(2, "big") + socket.inet_aton(address)
            count = 1
        flags = 0x8180 if known else 0x8183  # NOERROR, or NXDOMAIN for any other name
        header = query[:2] + flags.to_bytes(2, "big") + (1).to_bytes(2, "big") + count.to_bytes(2, "big")
        return header + b"\x00\x00\x00\x00" + question + answers


def _server(address: str, port: int, hits: dict[str, int]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            hits[address] += 1
            body = f"served by {address} for {self.headers.get('Host')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    dns = Dns()
    threading.Thread(target=dns.serve, daemon=True).start()
    hits = {"127.0.0.1": 0, "127.0.0.2": 0}
    allowed = _server("127.0.0.2", 0, hits)
    port = allowed.server_address[1]
    _server("127.0.0.1", port, hits)
    url = f"http://pinned.test:{port}/"

    guard = AddressGuard(allow_networks=parse_networks(["127.0.0.2/32"]))
    fetcher = Fetcher(user_agent="pinning-test", timeout=5, max_bytes=10_000, guard=guard)
    outcomes: dict[str, int] = {}
    bodies: set[str] = set()
    for _ in range(FETCHES):
        try:
            with fetcher.fetch(url) as exchange:
                outcomes["ok"] = outcomes.get("ok", 0) + 1
                bodies.add(exchange.read_body(1000).decode())
        except FetchError as exc:
            outcomes[exc.reason] = outcomes.get(exc.reason, 0) + 1
    fetcher.close()
    pinned = dict(hits)

    # control: the old way, a check of the name, then the HTTP client resolving it again
    control_checks_passed = 0
    with requests.Session() as session:
        session.trust_env = False
        for _ in range(FETCHES):
            try:
                guard.check(url)
            except FetchError:
                continue
            control_checks_passed += 1
            session.get(url, timeout=5, headers={"Connection": "close"}).close()
    control = {address: hits[address] - pinned[address] for address in hits}
    json.dump({"pinned_hits": pinned, "outcomes": outcomes, "bodies": sorted(bodies), "control_hits": control,
               "control_checks_passed": control_checks_passed, "dns_answers": dns.answered[:8],
               "a_queries": dns.a_queries, "port": port}, sys.stdout)


if __name__ == "__main__":
    main()
