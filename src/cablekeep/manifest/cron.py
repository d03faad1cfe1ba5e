"""Cron expressions: the adapter over cronsim (the only module importing it).

A manifest's ``schedule:`` names a cron expression per job (five fields: minute, hour, day of month,
month, day of week, with cron's ranges, steps, names and ``L``); :func:`parse_cron` checks one when the
manifest is loaded, and :meth:`Cron.next_after` gives the next time it names, in a time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from cronsim import CronSim, CronSimError

FIELDS = 5  # minute hour day-of-month month day-of-week; cronsim's optional seconds field is not offered


@dataclass(frozen=True)
class Cron:
    """A checked cron expression, as written."""

    text: str

    def next_after(self, moment: datetime, zone: tzinfo) -> datetime:
        """The first time strictly after ``moment`` that the expression names, read in ``zone``; in UTC."""
        local = moment.astimezone(zone).replace(microsecond=0)
        if local.second:
            local = local.replace(second=0)  # the next minute boundary is still strictly after moment
        return next(iter(CronSim(self.text, local))).astimezone(timezone.utc)


def parse_cron(text: str) -> Cron:
    """Check a five-field cron expression; raises ValueError saying what is wrong and what to write."""
    fields = text.split()
    if len(fields) != FIELDS:
        raise ValueError(f"{text!r} has {len(fields)} field(s); a cron expression has five: minute, hour, "
                         "day of month, month, day of week (e.g. '0 3 * * 0' for Sundays at 03:00)")
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=timezone.utc))
    except CronSimError as error:
        raise ValueError(f"{text!r} is not a cron expression: {error}; e.g. '30 2 * * *' for 02:30 daily") from None
    return Cron(" ".join(fields))
