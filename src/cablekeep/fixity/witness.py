"""A cablekeep bag's own index as a second witness of its WARCs.

A bag made by ``cablekeep run`` holds, beside its WARCs, three files that say what the WARCs hold:
``data/index.cdxj`` (one line per capture: file, offset, URI, date, payload digest, record id),
``data/cables.jsonl`` (one line per cable page, naming its response record) and
``data/crawl-log.jsonl`` (every URL tried, naming the record of each fetch). A WARC cut cleanly at a
record boundary, with the manifests recomputed to match, passes every manifest and record check;
only these files still say what is gone. In full mode, for bags cablekeep made (bag-info.txt's
``Bag-Software-Agent``, or the first WARC's warcinfo ``software``, says cablekeep):

- every CDXJ line points at a record that starts at that file and offset, with that
  WARC-Target-URI, WARC-Date (``warc_date``, else the 14-digit timestamp), WARC-Payload-Digest and
  WARC-Record-ID;
- every captured cable of cables.jsonl (a line with ``warc_record_id``) has its record in the WARC
  it names, with the cable's URL and capture date;
- every crawl-log entry naming a ``warc_record_id`` finds it in the WARC it names, and the log
  names as many records as the index lists captures (each fetch is logged once and indexed once).

A disagreement is a problem of kind ``index`` (:meth:`Problem.index_mismatch`) naming the file and
line.

Most bags agree with their index, so the witness first compares fingerprints, and reads no WARC
again when they agree: the scan that checks each WARC (asked to when the bag has an index) folds
its captures (:class:`~cablekeep.fixity.recordids.FieldPrint`), a pool process folds the three
files the same way (:mod:`.witnessprint`), and equal folds for every WARC mean every line, cable
and log entry would pass the exact comparison.

Anything else (a sum or count apart, a line or entry the fold cannot stand for, two records at
one offset) runs the exact comparison, which names the lines. It reads each WARC a claim points
into once more, spooling what the claims compare of each record (offset, WARC-Record-ID,
WARC-Target-URI, WARC-Date, WARC-Payload-Digest: a :class:`~cablekeep.fixity.recordids.FieldSpool`,
on disk, in file order); a WARC that cannot be read again is a ``not-checked`` problem. Memory
stays bounded whatever the bag's size: the claims of the three files go to a temporary SQLite
database, and each WARC's claims, sorted by offset, are merged with its spool. A serialized bag's
scans spool as they go, since its members cannot be read again without another pass.

One case is not the same: a cable whose record id is held twice in its WARC (the scan reports the
duplicate id, so the bag is invalid either way) is judged by the fingerprint against the record
its index line points at, where the exact comparison judges the first record with that id.

Sources: :func:`check_directory_witness` for a bag directory, :func:`check_archive_witness` for a
serialized bag (one more pass over the archive, for the three files).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..bagging.layout import BAG_INFO_TXT, PAYLOAD_DIR
from ..capture.cdxj import CdxjLine, MalformedLine, iter_index, parse_line
from .recordids import FieldSpool, SpooledRecord, id_hash
from .report import Problem
from .sources import TAG_TEXT_LIMIT, open_regular
from .tagfiles import parse_bag_info, split_lines
from .warccheck import WarcScan, is_warc_name, scan_warc_stream
from .warcids import norm_id
from .witnessprint import CABLES as CABLES
from .witnessprint import CRAWL_LOG as CRAWL_LOG
from .witnessprint import INDEX as INDEX
from .witnessprint import Prints as Prints
from .witnessprint import fold_index as fold_index
from .witnessprint import fold_log as fold_log

WITNESS_FILES = (INDEX, CABLES, CRAWL_LOG)

_SOFTWARE_RE = re.compile(rb"(?mi)^software:[ \t]*cablekeep")
_INSERT_BATCH = 5000

# which file a claim comes from (the ``src`` column)
_SOURCES = (INDEX, CABLES, CRAWL_LOG)


def made_by_cablekeep(bag_info: bytes | None, first_warc_head: bytes | None) -> bool:
    """True when bag-info.txt's Bag-Software-Agent, or the warcinfo at the start of the first WARC
    (``first_warc_head``: its first bytes, gzipped or not), says cablekeep."""
    if bag_info is not None:
        elements, _ = parse_bag_info(split_lines(bag_info.decode("utf-8", "replace")))
        for label, value in elements:
            if label.lower() == "bag-software-agent" and value.lower().startswith("cablekeep"):
                return True
    if first_warc_head:
        head = _inflate_some(first_warc_head) if first_warc_head[:2] == b"\x1f\x8b" else first_warc_head
        return _SOFTWARE_RE.search(head) is not None
    return False


def _inflate_some(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(31).decompress(data, 1 << 16)
    except zlib.error:
        return b""


# --------------------------------------------------------------------------- the claims


@dataclass(frozen=True)
class _Claim:
    """A record a line says is at ``offset`` of ``file``: what it must be."""

    file: str
    offset: int
    src: int
    line: int
    uri: str | None
    date: str | None
    timestamp: str | None
    digest: str | None
    record_id: str | None


class Witness:
    """The claims of a bag's three files, checked against its WARCs (see the module docstring).

    Feed it :meth:`add_ids` (each scanned WARC's record ids), then :meth:`read_index`,
    :meth:`read_cables` and :meth:`read_crawl_log` (each file's text stream), then
    :meth:`check_warc` for each WARC named (its bytes at offsets), then :meth:`finish`.
    """

    def __init__(self, warc_paths: Iterable[str]) -> None:
        self.problems: list[Problem] = []
        self._by_name: dict[str, str] = {}
        for rel in sorted(warc_paths, key=lambda r: (r.count("/"), r)):
            self._by_name.setdefault(rel.rpartition("/")[2], rel)
        self._dir = tempfile.mkdtemp(prefix="cablekeep-witness-")
        self.db = sqlite3.connect(Path(self._dir) / "claims.sqlite")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.index_lines = 0
        self.logged_records = 0
        self.db.execute("CREATE TABLE recs (file TEXT NOT NULL, hash INTEGER NOT NULL, offset INTEGER NOT NULL)")
        self.db.execute(
            "CREATE TABLE claims (file TEXT NOT NULL, offset INTEGER NOT NULL, src INTEGER NOT NULL, "
            "line INTEGER NOT NULL, uri TEXT, date TEXT, timestamp TEXT, digest TEXT, record_id TEXT)"
        )
        self.db.execute(
            "CREATE TABLE named (src INTEGER NOT NULL, line INTEGER NOT NULL, file TEXT NOT NULL, "
            "hash INTEGER NOT NULL, record_id TEXT NOT NULL, uri TEXT, date TEXT)"
        )

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def read_files(self, root: Path) -> None:
        """data/index.cdxj, data/cables.jsonl and data/crawl-log.jsonl of the bag directory ``root``
        (the last two when present: regular files, not links)."""
        self.read_index(root / INDEX)
        for rel, read in ((CABLES, self.read_cables), (CRAWL_LOG, self.read_crawl_log)):
            if os.path.isfile(root / rel) and not os.path.islink(root / rel):
                with open(root / rel, encoding="utf-8", errors="replace", newline="\n") as handle:
                    read(handle)

    def __enter__(self) -> Witness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- feeding

    def add_ids(self, path: str, pairs: Iterable[tuple[int, int]]) -> None:
        """The (id hash, offset) of every record of the scanned WARC at bag path ``path``."""
        self.db.executemany("INSERT INTO recs (file, hash, offset) VALUES (?, ?, ?)",
                            ((path, hashed, offset) for hashed, offset in pairs))

    def warc_of(self, src: int, line: int, name: object) -> str | None:
        """The bag path of the WARC a line names (by file name), or None with a problem."""
        rel = self._by_name.get(name) if isinstance(name, str) else None
        if rel is None:
            self.problem(src, line, f"names the WARC file {name!r}, which is not in the bag's payload.")
        return rel

    def problem(self, src: int, line: int | None, detail: str, *, offset: int | None = None,
                record_id: str | None = None, expected: str | None = None, found: str | None = None) -> None:
        self.problems.append(Problem.index_mismatch(_SOURCES[src], line, detail, offset=offset, record_id=record_id,
                                                    expected=expected, found=found))

    def read_index(self, path: Path | None = None, *, lines: Iterable[str] | None = None) -> None:
        """data/index.cdxj: one claim per capture, read from ``path`` (or ``lines``)."""
        malformed: list[MalformedLine] = []
        if path is not None:
            captures = iter_index(path, on_malformed=malformed.append)
        else:
            captures = _iter_index_lines(lines or (), malformed.append)
        batch: list[tuple[object, ...]] = []
        for capture in captures:
            self.index_lines += 1
            rel = self.warc_of(0, capture.line_number, capture.filename)
            if rel is None:
                continue
            if capture.offset is None:
                self.problem(0, capture.line_number, "has no offset, so its record cannot be found.")
                continue
            batch.append((rel, capture.offset, 0, capture.line_number, capture.url, capture.warc_date,
                          capture.timestamp, capture.digest, capture.record_id))
            if len(batch) >= _INSERT_BATCH:
                self._claims(batch)
                batch = []
        self._claims(batch)
        for bad in malformed:  # reported, and not counted as a capture
            self.problem(0, bad.line_number, f"cannot be read ({bad.reason}).")

    def _claims(self, rows: list[tuple[object, ...]]) -> None:
        self.db.executemany("INSERT INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def read_cables(self, lines: Iterable[str]) -> None:
        """data/cables.jsonl: each captured cable names its response record."""
        self._read_named(1, lines, uri_key="url", date_key="captured")

    def read_crawl_log(self, lines: Iterable[str]) -> None:
        """data/crawl-log.jsonl: each fetch that wrote records names its response record."""
        self._read_named(2, lines, uri_key=None, date_key=None)

    def _read_named(self, src: int, lines: Iterable[str], *, uri_key: str | None, date_key: str | None) -> None:
        batch: list[tuple[object, ...]] = []
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
            except ValueError as exc:
                self.problem(src, number, f"is not JSON ({exc}).")
                continue
            if not isinstance(entry, dict) or entry.get("warc_record_id") is None:
                continue  # a fetch that wrote no record (robots, out of scope), or a cable not captured
            # the response record, and in the crawl log the records a browser capture adds to it
            # (screenshot_record_id, rendered_dom_record_id): each one indexed, each one named here
            fields = ["warc_record_id"] + ([k for k in entry if k.endswith("_record_id") and k != "warc_record_id"]
                                           if src == 2 else [])
            rel = None
            for field in fields:
                record_id = entry[field]
                if record_id is None:
                    continue
                if not isinstance(record_id, str):
                    self.problem(src, number, f"has {field} {record_id!r}, which is not a record id.")
                    continue
                if src == 2:
                    self.logged_records += 1
                if rel is None:
                    rel = self.warc_of(src, number, entry.get("warc_filename"))
                    if rel is None:
                        break
                first = field == "warc_record_id"
                uri = entry.get(uri_key) if uri_key and first else None
                date = entry.get(date_key) if date_key and first else None
                batch.append((src, number, rel, id_hash(norm_id(record_id)), record_id,
                              uri if isinstance(uri, str) else None, date if isinstance(date, str) else None))
            if len(batch) >= _INSERT_BATCH:
                self.db.executemany("INSERT INTO named VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch = []
        self.db.executemany("INSERT INTO named VALUES (?, ?, ?, ?, ?, ?, ?)", batch)

    # -- resolving

    def resolve_named(self) -> None:
        """Each record cables.jsonl or the crawl log names: found in its WARC by id (its offset
        then checked like an index line), or a problem."""
        self.db.execute("CREATE INDEX recs_file_hash ON recs (file, hash)")
        cursor = self.db.execute(
            "SELECT n.src, n.line, n.file, n.record_id, n.uri, n.date, "
            "(SELECT MIN(r.offset) FROM recs r WHERE r.file = n.file AND r.hash = n.hash) "
            "FROM named n ORDER BY n.src, n.line"
        )
        batch: list[tuple[object, ...]] = []
        for src, line, rel, record_id, uri, date, offset in cursor:
            if offset is None:
                self.problem(src, line, f"names record {record_id} in {rel}, which holds no such record.",
                             record_id=record_id)
                continue
            if src == 1:  # a cable's record is read back for its URL and date; a log entry claims only the id
                batch.append((rel, offset, src, line, uri, date, None, None, record_id))
        self._claims(batch)
        if self.logged_records != self.index_lines:
            self.problem(
                2, None,
                f"the crawl log names {self.logged_records} records written but index.cdxj lists "
                f"{self.index_lines} captures; each fetch that wrote records is logged once and indexed once.",
                expected=str(self.index_lines), found=str(self.logged_records),
            )

    def files_to_read(self) -> list[str]:
        """The WARCs (bag paths) some claim points into, in order."""
        return [row[0] for row in self.db.execute("SELECT DISTINCT file FROM claims ORDER BY file")]

    def claims_of(self, rel: str) -> Iterator[_Claim]:
        """The claims about the WARC at ``rel``, in offset order."""
        cursor = self.db.execute(
            "SELECT offset, src, line, uri, date, timestamp, digest, record_id FROM claims WHERE file = ? "
            "ORDER BY offset, src, line", (rel,)
        )
        for offset, src, line, uri, date, timestamp, digest, record_id in cursor:
            yield _Claim(rel, offset, src, line, uri, date, timestamp, digest, record_id)

    def check_warc(self, rel: str, spool: FieldSpool | None) -> None:
        """Check every claim about the WARC at ``rel`` against what its scan spooled of each record
        (``spool``, in file order): one merge of two streams sorted by offset, no read of the WARC."""
        if spool is None:  # cannot happen through BagCheck; said rather than passed silently
            self.problems.append(Problem.not_checked(
                INDEX, f"the records of {rel} were not spooled by its scan, so no line pointing into it was "
                "checked; verify the bag again."))
            return
        records = spool.records()
        before: SpooledRecord | None = None
        current = next(records, None)
        for claim in self.claims_of(rel):
            while current is not None and current.offset < claim.offset:
                before, current = current, next(records, None)
            found: SpooledRecord | str
            if current is not None and current.offset == claim.offset:
                found = current
            elif claim.offset >= spool.size:
                found = f"the file ends ({spool.size} bytes): there is no record there."
            else:
                around = [str(r.offset) for r in (before, current) if r is not None]
                found = ("no WARC record starts" +
                         (f" (the nearest records start at offset {' and '.join(around)})." if around else "."))
            self.judge(claim, found)
        records.close()

    def judge(self, claim: _Claim, found: SpooledRecord | str) -> None:
        where = f"{claim.file} offset {claim.offset}"
        if isinstance(found, str):
            self.problem(claim.src, claim.line, f"points at {where}, where {found}", offset=claim.offset,
                         record_id=claim.record_id)
            return
        checks: list[tuple[str, str | None, str | None]] = []
        if claim.record_id is not None:
            checks.append(("WARC-Record-ID", norm_id(claim.record_id), _norm_opt(found.record_id)))
        if claim.uri is not None:
            target = found.target_uri
            if target is not None and target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            checks.append(("WARC-Target-URI", claim.uri, target))
        if claim.date is not None:
            checks.append(("WARC-Date", claim.date, found.date))
        elif claim.timestamp is not None:
            digits = re.sub(r"\D", "", found.date)[:14] if found.date else None
            checks.append(("WARC-Date", claim.timestamp, digits[: len(claim.timestamp)] if digits else None))
        if claim.digest is not None:
            checks.append(("WARC-Payload-Digest", claim.digest, found.payload_digest))
        for field, expected, got in checks:
            if expected != got:
                shown = "none" if got is None else repr(got)
                self.problem(
                    claim.src, claim.line,
                    f"points at the record at {where}, whose {field} is {shown}, not {expected!r}.",
                    offset=claim.offset, record_id=claim.record_id, expected=expected, found=got,
                )


def _norm_opt(value: str | None) -> str | None:
    return None if value is None else norm_id(value)


def _iter_index_lines(lines: Iterable[str], on_malformed: Callable[[MalformedLine], None]) -> Iterator[CdxjLine]:
    for number, text in enumerate(lines, 1):
        parsed = parse_line(text.rstrip("\r\n"), number)
        if isinstance(parsed, str):
            on_malformed(MalformedLine(Path(INDEX), number, parsed))
        else:
            yield parsed


# --------------------------------------------------------------------------- sources


def has_witness_index(root: Path) -> bool:
    """The bag directory ``root`` holds a data/index.cdxj (a regular file, not a link) to witness its WARCs."""
    index = root / INDEX
    return os.path.isfile(index) and not os.path.islink(index)


def _says_cablekeep(scans: Sequence[WarcScan]) -> bool:
    """The first WARC's first warcinfo (as its scan read it) names cablekeep as its ``software``."""
    first = min(scans, key=lambda scan: scan.path)
    return first.software is not None and first.software.lower().startswith("cablekeep")


@dataclass
class ReadClaims:
    """A fold of a bag directory's files made in a pool process while its WARCs are hashed
    (:func:`read_claims`, :func:`read_index_claims`), with what the check needs beside it."""

    prints: Prints
    warc_paths: list[str] = field(default_factory=list)  # sorted: the WARCs under data/ the log was read beside


def read_claims(root: str) -> ReadClaims:
    """Fold the crawl log of the bag directory ``root`` (:func:`fold_log`), beside the list of WARC
    files under its data/ (regular files, links not followed); runs in a pool process while the
    WARCs are hashed. The check uses it only when those are the WARCs that were scanned."""
    return ReadClaims(fold_log(Path(root)), sorted(_payload_warcs(root)))


def read_index_claims(root: str) -> ReadClaims:
    """Fold the index and cable list of the bag directory ``root`` (:func:`fold_index`); runs in a
    pool process, beside :func:`read_claims` in another."""
    return ReadClaims(fold_index(Path(root)))


def _payload_warcs(root: str) -> Iterator[str]:
    for folder, dirs, files in os.walk(os.path.join(root, PAYLOAD_DIR)):
        rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        for name in files:
            if is_warc_name(name) and not os.path.islink(os.path.join(folder, name)):
                yield f"{rel_folder}/{name}"


def check_directory_witness(root: Path, scans: Sequence[WarcScan], read: ReadClaims | None = None,
                            index: ReadClaims | None = None) -> list[Problem]:
    """The witness of the bag directory ``root`` whose WARCs ``scans`` were all scanned (with
    ``witness=True``, see :func:`~cablekeep.fixity.warccheck.scan_warc_stream`). ``read``: its
    crawl log already folded by :func:`read_claims` for the same WARC paths; ``index``: its index
    and cables already folded by :func:`read_index_claims`. When the folds agree with the scans'
    fingerprints no WARC is read again; otherwise the three files are read again and compared
    exactly, line by line, with each WARC a line points into, to name each disagreement.

    Nothing (an empty list) for a bag cablekeep did not make or that holds no ``data/index.cdxj``.
    """
    if not scans or not has_witness_index(root) or not (
        made_by_cablekeep(_read_capped(root / BAG_INFO_TXT), None) or _says_cablekeep(scans)
    ):  # no WARC (`cablekeep bag` of any folder also says cablekeep): no capture to witness
        return []
    if read is not None and read.warc_paths != sorted(scan.path for scan in scans):
        read = None  # read against other WARCs than were scanned (one was not listed, or is a link)
    prints = (index.prints if index is not None else fold_index(root)).merge(
        read.prints if read is not None else fold_log(root))
    if prints.agrees(scans):
        return []
    with Witness(scan.path for scan in scans) as witness:
        for scan in scans:
            witness.add_ids(scan.path, scan.ids.pairs())
        witness.read_files(root)
        witness.resolve_named()
        _check_warcs(witness, scans, lambda rel: _spool_again(root, rel))
        return witness.problems


def _check_warcs(witness: Witness, scans: Sequence[WarcScan],
                 read_again: Callable[[str], FieldSpool | Problem] | None = None) -> None:
    """Every claim checked against the fields of the records of the WARC it points into: the
    scan's spool, or (when the scan only folded them) the WARC read once more by ``read_again``."""
    prints = {scan.path: scan.fields for scan in scans}
    for rel in witness.files_to_read():
        fields = prints.get(rel)
        if isinstance(fields, FieldSpool) or read_again is None:
            witness.check_warc(rel, fields if isinstance(fields, FieldSpool) else None)
            continue
        again = read_again(rel)
        if isinstance(again, Problem):
            witness.problems.append(again)
            continue
        try:
            witness.check_warc(rel, again)
        finally:
            again.discard()


def _spool_again(root: Path, rel: str) -> FieldSpool | Problem:
    """The fields of every record of the WARC at ``rel``, read again (the fingerprints disagreed:
    the exact comparison names the lines), or why they could not be."""
    try:
        fd = open_regular(str(root / rel))
    except OSError as exc:
        return _not_read_again(rel, exc)
    try:
        with os.fdopen(fd, "rb") as stream:
            scan = scan_warc_stream(stream, name=rel, display_path=rel, witness=True, spool_fields=True)
    except OSError as exc:
        return _not_read_again(rel, exc)
    scan.ids.discard()
    assert isinstance(scan.fields, FieldSpool)
    return scan.fields


def _not_read_again(rel: str, exc: OSError) -> Problem:
    return Problem.not_checked(
        INDEX, f"the index disagrees with the WARCs, and {rel} could not be read again to name the lines that "
        f"point into it ({exc.strerror or exc}); verify the bag again.")


def _read_capped(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(TAG_TEXT_LIMIT)
    except OSError:
        return None


def check_archive_witness(members: Callable[[], Iterator[tuple[str, IO[bytes], int]]], scans: Sequence[WarcScan],
                          bag_info: bytes | None) -> list[Problem]:
    """The witness of a serialized bag: ``members()`` streams its regular files once more as (bag
    path, stream, size); every WARC in ``scans`` was scanned with ``witness=True``. The archive is
    read once more, for the three files, and only for a bag cablekeep made."""
    if not scans or not (made_by_cablekeep(bag_info, None) or _says_cablekeep(scans)):
        return []
    with Witness(scan.path for scan in scans) as witness:
        has_index = False
        for scan in scans:
            witness.add_ids(scan.path, scan.ids.pairs())
        for rel, stream, _size in members():
            if rel == INDEX:
                has_index = True
                witness.read_index(lines=_text_lines(stream))
            elif rel == CABLES:
                witness.read_cables(_text_lines(stream))
            elif rel == CRAWL_LOG:
                witness.read_crawl_log(_text_lines(stream))
        if not has_index:
            return []
        witness.resolve_named()
        _check_warcs(witness, scans)
        return witness.problems


def _text_lines(stream: IO[bytes]) -> Iterator[str]:
    for raw in stream:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")
