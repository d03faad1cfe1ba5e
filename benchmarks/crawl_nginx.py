"""``cablekeep run`` against ``wget -i --warc-file`` on 10,000 cable pages served by nginx (issue 17).

nginx (Debian's ``nginx-light``, started here by ``benchmarks/_nginx.py``: one worker, keep-alive,
no access log) serves ``--pages`` cable pages of ~8.6 KB (``benchmarks/_cable_pages.py``: the sample
site's markup, a cable text with three citations the extractor finds, 29 URLs a page) on
127.0.0.1 at a free port. Each round runs, in alternating order, each in a fresh process:

  wget       ``wget -q -i urls.txt --warc-file=wget -O /dev/null --tries=1 --timeout=30``
  cablekeep  ``python -m cablekeep run --quiet --json manifest.yaml``: the URLs as a ``file:`` seed list,
             nothing followed (depth 0, no references, sources or requisites), and under ``fetch:`` only
             politeness off (``per_host_delay: 0``, ``per_host_concurrency`` equal to the default
             concurrency), ``retries: 0``, ``robots: ignore``, ``allow_private: true``: processes and
             threads are cablekeep's defaults. It crawls, bags and verifies.

then ``cablekeep verify BAG`` alone on the last round's bag. Wall time from the parent; CPU
(user + sys) and peak RSS from ``os.wait4`` of the child, which counts the workers it reaped.
Printed: medians of the rounds, and the targets:

  1. cablekeep run wall <= 0.67 x wget wall
  2. cablekeep CPU <= 0.5 ms per page (all its processes together)
  3. cablekeep verify <= 0.05 ms per WARC record (report only: another part of issue 17)

Each round checks that wget recorded every URL with a 200 response, that cablekeep's crawl log has
every URL ``ok`` with status 200, extracted a cable from every page, and that its bag verified.

    PYTHONPATH=src .venv/bin/python benchmarks/crawl_nginx.py               # 10,000 pages, 3 rounds
    PYTHONPATH=src .venv/bin/python benchmarks/crawl_nginx.py --quick       # 1,000 pages, 1 round
    PYTHONPATH=src .venv/bin/python benchmarks/crawl_nginx.py --pages 2000 --repeat 5

cablekeep is run from this checkout's ``src/``. Only 127.0.0.1 is bound or fetched; every child has a
deadline and is killed past it; everything is written in one temporary directory, removed at the
end (``--keep`` keeps it). Exit 0 when targets 1 and 2 pass, 1 when one fails, 2 when a run did not
do what the benchmark needs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(SRC))
import _nginx  # noqa: E402  (benchmarks/ is not a package)
from _harness import BenchmarkError, Child, finish, run_child  # noqa: E402
from _cable_pages import write_site  # noqa: E402

WGET = shutil.which("wget") or "/usr/bin/wget"
HOST = "127.0.0.1"
RATIO_TARGET = 0.67
CPU_TARGET_MS = 0.5
VERIFY_TARGET_MS = 0.05


def cablekeep_env(directory: Path) -> dict[str, str]:
    """This checkout's cablekeep, and every per-user path (history, caches) inside ``directory``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env[name] = str(directory / "xdg" / name.lower())
    return env


def write_manifest(directory: Path) -> Path:
    from cablekeep.manifest import FetchOptions, load_manifest_text

    concurrency = FetchOptions().concurrency  # the default, named because per_host_concurrency must equal it
    text = (
        "cablekeep: 1\ncollection: bench-nginx\ntitle: nginx benchmark\n"
        "seeds:\n  - file: urls.txt\n"
        "follow: {references: false, sources: false, requisites: false, depth: 0}\n"
        f"fetch:\n  per_host_delay: 0\n  per_host_concurrency: {concurrency}\n"
        "  retries: 0\n  robots: ignore\n  allow_private: true\n"
        "bag:\n  output: bags\n"
    )
    path = directory / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    load_manifest_text(text, path)  # refuse a manifest cablekeep would refuse, now
    return path


def warc_records(paths: Sequence[Path]) -> tuple[int, int]:
    """(records, 200 responses) in the WARC files, read with warcio."""
    from warcio.archiveiterator import ArchiveIterator

    records = ok = 0
    for path in paths:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                records += 1
                ok += record.rec_type == "response" and record.http_headers.get_statuscode() == "200"
    return records, ok


def run_wget(directory: Path, urls: Path, pages: int) -> Child:
    directory.mkdir(parents=True)
    shutil.copy(urls, directory / "urls.txt")
    child = run_child([WGET, "-q", "-i", "urls.txt", "--warc-file=wget", "-O", "/dev/null", "--tries=1",
                       "--timeout=30"], cwd=directory, stdout=directory / "wget.out", deadline=60 + pages / 20)
    _, ok = warc_records([directory / "wget.warc.gz"])
    if ok != pages:
        raise BenchmarkError(f"wget recorded {ok} of {pages} pages with 200 in {directory / 'wget.warc.gz'}")
    return child


def run_cablekeep(directory: Path, urls: Path, pages: int) -> tuple[Child, Path]:
    directory.mkdir(parents=True)
    shutil.copy(urls, directory / "urls.txt")
    manifest = write_manifest(directory)
    child = run_child([sys.executable, "-m", "cablekeep", "run", "--quiet", "--json", "--db",
                       str(directory / "fixity.sqlite"), str(manifest)],
                      cwd=directory, stdout=directory / "cablekeep-run.out", deadline=120 + pages / 10,
                      env=cablekeep_env(directory))
    out = directory / "cablekeep-run.out"
    summary = json.loads(out.read_text(encoding="utf-8"))
    bag = Path(summary["bag"])
    ok = 0
    with open(bag / "data" / "crawl-log.jsonl", encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            ok += entry["outcome"] == "ok" and entry["status"] == 200
    if ok != pages or not summary["verified"] or summary["cables"] != pages:
        raise BenchmarkError(f"cablekeep: {ok} of {pages} URLs ok with 200, {summary['cables']} cables extracted, "
                             f"verified: {summary['verified']}; see {out}")
    return child, bag


def run_verify(directory: Path, bag: Path) -> tuple[Child, int]:
    records, _ = warc_records(sorted((bag / "data" / "warc").glob("*.warc.gz")))
    child = run_child([sys.executable, "-m", "cablekeep", "verify", "--db", str(directory / "fixity.sqlite"),
                       str(bag)], cwd=directory, stdout=directory / "cablekeep-verify.out", deadline=600,
                      env=cablekeep_env(directory))
    return child, records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, help="cable pages (default 10,000; 1,000 with --quick)")
    parser.add_argument("--repeat", type=int, help="rounds, each running both in alternating order (default 3; "
                                                   "1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="1,000 pages, one round (a smoke check)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    pages = args.pages or (1_000 if args.quick else 10_000)
    rounds = args.repeat or (1 if args.quick else 3)
    if not os.access(WGET, os.X_OK):
        print(f"crawl_nginx: wget not found ({WGET})", file=sys.stderr)
        return 2

    import cablekeep

    work = Path(tempfile.mkdtemp(prefix="cablekeep-crawl-nginx-"))
    load = [os.getloadavg()[0]]
    wget: list[Child] = []
    ours: list[Child] = []
    try:
        write_site(work / "site", pages, original_base="http://127.0.0.2:8080")
        with _nginx.nginx(work / "nginx", work / "site", [HOST]) as port:
            urls = work / "urls.txt"
            urls.write_text("".join(f"http://{HOST}:{port}/cable/09ASTANA{n}\n" for n in range(1, pages + 1)),
                            encoding="ascii")
            bag = None
            for round_ in range(rounds):
                order = ("wget", "cablekeep") if round_ % 2 == 0 else ("cablekeep", "wget")
                for tool in order:
                    print(f"round {round_ + 1}/{rounds}: {tool} ...", file=sys.stderr, flush=True)
                    if tool == "wget":
                        wget.append(run_wget(work / f"round{round_}-wget", urls, pages))
                    else:
                        child, bag = run_cablekeep(work / f"round{round_}-cablekeep", urls, pages)
                        ours.append(child)
            assert bag is not None
            print("verify ...", file=sys.stderr, flush=True)
            verify, records = run_verify(bag.parent.parent, bag)
    except (BenchmarkError, _nginx.NginxError) as exc:
        print(f"crawl_nginx: {exc} (work directory kept: {work})", file=sys.stderr)
        return 2
    load.append(os.getloadavg()[0])

    def median(values: Sequence[float]) -> float:
        return statistics.median(values)

    wget_s, ours_s = median([c.seconds for c in wget]), median([c.seconds for c in ours])
    ratio = ours_s / wget_s
    ours_cpu = median([c.cpu_seconds for c in ours]) * 1000 / pages
    wget_cpu = median([c.cpu_seconds for c in wget]) * 1000 / pages
    verify_ms = verify.seconds * 1000 / records
    print(f"cablekeep {cablekeep.__version__} from {Path(cablekeep.__file__).parent}; nginx {_nginx.NGINX}; "
          f"wget {WGET}; {os.cpu_count()} CPUs; load average {load[0]:.2f} before, {load[1]:.2f} after")
    print(f"{pages} pages of ~8.6 KB on {HOST}, politeness off; medians of {rounds} round(s)")
    print(f"{'':10} {'wall s':>8} {'CPU s':>7} {'CPU ms/page':>12} {'peak RSS MB':>12}   rounds (wall s)")
    for name, children in (("wget", wget), ("cablekeep", ours)):
        print(f"{name:10} {median([c.seconds for c in children]):>8.2f} "
              f"{median([c.cpu_seconds for c in children]):>7.2f} "
              f"{median([c.cpu_seconds for c in children]) * 1000 / pages:>12.3f} "
              f"{median([c.peak_rss_mb for c in children]):>12.1f}   "
              f"{' '.join(f'{c.seconds:.2f}' for c in children)}")
    print(f"verify     {verify.seconds:>8.2f} {verify.cpu_seconds:>7.2f}   {records} WARC records: "
          f"{verify_ms:.3f} ms/record wall, {verify.cpu_seconds * 1000 / records:.3f} ms/record CPU")
    targets = [
        (f"run wall {ours_s:.2f} s / wget {wget_s:.2f} s = {ratio:.2f} <= {RATIO_TARGET}", ratio <= RATIO_TARGET),
        (f"run CPU {ours_cpu:.3f} ms/page <= {CPU_TARGET_MS} (wget {wget_cpu:.3f})", ours_cpu <= CPU_TARGET_MS),
    ]
    print(f"{'pass' if verify_ms <= VERIFY_TARGET_MS else 'over'}  verify {verify_ms:.3f} ms per WARC record "
          f"(target {VERIFY_TARGET_MS}; reported only)")
    return finish(targets, work, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
