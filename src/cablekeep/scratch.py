"""Temporary folders that a killed cablekeep does not leave behind for good.

A folder made with :func:`scratch_folder` is named ``<prefix><pid>-<random>`` in the temporary folder
(``$TMPDIR``) and removed when its block is left. A SIGKILL gives the block no chance to run, so each
new folder of a prefix first removes the ones of that prefix whose process is gone
(:func:`remove_stale`): this user's, named with a pid that no process has. A pid that was taken again
keeps its folder until that process is gone too: never a folder a live process may use.

Used for the browser's profile (:mod:`cablekeep.capture.cdp`) and pywb's collection
(:mod:`cablekeep.access.replay`). Standard library only; nothing happens at import.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def remove_stale(folder: Path, prefix: str) -> list[Path]:
    """Remove ``folder``'s ``<prefix><pid>-*`` folders of this user whose process is gone; returns them."""
    removed: list[Path] = []
    try:
        entries = list(folder.glob(glob_escape(prefix) + "*"))
    except OSError:
        return removed
    for entry in entries:
        owner = entry.name[len(prefix):].split("-", 1)[0]
        try:
            if not owner.isdigit() or not entry.is_dir() or entry.is_symlink() or entry.lstat().st_uid != os.geteuid():
                continue
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        except OSError:  # another user's process has that pid, or the entry went away
            continue
    return removed


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def make_scratch(prefix: str) -> Path:
    """A new folder ``<prefix><this pid>-<random>`` in the temporary folder, after removing stale ones."""
    root = Path(tempfile.gettempdir())
    remove_stale(root, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """:func:`make_scratch`, removed with everything in it when the block is left."""
    folder = make_scratch(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
