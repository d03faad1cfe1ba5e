"""`due`, `run-due` and `schedule install`: jobs that run themselves."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from ..errors import CablekeepError, EXIT_INVALID, ManifestError, UsageError
from .main import _db_option, _default_db, _error_line, _graceful_stop, _one_line, _when, main

if TYPE_CHECKING:
    from ..manifest import Manifest


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
    from ..manifest import load_manifest

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
    from ..schedule.ledger import JobLedger
    from ..schedule.status import iter_job_statuses

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
    from ..schedule.rundue import Scheduler

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
    from ..schedule.install import cron_line, systemd_units

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
