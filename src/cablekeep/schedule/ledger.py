"""The job runs: one row per run of a scheduled job, in the fixity history's database (its own tables).

``schedule_runs`` holds each run's collection, job, manifest, start, end, duration, outcome and reason;
``schedule_seen`` when the scheduler first saw each job (a job never run is due at its first slot after
that, not at once). Several processes share the file (WAL, a busy timeout); a row is written when a
job starts (``running``) and finished when it ends, so a run whose process died shows as ``running``
until the next holder of that job's lock marks it ``interrupted``.

Outcomes: ``running``; ``ok``; ``invalid`` (the job ran and found a bag invalid); ``failed`` (the job
could not do its work; the reason says why); ``interrupted`` (stopped or killed: it runs again).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from ..errors import OutputError

FINISHED = ("ok", "invalid", "failed")  # a run that did its slot, well or not: the next one is the next slot
_SCHEMA = """
CREATE TABLE IF NOT EXISTS schedule_runs (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    job TEXT NOT NULL,
    manifest TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    duration REAL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS schedule_runs_job ON schedule_runs (collection, job, id);
CREATE TABLE IF NOT EXISTS schedule_seen (
    collection TEXT NOT NULL,
    job TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (collection, job)
) WITHOUT ROWID;
"""
_COLUMNS = "id, collection, job, manifest, started, finished, duration, outcome, reason, pid"


def time_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class JobRun:
    """One run of one job, as recorded."""

    id: int
    collection: str
    job: str
    manifest: str
    started: datetime
    finished: datetime | None
    duration: float | None
    outcome: str
    reason: str
    pid: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id, "collection": self.collection, "job": self.job, "manifest": self.manifest,
            "started": time_text(self.started), "finished": None if self.finished is None else time_text(self.finished),
            "duration": self.duration, "outcome": self.outcome, "reason": self.reason,
        }


def _run(row: tuple[object, ...]) -> JobRun:
    id_, collection, job, manifest, started, finished, duration, outcome, reason, pid = row
    return JobRun(int(str(id_)), str(collection), str(job), str(manifest), parse_time(str(started)),
                  None if finished is None else parse_time(str(finished)),
                  None if duration is None else float(str(duration)), str(outcome), str(reason),
                  None if pid is None else int(str(pid)))


class JobLedger:
    """The job runs in ``path`` (the fixity history's file; tables of their own, beside its events)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 30000")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot open the job history in {self.path}: {exc}; choose another with --db") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> JobLedger:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- first seen

    def first_seen(self, collection: str, job: str, now: datetime | None = None) -> datetime | None:
        """When the job was first seen; with ``now``, a job not seen before is seen now."""
        if now is not None:
            self.db.execute("INSERT OR IGNORE INTO schedule_seen VALUES (?, ?, ?)", (collection, job, time_text(now)))
        row = self.db.execute("SELECT first_seen FROM schedule_seen WHERE collection = ? AND job = ?",
                              (collection, job)).fetchone()
        return None if row is None else parse_time(str(row[0]))

    # -- runs

    def last_run(self, collection: str, job: str, *, finished_only: bool = False) -> JobRun | None:
        """The latest run of the job (only those that did their slot, with ``finished_only``)."""
        where = f" AND outcome IN ({', '.join('?' * len(FINISHED))})" if finished_only else ""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM schedule_runs WHERE collection = ? AND job = ?{where} "
                              "ORDER BY id DESC LIMIT 1",
                              (collection, job, *(FINISHED if finished_only else ()))).fetchone()
        return None if row is None else _run(row)

    def close_abandoned(self, collection: str, job: str, finished: datetime) -> list[JobRun]:
        """Mark ``interrupted`` the runs of the job still ``running``: call it holding the job's lock, when
        no process can still be running them. Returns them as they now are."""
        rows = self.db.execute("SELECT id, pid FROM schedule_runs WHERE collection = ? AND job = ? "
                               "AND outcome = 'running'", (collection, job)).fetchall()
        closed = []
        for run_id, pid in rows:
            self.db.execute("UPDATE schedule_runs SET outcome = 'interrupted', finished = ?, reason = ? WHERE id = ?",
                            (time_text(finished), f"the process running it (pid {pid}) ended before it finished: "
                             "killed, or the machine stopped; it runs again", run_id))
            closed.append(self._get(int(run_id)))
        return closed

    def _get(self, run_id: int) -> JobRun:
        return _run(self.db.execute(f"SELECT {_COLUMNS} FROM schedule_runs WHERE id = ?", (run_id,)).fetchone())

    def start(self, collection: str, job: str, manifest: Path, started: datetime, pid: int) -> int:
        cursor = self.db.execute(
            "INSERT INTO schedule_runs (collection, job, manifest, started, outcome, reason, pid) "
            "VALUES (?, ?, ?, ?, 'running', '', ?)", (collection, job, str(manifest), time_text(started), pid))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish(self, run_id: int, outcome: str, reason: str, finished: datetime, duration: float) -> JobRun:
        self.db.execute("UPDATE schedule_runs SET outcome = ?, reason = ?, finished = ?, duration = ? WHERE id = ?",
                        (outcome, reason, time_text(finished), duration, run_id))
        return self._get(run_id)

    def iter_runs(self, collection: str | None = None) -> Iterator[JobRun]:
        """Every run (of one collection), oldest first, read one at a time."""
        if collection is None:
            cursor = self.db.execute(f"SELECT {_COLUMNS} FROM schedule_runs ORDER BY id")
        else:
            cursor = self.db.execute(f"SELECT {_COLUMNS} FROM schedule_runs WHERE collection = ? ORDER BY id",
                                     (collection,))
        for row in cursor:
            yield _run(row)
