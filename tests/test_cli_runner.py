"""Tests run the command line one way (issue 10, "A wing per stage"): conftest's ``run_cli`` /
``run_cli_bytes`` (or the ``cli`` fixture) for a run to its end, ``start_cli`` for a run to be signalled
or killed, all three built on ``CLI_COMMAND``. No other test module spells the command itself, so a
change to how the CLI is started (an interpreter flag, a coverage hook) is made in one place."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import bagit

from .conftest import CLI_COMMAND, run_cli, run_cli_bytes, start_cli

TESTS = Path(__file__).resolve().parent
CLI_MODULES = {"cablekeep", "cablekeep.__main__", "cablekeep.cli"}

# Modules outside the change that made the rule, still starting the CLI their own way. Each entry goes
# when its module is converted (the test below fails while an entry names a module with nothing left).
NOT_YET = {
    "test_manifest.py",  # test_the_cli_shows_every_error_and_exits_3
    "bagging/test_in_place_kill.py",  # subprocess.Popen([*CLI_COMMAND, ...]) twice
    "schedule/test_processes.py",  # on main since wt-schedule: [sys.executable, "-m", "cablekeep", "run-due", ...]
    "capture/test_browser.py",  # a detached launcher (the crawl is killed with its browser): [*CLI_COMMAND, ...]
}


def own_cli_starts(tree: ast.AST) -> list[int]:
    """Lines where a module builds the CLI's command itself: a list or tuple holding ``"-m"`` and then
    the package (or its ``__main__`` or ``cli``), or any use of ``CLI_COMMAND``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            if any(a == "-m" and b in CLI_MODULES for a, b in zip(values, values[1:])):
                lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id == "CLI_COMMAND":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "CLI_COMMAND" for alias in node.names):
            lines.append(node.lineno)
    return sorted(set(lines))


def test_the_finder_sees_each_way_of_spelling_the_command() -> None:
    code = (
        "import sys, subprocess\n"
        "subprocess.run([sys.executable, '-m', 'cablekeep', 'verify'])\n"
        "command = (sys.executable, '-m', 'cablekeep.cli')\n"
        "from .conftest import CLI_COMMAND\n"
        "subprocess.Popen([*CLI_COMMAND, 'run'])\n"
        "subprocess.run([sys.executable, '-m', 'cablekeep.sample_site'])\n"  # another program: allowed
        "subprocess.run([sys.executable, '-c', 'cablekeep'])\n"
    )
    assert own_cli_starts(ast.parse(code)) == [2, 3, 4, 5]


def test_only_conftest_starts_the_cli() -> None:
    found: dict[str, list[int]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        name = path.relative_to(TESTS).as_posix()
        if name in ("conftest.py", "test_cli_runner.py"):
            continue
        lines = own_cli_starts(ast.parse(path.read_bytes(), filename=str(path)))
        if lines:
            found[name] = lines
    new = {name: lines for name, lines in found.items() if name not in NOT_YET}
    assert not new, f"use run_cli, run_cli_bytes or start_cli from tests/conftest.py: {new}"
    done = sorted(name for name in NOT_YET if (TESTS / name).exists() and name not in found)
    assert not done, f"take these off NOT_YET, they start the CLI through conftest now: {done}"


def test_the_helpers_run_the_command_they_are_given(tmp_path: Path) -> None:
    """One command, three ways: the same exit code and message."""
    missing = str(tmp_path / "no-such-bag")
    text = run_cli("verify", missing, timeout=120)
    raw = run_cli_bytes("verify", missing, timeout=120)
    process = start_cli("verify", missing, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=120)
    assert process.args[: len(CLI_COMMAND)] == CLI_COMMAND
    assert text.exit_code == raw.exit_code == process.returncode != 0
    assert text.stderr.encode() == raw.stderr == err and raw.stdout == out
    assert missing in text.stderr and "Traceback" not in text.stderr


def test_env_replaces_the_environment_whole(tmp_path: Path) -> None:
    """verify records its event under $XDG_DATA_HOME, or ~/.local/share without it."""
    bag = tmp_path / "bag"
    (bag / "letters").mkdir(parents=True)
    (bag / "letters" / "a.txt").write_text("a letter\n")
    bagit.make_bag(str(bag), checksums=["sha256"])
    home = tmp_path / "home"
    env = {name: value for name, value in os.environ.items() if not name.startswith("XDG_")}
    assert run_cli("verify", str(bag), timeout=120, env={**env, "HOME": str(home)}).exit_code == 0
    assert (home / ".local" / "share" / "cablekeep" / "fixity.sqlite").is_file()
    assert run_cli("verify", str(bag), timeout=120, env={**env, "XDG_DATA_HOME": str(tmp_path / "x")}).exit_code == 0
    assert (tmp_path / "x" / "cablekeep" / "fixity.sqlite").is_file()
    assert not (tmp_path / "xdg-data").exists()  # the test's own XDG_DATA_HOME was not passed on


_BIG_PARENT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from tests.conftest import run_cli_peak_rss, start_cli
big = bytearray(200 << 20)
big[::4096] = b"x" * len(big[::4096])  # 200 MiB resident in the process that starts the command
direct = start_cli("verify", sys.argv[2])
_, _, usage = os.wait4(direct.pid, 0)
result, peak = run_cli_peak_rss("verify", sys.argv[2], timeout=120)
print(usage.ru_maxrss, peak, result.exit_code)
"""


def test_peak_rss_is_the_runs_own_not_the_starting_process(tmp_path: Path) -> None:
    """Started from a process holding 200 MiB, ``verify`` of nothing measures tens of MiB; measured on the
    direct child (os.wait4) it would be at least the 200 MiB its parent held."""
    shown = subprocess.run([sys.executable, "-c", _BIG_PARENT, str(TESTS.parent), str(tmp_path / "no-bag")],
                           capture_output=True, text=True, timeout=300, check=True).stdout
    direct_kb, peak_kb, exit_code = (int(word) for word in shown.split())
    assert exit_code != 0
    assert direct_kb > 200 * 1024  # what the helper avoids
    assert 0 < peak_kb < 100 * 1024
