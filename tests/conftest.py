"""Shared fixtures: the user's folders kept out of reach, one way to run the CLI (run_cli,
run_cli_bytes and run_cli_peak_rss to completion, start_cli to signal or kill), the bundled sample cable site on loopback
(port 0) and manifests for it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

import pytest
import yaml

from cablekeep.sample_site import SampleSite, serve_sample_site

from .isolation import ISOLATED_VARIABLES, Snapshot, changes, snapshot, user_folders

# -- nothing of the user's touched ------------------------------------------------------------------
# Session and module fixtures (the sample site, module-scoped crawls) start before any per-test
# fixture: the XDG folders and HOME point into a session temp dir from pytest_configure on, before
# collection, for this process and every cablekeep process the tests start.

_isolation = pytest.StashKey[tuple[Path, dict[str, str | None], list[Path], Snapshot]]()


def pytest_configure(config: pytest.Config) -> None:
    folders = user_folders(os.environ)
    before = snapshot(folders)
    base = Path(tempfile.mkdtemp(prefix="cablekeep-tests-"))
    saved = {name: os.environ.get(name) for name in ISOLATED_VARIABLES}
    for name in ISOLATED_VARIABLES:
        target = base / name.lower()
        target.mkdir()
        os.environ[name] = str(target)
    config.stash[_isolation] = (base, saved, folders, before)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    base, _, folders, before = session.config.stash[_isolation]
    touched = changes(before, snapshot(folders))
    if touched:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", "the tests touched the user's cablekeep folders", red=True, bold=True)
            for line in touched:
                reporter.write_line(f"  {line}", red=True)
        else:
            print("the tests touched the user's cablekeep folders:", *touched, sep="\n  ", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    base, saved, _, _ = config.stash[_isolation]
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def private_fixity_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands record fixity events under $XDG_DATA_HOME: keep each test's apart from the others'."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


# -- the command line, as a user runs it --------------------------------------------------------------

CLI_COMMAND = [sys.executable, "-m", "cablekeep"]


class CliResult(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str


class CliBytesResult(NamedTuple):
    """A run whose output is kept as the bytes written (file names of any bytes, say)."""

    exit_code: int
    stdout: bytes
    stderr: bytes


def _run(args: tuple[str, ...], *, cwd: Path | None, timeout: float, stdout: int | IO[Any] | None,
         env: Mapping[str, str] | None, preexec_fn: Callable[[], object] | None,
         text: bool) -> subprocess.CompletedProcess[Any]:
    return subprocess.run(
        [*CLI_COMMAND, *args], cwd=cwd, timeout=timeout, text=text, env=env, preexec_fn=preexec_fn,
        stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE,
    )


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, stdout: int | IO[Any] | None = None,
            env: Mapping[str, str] | None = None, preexec_fn: Callable[[], object] | None = None) -> CliResult:
    """``cablekeep ARGS`` in a fresh process (this environment, so the isolated folders, unless ``env``
    replaces it whole); ``stdout`` sends its output elsewhere (a pipe closed early), and the result's
    stdout is then empty; ``preexec_fn`` runs in the child before the command (a resource limit)."""
    completed = _run(args, cwd=cwd, timeout=timeout, stdout=stdout, env=env, preexec_fn=preexec_fn, text=True)
    return CliResult(completed.returncode, completed.stdout or "", completed.stderr)


def run_cli_bytes(*args: str, cwd: Path | None = None, timeout: float = 300,
                  env: Mapping[str, str] | None = None) -> CliBytesResult:
    """``run_cli`` with stdout and stderr kept as the bytes the command wrote."""
    completed = _run(args, cwd=cwd, timeout=timeout, stdout=None, env=env, preexec_fn=None, text=False)
    return CliBytesResult(completed.returncode, completed.stdout, completed.stderr)


# A child's ru_maxrss counts the pages it shared with its parent until exec: measured on a direct child
# it is never below the test process's own size. A small Python in between starts the command and
# reports the peak of its children, which started from its few megabytes.
_PEAK = ("import resource, subprocess, sys\n"
         "code = subprocess.call(sys.argv[2:])\n"
         "with open(sys.argv[1], 'w') as out: out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
         "sys.exit(code if code >= 0 else 128 - code)\n")


def run_cli_peak_rss(*args: str, cwd: Path | None = None, timeout: float = 300) -> tuple[CliResult, int]:
    """``run_cli``, and the run's peak resident memory in KiB (the command and its worker processes)."""
    with tempfile.TemporaryDirectory(prefix="cablekeep-peak-") as folder:
        peak = Path(folder) / "peak"
        completed = subprocess.run([sys.executable, "-c", _PEAK, str(peak), *CLI_COMMAND, *args], cwd=cwd,
                                   timeout=timeout, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return CliResult(completed.returncode, completed.stdout, completed.stderr), int(peak.read_text())


def start_cli(*args: str, **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """``cablekeep ARGS`` started and left running (to be signalled or killed): ``popen_kwargs`` go to
    ``subprocess.Popen`` as they are (stdout, stderr, text, env, start_new_session, ...)."""
    return subprocess.Popen([*CLI_COMMAND, *args], **popen_kwargs)


REPLAY_BASE_LINE = "replay base for cablekeep report --replay-base: "


def start_replay(bag: Path, pywb: Path, starts: str = REPLAY_BASE_LINE) -> tuple[subprocess.Popen[str], str]:
    """``cablekeep replay BAG`` left running, and the rest of the first line it prints that starts with
    ``starts`` (by default the replay base, for a cable ID its page's URL)."""
    process: subprocess.Popen[str] = start_cli("replay", str(bag), "--pywb", str(pywb), text=True,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(starts):
            rest = line.removeprefix(starts).strip()
            return process, rest if starts == REPLAY_BASE_LINE else rest.split()[0]
    process.kill()
    raise AssertionError(f"replay printed no line starting {starts!r}: {process.communicate()}")


def stop_cli(process: subprocess.Popen[Any]) -> None:
    """Ctrl-C a command left running, as a user would; killed when it has not stopped within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture(scope="session")
def cli() -> Callable[..., CliResult]:
    """Runs ``cablekeep ARGS`` as a user does: ``cli("verify", path) -> (exit_code, stdout, stderr)``."""
    return run_cli


@pytest.fixture(scope="session")
def sample_site() -> Iterator[SampleSite]:
    with serve_sample_site() as site:
        yield site


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def write_manifest(tmp_path: Path, sample_site: SampleSite) -> Callable[..., Path]:
    """Write a manifest for the sample site into tmp_path; keyword sections override defaults."""

    def write(name: str = "collection.yaml", **sections: Any) -> Path:
        data: dict[str, Any] = {
            "cablekeep": 1,
            "collection": "test-cables",
            "title": "Test collection",
            "organization": {
                "name": "Test Archive",
                "address": "1 Loopback Road",
                "contact": {"name": "A. Archivist", "email": "a@example.org"},
            },
            "site": {"cable_url": sample_site.cable_base + "/cable/{id}"},
            "seeds": [{"cable": "05ALMATY2503"}],
            "follow": {"depth": 1},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10},
            "bag": {"output": str(tmp_path / "bags")},
        }
        data = _merge(data, sections)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
