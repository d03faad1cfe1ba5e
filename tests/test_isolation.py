"""`make test` never touches the user's data: the XDG folders and HOME are the session's own from the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .isolation import ISOLATED_VARIABLES, changes, snapshot, user_folders


@pytest.fixture(scope="module")
def module_environment() -> dict[str, str | None]:
    """What a module-scoped fixture (a crawl shared by a module) sees: it starts before any per-test fixture."""
    return {name: os.environ.get(name) for name in ISOLATED_VARIABLES}


def test_fixtures_that_start_early_see_the_session_folders(module_environment: dict[str, str | None]) -> None:
    values = [Path(value) for value in module_environment.values() if value]
    assert len(values) == len(ISOLATED_VARIABLES), module_environment
    base = values[0].parent
    assert base.name.startswith("cablekeep-tests-")
    assert all(value.parent == base and value.is_dir() for value in values)


def test_a_cablekeep_process_finds_its_history_in_the_session_folders(tmp_path: Path) -> None:
    # what the CLI's default --db resolves to in a child started now, with the per-test XDG_DATA_HOME removed
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    code = "from cablekeep.cli import _default_db; print(_default_db())"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    home = Path(os.environ["HOME"])
    assert Path(shown.strip()) == home / ".local" / "share" / "cablekeep" / "fixity.sqlite"
    assert home.name == "home" and home.parent.name.startswith("cablekeep-tests-")


def test_user_folders_follow_xdg_and_home() -> None:
    assert user_folders({"HOME": "/h"}) == [Path("/h/.local/share/cablekeep"), Path("/h/.config/cablekeep")]
    assert user_folders({"HOME": "/h", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c"}) == [
        Path("/d/cablekeep"), Path("/c/cablekeep")]


def test_a_snapshot_notices_every_kind_of_touch(tmp_path: Path) -> None:
    data, config = tmp_path / "share" / "cablekeep", tmp_path / "config" / "cablekeep"
    data.mkdir(parents=True)
    (data / "fixity.sqlite").write_bytes(b"events")
    before = snapshot([data, config])
    assert changes(before, snapshot([data, config])) == []
    os.utime(data / "fixity.sqlite", ns=(1, 1))  # same bytes, new mtime: a write
    (data / "fixity.sqlite-journal").write_bytes(b"")
    config.mkdir(parents=True)
    assert changes(before, snapshot([data, config])) == [
        f"created: {config}", f"modified: {data}",  # a new name in it
        f"modified: {data / 'fixity.sqlite'}", f"created: {data / 'fixity.sqlite-journal'}"]
    (data / "fixity.sqlite").unlink()
    assert f"removed: {data / 'fixity.sqlite'}" in changes(before, snapshot([data, config]))
