"""schedule: and notify: in the manifest: read into typed values, and every wrong value named with its
file, line and key."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cablekeep.errors import ManifestError
from cablekeep.manifest import Email, Notify, Webhook, load_manifest_text, parse_cron

HEAD = "cablekeep: 1\ncollection: c\nseeds: [http://h/]\n"  # three lines: the block under test starts on line 4


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return load_manifest_text(HEAD + text, tmp_path / "m.yaml")


def test_a_schedule_reads_each_job_with_its_zone_and_jitter(tmp_path: Path) -> None:
    manifest = load(tmp_path, 'schedule:\n  crawl: "0 3 * * 0"\n  audit: "30 4 1 * *"\n  timezone: Asia/Almaty\n'
                              "  jitter: 2h\n")
    schedule = manifest.schedule
    assert [(j.job, j.cron.text, j.line) for j in schedule.jobs] == [("crawl", "0 3 * * 0", 5), ("audit", "30 4 1 * *", 6)]
    assert (schedule.timezone, schedule.jitter) == ("Asia/Almaty", 7200.0)


def test_a_cron_expression_is_read_in_its_time_zone() -> None:
    cron = parse_cron("0 3 * * *")
    after = datetime(2026, 7, 1, 0, 0, tzinfo=timezone.utc)
    assert cron.next_after(after, ZoneInfo("Europe/Berlin")) == datetime(2026, 7, 1, 1, 0, tzinfo=timezone.utc)  # CEST
    assert cron.next_after(after, ZoneInfo("UTC")) == datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
    assert cron.next_after(datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc), timezone.utc) == datetime(
        2026, 7, 2, 3, 0, tzinfo=timezone.utc)  # strictly after


@pytest.mark.parametrize("block, line, key, words", [
    ('schedule:\n  crawl: "0 25 * * *"\n', 5, "schedule.crawl", "Bad hour"),
    ('schedule:\n  check: "0 3 * *"\n', 5, "schedule.check", "has 4 field(s)"),
    ('schedule:\n  audit: "0 3 * * * 2026"\n', 5, "schedule.audit", "has 6 field(s)"),
    ("schedule:\n  audit: 5\n", 5, "schedule.audit", "expected text"),
    ('schedule:\n  crawl: "@daily"\n', 5, "schedule.crawl", "has 1 field(s)"),
    ("schedule:\n  timezone: Mars/Olympus\n", 5, "schedule.timezone", "not a time zone"),
    ("schedule:\n  jitter: 2 days\n", 5, "schedule.jitter", "not a duration"),
    ("schedule:\n  jitter: 90000\n", 5, "schedule.jitter", "from 0 to 24h"),
    ("schedule:\n  crawll: '0 3 * * *'\n", 5, "schedule.crawll", "did you mean crawl?"),
    ("notify:\n  webhook: {url: 'ftp://h/x'}\n", 5, "notify.webhook.url", "not an http(s) URL"),
    ("notify:\n  webhook: {retries: 2}\n", 5, "notify.webhook.url", "required key 'url'"),
    ("notify:\n  email: {host: h, from: a@h, to: nobody}\n", 5, "notify.email.to", "not an e-mail address"),
    ("notify:\n  email: {host: h, to: [a@h]}\n", 5, "notify.email.from", "required key 'from'"),
    ("notify:\n  email: {host: h, from: a@h, to: a@h, password: hunter2}\n", 5, "notify.email.password",
     "did you mean password_env?"),
    ("notify:\n  email: {host: h, from: a@h, to: a@h, password_env: 'hunter2!'}\n", 5, "notify.email.password_env",
     "never the secret itself"),
])
def test_a_wrong_value_is_a_manifest_error_with_file_line_and_key(
        tmp_path: Path, block: str, line: int, key: str, words: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, block)
    error = caught.value
    assert (error.path, error.line, error.key) == (tmp_path / "m.yaml", line, key), str(error)
    assert words in error.message


def test_every_wrong_job_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, 'schedule:\n  crawl: "x"\n  check: "0 3 * * *"\n  audit: "61 * * * *"\n')
    assert [(p.line, p.key) for p in caught.value.problems] == [(5, "schedule.crawl"), (7, "schedule.audit")]


def test_notify_reads_a_webhook_and_an_email_without_credentials(tmp_path: Path) -> None:
    manifest = load(tmp_path, "notify:\n  webhook: {url: 'https://hooks.example.org/x', retries: 1}\n"
                              "  email:\n    host: smtp.example.org\n    from: ck@example.org\n"
                              "    to: [a@example.org, b@example.org]\n    starttls: false\n    port: 25\n")
    assert manifest.notify == Notify(
        webhook=Webhook("https://hooks.example.org/x", retries=1),
        email=Email(host="smtp.example.org", to=("a@example.org", "b@example.org"), sender="ck@example.org", port=25,
                    starttls=False))


def test_no_schedule_and_the_old_empty_list_mean_no_jobs(tmp_path: Path) -> None:
    assert load(tmp_path, "").schedule.jobs == ()
    assert load(tmp_path, "schedule: []\n").schedule.jobs == ()
    assert load(tmp_path, "").notify == Notify()
