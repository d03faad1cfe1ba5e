"""Messages about job runs: one per kind of event per collection per run, by webhook and by e-mail.

Kinds: ``job-failed`` (a job could not do its work), ``bag-invalid`` (an audit found a bag invalid),
``sources-rotted`` (a check found sources that turned bad since the last check). A message lists what
happened (the first 100 items of each event, then a count), never one message per URL.

The webhook gets an HTTP POST of a JSON body (schema ``cablekeep.notify/1``); a connection error, a
timeout, a 429 or a 5xx is retried after a growing pause, up to ``retries`` more times. E-mail goes over
SMTP with STARTTLS unless turned off (the server's certificate checked against the system's CAs, or the
manifest's ``ca_file``); the user name and password come from the environment variables the manifest
names (``environ`` is the caller's: nothing here reads the process environment), and are never sent over
a connection without TLS. A message
that cannot be delivered is returned as a failed :class:`Delivery`, never raised: a notification does
not change how a job ended.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from .. import __version__
from ..manifest import Email, Notify, Webhook
from .jobs import Event
from .ledger import time_text

SCHEMA = "cablekeep.notify/1"
KINDS = ("job-failed", "bag-invalid", "sources-rotted")
_TITLES = {"job-failed": "job failed", "bag-invalid": "bag found invalid", "sources-rotted": "sources newly rotted"}
RETRY_PAUSE = 0.5  # seconds before the first retry; doubled each time, at most MAX_PAUSE
MAX_PAUSE = 10.0


@dataclass(frozen=True)
class Message:
    """One message: every event of one kind for one collection in one run."""

    kind: str
    collection: str
    manifest: Path
    time: datetime
    events: tuple[Event, ...]

    @property
    def subject(self) -> str:
        return f"cablekeep: {self.collection}: {_TITLES[self.kind]}"

    def to_json(self) -> dict[str, object]:
        return {
            "schema": SCHEMA, "kind": self.kind, "collection": self.collection, "manifest": str(self.manifest),
            "time": time_text(self.time), "agent": f"cablekeep {__version__}",
            "events": [{"job": e.job, "summary": e.summary, "items": list(e.items), "more_items": e.more}
                       for e in self.events],
        }

    def text(self) -> str:
        lines = [f"{self.subject} ({time_text(self.time)}, manifest {self.manifest})", ""]
        for event in self.events:
            lines.append(f"{event.job}: {event.summary}")
            lines += [f"  {item}" for item in event.items]
            if event.more:
                lines.append(f"  ... and {event.more} more")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Delivery:
    """Whether a message reached a channel (``webhook`` or ``email``), in how many attempts, and why not."""

    channel: str
    kind: str
    collection: str
    ok: bool
    attempts: int
    detail: str


def messages(collection: str, manifest: Path, events: Sequence[Event], now: datetime) -> list[Message]:
    """One message per kind of event, in the order job-failed, bag-invalid, sources-rotted."""
    return [Message(kind, collection, manifest, now, tuple(e for e in events if e.kind == kind))
            for kind in KINDS if any(e.kind == kind for e in events)]


def _retryable(error: Exception) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 429 or error.code >= 500
    return isinstance(error, (urllib.error.URLError, OSError))


def send_webhook(webhook: Webhook, message: Message, *, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    body = json.dumps(message.to_json(), ensure_ascii=False).encode("utf-8")
    attempts, pause, detail = 0, RETRY_PAUSE, ""
    while attempts <= webhook.retries:
        attempts += 1
        request = urllib.request.Request(webhook.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"cablekeep/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=webhook.timeout) as response:
                response.read(65536)
                return Delivery("webhook", message.kind, message.collection, True, attempts, f"HTTP {response.status}")
        except (urllib.error.URLError, OSError, ValueError) as error:
            detail = (f"HTTP {error.code} {error.reason}" if isinstance(error, urllib.error.HTTPError)
                      else str(getattr(error, "reason", error)))
            if not _retryable(error):
                break
        if attempts <= webhook.retries:
            sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
    return Delivery("webhook", message.kind, message.collection, False, attempts,
                    f"{webhook.url}: {detail} (after {attempts} attempt(s))")


def send_email(email: Email, message: Message, environ: Mapping[str, str]) -> Delivery:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = email.sender
    mail["To"] = ", ".join(email.to)
    mail.set_content(message.text())
    user, password = environ.get(email.username_env), environ.get(email.password_env)
    if user and password and not email.starttls:
        return Delivery("email", message.kind, message.collection, False, 0,
                        f"{email.host}:{email.port}: not sent: {email.password_env} is set but starttls is off, and "
                        "cablekeep does not send a password without TLS; turn starttls on, or unset the variables")
    try:
        with smtplib.SMTP(email.host, email.port, timeout=email.timeout) as smtp:
            smtp.ehlo()
            if email.starttls:
                cafile = str(email.ca_file) if email.ca_file is not None else None
                smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                smtp.ehlo()
            if user and password:
                smtp.login(user, password)
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as error:
        return Delivery("email", message.kind, message.collection, False, 1,
                        f"{email.host}:{email.port}: {error}")
    return Delivery("email", message.kind, message.collection, True, 1, f"sent to {', '.join(email.to)}")


def deliver(notify: Notify, message: Message, environ: Mapping[str, str], *,
            sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Send ``message`` to every channel ``notify`` names."""
    done = []
    if notify.webhook is not None:
        done.append(send_webhook(notify.webhook, message, sleep=sleep))
    if notify.email is not None:
        done.append(send_email(notify.email, message, environ))
    return done
