"""Verify on a Dask cluster of 2 local workers against the one-machine verify, in one run (issue 17).

Builds, in a fresh temporary directory (``--workdir``), a bag of 100,000 files of 6 KiB in 100
directories (``--files``; sha256 + sha512, bagged in place by ``cablekeep bag``) and times, each in
a fresh process, medians of ``--repeat`` runs (default 3):

  one machine    ``cablekeep verify BAG``                       the default pool, one process per core
  cluster        ``cablekeep verify --cluster local:2 BAG``     start 2 worker processes, verify, stop them
  one machine    ``verify_bag(BAG)`` called from python         the check alone, no CLI start-up
  cluster        ``verify_bag(BAG, executor=...)`` on a running LocalCluster of 2 workers, the cluster
                 started before the clock starts (the case of a scheduler that is already running)

and prints each time and the ratios one-machine / cluster (target >= 0.9: the cluster's overhead is
small). Caches are warm (every run reads what the one before read).

    .venv/bin/python benchmarks/cluster_verify.py                 # about 3 minutes, 1 GB of disk
    .venv/bin/python benchmarks/cluster_verify.py --files 10000   # under a minute
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
SRC = Path(__file__).resolve().parents[1] / "src"

LIBRARY_ONE = """
import sys, time
from pathlib import Path
from cablekeep.fixity.verify import verify_bag
start = time.perf_counter()
ok = verify_bag(Path(sys.argv[1])).ok
print(time.perf_counter() - start)
sys.exit(0 if ok else 1)
"""

LIBRARY_CLUSTER = """
import sys, time
from pathlib import Path
from cablekeep.cluster.address import ClusterSpec
from cablekeep.cluster.dask import open_cluster
from cablekeep.fixity.verify import verify_bag
if __name__ == "__main__":
    with open_cluster(ClusterSpec(workers=2), local_directory=Path(sys.argv[2])) as cluster:
        start = time.perf_counter()
        ok = verify_bag(Path(sys.argv[1]), executor=cluster.executor, processes=cluster.slots).ok
        print(time.perf_counter() - start)
    sys.exit(0 if ok else 1)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def _inner(args: list[str], cwd: Path) -> float:
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def build(root: Path, files: int) -> Path:
    payload = root / "bag"
    block = os.urandom(6 * 1024 + 4096)
    for n in range(files):
        folder = payload / f"d{n % 100:03d}"
        if n < 100:
            folder.mkdir(parents=True)
        (folder / f"f{n:06d}.bin").write_bytes(block[n % 4096 : n % 4096 + 6 * 1024])
    subprocess.run([PYTHON, "-m", "cablekeep", "bag", "--in-place", "--algorithm", "sha256", "--algorithm", "sha512",
                    str(payload)], env=_env(), check=True, capture_output=True, timeout=1800)
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cablekeep-cluster-bench-", dir=args.workdir))
    scratch = work / "dask"
    scratch.mkdir()
    env_tmp = work / "tmp"
    env_tmp.mkdir()
    os.environ["TMPDIR"] = str(env_tmp)  # the CLI's cluster scratch space
    os.environ["XDG_DATA_HOME"] = str(work / "xdg")  # the fixity history of these runs, not the user's
    try:
        started = time.perf_counter()
        bag = build(work, args.files)
        print(f"bag of {args.files:,} files of 6 KiB built in {time.perf_counter() - started:.1f} s")
        cases = {
            "cli one machine": lambda: _timed([PYTHON, "-m", "cablekeep", "verify", "--json", str(bag)], work),
            "cli --cluster local:2": lambda: _timed(
                [PYTHON, "-m", "cablekeep", "verify", "--json", "--cluster", "local:2", str(bag)], work),
            "verify_bag one machine": lambda: _inner([PYTHON, "-c", LIBRARY_ONE, str(bag)], work),
            "verify_bag on a running local:2": lambda: _inner([PYTHON, "-c", LIBRARY_CLUSTER, str(bag), str(scratch)],
                                                              work),
        }
        _timed([PYTHON, "-m", "cablekeep", "verify", "--json", str(bag)], work)  # warm the cache
        medians = {}
        for name, case in cases.items():
            times = [case() for _ in range(args.repeat)]
            medians[name] = statistics.median(times)
            print(f"{name:34s} {medians[name]:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
        cli = medians["cli one machine"] / medians["cli --cluster local:2"]
        lib = medians["verify_bag one machine"] / medians["verify_bag on a running local:2"]
        print(f"ratio one machine / cluster, whole command (cluster start-up included): {cli:.2f}")
        print(f"ratio one machine / cluster, the verify alone (a running cluster):     {lib:.2f}  (target >= 0.9)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
