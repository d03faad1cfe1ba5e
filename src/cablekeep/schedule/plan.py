"""When a job is due: the slots of its cron expression, read in the schedule's time zone, each moved
later by the job's jitter offset.

A job is due at ``now`` when a slot falls after the reference time and at or before ``now``. The
reference is when the job last started and finished (well or not); for a job never run, when it was
first seen. Every missed slot is covered by one run: after it, the reference is ``now``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..manifest import JobSchedule, Manifest

JITTER_STEPS = 1_000_000  # the jitter offset is one of this many steps of the jitter


def jitter_offset(collection: str, job: str, jitter: float) -> timedelta:
    """A fixed delay in [0, jitter) seconds for this collection's job: the same at every run, different
    between collections, so a hundred collections scheduled at 02:00 spread over the jitter."""
    if jitter <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{collection}\0{job}".encode()).digest()
    step = int.from_bytes(digest[:8], "big") % JITTER_STEPS
    return timedelta(seconds=round(jitter * step / JITTER_STEPS))


@dataclass(frozen=True)
class ScheduledJob:
    """One job of one manifest, with its time zone and jitter offset."""

    manifest: Manifest
    schedule: JobSchedule
    offset: timedelta

    @property
    def collection(self) -> str:
        return self.manifest.collection

    @property
    def job(self) -> str:
        return self.schedule.job

    def next_due(self, after: datetime) -> datetime:
        """The first time strictly after ``after`` at which this job is due (a slot plus the offset)."""
        zone = ZoneInfo(self.manifest.schedule.timezone)
        return self.schedule.cron.next_after(after - self.offset, zone) + self.offset


def scheduled_jobs(manifest: Manifest) -> list[ScheduledJob]:
    """The jobs ``manifest`` schedules, in the order crawl, check, audit."""
    schedule = manifest.schedule
    return [ScheduledJob(manifest, job, jitter_offset(manifest.collection, job.job, schedule.jitter))
            for job in schedule.jobs]
