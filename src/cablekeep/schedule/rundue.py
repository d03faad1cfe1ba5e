"""``run_due``: run each scheduled job that is due now, once, and record it.

For every job of every manifest, in the manifests' order and crawl, check, audit within one (the
crawl's new bag is then the one checked and audited):

1. take the job's lock without waiting (:func:`cablekeep.locks.exclusive`, ``flock``: the kernel
   releases it when its holder dies, SIGKILL included); a job whose lock is held is running elsewhere
   and is left to that process;
2. under the lock, mark ``interrupted`` any run of the job still ``running`` (its process died), and
   decide from the ledger whether the job is due: a slot after its last finished run (or after it was
   first seen) and at or before ``now``. Deciding under the lock is what makes two overlapping
   ``run-due`` run a job once: the second sees the first's row;
3. run it, record the outcome and reason; a failed job waits for its next slot;
4. when the manifest's jobs are done, send one message per kind of event to ``notify:``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..errors import CablekeepError, LockedError, RunInterrupted
from ..locks import LOCK_SUFFIX, exclusive
from ..manifest import Manifest
from .jobs import RUNNERS, Event, JobContext, JobResult, JobRunner
from .ledger import JobLedger, JobRun
from .notify import Delivery, deliver, messages
from .plan import ScheduledJob, scheduled_jobs

LOCK_DIR = "schedule-locks"  # beside the database


def lock_path(db: Path, collection: str, job: str) -> Path:
    return db.parent / LOCK_DIR / f"{collection}.{job}{LOCK_SUFFIX}"


@dataclass(frozen=True)
class JobTick:
    """What ``run_due`` did with one job: ``ran`` (``run`` says how it ended), ``not-due``, or ``busy``
    (running in another process). ``interrupted``: earlier runs found dead and so marked."""

    collection: str
    job: str
    manifest: Path
    action: str
    next_due: datetime | None
    run: JobRun | None = None
    interrupted: tuple[JobRun, ...] = ()
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "collection": self.collection, "job": self.job, "manifest": str(self.manifest), "action": self.action,
            "next_due": None if self.next_due is None else self.next_due.isoformat().replace("+00:00", "Z"),
            "run": None if self.run is None else self.run.to_json(), "detail": self.detail,
            "interrupted": [run.to_json() for run in self.interrupted],
        }


@dataclass(frozen=True)
class RunDueReport:
    ticks: tuple[JobTick, ...]
    deliveries: tuple[Delivery, ...] = ()

    @property
    def ran(self) -> tuple[JobTick, ...]:
        return tuple(t for t in self.ticks if t.action == "ran")

    @property
    def ok(self) -> bool:
        """Every job that ran ended ``ok``."""
        return all(t.run is not None and t.run.outcome == "ok" for t in self.ran)

    def to_json(self) -> dict[str, object]:
        return {"schema": "cablekeep.run-due/1", "ok": self.ok, "jobs": [t.to_json() for t in self.ticks],
                "notifications": [{"channel": d.channel, "kind": d.kind, "collection": d.collection, "ok": d.ok,
                                   "attempts": d.attempts, "detail": d.detail} for d in self.deliveries]}


@dataclass
class Scheduler:
    """Runs due jobs against one database; see the module docstring. ``runners`` maps a job name to
    what runs it (a seam: tests may count runs without crawling); ``elapsed`` measures durations."""

    db: Path
    linkrot_db: Path
    runners: Mapping[str, JobRunner] = field(default_factory=lambda: dict(RUNNERS))
    stop: threading.Event = field(default_factory=threading.Event)
    environ: Mapping[str, str] = field(default_factory=dict)
    elapsed: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def run_due(self, manifests: Sequence[Manifest], now: datetime) -> RunDueReport:
        ticks: list[JobTick] = []
        deliveries: list[Delivery] = []
        with JobLedger(self.db) as ledger:
            for manifest in manifests:
                events: list[Event] = []
                for job in scheduled_jobs(manifest):
                    ticks.append(self._tick(ledger, job, now, events))
                for message in messages(manifest.collection, manifest.path, events, now):
                    deliveries += deliver(manifest.notify, message, self.environ, sleep=self.sleep)
        return RunDueReport(tuple(ticks), tuple(deliveries))

    def _tick(self, ledger: JobLedger, job: ScheduledJob, now: datetime, events: list[Event]) -> JobTick:
        path = lock_path(self.db, job.collection, job.job)
        try:
            with exclusive(path, f"the {job.job} job of collection {job.collection!r}"):
                return self._under_lock(ledger, job, now, events)
        except LockedError as exc:
            return JobTick(job.collection, job.job, job.manifest.path, "busy", None, detail=str(exc))

    def _under_lock(self, ledger: JobLedger, job: ScheduledJob, now: datetime, events: list[Event]) -> JobTick:
        seen = ledger.first_seen(job.collection, job.job, now)
        assert seen is not None
        interrupted = tuple(ledger.close_abandoned(job.collection, job.job, now))
        last = ledger.last_run(job.collection, job.job, finished_only=True)
        due = job.next_due(last.started if last is not None else seen)
        if due > now:
            return JobTick(job.collection, job.job, job.manifest.path, "not-due", due, interrupted=interrupted)
        run_id = ledger.start(job.collection, job.job, job.manifest.path, now, os.getpid())
        began = self.elapsed()

        def finish(result: JobResult) -> JobRun:
            took = max(0.0, self.elapsed() - began)
            return ledger.finish(run_id, result.outcome, result.reason, now + timedelta(seconds=took), took)

        context = JobContext(self.db, self.linkrot_db, self.stop)
        try:
            result = self.runners[job.job](job.manifest, context)
        except RunInterrupted as exc:
            ledger.finish(run_id, "interrupted", str(exc), now + timedelta(seconds=self.elapsed() - began),
                          self.elapsed() - began)
            raise
        except CablekeepError as exc:
            result = JobResult("failed", str(exc))
        except BaseException as exc:  # a crash: recorded, then raised with its traceback
            finish(JobResult("failed", f"crashed: {type(exc).__name__}: {exc}"))
            raise
        run = finish(result)
        if result.outcome == "failed":
            events.append(Event("job-failed", job.collection, job.job, f"the {job.job} job failed: {result.reason}"))
        events.extend(result.events)
        return JobTick(job.collection, job.job, job.manifest.path, "ran", job.next_due(now), run, interrupted)
