"""What the index witness (cablekeep.fixity.witness) adds to a full verify of a cablekeep bag.

Builds, in a fresh temporary directory (``--workdir``), a bag of ``--records`` (default 100,000)
response records written with warcio into gzipped WARCs of 25,000 records, with the three files a
crawl leaves beside them in the crawler's formats: data/index.cdxj (cdxj.index_prefix +
format_line, recorder.index_fields' fields), data/crawl-log.jsonl (one entry per fetch naming its
record, with the keys capture.recorder.log writes, in its order) and data/cables.jsonl (one cable
per ten pages); bag-info.txt says cablekeep. Then times
``verify_bag(bag, processes=2)`` with the witness and without it (the scan asked for no fingerprint and
``DirectorySource.witness`` returning nothing), alternately, ``--repeat`` times each (medians).
Target (issue 12): the witness adds at most 10 %. It also says how many of the verifies with the
witness had to compare the three files line by line (none should: the bag agrees with its index,
so the fingerprints agree).

    PYTHONPATH=src .venv/bin/python benchmarks/witness_cost.py            # about 2 minutes
    PYTHONPATH=src .venv/bin/python benchmarks/witness_cost.py --records 20000 --repeat 3

It also times the whole command, as benchmarks/verify_vs_bagit.py times its "full" case:
``cablekeep verify BAG --db ...`` in a fresh interpreter each time, with the witness and without
it (the same switch, set in that interpreter before the command runs), start-up included.

Exit 0 when the target is met, 1 when not, 2 when a verify did not find the bag valid.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bagit
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from cablekeep.capture.cdxj import format_line, index_prefix
from cablekeep.fixity import dirsource, witness
from cablekeep.fixity.verify import verify_bag

PER_WARC = 25_000


def build(root: Path, records: int) -> Path:
    bag = root / "bag"
    (bag / "warc").mkdir(parents=True)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    index: list[str] = []
    log: list[str] = []
    cables: list[str] = []
    for first in range(0, records, PER_WARC):
        name = f"crawl-{first // PER_WARC:05d}.warc.gz"
        with open(bag / "warc" / name, "wb") as out:
            writer = WARCWriter(out, gzip=True)
            writer.write_record(writer.create_warcinfo_record(name, {"software": "cablekeep/1.0 (benchmark)"}))
            for n in range(first, min(first + PER_WARC, records)):
                url = f"http://127.0.0.1:8000/cable/{n:06d}"
                date = start + timedelta(seconds=n)
                warc_date = date.strftime("%Y-%m-%dT%H:%M:%SZ")
                body = f"<html><body><h1>cable {n}</h1>{'text ' * 40}</body></html>".encode()
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html"),
                                                      ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
                record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                   http_headers=headers, warc_headers_dict={"WARC-Date": warc_date})
                offset = out.tell()
                writer.write_record(record)
                record_id = record.rec_headers.get_header("WARC-Record-ID")
                fields = {"url": url, "mime": "text/html", "status": "200",
                          "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
                          "length": str(out.tell() - offset), "offset": str(offset), "filename": name,
                          "warc_date": warc_date, "record_id": record_id}
                index.append(format_line(index_prefix(url, date), fields))
                log.append(json.dumps({"url": url, "outcome": "ok", "status": 200, "reason": "OK", "bytes": len(body),
                                       "time": warc_date, "depth": 0, "hop": "seed", "via": None, "attempts": 1,
                                       "warc_filename": name, "warc_record_id": record_id}))
                if n % 10 == 0:
                    cables.append(json.dumps({"id": f"C{n:06d}", "url": url, "captured": warc_date,
                                              "warc_record_id": record_id, "warc_filename": name}))
    (bag / "index.cdxj").write_text("\n".join(sorted(index)) + "\n", encoding="utf-8")
    (bag / "crawl-log.jsonl").write_text("\n".join(log) + "\n", encoding="utf-8")
    (bag / "cables.jsonl").write_text("\n".join(cables) + "\n", encoding="utf-8")
    bagit.make_bag(str(bag), {"Bag-Software-Agent": "cablekeep/1.0 (benchmark)"}, processes=2,
                   checksums=["sha256"])
    return bag


@contextmanager
def no_witness() -> Iterator[None]:
    source = dirsource.DirectorySource
    saved = source.has_index, source.witness
    source.has_index = lambda self: False  # type: ignore[method-assign]  # the benchmark's switch
    source.witness = lambda self, scans: []  # type: ignore[method-assign]
    try:
        yield
    finally:
        source.has_index, source.witness = saved  # type: ignore[method-assign]


EXACT_READS: list[int] = []  # each time the witness compared the three files line by line (the fingerprints disagreed)


def count_exact_reads() -> None:
    real = witness.Witness.read_files

    def counting(self: witness.Witness, root: Path) -> None:
        EXACT_READS.append(1)
        real(self, root)

    witness.Witness.read_files = counting  # type: ignore[method-assign]  # the benchmark's probe


def cpu_seconds() -> float:
    """CPU seconds of this process and of its reaped children (each verify's pool is shut down, so reaped)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(bag: Path, witness: bool, cpu: list[float] | None = None) -> float:
    began, began_cpu = time.perf_counter(), cpu_seconds()
    if witness:
        report = verify_bag(bag, processes=2)
    else:
        with no_witness():
            report = verify_bag(bag, processes=2)
    took = time.perf_counter() - began
    if cpu is not None:
        cpu.append(cpu_seconds() - began_cpu)
    if report.verdict != "valid" or report.warc_records_checked == 0:
        print(f"verify found the bag {report.verdict}: {report.problems[:3]}", file=sys.stderr)
        sys.exit(2)
    return took


COMMAND = """
import sys
sys.path.insert(0, {bench!r})
import witness_cost
from cablekeep.cli import main
if sys.argv[1] == "without":
    witness_cost.no_witness().__enter__()
sys.argv = ["cablekeep", "verify", {bag!r}, "--db", {db!r}]
main()
"""


def timed_command(bag: Path, db: Path, witness: bool) -> float:
    """Wall seconds of ``cablekeep verify BAG`` in a fresh interpreter (exit 0 required)."""
    script = COMMAND.format(bench=str(Path(__file__).resolve().parent), bag=str(bag), db=str(db))
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, "with" if witness else "without"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - began
    if done.returncode != 0:
        print(f"cablekeep verify exited {done.returncode}: {done.stderr[-500:]}", file=sys.stderr)
        sys.exit(2)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="witness-cost-", dir=args.workdir) as tmp:
        began = time.perf_counter()
        bag = build(Path(tmp), args.records)
        print(f"built a bag of {args.records:,} records in {time.perf_counter() - began:.1f} s")
        count_exact_reads()
        timed(bag, True)  # warm the page cache
        without: list[float] = []
        with_: list[float] = []
        cpu_without: list[float] = []
        cpu_with: list[float] = []
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        for _ in range(args.repeat):
            without.append(timed(bag, False, cpu_without))
            with_.append(timed(bag, True, cpu_with))
        a, b = statistics.median(without), statistics.median(with_)
        added = (b - a) / a * 100
        ca, cb = statistics.median(cpu_without), statistics.median(cpu_with)
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print(f"full verify without the witness: {a:.2f} s, {ca:.2f} CPU s (runs {', '.join(f'{t:.2f}' for t in without)})")
        print(f"full verify with the witness:    {b:.2f} s, {cb:.2f} CPU s (runs {', '.join(f'{t:.2f}' for t in with_)})")
        print(f"exact line-by-line comparisons run: {len(EXACT_READS)} of {args.repeat + 1} verifies with the witness "
              "(0 when the fingerprints agree, as they must for this bag)")
        print(f"the witness adds {added:+.1f} % wall, {(cb - ca) / ca * 100:+.1f} % CPU (target: at most 10 % wall)")
        db = Path(tmp) / "fixity.sqlite"
        commands: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):
            for witness_on in (False, True):
                commands[witness_on].append(timed_command(bag, db, witness_on))
        ca, cb = statistics.median(commands[False]), statistics.median(commands[True])
        command_added = (cb - ca) / ca * 100
        print(f"whole command without the witness: {ca:.2f} s (runs {', '.join(f'{t:.2f}' for t in commands[False])})")
        print(f"whole command with the witness:    {cb:.2f} s (runs {', '.join(f'{t:.2f}' for t in commands[True])})")
        print(f"as whole commands the witness adds {command_added:+.1f} % wall (target: at most 10 %)")
        return 0 if added <= 10 and command_added <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
