"""`cablekeep audit` as a user runs it: bags at any depth, and no bag found is an error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..conftest import CliResult

Cli = Callable[..., CliResult]


def test_audit_of_a_folder_without_bags_fails_and_max_depth_bounds_the_search(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("audit", str(tmp_path / "empty"), "--db", str(tmp_path / "h.sqlite"))
    assert result.exit_code == 4 and "no bags found" in result.stderr and "Traceback" not in result.stderr
    deep = tmp_path / "shelf" / "row" / "box"
    deep.mkdir(parents=True)
    (deep / "papers").mkdir()
    (deep / "papers" / "a.txt").write_text("a\n")
    assert cli("bag", str(deep / "papers"), "--in-place").exit_code == 0
    found = cli("audit", str(tmp_path / "shelf"), "--db", str(tmp_path / "h.sqlite"))
    assert found.exit_code == 0 and "papers: valid" in found.stdout, found.stdout + found.stderr
    bounded = cli("audit", str(tmp_path / "shelf"), "--max-depth", "2", "--db", str(tmp_path / "h.sqlite"))
    assert bounded.exit_code == 4 and "down to 2 level" in bounded.stderr
