"""README's command reference agrees with the CLI: the options each command's --help shows, and the exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click

from cablekeep.cli import main
from cablekeep.errors import documented_exit_codes

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def readme_commands() -> dict[str, set[str]]:
    """command -> the long options its rows of the "## Commands" table name (rows of one command are merged)."""
    commands: dict[str, set[str]] = {}
    for line in _section("## Commands").splitlines():
        cells = re.split(r"(?<!\\)\|", line)
        if len(cells) < 3 or not cells[1].strip().startswith("`cablekeep "):
            continue
        usage = cells[1].strip().strip("`")
        name = usage.split()[1]
        commands.setdefault(name, set()).update(re.findall(r"--[a-z][a-z0-9-]*", usage))
    return commands


def cli_commands() -> dict[str, set[str]]:
    """command -> the long options its --help shows."""
    ctx = click.Context(main)
    found: dict[str, set[str]] = {}
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert command is not None
        options = {opt for param in command.get_params(ctx) if isinstance(param, click.Option) and not param.hidden
                   for opt in [*param.opts, *param.secondary_opts] if opt.startswith("--")}
        help_text = command.get_help(click.Context(command, info_name=name, parent=ctx))
        assert all(option in help_text for option in options)
        found[name] = options - {"--help"}
    return found


def test_the_commands_table_names_every_command_and_option_of_the_cli() -> None:
    assert readme_commands() == cli_commands()


def test_the_exit_codes_line_lists_the_codes_of_errors_py() -> None:
    (paragraph,) = [p for p in _section("## Commands").split("\n\n") if p.startswith("Exit codes:")]
    listed = [int(code) for code in re.findall(r"(?:^|,)\s*(\d+) ", paragraph.removeprefix("Exit codes:"))]
    assert sorted(listed) == listed, "in order"
    assert set(listed) == documented_exit_codes()
