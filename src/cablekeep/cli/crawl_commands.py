"""`run`, `demo` and `extract`: crawling a manifest into a verified bag, and reading a page."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from .. import __version__
from ..errors import BagUnreadableError, EXIT_INVALID, UsageError
from .main import _cluster, _db_option, _echo_cleaned, _graceful_stop, _record, _render_profile_report, _verdict_code, _worst, main

if TYPE_CHECKING:
    from ..capture.crawl import CrawlProgress
    from ..run import RunSummary
    from rich.table import Table


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
    from ..manifest import load_manifest
    from ..run import run_manifest, summary_json

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


@main.command()
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("manifests/demo.yaml"), show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
def demo(manifest_path: Path, quiet: bool) -> None:
    """Serve the bundled sample cable site on loopback, archive it, verify the bag."""
    from ..demo import run_demo

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
    from ..cables.profiles import resolve_profile
    from ..cables.extract import detect_profile, parse_page
    from ..manifest import load_manifest
    from ..capture.warc import read_response

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
