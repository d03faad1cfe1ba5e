"""Notifications, received by real servers on 127.0.0.1: a webhook (HTTP) and an SMTP server (aiosmtpd).
One message per kind of event per run: jobs that failed, bags an audit found invalid, sources a check
found newly rotted; none when nothing happened; a webhook that fails once is retried."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from pathlib import Path

import yaml

from cablekeep.manifest import load_manifest
from cablekeep.schedule.rundue import Scheduler

from ..conftest import run_cli
from .loopback import Page, loopback_server, smtp_server

UTC = timezone.utc


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once closed


def write(tmp_path: Path, name: str, seeds: list[str], schedule: dict[str, str], hook: str, smtp_port: int) -> Path:
    data = {
        "cablekeep": 1, "collection": name, "seeds": seeds, "follow": {"depth": 1},
        "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10, "robots": "ignore"},
        "bag": {"output": str(tmp_path / "bags")},
        "schedule": schedule,
        "notify": {"webhook": {"url": hook, "retries": 2, "timeout": 5},
                   "email": {"host": "127.0.0.1", "port": smtp_port, "starttls": False, "from": "ck@example.org",
                             "to": ["keeper@example.org"]}},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_failed_jobs_notify_once_per_run_by_webhook_and_mail(tmp_path: Path) -> None:
    db = tmp_path / "fixity.sqlite"
    with loopback_server() as hooks, smtp_server() as (mailbox, smtp_port):
        hooks.fail_next = 1  # the first POST gets a 500: retried
        manifest = write(tmp_path, "fail-site", [f"http://127.0.0.1:{closed_port()}/x"],
                         {"crawl": "0 2 * * *", "audit": "0 2 * * *"}, f"{hooks.base}/hook", smtp_port)
        run = lambda now: run_cli("run-due", str(manifest), "--now", now, "--db", str(db), "--json")  # noqa: E731
        assert run("2026-01-05T01:00:00Z").exit_code == 0
        first = run("2026-01-05T02:00:00Z")
        assert first.exit_code == 1, first
        report = json.loads(first.stdout)
        assert [(j["job"], j["run"]["outcome"]) for j in report["jobs"]] == [("crawl", "failed"), ("audit", "failed")]
        assert [(n["channel"], n["kind"], n["ok"], n["attempts"]) for n in report["notifications"]] == [
            ("webhook", "job-failed", True, 2), ("email", "job-failed", True, 1)]
        (posted,) = hooks.posts()
        assert posted["schema"] == "cablekeep.notify/1" and posted["kind"] == "job-failed"
        assert posted["collection"] == "fail-site" and posted["time"] == "2026-01-05T02:00:00Z"
        assert [e["job"] for e in posted["events"]] == ["crawl", "audit"]
        assert "refused" in posted["events"][0]["summary"] and "no bag" in posted["events"][1]["summary"]
        ((sender, to, text),) = mailbox.messages
        assert (sender, to) == ("ck@example.org", ["keeper@example.org"])
        assert "Subject: cablekeep: fail-site: job failed" in text and "crawl: the crawl job failed" in text

        assert run("2026-01-05T02:05:00Z").exit_code == 0  # nothing due, nothing sent
        assert len(hooks.posts()) == 1 and len(mailbox.messages) == 1
        assert run("2026-01-06T02:00:00Z").exit_code == 1  # tried again at the next slot: fails, one message more
        assert [p["kind"] for p in hooks.posts()] == ["job-failed"] * 2 and len(mailbox.messages) == 2


def test_an_invalid_bag_and_newly_rotted_sources_each_send_one_message(tmp_path: Path) -> None:
    page = b'<html><body><p>A cable.</p><a href="/source-a">a</a> <a href="/source-b">b</a></body></html>'
    with loopback_server() as site, smtp_server() as (mailbox, smtp_port):
        site.pages = {"/page": Page(body=page),
                      "/source-a": Page(body=b"<html><body><p>Source A, the first document.</p></body></html>"),
                      "/source-b": Page(body=b"<html><body><p>Source B, the second document.</p></body></html>")}
        path = write(tmp_path, "rot-site", [f"{site.base}/page"],
                     {"crawl": "0 1 1 1 *", "check": "0 3 * * *", "audit": "0 3 * * *"}, f"{site.base}/hook",
                     smtp_port)
        manifest = load_manifest(path)
        scheduler = Scheduler(tmp_path / "fixity.sqlite", tmp_path / "linkrot.sqlite")
        for hour in ("2025-12-31T23:00", "2026-01-01T01:00", "2026-01-01T03:00"):
            report = scheduler.run_due([manifest], datetime.fromisoformat(hour).replace(tzinfo=UTC))
            assert report.ok, report
        assert site.posts() == [] and mailbox.messages == []  # crawled, checked, audited: nothing to say

        del site.pages["/source-a"], site.pages["/source-b"]  # both sources are gone now (404)
        (bag,) = (tmp_path / "bags").glob("rot-site-*")
        with (bag / "data" / "cables.jsonl").open("ab") as damaged:
            damaged.write(b"\n")
        report = scheduler.run_due([manifest], datetime(2026, 1, 2, 3, 0, tzinfo=UTC))
        assert [(t.job, t.run.outcome if t.run else None) for t in report.ran] == [("check", "ok"), ("audit", "invalid")]
        posts = site.posts()
        assert [p["kind"] for p in posts] == ["bag-invalid", "sources-rotted"]  # one each, not one per URL
        rotted = posts[1]["events"][0]
        assert sorted(item.split(": ")[0] for item in rotted["items"]) == [f"{site.base}/source-a", f"{site.base}/source-b"]
        assert all(": gone" in item for item in rotted["items"])
        assert str(bag) in posts[0]["events"][0]["items"][0]
        assert sorted(text.split("Subject: ")[1].splitlines()[0] for _, _, text in mailbox.messages) == [
            "cablekeep: rot-site: bag found invalid", "cablekeep: rot-site: sources newly rotted"]

        scheduler.run_due([manifest], datetime(2026, 1, 3, 3, 0, tzinfo=UTC))  # still gone: not newly rotted
        assert [p["kind"] for p in site.posts()[2:]] == ["bag-invalid"], [p["events"] for p in site.posts()[2:]]
