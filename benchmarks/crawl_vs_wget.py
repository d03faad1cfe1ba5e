"""cablekeep's crawl against ``wget --warc-file`` on the same loopback sites, in one run.

Cases (``--case``, default all):

  polite  20 hosts (127.0.0.1 .. 127.0.0.20) x 200 pages, per_host_delay 0.2 s. The politeness
          limit is hosts / delay = 100 pages/s; cablekeep must reach 90 % of it. wget
          ``--wait=0.2`` is the reference; it fetches one URL at a time (5 pages/s at best), so it
          gets only the first ``--wget-polite-urls`` URLs of the same list (default 200).
          cablekeep runs twice: on the list interleaved across hosts (h1, h2, .. h20, h1, ..) and
          on the same URLs grouped by host (all of h1, then all of h2, ..).
  raw     one host, ``--pages`` pages of 8 KB (default 10,000), no delay; cablekeep must fetch at
          least as fast as ``wget -i urls.txt --warc-file``.
  memory  cablekeep on ``--pages`` and 10 x ``--pages`` pages of one host (default 10,000 and
          100,000): peak RSS under 200 MB in both, and flat (the larger at most 10 % above the
          smaller). With ``--case all`` the raw run is the smaller one.

The servers are ``_servers.py`` in a process of their own (asyncio, keep-alive, pre-rendered pages
with no links). cablekeep gets the URLs as a ``file:`` seed list with depth 0, robots ignored,
private addresses allowed and no retries, and runs as ``cablekeep run --quiet --json`` in a fresh
process: it crawls, bags and verifies. "crawl s" runs from the first request sent (the earliest
WARC-Date of the first records) to the last URL logged (the last ``time`` of the crawl log) and
pages/s is pages / crawl s; "run s" is the whole command. Peak RSS and CPU seconds are the child's
own, from ``wait4``. wget's figures are its whole run (it only crawls).

    .venv/bin/python benchmarks/crawl_vs_wget.py            # everything, about 9 minutes
    .venv/bin/python benchmarks/crawl_vs_wget.py --quick    # smaller sizes, under a minute

Only 127.0.0.x is ever contacted; every child process has a deadline and is killed past it.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVERS = HERE / "_servers.py"
sys.path.insert(0, str(HERE))
from _harness import BenchmarkError, run_child  # noqa: E402  (benchmarks/ is not a package)

CABLEKEEP = Path(sys.executable).with_name("cablekeep")
WGET = shutil.which("wget") or "/usr/bin/wget"

POLITE_HOSTS = 20
POLITE_DELAY = 0.2
POLITE_SHARE = 0.90  # of the politeness limit
RSS_LIMIT_MB = 200.0
RSS_FLAT = 1.10  # the larger memory run may use at most this much more than the smaller one

# The manifest knobs used for each case (fetch section); see benchmarks/README.md for the sweep.
POLITE_FETCH = {"concurrency": POLITE_HOSTS, "per_host_concurrency": 1, "per_host_delay": POLITE_DELAY}
RAW_CONCURRENCY = 6
RAW_PROCESSES = 2  # fetch.processes in raw and memory: worker processes on both cores
RAW_REPEAT = 3  # rounds of the raw case; the target compares medians
RAW_THREADS = 1  # fetch.threads: one fetch thread a worker, the other URLs handed out wait in its queue


def raw_fetch(concurrency: int, processes: int = 1, threads: int = 0) -> dict[str, float | int]:
    fetch: dict[str, float | int] = {"concurrency": concurrency, "per_host_concurrency": concurrency, "per_host_delay": 0}
    if processes > 1:
        fetch["processes"] = processes
    if threads:
        fetch["threads"] = threads
    return fetch


def _knobs(concurrency: int, processes: int, threads: int) -> str:
    return f"concurrency {concurrency}, processes {processes}" + (f", threads {threads}" if threads else "")


@dataclass
class Result:
    case: str
    tool: str
    pages: int
    crawl_seconds: float | None  # cablekeep: first fetch sent to last URL logged; wget: None (see run_seconds)
    run_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        """Pages per second of the crawl (cablekeep: from its log; wget: over its whole run)."""
        seconds = self.run_seconds if self.crawl_seconds is None else self.crawl_seconds
        return self.pages / seconds if seconds > 0 else 0.0


@dataclass
class Servers:
    port: int
    hosts: list[str]
    cpu_seconds: float = 0.0
    requests: int = 0

    def url(self, host: str, number: int) -> str:
        return f"http://{host}:{self.port}/p/{number}.html"


def _read_line(stream: IO[str] | None, timeout: float) -> str:
    assert stream is not None
    ready, _, _ = select.select([stream.fileno()], [], [], timeout)
    if not ready:
        raise BenchmarkError(f"the test servers said nothing within {timeout:g}s")
    return stream.readline()


@contextmanager
def serve(hosts: int, pages: int, lifetime: float) -> Iterator[Servers]:
    """The test servers in their own process, for at most ``lifetime`` seconds."""
    process = subprocess.Popen(
        [sys.executable, str(SERVERS), "--hosts", str(hosts), "--pages", str(pages),
         "--lifetime", str(lifetime), "--until-stdin-closes"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        first = _read_line(process.stdout, 20)
        if not first:
            raise BenchmarkError("the test servers exited before listening")
        info = json.loads(first)
        servers = Servers(port=int(info["port"]), hosts=list(info["hosts"]))
        yield servers
        assert process.stdin is not None
        process.stdin.close()
        last = _read_line(process.stdout, 20)
        if last:
            stats = json.loads(last)
            servers.cpu_seconds, servers.requests = float(stats["cpu_seconds"]), int(stats["requests"])
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=20)


# -------------------------------------------------------------------------------------------------
# The two crawlers


def write_urls(path: Path, urls: Sequence[str]) -> None:
    path.write_text("".join(url + "\n" for url in urls), encoding="utf-8")


def write_manifest(directory: Path, name: str, urls: Sequence[str], fetch: dict[str, float | int]) -> Path:
    """A manifest crawling exactly ``urls`` (seed list, depth 0), checked by cablekeep's own loader."""
    shutil.rmtree(directory / "bags", ignore_errors=True)  # a left-over work directory would resume
    directory.mkdir(parents=True, exist_ok=True)
    write_urls(directory / "urls.txt", urls)
    knobs = "".join(f"  {key}: {value}\n" for key, value in fetch.items())
    text = (
        "cablekeep: 1\n"
        f"collection: bench-{name}\n"
        f"title: benchmark {name}\n"
        "seeds:\n"
        "  - file: urls.txt\n"
        "follow: {references: false, sources: false, requisites: false, depth: 0}\n"
        "fetch:\n"
        f"{knobs}"
        "  timeout: 30\n"
        "  retries: 0\n"
        "  robots: ignore\n"
        "  allow_private: true\n"
        "bag:\n"
        "  output: bags\n"
    )
    path = directory / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    from cablekeep.manifest import load_manifest_text  # the installed cablekeep: refuse a bad manifest now

    manifest = load_manifest_text(text, path)
    if len(manifest.seeds) != len(urls):
        raise BenchmarkError(f"manifest {path} has {len(manifest.seeds)} seeds, expected {len(urls)}")
    return path


def _log_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def first_fetch_start(warc_dir: Path, look_at: int = 300) -> datetime | None:
    """When the crawl's first fetch started: the earliest WARC-Date among the first records written
    to each WARC file (a response record is dated when its request was sent; records are written as
    fetches finish; each shard of a crawl on a cluster writes its own files)."""
    from warcio.archiveiterator import ArchiveIterator  # installed with cablekeep

    earliest: datetime | None = None
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for number, record in enumerate(ArchiveIterator(stream)):
                if number >= look_at:
                    break
                if record.rec_type in ("request", "response"):
                    moment = _log_time(record.rec_headers.get_header("WARC-Date"))
                    earliest = moment if earliest is None else min(earliest, moment)
    return earliest


def read_run(directory: Path, expected: int) -> tuple[Path, int, datetime, datetime]:
    """The run whose JSON summary is ``directory/run.json``: its bag, its fetches that ended ok, and
    when its crawl began (its first fetch) and ended (its last log line). An error unless every one
    of the ``expected`` URLs was fetched and the bag verified."""
    summary = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    bag = Path(summary["bag"])
    ok = 0
    first: datetime | None = None
    last: datetime | None = None
    with open(bag / "data" / "crawl-log.jsonl", encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            moment = _log_time(entry["time"])
            first = moment if first is None else min(first, moment)
            last = moment if last is None else max(last, moment)
            ok += entry["outcome"] == "ok"
    if ok != expected or not summary.get("verified") or first is None or last is None:
        raise BenchmarkError(f"cablekeep fetched {ok} of {expected} pages (verified: {summary.get('verified')}); "
                             f"see {directory / 'run.json'}")
    return bag, ok, min(first_fetch_start(bag / "data" / "warc") or first, first), last


def run_cablekeep(case: str, directory: Path, urls: Sequence[str], fetch: dict[str, float | int],
                  deadline: float, note: str = "") -> Result:
    manifest = write_manifest(directory, case, urls, fetch)
    child = run_child([str(CABLEKEEP), "run", "--quiet", "--json", str(manifest)],
                      deadline=deadline, stdout=directory / "run.json", cwd=directory)
    _, ok, start, last = read_run(directory, len(urls))
    return Result(case, "cablekeep", ok, (last - start).total_seconds(), child.seconds, child.peak_rss_mb,
                  child.cpu_seconds, note)


def count_warc_responses(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator  # installed with cablekeep

    with open(path, "rb") as stream:
        return sum(1 for record in ArchiveIterator(stream)
                   if record.rec_type == "response" and record.http_headers.get_statuscode() == "200")


def run_wget(case: str, directory: Path, urls: Sequence[str], wait: float | None, deadline: float,
             note: str = "") -> Result:
    directory.mkdir(parents=True, exist_ok=True)
    write_urls(directory / "urls.txt", urls)
    argv = [WGET, "-q", "-i", "urls.txt", "--warc-file=wget", "-O", "/dev/null", "--tries=1", "--timeout=30"]
    if wait is not None:
        argv.append(f"--wait={wait:g}")
    child = run_child(argv, deadline=deadline, stdout=directory / "wget.out", cwd=directory)
    fetched = count_warc_responses(directory / "wget.warc.gz")
    if fetched != len(urls):
        raise BenchmarkError(f"wget recorded {fetched} of {len(urls)} pages in {directory / 'wget.warc.gz'}")
    return Result(case, "wget", fetched, None, child.seconds, child.peak_rss_mb, child.cpu_seconds, note)


# -------------------------------------------------------------------------------------------------
# Cases


@dataclass
class Target:
    name: str
    passed: bool
    detail: str


def case_polite(work: Path, per_host: int, wget_urls: int) -> tuple[list[Result], list[Target]]:
    limit = POLITE_HOSTS / POLITE_DELAY
    budget = 2 * POLITE_HOSTS * per_host / limit + 2 * wget_urls * POLITE_DELAY + 300
    with serve(POLITE_HOSTS, per_host, lifetime=budget) as servers:
        interleaved = [servers.url(host, n) for n in range(per_host) for host in servers.hosts]
        grouped = [servers.url(host, n) for host in servers.hosts for n in range(per_host)]
        deadline = 10 * len(interleaved) / limit + 120
        results = [
            run_cablekeep("polite", work / "polite-cablekeep", interleaved, POLITE_FETCH, deadline,
                          "URL list interleaved across hosts"),
            run_cablekeep("polite", work / "polite-grouped", grouped, POLITE_FETCH, deadline,
                          "same URLs grouped by host"),
            run_wget("polite", work / "polite-wget", interleaved[:wget_urls], POLITE_DELAY,
                     wget_urls * POLITE_DELAY * 3 + 60, f"first {wget_urls} URLs only; one at a time"),
        ]
    print(f"  polite servers: {servers.requests} requests, {servers.cpu_seconds:.1f} CPU s", file=sys.stderr)
    targets = [
        Target(f"polite, {result.note}: cablekeep >= {POLITE_SHARE:.0%} of {limit:g} pages/s",
               result.rate >= POLITE_SHARE * limit, f"{result.rate:.1f} pages/s = {result.rate / limit:.0%}")
        for result in results if result.tool == "cablekeep"
    ]
    return results, targets


def case_raw(
    work: Path, pages: int, concurrency: int, processes: int = 1, threads: int = 0, repeat: int = RAW_REPEAT
) -> tuple[list[Result], list[Target]]:
    """``repeat`` rounds of both crawlers on the same site, alternating which goes first (the
    machine's speed drifts between runs); the target compares the medians."""
    ours: list[Result] = []
    theirs: list[Result] = []
    with serve(1, pages, lifetime=repeat * (pages / 10 + 600)) as servers:
        urls = [servers.url(servers.hosts[0], n) for n in range(pages)]
        for round_ in range(1, repeat + 1):
            note = f"round {round_}/{repeat}" if repeat > 1 else ""
            knobs = ", ".join(filter(None, (_knobs(concurrency, processes, threads), note)))

            def cablekeep_run() -> None:
                ours.append(run_cablekeep("raw", work / f"raw-cablekeep-{round_}", urls,
                                          raw_fetch(concurrency, processes, threads), pages / 20 + 300, knobs))

            def wget_run() -> None:
                theirs.append(run_wget("raw", work / f"raw-wget-{round_}", urls, None, pages / 20 + 120, note))

            for run in (cablekeep_run, wget_run) if round_ % 2 else (wget_run, cablekeep_run):
                run()
    print(f"  raw servers: {servers.requests} requests, {servers.cpu_seconds:.1f} CPU s", file=sys.stderr)
    ours_rate = statistics.median(r.rate for r in ours)
    theirs_rate = statistics.median(r.rate for r in theirs)
    ratio = ours_rate / theirs_rate
    rounds = ", ".join(f"{a.rate / b.rate:.2f}x" for a, b in zip(ours, theirs))
    median = "medians of {} rounds ({}): ".format(repeat, rounds) if repeat > 1 else ""
    return [*ours, *theirs], [Target("raw: cablekeep >= wget pages/s", ratio >= 1.0,
                                     f"{median}{ours_rate:.0f} vs {theirs_rate:.0f} pages/s = {ratio:.2f}x wget")]


def case_memory(
    work: Path, pages: int, concurrency: int, smaller: Result | None, processes: int = 1, threads: int = 0
) -> tuple[list[Result], list[Target]]:
    larger_pages = 10 * pages
    with serve(1, larger_pages, lifetime=larger_pages / 20 + 900) as servers:
        results = []
        if smaller is None:
            urls = [servers.url(servers.hosts[0], n) for n in range(pages)]
            smaller = run_cablekeep("memory", work / "memory-small", urls, raw_fetch(concurrency, processes, threads),
                                    pages / 20 + 300, _knobs(concurrency, processes, threads))
            results.append(smaller)
        urls = [servers.url(servers.hosts[0], n) for n in range(larger_pages)]
        larger = run_cablekeep("memory", work / "memory-large", urls, raw_fetch(concurrency, processes, threads),
                               larger_pages / 20 + 300, _knobs(concurrency, processes, threads))
        results.append(larger)
    print(f"  memory servers: {servers.requests} requests, {servers.cpu_seconds:.1f} CPU s", file=sys.stderr)
    peak = max(smaller.peak_rss_mb, larger.peak_rss_mb)
    growth = larger.peak_rss_mb / smaller.peak_rss_mb
    return results, [
        Target(f"memory: peak RSS < {RSS_LIMIT_MB:g} MB", peak < RSS_LIMIT_MB, f"{peak:.0f} MB at most"),
        Target(f"memory: flat from {smaller.pages} to {larger.pages} pages (<= {RSS_FLAT:.2f}x)",
               growth <= RSS_FLAT,
               f"{smaller.peak_rss_mb:.0f} -> {larger.peak_rss_mb:.0f} MB = {growth:.2f}x"),
    ]


# -------------------------------------------------------------------------------------------------
# Report


def render(results: Sequence[Result], targets: Sequence[Target], polite_limit: float) -> str:
    wget_rates = [r.rate for r in results if r.case == "raw" and r.tool == "wget"]
    wget_raw = statistics.median(wget_rates) if wget_rates else None  # the median of the rounds
    lines = [f"{'case':<7} {'tool':<9} {'pages':>7} {'crawl s':>8} {'pages/s':>8} {'run s':>7} "
             f"{'ratio':>12} {'RSS MB':>7} {'CPU s':>7}  note"]
    for result in results:
        if result.case == "polite":
            ratio = f"{result.rate / polite_limit:.2f} of limit"
        elif wget_raw and result.tool == "cablekeep" and result.case == "raw":
            ratio = f"{result.rate / wget_raw:.2f}x wget"
        else:
            ratio = "1.00x wget" if result.tool == "wget" and result.case == "raw" else "-"
        crawl = f"{result.crawl_seconds:.2f}" if result.crawl_seconds is not None else "-"
        lines.append(f"{result.case:<7} {result.tool:<9} {result.pages:>7} {crawl:>8} {result.rate:>8.1f} "
                     f"{result.run_seconds:>7.2f} {ratio:>12} {result.peak_rss_mb:>7.1f} "
                     f"{result.cpu_seconds:>7.2f}  {result.note}")
    lines.append("")
    for target in targets:
        lines.append(f"{'PASS' if target.passed else 'FAIL'}  {target.name}: {target.detail}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=("polite", "raw", "memory", "all"), default="all")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes for a smoke check (polite 20x20, raw 1,000, memory 1,000 and 10,000)")
    parser.add_argument("--pages", type=int, help="raw case pages, and the smaller memory run (default 10000)")
    parser.add_argument("--polite-pages", type=int, help="pages per host in the polite case (default 200)")
    parser.add_argument("--wget-polite-urls", type=int, help="URLs wget gets in the polite case (default 200)")
    parser.add_argument("--concurrency", type=int, default=RAW_CONCURRENCY,
                        help=f"cablekeep concurrency (= per_host_concurrency) in raw and memory (default {RAW_CONCURRENCY})")
    parser.add_argument("--processes", type=int, default=RAW_PROCESSES,
                        help=f"cablekeep fetch.processes in raw and memory (default {RAW_PROCESSES})")
    parser.add_argument("--repeat", type=int, default=None,
                        help=f"rounds of the raw case, alternating which crawler goes first; medians compared "
                             f"(default {RAW_REPEAT}; 1 with --quick)")
    parser.add_argument("--threads", type=int, default=RAW_THREADS,
                        help=f"cablekeep fetch.threads in raw and memory, 0 for its default (default {RAW_THREADS})")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (manifests, bags, WARCs)")
    parser.add_argument("--json", type=Path, help="also write the results and targets to this JSON file")
    args = parser.parse_args(argv)
    pages = args.pages or (1_000 if args.quick else 10_000)
    polite_pages = args.polite_pages or (20 if args.quick else 200)
    wget_urls = args.wget_polite_urls or (20 if args.quick else 200)
    if not CABLEKEEP.exists():
        parser.error(f"{CABLEKEEP} not found; run with the venv's python (.venv/bin/python)")

    import cablekeep  # the one the child runs: the venv's (editable) install, or PYTHONPATH's

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="cablekeep-bench-"))
    results: list[Result] = []
    targets: list[Target] = []
    try:
        cases = ("polite", "raw", "memory") if args.case == "all" else (args.case,)
        for case in cases:
            print(f"running {case} ...", file=sys.stderr, flush=True)
            if case == "polite":
                more, checks = case_polite(work, polite_pages, min(wget_urls, POLITE_HOSTS * polite_pages))
            elif case == "raw":
                repeat = args.repeat or (1 if args.quick else RAW_REPEAT)
                more, checks = case_raw(work, pages, args.concurrency, args.processes, args.threads, repeat)
            else:
                smaller = next((r for r in results if r.case == "raw" and r.tool == "cablekeep"), None)
                if smaller is not None:
                    smaller = Result(**{**asdict(smaller), "case": "memory"})
                    results.append(smaller)
                more, checks = case_memory(work, pages, args.concurrency, smaller, args.processes, args.threads)
            results += more
            targets += checks
    except BenchmarkError as exc:
        print(f"crawl_vs_wget: {exc} (work directory kept: {work})", file=sys.stderr)
        return 2
    load = (load_before, os.getloadavg()[0])
    print(f"cablekeep {cablekeep.__version__} from {Path(cablekeep.__file__).parent}; wget {WGET}; "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} before, {load[1]:.2f} after "
          f"(other work on the machine makes the figures noisy); work directory {work}"
          f"{'' if args.keep else ' (removed)'}")
    print(render(results, targets, POLITE_HOSTS / POLITE_DELAY))
    if args.json:
        args.json.write_text(json.dumps({
            "cablekeep": str(Path(cablekeep.__file__).parent), "load_average": load,
            "results": [{**asdict(r), "pages_per_second": round(r.rate, 1)} for r in results],
            "targets": [asdict(t) for t in targets],
        }, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(t.passed for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
