"""``job_statuses``: each scheduled job's last run, outcome, duration and next run (``cablekeep due``).

Reads the ledger only: a job ``run-due`` has not seen yet is due at its first slot after now.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..manifest import Manifest
from .ledger import JobLedger, JobRun, time_text
from .plan import scheduled_jobs


@dataclass(frozen=True)
class JobStatus:
    collection: str
    job: str
    manifest: Path
    cron: str
    timezone: str
    last: JobRun | None  # the latest run, whatever its outcome
    next_run: datetime
    due: bool  # next_run is at or before now: run-due would run it

    def to_json(self) -> dict[str, object]:
        last = self.last
        return {
            "collection": self.collection, "job": self.job, "manifest": str(self.manifest), "cron": self.cron,
            "timezone": self.timezone, "due": self.due, "next_run": time_text(self.next_run),
            "last_run": None if last is None else time_text(last.started),
            "outcome": None if last is None else last.outcome,
            "duration": None if last is None else last.duration,
            "reason": None if last is None else last.reason,
        }


def iter_job_statuses(manifests: Sequence[Manifest], ledger: JobLedger, now: datetime) -> Iterator[JobStatus]:
    for manifest in manifests:
        for job in scheduled_jobs(manifest):
            last = ledger.last_run(job.collection, job.job)
            finished = ledger.last_run(job.collection, job.job, finished_only=True)
            reference = finished.started if finished is not None else ledger.first_seen(job.collection, job.job)
            next_run = job.next_due(reference if reference is not None else now)
            yield JobStatus(job.collection, job.job, manifest.path, job.schedule.cron.text,
                            manifest.schedule.timezone, last, next_run, next_run <= now)
