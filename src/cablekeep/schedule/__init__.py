"""The schedule wing: crawls, checks and audits that run themselves.

Takes manifests whose ``schedule:`` names a cron expression per job (``crawl``, ``check``, ``audit``),
the time now, and the fixity history's database; gives the jobs that are due run once each, a row per
job run (started, finished, outcome, reason) in that database, and one message per kind of event per
run to whoever ``notify:`` names.

- ``plan``: when each job of a manifest is next due (cron slots, time zone, a fixed jitter per job).
- ``ledger``: the job runs and the first time each job was seen, a table of their own in fixity.sqlite.
- ``jobs``: the three jobs over the earlier wings: ``run`` (crawl, bag, verify), ``watch`` (link rot),
  ``fixity`` (audit); each returns an outcome and the events worth a message.
- ``rundue``: ``run_due``: a lock per job, the due check under that lock, the run, its row, the messages.
- ``status``: ``job_statuses``: each job's last run, outcome, duration and next run (``cablekeep due``).
- ``notify``: the messages: a webhook POST of JSON with retries, and e-mail over SMTP.
- ``install``: the crontab line and the systemd service and timer that start ``run-due``.

A missed job (the machine was off) runs once when it comes back, not once per missed slot; a failed
job is recorded with its reason and tried again at its next slot; a job whose process was killed is
recorded as interrupted and runs again at the next tick (a crawl resumes where it stopped). Time is
a parameter everywhere (``now=``); nothing here reads the clock on its own, the environment or argv.
"""
