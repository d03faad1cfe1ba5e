"""History, audit, compare and repair from the command line, on real bags and a real SQLite file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bagit
import pytest
from lxml import etree

from ..conftest import run_cli


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    root = tmp_path / "library" / "letters"
    (root / "sub").mkdir(parents=True)
    for i in range(8):
        (root / ("sub" if i % 2 else ".") / f"letter-{i}.txt").write_text(f"letter number {i}\n" * 50)
    bagit.make_bag(str(root), {"External-Identifier": "urn:uuid:letters-1"}, checksums=["sha256", "sha512"])
    return root


def test_verify_records_history_and_exports(bag: Path, tmp_path: Path) -> None:
    assert run_cli("verify", str(bag)).exit_code == 0
    (bag / "data" / "letter-0.txt").write_text("changed")
    assert run_cli("verify", str(bag)).exit_code == 1
    shown = run_cli("history", str(bag))
    assert shown.exit_code == 0
    lines = [line for line in shown.stdout.splitlines() if not line.startswith("  ")]
    assert len(lines) == 2 and "valid" in lines[0] and "invalid" in lines[1]
    assert "data/letter-0.txt" in shown.stdout
    events = [json.loads(line) for line in run_cli("history", str(bag), "--export", "jsonl").stdout.splitlines()]
    assert [e["outcome"] for e in events] == ["valid", "invalid"]
    assert all(e["bag"]["external_identifier"] == "urn:uuid:letters-1" for e in events)
    premis = run_cli("history", "--export", "premis")
    root = etree.fromstring(premis.stdout.encode())
    ns = {"premis": "http://www.loc.gov/premis/v3"}
    assert root.tag == "{http://www.loc.gov/premis/v3}premis"
    assert [t.text for t in root.findall(".//premis:event/premis:eventType", ns)] == ["fixity check", "fixity check"]


def test_audit_sample_covers_every_file_in_a_cycle(bag: Path) -> None:
    checked: set[str] = set()
    for _ in range(2):
        result = run_cli("audit", "--sample", "50%", "--json", str(bag.parent))
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        [entry] = report["bags"]
        assert set(entry["sample"]["paths"]).isdisjoint(checked), "a file was sampled twice in one cycle"
        checked |= set(entry["sample"]["paths"])
    assert entry["sample"]["cycle_complete"]
    payload = {p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()}
    assert checked == payload
    # a bag fully checked just now is not due again within 90 days
    again = json.loads(run_cli("audit", "--older-than", "90d", "--json", str(bag.parent)).stdout)
    assert [b["status"] for b in again["bags"]] == ["skipped"]


def test_compare_and_repair_from_a_copy(bag: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bag, copy)
    damaged = bag / "data" / "sub" / "letter-1.txt"
    damaged.write_text("bit rot")
    compared = run_cli("verify", str(bag), "--against", str(copy))
    assert compared.exit_code == 1
    assert "data/sub/letter-1.txt" in compared.stdout and "repairable" in compared.stdout
    repaired = run_cli("repair", str(bag), "--from", str(copy))
    assert repaired.exit_code == 0, repaired.stdout + repaired.stderr
    assert damaged.read_text() == "letter number 1\n" * 50
    bagit.Bag(str(bag)).validate()
    assert "repair" in run_cli("history", str(bag)).stdout or "recovery" in run_cli("history", str(bag)).stdout


def test_repair_changes_nothing_when_neither_copy_is_good(bag: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bag, copy)
    (bag / "data" / "letter-2.txt").write_text("rot here")
    (copy / "data" / "letter-2.txt").write_text("rot there")
    before = (bag / "data" / "letter-2.txt").read_bytes()
    repaired = run_cli("repair", str(bag), "--from", str(copy))
    assert repaired.exit_code == 1
    assert (bag / "data" / "letter-2.txt").read_bytes() == before
