"""The command line: parse, build the objects, call the core, render, choose the exit code.

With the command modules of this package, the only code that imports click, prints or exits. Expected errors (the tree in
:mod:`cablekeep.errors`) are caught in one place, the command group :class:`CablekeepGroup`, for
every command: each becomes one line on stderr and its exit code; anything else is a crash: it
keeps its traceback, and a last line says it is a bug and that nothing was judged (exit 70). A closed stdout (``cablekeep ... | head``) stops the command quietly with
exit 141, as a command killed by SIGPIPE would.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, Protocol, TYPE_CHECKING

import click

from .. import __version__
from ..errors import (
    CablekeepError,
    EXIT_INCOMPLETE,
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_PIPE_CLOSED,
    RunInterrupted,
    UsageError,
)
from ..fixity.audit import record_verification
from ..fixity.history import FixityHistory
from ..fixity.identity import BagIdentity
from ..fixity.report import Report, report_lines

if TYPE_CHECKING:
    from ..cluster.session import ClusterSession
    from ..handoff.profiles import ProfileReport


def _error_line(exc: CablekeepError) -> None:
    click.echo(f"cablekeep: error: {exc}", err=True)


def _fail(exc: CablekeepError) -> NoReturn:
    _error_line(exc)
    if isinstance(exc, RunInterrupted):
        # stopped and closed: a further signal while Python shuts down must not change the exit code
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    sys.exit(exc.exit_code)


def _crashed(exc: Exception) -> NoReturn:
    """A bug: the traceback for the report, then one line that says no verdict was reached."""
    traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"cablekeep: internal error ({type(exc).__name__}): this is a bug in cablekeep, not a verdict: "
               "nothing was judged valid or invalid (exit 70).", err=True)
    sys.exit(EXIT_INTERNAL)


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
    stderr and its exit code, a closed stdout exit 141; anything else is a crash, which keeps its
    traceback and exits 70, never 1: a script must not read a bug as an invalid bag."""

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
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place a crash is reported
            _crashed(exc)


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


_db_option = click.option(
    "--db", type=click.Path(path_type=Path), default=lambda: _default_db(),
    show_default="$XDG_DATA_HOME/cablekeep/fixity.sqlite", help="The fixity history (SQLite).",
)


_existing_dir = click.Path(exists=True, file_okay=False, path_type=Path)


@contextmanager
def _cluster(value: str | None) -> Iterator[ClusterSession | None]:
    """The cluster ``--cluster`` names, open for the block; Dask is imported only here."""
    if value is None:
        yield None
        return
    from ..cluster.address import parse_cluster

    spec = parse_cluster(value, default_workers=os.cpu_count() or 1)
    try:
        from ..cluster.dask import open_cluster
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


def _render_profile_report(report: ProfileReport) -> None:
    if report.ok:
        click.echo(f"{report.target}: conforms to the profile {report.profile}")
        return
    click.echo(f"{report.target}: DOES NOT CONFORM to the profile {report.profile} "
               f"({len(report.violations)} violation(s))")
    for violation in report.violations:
        click.echo(f"  {violation.rule}: {violation.path}: {violation.detail}")


def _serialize_and_show(bag: Path, fmt: str, out_dir: Path) -> Path:
    from ..handoff.serialize import serialize

    archive = serialize(bag, fmt, out_dir)
    click.echo(f"{fmt}: {archive.path} ({archive.size} bytes, {archive.files} files; sha256 {archive.sha256} "
               f"in {archive.checksum_path.name})")
    return archive.path


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}Z"


class FileProgress(Protocol):
    """What a live line needs of a bagging's or a verification's progress."""

    @property
    def files_done(self) -> int: ...
    @property
    def files_total(self) -> int: ...
    @property
    def bytes_done(self) -> int: ...
    @property
    def bytes_total(self) -> int: ...


@contextmanager
def file_progress_line(doing: str, target: object, quiet: bool = False) -> Iterator[Callable[[FileProgress], None] | None]:
    """On a terminal, a live line ("verifying BAG: files, bytes, rate, time left"); off one, nothing extra."""
    if quiet or not sys.stdout.isatty():
        yield None
        return
    import time

    from rich.console import Console
    from rich.live import Live

    started = time.monotonic()
    with Live("", console=Console(), refresh_per_second=4, transient=True) as live:

        def show(progress: FileProgress) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = progress.bytes_done / elapsed
            left = (progress.bytes_total - progress.bytes_done) / rate if rate > 0 else 0.0
            live.update(f"{doing} {target}: {progress.files_done}/{progress.files_total} files, "
                        f"{progress.bytes_done / 1e6:.1f}/{progress.bytes_total / 1e6:.1f} MB, "
                        f"{rate / 1e6:.1f} MB/s, about {max(left, 0):.0f} s left")

        yield show
