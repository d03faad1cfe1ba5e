"""One writer at a time: an exclusive lock per collection (or per bag, per job), held by a process.

A lock is a file beside what it guards, locked with ``flock``: the kernel releases it when its holder
exits for any reason, ``kill -9`` included, so a lock left by a dead process is simply taken over and
never waited on. The file also names its holder (PID, host, command, since when) so that a second
process can say who is in the way. Taking a lock never waits: it succeeds or raises
:class:`~cablekeep.errors.LockedError` at once.

Used by ``run`` (the collection's work directory), ``bag --in-place`` and ``repair`` (the bag).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .errors import LockedError, OutputError

LOCK_SUFFIX = ".lock"


def _holder(handle_path: Path) -> str:
    try:
        data = json.loads(handle_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process"
    if not isinstance(data, dict) or "pid" not in data:
        return "another process"
    return (
        f"process {data.get('pid')} on {data.get('host', '?')} since {data.get('since', '?')}"
        f" ({data.get('command', '?')})"
    )


def _still_linked(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file locked through ``fd`` (a holder with ``remove`` unlinks it)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _acquire(path: Path, what: str) -> int:
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise OutputError(f"cannot create the lock {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(
                f"{what} is in use by {_holder(path)}; wait for it to finish "
                f"(the lock {path} is released when that process ends)"
            ) from None
        if _still_linked(fd, path):
            return fd
        os.close(fd)  # its holder removed it as we opened it: lock the file that is there now


@contextmanager
def exclusive(path: Path, what: str, *, remove: bool = False) -> Iterator[None]:
    """Hold the lock file ``path`` while the block runs; ``what`` names the guarded thing in messages.

    With ``remove`` the lock file is unlinked when the block ends (while still held), for a lock beside
    a user's folder that should leave nothing behind; whoever opened the old file meanwhile sees it is
    no longer linked and locks the new one, so two holders never coexist.
    """
    fd = _acquire(path, what)
    try:
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:4])),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only the holder's name is missing from it
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            if remove:
                try:
                    os.unlink(path)
                except OSError:
                    pass  # left for the next holder, who takes it over: a lock file holds nothing
    finally:
        os.close(fd)  # closing the descriptor releases the lock
