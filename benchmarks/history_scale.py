"""The fixity history at scale: a check that found a million problems, recorded, listed and exported.

In a fresh temporary directory (``--workdir``, default the system temp dir), with a small real bag:

  record   a Report with ``--problems`` (default 1,000,000) ``missing`` problems, as verify_bag makes
           them for a bag whose files are all gone, recorded ``--events`` times (default 3) with
           record_verification; peak RSS of that process, and of building the Report alone
  list     ``cablekeep history BAG`` to /dev/null
  jsonl    ``cablekeep history --export jsonl`` to a file
  premis   ``cablekeep history --export premis`` to a file (parsed afterwards: well-formed)

Each stage is its own process; "peak RSS" is that process's (``wait4``'s ``ru_maxrss``). Sizes are
of the history database (with its WAL, after the last writer closed it) and of the export files.
The target (issue 11): a report with a million problems uses no more than a few hundred MB overall,
and the history row stays small.

    .venv/bin/python benchmarks/history_scale.py                              # a few seconds
    .venv/bin/python benchmarks/history_scale.py --problems 5000 --events 1000  # a long history: about a minute

"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENTIFIER = "urn:uuid:00000000-0000-4000-8000-00000000b1e5"


def _make_bag(root: Path) -> None:
    (root / "data").mkdir(parents=True)
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (root / "bag-info.txt").write_text(f"External-Identifier: {IDENTIFIER}\nPayload-Oxum: 0.0\n")
    (root / "manifest-sha256.txt").write_text("")


def _record(bag: Path, db: Path, problems: int, events: int) -> None:
    """Run in a child process: build the report, record it ``events`` times."""
    from cablekeep.fixity.audit import record_verification
    from cablekeep.fixity.history import FixityHistory
    from cablekeep.fixity.report import Problem, Report

    report = Report(str(bag), "full", algorithms=("sha256",), problems=[
        Problem("missing", f"data/cables/{n // 1000:04d}/cable-{n:07d}.warc.gz",
                "listed in manifest-sha256.txt but not in the bag")
        for n in range(problems)
    ])
    report_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with FixityHistory(db) as history:
        for _ in range(events):
            record_verification(history, bag, report)
    print(f"{report_rss:.1f} {time.perf_counter() - started:.2f}")


def _run(args: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Run ``args`` with its stdout in ``stdout`` (default /dev/null); (seconds, its peak RSS in MB).

    Popen starts it with vfork (no copy of this process's pages to count), and ``wait4`` reaps it
    to read its own ``ru_maxrss``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    with open(stdout if stdout is not None else os.devnull, "wb") as sink:
        process = subprocess.Popen(args, stdout=sink, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed with exit {process.returncode}")
    return seconds, usage.ru_maxrss / 1024


def _db_size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--bag", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "record":
        _record(args.bag, args.db, args.problems, args.events)
        return
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="history-scale-", dir=args.workdir) as tmp:
        work = Path(tmp)
        bag, db = work / "bag", work / "fixity.sqlite"
        _make_bag(bag)
        seconds, rss = _run([python, str(Path(__file__).resolve()), "--stage", "record", "--bag", str(bag),
                             "--db", str(db), "--problems", str(args.problems), "--events", str(args.events)],
                            stdout=work / "record.txt")
        report_rss, record_seconds = (work / "record.txt").read_text().split()
        print(f"{args.problems:,} problems a check, {args.events} checks recorded")
        print(f"record:  report built: peak RSS {float(report_rss):7.1f} MB; with recording {rss:7.1f} MB; "
              f"recording {float(record_seconds):.2f} s")
        print(f"history: {_db_size(db) / 1e6:8.2f} MB on disk ({_db_size(db) / args.events / 1e3:.0f} kB an event)")
        cli = [python, "-m", "cablekeep", "history"]
        seconds, rss = _run([*cli, str(bag), "--db", str(db)])
        print(f"list:    {seconds:6.2f} s, peak RSS {rss:7.1f} MB")
        for fmt in ("jsonl", "premis"):
            out = work / f"export.{fmt}"
            seconds, rss = _run([*cli, "--db", str(db), "--export", fmt], stdout=out)
            print(f"{fmt + ':':<8} {seconds:6.2f} s, peak RSS {rss:7.1f} MB, {out.stat().st_size / 1e6:8.2f} MB written")
        from lxml import etree

        etree.parse(str(work / "export.premis"))  # well-formed, or this raises


if __name__ == "__main__":
    main()
