"""Audits on real bags in tmp_path with a real SQLite history: due dates, sample cycles, read-error
retries, one finding per file, and files renamed, added and removed since the last audit."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import bagit
import pytest

from cablekeep.fixity.audit import AuditReport, audit, find_bags, parse_age, parse_share, record_verification
from cablekeep.bagging.build import make_bag as cablekeep_make_bag
from cablekeep.errors import BagUnreadableError, UsageError
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.history import FixityHistory, bag_identity

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_bag(root: Path, count: int, *, identifier: str) -> Path:
    root.mkdir(parents=True)
    for n in range(count):
        target = root / ("sub" if n % 3 == 0 else "") / f"file-{n:02d}.txt"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(f"content of file {n}\n".encode() * (n + 1))
    bagit.make_bag(str(root), {"External-Identifier": identifier}, checksums=["sha256", "sha512"])
    return root


@pytest.fixture
def bags(tmp_path: Path) -> Path:
    """bags/ holding two bagit-python bags (8 and 10 files) and one made by cablekeep."""
    parent = tmp_path / "bags"
    make_bag(parent / "alpha", 8, identifier="urn:uuid:00000000-0000-4000-8000-00000000000a")
    make_bag(parent / "beta", 10, identifier="urn:uuid:00000000-0000-4000-8000-00000000000b")
    sources = tmp_path / "sources"
    sources.mkdir()
    payload = []
    for n in range(4):
        (sources / f"page-{n}.html").write_bytes(f"<p>cable {n}</p>\n".encode())
        payload.append((sources / f"page-{n}.html", f"pages/page-{n}.html"))
    cablekeep_make_bag(
        parent, "gamma", payload, info={"Source-Organization": "tests"}, algorithms=["sha512", "sha256"],
        external_identifier="urn:uuid:00000000-0000-4000-8000-00000000000c", bagging_date=T0, link=False,
    )
    (parent / ".work").mkdir()  # not a bag
    return parent


@pytest.fixture
def history(tmp_path: Path) -> Iterator[FixityHistory]:
    (tmp_path / "state").mkdir()
    with FixityHistory(tmp_path / "state" / "fixity.sqlite") as h:
        yield h


def run(bags: Path | list[Path], history: FixityHistory, clock: Clock, **options: Any) -> AuditReport:
    defaults: dict[str, Any] = {"older_than": None, "sample": None, "rng": random.Random(7), "clock": clock, "processes": 1}
    defaults.update(options)
    return audit(bags if isinstance(bags, list) else [bags], history, **defaults)


def payload_paths(bag: Path) -> set[str]:
    return {p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- finding bags, due dates


def test_find_bags_takes_bags_and_directories_of_bags(bags: Path, tmp_path: Path) -> None:
    assert [p.name for p in find_bags([bags])] == ["alpha", "beta", "gamma"]
    assert [p.name for p in find_bags([bags / "beta", bags, bags / "beta"])] == ["beta", "alpha", "gamma"]
    with pytest.raises(BagUnreadableError, match="does not exist"):
        find_bags([tmp_path / "nowhere"])
    with pytest.raises(BagUnreadableError, match="neither a bag"):
        find_bags([bags / "alpha" / "bagit.txt"])


def test_a_full_audit_records_one_event_per_bag_and_older_than_skips_recent_ones(
    bags: Path, history: FixityHistory
) -> None:
    clock = Clock()
    first = run(bags, history, clock, older_than=timedelta(days=90))
    assert first.ok and [b.status for b in first.bags] == ["checked"] * 3
    for result in first.bags:
        (stored,) = history.events_for(result.path)
        assert (stored.event_type, stored.mode, stored.outcome) == ("fixity check", "full", "valid")
        assert stored.time == T0 and stored.id == result.event.id
    gamma = history.events_for(bags / "gamma")[0]
    assert gamma.bag.external_identifier == "urn:uuid:00000000-0000-4000-8000-00000000000c"
    assert gamma.files_checked == 4 + 4 and gamma.algorithms == ("sha256", "sha512")

    clock.advance(days=89)
    second = run(bags, history, clock, older_than=timedelta(days=90))
    assert [b.status for b in second.bags] == ["skipped"] * 3 and second.ok
    assert second.bags[0].last_full_check == T0

    make_bag(bags / "delta", 2, identifier="urn:uuid:00000000-0000-4000-8000-00000000000d")
    clock.advance(days=1)
    third = run(bags, history, clock, older_than=timedelta(days=90))
    assert {b.path.name: b.status for b in third.bags} == {
        "alpha": "checked", "beta": "checked", "gamma": "checked", "delta": "checked",
    }
    assert len(history.events_for(bags / "alpha")) == 2
    json.dumps(third.to_json())


def test_a_moved_bag_is_recognised_and_not_checked_again_early(bags: Path, tmp_path: Path, history: FixityHistory) -> None:
    clock = Clock()
    run(bags / "alpha", history, clock)
    moved = tmp_path / "archive" / "alpha-renamed"
    moved.parent.mkdir()
    (bags / "alpha").rename(moved)
    clock.advance(days=3)
    (result,) = run(moved, history, clock, older_than=timedelta(days=30)).bags
    assert result.status == "skipped" and result.last_full_check == T0


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("name,count", [("alpha", 8), ("beta", 10)])
def test_sample_cycles_check_every_file_exactly_once(bags: Path, history: FixityHistory, name: str, count: int) -> None:
    bag = bags / name
    clock = Clock()
    rng = random.Random(2026)
    seen: Counter[str] = Counter()
    for run_number in range(4):
        (result,) = run(bag, history, clock, sample=0.25, rng=rng).bags
        assert result.outcome == "valid" and result.report.mode == "sample"
        assert len(result.sample.paths) <= -(-count // 4)
        assert result.report.files_not_sampled == count - len(result.sample.paths)
        assert result.sample.completes == (run_number == 3)
        assert result.event.paths == result.sample.paths  # the event records which files were hashed
        seen.update(result.sample.paths)
        clock.advance(days=1)
    assert set(seen) == payload_paths(bag) and set(seen.values()) == {1}
    # the completed cycle counts as a full check, dated when the cycle began
    assert history.last_full_check(bag) == T0
    assert [e.cycle_started for e in history.events_for(bag)] == [None, None, None, T0]
    # the next run begins a new cycle
    (fifth,) = run(bag, history, clock, sample=0.25, rng=rng).bags
    assert fifth.sample.checked_before == 0 and fifth.sample.cycle_started == clock.now


def test_sample_cycles_with_older_than_run_until_the_cycle_completes(bags: Path, history: FixityHistory) -> None:
    bag = bags / "alpha"
    clock = Clock()
    statuses = []
    for _ in range(6):
        (result,) = run(bag, history, clock, sample=0.5, older_than=timedelta(days=30)).bags
        statuses.append(result.status)
        clock.advance(days=1)
    assert statuses == ["checked", "checked", "skipped", "skipped", "skipped", "skipped"]
    clock.advance(days=30)
    (result,) = run(bag, history, clock, sample=0.5, older_than=timedelta(days=30)).bags
    assert result.status == "checked"


def test_a_sample_finds_a_corrupt_file_when_its_turn_comes(bags: Path, history: FixityHistory) -> None:
    bag = bags / "beta"
    victim = bag / "data" / "file-04.txt"
    victim.write_bytes(b"X" + victim.read_bytes()[1:])  # same size: only hashing finds it
    clock = Clock()
    rng = random.Random(5)
    found_in = []
    for _ in range(4):
        (result,) = run(bag, history, clock, sample=0.25, rng=rng).bags
        changed = [p for p in result.findings if p.kind == "changed"]
        if "data/file-04.txt" in result.sample.paths:
            assert result.outcome == "invalid" and [p.path for p in changed] == ["data/file-04.txt"]
            found_in.append(result.event.id)
        else:
            assert result.outcome == "valid" and not changed
        clock.advance(days=1)
    assert len(found_in) == 1


def test_verify_bag_sample_mode_hashes_only_what_it_is_given(bags: Path) -> None:
    bag = bags / "alpha"
    report = verify_bag(bag, only={"data/file-01.txt", "data/sub/file-00.txt"}, processes=1)
    assert report.mode == "sample" and report.ok and not report.fully_checked
    assert report.files_checked == 2 + 4 and report.files_not_sampled == 6
    assert report.to_json()["files_not_sampled"] == 6
    (bag / "data" / "file-02.txt").write_bytes(b"changed")  # size changes: completeness still sees it
    report = verify_bag(bag, only={"data/file-01.txt"}, processes=1)
    assert {p.kind for p in report.problems} == {"oxum"}
    with pytest.raises(UsageError):
        verify_bag(bag, fast=True, only=set())
    assert "files_not_sampled" not in verify_bag(bags / "beta", processes=1).to_json()


# --------------------------------------------------------------------------- read errors and mismatches


class FlakyOpen:
    """Opens files like verify_bag does, but fails ``failures`` times for one path with ``code``."""

    def __init__(self, path: str, failures: int, code: int = errno.EIO) -> None:
        self.path = path
        self.failures = failures
        self.code = code
        self.calls: Counter[str] = Counter()

    def __call__(self, path: str) -> int:
        rel = path.split(os.sep + "data" + os.sep, 1)[-1]
        self.calls[rel] += 1
        if rel == self.path and self.failures:
            self.failures -= 1
            raise OSError(self.code, os.strerror(self.code), path)
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW)


def test_a_transient_read_error_is_retried_and_then_passes(bags: Path, history: FixityHistory) -> None:
    flaky = FlakyOpen("file-04.txt", failures=2)
    (result,) = run(bags / "alpha", history, Clock(), retries=3, open_file=flaky).bags
    assert result.outcome == "valid" and result.findings == ()
    assert flaky.calls["file-04.txt"] == 3
    assert [(r.path, r.attempts, r.recovered) for r in result.retried] == [("data/file-04.txt", 3, True)]
    assert result.report.files_checked == 8 + 4  # the recovered file counts once
    assert "read on attempt 3" in history.events_for(bags / "alpha")[0].detail


def test_a_persistent_read_error_is_reported_once_after_bounded_retries(bags: Path, history: FixityHistory) -> None:
    flaky = FlakyOpen("file-04.txt", failures=100)
    (result,) = run(bags / "alpha", history, Clock(), retries=2, open_file=flaky).bags
    assert flaky.calls["file-04.txt"] == 3  # first attempt + 2 retries
    assert result.outcome == "incomplete"  # its fixity is unknown: neither passed nor failed, never "valid"
    assert [(p.kind, p.path) for p in result.findings] == [("not-checked", "data/file-04.txt")]
    assert [(r.attempts, r.recovered) for r in result.retried] == [(3, False)]
    (stored,) = history.events_for(bags / "alpha")
    assert stored.outcome == "incomplete" and [p.kind for p in stored.problems] == ["not-checked"]


def test_a_vanished_file_is_not_retried(bags: Path, history: FixityHistory) -> None:
    flaky = FlakyOpen("file-04.txt", failures=100, code=errno.ENOENT)
    (result,) = run(bags / "alpha", history, Clock(), retries=3, open_file=flaky).bags
    assert flaky.calls["file-04.txt"] == 1 and result.retried == ()
    assert [(p.kind, p.path) for p in result.findings] == [("missing", "data/file-04.txt")]


def test_a_mismatch_is_one_finding_naming_every_algorithm_and_is_not_retried(bags: Path, history: FixityHistory) -> None:
    victim = bags / "alpha" / "data" / "file-01.txt"
    victim.write_bytes(victim.read_bytes()[::-1])
    counting = FlakyOpen("none", failures=0)
    (result,) = run(bags / "alpha", history, Clock(), open_file=counting).bags
    assert counting.calls["file-01.txt"] == 1 and result.retried == ()
    assert [p.algorithm for p in result.report.problems] == ["sha256", "sha512"]  # the evidence is kept
    (finding,) = result.findings
    assert (finding.kind, finding.path, finding.algorithm) == ("changed", "data/file-01.txt", "sha512")
    assert "sha256 and sha512" in finding.detail and finding.found is not None
    assert history.events_for(bags / "alpha")[0].problems == (finding,)


# --------------------------------------------------------------------------- what changed since the last audit


def test_renamed_added_and_removed_files_are_named(bags: Path, history: FixityHistory) -> None:
    bag = bags / "beta"
    clock = Clock()
    run(bag, history, clock)
    data = bag / "data"
    (data / "file-05.txt").rename(data / "sub" / "moved-05.txt")  # moved and renamed
    (data / "file-07.txt").unlink()
    (data / "new.txt").write_bytes(b"a new file\n")
    (data / "copy-of-2.txt").write_bytes((data / "file-02.txt").read_bytes())  # same content, nothing vanished
    clock.advance(days=1)
    (result,) = run(bag, history, clock).bags
    assert result.outcome == "invalid"
    kinds = sorted((p.kind, p.path, p.expected) for p in result.findings if p.kind != "oxum")
    assert kinds == [
        ("added", "data/copy-of-2.txt", None),
        ("added", "data/new.txt", None),
        ("removed", "data/file-07.txt", None),
        ("renamed", "data/sub/moved-05.txt", "data/file-05.txt"),
    ]
    renamed = next(p for p in result.findings if p.kind == "renamed")
    assert "manifests still list it as data/file-05.txt" in renamed.detail
    assert "1 renamed, 2 added, 1 removed" in result.detail
    # named once: the next audit compares with what this one saw
    clock.advance(days=1)
    (again,) = run(bag, history, clock).bags
    assert {p.kind for p in again.findings} == {"missing", "unexpected", "oxum"}


def test_a_rename_recorded_in_the_manifests_is_valid_and_still_named(bags: Path, history: FixityHistory) -> None:
    bag = bags / "alpha"
    clock = Clock()
    run(bag, history, clock)
    (bag / "data" / "file-01.txt").rename(bag / "data" / "renamed-01.txt")
    bagit.Bag(str(bag)).save(manifests=True)  # the manifests are brought up to date
    clock.advance(days=1)
    (result,) = run(bag, history, clock).bags
    assert result.outcome == "valid"
    (finding,) = result.findings
    assert (finding.kind, finding.path, finding.expected) == ("renamed", "data/renamed-01.txt", "data/file-01.txt")
    assert "new name" in finding.detail


def test_a_sample_audit_names_a_rename_of_a_file_outside_the_sample(bags: Path, history: FixityHistory) -> None:
    bag = bags / "beta"
    clock = Clock()
    run(bag, history, clock)  # full: the inventory has every digest
    (bag / "data" / "file-08.txt").rename(bag / "data" / "eight.txt")
    clock.advance(days=1)
    (result,) = run(bag, history, clock, sample=0.1, rng=random.Random(1)).bags
    assert "data/eight.txt" not in result.sample.paths
    assert ("renamed", "data/eight.txt", "data/file-08.txt") in {(p.kind, p.path, p.expected) for p in result.findings}


def test_record_verification_records_a_verify_run(bags: Path, history: FixityHistory) -> None:
    bag = bags / "gamma"
    event = record_verification(history, bag, verify_bag(bag, processes=1), clock=Clock())
    assert event.id is not None and history.last_full_check(bag) == T0
    record_verification(history, bag, verify_bag(bag, fast=True), clock=lambda: T0 + timedelta(days=5))
    assert history.last_full_check(bag) == T0  # a fast check is not a fixity check
    assert [e.event_type for e in history.events_for(bag)] == ["fixity check", "validation"]


def test_ages_and_shares_are_read_as_the_command_line_writes_them() -> None:
    assert parse_age("90d") == timedelta(days=90) and parse_age("12h") == timedelta(hours=12)
    assert parse_age("2w") == timedelta(weeks=2)
    assert parse_share("5%") == 0.05 and parse_share("100%") == 1.0 and parse_share("0.25") == 0.25
    for bad in ("90", "d", "1.5d", "-3d", "ninety days"):
        with pytest.raises(UsageError, match="not an age"):
            parse_age(bad)
    for bad in ("0%", "150%", "nan", "five", "-5%", "%"):
        with pytest.raises(UsageError, match="not a share"):
            parse_share(bad)


def test_bad_arguments_are_refused(bags: Path, history: FixityHistory) -> None:
    for options in ({"sample": 0.0}, {"sample": 1.5}, {"retries": -1}, {"older_than": timedelta(days=-1)}):
        with pytest.raises(UsageError):
            run(bags, history, Clock(), **options)


def test_a_bag_that_vanishes_is_recorded_as_unreadable(bags: Path, history: FixityHistory, monkeypatch: pytest.MonkeyPatch) -> None:
    import cablekeep.fixity.audit as audit_module

    def vanish(path: Path, **kwargs: object) -> object:
        shutil.rmtree(path)
        raise BagUnreadableError(f"{path} is not a directory; a bag is a directory holding bagit.txt")

    monkeypatch.setattr(audit_module, "verify_bag", vanish)
    report = run(bags / "alpha", history, Clock())
    (result,) = report.bags
    assert result.status == "unreadable" and result.outcome == "unreadable" and not report.ok
    assert history.last_full_check(bag_identity(bags / "beta")) is None


def test_bags_are_found_at_any_depth_and_not_inside_bags(bags: Path, tmp_path: Path) -> None:
    deep = tmp_path / "library" / "2005" / "july"
    deep.mkdir(parents=True)
    shutil.copytree(bags / "alpha", deep / "alpha")
    shutil.copytree(bags / "beta", deep / "alpha" / "data" / "nested-bag")  # payload, not a bag to audit
    shutil.copytree(bags / "gamma", tmp_path / "library" / "gamma")
    (tmp_path / "library" / ".hidden").mkdir()
    shutil.copytree(bags / "beta", tmp_path / "library" / ".hidden" / "beta")
    found = find_bags([tmp_path / "library"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["library/2005/july/alpha", "library/gamma"]
    assert [p.name for p in find_bags([tmp_path / "library"], max_depth=1)] == ["gamma"]
    with pytest.raises(BagUnreadableError, match="no bags found .*down to 0 level"):
        find_bags([tmp_path / "library"], max_depth=0)


def test_a_folder_without_bags_is_an_error_not_a_passed_audit(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no bag here")
    for folder in ("empty", "notes"):
        with pytest.raises(BagUnreadableError, match="no bags found"):
            find_bags([tmp_path / folder])

