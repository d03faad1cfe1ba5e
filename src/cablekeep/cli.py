"""The command line: parse, build the objects, call the core, render, choose the exit code.

The only module that imports click, prints or exits. Expected errors (the tree in
:mod:`cablekeep.errors`) are caught in one place, the command group :class:`CablekeepGroup`, for
every command: each becomes one line on stderr and its exit code; anything else is a crash and
keeps its traceback. A closed stdout (``cablekeep ... | head``) stops the command quietly with
exit 141, as a command killed by SIGPIPE would.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .fixity.audit import audit as audit_bags
from .fixity.audit import parse_age, parse_share, record_verification
from .errors import (
    EXIT_INVALID,
    EXIT_PIPE_CLOSED,
    BagUnreadableError,
    CablekeepError,
    RunInterrupted,
    UsageError,
)
from .fixity.verify import VerifyProgress, verify_bag
from .fixity.exports import export_jsonl, export_premis
from .fixity.history import FixityHistory
from .fixity.identity import BagIdentity
from .fixity.report import Report
from .fixity.serialized import is_serialized_bag_name, verify_serialized
from .fixity.warccheck import WarcFilesCheck, is_warc_target, verify_warc_files

# The crawl's modules (requests, lxml, warcio writing) and rich are imported by the commands that
# use them: `cablekeep verify` on a big bag should not pay their start-up time.
if TYPE_CHECKING:
    from rich.table import Table

    from .bagging.build import BagProgress
    from .capture.crawl import CrawlProgress
    from .run import RunSummary


def _error_line(exc: CablekeepError) -> None:
    click.echo(f"cablekeep: error: {exc}", err=True)


def _fail(exc: CablekeepError) -> NoReturn:
    _error_line(exc)
    if isinstance(exc, RunInterrupted):
        # stopped and closed: a further signal while Python shuts down must not change the exit code
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    sys.exit(exc.exit_code)


def _stdout_closed() -> NoReturn:
    """Whoever read stdout went away: stop quietly with 128 + SIGPIPE. stdout now points at
    /dev/null, so what is still buffered cannot fail again at exit ("Exception ignored")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file descriptor (click's CliRunner)
        pass
    sys.exit(EXIT_PIPE_CLOSED)


class CablekeepGroup(click.Group):
    """The commands, with the one place that turns the error tree into exit codes (as click's
    ``Command.main`` does for ``ClickException``): a :class:`CablekeepError` becomes one line on
    stderr and its exit code, a closed stdout exit 141; anything else keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a closed pipe shows here, not while Python shuts down
        except BrokenPipeError:
            _stdout_closed()
        except CablekeepError as exc:
            _fail(exc)


def _stopped_at_once() -> NoReturn:
    """A second interrupt: the crawl committed nothing more and closed its files; leave now,
    without waiting for the fetches in flight."""
    click.echo("cablekeep: stopped at once; every closed WARC is valid; run the same command again to resume",
               err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(RunInterrupted.exit_code)


@contextmanager
def _graceful_stop() -> Iterator[threading.Event]:
    """First SIGINT/SIGTERM: finish what is in flight and close the WARC. Second: stop at once.

    The handlers stay until the process ends: a second signal while the command is finishing
    must not fall back to Python's default (a traceback half-way through the summary)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            _stopped_at_once()
        stop.set()
        click.echo("cablekeep: stopping after the fetches in flight (again to stop at once)", err=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    yield stop


EntryCallback = Callable[[dict[str, object]], None]
ProgressCallback = Callable[["CrawlProgress"], None]


def _plain_line(entry: dict[str, object]) -> None:
    status = entry.get("status") or "-"
    reason = f"  ({entry['reason']})" if entry.get("reason") and entry["outcome"] != "ok" else ""
    click.echo(f"{entry['outcome']:<14} {status!s:>4} {entry['url']}{reason}")


def _progress_table(progress: CrawlProgress | None) -> Table:
    from rich.table import Table

    table = Table(title="cablekeep crawl", show_header=True, header_style="bold")
    for column in ("done", "queued", "failed", "MB", "pages/s", "busiest hosts"):
        table.add_column(column, justify="right" if column != "busiest hosts" else "left")
    if progress is None:
        table.add_row("0", "-", "0", "0.0", "-", "")
    else:
        hosts = ", ".join(f"{host} {count}" for host, count in progress.busiest_hosts)
        table.add_row(str(progress.done), str(progress.queued), str(progress.failed),
                      f"{progress.bytes / 1e6:.1f}", f"{progress.pages_per_second:.1f}", hosts)
    return table


@contextmanager
def _crawl_display(quiet: bool, log_json: bool) -> Iterator[tuple[EntryCallback, ProgressCallback | None]]:
    """On a terminal a live table (rich); off one, one plain line per URL; --log-json one JSON line."""
    if quiet:
        yield (lambda entry: None), None
    elif log_json:
        yield (lambda entry: click.echo(json.dumps(entry))), None
    elif sys.stdout.isatty():
        from rich.console import Console
        from rich.live import Live

        with Live(_progress_table(None), console=Console(), refresh_per_second=4) as live:
            yield (lambda entry: None), (lambda progress: live.update(_progress_table(progress)))
    else:
        yield _plain_line, None


_db_option = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=lambda: _default_db(),
    show_default="$XDG_DATA_HOME/cablekeep/fixity.sqlite", help="The fixity history (SQLite).",
)
_existing_dir = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group(cls=CablekeepGroup)
@click.version_option(__version__, prog_name="cablekeep")
def main() -> None:
    """Archive cable pages and their sources as WARCs in verified BagIt bags."""


def _render_summary(summary: RunSummary) -> None:
    crawl = summary.crawl
    bag = summary.bag
    click.echo("")
    click.echo(f"bag:       {bag.path}")
    click.echo(f"identifier {bag.external_identifier}; Payload-Oxum {bag.payload_oxum} ({bag.payload_files} files)")
    click.echo(f"WARCs:     {', '.join(p.name for p in crawl.warc_files) or 'none'}")
    outcomes = ", ".join(f"{name} {count}" for name, count in crawl.outcomes.most_common())
    click.echo(f"URLs:      {sum(crawl.outcomes.values())} ({outcomes})")
    click.echo(f"cables:    {crawl.cables} pages understood; {crawl.citations} citations: {crawl.citations_archived} "
               f"resolved to archived cables, {crawl.citations_missing} to cables the site does not have")
    if crawl.failed_hosts:
        worst = ", ".join(f"{host} ({n})" for host, n in crawl.failed_hosts.most_common(3))
        click.echo(f"failures:  {worst}")
    if crawl.resumed:
        click.echo("resumed:   this run continued an interrupted crawl")
    verdict = "valid (full fixity check of every file and WARC record)" if summary.report.ok else "INVALID"
    click.echo(f"verify:    {verdict}")
    for problem in summary.report.problems:
        click.echo(f"  {problem.kind}: {problem.path}: {problem.detail}")


@main.command()
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.option("--log-json", is_flag=True, help="One JSON crawl-log line per URL on stdout.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_db_option
def run(manifest: Path, quiet: bool, log_json: bool, as_json: bool, db: Path) -> None:
    """Crawl MANIFEST, package the WARCs as a bag under bags/, and verify it.

    Exit 0 when the bag is valid, 1 when it is not, 3 for a malformed manifest, 5 when none of its
    seeds was captured (each one's reason is named), 6 when an output could not be written, 7 when
    another run holds the collection, 130 when interrupted (run it again
    to resume)."""
    from .manifest import load_manifest
    from .run import run_manifest, summary_json

    loaded = load_manifest(manifest)
    with _graceful_stop() as stop, _crawl_display(quiet or as_json, log_json) as (on_entry, on_progress):
        summary = run_manifest(loaded, on_entry=on_entry, on_progress=on_progress, stop=stop)
    _record(db, summary.bag.path, summary.report)
    if as_json:
        click.echo(json.dumps(summary_json(summary), indent=2))
    else:
        _render_summary(summary)
    _exit_after_run(summary)


def _exit_after_run(summary: RunSummary) -> NoReturn:
    """1 for an invalid bag, else 0 (a run that captured none of its seeds raised CrawlFailedError: 5)."""
    sys.exit(EXIT_INVALID if not summary.report.ok else 0)


@contextmanager
def _verify_display(target: str, quiet: bool) -> Iterator[Callable[[VerifyProgress], None] | None]:
    """On a terminal, a live line: files, bytes, rate and time left; off one, nothing extra."""
    if quiet or not sys.stdout.isatty():
        yield None
        return
    import time

    from rich.console import Console
    from rich.live import Live

    started = time.monotonic()
    with Live("", console=Console(), refresh_per_second=4, transient=True) as live:

        def show(progress: VerifyProgress) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = progress.bytes_done / elapsed
            left = (progress.bytes_total - progress.bytes_done) / rate if rate > 0 else 0.0
            live.update(f"verifying {target}: {progress.files_done}/{progress.files_total} files, "
                        f"{progress.bytes_done / 1e6:.1f}/{progress.bytes_total / 1e6:.1f} MB, "
                        f"{rate / 1e6:.1f} MB/s, about {max(left, 0):.0f} s left")

        yield show


def _render_report(report: Report) -> None:
    kinds = Counter(p.kind for p in report.problems)
    if report.ok:
        what = "completeness and Payload-Oxum only: NOT a fixity check" if report.mode == "fast" else "full"
        click.echo(f"{report.target}: valid ({what}; {report.files_checked} files, {report.bytes_checked} bytes, "
                   f"{report.warc_records_checked} WARC records)")
    else:
        summary = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
        click.echo(f"{report.target}: INVALID ({summary})")
    for kind in sorted(kinds):
        for problem in (p for p in report.problems if p.kind == kind):
            extra = ""
            if problem.algorithm:
                extra = f" [{problem.algorithm} expected {problem.expected} found {problem.found}]"
            elif problem.offset is not None:
                extra = f" [offset {problem.offset}]"
            click.echo(f"  {kind}: {problem.path}: {problem.detail}{extra}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fast", is_flag=True, help="Completeness and Payload-Oxum only (not a fixity check).")
@click.option("--json", "as_json", is_flag=True, help="Reports as JSON (schema cablekeep.verify/1), one per line.")
@click.option("--against", type=_existing_dir, help="Compare the bag with another copy of it, file by file.")
@_db_option
def verify(paths: tuple[Path, ...], fast: bool, as_json: bool, against: Path | None, db: Path) -> None:
    """Verify bags (directories, or .tar, .tar.gz, .tgz and .zip files read without unpacking; full
    fixity by default), single WARC or ARC files, or a folder of them that is not a bag (records
    by type and problems by kind are counted); each check of a bag directory is recorded.

    Exit 0 when all are valid, 1 when any is invalid, 2 on a usage error, 4 when one could not
    be read at all."""
    if against is not None:
        if len(paths) != 1 or fast:
            raise UsageError("--against compares one bag with one copy, in full")
        _verify_against(paths[0], against, as_json)
    worst = 0
    for path in paths:
        warcs: WarcFilesCheck | None = None
        try:
            if is_warc_target(path):  # a WARC or ARC file, or a folder of them that is not a bag
                warcs = verify_warc_files(path)
                report = warcs.report()
            elif path.is_file() and is_serialized_bag_name(path):
                report = verify_serialized(path, fast=fast)
                _record(db, path, report, BagIdentity(os.path.abspath(path), None, None))
            else:
                with _verify_display(str(path), quiet=as_json or fast) as on_progress:
                    report = verify_bag(path, fast=fast, on_progress=on_progress)
                _record(db, path, report)
        except BagUnreadableError as exc:  # the others are still checked; the worst code wins
            _error_line(exc)
            worst = max(worst, exc.exit_code)
            continue
        if as_json:
            click.echo(json.dumps(report.to_json()))
        else:
            _render_report(report)
            if warcs is not None:
                _render_warc_counts(warcs)
        if not report.ok:
            worst = max(worst, EXIT_INVALID)
    sys.exit(worst)


def _render_warc_counts(check: WarcFilesCheck) -> None:
    """Records by type and problems by kind, after a WARC/ARC report."""
    records = ", ".join(f"{n} {kind}" for kind, n in sorted(check.types.items(), key=lambda item: (-item[1], item[0])))
    problems = ", ".join(f"{n} {kind}" for kind, n in sorted(check.problem_counts().items()))
    click.echo(f"  {check.files} file(s), {check.records} records: {records or 'none'}")
    click.echo(f"  problems by kind: {problems or 'none'}")


@main.command()
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("manifests/demo.yaml"), show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
def demo(manifest_path: Path, quiet: bool) -> None:
    """Serve the bundled sample cable site on loopback, archive it, verify the bag."""
    from .demo import run_demo

    if not manifest_path.exists():
        raise BagUnreadableError(f"{manifest_path} not found; run the demo from the cablekeep checkout (make demo)")
    click.echo(f"cablekeep {__version__} demo: serving the sample cable site on 127.0.0.1, originals on 127.0.0.2")
    with _graceful_stop() as stop, _crawl_display(quiet, False) as (on_entry, on_progress):
        summary = run_demo(manifest_path, on_entry=on_entry, on_progress=on_progress, stop=stop)
    _render_summary(summary)
    click.echo("\nwhat is in the bag:")
    for path in sorted(summary.bag.path.rglob("*")):
        if path.is_file():
            click.echo(f"  {path.relative_to(summary.bag.path)}  ({path.stat().st_size} bytes)")
    click.echo("\nsample site stopped. Check the bag again any time with:")
    click.echo(f"  .venv/bin/cablekeep verify {summary.bag.path}")
    _exit_after_run(summary)


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The page's URL (with a WARC: which capture to read; with HTML: to resolve links).")
@click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A manifest whose site.profile to use (default: the built-in layouts).")
def extract(source: Path, url: str | None, profile_path: Path | None) -> None:
    """Print what cablekeep understands of a page, as JSON: from an HTML file, or from a WARC and a URL.

    For developing and debugging a site profile."""
    from .cables.profiles import resolve_profile
    from .cables.extract import detect_profile, parse_page
    from .manifest import load_manifest
    from .capture.warc import read_response

    content_type: str | None = None
    if source.name.endswith((".warc", ".warc.gz")):
        if not url:
            raise UsageError("a WARC holds many pages: say which one with --url")
        try:
            body, content_type = read_response(source, url)
        except KeyError:
            raise UsageError(f"no response record for {url} in {source}; give the WARC-Target-URI exactly") from None
    else:
        body = source.read_bytes()
    page_url = url or source.resolve().as_uri()
    profile = resolve_profile(load_manifest(profile_path).site.profile) if profile_path else detect_profile(body, content_type)
    record = parse_page(body, page_url, content_type, profile)
    click.echo(json.dumps({"profile": profile.name, **record.to_json()}, indent=2, ensure_ascii=False))


# -- fixity history, audits, repair ----------------------------------------------------------------

def _default_db() -> Path:
    """Where fixity events go unless --db says: $XDG_DATA_HOME/cablekeep/fixity.sqlite."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cablekeep" / "fixity.sqlite"


def _record(db: Path, bag: Path, report: Report, identity: BagIdentity | None = None) -> None:
    with FixityHistory(db) as history:
        record_verification(history, bag, report, identity=identity)


@main.command()
@click.argument("bag", required=False, type=click.Path(path_type=Path))
@click.option("--export", "fmt", type=click.Choice(["premis", "jsonl"]),
              help="Write the events to stdout as PREMIS 3 XML or one JSON event a line.")
@_db_option
def history(bag: Path | None, fmt: str | None, db: Path) -> None:
    """Show or export the fixity events of BAG (recognised after a move too), or of every bag."""
    with FixityHistory(db) as store:
        events = list(store.iter_events(bag))
    if fmt == "premis":
        export_premis(events, sys.stdout.buffer)
    elif fmt == "jsonl":
        export_jsonl(events, sys.stdout)
    if fmt:
        return
    if not events:
        click.echo("no fixity events recorded" + (f" for {bag}" if bag else ""))
    for event in events:
        click.echo(f"{event.time:%Y-%m-%d %H:%M:%S}Z {event.event_type:<12} {event.mode:<6} {event.outcome:<10} "
                   f"{event.bag.path}: {event.detail}")
        for problem in event.problems:
            click.echo(f"  {problem.kind}: {problem.path}: {problem.detail}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--older-than", metavar="AGE", help="Only bags last fully checked longer ago than AGE: 90d, 12h, 2w.")
@click.option("--sample", metavar="SHARE", help="Hash this share of each bag's files per run (5%); a cycle covers all.")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10), help="Re-reads after a read error.")
@click.option("--max-depth", type=click.IntRange(0), metavar="N",
              help="Look for bags at most N folders below each PATH (default: any depth).")
@click.option("--json", "as_json", is_flag=True, help="The audit as JSON (schema cablekeep.audit/1).")
@_db_option
def audit(paths: tuple[Path, ...], older_than: str | None, sample: str | None, retries: int, max_depth: int | None,
          as_json: bool, db: Path) -> None:
    """Verify the bags in PATHS (bags, or folders holding bags at any depth) that are due, and record each
    check. Finding no bag at all is an error (exit 4), not a passed audit."""
    age = parse_age(older_than) if older_than is not None else None
    share = parse_share(sample) if sample is not None else None
    with FixityHistory(db) as store:
        result = audit_bags(list(paths), store, older_than=age, sample=share, rng=random.SystemRandom(),
                            retries=retries, max_depth=max_depth)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        for bag in result.bags:
            click.echo(f"{bag.path}: {bag.outcome or bag.status}: {bag.detail}")
            for finding in bag.findings:
                click.echo(f"  {finding.kind}: {finding.path}: {finding.detail}")
    if result.ok:
        sys.exit(0)
    sys.exit(BagUnreadableError.exit_code if any(b.status == "unreadable" for b in result.bags) else EXIT_INVALID)


@main.command()
@click.argument("bag", type=_existing_dir)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The WACZ file (default: BAG.wacz beside BAG).")
def wacz(bag: Path, out: Path | None) -> None:
    """Package a bag made by `cablekeep run` as a WACZ 1.1.1 file for ReplayWeb.page and pywb.

    The bag is verified in full first: a bag that fails fixity is not packaged (exit 1)."""
    from .access.wacz import write_wacz

    report = verify_bag(bag)
    if not report.ok:
        _render_report(report)
        click.echo(f"{bag}: not packaged, because it fails fixity; repair it first (cablekeep repair)", err=True)
        sys.exit(EXIT_INVALID)
    ref = write_wacz(bag, out)
    click.echo(f"{ref.path}: WACZ 1.1.1, {ref.warcs} WARC file(s), {ref.pages} cable page(s), index {ref.index}, "
               f"{ref.bytes} bytes")


@main.command()
@click.argument("bag", type=_existing_dir)
@click.option("--from", "source", required=True, type=_existing_dir, help="Another copy of the same bag.")
@_db_option
def repair(bag: Path, source: Path, db: Path) -> None:
    """Replace BAG's files that fail fixity with the copy's, only where the copy's match BAG's manifests."""
    from .fixity.repair import repair as repair_bag

    with FixityHistory(db) as store:
        result = repair_bag(bag, source, store)
    for leftover in result.cleaned:
        click.echo(f"removed {leftover}: a temporary file an interrupted repair had left", err=True)
    click.echo(f"{bag}: {result.event.detail}")
    _render_report(result.after)
    sys.exit(0 if result.ok else EXIT_INVALID)


def _verify_against(bag: Path, copy: Path, as_json: bool) -> NoReturn:
    from .fixity.repair import compare_copies

    comparison = compare_copies(bag, copy)
    if as_json:
        click.echo(json.dumps(comparison.to_json()))
    else:
        verdict = "" if comparison.same_bag else "; NOT copies of one bag (their tag manifests differ)"
        click.echo(f"{bag} against {copy}: {len(comparison.differences)} file(s) differ{verdict}")
        for diff in comparison.differences:
            note = "  (repairable from the copy)" if diff.repairable else ""
            click.echo(f"  {diff.path}: bag {diff.in_bag}, copy {diff.in_copy}{note}")
    sys.exit(0 if comparison.ok else EXIT_INVALID)


@contextmanager
def _bag_display(target: Path) -> Iterator[Callable[[BagProgress], None] | None]:
    """On a terminal, a live line: files, bytes, rate and time left; off one, nothing extra."""
    if not sys.stdout.isatty():
        yield None
        return
    import time

    from rich.console import Console
    from rich.live import Live

    started = time.monotonic()
    with Live("", console=Console(), refresh_per_second=4, transient=True) as live:

        def show(progress: BagProgress) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = progress.bytes_done / elapsed
            left = (progress.bytes_total - progress.bytes_done) / rate if rate > 0 else 0.0
            live.update(f"bagging {target}: {progress.files_done}/{progress.files_total} files, "
                        f"{progress.bytes_done / 1e6:.1f}/{progress.bytes_total / 1e6:.1f} MB, "
                        f"{rate / 1e6:.1f} MB/s, about {max(left, 0):.0f} s left")

        yield show


@main.command("bag")
@click.argument("source", type=_existing_dir)
@click.option("--in-place", is_flag=True, help="Turn SOURCE itself into a bag (its files move into data/).")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), show_default="bags",
              help="Where the new bag goes (not with --in-place).")
@click.option("--algorithm", "algorithms", multiple=True, default=("sha512", "sha256"), show_default=True,
              type=click.Choice(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]), help="Repeat for several.")
@click.option("--info", "info_items", multiple=True, metavar="LABEL=VALUE", help="A bag-info.txt field; repeatable.")
@click.option("--processes", type=click.IntRange(1, 256), help="Hashing processes (default: one per core).")
def bag_command(source: Path, in_place: bool, output: Path | None, algorithms: tuple[str, ...],
                info_items: tuple[str, ...], processes: int | None) -> None:
    """Bag any directory of files as BagIt 1.0, each file read once for all algorithms.

    An empty directory makes a bag with an empty payload (Payload-Oxum 0.0)."""
    from .bagging.build import bag_directory

    if in_place and output is not None:
        raise UsageError("--in-place turns SOURCE itself into a bag; --output is for a copy: give one of them")
    info: dict[str, list[str]] = {}
    for item in info_items:
        label, sep, value = item.partition("=")
        if not sep or not label.strip():
            raise UsageError(f"--info {item!r}: write it as LABEL=VALUE")
        info.setdefault(label.strip(), []).append(value)
    with _bag_display(source) as on_progress:
        ref = bag_directory(source, dest_parent=None if in_place else (output or Path("bags")), in_place=in_place,
                            algorithms=algorithms, info=info, processes=processes, on_progress=on_progress)
    click.echo(f"bag: {ref.path}")
    click.echo(f"Payload-Oxum {ref.payload_oxum} ({ref.payload_files} files); {', '.join(ref.algorithms)}; "
               f"External-Identifier {ref.external_identifier}")
