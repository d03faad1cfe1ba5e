"""`wacz` and `replay`: the archive opened in a browser."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from ..fixity.verify import verify_bag
from .main import _default_db, _existing_dir, _render_report, _verdict_code, main


@main.command()
@click.argument("bag", type=_existing_dir)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The WACZ file (default: BAG.wacz beside BAG).")
def wacz(bag: Path, out: Path | None) -> None:
    """Package a bag made by `cablekeep run` as a WACZ 1.1.1 file for ReplayWeb.page and pywb.

    The bag is verified in full first: a bag that fails fixity is not packaged (exit 1), nor one that
    could not be checked in full (exit 8)."""
    from ..access.wacz import write_wacz

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

    from ..access.replay import ensure_pywb, serve

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
                from ..errors import ReplayError

                raise ReplayError(f"pywb ended unexpectedly (exit {running.process.returncode}); see its output "
                                  "above or start replay again")
    click.echo("replay: stopped", err=True)
