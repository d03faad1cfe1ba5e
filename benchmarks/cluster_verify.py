"""Verify on a Dask cluster of 2 local workers against the one-machine verify, in one run (issue 17).

Cases (``--case``, default all), each a bag built in a fresh temporary directory under ``--workdir``
(sha256 + sha512, bagged in place by ``cablekeep bag``) and removed afterwards:

  small   100,000 files of 6 KiB in 100 directories (``--files``; ~0.8 GB of disk)
  large   8 files of 1 GiB (``--large-files``, ``--large-gib``; 8 GiB of disk: there is room under /tmp)

For each, medians of ``--repeat`` runs (default 3), each in a fresh process, alternating:

  one machine    ``cablekeep verify BAG``                       the default pool, one process per core
  cluster        ``cablekeep verify --cluster local:2 BAG``     start 2 worker processes, verify, stop them
  one machine    ``verify_bag(BAG)`` called from python         the check alone, no CLI start-up
  cluster        ``verify_bag(BAG, executor=...)`` on a running LocalCluster of 2 workers, the cluster
                 started before the clock starts (the case of a scheduler that is already running)

and prints each time, the CPU seconds of the whole commands (the command and its children, from
``wait4``, and the processes they leave behind, which this process adopts as a subreaper: a local
cluster's forkserver and the workers it forked) and the ratios one-machine / cluster. Target: the whole command with ``--cluster local:2``
at >= 0.9 of the one-machine command (the cluster's overhead is small), in every case run. Caches are
warm (every run reads what the one before read; the large bag fits in memory on the lead's machine).

    .venv/bin/python benchmarks/cluster_verify.py                       # both cases, about 5 minutes
    .venv/bin/python benchmarks/cluster_verify.py --case small --files 10000   # under a minute

Exit 0 when every target is met, 1 when one is not, 2 when a run failed (the bag is not valid, a
command exited non-zero). The load average before and after is printed: figures from a shared
machine are noisy.
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
        cluster.worker_pids()  # the workers are up (a local cluster starts in the background)
        start = time.perf_counter()
        ok = verify_bag(Path(sys.argv[1]), executor=cluster.executor, processes=cluster.slots).ok
        print(time.perf_counter() - start)
    sys.exit(0 if ok else 1)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class RunFailed(Exception):
    """A run that did not do what the benchmark needs (non-zero exit, an invalid bag)."""


def _subreaper() -> None:
    """Adopt every process the commands leave behind (Linux ``PR_SET_CHILD_SUBREAPER``): a local cluster's
    forkserver and the workers it forked are not the command's children, so ``wait4`` on the command
    alone would not count their CPU; reaped here, they are."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise RunFailed("cannot count the CPU of a command's detached processes (prctl PR_SET_CHILD_SUBREAPER)")


def _reap_leftovers(deadline: float) -> float:
    """CPU seconds of the processes the last command left behind (adopted by :func:`_subreaper`), reaped
    as they end; :class:`RunFailed` when one is still running at ``deadline`` (a worker left running)."""
    spent = 0.0
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return spent
        if pid == 0:
            if time.monotonic() > deadline:
                raise RunFailed("a process the command started was still running 30 s after it ended")
            time.sleep(0.01)
            continue
        spent += usage.ru_utime + usage.ru_stime


def _timed(args: list[str], cwd: Path, cpu: list[float]) -> float:
    """Seconds of the whole command; its CPU seconds (its own, its children's, and those of any process
    it left behind) appended to ``cpu``."""
    start = time.perf_counter()
    with open(cwd / "stderr.txt", "wb") as err:
        process = subprocess.Popen(args, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    leftovers = _reap_leftovers(time.monotonic() + 30)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RunFailed(f"{' '.join(args)} failed ({process.returncode}): "
                        f"{(cwd / 'stderr.txt').read_text(errors='replace')[-2000:]}")
    cpu.append(usage.ru_utime + usage.ru_stime + leftovers)
    return seconds


def _inner(args: list[str], cwd: Path) -> float:
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=1800)
    _reap_leftovers(time.monotonic() + 30)  # not counted, but not left for the next command to be charged
    if done.returncode != 0:
        raise RunFailed(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def _bag(payload: Path) -> Path:
    subprocess.run([PYTHON, "-m", "cablekeep", "bag", "--in-place", "--algorithm", "sha256", "--algorithm", "sha512",
                    str(payload)], env=_env(), check=True, capture_output=True, timeout=3600)
    return payload


def build_large(root: Path, files: int, gib: int) -> Path:
    """``files`` files of ``gib`` GiB each, from one 64 MiB random block at a different offset in each file."""
    payload = root / "bag"
    payload.mkdir()
    block = os.urandom(64 << 20)
    for n in range(files):
        with open(payload / f"large-{n}.bin", "wb") as out:
            for _ in range((gib << 30) // len(block)):
                out.write(block[n:])
                out.write(block[:n])
    return _bag(payload)


def build(root: Path, files: int) -> Path:
    payload = root / "bag"
    block = os.urandom(6 * 1024 + 4096)
    for n in range(files):
        folder = payload / f"d{n % 100:03d}"
        if n < 100:
            folder.mkdir(parents=True)
        (folder / f"f{n:06d}.bin").write_bytes(block[n % 4096 : n % 4096 + 6 * 1024])
    return _bag(payload)


def measure(work: Path, bag: Path, repeat: int) -> tuple[float, float]:
    """The four cases on ``bag``, alternating, medians of ``repeat``; (whole command ratio, verify alone ratio)."""
    scratch = work / "dask"
    scratch.mkdir(exist_ok=True)
    cpu: dict[str, list[float]] = {"cli one machine": [], "cli --cluster local:2": []}
    cases = {
        "cli one machine": lambda: _timed([PYTHON, "-m", "cablekeep", "verify", "--json", str(bag)], work,
                                          cpu["cli one machine"]),
        "cli --cluster local:2": lambda: _timed(
            [PYTHON, "-m", "cablekeep", "verify", "--json", "--cluster", "local:2", str(bag)], work,
            cpu["cli --cluster local:2"]),
        "verify_bag one machine": lambda: _inner([PYTHON, "-c", LIBRARY_ONE, str(bag)], work),
        "verify_bag on a running local:2": lambda: _inner([PYTHON, "-c", LIBRARY_CLUSTER, str(bag), str(scratch)],
                                                          work),
    }
    _timed([PYTHON, "-m", "cablekeep", "verify", "--json", str(bag)], work, [])  # warm the cache
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, case in cases.items():
            times[name].append(case())
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    for name, runs in times.items():
        spent = f"  CPU {statistics.median(cpu[name]):.2f} s" if name in cpu else ""
        print(f"{name:34s} {medians[name]:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in runs)}){spent}")
    cli = medians["cli one machine"] / medians["cli --cluster local:2"]
    lib = medians["verify_bag one machine"] / medians["verify_bag on a running local:2"]
    print(f"ratio one machine / cluster, whole command (cluster start-up included): {cli:.2f}  (target >= 0.9)")
    print(f"ratio one machine / cluster, the verify alone (a running cluster):     {lib:.2f}")
    return cli, lib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=("small", "large", "all"), default="all")
    parser.add_argument("--files", type=int, default=100_000, help="files of 6 KiB in the small case")
    parser.add_argument("--large-files", type=int, default=8, help="files in the large case (default 8)")
    parser.add_argument("--large-gib", type=int, default=1, help="GiB a file in the large case (default 1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    load_before = os.getloadavg()
    try:
        _subreaper()
    except RunFailed as exc:
        print(f"cluster_verify: {exc}", file=sys.stderr)
        return 2
    ratios: dict[str, float] = {}
    for case in ("small", "large") if args.case == "all" else (args.case,):
        work = Path(tempfile.mkdtemp(prefix=f"cablekeep-cluster-bench-{case}-", dir=args.workdir))
        (work / "tmp").mkdir()
        os.environ["TMPDIR"] = str(work / "tmp")  # the CLI's cluster scratch space
        os.environ["XDG_DATA_HOME"] = str(work / "xdg")  # the fixity history of these runs, not the user's
        try:
            started = time.perf_counter()
            if case == "small":
                bag = build(work, args.files)
                what = f"{args.files:,} files of 6 KiB"
            else:
                bag = build_large(work, args.large_files, args.large_gib)
                what = f"{args.large_files} files of {args.large_gib} GiB"
            print(f"{case}: bag of {what} built in {time.perf_counter() - started:.1f} s")
            ratios[case], _ = measure(work, bag, args.repeat)
        except (RunFailed, subprocess.CalledProcessError) as exc:
            print(f"cluster_verify: {exc}", file=sys.stderr)
            return 2
        finally:
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    for case, ratio in ratios.items():
        print(f"{'PASS' if ratio >= 0.9 else 'FAIL'}  {case}: verify --cluster local:2 at {ratio:.2f} "
              "of the one-machine verify (target >= 0.9)")
    return 0 if all(ratio >= 0.9 for ratio in ratios.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
