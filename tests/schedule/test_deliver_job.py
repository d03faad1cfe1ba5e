"""A scheduled deliver job: run-due delivers the collection's newest bag at its slots (fake clock) to the
destination deliver_to names, records the run in the job history and the replication in the fixity history;
a damaged bag fails the job and is notified by webhook like the other jobs. The manifest checks deliver_to."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cablekeep.bagging.build import bag_directory
from cablekeep.errors import ManifestError
from cablekeep.fixity.history import FixityHistory
from cablekeep.manifest import load_manifest_text
from cablekeep.schedule.rundue import Scheduler

from .loopback import loopback_server

UTC = timezone.utc
DAY = datetime(2026, 1, 5, tzinfo=UTC)


def manifest_text(tmp_path: Path, hook: str) -> str:
    return (f"cablekeep: 1\ncollection: andijon\nseeds: [http://h/]\nbag: {{output: bags}}\n"
            f"schedule:\n  deliver: \"0 6 * * *\"\n  deliver_to: share\n"
            f"delivery:\n  - {{name: other, kind: directory, path: other}}\n"
            f"  - {{name: share, kind: directory, path: share}}\n"
            f"notify:\n  webhook: {{url: \"{hook}\", retries: 0, timeout: 5}}\n")


def make_collection_bag(tmp_path: Path, name: str, text: str) -> Path:
    source = tmp_path / "src" / name
    source.mkdir(parents=True)
    (source / "cable.txt").write_text(text, encoding="utf-8")
    return bag_directory(source, dest_parent=tmp_path / "bags", in_place=False, algorithms=("sha256",),
                         processes=1).path


def test_deliver_job_sends_the_newest_bag_at_its_slots_and_a_damaged_one_fails_and_is_notified(tmp_path: Path) -> None:
    make_collection_bag(tmp_path, "andijon-20260101T000000Z", "older\n")
    newest = make_collection_bag(tmp_path, "andijon-20260104T000000Z", "newest\n")
    db = tmp_path / "fixity.sqlite"
    with loopback_server() as hooks:
        manifest = load_manifest_text(manifest_text(tmp_path, hooks.base + "/hook"), tmp_path / "andijon.yaml")
        scheduler = Scheduler(db, tmp_path / "linkrot.sqlite")
        assert [t.action for t in scheduler.run_due([manifest], DAY).ticks] == ["not-due"]  # first seen
        report = scheduler.run_due([manifest], DAY + timedelta(hours=6))
        (tick,) = report.ticks
        assert tick.action == "ran" and tick.run is not None and tick.run.outcome == "ok", tick
        assert (tmp_path / "share" / newest.name / "data" / "cable.txt").read_text(encoding="utf-8") == "newest\n"
        assert not (tmp_path / "share" / "andijon-20260101T000000Z").exists() and not (tmp_path / "other").exists()
        with FixityHistory(db) as history:
            assert [e.event_type for e in history.events_for(newest)] == ["replication"]
        assert scheduler.run_due([manifest], DAY + timedelta(hours=7)).ran == ()  # not before its next slot
        assert hooks.posts() == []

        (newest / "data" / "cable.txt").write_text("NEWEST\n", encoding="utf-8")
        failed = scheduler.run_due([manifest], DAY + timedelta(days=1, hours=6))
        (tick,) = failed.ran
        assert tick.run is not None and tick.run.outcome == "failed" and "nothing was sent" in tick.run.reason
        (post,) = hooks.posts()
        assert post["kind"] == "job-failed" and "deliver" in str(post)
    assert (tmp_path / "share" / newest.name / "data" / "cable.txt").read_text(encoding="utf-8") == "newest\n"


@pytest.mark.parametrize(("block", "message"), [
    ('deliver: "0 6 * * *"', "the deliver job needs a destination: delivery: has other, share"),
    ('deliver: "0 6 * * *"\n  deliver_to: nowhere', "'nowhere' is not a destination of delivery:"),
    ('audit: "0 6 * * *"\n  deliver_to: share', "no deliver job is scheduled"),
])
def test_the_manifest_checks_the_deliver_jobs_destination(tmp_path: Path, block: str, message: str) -> None:
    text = (f"cablekeep: 1\ncollection: andijon\nseeds: [http://h/]\nschedule:\n  {block}\n"
            "delivery:\n  - {name: other, kind: directory, path: other}\n"
            "  - {name: share, kind: directory, path: share}\n")
    with pytest.raises(ManifestError, match=message):
        load_manifest_text(text, tmp_path / "andijon.yaml")
