"""`verify`, `history`, `audit` and `repair`: fixity now and over time."""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from ..errors import BagUnreadableError, EXIT_INCOMPLETE, EXIT_INVALID, UsageError
from ..fixity.audit import audit as audit_bags, parse_age, parse_share
from ..fixity.events import FixityEvent
from ..fixity.exports import export_jsonl, export_premis
from ..fixity.history import FixityHistory
from ..fixity.identity import BagIdentity
from ..fixity.names import escape_name
from ..fixity.serialized import is_serialized_bag_name, verify_serialized
from ..fixity.verify import verify_bag
from ..fixity.warccheck import WarcFilesCheck, is_warc_target, verify_warc_files
from .main import FileProgress, file_progress_line, _cluster, _db_option, _error_line, _existing_dir, _one_line, _record, _render_report, _verdict_code, _when, _worst, main

if TYPE_CHECKING:
    from ..cluster.session import ClusterSession


_cluster_option = click.option(
    "--cluster", metavar="ADDRESS|local[:N]",
    help="Hash on a Dask cluster: a scheduler (tcp://host:8786) or N worker processes here (local:N); "
         "needs the cluster extra.",
)


def _verify_display(target: str, quiet: bool) -> AbstractContextManager[Callable[[FileProgress], None] | None]:
    return file_progress_line("verifying", target, quiet)


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
    _cluster_outcome(session)
    sys.exit(worst)


def _cluster_outcome(session: ClusterSession | None) -> None:
    """One line on stderr when the cluster asked for was not used (its start cancelled)."""
    if session is not None and (line := session.outcome()) is not None:
        click.echo(f"cablekeep: {line}", err=True)


def _verify_paths(paths: tuple[Path, ...], fast: bool, as_json: bool, db: Path, session: ClusterSession | None,
                  allow_unchecked: bool) -> int:
    """Verify each path (bag directories on ``session``'s cluster when there is one); the worst exit code."""
    executor = None if session is None else session.fixity_executor
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
    from ..schedule.ledger import JobLedger

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
                            executor=None if session is None else session.fixity_executor,
                            processes=None if session is None else session.slots)
    _cluster_outcome(session)
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
@click.option("--from", "source", required=True, type=_existing_dir, help="Another copy of the same bag.")
@_db_option
def repair(bag: Path, source: Path, db: Path) -> None:
    """Replace BAG's files that fail fixity with the copy's, only where the copy's match BAG's manifests."""
    from ..fixity.repair import repair as repair_bag

    with FixityHistory(db) as store:
        result = repair_bag(bag, source, store)
    for leftover in result.cleaned:
        click.echo(f"removed {leftover}: a temporary file an interrupted repair had left", err=True)
    click.echo(f"{bag}: {result.event.detail}")
    _render_report(result.after)
    sys.exit(0 if result.ok else EXIT_INVALID)


def _verify_against(bag: Path, copy: Path, as_json: bool) -> NoReturn:
    from ..fixity.repair import compare_copies

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
