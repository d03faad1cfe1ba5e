"""What a step of the WARC checker says, before the scan turns it into a :class:`Problem`.

Each step (header block, record ids, digests, gzip members) returns :class:`Finding` values; the
scan adds the file's path and, for a record's own findings, its WARC-Record-ID. A quirk seen in
many records is counted in a :class:`Tally` and reported once per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .report import ProblemKind


class Finding(NamedTuple):
    """One problem a step found: what, where (offset of the record or gzip member) and its kind."""

    detail: str
    offset: int | None
    kind: ProblemKind = "warc"


@dataclass
class Tally:
    """A quirk seen in many records, reported once per file: how often, and where first."""

    count: int = 0
    offset: int | None = None

    def add(self, offset: int) -> None:
        if self.count == 0:
            self.offset = offset
        self.count += 1
