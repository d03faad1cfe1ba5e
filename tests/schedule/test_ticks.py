"""A fake clock drives run-due through a day of ticks, every five minutes, over manifests with different
schedules: exactly what is due runs at each tick; a failed job waits for its next slot; after an outage
each missed job runs once; jitter spreads collections and keeps each job's runs one slot apart.

The jobs here count their runs instead of crawling (the Scheduler's ``runners`` seam): what is under test
is when they run. The expected times are written from the cron expressions by hand, not by the parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cablekeep.manifest import Manifest, load_manifest_text
from cablekeep.schedule.jobs import JobContext, JobResult
from cablekeep.schedule.ledger import JobLedger
from cablekeep.schedule.plan import jitter_offset
from cablekeep.schedule.rundue import Scheduler
from cablekeep.schedule.status import iter_job_statuses

UTC = timezone.utc
DAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, in winter (Berlin is UTC+1)
TICK = timedelta(minutes=5)

MANIFESTS = {
    "alpha": 'crawl: "0 2 * * *"\n  check: "0 */6 * * *"\n  audit: "30 4 * * 1"\n',
    "beta": 'crawl: "0 3 * * *"\n  check: "*/45 * * * *"\n  audit: "0 0 1 * *"\n  timezone: Europe/Berlin\n',
    "gamma": 'crawl: "0 12 * * *"\n  jitter: 20m\n',
}


def expected(t: datetime) -> set[tuple[str, str]]:
    """What is due at tick ``t`` (UTC), read off the expressions above by hand."""
    due = set()
    if (t.hour, t.minute) == (2, 0):
        due |= {("alpha", "crawl"), ("beta", "crawl")}  # beta: 03:00 in Berlin
    if t.minute == 0 and t.hour % 6 == 0:
        due.add(("alpha", "check"))
    if (t.hour, t.minute) == (4, 30) and t.weekday() == 0:
        due.add(("alpha", "audit"))
    if t.minute in (0, 45):
        due.add(("beta", "check"))
    return due


def load_all(tmp_path: Path) -> list[Manifest]:
    return [load_manifest_text(f"cablekeep: 1\ncollection: {name}\nseeds: [http://h/]\nbag: {{output: bags}}\n"
                               f"schedule:\n  {block}", tmp_path / f"{name}.yaml") for name, block in MANIFESTS.items()]


class Counter:
    """Jobs that record each run; beta's check always fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def runner(self, job: str) -> Callable[[Manifest, JobContext], JobResult]:
        def run(manifest: Manifest, context: JobContext) -> JobResult:
            self.calls.append((manifest.collection, job))
            if (manifest.collection, job) == ("beta", "check"):
                return JobResult("failed", "the link-rot history is on a disk that is full")
            return JobResult("ok", "counted")
        return run

    def scheduler(self, db: Path) -> Scheduler:
        return Scheduler(db, db.with_name("linkrot.sqlite"), runners={j: self.runner(j) for j in ("crawl", "check", "audit")})

    def take(self) -> list[tuple[str, str]]:
        calls, self.calls = self.calls, []
        return calls


def ticks(start: datetime, end: datetime) -> Iterator[datetime]:
    t = start
    while t <= end:
        yield t
        t += TICK


@pytest.fixture
def counter() -> Counter:
    return Counter()


def test_a_day_of_ticks_runs_exactly_what_is_due(tmp_path: Path, counter: Counter) -> None:
    manifests, db = load_all(tmp_path), tmp_path / "fixity.sqlite"
    scheduler = counter.scheduler(db)
    first = DAY - TICK
    assert scheduler.run_due(manifests, first).ran == ()  # first seen: a job is due at its first slot after this
    gamma: list[datetime] = []
    for t in ticks(DAY, DAY + timedelta(hours=23, minutes=55)):
        report = scheduler.run_due(manifests, t)
        calls = counter.take()
        assert len(calls) == len(set(calls)), f"{t}: a job ran twice in one tick"
        gamma += [t for c in calls if c[0] == "gamma"]
        assert set(calls) - {("gamma", "crawl")} == expected(t), t
        assert {(r.collection, r.job) for r in report.ran} == set(calls)
    # gamma's crawl ran once, at most its jitter (and a tick) after 12:00
    offset = jitter_offset("gamma", "crawl", 20 * 60)
    assert len(gamma) == 1 and DAY + timedelta(hours=12) <= gamma[0] < DAY + timedelta(hours=12, minutes=25)
    assert gamma[0] - TICK < DAY + timedelta(hours=12) + offset <= gamma[0]

    with JobLedger(db) as ledger:
        runs = list(ledger.iter_runs("beta"))
        failed = [r for r in runs if r.job == "check"]
        assert len(failed) == 48 and {r.outcome for r in failed} == {"failed"}  # at its slots only, not every tick
        assert failed[0].reason == "the link-rot history is on a disk that is full"
        assert [r.outcome for r in runs if r.job == "crawl"] == ["ok"]
        status = {(s.collection, s.job): s for s in iter_job_statuses(manifests, ledger, DAY + timedelta(hours=24))}
    assert status["alpha", "crawl"].next_run == DAY + timedelta(days=1, hours=2)
    assert status["alpha", "audit"].next_run == DAY + timedelta(days=7, hours=4, minutes=30)
    assert status["beta", "audit"].next_run == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)  # Feb 1st, 00:00 in Berlin
    assert status["beta", "check"].last is not None and status["beta", "check"].last.outcome == "failed"
    assert status["alpha", "check"].due  # midnight has come
    assert not status["alpha", "crawl"].due


def test_after_an_outage_each_missed_job_runs_once(tmp_path: Path, counter: Counter) -> None:
    manifests, db = load_all(tmp_path), tmp_path / "fixity.sqlite"
    scheduler = counter.scheduler(db)
    for t in ticks(DAY - TICK, DAY + timedelta(hours=6)):
        scheduler.run_due(manifests, t)
    counter.take()
    # the machine is off from 06:00 to 17:50: alpha's 12:00 check, beta's 24 checks and gamma's noon crawl are missed
    back = DAY + timedelta(hours=17, minutes=50)
    scheduler.run_due(manifests, back)
    assert sorted(counter.take()) == [("alpha", "check"), ("beta", "check"), ("gamma", "crawl")]
    for t in ticks(back + TICK, back + timedelta(minutes=40)):  # 17:55 ... 18:30: the usual slots again
        scheduler.run_due(manifests, t)
        assert set(counter.take()) == expected(t), t


def test_jitter_spreads_a_hundred_collections_and_keeps_each_the_same() -> None:
    offsets = [jitter_offset(f"collection-{n}", "crawl", 3600) for n in range(100)]
    assert all(timedelta(0) <= o < timedelta(hours=1) for o in offsets)
    assert len(set(offsets)) > 90
    assert max(offsets) - min(offsets) > timedelta(minutes=45)
    assert offsets == [jitter_offset(f"collection-{n}", "crawl", 3600) for n in range(100)]
    assert jitter_offset("c", "crawl", 0) == timedelta(0)
