"""`check` and `report`: link rot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import BagUnreadableError
from ..fixity.report import Report, report_lines
from .main import _default_db, _echo_cleaned, _graceful_stop, _record, _verdict_code, _worst, main
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..manifest import Manifest
    from ..run import RunSummary


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
@click.option("--fixity-db", type=click.Path(dir_okay=False, path_type=Path), default=lambda: _default_db(),
              show_default="$XDG_DATA_HOME/cablekeep/fixity.sqlite",
              help="With --rearchive: the fixity history the new bags' verifications go into (as run's --db).")
def check(targets: tuple[Path, ...], as_json: bool, rearchive: bool, db: Path, fixity_db: Path) -> None:
    """Probe every URL archived in the bags of MANIFEST's collection (or in the BAGs given), politely, and
    record each one's class: unchanged, changed, moved, gone, soft-404, server-error, unreachable, blocked.

    The fetch settings are the manifest's (for a bag, the manifest stored in it). Rot found is not an
    error: exit 0 once every URL is checked and recorded. With --rearchive, each collection's changed and
    moved URLs are then captured as a run of it would (same Bag-Group-Identifier, warc.dedup honoured, the
    new bag verified): exit 1 when a new bag is invalid, 5 when none of its URLs could be captured."""
    from ..manifest import Manifest, load_manifest
    from ..run import earlier_bags, summary_json
    from ..watch.check import check_bags
    from ..watch.rearchive import rearchive as rearchive_check
    from ..watch.store import LinkRotHistory, ResultRow

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
                    _record(fixity_db, summary.bag.path, summary.report)  # as run records its bags
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
    from ..manifest import load_manifest
    from ..run import earlier_bags
    from ..watch.report import write_csv, write_html, write_json, write_robust_links, write_robust_links_of_bags
    from ..watch.store import LinkRotHistory

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
