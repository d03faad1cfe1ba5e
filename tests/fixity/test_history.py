"""The fixity history: bag identity, events in a real SQLite file, JSON lines and PREMIS 3 exports."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bagit
import pytest
from lxml import etree

from cablekeep import __version__
from cablekeep.errors import CablekeepError, UsageError
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.events import AGENT, FixityEvent
from cablekeep.fixity.exports import export_jsonl, export_premis
from cablekeep.fixity.history import FixityHistory
from cablekeep.fixity.identity import BagIdentity, bag_identity, iter_manifest_entries
from cablekeep.fixity.report import Problem

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
P = "{http://www.loc.gov/premis/v3}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def make_bag(root: Path, files: dict[str, bytes], identifier: str = "urn:uuid:00000000-0000-4000-8000-000000000001") -> Path:
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    bagit.make_bag(str(root), {"External-Identifier": identifier}, checksums=["sha256", "sha512"])
    return root


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    return make_bag(tmp_path / "bags" / "one", {"a.txt": b"alpha\n", "sub/b.txt": b"beta\n"})


@pytest.fixture
def history(tmp_path: Path) -> Iterator[FixityHistory]:
    with FixityHistory(tmp_path / "fixity.sqlite") as h:
        yield h


def event(bag: BagIdentity, n: int, **fields: object) -> FixityEvent:
    values: dict[str, object] = {
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "time": T0 + timedelta(days=n),
        "event_type": "fixity check",
        "bag": bag,
        "outcome": "valid",
        "mode": "full",
        "algorithms": ("sha256", "sha512"),
        "files_checked": 6,
        "bytes_checked": 100,
    }
    values.update(fields)
    return FixityEvent(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- identity


def test_identity_reads_external_identifier_and_hashes_the_tag_manifests(bag: Path) -> None:
    identity = bag_identity(bag)
    assert identity.path == str(bag.resolve())
    assert identity.external_identifier == "urn:uuid:00000000-0000-4000-8000-000000000001"
    assert re.fullmatch(r"[0-9a-f]{64}", identity.tagmanifest_digest or "")
    (bag / "data" / "a.txt").write_bytes(b"changed\n")  # payload changes do not change identity
    assert bag_identity(bag) == identity
    tagmanifest = bag / "tagmanifest-sha256.txt"
    tagmanifest.write_bytes(tagmanifest.read_bytes() + b"\n")
    assert bag_identity(bag).tagmanifest_digest != identity.tagmanifest_digest


def test_identity_survives_a_move_and_without_tag_manifests_covers_the_manifests(bag: Path, tmp_path: Path) -> None:
    before = bag_identity(bag)
    moved = tmp_path / "elsewhere"
    bag.rename(moved)
    after = bag_identity(moved)
    assert (after.external_identifier, after.tagmanifest_digest) == (before.external_identifier, before.tagmanifest_digest)
    for tagmanifest in moved.glob("tagmanifest-*.txt"):
        tagmanifest.unlink()
    plain = bag_identity(moved).tagmanifest_digest
    assert plain is not None and plain != before.tagmanifest_digest
    manifest = moved / "manifest-sha256.txt"
    manifest.write_bytes(manifest.read_bytes().replace(b"a.txt", b"A.txt"))
    assert bag_identity(moved).tagmanifest_digest != plain


def test_manifest_entries_are_decoded_as_the_bag_says(bag: Path) -> None:
    entries = dict(iter_manifest_entries(bag, "manifest-sha256.txt"))
    assert set(entries) == {"data/a.txt", "data/sub/b.txt"}
    assert entries["data/a.txt"] == hashlib.sha256(b"alpha\n").hexdigest()


# --------------------------------------------------------------------------- events


def test_events_round_trip_through_a_real_sqlite_file(bag: Path, tmp_path: Path) -> None:
    identity = bag_identity(bag)
    problems = (
        Problem("changed", "data/a.txt", "differs", algorithm="sha256", expected="00", found="11"),
        Problem("warc", "data/x.warc.gz", "cut short", offset=120, record_id="<urn:uuid:1>"),
    )
    first = event(identity, 1, outcome="invalid", problems=problems, detail="because")
    second = event(identity, 2, mode="sample", paths=("data/a.txt",), event_type="fixity check")
    with FixityHistory(tmp_path / "h.sqlite") as history:
        row = history.record(first)
        history.record(second)
    with FixityHistory(tmp_path / "h.sqlite") as history:  # reopened: it is all on disk
        events = history.events_for(bag)
    assert [e.id for e in events][0] == row
    assert [e.event_id for e in events] == [first.event_id, second.event_id]
    got = events[0]
    assert got.problems == problems and got.detail == "because" and got.outcome == "invalid"
    assert got.time == first.time and got.time.tzinfo is not None
    assert got.agent == AGENT == f"cablekeep {__version__}"
    assert events[1].paths == ("data/a.txt",) and events[1].mode == "sample"
    assert got.bag == identity


def test_times_must_say_their_zone_and_are_stored_as_utc(bag: Path, history: FixityHistory) -> None:
    with pytest.raises(UsageError, match="time zone"):
        event(bag_identity(bag), 1, time=datetime(2026, 1, 1))
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    history.record(event(bag_identity(bag), 1, time=local))
    (stored,) = history.events_for(bag)
    assert stored.time == datetime(2026, 1, 1, 7, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="unknown outcome"):
        event(bag_identity(bag), 2, outcome="fine")


def test_a_moved_bag_keeps_its_history_and_a_second_copy_gets_its_own(bag: Path, tmp_path: Path, history: FixityHistory) -> None:
    history.record(event(bag_identity(bag), 1))
    moved = tmp_path / "moved"
    bag.rename(moved)
    assert [e.event_id for e in history.events_for(moved)] == [event(bag_identity(moved), 1).event_id]
    history.record(event(bag_identity(moved), 2))
    assert len(history.events_for(moved)) == 2
    copy = tmp_path / "copy"
    shutil.copytree(moved, copy)  # the original is still there: this is a replica
    assert history.events_for(copy) == []
    history.record(event(bag_identity(copy), 3))
    assert len(history.events_for(copy)) == 1 and len(history.events_for(moved)) == 2


def test_a_different_bag_at_the_same_path_is_a_different_bag(bag: Path, tmp_path: Path, history: FixityHistory) -> None:
    history.record(event(bag_identity(bag), 1))
    shutil.rmtree(bag)
    make_bag(bag, {"other.txt": b"other"}, identifier="urn:uuid:00000000-0000-4000-8000-000000000002")
    assert history.events_for(bag) == []


def test_last_full_check_counts_full_checks_and_completed_sample_cycles(bag: Path, history: FixityHistory) -> None:
    identity = bag_identity(bag)
    assert history.last_full_check(bag) is None
    history.record(event(identity, 1))
    history.record(event(identity, 2, mode="fast", event_type="validation"))
    history.record(event(identity, 3, outcome="unreadable"))
    history.record(event(identity, 4, mode="sample", paths=("data/a.txt",)))
    assert history.last_full_check(bag) == T0 + timedelta(days=1)
    history.record(event(identity, 5, mode="sample", paths=("data/sub/b.txt",), cycle_started=T0 + timedelta(days=4)))
    assert history.last_full_check(identity) == T0 + timedelta(days=4)
    history.record(event(identity, 6, outcome="invalid"))  # a check that found problems is still a check
    assert history.last_full_check(bag) == T0 + timedelta(days=6)


def test_from_report_names_a_fast_check_a_validation(bag: Path) -> None:
    full = FixityEvent.from_report(verify_bag(bag), bag_identity(bag), time=T0, event_id="e1")
    fast = FixityEvent.from_report(verify_bag(bag, fast=True), bag_identity(bag), time=T0, event_id="e2")
    assert (full.event_type, full.mode, full.outcome) == ("fixity check", "full", "valid")
    assert (fast.event_type, fast.mode) == ("validation", "fast")
    assert full.files_checked == 2 + 4 and full.algorithms == ("sha256", "sha512")


def test_a_database_from_a_newer_cablekeep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    FixityHistory(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(CablekeepError, match="newer cablekeep"):
        FixityHistory(path)


# --------------------------------------------------------------------------- exports


def test_jsonl_is_one_event_a_line(bag: Path, history: FixityHistory) -> None:
    identity = bag_identity(bag)
    history.record(event(identity, 1, problems=(Problem("missing", "data/a.txt", "gone"),)))
    history.record(event(identity, 2, event_type="repair", paths=("data/a.txt",)))
    out = io.StringIO()
    assert export_jsonl(history.iter_events(), out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["schema"] for line in lines] == ["cablekeep.event/1"] * 2
    assert lines[0]["problems"] == [{"kind": "missing", "path": "data/a.txt", "detail": "gone"}]
    assert lines[0]["time"] == "2026-03-02T12:00:00.000000Z"
    assert lines[1]["event_type"] == "repair" and lines[1]["paths"] == ["data/a.txt"]
    assert lines[0]["bag"]["external_identifier"] == identity.external_identifier


# The PREMIS 3.0 schema's sequences (premis.xsd, version 3.0), as regular expressions over child
# element names. The XSD cannot be downloaded here; these are written from the PREMIS 3 data
# dictionary and schema (premisComplexType, eventComplexType, agentComplexType, ...).
SEQUENCES = {
    "premis": r"(object )+(event )*(agent )*(rights )*",
    "object": r"(objectIdentifier )+.*",
    "objectIdentifier": r"objectIdentifierType objectIdentifierValue ",
    "event": (
        r"eventIdentifier eventType eventDateTime (eventDetailInformation )*(eventOutcomeInformation )*"
        r"(linkingAgentIdentifier )*(linkingObjectIdentifier )*"
    ),
    "eventIdentifier": r"eventIdentifierType eventIdentifierValue ",
    "eventDetailInformation": r"(eventDetail )?(eventDetailExtension )*",
    "eventOutcomeInformation": r"(eventOutcome )?(eventOutcomeDetail )*",
    "eventOutcomeDetail": r"(eventOutcomeDetailNote )?(eventOutcomeDetailExtension )*",
    "linkingAgentIdentifier": r"linkingAgentIdentifierType linkingAgentIdentifierValue (linkingAgentRole )*",
    "linkingObjectIdentifier": r"linkingObjectIdentifierType linkingObjectIdentifierValue (linkingObjectRole )*",
    "agent": (
        r"(agentIdentifier )+(agentName )*(agentType )?(agentVersion )?(agentNote )*(agentExtension )*"
        r"(linkingEventIdentifier )*(linkingRightsStatementIdentifier )*(linkingEnvironmentIdentifier )*"
    ),
    "agentIdentifier": r"agentIdentifierType agentIdentifierValue ",
}


def check_premis_structure(root: etree._Element) -> None:
    assert root.tag == f"{P}premis" and root.get("version") == "3.0"
    for element in root.iter():
        assert isinstance(element.tag, str) and element.tag.startswith(P), element.tag
        name = element.tag[len(P):]
        children = "".join(str(child.tag)[len(P):] + " " for child in element)
        if name in SEQUENCES:
            assert re.fullmatch(SEQUENCES[name], children), (name, children)
        if not len(element):
            assert (element.text or "").strip(), f"{name} is empty"


def test_premis_export_is_well_formed_and_in_schema_order(bag: Path, tmp_path: Path, history: FixityHistory) -> None:
    identity = bag_identity(bag)
    history.record(event(identity, 1))
    history.record(event(identity, 2, outcome="invalid", problems=(
        Problem("changed", "data/a.txt", "differs \x01 oddly", algorithm="sha256", expected="00", found="11"),
        Problem("missing", "data/sub/b.txt", "gone"),
    )))
    history.record(event(identity, 3, event_type="repair", paths=("data/a.txt",), agent="cablekeep 0.0.9"))
    other = make_bag(tmp_path / "other", {"x": b"x"}, identifier="local-42")
    history.record(event(bag_identity(other), 4, mode="fast", event_type="validation"))
    out = io.BytesIO()
    assert export_premis(history.iter_events(), out) == 4
    root = etree.fromstring(out.getvalue())  # well-formed, or this raises
    check_premis_structure(root)
    assert [o.get(f"{XSI}type") for o in root.findall(f"{P}object")] == ["premis:representation"] * 2
    assert [o.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue") for o in root.findall(f"{P}object")] == [
        identity.external_identifier, "local-42",
    ]
    events = root.findall(f"{P}event")
    assert [e.findtext(f"{P}eventType") for e in events] == ["fixity check", "fixity check", "recovery", "validation"]
    event_type = events[2].find(f"{P}eventType")
    assert event_type is not None
    assert event_type.get("valueURI") == "http://id.loc.gov/vocabulary/preservation/eventType/rec"
    assert events[0].findtext(f"{P}eventIdentifier/{P}eventIdentifierType") == "UUID"
    assert events[0].findtext(f"{P}eventIdentifier/{P}eventIdentifierValue") == "00000000-0000-4000-8000-000000000001"
    assert events[0].findtext(f"{P}eventDateTime") == "2026-03-02T12:00:00Z"
    assert [e.findtext(f"{P}eventOutcomeInformation/{P}eventOutcome") for e in events] == ["valid", "invalid", "valid", "valid"]
    notes = [n.text or "" for n in events[1].iter(f"{P}eventOutcomeDetailNote")]
    assert any(n.startswith("changed: data/a.txt: differs \\x01 oddly [sha256 expected 00 found 11]") for n in notes)
    assert any(n.startswith("missing: data/sub/b.txt") for n in notes)
    assert events[0].findtext(f"{P}linkingAgentIdentifier/{P}linkingAgentIdentifierValue") == AGENT
    assert events[0].findtext(f"{P}linkingObjectIdentifier/{P}linkingObjectIdentifierValue") == identity.external_identifier
    assert events[3].findtext(f"{P}linkingObjectIdentifier/{P}linkingObjectIdentifierType") == "BagIt External-Identifier"
    agents = root.findall(f"{P}agent")
    assert [a.findtext(f"{P}agentVersion") for a in agents] == [__version__, "0.0.9"]
    assert {a.findtext(f"{P}agentType") for a in agents} == {"software"}


def test_premis_export_of_nothing_is_refused(history: FixityHistory) -> None:
    with pytest.raises(UsageError, match="no fixity events"):
        export_premis(history.iter_events(), io.BytesIO())
