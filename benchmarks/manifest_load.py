"""How long a manifest of many seeds takes to load, and how much memory, in one run.

Writes, in a fresh temporary directory (``--workdir``, default the system temp dir), two manifests of
``--seeds`` seeds (default 900,000):

  inline   the seeds written in the manifest, one ``- cable: <ID>`` a line
  file     one ``- file: seeds.txt`` seed list of one cable ID a line

and loads each with ``load_manifest`` in a fresh process (so one case's memory does not count in the
other's), then, for the file case, also lists every seed once as the crawl does (``for seed in
manifest.seeds``). Prints wall-clock seconds of the load (and of the listing), the CPU seconds of
the load (the figure to trust when other jobs share the machine: the target is met by the smaller
of the two), and the process's peak RSS (``resource.getrusage``, ``ru_maxrss``), less the RSS of the
same fresh process before loading, so the figure is what loading added.

    .venv/bin/python benchmarks/manifest_load.py                  # about a minute after the fix
    .venv/bin/python benchmarks/manifest_load.py --seeds 100000   # quicker
    .venv/bin/python benchmarks/manifest_load.py --case file

Targets: the file case loads in a few seconds with memory flat in the number of seeds; the inline
case within ~10 s and under 1 GB. Exit 0 when every case measured meets its target, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = """cablekeep: 1
collection: bench-manifest
site:
  cable_url: "http://127.0.0.1:8471/cable/{id}"
seeds:
"""
ORIGINS = ("ALMATY", "ASTANA", "TASHKENT", "DUSHANBE", "BISHKEK", "ASHGABAT")
TARGETS = {"inline": (10.0, 1024.0), "file": (5.0, 100.0)}  # seconds, MB added

# Run in a fresh interpreter: load, list the seeds, report as JSON on stdout.
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from cablekeep.manifest import load_manifest
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
base = rss_mb()
started, cpu = time.perf_counter(), cpu_s()
manifest = load_manifest(Path(sys.argv[1]))
loaded, load_cpu = time.perf_counter() - started, cpu_s() - cpu
load_peak = rss_mb()
started = time.perf_counter()
listed = sum(1 for _ in manifest.seeds)
listing = time.perf_counter() - started
print(json.dumps({"seeds": len(manifest.seeds), "listed": listed, "load_s": loaded, "load_cpu_s": load_cpu,
                  "list_s": listing,
                  "base_mb": base, "load_peak_mb": load_peak, "peak_mb": rss_mb()}))
"""


def cable_id(number: int) -> str:
    return f"{5 + number % 5:02d}{ORIGINS[number % len(ORIGINS)]}{number + 1}"


def write_cases(directory: Path, seeds: int) -> dict[str, Path]:
    inline = directory / "inline.yaml"
    with inline.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for number in range(seeds):
            out.write(f"  - cable: {cable_id(number)}\n")
    listing = directory / "seeds.txt"
    with listing.open("w", encoding="utf-8") as out:
        for number in range(seeds):
            out.write(cable_id(number) + "\n")
    from_file = directory / "file.yaml"
    from_file.write_text(HEADER + "  - file: seeds.txt\n", encoding="utf-8")
    return {"inline": inline, "file": from_file}


def measure(manifest: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(manifest)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"loading {manifest} failed (exit {done.returncode}):\n{done.stderr.strip()}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=900_000, help="seeds in each manifest (default 900,000)")
    parser.add_argument("--case", choices=("inline", "file", "all"), default="all")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the manifests")
    args = parser.parse_args(argv)
    passed = True
    with tempfile.TemporaryDirectory(prefix="cablekeep-manifest-bench-", dir=args.workdir) as temp:
        cases = write_cases(Path(temp), args.seeds)
        size = {name: path.stat().st_size for name, path in cases.items()}
        size["file"] += (Path(temp) / "seeds.txt").stat().st_size
        print(f"{args.seeds:,} seeds; python {sys.version.split()[0]}")
        print(f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'case':8} {'MB on disk':>10} {'load s':>8} {'cpu s':>7} {'list s':>8} {'load +MB':>9} "
              f"{'peak +MB':>9}  target")
        for name in ("inline", "file") if args.case == "all" else (args.case,):
            figures = measure(cases[name])
            if figures["seeds"] != args.seeds or figures["listed"] != args.seeds:
                raise SystemExit(f"{name}: expected {args.seeds} seeds, the manifest has {figures['seeds']} "
                                 f"and lists {figures['listed']}")
            added = figures["load_peak_mb"] - figures["base_mb"]
            peak_added = figures["peak_mb"] - figures["base_mb"]
            seconds, megabytes = TARGETS[name]
            ok = min(figures["load_s"], figures["load_cpu_s"]) <= seconds and peak_added <= megabytes
            passed = passed and ok
            print(f"{name:8} {size[name] / 1e6:10.1f} {figures['load_s']:8.2f} {figures['load_cpu_s']:7.2f} "
                  f"{figures['list_s']:8.2f} "
                  f"{added:9.0f} {peak_added:9.0f}  <= {seconds:g} s, <= {megabytes:g} MB: "
                  f"{'ok' if ok else 'MISSED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
