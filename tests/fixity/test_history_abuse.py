"""The fixity history under abuse: file names of any bytes, a check with thousands of problems,
two copies of one bag, and a history that cannot be written. Real bags in tmp_path, a real SQLite
file, and the real command line in a subprocess."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bagit
import pytest
from lxml import etree

from cablekeep.fixity.audit import record_verification
from cablekeep.fixity.events import PROBLEMS_LISTED_PER_KIND, FixityEvent
from cablekeep.fixity.exports import export_jsonl, export_premis
from cablekeep.fixity.history import FixityHistory
from cablekeep.fixity.identity import bag_identity
from cablekeep.fixity.names import escape_name, unescape_name
from cablekeep.fixity.report import Problem, Report

from ..conftest import run_cli_bytes

P = "{http://www.loc.gov/premis/v3}"
ODD_NAMES = [b"odd-\xff\xfe.txt", b"new\nline.txt", b"tab\tbed.txt", b"back\\slash \x01.txt"]


def make_bag(root: Path, identifier: str = "urn:uuid:copies-1") -> Path:
    root.mkdir(parents=True)
    (root / "letter.txt").write_text("a letter\n")
    bagit.make_bag(str(root), {"External-Identifier": identifier}, checksums=["sha256"])
    return root


def add_odd_files(bag: Path) -> None:
    for name in ODD_NAMES:
        fd = os.open(os.fsencode(bag / "data") + b"/" + name, os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, b"unlisted\n")
        os.close(fd)


# --------------------------------------------------------------------------- names of any bytes


def test_every_byte_and_odd_character_escapes_to_one_printable_line_and_back() -> None:
    names = [os.fsdecode(bytes([b]) + b"x") for b in range(1, 256) if b != ord("/")]
    names += ["\u0085nel", "\u2028sep", "\ufffe", "\ud800lone", "\\x41", "\\", "plain é 中"]
    for name in names:
        text = escape_name(name)
        assert text.isprintable() or text == "", (name, text)
        assert text.encode("utf-8")  # no lone surrogate left
        assert unescape_name(text) == name
    assert escape_name("plain é 中.txt") == "plain é 中.txt"
    assert escape_name(os.fsdecode(b"a\xff\n\t\x01")) == "a\\xff\\n\\t\\x01"
    assert os.fsencode(unescape_name("a\\xff\\n")) == b"a\xff\n"


def test_verify_and_audit_of_odd_names_print_their_report_and_record_every_name(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bags" / "odd")
    add_odd_files(bag)  # four files in no manifest, with names no text format takes as they are
    db = str(tmp_path / "fixity.sqlite")
    verified = run_cli_bytes("verify", str(bag), "--db", db)
    assert verified.exit_code == 1, verified.stderr
    assert b"Traceback" not in verified.stderr and b": INVALID (" in verified.stdout
    verify_lines = verified.stdout.decode("utf-8").splitlines()  # valid UTF-8: every name escaped
    for name in ("data/odd-\\xff\\xfe.txt", "data/new\\nline.txt", "data/tab\\tbed.txt"):
        assert any(line.startswith(f"  unexpected: {name}: ") for line in verify_lines), name
    assert all(line.startswith(("  ", str(bag))) for line in verify_lines)  # no name split a line
    audited = run_cli_bytes("audit", str(bag), "--db", db)
    assert audited.exit_code == 1, audited.stderr
    assert b"Traceback" not in audited.stderr and b": invalid: audit" in audited.stdout
    again = run_cli_bytes("audit", str(bag), "--db", db, "--json")  # the inventory kept every name exactly
    assert again.exit_code == 1, again.stderr
    detail = json.loads(again.stdout)["bags"][0]["detail"]
    assert "since the last audit: 0 renamed, 0 added, 0 removed" in detail

    shown = run_cli_bytes("history", str(bag), "--db", db)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.decode("utf-8").splitlines()  # valid UTF-8: every name escaped
    assert len([line for line in lines if not line.startswith(" ")]) == 3
    for name in (b"data/odd-\\xff\\xfe.txt", b"data/new\\nline.txt", b"data/tab\\tbed.txt", b"data/back\\\\slash \\x01.txt"):
        assert any(line.encode() == b"  unexpected: " + name + b": " + line.encode().split(b": ", 2)[2]
                   for line in lines if line.startswith("  unexpected: ")), name
    assert not any("\t" in line for line in lines)

    exported = run_cli_bytes("history", str(bag), "--db", db, "--export", "jsonl")
    events = [json.loads(line) for line in exported.stdout.decode("utf-8").splitlines()]
    assert len(events) == 3
    recorded = {os.fsencode(unescape_name(p["path"])) for p in events[2]["problems"] if p["kind"] == "unexpected"}
    assert {b"data/" + name for name in ODD_NAMES} <= recorded

    premis = run_cli_bytes("history", "--db", db, "--export", "premis")
    assert premis.exit_code == 0, premis.stderr
    root = etree.fromstring(premis.stdout)  # well-formed, whatever the names
    notes = [n.text or "" for n in root.iter(f"{P}eventOutcomeDetailNote")]
    assert any("data/odd-\\xff\\xfe.txt" in n for n in notes)
    assert any("data/new\\nline.txt" in n for n in notes)


def test_the_store_reads_back_exactly_the_names_it_was_given(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag")
    odd = os.fsdecode(b"data/\xff\n\t\x7f")
    report = Report(str(bag), "full", problems=[
        Problem("changed", odd, f"{odd} changed", algorithm="sha256", expected=odd, found="00"),
    ])
    with FixityHistory(tmp_path / "h.sqlite") as history:
        recorded = record_verification(history, bag, report)
        (stored,) = history.iter_events(bag)
    assert stored.problems == recorded.problems and stored.problems[0].path == odd
    out = io.StringIO()
    export_jsonl([stored], out)
    assert out.getvalue().count("\n") == 1 and "\\\\xff\\\\n\\\\t\\\\x7f" in out.getvalue()
    premis = io.BytesIO()
    export_premis([stored], premis)
    etree.fromstring(premis.getvalue())


# --------------------------------------------------------------------------- a million problems, compactly


def test_an_event_lists_the_first_problems_of_each_kind_and_counts_them_all(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag")
    many = PROBLEMS_LISTED_PER_KIND * 3 + 7
    report = Report(str(bag), "full", problems=[
        *(Problem("missing", f"data/{n:07d}.txt", "listed in manifest-sha256.txt, not in the bag") for n in range(many)),
        Problem("changed", "data/letter.txt", "differs", algorithm="sha256", expected="00", found="11"),
    ])
    db = tmp_path / "h.sqlite"
    with FixityHistory(db) as history:
        record_verification(history, bag, report)
        (event,) = history.iter_events(bag)
    assert event.counts == {"changed": 1, "missing": many}
    assert [p.path for p in event.problems if p.kind == "missing"] == [
        f"data/{n:07d}.txt" for n in range(PROBLEMS_LISTED_PER_KIND)
    ]
    assert event.problems_summary() == f"1 changed, {many:,} missing (first {PROBLEMS_LISTED_PER_KIND:,} listed)"
    (size,) = sqlite3.connect(db).execute("SELECT length(problems) FROM events").fetchone()
    assert size < PROBLEMS_LISTED_PER_KIND * 200  # the first of each kind, not all of them

    shown = run_cli_bytes("history", str(bag), "--db", str(db))
    assert f"problems: 1 changed, {many:,} missing (first 1,000 listed)".encode() in shown.stdout
    assert shown.stdout.count(b"  missing: ") == PROBLEMS_LISTED_PER_KIND
    (line,) = run_cli_bytes("history", "--db", str(db), "--export", "jsonl").stdout.splitlines()
    assert json.loads(line)["problem_counts"] == {"changed": 1, "missing": many}
    root = etree.fromstring(run_cli_bytes("history", "--db", str(db), "--export", "premis").stdout)
    first = root.findtext(f"{P}event/{P}eventOutcomeInformation/{P}eventOutcomeDetail/{P}eventOutcomeDetailNote")
    assert first is not None and f"{many + 1} problems: 1 changed, {many:,} missing (first 1,000 listed)" in first


def test_a_schema_1_history_is_upgraded_and_its_events_read(tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "bag")
    db = tmp_path / "h.sqlite"
    with FixityHistory(db) as history:
        record_verification(history, bag, Report(str(bag), "full", problems=[Problem("missing", "data/x", "gone")]))
    old = sqlite3.connect(db)
    old.execute("ALTER TABLE events DROP COLUMN problem_counts")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with FixityHistory(db) as history:
        (event,) = history.iter_events(bag)
        record_verification(history, bag, Report(str(bag), "full"))
        assert len(list(history.iter_events(bag))) == 2
    assert event.counts == {"missing": 1}
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 2


# --------------------------------------------------------------------------- one history per copy


def test_a_damaged_copy_keeps_its_failure_and_the_other_copy_its_own_history(tmp_path: Path) -> None:
    first = make_bag(tmp_path / "library" / "letters")
    second = tmp_path / "offsite" / "letters"
    shutil.copytree(first, second)
    db = str(tmp_path / "fixity.sqlite")
    assert run_cli_bytes("verify", str(first), "--db", db).exit_code == 0
    (first / "tagmanifest-sha256.txt").write_text("damaged\n")  # this copy is damaged, not moved:
    assert run_cli_bytes("verify", str(second), "--db", db).exit_code == 0  # the other copy is a copy
    assert run_cli_bytes("verify", str(first), "--db", db).exit_code == 1  # and the damage is this copy's

    with FixityHistory(Path(db)) as history:
        assert [e.outcome for e in history.iter_events(second)] == ["valid"]
        assert [e.outcome for e in history.iter_events(first)] == ["valid", "invalid"]
        copies = history.copies("urn:uuid:copies-1")
    assert [c.path for c in copies] == [str(first), str(second)]
    assert [(c.events, c.last_outcome) for c in copies] == [(2, "invalid"), (1, "valid")]

    for args in (["--identifier", "urn:uuid:copies-1"], [str(second), "--all-copies"]):
        shown = run_cli_bytes("history", *args, "--db", db)
        assert shown.exit_code == 0, shown.stderr
        text = shown.stdout.decode()
        assert f"copy 1: {first}: 2 event(s), last invalid" in text
        assert f"copy 2: {second}: 1 event(s), last valid" in text
        one, two = text.split(f"\ncopy 2: {second}\n")
        assert "invalid-structure" in one.split(f"\ncopy 1: {first}\n")[1] and "invalid" not in two
    exported = run_cli_bytes("history", "--identifier", "urn:uuid:copies-1", "--db", db, "--export", "jsonl").stdout
    assert sorted(json.loads(line)["bag"]["path"] for line in exported.splitlines()) == [str(first)] * 2 + [str(second)]


def test_a_moved_copy_is_still_that_copy_when_its_old_place_no_longer_holds_it(tmp_path: Path) -> None:
    first = make_bag(tmp_path / "library" / "letters")
    second = tmp_path / "offsite" / "letters"
    shutil.copytree(first, second)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with FixityHistory(tmp_path / "h.sqlite") as history:
        for n, copy in enumerate((first, second)):
            report = Report(str(copy), "full", problems=[Problem("missing", f"data/from-{copy.parent.name}", "gone")])
            record_verification(history, copy, report, clock=lambda: t0 + timedelta(days=n))
        moved = tmp_path / "moved" / "letters"
        moved.parent.mkdir()
        first.rename(moved)
        (event,) = history.iter_events(moved)
        assert event.problems[0].path == "data/from-library"
        # a folder that is there but holds another bag is no longer that copy's place either
        second_place = second.rename(tmp_path / "offsite" / "letters-old")
        make_bag(second, identifier="urn:uuid:another")
        assert [e.problems[0].path for e in history.iter_events(second_place)] == ["data/from-offsite"]
        assert list(history.iter_events(second)) == []


# --------------------------------------------------------------------------- a history that cannot be written


def _unwritable_file(path: Path) -> None:
    """A database file no one may write: read-only for a user, immutable for root."""
    FixityHistory(path).close()
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("running as root without chattr +i: no way to make a file unwritable")


@pytest.mark.parametrize("place", ["read-only file", "folder", "file as parent"])
def test_verify_prints_its_verdict_when_the_history_cannot_be_written(tmp_path: Path, place: str) -> None:
    bag = make_bag(tmp_path / "bag")
    env: dict[str, str] = {}
    db = tmp_path / "state" / "fixity.sqlite"
    db.parent.mkdir()
    args = ["--db", str(db)]
    if place == "read-only file":
        _unwritable_file(db)
    elif place == "folder":  # where the default history should be
        env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
        (tmp_path / "xdg" / "cablekeep" / "fixity.sqlite").mkdir(parents=True)
        args = []
    else:
        db.parent.rmdir()
        db.parent.write_text("a file")
    try:
        valid = run_cli_bytes("verify", str(bag), *args, env={**os.environ, **env})
        (bag / "data" / "letter.txt").write_text("a LETTER\n")  # same size
        invalid = run_cli_bytes("verify", str(bag), *args, env={**os.environ, **env})
    finally:
        if place == "read-only file" and os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)])
    assert (valid.exit_code, invalid.exit_code) == (0, 1), (valid.stderr, invalid.stderr)
    assert b": valid (full" in valid.stdout and b": INVALID (1 changed)" in invalid.stdout
    for result in (valid, invalid):
        assert b"Traceback" not in result.stderr
        assert b"was NOT recorded in the fixity history" in result.stderr
