"""WARC-Record-IDs and the references between records (WARC 1.1, sections 5.2, 5.7, 5.10, 5.11).

Every WARC-Record-ID must be unique, and every WARC-Concurrent-To (which may be repeated: each
one is resolved), WARC-Refers-To, WARC-Warcinfo-ID and WARC-Segment-Origin-ID must name a record
that exists. :class:`FileIds` checks one file while it is scanned: the last ``window``
ids are kept in memory, so an id used again soon after and a reference to a near record are
settled at once; every id's hash also goes to the file's :class:`IdSpool`, which settles what
lies further apart when the file ends. What the file does not resolve is left to
:func:`resolve_references`, across all the files of a bag (and the earlier bags it depends on).

Who wrote the file decides what a reference to nothing means. A file cablekeep wrote (its
warcinfo says ``software: cablekeep/...``), or one that does not say who wrote it, is held to
the bag's claim to be whole: such a reference is an error. A file whose warcinfo names other
software comes from a crawl that may span files that are not here (Heritrix and
NetarchiveSuite jobs write hundreds): such a reference is a warning that says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

from .recordids import MEMORY_IDS, IdIndex, IdSpool, MemoryIdIndex, id_hash, id_index
from .report import Problem
from .warcfindings import Finding
from .warcheaders import HeaderBlock

REFERENCE_HEADERS = ("WARC-Concurrent-To", "WARC-Refers-To", "WARC-Warcinfo-ID", "WARC-Segment-Origin-ID")
_REFERENCE_KEYS = tuple((header, header.lower()) for header in REFERENCE_HEADERS)
OWN_SOFTWARE = "cablekeep/"  # how cablekeep's warcinfo names its writer


@dataclass(frozen=True)
class Reference:
    """A WARC-Concurrent-To, WARC-Refers-To or WARC-Warcinfo-ID not resolved inside its own file."""

    target: str
    source: str | None
    header: str
    path: str
    offset: int
    external_ok: bool  # a revisit naming its original by URI and date: elsewhere is no error
    foreign: str | None = None  # the software that wrote the file, when its warcinfo names another


_Pending = tuple[str, "str | None", str, int, bool]  # a reference waiting for its target, as FileIds keeps it


class IdsChecked(NamedTuple):
    """What :meth:`FileIds.finish` found: ids reused far apart, and references still open."""

    findings: list[Finding]
    unresolved: list[Reference]


class ScannedIds(Protocol):
    """What :func:`resolve_references` needs of a scanned file (a ``WarcScan``)."""

    path: str
    ids: IdSpool
    unresolved: list[Reference]


def norm_id(value: str) -> str:
    """A record id without its angle brackets and surrounding space: how ids are compared."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


def targets(value: str) -> list[str]:
    """The record ids one reference header names (some writers put several in one field)."""
    return value.split() if value.count("<") > 1 else [value]


class FileIds:
    """The record ids and references of one WARC file, checked while it is read."""

    def __init__(self, path: str, spool: IdSpool, window: int) -> None:
        self._path = path
        self._spool = spool
        self._window = window
        # The last ``window`` record ids (normalised, to their offsets) and the references still
        # waiting for their target; a file's ids beyond the window are only in its spool.
        self._recent: dict[str, int] = {}
        # (target, source, header, offset, external_ok): a Reference is made only of what stays open
        self._pending: dict[str, list[_Pending]] = {}
        self._leftover: list[Reference] = []
        self._beyond_window = False
        self._reported: set[int] = set()  # offsets of the records already reported as reusing an id
        self.last_hash = 0  # the id_hash of the id add_id noted last

    def add_id(self, record_id: str, offset: int) -> Finding | None:
        """Note the id of the record at ``offset``; a finding when a near earlier record used it."""
        key = norm_id(record_id)
        finding = None
        if key in self._recent:
            finding = Finding(
                f"WARC-Record-ID {record_id} at offset {offset} is used by an earlier record of this file.", offset
            )
            self._reported.add(offset)
            self._recent[key] = self._recent.pop(key)  # seen again: it stays in the window longer
        else:
            self._recent[key] = offset
            if len(self._recent) > self._window:
                del self._recent[next(iter(self._recent))]
                self._beyond_window = True
        self.last_hash = id_hash(key)
        self._spool.add(self.last_hash, offset)
        self._pending.pop(key, None)
        return finding

    def add_references(self, block: HeaderBlock, record_id: str | None, record_type: str | None, offset: int) -> None:
        """Note what the record at ``offset`` refers to; a target not seen yet waits for it."""
        external_ok = (
            record_type == "revisit"
            and "warc-refers-to-target-uri" in block.fields
            and "warc-refers-to-date" in block.fields
        )
        for header, key in _REFERENCE_KEYS:
            for value in block.fields.get(key, ()):
                for target in targets(value):
                    key = norm_id(target)
                    if key in self._recent:
                        continue
                    ok = external_ok and header == "WARC-Refers-To"
                    self._pending.setdefault(key, []).append((target, record_id, header, offset, ok))
                    if len(self._pending) > self._window:
                        self._leftover.extend(self._references(self._pending.pop(next(iter(self._pending)))))
                        self._beyond_window = True

    def _references(self, pending: list[_Pending]) -> list[Reference]:
        return [Reference(target, source, header, self._path, offset, ok) for target, source, header, offset, ok in pending]

    def finish(self, software: str | None = None) -> IdsChecked:
        """At the end of the file: ids reused further apart than the window, and open references.

        ``software`` is what the file's warcinfo says wrote it (None: it does not say); open
        references of a file written by other software than cablekeep are marked ``foreign``."""
        leftover = self._leftover + [ref for refs in self._pending.values() for ref in self._references(refs)]
        if software is not None and not software.startswith(OWN_SOFTWARE):
            leftover = [replace(ref, foreign=software) for ref in leftover]
        if not self._beyond_window:
            return IdsChecked([], leftover)
        # ids further apart than the window: the file's spool decides
        with id_index(self._spool.count) as index:
            index.add(0, self._spool.pairs())
            findings = self._far_duplicates(index)
            return IdsChecked(findings, [ref for ref in leftover if id_hash(norm_id(ref.target)) not in index])

    def _far_duplicates(self, index: IdIndex | MemoryIdIndex) -> list[Finding]:
        findings: list[Finding] = []
        for _, places in index.duplicates():
            first = places[0][1]
            for _, offset in places[1:]:
                if offset not in self._reported:
                    findings.append(
                        Finding(
                            f"the WARC-Record-ID at offset {offset} is used by an earlier record of this file "
                            f"(offset {first}).",
                            offset,
                        )
                    )
        return findings


def resolve_references(
    scans: Iterable[ScannedIds], *, elsewhere: Iterable[str] = (), elsewhere_checked: bool = False
) -> list[Problem]:
    """Problems for references no scanned file resolves, and record ids used in two files.

    ``elsewhere`` yields the record ids of earlier bags this one depends on (revisits of a
    collection-deduplicated crawl point into them). With ``elsewhere_checked`` every one of those
    bags was present, so a revisit whose original is in none of them is a broken reference, not
    a warning. The ids go through a temporary index on disk (:mod:`recordids`): memory stays the
    same for a bag of any size."""
    scans = list(scans)
    if not scans:
        return []
    others = iter(elsewhere)
    first_other = next(others, None)
    if len(scans) == 1 and first_other is None:
        # one file and nothing elsewhere: its scan already checked its ids and references against
        # itself, so an index of the same ids would only say so again
        return [unresolved_problem(ref, elsewhere_checked) for ref in scans[0].unresolved]
    expected = sum(scan.ids.count for scan in scans) if first_other is None else MEMORY_IDS + 1
    with id_index(expected) as index:
        for number, scan in enumerate(scans):
            index.add(number, scan.ids.pairs())
        if first_other is not None:
            index.add(-1, ((id_hash(norm_id(record_id)), 0) for record_id in itertools.chain([first_other], others)))
        problems = _ids_in_two_files(scans, index)
        for scan in scans:
            problems += [
                unresolved_problem(ref, elsewhere_checked)
                for ref in scan.unresolved
                if id_hash(norm_id(ref.target)) not in index
            ]
    return problems


def _ids_in_two_files(scans: list[ScannedIds], index: IdIndex | MemoryIdIndex) -> list[Problem]:
    """A problem for each file using an id an earlier file used (within one file, its scan reported it)."""
    problems: list[Problem] = []
    for _, places in index.duplicates():
        files = list(dict.fromkeys(number for number, _ in places if number >= 0))
        if len(files) < 2:
            continue
        first_path = scans[files[0]].path
        first_offset = next(offset for number, offset in places if number == files[0])
        for number in files[1:]:
            offset = next(offset for n, offset in places if n == number)
            problems.append(
                Problem(
                    "warc",
                    scans[number].path,
                    f"the WARC-Record-ID at offset {offset} is also used in {first_path} (offset "
                    f"{first_offset}); record ids must be unique.",
                    offset=offset,
                )
            )
    return problems


def unresolved_problem(ref: Reference, elsewhere_checked: bool) -> Problem:
    """The problem of a reference no checked file resolves: a warning for a revisit that names its
    original by URI and date (unless the earlier bags were all checked), and for a file written by
    other software than cablekeep, whose crawl may span files not here; else a broken reference."""
    if ref.foreign is not None:
        return Problem(
            "warning",
            ref.path,
            f"{ref.header} of the record at offset {ref.offset} names {ref.target}, which no checked WARC file "
            f"holds; this file was written by {ref.foreign[:80]}, not cablekeep, and its crawl may span files "
            "that are not here, so this is not counted as an error.",
            offset=ref.offset,
            record_id=ref.source,
        )
    if ref.external_ok and not elsewhere_checked:
        return Problem(  # a bag missing the earlier bags it names says so once, as not-checked (dirsource)
            "warning",
            ref.path,
            f"the revisit at offset {ref.offset} refers to {ref.target}, which is not here; its "
            "WARC-Refers-To-Target-URI and -Date identify the original elsewhere.",
            offset=ref.offset,
            record_id=ref.source,
        )
    return Problem(
        "warc",
        ref.path,
        f"{ref.header} of the record at offset {ref.offset} names {ref.target}, which no "
        "checked WARC file holds.",
        offset=ref.offset,
        record_id=ref.source,
    )
