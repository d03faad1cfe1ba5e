"""What starts ``cablekeep run-due`` every few minutes: a crontab line, or a systemd service and timer.

Given this install's Python, the folder that holds ``manifests/`` and (optionally) the database, each
is text to paste: nothing is installed or written here. ``run-due`` exits once the due jobs are done,
and two overlapping ones never run a job twice, so a short interval is safe.
"""

from __future__ import annotations

import shlex
from pathlib import Path

UNIT = "cablekeep-run-due"


def _command(python: Path, db: Path | None) -> list[str]:
    return [str(python), "-m", "cablekeep", "run-due", *(["--db", str(db)] if db is not None else [])]


def cron_line(python: Path, workdir: Path, *, every: int = 5, db: Path | None = None, log: Path | None = None) -> str:
    """One crontab line (``crontab -e``) running run-due every ``every`` minutes in ``workdir``."""
    command = " ".join(shlex.quote(part) for part in _command(python, db))
    output = f" >> {shlex.quote(str(log))} 2>&1" if log is not None else ""
    return f"*/{every} * * * * cd {shlex.quote(str(workdir))} && {command}{output}"


def systemd_units(python: Path, workdir: Path, *, every: int = 5, db: Path | None = None) -> dict[str, str]:
    """The service and timer units, by file name (for ``~/.config/systemd/user/``, then
    ``systemctl --user daemon-reload && systemctl --user enable --now cablekeep-run-due.timer``)."""
    command = " ".join(_systemd_quote(part) for part in _command(python, db))
    service = (
        "[Unit]\n"
        "Description=cablekeep: run the scheduled crawls, checks and audits that are due\n"
        "After=network-online.target\nWants=network-online.target\n\n"
        "[Service]\nType=oneshot\n"
        f"WorkingDirectory={_systemd_quote(str(workdir))}\n"
        f"ExecStart={command}\n"
        "# SMTP credentials, when notify.email needs them: Environment= or EnvironmentFile= here\n"
    )
    timer = (
        "[Unit]\nDescription=cablekeep: start run-due every few minutes\n\n"
        f"[Timer]\nOnCalendar=*:0/{every}\nPersistent=true\nRandomizedDelaySec=30\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def _systemd_quote(text: str) -> str:
    """A word of a unit file line: quoted when it holds spaces or quotes, with % doubled (a specifier)."""
    text = text.replace("%", "%%")
    if any(c in text for c in " \t\"'\\"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text
