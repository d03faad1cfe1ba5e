"""Fixity events: one verification, sample audit or repair of one bag, and the clock and ids they use.

A :class:`FixityEvent` says when (UTC), what (``fixity check``, ``validation`` for a fast check,
``repair``), on which bag, with which outcome (``valid``, ``invalid``, ``unreadable``), mode (``full``,
``fast``, ``sample``), algorithms, counts and problems, by which agent (``cablekeep <version>``).
Its JSON form is the ``cablekeep.event/1`` schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import __version__
from ..errors import UsageError
from .identity import BagIdentity
from .report import Problem, Report

AGENT = f"cablekeep {__version__}"
EVENT_SCHEMA = "cablekeep.event/1"
EVENT_TYPES = ("fixity check", "validation", "repair", "replication")  # replication: a delivery (handoff)
OUTCOMES = ("valid", "invalid", "unreadable")
EVENT_MODES = ("full", "fast", "sample")

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(timezone.utc)


def new_event_id() -> str:
    """The default event identifier: a random UUID."""
    return str(uuid.uuid4())


def as_utc(time: datetime) -> datetime:
    if time.tzinfo is None:
        raise UsageError(f"event time {time.isoformat()} has no time zone; give times in UTC")
    return time.astimezone(timezone.utc)


def time_text(time: datetime) -> str:
    return as_utc(time).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=timezone.utc)



@dataclass(frozen=True)
class FixityEvent:
    """One verification, sample audit or repair of one bag. ``id`` is set once recorded.

    ``paths`` names the files a sample hashed, or the files a repair replaced; it is empty for
    a check of the whole bag. ``cycle_started`` is set on the sample run that completes a cycle:
    every payload file has then been hashed at least once since that time.
    """

    event_id: str
    time: datetime
    event_type: str
    bag: BagIdentity
    outcome: str
    mode: str
    algorithms: tuple[str, ...] = ()
    files_checked: int = 0
    bytes_checked: int = 0
    warc_records_checked: int = 0
    problems: tuple[Problem, ...] = ()
    paths: tuple[str, ...] = ()
    agent: str = AGENT
    detail: str = ""
    cycle_started: datetime | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event_type!r}; expected one of {EVENT_TYPES}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of {OUTCOMES}")
        if self.mode not in EVENT_MODES:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {EVENT_MODES}")
        object.__setattr__(self, "time", as_utc(self.time))

    @classmethod
    def from_report(
        cls,
        report: Report,
        bag: BagIdentity,
        *,
        time: datetime,
        event_id: str,
        event_type: str | None = None,
        problems: Iterable[Problem] | None = None,
        paths: Iterable[str] = (),
        detail: str = "",
        cycle_started: datetime | None = None,
    ) -> FixityEvent:
        """The event for a bag verification (or, with ``event_type="repair"``, the verification
        that ended a repair). By default a fast check is a ``validation``, not a fixity check."""
        if report.mode not in EVENT_MODES:
            raise UsageError(f"a {report.mode} report is not a bag verification; only bags have a fixity history")
        if not detail:
            detail = {
                "full": "every file of the bag hashed against its manifests",
                "fast": "completeness and Payload-Oxum only; no checksum verified",
                "sample": f"a sample of the payload hashed; {report.files_not_sampled} payload files not this time",
            }[report.mode]
        return cls(
            event_id=event_id,
            time=time,
            event_type=event_type or ("validation" if report.mode == "fast" else "fixity check"),
            bag=bag,
            outcome="valid" if report.ok else "invalid",
            mode=report.mode,
            algorithms=report.algorithms,
            files_checked=report.files_checked,
            bytes_checked=report.bytes_checked,
            warc_records_checked=report.warc_records_checked,
            problems=tuple(report.problems if problems is None else problems),
            paths=tuple(paths),
            detail=detail,
            cycle_started=cycle_started,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict in the ``cablekeep.event/1`` schema."""
        return {
            "schema": EVENT_SCHEMA,
            "event_id": self.event_id,
            "time": time_text(self.time),
            "event_type": self.event_type,
            "bag": {
                "path": self.bag.path,
                "external_identifier": self.bag.external_identifier,
                "tagmanifest_sha256": self.bag.tagmanifest_digest,
            },
            "outcome": self.outcome,
            "mode": self.mode,
            "algorithms": list(self.algorithms),
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "warc_records_checked": self.warc_records_checked,
            "problems": [p.to_json() for p in self.problems],
            "paths": list(self.paths),
            "agent": self.agent,
            "detail": self.detail,
            "cycle_started": None if self.cycle_started is None else time_text(self.cycle_started),
        }

