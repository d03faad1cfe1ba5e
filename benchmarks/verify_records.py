"""How long ``cablekeep verify`` takes per WARC record of a crawled bag, on one machine (issue 17).

Builds the bag the way a user gets one: ``benchmarks/_cable_pages.py`` writes ``--pages`` cable pages
of ~8.6 KB (default 10,000), a small threaded HTTP server in a process of its own serves them on
127.0.0.1, and ``cablekeep run`` crawls the list (depth 0, politeness off): one response, one
request and one metadata record a page, one gzip member a record, with the bag's index.cdxj,
cables.jsonl and crawl-log.jsonl. Then it runs ``cablekeep verify BAG`` (the default processes) in
a fresh process ``--repeat`` times and prints, for the median run, wall and CPU milliseconds per
WARC record (CPU: the child's and its pool's, from ``wait4``). Target: at most 0.05 ms per record,
wall, on this 2-core machine.

    PYTHONPATH=src .venv/bin/python benchmarks/verify_records.py             # about 2 minutes
    PYTHONPATH=src .venv/bin/python benchmarks/verify_records.py --bag /tmp/b --keep   # keep / reuse it

``--bag DIR``: a bag already built by an earlier ``--keep`` run (its path is printed), to time
other commits on the same bytes. ``--against OLD/src``: run that source tree and this one
alternately on the same bag (the fair comparison on a shared machine) and print both. Exit 0 when the target is met, 1 when not, 2 when a run did not do
what the benchmark needs (the crawl failed, the bag is not valid, no records were checked).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cable_pages import write_site  # noqa: E402  # the benchmarks' own page writer, beside this file

TARGET_MS = 0.05

_SERVER = r"""
import functools, http.server, socketserver, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map = {"": "text/html"}
    def log_message(self, *args): pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class BenchmarkError(Exception):
    """The run did not do what the benchmark needs (exit 2)."""


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def child_env(work: Path, src: Path | None = None) -> dict[str, str]:
    """The environment of cablekeep's children: every XDG directory (the fixity history) under ``work``;
    ``src``: the source tree to run instead of the one on this process's PYTHONPATH."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        env[name] = str(work / name.lower())
    return env


def crawl(work: Path, pages: int) -> Path:
    """The bag of a crawl of ``pages`` cable pages served from ``work/site``."""
    paths = write_site(work / "site", pages, "http://127.0.0.2:9")
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(work / "site")], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        (work / "urls.txt").write_text("".join(f"http://127.0.0.1:{port}{p}\n" for p in paths), encoding="utf-8")
        (work / "manifest.yaml").write_text(
            "cablekeep: 1\ncollection: bench-verify\ntitle: verify benchmark\nseeds:\n  - file: urls.txt\n"
            "follow: {references: false, sources: false, requisites: false, depth: 0}\n"
            "fetch:\n  per_host_delay: 0\n  timeout: 30\n  retries: 0\n  robots: ignore\n  allow_private: true\n"
            "bag:\n  output: bags\n",
            encoding="utf-8",
        )
        cablekeep = Path(sys.executable).with_name("cablekeep")
        done = subprocess.run([str(cablekeep), "run", "--quiet", "--json", "manifest.yaml"], cwd=work,
                              capture_output=True, text=True, timeout=3600, check=False, env=child_env(work))
    finally:
        server.terminate()
        server.wait(timeout=20)
    if done.returncode != 0:
        raise BenchmarkError(f"cablekeep run exited {done.returncode}: {done.stderr[-2000:]}")
    return Path(json.loads(done.stdout)["bag"])


def verify_once(bag: Path, work: Path, src: Path | None = None) -> tuple[float, float, int]:
    """One ``cablekeep verify --json BAG`` in a fresh process: wall s, CPU s (its pool included), records."""
    cablekeep = Path(sys.executable).with_name("cablekeep")
    out = tempfile.TemporaryFile()
    began = time.perf_counter()
    child = subprocess.Popen([str(cablekeep), "verify", "--json", "--db", str(work / "fixity.sqlite"), str(bag)],
                             stdout=out, stderr=subprocess.DEVNULL, env=child_env(work, src))
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode("utf-8")
    if child.returncode != 0:
        raise BenchmarkError(f"cablekeep verify exited {child.returncode}: {text[-2000:]}")
    report = json.loads(text)
    records = int(report.get("warc_records_checked", 0))
    if report.get("verdict") != "valid" or records == 0:
        raise BenchmarkError(f"verify found the bag {report.get('verdict')} with {records} records checked")
    return wall, usage.ru_utime + usage.ru_stime, records


def compare(bag: Path, work: Path, against: Path, repeat: int) -> int:
    """This source tree and ``against`` run alternately ``repeat`` times each (after one warm-up each):
    medians of CPU and wall ms per record, and this tree's CPU as a share of the other's. Exit as
    for one tree, by this tree's wall figure."""
    trees: dict[str, Path | None] = {"this": None, "against": against}
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in trees}
    for name, src in trees.items():
        verify_once(bag, work, src)
    for _ in range(repeat):
        for name, src in trees.items():
            runs[name].append(verify_once(bag, work, src))
    print(f"load average after: {load()}")
    medians: dict[str, tuple[float, float]] = {}
    for name, done in runs.items():
        records = done[0][2]
        wall = statistics.median(r[0] for r in done) / records * 1000
        cpu = statistics.median(r[1] for r in done) / records * 1000
        medians[name] = (wall, cpu)
        print(f"{name:8} {records:,} records: {cpu:.4f} CPU ms per record, {wall:.4f} ms wall "
              f"(CPU s {', '.join(f'{r[1]:.2f}' for r in done)}; wall s {', '.join(f'{r[0]:.2f}' for r in done)})")
    print(f"this / against: CPU {medians['this'][1] / medians['against'][1]:.3f}, "
          f"wall {medians['this'][0] / medians['against'][0]:.3f} (target: at most {TARGET_MS} ms wall)")
    return 0 if medians["this"][0] <= TARGET_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bag", type=Path, default=None, help="time this bag (from an earlier --keep run)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and print the bag's path")
    parser.add_argument("--against", type=Path, default=None,
                        help="another source tree's src/: run it and this one alternately on the same bag")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="verify-records-"))
    try:
        bag = args.bag
        if bag is None:
            began = time.perf_counter()
            bag = crawl(work, args.pages)
            print(f"crawled {args.pages:,} pages into {bag} in {time.perf_counter() - began:.1f} s")
        print(f"load average before: {load()}")
        if args.against is not None:
            return compare(bag, work, args.against.resolve(), args.repeat)
        verify_once(bag, work)  # the page cache warm
        runs = [verify_once(bag, work) for _ in range(args.repeat)]
        records = runs[0][2]
        walls = sorted(r[0] for r in runs)
        cpus = sorted(r[1] for r in runs)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"load average after: {load()}")
        print(f"{records:,} WARC records; verify wall {wall:.2f} s, CPU {cpu:.2f} s (medians of {args.repeat}; "
              f"walls {', '.join(f'{w:.2f}' for w in walls)})")
        per = wall / records * 1000
        print(f"{per:.4f} ms per record wall, {cpu / records * 1000:.4f} CPU ms per record "
              f"(target: at most {TARGET_MS} ms wall)")
        return 0 if per <= TARGET_MS else 1
    except BenchmarkError as exc:
        print(f"benchmark run failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
