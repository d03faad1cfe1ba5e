"""A polite crawl of 20 hosts x 500 pages with ``cablekeep run --cluster local:2`` against the politeness limit (issue 17).

The test servers (``_servers.py``, in a process of their own) answer on 127.0.0.1 .. 127.0.0.20; the
manifest seeds the 10,000 URLs as a list interleaved across hosts (depth 0, robots ignored, no
retries) with ``per_host_delay: 0.2``, ``per_host_concurrency: 1`` and ``concurrency: 20``. The
politeness limit is hosts / delay = 100 pages/s. ``cablekeep run --quiet --json --cluster local:2``
runs in a fresh process (it starts the local cluster, crawls sharded by host, merges, bags and
verifies, stops the cluster) and the benchmark reports:

  crawl pages/s   pages / (the first request sent, the earliest WARC-Date of the first records of
                  each shard's first WARC, to the last URL logged, the last ``time`` of the crawl log)
  run pages/s     pages / the whole command, cluster start-up and stop, merge, bag and verify included

Target: crawl pages/s >= 0.9 of the limit. ``--one-machine`` also runs the same crawl without
``--cluster`` for reference. The child's CPU seconds (its own and its workers', from ``wait4``) are
printed too, with the load average before and after (the machine may be shared: wall-clock figures
are noisy).

    .venv/bin/python benchmarks/cluster_crawl.py                # about 2 minutes (10,000 pages at 100/s)
    .venv/bin/python benchmarks/cluster_crawl.py --pages 50     # 1,000 pages, a smoke check

Exit 0 when the target is met, 1 when not, 2 when a run did not do what the benchmark needs (a
failed exit, a missing page, a deadline). Only 127.0.0.x is contacted; the work directory (a fresh
temporary folder, cluster scratch space and fixity history included) is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import BenchmarkError, run_child  # noqa: E402
from crawl_vs_wget import read_run, serve, write_manifest  # noqa: E402

SRC = HERE.parent / "src"
HOSTS = 20
DELAY = 0.2
SHARE = 0.90  # of the politeness limit
FETCH = {"concurrency": HOSTS, "per_host_concurrency": 1, "per_host_delay": DELAY}


@dataclass
class Run:
    name: str
    pages: int
    crawl_seconds: float
    run_seconds: float
    cpu_seconds: float

    def line(self, limit: float) -> str:
        crawl, whole = self.pages / self.crawl_seconds, self.pages / self.run_seconds
        return (f"{self.name:26s} {self.pages:6d} pages  crawl {self.crawl_seconds:6.1f} s = {crawl:5.1f} pages/s "
                f"({crawl / limit:.2f} of the limit)  run {self.run_seconds:6.1f} s = {whole:5.1f} pages/s "
                f"({whole / limit:.2f})  CPU {self.cpu_seconds:5.1f} s")


def crawl(name: str, directory: Path, urls: list[str], cluster: str | None, deadline: float) -> Run:
    manifest = write_manifest(directory, name, urls, FETCH)
    argv = [sys.executable, "-m", "cablekeep", "run", "--quiet", "--json", str(manifest)]
    if cluster is not None:
        argv[5:5] = ["--cluster", cluster]
    child = run_child(argv, deadline=deadline, stdout=directory / "run.json", cwd=directory)
    _, ok, start, last = read_run(directory, len(urls))
    return Run(name, ok, (last - start).total_seconds(), child.seconds, child.cpu_seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500, help="pages per host (default 500)")
    parser.add_argument("--cluster", default="local:2", help="what --cluster gets (default local:2)")
    parser.add_argument("--one-machine", action="store_true", help="also run the crawl without --cluster")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    limit = HOSTS / DELAY
    work = Path(tempfile.mkdtemp(prefix="cablekeep-cluster-crawl-", dir=args.workdir))
    (work / "tmp").mkdir()
    os.environ["TMPDIR"] = str(work / "tmp")  # the local cluster's scratch space
    os.environ["XDG_DATA_HOME"] = str(work / "xdg")  # the fixity history of these runs, not the user's
    os.environ["PYTHONPATH"] = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    load_before = os.getloadavg()
    runs: list[Run] = []
    try:
        with serve(HOSTS, args.pages, lifetime=4 * HOSTS * args.pages / limit + 600) as servers:
            urls = [servers.url(host, n) for n in range(args.pages) for host in servers.hosts]
            deadline = 5 * len(urls) / limit + 180
            runs.append(crawl("cluster", work / "cluster", urls, args.cluster, deadline))
            if args.one_machine:
                runs.append(crawl("one-machine", work / "one", urls, None, deadline))
        print(f"servers: {servers.requests} requests, {servers.cpu_seconds:.1f} CPU s")
    except BenchmarkError as exc:
        print(f"cluster_crawl: {exc}", file=sys.stderr)
        return 2
    finally:
        load_after = os.getloadavg()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{HOSTS} hosts x {args.pages} pages, per_host_delay {DELAY} s: politeness limit {limit:g} pages/s; "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    for run in runs:
        print(f"--cluster {args.cluster}" if run.name == "cluster" else "no --cluster", "->", run.line(limit))
    rate = runs[0].pages / runs[0].crawl_seconds
    passed = rate >= SHARE * limit
    print(f"{'PASS' if passed else 'FAIL'}  crawl with --cluster {args.cluster} >= {SHARE:.0%} of {limit:g} pages/s: "
          f"{rate:.1f} pages/s = {rate / limit:.0%}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
