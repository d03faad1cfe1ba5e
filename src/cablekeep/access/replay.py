"""Replay: the bags' WARCs served for browsing on 127.0.0.1 by pywb, the cable pages as they looked.

The only module that knows pywb's command line. pywb is not a dependency of cablekeep: its pinned
dependencies (gevent, an old werkzeug, jinja2, ...) must not constrain cablekeep's own, so it lives in a
virtualenv of its own (:func:`ensure_pywb` makes it on first use with ``python -m venv`` and
``pip install pywb``) and runs as a child process, never imported.

:func:`serve` builds a pywb collection from the bags in a temporary folder::

    <root>/config.yaml                                   unframed replay, no live web, no recording
    <root>/collections/cablekeep/archive/<n>-<bag>/*.warc.gz   symbolic links to each bag's WARCs
    <root>/collections/cablekeep/indexes/index.cdxj      the bags' own data/index.cdxj, merged and sorted

The index is the bags' own: cablekeep keys its index lines as pywb does
(:func:`cablekeep.capture.canon.index_key`), so nothing is indexed again; each line's ``filename`` is made
relative to the archive folder (``<n>-<bag>/<warc>``). A bag made before cablekeep keyed its index so
(cablekeep's own SURT: an IPv4 host not reversed) is re-keyed from each line's URL on the way, or pywb
would find none of its pages. Only captures with an HTTP status (responses and revisits) are served. The
bag's cable records (``data/cables.jsonl``) name the cable pages and their capture times, which give each
page's replay URL.

``wayback`` is started on 127.0.0.1 (a free port unless one is given) in a session of its own, so a
Ctrl-C reaches cablekeep, which then stops it; it dies with cablekeep even when cablekeep is killed
(``prctl(PR_SET_PDEATHSIG)`` on Linux, :func:`cablekeep.children.die_with_owner`). :func:`serve` returns
only once pywb answers, and on leaving stops it and removes the folder.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..capture.canon import InvalidUrlError, index_key
from ..capture.cdxj import CdxjError, format_line, iter_index, write_sorted
from ..children import die_with_owner
from ..errors import BagUnreadableError, ReplayError
from ..scratch import scratch_folder
from .pages import page_entry
from .wacz import CABLES_FILE, INDEX_FILE, WARC_DIR, WARC_SUFFIXES

COLLECTION = "cablekeep"
PYWB_REQUIREMENT = "pywb>=2.8,<3"
READY_MARKER = ".cablekeep-pywb-ready"  # written into the virtualenv once pywb is installed in it
HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds pywb may take to answer after it is started
_CONFIG = "framed_replay: false\nenable_memento: true\n"


@dataclass(frozen=True)
class ReplayPage:
    """A cable page and where it is replayed."""

    cable_id: str | None
    url: str  # as archived
    timestamp: str  # the capture time, 14 digits (YYYYmmddHHMMSS), as in replay URLs
    replay_url: str


@dataclass(frozen=True)
class Replay:
    """A running pywb: ``base`` is ``http://127.0.0.1:<port>``; ``prefix`` is the wayback-style replay base
    (``<base>/cablekeep``: ``<prefix>/<timestamp>/<url>``), the one ``cablekeep report --replay-base`` takes."""

    base: str
    prefix: str
    pages: tuple[ReplayPage, ...]
    process: subprocess.Popen[bytes]
    log: Path  # pywb's output, for a message when it ends unexpectedly

    def replay_url(self, url: str, timestamp: str) -> str:
        return f"{self.prefix}/{timestamp}/{url}"


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def pywb_ready(venv: Path) -> bool:
    """Whether ``venv`` holds a finished pywb install made by :func:`ensure_pywb`."""
    return (venv / READY_MARKER).is_file() and _bin(venv, "wayback").is_file() and _bin(venv, "cdx-indexer").is_file()


def ensure_pywb(venv: Path, *, python: str, on_step: Callable[[str], None] | None = None,
                requirement: str = PYWB_REQUIREMENT) -> bool:
    """Make ``venv`` a virtualenv holding pywb, unless it already is one; True when it installed it.

    ``python`` makes the virtualenv (``python -m venv``); pip installs ``requirement`` through the package
    index pip is configured with. An interrupted install is finished by the next call (the marker file is
    written last). A folder that is neither empty nor a virtualenv is refused, never changed."""
    venv = Path(venv)
    if pywb_ready(venv):
        return False
    if venv.exists() and (not venv.is_dir() or (any(venv.iterdir()) and not (venv / "pyvenv.cfg").is_file())):
        raise ReplayError(f"{venv}: not a virtualenv, so pywb cannot be installed there; give another "
                          "folder with --pywb or CABLEKEEP_PYWB")
    steps = (
        (f"creating a virtualenv for pywb in {venv}", [python, "-m", "venv", str(venv)]),
        (f"installing {requirement} into {venv} (once)",
         [str(_bin(venv, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement]),
    )
    for what, command in steps:
        if on_step is not None:
            on_step(what)
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        except OSError as exc:
            raise ReplayError(f"{what}: {exc}") from exc
        if done.returncode != 0:
            tail = done.stdout.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise ReplayError(f"{what} failed (exit {done.returncode}): {' / '.join(tail) or 'no output'}; "
                              "check the package index is reachable, or install pywb yourself and give its "
                              "virtualenv with --pywb")
    if not (_bin(venv, "wayback").is_file() and _bin(venv, "cdx-indexer").is_file()):
        raise ReplayError(f"{venv}: pywb installed but its wayback and cdx-indexer commands are missing")
    (venv / READY_MARKER).write_text(f"{requirement}\n", encoding="utf-8")
    return True


def _warcs(bag: Path) -> list[Path]:
    folder = bag / "data" / WARC_DIR
    if not (bag / "data" / CABLES_FILE).is_file() or not folder.is_dir():
        raise BagUnreadableError(f"{bag}: not a bag made by cablekeep run (no data/{CABLES_FILE} or data/{WARC_DIR}/)")
    found = sorted(p for p in folder.iterdir() if p.name.endswith(WARC_SUFFIXES) and p.is_file())
    if not found:
        raise BagUnreadableError(f"{bag}: no WARC in data/{WARC_DIR}/, nothing to replay")
    return found


def timestamp14(captured: str) -> str:
    """``2026-12-03T07:32:12.810409Z`` -> ``20261203073212``, the timestamp of a replay URL."""
    digits = "".join(ch for ch in captured[:19] if ch.isdigit())
    if len(digits) != 14:
        raise ValueError(f"not a capture time: {captured!r}")
    return digits


def iter_cable_pages(bag: Path) -> Iterator[tuple[str | None, str, str]]:
    """(cable_id, url, 14-digit timestamp) of each cable page in the bag's ``data/cables.jsonl``."""
    where = bag / "data" / CABLES_FILE
    with open(where, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                entry = page_entry(record)
                yield entry.get("cable_id"), entry["url"], timestamp14(entry["ts"])
            except ValueError as exc:
                raise BagUnreadableError(f"{where}:{number}: not a cable record ({exc}); verify the bag") from exc


def build_collection(bags: Sequence[Path], root: Path) -> None:
    """The pywb folder for ``bags`` under ``root``: config, links to the WARCs, the bags' own CDXJ index."""
    archive = root / "collections" / COLLECTION / "archive"
    indexes = root / "collections" / COLLECTION / "indexes"
    indexes.mkdir(parents=True)
    folders: list[tuple[Path, str]] = []
    for number, bag in enumerate(bags, start=1):
        folder = archive / f"{number}-{Path(bag).resolve().name}"  # two bags may hold WARCs of one name
        folder.mkdir(parents=True)
        for warc in _warcs(Path(bag)):
            (folder / warc.name).symlink_to(warc.resolve())
        folders.append((Path(bag), folder.name))
    (root / "config.yaml").write_text(_CONFIG, encoding="utf-8")
    write_sorted((line for bag, folder in folders for line in iter_capture_lines(bag, folder)),
                 indexes / "index.cdxj")


def iter_capture_lines(bag: Path, folder: str) -> Iterator[str]:
    """The lines of ``bag``'s ``data/index.cdxj`` that pywb is to serve, keyed as pywb keys them, their
    ``filename`` under ``folder``: captures with an HTTP status (responses and revisits) only, as pywb would
    serve anything else found under a page's URL and time in place of the page."""
    where = bag / "data" / INDEX_FILE
    if not where.is_file():
        raise BagUnreadableError(f"{bag}: no data/{INDEX_FILE}, so pywb cannot find its pages; verify the bag")
    try:
        for line in iter_index(where):
            if line.status is None or line.url is None or line.filename is None:
                continue
            fields = dict(line.fields)
            fields["filename"] = f"{folder}/{line.filename}"
            yield format_line(f"{index_key(line.url)} {line.timestamp}", fields)
    except (CdxjError, InvalidUrlError) as exc:
        raise BagUnreadableError(f"{where}: {exc}; verify the bag") from exc
    except OSError as exc:
        raise BagUnreadableError(f"{where}: cannot read it: {exc.strerror or exc}") from exc


def free_port(host: str = HOST) -> int:
    """A port nobody listens on now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(text[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve(bags: Sequence[Path], *, pywb: Path, port: int | None = None, threads: int = 8,
          start_timeout: float = START_TIMEOUT) -> Iterator[Replay]:
    """pywb serving ``bags`` on 127.0.0.1 until the block is left; ``pywb`` is its virtualenv.

    Raises :class:`ReplayError` when pywb is not installed there, ends while
    starting (a port already taken) or does not answer within ``start_timeout`` seconds;
    :class:`BagUnreadableError` for a folder that is not a bag made by ``cablekeep run``."""
    if not bags:
        raise ReplayError("no bag to replay")
    if not pywb_ready(Path(pywb)):
        raise ReplayError(f"{pywb}: no pywb installed there; run cablekeep replay without --pywb to install it, "
                          "or give the virtualenv holding it")
    for bag in bags:
        _warcs(Path(bag))  # every folder a bag, before anything starts
    pages = [page for bag in bags for page in iter_cable_pages(Path(bag))]
    with scratch_folder("cablekeep-replay-") as root:  # a replay killed with -9 leaves it to the next
        build_collection(bags, root)
        chosen = port or free_port()
        base = f"http://{HOST}:{chosen}"
        log = root / "pywb.log"
        command = [str(_bin(Path(pywb), "wayback")), "--bind", HOST, "--port", str(chosen),
                   "--threads", str(threads), "--directory", str(root)]
        with open(log, "wb") as output:
            process = subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       preexec_fn=functools.partial(die_with_owner, os.getpid()))
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(f"{base}/{COLLECTION}/"):
                if process.poll() is not None:
                    raise ReplayError(f"pywb ended while starting (exit {process.returncode}): {_tail(log)}"
                                      + ("; is the port free? try another --port" if port else ""))
                if time.monotonic() > deadline:
                    raise ReplayError(f"pywb did not answer on {base} within {start_timeout:.0f} s: {_tail(log)}")
                time.sleep(0.05)
            prefix = f"{base}/{COLLECTION}"
            yield Replay(
                base=base, prefix=prefix, process=process, log=log,
                pages=tuple(ReplayPage(cable_id, url, stamp, f"{prefix}/{stamp}/{url}") for cable_id, url, stamp in pages),
            )
        finally:
            _stop(process)
