"""Where bags are built before they get their names, and how what a killed run left there is removed.

A bag is built in a staging folder beside its final place and renamed into place when whole (a copy:
``<parent>/.staging-<name>``; in place: ``<parent>/.cablekeep-bagging-<name>``). A process that dies
leaves its staging folder behind; the next run of the same command, holding the lock beside the bag
(:func:`lock_beside`), removes it and names it in its result. Links are never followed while removing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import OutputError
from ..locks import LOCK_SUFFIX

STAGING_PREFIX = ".staging-"
IN_PLACE_PREFIX = ".cablekeep-bagging-"


def lock_beside(path: Path) -> Path:
    """The lock file guarding the bag (or folder) ``path``: hidden, beside it, never inside it.

    The same file as :func:`cablekeep.fixity.repair.bag_lock_path`, so bagging a folder in place and
    repairing that bag exclude each other too.
    """
    absolute = Path(os.path.abspath(path))
    return absolute.parent / f".{absolute.name}{LOCK_SUFFIX}"


def remove_staging(path: Path) -> bool:
    """Remove the staging folder ``path`` (a link there is removed, not followed); True if something was there."""
    if not os.path.lexists(path):
        return False
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)
    return True


def discard_partial(path: Path) -> str:
    """Remove a partial output after a failure; a phrase for the error message saying what became of it."""
    try:
        remove_staging(path)
    except OSError as exc:
        return f"the partial {path} could not be removed ({exc.strerror or exc}): it is not a bag, remove it"
    return f"the partial {path} was removed"


def describe(exc: OSError) -> str:
    """Why an OS call failed and on which path, for a message: ``No space left on device (/a/b)``."""
    reason = exc.strerror or str(exc)
    return f"{reason} ({exc.filename})" if exc.filename else reason


def make_output_dir(path: Path, failing: str) -> None:
    """Create the output folder ``path`` (and its parents), or raise OutputError saying why.

    ``failing`` opens the message: what could not be done (``cannot bag X into Y``).
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in (path, *path.parents) if os.path.lexists(p) and not p.is_dir()), None)
        if blocker is None:
            raise OutputError(f"{failing}: {describe(exc)}") from exc
        raise OutputError(f"{failing}: {blocker} is a file, not a folder; move it or choose another place") from exc
    except OSError as exc:
        raise OutputError(f"{failing}: {describe(exc)}") from exc
