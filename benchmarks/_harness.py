"""What the crawl benchmarks do around their measurements: each child process run to completion
and timed (wall clock, and its own CPU time and peak RSS from ``wait4``), and the targets printed.

Imported by the scripts beside it (benchmarks/ is not a package; each puts its folder on
``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class BenchmarkError(Exception):
    """A run that did not do what the benchmark needs (a failed exit, a deadline, a wrong count)."""


@dataclass
class Child:
    returncode: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float


def run_child(argv: Sequence[str], *, deadline: float, stdout: Path, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> Child:
    """``argv`` to completion in a fresh process (standard output into ``stdout``, standard error
    beside it as ``.stderr``): its wall time, and its own peak RSS and CPU time. Killed, and an
    error raised, past ``deadline`` seconds; an exit other than 0 is an error too."""
    errors = stdout.with_suffix(".stderr")
    with open(stdout, "wb") as out, open(errors, "wb") as err:
        start = time.monotonic()
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                break
            if time.monotonic() - start > deadline:
                os.kill(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL  # reaped by wait4: Popen must not wait again
                raise BenchmarkError(f"{' '.join(argv[:4])} ran past {deadline:.0f}s and was killed; see {errors}")
            time.sleep(0.005)
        seconds = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchmarkError(f"{' '.join(argv[:4])} exited {process.returncode}; see {errors}")
    return Child(process.returncode, seconds, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime)


def finish(targets: Sequence[tuple[str, bool]], work: Path, *, keep: bool) -> int:
    """Print each target PASS or FAIL, keep or remove the work directory; 0 when every target passed."""
    for text, passed in targets:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    if keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(passed for _, passed in targets) else 1
