"""The ``schedule:`` and ``notify:`` sections: when a collection's jobs run, and who hears when they fail.

``schedule:`` maps ``crawl``, ``check``, ``audit`` and ``deliver`` to cron expressions (checked by
:mod:`cablekeep.manifest.cron`); ``deliver_to`` names the ``delivery:`` destination of the deliver job
(needed when there are several); with ``timezone`` (an IANA name, UTC by default) and ``jitter`` (seconds,
or text such as ``15m``). ``notify:`` holds a ``webhook`` and/or an ``email``; SMTP credentials are
named by environment variables, never written in the manifest. Each wrong value is a problem with its
file, line and key, collected with the others.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

from .cron import Cron, parse_cron
from .keys import Section, read_section
from .model import JOB_NAMES, Email, JobSchedule, Notify, Schedule, Webhook
from .reader import Node, is_null, is_sequence, line_of
from .values import ValueReader

_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*")
_DURATION_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600}
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ADDRESS_RE = re.compile(r"[^@\s<>,]+@[^@\s<>,]+")
MAX_JITTER = 24 * 3600.0


def read_schedule(reader: ValueReader, root: Section, destinations: tuple[str, ...] = ()) -> Schedule:
    node = root.node("schedule")
    if node is None or is_null(node):
        return Schedule()
    if is_sequence(node):  # the reserved form of earlier versions: an empty list still means no schedule
        if reader.items(node, "schedule"):
            reader.report(node, "schedule", "expected a mapping of jobs to cron expressions, e.g. "
                          "'schedule: {crawl: \"0 3 * * 0\", check: \"0 4 * * *\", audit: \"30 4 1 * *\"}'")
        return Schedule()
    section = read_section(reader, node, "schedule")
    jobs = []
    for job in JOB_NAMES:
        cron = section.get(job, None, lambda n, k: _cron(reader, n, k))
        if cron is not None:
            jobs.append(JobSchedule(job, cron, line_of(section.node(job))))
    deliver_to = section.get("deliver_to", None, reader.non_empty_line)
    _check_deliver_to(reader, section, deliver_to, destinations, any(job.job == "deliver" for job in jobs))
    return Schedule(
        jobs=tuple(jobs),
        deliver_to=deliver_to,
        timezone=section.get("timezone", "UTC", lambda n, k: _zone(reader, n, k)),
        jitter=section.get("jitter", 0.0, lambda n, k: _duration(reader, n, k)),
    )


def _check_deliver_to(
    reader: ValueReader, section: Section, deliver_to: str | None, destinations: tuple[str, ...], scheduled: bool
) -> None:
    """The deliver job needs one destination of ``delivery:``: the one ``deliver_to`` names, or the only one."""
    names = ", ".join(destinations) or "none"
    node = section.node("deliver_to")
    if deliver_to is not None and node is not None and not scheduled:
        reader.report(node, "schedule.deliver_to", "names the destination of the deliver job, but no deliver job "
                      "is scheduled; add 'deliver: \"CRON\"' or remove deliver_to")
    elif deliver_to is not None and node is not None and deliver_to not in destinations:
        reader.report(node, "schedule.deliver_to", f"{deliver_to!r} is not a destination of delivery: (its "
                      f"destinations: {names})")
    elif scheduled and deliver_to is None and len(destinations) != 1:
        where = section.node("deliver")
        assert where is not None  # the deliver job is scheduled, so its key is there
        reader.report(where, "schedule.deliver", f"the deliver job needs a destination: delivery: has {names}; "
                      "add one to delivery: or name it with 'deliver_to: NAME'")


def _cron(reader: ValueReader, node: Node, key: str) -> Cron:
    text = reader.non_empty_line(node, key)
    try:
        return parse_cron(text)
    except ValueError as error:
        reader.fail(node, key, str(error))


def _zone(reader: ValueReader, node: Node, key: str) -> str:
    name = reader.non_empty_line(node, key).strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reader.fail(node, key, f"{name!r} is not a time zone this machine knows; write an IANA name such as "
                    "UTC, Europe/Berlin or America/New_York")
    return name


def _duration(reader: ValueReader, node: Node, key: str) -> float:
    """Seconds: a number, or text such as 90s, 15m, 2h; at most a day."""
    value = reader.value(node, key, "a duration such as 15m")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        reader.fail(node, key, "expected seconds or a duration such as 90s, 15m or 2h")
    if isinstance(value, str):
        match = _DURATION_RE.fullmatch(value)
        if match is None:
            reader.fail(node, key, f"{value!r} is not a duration; write seconds or a number and s, m or h (15m)")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    else:
        seconds = float(value)
    if not 0 <= seconds <= MAX_JITTER:
        reader.fail(node, key, f"must be from 0 to 24h, got {seconds:g} seconds")
    return seconds


def read_notify(reader: ValueReader, root: Section) -> Notify:
    section = root.section("notify")
    webhook = section.node("webhook")
    email = section.node("email")
    return Notify(
        webhook=None if webhook is None or is_null(webhook) else
        reader.attempt(lambda: _webhook(reader, webhook, read_section(reader, webhook, "notify.webhook")), None),
        email=None if email is None or is_null(email) else
        reader.attempt(lambda: _email(reader, email, read_section(reader, email, "notify.email")), None),
    )


def _url(reader: ValueReader, node: Node, key: str) -> str:
    url = reader.non_empty_line(node, key).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        reader.fail(node, key, f"{url!r} is not an http(s) URL; write e.g. https://hooks.example.org/cablekeep")
    return url


def _webhook(reader: ValueReader, node: Node, section: Section) -> Webhook:
    default = Webhook(url="")
    url = section.get("url", "", lambda n, k: _url(reader, n, k))
    if section.node("url") is None:
        reader.report(node, "notify.webhook.url", "required key 'url' is missing; add the URL to POST to")
    return Webhook(
        url=url,
        retries=section.get("retries", default.retries, lambda n, k: reader.integer(n, k, low=0, high=10)),
        timeout=section.get("timeout", default.timeout, lambda n, k: reader.number(n, k, low=0, strict=True)),
    )


def _address(reader: ValueReader, node: Node, key: str) -> str:
    address = reader.non_empty_line(node, key).strip()
    if not _ADDRESS_RE.fullmatch(address):
        reader.fail(node, key, f"{address!r} is not an e-mail address; write e.g. keeper@example.org")
    return address


def _addresses(reader: ValueReader, node: Node, key: str) -> tuple[str, ...]:
    if not is_sequence(node):
        return (_address(reader, node, key),)
    found = [reader.attempt(lambda: _address(reader, item, item_key), "") for item, item_key in reader.items(node, key)]
    if not found:
        reader.fail(node, key, "list at least one address to send to")
    return tuple(address for address in found if address)


def _env_name(reader: ValueReader, node: Node, key: str) -> str:
    name = reader.non_empty_line(node, key).strip()
    if not _ENV_NAME_RE.fullmatch(name):
        reader.fail(node, key, f"{name!r} is not the name of an environment variable; name the variable that "
                    "holds the secret (e.g. CABLEKEEP_SMTP_PASSWORD), never the secret itself")
    return name


def _ca_file(reader: ValueReader, node: Node, key: str) -> Path:
    path = reader.base_dir / reader.non_empty_line(node, key)
    if not path.is_file():
        reader.fail(node, key, f"{path} is not a file; name the PEM file of the certificates to trust for STARTTLS")
    return path


def _email(reader: ValueReader, node: Node, section: Section) -> Email:
    default = Email(host="", to=(), sender="")
    for required in ("host", "from", "to"):
        if section.node(required) is None:
            reader.report(node, f"notify.email.{required}", f"required key {required!r} is missing; add it")
    return Email(
        host=section.get("host", "", reader.host),
        to=section.get("to", (), lambda n, k: _addresses(reader, n, k)),
        sender=section.get("from", "", lambda n, k: _address(reader, n, k)),
        port=section.get("port", default.port, lambda n, k: reader.integer(n, k, low=1, high=65535)),
        starttls=section.get("starttls", default.starttls, reader.boolean),
        timeout=section.get("timeout", default.timeout, lambda n, k: reader.number(n, k, low=0, strict=True)),
        username_env=section.get("username_env", default.username_env, lambda n, k: _env_name(reader, n, k)),
        password_env=section.get("password_env", default.password_env, lambda n, k: _env_name(reader, n, k)),
        ca_file=section.get("ca_file", None, lambda n, k: _ca_file(reader, n, k)),
    )
