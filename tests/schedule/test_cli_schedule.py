"""The schedule commands as a user runs them: due, run-due over manifests/, schedule install, history --jobs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..conftest import run_cli

COUNTED = """cablekeep: 1
collection: {name}
seeds: [http://127.0.0.1:9/x]
fetch: {{allow_private: true, retries: 0, per_host_delay: 0, timeout: 2}}
bag: {{output: bags}}
schedule:
  audit: "{cron}"
"""


def folder(tmp_path: Path) -> Path:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "one.yaml").write_text(COUNTED.format(name="one", cron="0 2 * * *"), encoding="utf-8")
    (tmp_path / "manifests" / "two.yaml").write_text(COUNTED.format(name="two", cron="30 2 * * 1"), encoding="utf-8")
    (tmp_path / "manifests" / "plain.yaml").write_text("cablekeep: 1\ncollection: plain\nseeds: [http://h/]\n",
                                                       encoding="utf-8")
    return tmp_path


def test_due_and_run_due_read_every_manifest_in_manifests(tmp_path: Path) -> None:
    cwd, db = folder(tmp_path), str(tmp_path / "fixity.sqlite")
    result = run_cli("due", "--json", "--db", db, "--now", "2026-01-05T01:00:00Z", cwd=cwd)
    assert result.exit_code == 0, result
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["collection"], r["job"], r["next_run"], r["due"], r["last_run"]) for r in rows] == [
        ("one", "audit", "2026-01-05T02:00:00Z", False, None), ("two", "audit", "2026-01-05T02:30:00Z", False, None)]

    assert run_cli("run-due", "--db", db, "--now", "2026-01-05T01:00:00Z", cwd=cwd).exit_code == 0
    result = run_cli("run-due", "--db", db, "--now", "2026-01-05T02:10:00Z", cwd=cwd)
    assert result.exit_code == 1  # one's audit ran and failed: no bag yet
    assert result.stdout.startswith("one audit: ran: failed") and "two" not in result.stdout

    result = run_cli("due", "--db", db, "--now", "2026-01-05T02:40:00Z", cwd=cwd)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["one", "audit"] and "next 2026-01-06 02:00:00Z" in lines[0]
    assert "last 2026-01-05 02:10:00Z failed" in lines[0] and "no bag of collection 'one'" in lines[0]
    assert "next 2026-01-05 02:30:00Z (due)" in lines[1] and "never run" in lines[1]

    history = run_cli("history", "--jobs", "--db", db, cwd=cwd)
    assert history.exit_code == 0
    (line,) = history.stdout.splitlines()
    assert line.startswith("2026-01-05 02:10:00Z one audit  failed")
    (exported,) = run_cli("history", "--jobs", "--export", "jsonl", "--db", db, cwd=cwd).stdout.splitlines()
    assert json.loads(exported)["outcome"] == "failed"


def test_a_malformed_manifest_is_named_and_the_others_still_run(tmp_path: Path) -> None:
    cwd, db = folder(tmp_path), str(tmp_path / "fixity.sqlite")
    (cwd / "manifests" / "broken.yaml").write_text(COUNTED.format(name="broken", cron="0 25 * * *"), encoding="utf-8")
    run_cli("run-due", "--db", db, "--now", "2026-01-05T01:00:00Z", cwd=cwd)
    result = run_cli("run-due", "--db", db, "--now", "2026-01-05T02:10:00Z", cwd=cwd)
    assert result.exit_code == 3
    assert "broken.yaml:7: schedule.audit: '0 25 * * *' is not a cron expression: Bad hour" in result.stderr
    assert "one audit: ran: failed" in result.stdout


def test_wrong_calls_are_usage_errors(tmp_path: Path) -> None:
    assert run_cli("run-due", cwd=tmp_path).exit_code == 2  # no manifests/ here
    assert "no manifests/ folder" in run_cli("due", cwd=tmp_path).stderr
    assert run_cli("due", "--now", "yesterday", cwd=folder(tmp_path)).exit_code == 2
    assert run_cli("schedule", "install", cwd=tmp_path).exit_code == 2
    assert run_cli("history", "--jobs", "--export", "premis", cwd=tmp_path).exit_code == 2


def test_schedule_install_prints_the_crontab_line_and_the_systemd_units_with_this_install_s_paths(
        tmp_path: Path) -> None:
    cron = run_cli("schedule", "install", "--cron", "--every", "10", cwd=tmp_path)
    assert cron.exit_code == 0
    (line,) = [line for line in cron.stdout.splitlines() if not line.startswith("#")]
    assert line.startswith(f"*/10 * * * * cd {tmp_path} && {sys.executable} -m cablekeep run-due >> ")
    assert line.endswith("/cablekeep/run-due.log 2>&1")
    units = run_cli("schedule", "install", "--systemd", "--db", str(tmp_path / "h.sqlite"), cwd=tmp_path).stdout
    assert "# ~/.config/systemd/user/cablekeep-run-due.service" in units
    assert f"WorkingDirectory={tmp_path}\n" in units and "Type=oneshot" in units
    assert f"ExecStart={sys.executable} -m cablekeep run-due --db {tmp_path / 'h.sqlite'}\n" in units
    assert "OnCalendar=*:0/5\nPersistent=true" in units
