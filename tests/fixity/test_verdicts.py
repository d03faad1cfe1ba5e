"""Three verdicts: valid, INVALID and INCOMPLETE. Something that could not be checked is neither passed
nor failed; its exit code is its own (8) unless --allow-unchecked accepts it, and it is always listed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cablekeep.fixity.report import Problem, Report

from ..conftest import CliResult

Cli = Callable[..., CliResult]


def test_the_verdict_word_follows_the_problems() -> None:
    assert Report("b", "full").verdict == "valid"
    assert Report("b", "full", problems=[Problem("warning", "x", "w")]).verdict == "valid"
    unchecked = Problem("not-checked", "x", "could not be checked")
    assert Report("b", "full", problems=[unchecked]).verdict == "incomplete"
    assert Report("b", "warc", problems=[unchecked]).verdict == "incomplete"
    caveat = Problem("not-checked", "manifest-sha256.txt", "fast mode: the sha256 checksums were not verified")
    assert Report("b", "fast", problems=[caveat]).verdict == "valid"  # a fast check says it checks no checksum
    assert Report("b", "fast", problems=[caveat, unchecked]).verdict == "incomplete"  # anything else is not passed
    assert Report("b", "full", problems=[unchecked, Problem("missing", "y", "gone")]).verdict == "invalid"
    assert not Report("b", "full", problems=[unchecked]).ok


def _bag_with_an_uncomputable_manifest(tmp_path: Path, cli: Cli) -> Path:
    bag = tmp_path / "papers"
    bag.mkdir()
    (bag / "a.txt").write_text("a letter\n")
    assert cli("bag", str(bag), "--in-place").exit_code == 0
    lines = (bag / "manifest-sha256.txt").read_text().splitlines()
    (bag / "manifest-whirlpool.txt").write_text("".join(f"00ff {line.split(maxsplit=1)[1]}\n" for line in lines))
    return bag


def test_incomplete_exits_8_and_allow_unchecked_accepts_it(tmp_path: Path, cli: Cli) -> None:
    bag = _bag_with_an_uncomputable_manifest(tmp_path, cli)
    db = str(tmp_path / "h.sqlite")
    result = cli("verify", str(bag), "--db", db)
    assert result.exit_code == 8, result.stdout + result.stderr
    assert "INCOMPLETE" in result.stdout and "whirlpool" in result.stdout and "valid (" not in result.stdout
    accepted = cli("verify", str(bag), "--allow-unchecked", "--db", db)
    assert accepted.exit_code == 0 and "whirlpool" in accepted.stdout and "--allow-unchecked" in accepted.stdout
    as_json = cli("verify", str(bag), "--json", "--db", db)
    assert as_json.exit_code == 8 and json.loads(as_json.stdout)["verdict"] == "incomplete"
    audited = cli("audit", str(bag), "--db", db)
    assert audited.exit_code == 8 and ": incomplete:" in audited.stdout
    assert cli("audit", str(bag), "--db", db, "--allow-unchecked").exit_code == 0
    events = cli("history", str(bag), "--db", db, "--export", "jsonl").stdout.splitlines()
    assert {json.loads(line)["outcome"] for line in events} == {"incomplete"}


def test_an_invalid_bag_is_worse_than_an_incomplete_one(tmp_path: Path, cli: Cli) -> None:
    incomplete = _bag_with_an_uncomputable_manifest(tmp_path, cli)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "b.txt").write_text("b\n")
    assert cli("bag", str(broken), "--in-place").exit_code == 0
    (broken / "data" / "b.txt").write_text("changed\n")
    result = cli("verify", str(incomplete), str(broken), "--db", str(tmp_path / "h.sqlite"))
    assert result.exit_code == 1, result.stdout
