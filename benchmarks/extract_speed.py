"""CPU per page of reading a page as the crawl does: ``parse_page`` and the follower's per-page work.

For each page kind, runs in a fresh interpreter ``--pages`` times (default 1,000):

  parse_page(body, url, content_type, CABLEBROWSER, (ORIGINAL,))   as capture/reading.py calls it
  Follower.page(...)                                               capture/follow.py: cable row,
                                                                   citations and their URLs, the plan,
                                                                   each URL canonicalised and scoped,
                                                                   the metadata record's JSON

with a crawl state and WARC writer that only count what they are given (no SQLite, no WARC: those
are measured by crawl_vs_wget.py). Figures are CPU seconds of the process (``time.process_time``)
per page, the median of ``--rounds`` rounds; "before" runs the same code from the source tree of
``--before`` (a git commit, default the one before the speed work, extracted with ``git archive``),
alternating with "after" (this tree's ``src``), so both see the same load.

Page kinds: the benchmark cable page (benchmarks/_cable_pages.py: ~8 KB, full metadata, text with
three citations, 29 URLs; 256 different ones in turn, so that no cache of URLs or strings sees a
page again before 255 others, as in a crawl), and the sample site's own kinds: a table-layout cable, 2011 malformed
markup, the paragraphs, bare-text and no-text layouts, a soft 404, an original, a source document,
the index page, and windows-1251 / windows-1252 pages (tests/data/pages).

    .venv/bin/python benchmarks/extract_speed.py                   # about a minute
    .venv/bin/python benchmarks/extract_speed.py --rounds 3 --pages 300
    .venv/bin/python benchmarks/extract_speed.py --before none     # this tree only, no comparison

Targets: the benchmark cable page at most 0.12 ms of CPU a page; every other kind no slower than
before (within ``--tolerance``, default 10%, the noise of a shared machine). Exit 0 when every
target is met, 1 when one is not, 2 when a run did not do what the benchmark needs (a page read
as the wrong kind, no citations on the benchmark page, the before tree not available).
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_BEFORE = "f39b6dd"  # the commit before the extraction speed work
BENCH_TARGET_MS = 0.12

# Run in a fresh interpreter with the tree under test first on sys.path: prints one JSON line.
CHILD = r"""
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[2])
pages, rounds, only = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
from _cable_pages import page as bench_page
from cablekeep.cables import extract
from cablekeep.cables.profiles import CABLEBROWSER, ORIGINAL
from cablekeep.capture.follow import Follower
from cablekeep.capture.state import QueuedUrl
from cablekeep.capture.warc import WrittenRecord
from cablekeep.manifest.model import Follow, Site
from cablekeep.sample_site import cables as site

SITE, ORIGINALS = "http://127.0.0.1:8080", "http://127.0.0.2:8080"
DATA = Path(sys.argv[6])
by_id = {cable.id: cable for cable in site.SAMPLE_CABLES}

def cable(cable_id):
    return site.cable_page(by_id[cable_id], ORIGINALS), f"{SITE}/cable/{cable_id}", "text/html"

DISTINCT = 256  # benchmark pages cycled through, so no cache of URLs sees the same page twice in a row
BENCH = [(bench_page(n, 10000, ORIGINALS), f"{SITE}/cable/09ASTANA{n}") for n in range(1, DISTINCT + 1)]
KINDS = {
    "bench-cable": (BENCH[4][0], BENCH[4][1], "text/html", "cable"),
    "table-cable": (*cable("05ALMATY2503"), "cable"),
    "malformed-2011": (*cable("05TASHKENT1190"), "cable"),
    "paragraphs": (*cable("06ALMATY1001"), "cable"),
    "bare-text": (*cable("06ALMATY1002"), "cable"),
    "no-text": (*cable("06ALMATY1003"), "cable"),
    "soft-404": (site.soft_404_page("05ALMATY4353"), f"{SITE}/cable/05ALMATY4353", "text/html", "not-found"),
    "original": (site.original_page(by_id["05ALMATY2503"]), f"{ORIGINALS}/cable/2005/07/05ALMATY2503.html",
                 "text/html", "original"),
    "document": (site.document_page("UNHCR statement"), f"{ORIGINALS}/doc/unhcr.html", "text/html", "other"),
    "index": (site.index_page(), f"{SITE}/", "text/html", "other"),
    "cp1251": ((DATA / "cable-cp1251-bare.html").read_bytes(), f"{SITE}/cable/cp1251", "text/html", "cable"),
    "cp1252": ((DATA / "cable-cp1252-meta.html").read_bytes(), f"{SITE}/cable/cp1252", "text/html", "cable"),
}

class State:  # counts what the follower writes down; every URL is new
    def __init__(self):
        self.calls = 0
    def seen(self, key):
        return False
    def add_url(self, *args):
        self.calls += 1
    def add_cable(self, entry):
        self.calls += 1
    def add_citation(self, *args):
        self.calls += 1
    def add_original(self, *args):
        self.calls += 1

class Writer:
    def __init__(self):
        self.bytes = 0
    def write_metadata(self, url, record_id, payload, date):
        self.bytes += len(payload)

class Recorder:
    def __init__(self):
        self.writer = Writer()
    def out_of_scope(self, *args):
        pass
    def invalid_url(self, *args):
        pass

class Exch:
    def __init__(self, url):
        self.url, self.status = url, 200

follow = Follow(depth=2)
site_model = Site(cable_url=SITE + "/cable/{id}", original_url=ORIGINALS + "/cable/{id}.html")
date = datetime(2026, 12, 3, tzinfo=timezone.utc)
results = {}
for name, (body, url, content_type, want) in KINDS.items():
    if only and name not in only.split(","):
        continue
    state, recorder = State(), Recorder()
    follower = Follower(state, recorder, follow, site_model)
    queued = QueuedUrl(1, "key", url, url.split("/")[2], 0, "seed", None, 0)
    exchange = Exch(url)
    response = WrittenRecord("<urn:uuid:1>", "response", url, "x.warc.gz", 0, 1, date)
    record = extract.parse_page(body, url, content_type, CABLEBROWSER, (ORIGINAL,))
    if record.kind != want:
        print(json.dumps({"error": f"{name}: read as {record.kind}, expected {want}"}))
        sys.exit(2)
    if name == "bench-cable" and (len(record.citations) != 3 or len(record.links) < 25 or not record.text):
        print(json.dumps({"error": f"{name}: {len(record.citations)} citations, {len(record.links)} links"}))
        sys.exit(2)
    cycle = BENCH if name == "bench-cable" else [(body, url)]
    inputs = [(cycle[i % len(cycle)], QueuedUrl(i, "key", cycle[i % len(cycle)][1], queued.host, 0, "seed", None, 0))
              for i in range(pages)]
    parse_ms, total_ms = [], []
    for _ in range(rounds):
        start = time.process_time()
        for (body, url), queued in inputs:
            extract.parse_page(body, url, content_type, CABLEBROWSER, (ORIGINAL,))
        parsed = time.process_time()
        for (body, url), queued in inputs:
            record = extract.parse_page(body, url, content_type, CABLEBROWSER, (ORIGINAL,))
            exchange.url = url
            follower.page(queued, exchange, response, record)
        done = time.process_time()
        parse_ms.append((parsed - start) * 1000 / pages)
        total_ms.append((done - parsed) * 1000 / pages)
    results[name] = {"parse": min(parse_ms), "total": min(total_ms), "urls": state.calls}
print(json.dumps(results))
"""


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_child(src: Path, pages: int, rounds: int, only: str) -> dict[str, dict[str, float]]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(HERE), str(pages), str(rounds), only,
         str(ROOT / "tests" / "data" / "pages")],
        capture_output=True, text=True, check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"the run printed nothing (exit {completed.returncode}):\n{completed.stderr[-2000:]}")
    result = json.loads(lines[-1])
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def before_tree(ref: str, workdir: Path) -> Path:
    target = workdir / "before"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=False)
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages a round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best one counts (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="alternating before/after runs; median (default 3)")
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git commit to compare with, or 'none'")
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed slow-down of other kinds")
    parser.add_argument("--only", default="", help="comma-separated page kinds")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="extract-speed-"))
    try:
        trees = {"after": ROOT / "src"}
        if args.before != "none":
            trees = {"before": before_tree(args.before, workdir), **trees}
        print(f"extract_speed: {args.pages} pages x {args.rounds} rounds x {args.runs} runs; load {load()}")
        runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, src in trees.items():
                runs[name].append(run_child(src, args.pages, args.rounds, args.only))
    except RuntimeError as exc:
        print(f"extract_speed: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def median(tree: str, kind: str, what: str) -> float:
        return statistics.median(run[kind][what] for run in runs[tree])

    failed = []
    print(f"{'kind':16} {'parse before':>13} {'parse after':>12} {'all before':>11} {'all after':>10}  (ms CPU/page)")
    for kind in runs["after"][0]:
        after_parse, after_total = median("after", kind, "parse"), median("after", kind, "total")
        if "before" in runs:
            before_parse, before_total = median("before", kind, "parse"), median("before", kind, "total")
            shown = f"{before_parse:13.3f} {after_parse:12.3f} {before_total:11.3f} {after_total:10.3f}"
        else:
            before_total = float("inf")
            shown = f"{'':13} {after_parse:12.3f} {'':11} {after_total:10.3f}"
        verdict = ""
        if kind == "bench-cable" and after_total > BENCH_TARGET_MS:
            verdict = f"FAIL: over {BENCH_TARGET_MS} ms"
        elif after_total > before_total * (1 + args.tolerance):
            verdict = "FAIL: slower than before"
        if verdict:
            failed.append(kind)
        print(f"{kind:16} {shown}  {verdict}")
    print(f"load {load()}; {'all targets met' if not failed else 'failed: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
