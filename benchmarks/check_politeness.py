"""Benchmark: ``cablekeep check`` of 1,000 and 10,000 archived URLs over 20 hosts, at the politeness limit.

Each size is a collection of its own: its URLs spread evenly over 127.0.0.1 .. 127.0.0.20, archived first
with ``cablekeep run`` (no delay), then checked with ``cablekeep check MANIFEST --json`` and the manifest's
``fetch`` set to ``concurrency: 20, per_host_concurrency: 1, per_host_delay: 0.2``: at most 20 / 0.2 = 100
requests a second. Each check is its own process; printed per size: pages/s over the check's own span
(its JSON's started .. finished: the archive read into its scratch index, robots.txt and the not-found probe
of each host, every URL probed and classified, the history written) against that limit, the process's wall
time, its peak RSS (``wait4``) and CPU seconds. Targets: pages/s >= 90 % of the limit at the larger size (as the
crawler's polite case), and memory flat: peak RSS under 100 MB at both sizes, the larger at most 1.25x the
smaller (from 1,000 to 10,000 URLs the SQLite page caches of the check's three databases and the fetch threads'
malloc arenas fill up: 57 -> 68 MB; from 10,000 to 20,000 it grew 1.02x).

The site is served by nginx (Debian's ``nginx-light``, ``/usr/sbin/nginx``), started here with a config in a
temporary directory on one free port of the 20 addresses: static pages with ETag and Last-Modified, so an
unchanged page answers the check's conditional request with 304, as a real site does. Without nginx the
project's own loopback server (``benchmarks/_servers.py``, asyncio) serves the same URLs, said in the
output; it sends no validators, so every page is fetched whole and compared by digest.

    .venv/bin/python benchmarks/check_politeness.py            # both sizes, about 4 minutes
    .venv/bin/python benchmarks/check_politeness.py --quick    # 200 and 1,000 URLs
    .venv/bin/python benchmarks/check_politeness.py --server python

Only 127.0.0.x addresses are bound or fetched. Exit 0 when every target passes, 1 when one fails, 2 when a
run did not do what the benchmark needs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _nginx  # noqa: E402  (benchmarks/ is not a package)
from _harness import BenchmarkError, finish, run_child  # noqa: E402

NGINX = _nginx.NGINX
HOSTS = 20
DELAY = 0.2
LIMIT = HOSTS / DELAY  # requests a second the politeness allows
PAGE_SIZE = 4096
TARGET_SHARE = 0.90
FLAT = 1.25
RSS_CEILING_MB = 100.0
WORDS = ("cable embassy refugee border minister consulate report official statement government delegation "
         "meeting office summary comment action request press release security regional political economic "
         "camp transfer asylum status decision court hearing witness account protest crowd square").split()


# -- the site --------------------------------------------------------------------------------------------------


def write_pages(root: Path, pages: int) -> None:
    """``root/p/<n>.html`` for n < pages: HTML of PAGE_SIZE bytes, words varied per page."""
    rng = random.Random(1628)
    (root / "p").mkdir(parents=True)
    for number in range(pages):
        head = f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Report {number}</title></head><body>\n"
        text = " ".join(rng.choice(WORDS) for _ in range(PAGE_SIZE // 6))
        body = (head + f"<h1>Report {number}</h1>\n<p>{text}</p>\n")[: PAGE_SIZE - 16] + "</p></body></html>\n"
        (root / "p" / f"{number}.html").write_text(body, encoding="ascii")


@contextmanager
def nginx(work: Path, hosts: Sequence[str], pages: int) -> Iterator[int]:
    """nginx (benchmarks/_nginx.py) serving the pages, its own files in ``work``."""
    site = work / "site"
    write_pages(site, pages)
    try:
        with _nginx.nginx(work, site, hosts) as port:
            yield port
    except _nginx.NginxError as exc:
        raise BenchmarkError(str(exc)) from exc


@contextmanager
def python_server(hosts: Sequence[str], pages: int) -> Iterator[int]:
    """The project's own loopback server (benchmarks/_servers.py) in its own process."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_servers.py"), "--hosts", str(len(hosts)), "--pages", str(pages),
         "--size", str(PAGE_SIZE), "--lifetime", "3600", "--until-stdin-closes"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise BenchmarkError("benchmarks/_servers.py did not start")
        yield int(json.loads(line)["port"])
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- one size --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    urls: int
    span: float  # the check's own started .. finished
    wall: float
    peak_rss_mb: float
    cpu_seconds: float
    classes: dict[str, int]

    @property
    def rate(self) -> float:
        return self.urls / self.span


def write_manifest(path: Path, collection: str, urls: Sequence[str], delay: float) -> None:
    (path.parent / f"{collection}.txt").write_text("".join(u + "\n" for u in urls), encoding="utf-8")
    path.write_text(
        f"cablekeep: 1\ncollection: {collection}\nseeds:\n  - file: {collection}.txt\n"
        "follow: {depth: 0, references: false, sources: false, requisites: false}\n"
        f"fetch: {{concurrency: {HOSTS}, per_host_concurrency: 1, per_host_delay: {delay}, retries: 0, "
        "timeout: 30, allow_private: true}\n"
        "bag: {output: bags, algorithms: [sha256]}\n", encoding="utf-8")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(work: Path, hosts: Sequence[str], port: int, urls_count: int) -> Result:
    collection = f"check-{urls_count}"
    urls = [f"http://{hosts[n % len(hosts)]}:{port}/p/{n}.html" for n in range(urls_count)]
    manifest = work / f"{collection}.yaml"
    cablekeep = [sys.executable, "-m", "cablekeep"]
    write_manifest(manifest, collection, urls, 0)  # archived as fast as the machine goes
    run_child([*cablekeep, "run", str(manifest), "--quiet", "--db", str(work / "fixity.sqlite")],
              deadline=1200, stdout=work / f"{collection}-run.out")
    write_manifest(manifest, collection, urls, DELAY)  # checked politely
    child = run_child([*cablekeep, "check", str(manifest), "--json", "--db", str(work / "linkrot.sqlite")],
                      deadline=60 + 3 * urls_count / LIMIT, stdout=work / f"{collection}-check.out")
    report = json.loads((work / f"{collection}-check.out").read_text(encoding="utf-8"))
    if report["urls"] != urls_count:
        raise BenchmarkError(f"the check of {collection} saw {report['urls']} URLs, not {urls_count}")
    span = (_time(report["finished"]) - _time(report["started"])).total_seconds()
    classes = {name: n for name, n in report["classes"].items() if n}
    return Result(urls_count, span, child.seconds, child.peak_rss_mb, child.cpu_seconds, classes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 URLs (a smoke check)")
    parser.add_argument("--server", choices=("nginx", "python"), default="nginx",
                        help="nginx (default; the project's server when nginx is missing) or benchmarks/_servers.py")
    parser.add_argument("--sizes", type=int, nargs=2, metavar=("SMALL", "LARGE"),
                        help="the two numbers of URLs (default 1000 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    sizes = tuple(args.sizes) if args.sizes else (200, 1_000) if args.quick else (1_000, 10_000)
    hosts = [f"127.0.0.{n}" for n in range(1, HOSTS + 1)]
    server = args.server
    note = ""
    if server == "nginx" and not os.access(NGINX, os.X_OK):
        server, note = "python", f" ({NGINX} not found: Debian's nginx-light installs it)"

    import cablekeep

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="cablekeep-check-bench-"))
    results: list[Result] = []
    try:
        serving = nginx(work / "nginx", hosts, max(sizes)) if server == "nginx" else python_server(hosts, max(sizes))
        with serving as port:
            for size in sizes:
                print(f"archiving and checking {size} URLs ...", file=sys.stderr, flush=True)
                results.append(measure(work, hosts, port, size))
    except BenchmarkError as exc:
        print(f"check_politeness: {exc} (work directory kept: {work})", file=sys.stderr)
        return 2
    load = (load_before, os.getloadavg()[0])
    print(f"cablekeep {cablekeep.__version__} from {Path(cablekeep.__file__).parent}; served by "
          f"{'nginx' if server == 'nginx' else 'benchmarks/_servers.py'}{note}; {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} before, {load[1]:.2f} after")
    print(f"{HOSTS} hosts, per_host_delay {DELAY} s, per_host_concurrency 1: politeness limit {LIMIT:.0f} requests/s")
    print(f"{'URLs':>7} {'span s':>8} {'pages/s':>8} {'of limit':>9} {'wall s':>7} {'peak RSS MB':>12} {'CPU s':>6}  classes")
    for r in results:
        print(f"{r.urls:>7} {r.span:>8.1f} {r.rate:>8.1f} {r.rate / LIMIT:>8.0%} {r.wall:>7.1f} {r.peak_rss_mb:>12.1f} "
              f"{r.cpu_seconds:>6.1f}  {json.dumps(r.classes)}")
    small, large = results
    targets = [
        (f"pages/s at {large.urls} URLs >= {TARGET_SHARE:.0%} of {LIMIT:.0f}", large.rate >= TARGET_SHARE * LIMIT),
        (f"peak RSS flat: {small.peak_rss_mb:.0f} -> {large.peak_rss_mb:.0f} MB = "
         f"{large.peak_rss_mb / small.peak_rss_mb:.2f}x <= {FLAT}x, both < {RSS_CEILING_MB:.0f} MB",
         large.peak_rss_mb <= FLAT * small.peak_rss_mb and max(small.peak_rss_mb, large.peak_rss_mb) < RSS_CEILING_MB),
    ]
    return finish(targets, work, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
