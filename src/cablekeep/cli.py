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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .fixity.audit import audit as audit_bags
from .fixity.audit import parse_age, parse_share, record_verification
from .errors import (
    EXIT_INCOMPLETE,
    EXIT_INVALID,
    EXIT_PIPE_CLOSED,
    BagUnreadableError,
    CablekeepError,
    ManifestError,
    RunInterrupted,
    UsageError,
)
from .fixity.verify import VerifyProgress, verify_bag
from .fixity.events import FixityEvent
from .fixity.exports import export_jsonl, export_premis
from .fixity.history import FixityHistory
from .fixity.identity import BagIdentity
from .fixity.names import escape_name
from .fixity.report import Report, report_lines
from .fixity.serialized import is_serialized_bag_name, verify_serialized
from .fixity.warccheck import WarcFilesCheck, is_warc_target, verify_warc_files

# The crawl's modules (requests, lxml, warcio writing) and rich are imported by the commands that
# use them: `cablekeep verify` on a big bag should not pay their start-up time.
if TYPE_CHECKING:
    from rich.table import Table

    from .bagging.build import BagProgress
    from .capture.crawl import CrawlProgress
    from .handoff.deliver import Destination
    from .handoff.profiles import ProfileReport
    from .manifest import Manifest
    from .cluster.session import ClusterSession
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
    "--db", type=click.Path(path_type=Path), default=lambda: _default_db(),
    show_default="$XDG_DATA_HOME/cablekeep/fixity.sqlite", help="The fixity history (SQLite).",
)
_existing_dir = click.Path(exists=True, file_okay=False, path_type=Path)
_cluster_option = click.option(
    "--cluster", metavar="ADDRESS|local[:N]",
    help="Hash on a Dask cluster: a scheduler (tcp://host:8786) or N worker processes here (local:N); "
         "needs the cluster extra.",
)


@contextmanager
def _cluster(value: str | None) -> Iterator[ClusterSession | None]:
    """The cluster ``--cluster`` names, open for the block; Dask is imported only here."""
    if value is None:
        yield None
        return
    from .cluster.address import parse_cluster

    spec = parse_cluster(value, default_workers=os.cpu_count() or 1)
    try:
        from .cluster.dask import open_cluster
    except ImportError as exc:
        raise UsageError(f"--cluster needs Dask ({exc}): pip install 'cablekeep[cluster]'") from exc
    with open_cluster(spec) as session:
        yield session


@click.group(cls=CablekeepGroup)
@click.version_option(__version__, prog_name="cablekeep")
def main() -> None:
    """Archive cable pages and their sources as WARCs in verified BagIt bags."""


def _echo_cleaned(cleaned: Sequence[Path]) -> None:
    for path in cleaned:
        click.echo(f"cablekeep: removed {path}, left by an interrupted run", err=True)


def _render_summary(summary: RunSummary) -> None:
    _echo_cleaned(summary.cleaned)
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
    if crawl.cables_without_text:
        click.echo(f"warnings:  {crawl.cables_without_text} cable pages without text (see the crawl log's warning)")
    if crawl.resumed:
        click.echo("resumed:   this run continued an interrupted crawl")
    verdict = {
        "valid": "valid (full fixity check of every file and WARC record)",
        "invalid": "INVALID",
        "incomplete": "INCOMPLETE (nothing failed, but not everything could be checked)",
    }[summary.report.verdict]
    click.echo(f"verify:    {verdict}")
    for problem in summary.report.problems:
        click.echo(f"  {problem.kind}: {problem.path}: {problem.detail}")
    if summary.archive is not None:
        click.echo(f"archive:   {summary.archive}")
    if summary.profile_report is not None:
        _render_profile_report(summary.profile_report)


@main.command()
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.option("--log-json", is_flag=True, help="One JSON crawl-log line per URL on stdout.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_db_option
@click.option(
    "--cluster", metavar="ADDRESS|local[:N]",
    help="Crawl on a Dask cluster, sharded by host: a scheduler (tcp://host:8786) or N worker processes "
         "here (local:N); the manifest's cluster: key when not given. Needs the cluster extra.",
)
def run(manifest: Path, quiet: bool, log_json: bool, as_json: bool, db: Path, cluster: str | None) -> None:
    """Crawl MANIFEST, package the WARCs as a bag under bags/, and verify it.

    Exit 0 when the bag is valid, 1 when it is not, 3 for a malformed manifest, 5 when none of its
    seeds was captured (each one's reason is named), 6 when an output could not be written, 7 when
    another run holds the collection, 130 when interrupted (run it again
    to resume)."""
    from .manifest import load_manifest
    from .run import run_manifest, summary_json

    loaded = load_manifest(manifest)
    with _cluster(cluster or loaded.cluster) as session, _graceful_stop() as stop, \
            _crawl_display(quiet or as_json, log_json) as (on_entry, on_progress):
        summary = run_manifest(loaded, on_entry=on_entry, on_progress=on_progress, stop=stop, cluster=session)
    _record(db, summary.bag.path, summary.report)
    if as_json:
        click.echo(json.dumps(summary_json(summary), indent=2))
    else:
        _render_summary(summary)
    _exit_after_run(summary)


def _exit_after_run(summary: RunSummary) -> NoReturn:
    """1 for an invalid bag or one that breaks its profile, else 0 (a run that captured none of its seeds raised
    CrawlFailedError: 5)."""
    breaks_profile = summary.profile_report is not None and not summary.profile_report.ok
    sys.exit(_worst(_verdict_code(summary.report, allow_unchecked=False), EXIT_INVALID if breaks_profile else 0))


def _verdict_code(report: Report, *, allow_unchecked: bool) -> int:
    """The exit code a report's verdict word means: 0 valid, 1 invalid, 8 incomplete (0 when allowed)."""
    if report.verdict == "invalid":
        return EXIT_INVALID
    if report.verdict == "incomplete" and not allow_unchecked:
        return EXIT_INCOMPLETE
    return 0


# How bad each exit code is, for a command that checks several things: the worst one wins.
_SEVERITY = {0: 0, EXIT_INCOMPLETE: 1, EXIT_INVALID: 2}


def _worst(*codes: int) -> int:
    return max(codes, key=lambda code: _SEVERITY.get(code, 3 + code))


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
    elif report.verdict == "incomplete":
        unchecked = len(report.not_checked)
        click.echo(f"{report.target}: INCOMPLETE (nothing failed, but {unchecked} thing(s) could not be checked: "
                   f"neither valid nor invalid)")
    else:
        summary = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
        click.echo(f"{report.target}: INVALID ({summary})")
    for line in report_lines(report):
        click.echo(line)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fast", is_flag=True, help="Completeness and Payload-Oxum only (not a fixity check).")
@click.option("--json", "as_json", is_flag=True, help="Reports as JSON (schema cablekeep.verify/1), one per line.")
@click.option("--against", type=_existing_dir, help="Compare the bag with another copy of it, file by file.")
@click.option("--allow-unchecked", is_flag=True,
              help="Exit 0 when nothing failed although some things could not be checked (they are still listed).")
@_cluster_option
@_db_option
def verify(paths: tuple[Path, ...], fast: bool, as_json: bool, against: Path | None, allow_unchecked: bool,
           cluster: str | None,
           db: Path) -> None:
    """Verify bags (directories, or .tar, .tar.gz, .tgz and .zip files read without unpacking; full
    fixity by default), single WARC or ARC files, or a folder of them that is not a bag (records
    by type and problems by kind are counted); each check of a bag directory is recorded.

    Exit 0 when all are valid, 1 when any is invalid, 8 when nothing failed but something could not
    be checked (INCOMPLETE; 0 with --allow-unchecked), 2 on a usage error, 4 when one could not be
    read at all."""
    if against is not None:
        if len(paths) != 1 or fast or cluster is not None:
            raise UsageError("--against compares one bag with one copy, in full, on this machine")
        _verify_against(paths[0], against, as_json)
    with _cluster(None if fast else cluster) as session:  # a fast check hashes nothing
        worst = _verify_paths(paths, fast, as_json, db, session, allow_unchecked)
    sys.exit(worst)


def _verify_paths(paths: tuple[Path, ...], fast: bool, as_json: bool, db: Path, session: ClusterSession | None,
                  allow_unchecked: bool) -> int:
    """Verify each path (bag directories on ``session``'s cluster when there is one); the worst exit code."""
    executor = None if session is None else session.executor
    processes = None if session is None else session.slots
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
                    report = verify_bag(path, fast=fast, on_progress=on_progress, executor=executor,
                                        processes=processes)
                _record(db, path, report)
        except BagUnreadableError as exc:  # the others are still checked; the worst code wins
            _error_line(exc)
            worst = _worst(worst, exc.exit_code)
            continue
        if as_json:
            click.echo(json.dumps(report.to_json()))
        else:
            _render_report(report)
            if warcs is not None:
                _render_warc_counts(warcs)
            if report.verdict == "incomplete" and allow_unchecked:
                click.echo(f"{report.target}: accepted with --allow-unchecked: what could not be checked is listed above")
        worst = _worst(worst, _verdict_code(report, allow_unchecked=allow_unchecked))
    return worst


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
    """Record the check; a history that cannot be written is a warning: the verdict is still
    printed and still sets the exit code."""
    try:
        with FixityHistory(db) as history:
            record_verification(history, bag, report, identity=identity)
    except CablekeepError as exc:
        click.echo(f"cablekeep: warning: this check of {bag} was NOT recorded in the fixity history: {exc} "
                   "(the verdict and exit code below are the check's own)", err=True)


@main.command()
@click.argument("bag", required=False, type=click.Path(path_type=Path))
@click.option("--export", "fmt", type=click.Choice(["premis", "jsonl"]),
              help="Write the events to stdout as PREMIS 3 XML or one JSON event a line.")
@click.option("--identifier", metavar="ID", help="Every copy of the bag with this External-Identifier, a section each.")
@click.option("--all-copies", is_flag=True, help="With BAG: every copy of BAG (same External-Identifier), a section each.")
@click.option("--jobs", is_flag=True, help="The scheduled job runs instead (run-due): started, job, outcome, duration, why.")
@_db_option
def history(bag: Path | None, fmt: str | None, identifier: str | None, all_copies: bool, jobs: bool, db: Path) -> None:
    """Show or export the fixity events of BAG (this copy, recognised after a move too), of every
    copy of one bag (--identifier, --all-copies), or of every bag. Events are read and written one
    at a time; each lists the first 1,000 problems of each kind and counts the rest. With --jobs, the
    runs of scheduled jobs (of the collection named by BAG, when given)."""
    if jobs:
        _show_job_runs(bag, fmt, identifier, all_copies, db)
        return
    if identifier is not None and bag is not None:
        raise UsageError("give BAG or --identifier, not both (BAG --all-copies shows every copy of BAG)")
    if all_copies and bag is None:
        raise UsageError("--all-copies needs BAG (or use --identifier ID)")
    with FixityHistory(db) as store:
        if all_copies:
            assert bag is not None
            identifier = store.identifier_of(bag)
            if identifier is None:
                raise UsageError(f"the fixity history knows no copies of {bag}: it was never checked, or has "
                                 "no External-Identifier")
        if fmt is not None:
            events = store.iter_events(None if identifier else bag, identifier=identifier)
            if fmt == "premis":
                export_premis(events, sys.stdout.buffer)
            else:
                export_jsonl(events, sys.stdout)
        elif identifier is not None:
            _show_copies(store, identifier)
        elif not _show_events(store.iter_events(bag)):
            click.echo("no fixity events recorded" + (f" for {bag}" if bag else ""))


def _show_job_runs(collection: Path | None, fmt: str | None, identifier: str | None, all_copies: bool,
                   db: Path) -> None:
    from .schedule.ledger import JobLedger

    if identifier is not None or all_copies or fmt == "premis":
        raise UsageError("--jobs lists job runs: give a collection name or nothing, and --export jsonl at most")
    count = 0
    with JobLedger(db) as ledger:
        for run in ledger.iter_runs(None if collection is None else str(collection)):
            count += 1
            if fmt == "jsonl":
                click.echo(json.dumps(run.to_json()))
                continue
            took = "-" if run.duration is None else f"{run.duration:.1f} s"
            click.echo(f"{_when(run.started)} {run.collection} {run.job:<6} {run.outcome:<11} {took:>9}  "
                       f"{escape_name(_one_line(run.reason))}")
    if not count and fmt is None:
        click.echo("no job runs recorded" + (f" for {collection}" if collection else ""))


def _show_events(events: Iterator[FixityEvent], indent: str = "") -> int:
    """Print events as they are read; returns how many."""
    count = 0
    for event in events:
        count += 1
        click.echo(f"{indent}{event.time:%Y-%m-%d %H:%M:%S}Z {event.event_type:<12} {event.mode:<6} "
                   f"{event.outcome:<10} {escape_name(event.bag.path)}: {escape_name(event.detail)}")
        if event.problems:
            click.echo(f"{indent}  problems: {event.problems_summary()}")
        for problem in event.problems:
            click.echo(f"{indent}  {problem.kind}: {escape_name(problem.path)}: {escape_name(problem.detail)}")
    return count


def _show_copies(store: FixityHistory, identifier: str) -> None:
    """Every copy of one bag: a line each side by side, then a section of events each."""
    copies = store.copies(identifier)
    if not copies:
        click.echo(f"no fixity events recorded for {escape_name(identifier)}")
        return
    click.echo(f"{escape_name(identifier)}: {len(copies)} cop{'y' if len(copies) == 1 else 'ies'}")
    for n, copy in enumerate(copies, 1):
        last = "never checked" if copy.last_time is None else f"last {copy.last_outcome} {copy.last_time:%Y-%m-%d %H:%M:%S}Z"
        click.echo(f"  copy {n}: {escape_name(copy.path)}: {copy.events} event(s), {last}")
    for n, copy in enumerate(copies, 1):
        click.echo(f"\ncopy {n}: {escape_name(copy.path)}")
        _show_events(store.iter_events(copy), indent="  ")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--older-than", metavar="AGE", help="Only bags last fully checked longer ago than AGE: 90d, 12h, 2w.")
@click.option("--sample", metavar="SHARE", help="Hash this share of each bag's files per run (5%); a cycle covers all.")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10), help="Re-reads after a read error.")
@click.option("--max-depth", type=click.IntRange(0), metavar="N",
              help="Look for bags at most N folders below each PATH (default: any depth).")
@click.option("--allow-unchecked", is_flag=True,
              help="Exit 0 when nothing failed although some things could not be checked (they are still listed).")
@click.option("--json", "as_json", is_flag=True, help="The audit as JSON (schema cablekeep.audit/1).")
@_cluster_option
@_db_option
def audit(paths: tuple[Path, ...], older_than: str | None, sample: str | None, retries: int, max_depth: int | None,
          allow_unchecked: bool, as_json: bool, cluster: str | None, db: Path) -> None:
    """Verify the bags in PATHS (bags, or folders holding bags at any depth) that are due, and record each
    check. Finding no bag at all is an error (exit 4), not a passed audit.

    Exit 0 when every bag checked is valid, 1 when one is invalid, 8 when nothing failed but something
    could not be checked (0 with --allow-unchecked), 4 when a bag could not be read."""
    age = parse_age(older_than) if older_than is not None else None
    share = parse_share(sample) if sample is not None else None
    with FixityHistory(db) as store, _cluster(cluster) as session:  # the history is written here, once
        result = audit_bags(list(paths), store, older_than=age, sample=share, rng=random.SystemRandom(),
                            retries=retries, max_depth=max_depth,
                            executor=None if session is None else session.executor,
                            processes=None if session is None else session.slots)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        for bag in result.bags:
            click.echo(f"{escape_name(str(bag.path))}: {bag.outcome or bag.status}: {escape_name(bag.detail)}")
            for finding in bag.findings:
                click.echo(f"  {finding.kind}: {escape_name(finding.path)}: {escape_name(finding.detail)}")
    codes = [0]
    for bag in result.bags:
        if bag.status == "unreadable":
            codes.append(BagUnreadableError.exit_code)
        elif bag.outcome == "invalid":
            codes.append(EXIT_INVALID)
        elif bag.outcome == "incomplete" and not allow_unchecked:
            codes.append(EXIT_INCOMPLETE)
    sys.exit(_worst(*codes))


@main.command()
@click.argument("bag", type=_existing_dir)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The WACZ file (default: BAG.wacz beside BAG).")
def wacz(bag: Path, out: Path | None) -> None:
    """Package a bag made by `cablekeep run` as a WACZ 1.1.1 file for ReplayWeb.page and pywb.

    The bag is verified in full first: a bag that fails fixity is not packaged (exit 1), nor one that
    could not be checked in full (exit 8)."""
    from .access.wacz import write_wacz

    report = verify_bag(bag)
    if not report.ok:
        _render_report(report)
        why = ("it fails fixity; repair it first (cablekeep repair)" if report.verdict == "invalid"
               else "not all of it could be checked (INCOMPLETE, listed above)")
        click.echo(f"{bag}: not packaged, because {why}", err=True)
        sys.exit(_verdict_code(report, allow_unchecked=False))
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
@click.argument("source", type=click.Path(path_type=Path))  # checked by bag_directory: an interrupted --in-place
@click.option("--in-place", is_flag=True, help="Turn SOURCE itself into a bag (its files move into data/).")
@click.option("--output", type=click.Path(path_type=Path), show_default="bags",
              help="Where the new bag goes (not with --in-place).")
@click.option("--algorithm", "algorithms", multiple=True, show_default="sha512, sha256; with --profile, the profile's",
              type=click.Choice(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]), help="Repeat for several.")
@click.option("--info", "info_items", multiple=True, metavar="LABEL=VALUE", help="A bag-info.txt field; repeatable.")
@click.option("--processes", type=click.IntRange(1, 256), help="Hashing processes (default: one per core).")
@click.option("--profile", "profile_name", metavar="NAME|PATH",
              help="Make the bag for a BagIt profile (aptrust, btr, or a profile file): its defaults are used and "
                   "a bag that would violate it is refused before anything is written.")
@click.option("--serialize", "serialize_as", type=click.Choice(["tar", "tar.gz", "zip"]),
              help="Also write the bag as one archive beside it, with its .sha256.")
def bag_command(source: Path, in_place: bool, output: Path | None, algorithms: tuple[str, ...],
                info_items: tuple[str, ...], processes: int | None, profile_name: str | None,
                serialize_as: str | None) -> None:
    """Bag any directory of files as BagIt 1.0, each file read once for all algorithms.

    An empty directory makes a bag with an empty payload (Payload-Oxum 0.0). With --profile, exit 2
    when the bag would violate the profile (nothing is written), 1 when the finished bag does.
    An interrupted run is finished by the same command; what it had left is removed and named. Exit 6
    when the bag cannot be written, 7 while another process bags the same folder."""
    from .bagging.build import bag_directory

    if in_place and output is not None:
        raise UsageError("--in-place turns SOURCE itself into a bag; --output is for a copy: give one of them")
    info: dict[str, list[str]] = {}
    for item in info_items:
        label, sep, value = item.partition("=")
        if not sep or not label.strip():
            raise UsageError(f"--info {item!r}: write it as LABEL=VALUE")
        info.setdefault(label.strip(), []).append(value)
    full_info: Mapping[str, str | Sequence[str]] = info
    tag_files: Mapping[str, bytes] = {}
    profile = None
    if profile_name is not None:
        from .handoff.profiles import (
            check_before_bagging,
            default_algorithms,
            load_profile,
            profile_tags,
            refuse_violations,
        )

        profile = load_profile(profile_name)
        algorithms = algorithms or default_algorithms(profile)
        tags = profile_tags(profile, info)  # bag-info.txt, and the profile's other tag files (aptrust-info.txt)
        full_info, tag_files = tags.info, tags.tag_files
        violations = check_before_bagging(full_info, algorithms, tag_files, profile, serialization=serialize_as)
        refuse_violations(violations, profile, f"the bag of {source}")
    with _bag_display(source) as on_progress:
        ref = bag_directory(source, dest_parent=None if in_place else (output or Path("bags")), in_place=in_place,
                            algorithms=algorithms or ("sha512", "sha256"), info=full_info, processes=processes,
                            on_progress=on_progress, tag_files=tag_files)
    _echo_cleaned(ref.cleaned)
    click.echo(f"bag: {ref.path}")
    click.echo(f"Payload-Oxum {ref.payload_oxum} ({ref.payload_files} files); {', '.join(ref.algorithms)}; "
               f"External-Identifier {ref.external_identifier}")
    made = ref.path
    if serialize_as is not None:
        made = _serialize_and_show(ref.path, serialize_as, ref.path.parent)
    if profile is not None:
        from .handoff.profiles import validate_bag_against_profile

        report = validate_bag_against_profile(made, profile)
        _render_profile_report(report)
        if not report.ok:
            sys.exit(EXIT_INVALID)


# -- handing packages to libraries: profiles, serialization, delivery ---------------------------------

def _render_profile_report(report: ProfileReport) -> None:
    if report.ok:
        click.echo(f"{report.target}: conforms to the profile {report.profile}")
        return
    click.echo(f"{report.target}: DOES NOT CONFORM to the profile {report.profile} "
               f"({len(report.violations)} violation(s))")
    for violation in report.violations:
        click.echo(f"  {violation.rule}: {violation.path}: {violation.detail}")


@main.command("validate-profile")
@click.argument("bag", type=click.Path(path_type=Path))
@click.argument("profile_name", metavar="PROFILE")
@click.option("--json", "as_json", is_flag=True, help="Both verdicts as one JSON object.")
def validate_profile(bag: Path, profile_name: str, as_json: bool) -> None:
    """Check BAG (a directory, .tar, .tar.gz or .zip) against a BagIt PROFILE (aptrust, btr, or a profile
    file), listing every violation, and verify it as BagIt too (full fixity); both verdicts are shown.

    Exit 0 when the bag conforms to the profile and is valid BagIt, 1 when either fails, 2 for a bad
    profile file (what is wrong in it is listed), 4 when the bag cannot be read."""
    from .handoff.profiles import load_profile, validate_bag_against_profile

    profile = load_profile(profile_name)
    if not bag.exists():
        raise BagUnreadableError(f"{bag} not found; give a bag folder or a .tar, .tar.gz, .tgz or .zip bag")
    profile_report = validate_bag_against_profile(bag, profile)
    bagit_report = verify_serialized(bag) if bag.is_file() else verify_bag(bag)
    if as_json:
        click.echo(json.dumps({"profile": profile_report.to_json(), "bagit": bagit_report.to_json()}))
    else:
        click.echo(f"profile verdict ({profile.identifier}):")
        _render_profile_report(profile_report)
        click.echo("BagIt verdict (RFC 8493, every checksum):")
        _render_report(bagit_report)
        if profile_report.ok and not bagit_report.ok:
            click.echo("the verdicts disagree: the bag follows the profile's rules but is NOT valid BagIt")
        elif bagit_report.ok and not profile_report.ok:
            click.echo("the verdicts disagree: the bag is valid BagIt but does NOT conform to the profile")
    sys.exit(0 if profile_report.ok and bagit_report.ok else EXIT_INVALID)


def _serialize_and_show(bag: Path, fmt: str, out_dir: Path) -> Path:
    from .handoff.serialize import serialize

    archive = serialize(bag, fmt, out_dir)
    click.echo(f"{fmt}: {archive.path} ({archive.size} bytes, {archive.files} files; sha256 {archive.sha256} "
               f"in {archive.checksum_path.name})")
    return archive.path


@main.command("serialize")
@click.argument("bag", type=_existing_dir)
@click.option("--format", "fmt", type=click.Choice(["tar", "tar.gz", "zip"]), default="tar", show_default=True,
              help="The archive's format.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), show_default="beside BAG",
              help="The folder the archive and its .sha256 go into.")
def serialize_command(bag: Path, fmt: str, output: Path | None) -> None:
    """Write BAG as one archive holding one folder named like the bag, streamed, with NAME.EXT.sha256 beside it.

    An existing archive is never replaced (exit 2); exit 6 when it cannot be written."""
    _serialize_and_show(bag, fmt, output if output is not None else Path(os.path.abspath(bag)).parent)


def _destination(to: str | None, manifest_path: Path | None, to_dir: Path | None, to_s3: str | None,
                 endpoint_url: str | None) -> Destination:
    from urllib.parse import urlsplit

    from .handoff.deliver import DirectoryDestination, S3Destination
    from .manifest import load_manifest

    given = [name for name, value in (("--to-dir", to_dir), ("--to-s3", to_s3), ("--to", to)) if value is not None]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)}: give one destination")
    if manifest_path is not None and (to_dir is not None or to_s3 is not None):
        raise UsageError("--manifest names destinations for --to; --to-dir and --to-s3 need no manifest: give one way")
    if endpoint_url is not None and to_s3 is None:
        raise UsageError("--endpoint-url goes with --to-s3")
    if to_dir is not None:
        return DirectoryDestination(to_dir)
    if to_s3 is not None:
        parts = urlsplit(to_s3)
        if parts.scheme != "s3" or not parts.netloc:
            raise UsageError(f"--to-s3 {to_s3!r}: write it as s3://bucket/prefix")
        return S3Destination(parts.netloc, prefix=parts.path.strip("/"), endpoint_url=endpoint_url)
    if manifest_path is None:
        raise UsageError("say where to deliver: --to NAME with --manifest M (its delivery: section), "
                         "--to-dir DIR or --to-s3 s3://bucket/prefix")
    manifest = load_manifest(manifest_path)
    try:
        target = manifest.destination(to)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if target.kind == "directory":
        assert target.path is not None  # the manifest gives every directory destination a path
        return DirectoryDestination(target.path)
    return S3Destination(target.bucket, prefix=target.prefix, endpoint_url=target.endpoint_url, region=target.region,
                         storage_class=target.storage_class, profile=target.profile)


@main.command("deliver")
@click.argument("bag", type=click.Path(path_type=Path))
@click.option("--to", metavar="NAME", help="A destination of the manifest's delivery: section (default: its only one).")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The manifest whose delivery: section names the destinations.")
@click.option("--to-dir", type=click.Path(file_okay=False, path_type=Path), help="Deliver into this folder instead.")
@click.option("--to-s3", metavar="s3://BUCKET/PREFIX", help="Deliver to this bucket and prefix instead.")
@click.option("--endpoint-url", metavar="URL", help="The S3-compatible server of --to-s3 (default: AWS).")
@_db_option
def deliver_command(bag: Path, to: str | None, manifest_path: Path | None, to_dir: Path | None, to_s3: str | None,
                    endpoint_url: str | None, db: Path) -> None:
    """Deliver BAG (a bag folder, or a .tar, .tar.gz or .zip bag with its .sha256) to a library's folder or
    S3-compatible storage, verify every object where it arrived, write BAG.receipt.json beside it and
    record a replication event in the fixity history. Credentials come from the environment or a named
    AWS profile, never from the command line or the manifest. Delivering again resumes. The bag is
    verified in full first: a bag that is not valid is not sent (its problems are listed and recorded).

    Exit 0 delivered and verified, 1 the bag failed verification before sending (nothing sent) or
    verification on arrival failed, 2 usage error, 4 bag unreadable,
    6 could not write (destination refused, unreachable, or a different bag of the same name there),
    7 another delivery or repair of the bag is running."""
    from .handoff.record import deliver_and_record

    destination = _destination(to, manifest_path, to_dir, to_s3, endpoint_url)
    with FixityHistory(db) as store:
        receipt, _ = deliver_and_record(bag, destination, store)
    sent = sum(1 for obj in receipt.objects if obj.outcome == "sent")
    there = sum(1 for obj in receipt.objects if obj.outcome == "already-there")
    failed = [obj for obj in receipt.objects if obj.outcome == "failed"]
    where = ", ".join(f"{key} {value}" for key, value in receipt.destination.items())
    verdict = "delivered and verified on arrival" if receipt.ok else "FAILED verification on arrival"
    click.echo(f"{receipt.bag}: {verdict} ({where}); {sent} object(s) sent ({receipt.bytes_sent} bytes), "
               f"{there} already there and intact, {len(failed)} failed")
    for obj in failed:
        click.echo(f"  failed: {obj.key}: {obj.detail}")
    click.echo(f"receipt: {receipt.path}")
    if not receipt.ok:
        click.echo("deliver again to send what failed once more", err=True)
    sys.exit(0 if receipt.ok else EXIT_INVALID)


# -- link rot: check and report (the watch wing) -----------------------------------------------------

def _default_linkrot_db() -> Path:
    """Where link-rot checks go unless --db says: beside the fixity history."""
    return _default_db().with_name("linkrot.sqlite")


_linkrot_db_option = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=lambda: _default_linkrot_db(),
    show_default="$XDG_DATA_HOME/cablekeep/linkrot.sqlite", help="The link-rot history (SQLite).",
)


@main.command()
@click.argument("targets", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The check's counts as JSON (schema cablekeep.check/1).")
@click.option("--rearchive", is_flag=True,
              help="Capture what changed or moved into a new bag of its collection, beside the old ones.")
@_linkrot_db_option
def check(targets: tuple[Path, ...], as_json: bool, rearchive: bool, db: Path) -> None:
    """Probe every URL archived in the bags of MANIFEST's collection (or in the BAGs given), politely, and
    record each one's class: unchanged, changed, moved, gone, soft-404, server-error, unreachable, blocked.

    The fetch settings are the manifest's (for a bag, the manifest stored in it). Rot found is not an
    error: exit 0 once every URL is checked and recorded. With --rearchive, each collection's changed and
    moved URLs are then captured as a run of it would (same Bag-Group-Identifier, warc.dedup honoured, the
    new bag verified): exit 1 when a new bag is invalid, 5 when none of its URLs could be captured."""
    from .manifest import Manifest, load_manifest
    from .run import earlier_bags, summary_json
    from .watch.check import check_bags
    from .watch.rearchive import rearchive as rearchive_check
    from .watch.store import LinkRotHistory, ResultRow

    bags: list[Path] = []
    fetch = None
    manifests: dict[str, tuple[Manifest, Path | None]] = {}  # collection -> its manifest, and its bags' folder
    for target in targets:
        if target.is_file():
            loaded = load_manifest(target)
            found = earlier_bags(loaded)
            if not found:
                raise BagUnreadableError(f"{target}: no bag of collection {loaded.collection!r} in "
                                         f"{loaded.bag.output}; run it first (cablekeep run)")
            bags += found
            manifests[loaded.collection] = (loaded, None)
        else:
            stored = target / "data" / "manifest.yaml"
            if not stored.is_file():
                raise BagUnreadableError(f"{target}: not a bag made by cablekeep run (no data/manifest.yaml)")
            loaded = load_manifest(stored)
            bags.append(target)
            given = manifests.get(loaded.collection)
            if given is None or given[1] is not None:  # a manifest named on the command line wins over a bag's
                manifests[loaded.collection] = (loaded, target.resolve().parent)
        fetch = fetch or loaded.fetch
    assert fetch is not None

    def show(row: object) -> None:
        assert isinstance(row, ResultRow)
        if not as_json and row.link_class != "unchanged":
            click.echo(f"{row.link_class:<13} {row.url}  ({row.reason})")

    summaries: list[tuple[int, RunSummary]] = []
    with LinkRotHistory(db) as history:
        report = check_bags(bags, fetch, history, on_result=show)
        if rearchive:
            for collection in sorted(manifests):
                manifest, output = manifests[collection]
                with _graceful_stop() as stop:
                    count, summary = rearchive_check(manifest, history, report.check_id, output=output, stop=stop)
                if summary is not None:
                    _record(_default_db(), summary.bag.path, summary.report)  # as run records its bags
                    summaries.append((count, summary))
    if as_json:
        data = report.to_json()
        if rearchive:
            data["rearchived"] = [{"urls": count, **summary_json(summary)} for count, summary in summaries]
        click.echo(json.dumps(data))
    else:
        counts = ", ".join(f"{name} {n}" for name, n in report.counts.most_common())
        click.echo(f"check {report.check_id}: {report.urls} URLs in {len(bags)} bag(s): {counts or 'nothing to check'}")
        if rearchive and not summaries:
            click.echo("rearchive: nothing changed or moved")
        for count, summary in summaries:
            _echo_cleaned(summary.cleaned)
            verdict = {"valid": "valid", "invalid": "INVALID", "incomplete": "INCOMPLETE"}[summary.report.verdict]
            click.echo(f"rearchived {count} changed or moved URL(s) into {summary.bag.path} ({verdict})")
            for line in report_lines(summary.report):
                click.echo(line)
    worst = _worst(0, *(_verdict_code(summary.report, allow_unchecked=False) for _, summary in summaries))
    if worst:
        sys.exit(worst)


@main.command()
@click.argument("target", required=False)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The file to write (default: report.FORMAT).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "json"]), default="html", show_default=True,
              help="One self-contained HTML file, or the same rows as CSV or JSON.")
@click.option("--robust-links", is_flag=True, help="Robust Links of every archived source: an HTML snippet and JSON.")
@click.option("--replay-base", metavar="URL", help="A wayback-style replay (URL/<time>/<url>) for replay and version "
              "URLs (default: the MANIFEST's access.replay_base).")
@_linkrot_db_option
def report(target: str | None, out: Path | None, fmt: str, robust_links: bool, replay_base: str | None,
           db: Path) -> None:
    """Report the link-rot history of a collection (TARGET: its MANIFEST or its name) or of everything checked.

    With --robust-links and a MANIFEST, the links cover every source its bags archived, checked or not;
    otherwise every source the history has checked. Replay and version URLs are built from --replay-base,
    or else from the MANIFEST's access.replay_base."""
    from .manifest import load_manifest
    from .run import earlier_bags
    from .watch.report import write_csv, write_html, write_json, write_robust_links, write_robust_links_of_bags
    from .watch.store import LinkRotHistory

    collection = None
    if target is not None and Path(target).is_file():
        manifest = load_manifest(Path(target))
        collection = manifest.collection
        replay_base = replay_base or manifest.access.replay_base
        if robust_links:
            bags = earlier_bags(manifest)
            if not bags:
                raise BagUnreadableError(f"{target}: no bag of collection {collection!r} in {manifest.bag.output}; "
                                         "run it first (cablekeep run)")
            snippet, data, count = write_robust_links_of_bags(bags, out or Path("robust-links.html"),
                                                              replay_base=replay_base)
            click.echo(f"{snippet}, {data}: Robust Links for {count} archived source(s) in {len(bags)} bag(s)")
            return
    elif target is not None:
        collection = target
    if not db.is_file():
        raise BagUnreadableError(f"{db}: no link-rot history yet; run cablekeep check first (or pass --db)")
    with LinkRotHistory(db) as history:
        if robust_links:
            snippet, data, count = write_robust_links(history, out or Path("robust-links.html"),
                                                      replay_base=replay_base, collection=collection)
            click.echo(f"{snippet}, {data}: Robust Links for {count} archived source(s)")
            return
        path = out or Path(f"report.{fmt}")
        writer = {"html": write_html, "csv": write_csv, "json": write_json}[fmt]
        count = writer(history, path, collection=collection, replay_base=replay_base)
    click.echo(f"{path}: {count} source(s) not found as archived")


# -- schedules: due, run-due, schedule install (the schedule wing) -----------------------------------

MANIFESTS_DIR = Path("manifests")


def _parse_now(text: str | None) -> datetime:
    """--now (hidden, for tests and dry runs): an ISO 8601 time, UTC unless it says otherwise."""
    if text is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time such as 2026-01-31T02:00:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _scheduled_manifests(paths: tuple[Path, ...]) -> tuple[list[Manifest], list[CablekeepError]]:
    """The manifests given, or every *.yaml in ./manifests; each malformed one is kept aside (and named
    on stderr) so that the others still run."""
    from .manifest import load_manifest

    if not paths:
        if not MANIFESTS_DIR.is_dir():
            raise UsageError(f"no {MANIFESTS_DIR}/ folder in {Path.cwd()}; give MANIFEST paths, or run in the "
                             "folder that holds manifests/")
        paths = tuple(sorted(p for p in MANIFESTS_DIR.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
    loaded: list[Manifest] = []
    errors: list[CablekeepError] = []
    for path in paths:
        try:
            loaded.append(load_manifest(path))
        except ManifestError as exc:
            _error_line(exc)
            errors.append(exc)
    return loaded, errors


def _exit_after_manifest_errors(errors: Sequence[CablekeepError], code: int) -> NoReturn:
    sys.exit(ManifestError.exit_code if errors else code)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}Z"


_now_option = click.option("--now", "now_text", hidden=True, metavar="TIME",
                           help="Act as if it were TIME (ISO 8601, UTC by default): for tests and dry runs.")


@main.command()
@click.argument("manifests", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job (schema cablekeep.due/1).")
@_db_option
@_now_option
def due(manifests: tuple[Path, ...], as_json: bool, db: Path, now_text: str | None) -> None:
    """List each scheduled job of MANIFESTS (default: every manifest in manifests/): its last run, outcome,
    duration and next run. Exit 3 when a manifest is malformed (the others are still listed)."""
    from .schedule.ledger import JobLedger
    from .schedule.status import iter_job_statuses

    now = _parse_now(now_text)
    loaded, errors = _scheduled_manifests(manifests)
    count = 0
    with JobLedger(db) as ledger:
        for status in iter_job_statuses(loaded, ledger, now):
            count += 1
            if as_json:
                click.echo(json.dumps({"schema": "cablekeep.due/1", **status.to_json()}))
                continue
            last = status.last
            ran = "never run" if last is None else (
                f"last {_when(last.started)} {last.outcome}"
                + (f" ({last.duration:.1f} s)" if last.duration is not None else "")
                + (f": {_one_line(last.reason)}" if last.reason and last.outcome != "ok" else ""))
            click.echo(f"{status.collection:<24} {status.job:<6} {status.cron:<16} {status.timezone:<14} "
                       f"next {_when(status.next_run)}{' (due)' if status.due else ''}  {ran}")
    if not count and not as_json:
        click.echo(f"no scheduled jobs in {len(loaded)} manifest(s); add a schedule: block (README: Schedules)")
    _exit_after_manifest_errors(errors, 0)


@main.command("run-due")
@click.argument("manifests", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="What was run, as JSON (schema cablekeep.run-due/1).")
@_db_option
@_now_option
def run_due_command(manifests: tuple[Path, ...], as_json: bool, db: Path, now_text: str | None) -> None:
    """Run the scheduled jobs of MANIFESTS (default: every manifest in manifests/) that are due, once each,
    and exit; meant to be started every few minutes (cablekeep schedule install). A job running in another
    process is left to it; a job missed while the machine was off runs once.

    Exit 0 when every job run ended ok, 1 when one failed or found a bag invalid (recorded with its
    reason; cablekeep due, cablekeep history --jobs), 3 when a manifest is malformed (the others ran),
    130 when interrupted (the crawl resumes at the next run-due)."""
    from .schedule.rundue import Scheduler

    now = _parse_now(now_text)
    loaded, errors = _scheduled_manifests(manifests)
    with _graceful_stop() as stop:
        scheduler = Scheduler(db, db.with_name("linkrot.sqlite"), stop=stop, environ=dict(os.environ))
        result = scheduler.run_due(loaded, now)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        for tick in result.ticks:
            if tick.run is not None:
                took = f" ({tick.run.duration:.1f} s)" if tick.run.duration is not None else ""
                click.echo(f"{tick.collection} {tick.job}: ran: {tick.run.outcome}{took}: {_one_line(tick.run.reason)}")
            elif tick.action == "busy":
                click.echo(f"{tick.collection} {tick.job}: running in another process; left to it")
            for run in tick.interrupted:
                click.echo(f"{tick.collection} {tick.job}: the run started {_when(run.started)} was interrupted "
                           "(its process ended); run again")
    for delivery in result.deliveries:
        if not delivery.ok:
            click.echo(f"cablekeep: warning: the {delivery.kind} message of {delivery.collection} was not "
                       f"delivered by {delivery.channel}: {delivery.detail}", err=True)
    _exit_after_manifest_errors(errors, 0 if result.ok else EXIT_INVALID)


@main.command("schedule")
@click.argument("action", type=click.Choice(["install"]))
@click.option("--cron", "form", flag_value="cron", help="Print the crontab line (add it with crontab -e).")
@click.option("--systemd", "form", flag_value="systemd", help="Print the systemd service and timer units.")
@click.option("--every", default=5, show_default=True, type=click.IntRange(1, 59), metavar="MINUTES",
              help="How often run-due starts.")
@click.option("--db", type=click.Path(path_type=Path), help="A fixity history other than the default, for run-due.")
def schedule_command(action: str, form: str | None, every: int, db: Path | None) -> None:
    """Print what starts `cablekeep run-due` every few minutes, with this install's Python and this folder
    (which holds manifests/): a crontab line (--cron), or a systemd service and timer (--systemd).
    Nothing is installed: paste it where it says."""
    from .schedule.install import cron_line, systemd_units

    if form is None:
        raise UsageError("say which: cablekeep schedule install --cron, or --systemd")
    python, workdir = Path(sys.executable), Path.cwd()
    db = db.absolute() if db is not None else None
    if form == "cron":
        log = (db or _default_db()).absolute().with_name("run-due.log")
        click.echo("# add with: crontab -e")
        click.echo(cron_line(python, workdir, every=every, db=db, log=log))
        return
    for name, text in systemd_units(python, workdir, every=every, db=db).items():
        click.echo(f"# ~/.config/systemd/user/{name}\n{text}")
    click.echo("# then: systemctl --user daemon-reload && systemctl --user enable --now cablekeep-run-due.timer")


# -- replay: the bags in a browser, through pywb (the access wing) ------------------------------------

def _default_pywb() -> Path:
    """Where pywb's own virtualenv goes unless --pywb or CABLEKEEP_PYWB says: beside the fixity history."""
    return _default_db().with_name("pywb-venv")


@main.command()
@click.argument("bags", nargs=-1, required=True, type=_existing_dir)
@click.option("--port", type=click.IntRange(1, 65535), help="The port to serve on (default: a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the first cable page in a web browser.")
@click.option("--pywb", "pywb_venv", type=click.Path(file_okay=False, path_type=Path), envvar="CABLEKEEP_PYWB",
              default=lambda: _default_pywb(), show_default="$XDG_DATA_HOME/cablekeep/pywb-venv",
              help="pywb's own virtualenv (env CABLEKEEP_PYWB); made with pip on first use.")
def replay(bags: tuple[Path, ...], port: int | None, open_browser: bool, pywb_venv: Path) -> None:
    """Serve the WARCs of BAGS for browsing on 127.0.0.1 with pywb and print the replay URL of each cable page.

    Runs until Ctrl-C, which stops pywb too (exit 0). pywb lives in a virtualenv of its own, installed
    there on first use. Exit 1 when pywb cannot be installed or started, 4 for a folder that is not a bag."""
    import time
    import webbrowser

    from .access.replay import ensure_pywb, serve

    ensure_pywb(pywb_venv, python=sys.executable, on_step=lambda step: click.echo(f"cablekeep: {step}", err=True))
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    started = time.monotonic()
    with serve(list(bags), pywb=pywb_venv, port=port) as running:
        click.echo(f"replay: {running.prefix}/  (pywb, {len(bags)} bag(s), started in "
                   f"{time.monotonic() - started:.1f} s; Ctrl-C to stop)")
        click.echo(f"replay base for cablekeep report --replay-base: {running.prefix}")
        for page in running.pages:
            click.echo(f"{page.cable_id or '-':<16} {page.replay_url}")
        if not running.pages:
            click.echo("no cable pages in these bags; browse the collection at the address above")
        sys.stdout.flush()
        if open_browser:
            webbrowser.open(running.pages[0].replay_url if running.pages else f"{running.prefix}/")
        while not stop.wait(0.5):
            if running.process.poll() is not None:
                from .errors import ReplayError

                raise ReplayError(f"pywb ended unexpectedly (exit {running.process.returncode}); see its output "
                                  "above or start replay again")
    click.echo("replay: stopped", err=True)
