"""Fixity events: one verification, sample audit or repair of one bag, and the clock and ids they use.

A :class:`FixityEvent` says when (UTC), what (``fixity check``, ``validation`` for a fast check,
``repair``), on which bag, with which outcome (``valid``, ``invalid``, ``incomplete``, ``unreadable``), mode (``full``,
``fast``, ``sample``), algorithms, counts and problems, by which agent (``cablekeep <version>``).
Its JSON form is the ``cablekeep.event/1`` schema, file names escaped as :mod:`cablekeep.fixity.names` says.

An event keeps per-file problems compactly: the first :data:`PROBLEMS_LISTED_PER_KIND` of each kind,
and how many there were of each kind (``problem_counts``), so a check that found a million missing
files is one small event saying "1,000,000 missing (first 1,000 listed)".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import __version__
from ..errors import UsageError
from .identity import BagIdentity
from .names import escape_name
from .report import Problem, Report

AGENT = f"cablekeep {__version__}"
EVENT_SCHEMA = "cablekeep.event/1"
EVENT_TYPES = ("fixity check", "validation", "repair", "replication")  # replication: a delivery (handoff)
OUTCOMES = ("valid", "invalid", "incomplete", "unreadable")
EVENT_MODES = ("full", "fast", "sample")
# Per-file problems an event lists of each kind; the rest are counted.
PROBLEMS_LISTED_PER_KIND = 1000

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


def first_of_each_kind(problems: Iterable[Problem], limit: int) -> tuple[tuple[Problem, ...], dict[str, int]]:
    """The first ``limit`` problems of each kind, in their order, and the number of each kind.

    Reads ``problems`` once, holding only what it keeps."""
    kept: list[Problem] = []
    counts: dict[str, int] = {}
    for problem in problems:
        seen = counts.get(problem.kind, 0)
        if seen < limit:
            kept.append(problem)
        counts[problem.kind] = seen + 1
    return tuple(kept), dict(sorted(counts.items()))


def problem_json(problem: Problem) -> dict[str, object]:
    """A problem's JSON form with its names (and any other text) escaped: one line, valid UTF-8."""
    return {key: escape_name(value) if isinstance(value, str) else value for key, value in problem.to_json().items()}


@dataclass(frozen=True)
class FixityEvent:
    """One verification, sample audit or repair of one bag. ``id`` is set once recorded.

    ``paths`` names the files a sample hashed, or the files a repair replaced; it is empty for
    a check of the whole bag. ``cycle_started`` is set on the sample run that completes a cycle:
    every payload file has then been hashed at least once since that time.

    ``problems`` lists at most :data:`PROBLEMS_LISTED_PER_KIND` of each kind; ``problem_counts``
    says how many there were of each kind. Left None, it is counted from ``problems`` (which are
    then cut to the first of each kind).
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
    problem_counts: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event_type!r}; expected one of {EVENT_TYPES}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of {OUTCOMES}")
        if self.mode not in EVENT_MODES:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {EVENT_MODES}")
        object.__setattr__(self, "time", as_utc(self.time))
        kept, counts = first_of_each_kind(self.problems, PROBLEMS_LISTED_PER_KIND)
        object.__setattr__(self, "problems", kept)
        if self.problem_counts is None:
            object.__setattr__(self, "problem_counts", counts)
        else:
            object.__setattr__(self, "problem_counts", dict(sorted(self.problem_counts.items())))

    @property
    def counts(self) -> dict[str, int]:
        """How many problems of each kind the check found (listed or not)."""
        return dict(self.problem_counts or {})

    @property
    def problem_total(self) -> int:
        return sum(self.counts.values())

    def problems_summary(self) -> str:
        """``1,000,000 missing (first 1,000 listed), 2 changed``; ``no problems`` when there are none."""
        listed = {kind: 0 for kind in self.counts}
        for problem in self.problems:
            listed[problem.kind] = listed.get(problem.kind, 0) + 1
        parts = []
        for kind, count in self.counts.items():
            shown = listed.get(kind, 0)
            parts.append(f"{count:,} {kind}" + ("" if shown >= count else f" (first {shown:,} listed)"))
        return ", ".join(parts) or "no problems"

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
        kept, counts = first_of_each_kind(
            report.problems if problems is None else problems, PROBLEMS_LISTED_PER_KIND
        )
        return cls(
            event_id=event_id,
            time=time,
            event_type=event_type or ("validation" if report.mode == "fast" else "fixity check"),
            bag=bag,
            outcome=report.verdict,
            mode=report.mode,
            algorithms=report.algorithms,
            files_checked=report.files_checked,
            bytes_checked=report.bytes_checked,
            warc_records_checked=report.warc_records_checked,
            problems=kept,
            paths=tuple(paths),
            detail=detail,
            cycle_started=cycle_started,
            problem_counts=counts,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict in the ``cablekeep.event/1`` schema; every path and text escaped
        (:func:`~cablekeep.fixity.names.escape_name`), so it encodes as UTF-8 whatever the names' bytes.

        ``problem_counts`` counts every problem by kind; ``problems`` lists the first
        :data:`PROBLEMS_LISTED_PER_KIND` of each."""
        return {
            "schema": EVENT_SCHEMA,
            "event_id": self.event_id,
            "time": time_text(self.time),
            "event_type": self.event_type,
            "bag": {
                "path": escape_name(self.bag.path),
                "external_identifier": None if self.bag.external_identifier is None
                else escape_name(self.bag.external_identifier),
                "tagmanifest_sha256": self.bag.tagmanifest_digest,
            },
            "outcome": self.outcome,
            "mode": self.mode,
            "algorithms": list(self.algorithms),
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "warc_records_checked": self.warc_records_checked,
            "problem_counts": self.counts,
            "problems": [problem_json(p) for p in self.problems],
            "paths": [escape_name(p) for p in self.paths],
            "agent": self.agent,
            "detail": escape_name(self.detail),
            "cycle_started": None if self.cycle_started is None else time_text(self.cycle_started),
        }

