"""run-due as real processes: two started together run each job once; a run-due killed with SIGKILL
in the middle of a crawl leaves no lock that blocks the next tick, which resumes the crawl."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from cablekeep.schedule.ledger import JobLedger
from cablekeep.schedule.rundue import lock_path

from ..conftest import run_cli
from .loopback import LoopbackServer, Page, loopback_server

NOW = "2026-01-05T02:00:00Z"
HTML = b"<html><head><title>p</title></head><body><p>a page</p></body></html>"


def write_manifest(tmp_path: Path, server: LoopbackServer, **schedule: str) -> Path:
    data = {
        "cablekeep": 1, "collection": "slow-site", "seeds": [f"{server.base}/page1", f"{server.base}/page2"],
        "follow": {"depth": 0},
        "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 30, "robots": "ignore"},
        "bag": {"output": str(tmp_path / "bags")},
        "schedule": schedule,
    }
    path = tmp_path / "slow-site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def bags(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "bags").iterdir() if p.name.startswith("slow-site-"))


def test_two_run_due_started_together_run_each_job_once(tmp_path: Path) -> None:
    db = tmp_path / "fixity.sqlite"
    with loopback_server() as server:
        server.pages = {"/page1": Page(body=HTML, delay=1.5), "/page2": Page(body=HTML, delay=1.5)}
        manifest = write_manifest(tmp_path, server, crawl="0 2 * * *", audit="0 2 * * *")
        command = [sys.executable, "-m", "cablekeep", "run-due", str(manifest), "--now", NOW, "--db", str(db), "--json"]
        seen = run_cli("run-due", str(manifest), "--now", "2026-01-05T01:55:00Z", "--db", str(db))
        assert seen.exit_code == 0 and seen.stdout == ""  # the jobs are seen: 02:00 is their first slot since
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert server.gets("/page1") == 1 and server.gets("/page2") == 1  # one crawl, not two
    reports = [json.loads(out) for out, _ in outputs]
    ran = [(job["job"], job["action"]) for report in reports for job in report["jobs"]]
    assert ran.count(("crawl", "ran")) == 1 and ran.count(("audit", "ran")) == 1, outputs
    with JobLedger(db) as ledger:
        runs = list(ledger.iter_runs())
    assert sorted(r.job for r in runs) == ["audit", "crawl"]
    assert [r.outcome for r in runs if r.job == "crawl"] == ["ok"]
    assert len(bags(tmp_path)) == 1


def _running(db: Path) -> bool:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM schedule_runs WHERE outcome = 'running'").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def test_a_run_due_killed_mid_crawl_leaves_no_lock_in_the_way_and_the_crawl_resumes(tmp_path: Path) -> None:
    db = tmp_path / "fixity.sqlite"
    with loopback_server() as server:
        server.pages = {"/page1": Page(body=HTML), "/page2": Page(body=HTML, delay=-1)}  # page2 hangs until released
        manifest = write_manifest(tmp_path, server, crawl="*/5 * * * *")
        assert run_cli("run-due", str(manifest), "--now", "2026-01-05T01:58:00Z", "--db", str(db)).exit_code == 0
        process = subprocess.Popen([sys.executable, "-m", "cablekeep", "run-due", str(manifest), "--now", NOW,
                                    "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        deadline = time.monotonic() + 60
        while not (server.gets("/page2") and _running(db)):
            assert time.monotonic() < deadline and process.poll() is None, "the crawl never reached page2"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert lock_path(db, "slow-site", "crawl").exists()  # left behind, but held by no one
        assert (tmp_path / "bags" / ".work" / "slow-site" / "state.sqlite").exists()  # the crawl to resume
        server.release.set()
        result = run_cli("run-due", str(manifest), "--now", "2026-01-05T02:05:00Z", "--db", str(db), timeout=120)
        assert result.exit_code == 0, result
        assert "was interrupted" in result.stdout and "crawl: ran: ok" in result.stdout
    with JobLedger(db) as ledger:
        runs = [(r.started.strftime("%H:%M"), r.outcome) for r in ledger.iter_runs()]
        killed = next(ledger.iter_runs())
    assert runs == [("02:00", "interrupted"), ("02:05", "ok")]
    assert "ended before it finished" in killed.reason
    (bag,) = bags(tmp_path)
    log = [json.loads(line) for line in (bag / "data" / "crawl-log.jsonl").read_text(encoding="utf-8").splitlines()]
    urls = [entry["url"] for entry in log]
    assert sorted(urls) == [f"{server.base}/page1", f"{server.base}/page2"]  # resumed: each URL once, none twice
