"""How long `cablekeep replay` takes to start, and to serve the first cable page.

Archives the bundled sample site (the demo's three seed cables, depth 1, requisites) into a bag in a
temporary directory, then ``--repeat`` times (default 5): starts ``cablekeep replay BAG`` as a user does
(a fresh process), and measures

  start-up    from starting the command to the first cable page's replay URL on its stdout
              (Python start-up, reading the cable records, pywb's cdx-indexer over the WARCs,
              wayback's start-up until it answers)
  first page  the first GET of a cable page's replay URL (pywb loads its templates and rewriters
              on the first request)
  next page   a second GET of another cable page, for comparison

then stops it with SIGINT. Prints the median and range of each, and the bag's size.

    .venv/bin/python benchmarks/replay_startup.py                    # pywb from CABLEKEEP_PYWB or .venv/pywb
    .venv/bin/python benchmarks/replay_startup.py --pywb PATH --repeat 9 --json out.json

Needs pywb installed in its own virtualenv (`make test` makes .venv/pywb, or `cablekeep replay` once).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from cablekeep.sample_site import DEMO_SEEDS, serve_sample_site

REPO = Path(__file__).resolve().parents[1]


def make_bag(root: Path) -> Path:
    with serve_sample_site() as site:
        manifest = {
            "cablekeep": 1, "collection": "replay-bench", "title": "replay benchmark",
            "organization": {"name": "Bench", "address": "Loopback", "contact": {"name": "B", "email": "b@example.org"}},
            "site": {"cable_url": site.cable_base + "/cable/{id}"},
            "seeds": [{"cable": cable} for cable in DEMO_SEEDS],
            "follow": {"depth": 1, "requisites": True},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10},
            "bag": {"output": str(root / "bags")},
        }
        path = root / "bench.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        return run_manifest(load_manifest(path)).bag.path


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status}")
    return time.perf_counter() - started


def one_round(bag: Path, pywb: Path) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "cablekeep", "replay", str(bag), "--pywb", str(pywb)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    urls: list[str] = []
    startup = 0.0
    try:
        for line in process.stdout:
            fields = line.split()
            if len(fields) == 2 and "/cablekeep/" in fields[1]:
                if not urls:
                    startup = time.perf_counter() - started
                urls.append(fields[1])
                if len(urls) == len(DEMO_SEEDS):
                    break
        if len(urls) < 2:
            raise SystemExit(f"replay printed {len(urls)} cable page(s): {process.stderr.read() if process.stderr else ''}")
        first, second = get(urls[0]), get(urls[1])
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    return {"startup_s": startup, "first_page_s": first, "next_page_s": second}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pywb", type=Path, default=Path(os.environ.get("CABLEKEEP_PYWB") or REPO / ".venv" / "pywb"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="Write the rounds and medians here.")
    args = parser.parse_args()
    if not (args.pywb / ".cablekeep-pywb-ready").is_file():
        print(f"no pywb in {args.pywb}: run make test, or cablekeep replay once, or give --pywb", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cablekeep-replay-bench-") as folder:
        bag = make_bag(Path(folder))
        size = sum(p.stat().st_size for p in (bag / "data" / "warc").iterdir())
        print(f"bag: {len(DEMO_SEEDS)} seed cables, depth 1; WARCs {size / 1e3:.0f} kB; load {os.getloadavg()[0]:.2f}")
        rounds = [one_round(bag, args.pywb) for _ in range(args.repeat)]
    summary = {}
    for key in ("startup_s", "first_page_s", "next_page_s"):
        values = [r[key] for r in rounds]
        summary[key] = statistics.median(values)
        print(f"{key:<13} median {summary[key]:.3f} s  (min {min(values):.3f}, max {max(values):.3f}, {len(values)} runs)")
    print(f"load after {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "median": summary}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
