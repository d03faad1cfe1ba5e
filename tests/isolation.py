"""Keeping the test run away from the user's own cablekeep data: where it lives, and a snapshot of it.

``tests/conftest.py`` points every XDG folder and HOME at a session temp dir before any fixture runs,
snapshots the user's real cablekeep folders at the start, and fails the run when they changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

ISOLATED_VARIABLES = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "HOME")

Snapshot = dict[str, tuple[str, int, int]]  # path -> (kind, size, mtime_ns); {} when nothing is there


def user_folders(environ: Mapping[str, str]) -> list[Path]:
    """The user's cablekeep data and config folders, as cablekeep would find them with ``environ``."""
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    data = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    config = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return [Path(data) / "cablekeep", Path(config) / "cablekeep"]


def snapshot(folders: Sequence[Path]) -> Snapshot:
    """Existence, size and mtime of each folder and of everything below it (links not followed)."""
    seen: Snapshot = {}
    for folder in folders:
        if not os.path.lexists(folder):
            continue
        stack = [str(folder)]
        while stack:
            path = stack.pop()
            info = os.lstat(path)
            is_dir = os.path.isdir(path) and not os.path.islink(path)
            seen[path] = ("dir" if is_dir else "file", info.st_size, info.st_mtime_ns)
            if is_dir:
                stack.extend(os.path.join(path, name) for name in os.listdir(path))
    return seen


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, one line per path, sorted."""
    lines = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            lines.append(f"removed: {path}")
        elif path not in before:
            lines.append(f"created: {path}")
        elif before[path] != after[path]:
            lines.append(f"modified: {path}")
    return lines
