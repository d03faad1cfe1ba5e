"""Cable identifiers: the one canonical spelling of a cable ID.

A cable ID is two digits of year, the origin in capitals without spaces and the serial number
without leading zeros: ``05ALMATY2503``, ``09BUENOSAIRES117``, ``08USUNNEWYORK1022``.
"""

from __future__ import annotations

import re

CABLE_ID_RE = re.compile(r"^(?P<year>\d{2})(?P<origin>[A-Z]+)(?P<serial>\d+)$")

# Origins that are written more than one way in cable text, mapped to the spelling in IDs.
ORIGIN_ALIASES = {"SECSTATE": "STATE"}

# Any whitespace, line breaks included, may separate the parts and the words of the origin.
_LOOSE_RE = re.compile(
    r"^\s*(?:(?P<year>\d{2})\s*)?(?P<origin>[A-Za-z][A-Za-z\s]*?[A-Za-z])\s*(?P<serial>\d+)\s*$"
)
_YEAR_RE = re.compile(r"\d{2}")
_SPACE_RE = re.compile(r"\s+")


def normalise_cable_id(written: str, default_year: str | None = None) -> str | None:
    """The canonical ID of a cable as written in text, or None when it cannot be one.

    ``written`` may carry spaces or line breaks, lower case and leading zeros ("05 Almaty 04353");
    a citation without a year takes ``default_year`` (two digits, usually the citing cable's year).
    """
    match = _LOOSE_RE.match(written)
    if match is None:
        return None
    year = match.group("year") or default_year
    if year is None or not _YEAR_RE.fullmatch(year):
        return None
    origin = _SPACE_RE.sub("", match.group("origin")).upper()
    origin = ORIGIN_ALIASES.get(origin, origin)
    serial = str(int(match.group("serial")))
    return f"{year}{origin}{serial}"


def is_cable_id(text: str) -> bool:
    """True when ``text`` is already a canonical cable ID."""
    match = CABLE_ID_RE.match(text)
    return match is not None and not match.group("serial").startswith("0")


def cable_year(cable_id: str) -> str | None:
    """The two-digit year of a canonical cable ID."""
    match = CABLE_ID_RE.match(cable_id)
    return match.group("year") if match else None


def year_before(cable_id: str) -> str | None:
    """The same origin and serial one year earlier ("06ASTANA12" -> "05ASTANA12")."""
    match = CABLE_ID_RE.match(cable_id)
    if match is None:
        return None
    year = (int(match.group("year")) - 1) % 100
    return f"{year:02d}{match.group('origin')}{match.group('serial')}"
