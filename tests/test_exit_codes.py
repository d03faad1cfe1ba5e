"""Exit codes that mean what they say, each reached through the real command line."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cablekeep.cli import CablekeepGroup, main
from cablekeep.errors import EXIT_PIPE_CLOSED, OutputError

from .conftest import CliResult, run_cli

Cli = Callable[..., CliResult]
TESTS = Path(__file__).resolve().parent
README = TESTS.parent / "README.md"


def readme_exit_codes() -> set[int]:
    (line,) = [line for line in README.read_text(encoding="utf-8").split("\n\n") if line.startswith("Exit codes:")]
    return {int(code) for code in re.findall(r"(?:^|,)\s*(\d+) ", line.removeprefix("Exit codes:"))}


def test_every_documented_exit_code_is_reached_by_a_test() -> None:
    asserted: set[int] = set()
    for path in TESTS.rglob("test_*.py"):
        asserted |= {int(code) for code in re.findall(r"(?:exit_code|returncode|wait\([^)]*\))\s*==\s*(\d+)", path.read_text())}
    assert readme_exit_codes() - asserted == set()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_run_where_no_url_got_a_response_exits_5(write_manifest: Callable[..., Path], cli: Cli) -> None:
    manifest = write_manifest(site={"cable_url": f"http://127.0.0.1:{_closed_port()}/cable/{{id}}"},
                              fetch={"timeout": 3})
    result = cli("run", "--quiet", str(manifest))
    assert result.exit_code == 5, result.stdout + result.stderr
    first, seed = result.stderr.splitlines()
    assert first == "cablekeep: error: no seed was captured, so no bag was made:"
    assert seed.strip().startswith("http://127.0.0.1:") and ": refused" in seed
    assert "Traceback" not in result.stderr


def test_output_not_written_exits_6(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "a.txt").write_text("a\n")
    (tmp_path / "a-file").write_text("not a directory\n")
    result = cli("bag", str(tmp_path / "papers"), "--output", str(tmp_path / "a-file" / "bags"))
    assert result.exit_code == 6, result.stderr
    assert result.stderr.startswith("cablekeep: error: cannot bag") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def _closed_pipe() -> int:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before the first line, as `| head -0` would
    return write_end


@pytest.mark.parametrize("command", ["run", "verify"])
def test_a_closed_stdout_stops_quietly_with_141(command: str, write_manifest: Callable[..., Path], tmp_path: Path,
                                               cli: Cli) -> None:
    if command == "run":
        args = ("run", "--log-json", str(write_manifest()))
    else:
        (tmp_path / "papers").mkdir()
        (tmp_path / "papers" / "a.txt").write_text("a\n")
        assert cli("bag", str(tmp_path / "papers"), "--output", str(tmp_path / "bags")).exit_code == 0
        args = ("verify", str(tmp_path / "bags" / "papers"))
    pipe = _closed_pipe()
    try:
        result = cli(*args, stdout=pipe)
    finally:
        os.close(pipe)
    assert result.exit_code == 141 == EXIT_PIPE_CLOSED, result.stderr
    assert result.stderr == "", "no traceback, no 'Exception ignored'"


def test_one_place_turns_every_expected_error_into_one_line_and_its_code() -> None:
    assert isinstance(main, CablekeepGroup)
    group = CablekeepGroup()

    @group.command()
    def broken() -> None:
        raise OutputError("cannot write x: disk full; free space and run again")

    @group.command()
    def crashing() -> None:
        raise RuntimeError("a bug")

    runner = CliRunner()
    result = runner.invoke(group, ["broken"])
    assert result.exit_code == 6
    assert result.stderr == "cablekeep: error: cannot write x: disk full; free space and run again\n"
    crash = runner.invoke(group, ["crashing"])
    assert crash.exit_code == 70, "an unexpected error is a crash, never a verdict"
    assert "Traceback" in crash.stderr and "RuntimeError: a bug" in crash.stderr


_CRASHING = (
    "import sys\n"
    "from cablekeep.cli import fixity_commands, main\n"
    "def broken(*args, **kwargs):\n"
    "    raise ZeroDivisionError('a bug stands in here')\n"
    "fixity_commands.verify_bag = broken\n"
    "main(['verify', sys.argv[1]])\n"
)


def test_a_crash_exits_70_with_its_traceback_never_1(tmp_path: Path) -> None:
    """A bug is not a verdict: a script reading exit 1 as "invalid" must not see a crash as one."""
    import subprocess
    import sys

    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "a.txt").write_text("a\n")
    bag = tmp_path / "bag"
    made = run_cli("bag", str(tmp_path / "papers"), "--output", str(bag))
    assert made.exit_code == 0, made.stderr
    (target,) = [p for p in bag.iterdir() if p.is_dir()]
    crashed = subprocess.run([sys.executable, "-c", _CRASHING, str(target)], capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 70, crashed.stderr
    assert "Traceback" in crashed.stderr and "ZeroDivisionError: a bug stands in here" in crashed.stderr
    last = crashed.stderr.strip().splitlines()[-1]
    assert last.startswith("cablekeep: internal error (ZeroDivisionError)") and "not a verdict" in last
    assert "valid" not in crashed.stdout.lower()
