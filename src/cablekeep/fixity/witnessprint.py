"""The fingerprint of a cablekeep bag's index, cable list and crawl log (:mod:`.witness`'s quick comparison).

:func:`fold_index` folds ``data/index.cdxj`` as the scan folds each WARC's captures
(:class:`~cablekeep.fixity.recordids.FieldPrint`): per WARC, the sum modulo 2**128 of a 128-bit
hash of each line's offset, URL, date, payload digest and record id, and a count. It reads
``data/cables.jsonl`` first and looks each captured cable up among the lines (its record id, and
its WARC name, URL and date). :func:`fold_log` sums, per WARC, the ids of the records the crawl
log names, as the scan sums its printed records' ids. :meth:`Prints.agrees` compares the folds
with the scans: equal for every WARC means every line, cable and log entry would pass the exact
comparison (a wrong match has a chance of about 2**-64 or less). The crawler's own lines are read
by one regular expression over a block of lines; any other line by the full parse, as the exact
comparison reads it. Anything the fold cannot stand for sets :attr:`Prints.inexact`, and the
exact comparison runs. Memory stays flat in the number of lines (the cables' keys aside, up to
:data:`CABLES_IN_MEMORY`).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..bagging.layout import PAYLOAD_DIR
from ..capture.cdxj import parse_line
from .recordids import NO_VALUE, PRINT_MODULUS, FieldPrint, id_hash, norm_id
from .warccheck import WarcScan

INDEX = f"{PAYLOAD_DIR}/index.cdxj"
CABLES = f"{PAYLOAD_DIR}/cables.jsonl"
CRAWL_LOG = f"{PAYLOAD_DIR}/crawl-log.jsonl"

CABLES_IN_MEMORY = 1_000_000  # cables looked up in memory (17 bytes each, sorted); a bag with more is compared exactly
_NAMES_MAX = 10_000  # WARC names the fingerprint keeps apart; a bag whose files give more is compared exactly

# An index line as the crawler writes it (capture.recorder.index_fields through cdxj.format_line,
# json.dumps): printable ASCII with no backslash (so no escape: each value is its own text), the
# fields in this order, an offset without leading zeros. Any other line is read by
# cdxj.parse_line, as the exact comparison reads it. Groups: url, digest, offset, filename,
# warc_date, record_id, each as written.
_VALUE = rb'([ !#-\[\]-~]*)'
_CRAWLER_LINE = (
    rb'[!-~]+ [0-9]{1,14} \{"url": "' + _VALUE + rb'", "mime": "[ !#-\[\]-~]*", "status": "(?:[0-9]+|-)", '
    rb'"digest": "' + _VALUE + rb'", "length": "(?:[0-9]+|-)", "offset": "(0|[1-9][0-9]*)", "filename": "'
    + _VALUE + rb'", "warc_date": "' + _VALUE + rb'", "record_id": "' + _VALUE + rb'"\}\n'
)
_CRAWLER_LINES = re.compile(rb'(?m)^' + _CRAWLER_LINE)  # every such line of a block, by one findall
_ONE_CRAWLER_LINE = re.compile(_CRAWLER_LINE)

# A crawl-log line as the crawler writes it (capture.recorder.log, json.dumps): its keys in its
# order, printable ASCII texts with no backslash, whole numbers and nulls where it writes them, so
# valid JSON with no key twice; a fetch that wrote a record ends with its WARC's name and its
# record's id. Groups: the record's marker (empty when the line names no record), WARC name,
# record id. Any other line (a browser capture's added records, a null id) is read by the JSON
# parser, as the exact comparison reads it.
_TEXT = rb'"[ !#-\[\]-~]*"'
_WHOLE = rb'-?(?:0|[1-9][0-9]*)'
_CRAWLER_LOG_LINES = re.compile(
    rb'(?m)^\{"url": ' + _TEXT + rb', "outcome": ' + _TEXT + rb', "status": (?:' + _WHOLE + rb'|null), "reason": '
    + _TEXT + rb', "bytes": ' + _WHOLE + rb', "time": ' + _TEXT + rb', "depth": ' + _WHOLE + rb', "hop": ' + _TEXT
    + rb', "via": (?:' + _TEXT + rb'|null)(?:, "attempts": ' + _WHOLE + rb')?(?:, "location": ' + _TEXT
    + rb')?(?:, "warning": ' + _TEXT + rb')?(?:(, "warc_filename": )"([ !#-\[\]-~]*)", "warc_record_id": '
    rb'"([ !#-\[\]-~]*)")?\}\n'
)
_BLOCK = 1 << 20  # bytes of a line file read at a time (whole lines)

# A captured cable is looked up among the index lines by Python's own hash of its record id, and
# checked by the hash of its (WARC name, URL, date): SipHash, keyed afresh in each process, and
# :func:`fold_index` reads both files in one process, so the keys agree; a wrong match has a
# chance of about 2**-64, and cannot be aimed at without the key. The crawl log's records are
# compared with the WARCs' by recordids.id_hash (blake2b), the same in every process: the log is
# folded in another process than the index, and the records' ids in the scans'.


def _cable_check(name: bytes, uri: bytes, date: bytes) -> int:
    """The hash of the WARC name, URL and date a captured cable claims of its record."""
    return hash((name, uri, date))


def _utf8(value: str) -> bytes:
    """A claimed text as the spool keeps the record's (a text with a lone surrogate has no such form)."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Inexact("a text holds a lone surrogate") from None


class _Inexact(Exception):
    """The three files hold something the fingerprint cannot stand for: the exact comparison runs."""


@dataclass
class Prints:
    """The three files of a bag folded (:func:`fold_index`, :func:`fold_log`): what the WARCs' scans must match."""

    lines: dict[str, list[int]] = field(default_factory=dict)  # by WARC name as written: [sum, count] of lines
    logged: dict[str, list[int]] = field(default_factory=dict)  # by WARC name: [sum of id_hash, count] of log records
    indexed: int = 0
    names: set[str] = field(default_factory=set)  # every WARC name a line, cable or entry gives
    inexact: str | None = None  # why the exact comparison must run, if it must

    def name(self, raw: bytes) -> bytes:
        text = raw.decode("utf-8", "surrogateescape")
        if text not in self.names:
            if len(self.names) >= _NAMES_MAX:
                raise _Inexact(f"the files name more than {_NAMES_MAX} WARCs")
            self.names.add(text)
        return raw

    def merge(self, log: Prints) -> Prints:
        """These folds of the index and cables with ``log``'s of the crawl log (:func:`fold_log`)."""
        self.logged = log.logged
        self.inexact = self.inexact or log.inexact
        try:
            for name in log.names:
                self.name(name.encode("utf-8", "surrogateescape"))
        except _Inexact as exc:
            self.inexact = self.inexact or str(exc)
        return self

    def agrees(self, scans: Sequence[WarcScan]) -> bool:
        """Every WARC's records are the index's lines, and the records the log names in it its
        records of the types the index lists (so the log's records are the index's)."""
        if self.inexact is not None:
            return False
        by_name: dict[str, FieldPrint] = {}
        for scan in scans:
            name = scan.path.rpartition("/")[2]
            if scan.problems or scan.fields is None or not scan.fields.printable or name in by_name:
                return False  # a damaged WARC, or two WARCs of one name: the exact comparison says what
            by_name[name] = scan.fields
        if not self.names <= by_name.keys():
            return False
        for name, spool in by_name.items():
            if tuple(self.lines.get(name, (0, 0))) != spool.fold():
                return False
            if tuple(self.logged.get(name, (0, 0))) != (spool.id_sum, spool.printed):
                return False
        return True


def read_prints(root: Path) -> Prints:
    """Fold data/index.cdxj, data/cables.jsonl and data/crawl-log.jsonl of the bag directory
    ``root`` (see the module docstring): :func:`fold_index`, merged with :func:`fold_log`."""
    return fold_index(root).merge(fold_log(root))


def fold_index(root: Path) -> Prints:
    """Fold data/cables.jsonl and data/index.cdxj of the bag directory ``root``: one pass over
    each, memory flat in the number of lines (the cables' keys aside). Stops at the first thing it
    cannot fold, saying why in ``inexact``."""
    prints = Prints()
    try:
        cables = _cable_keys(root / CABLES, prints)
        _fold_index(root / INDEX, prints, cables)
        if len(cables) and not all(cables.found):
            raise _Inexact("a captured cable is not among the index lines")
    except _Inexact as exc:
        prints.inexact = str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        prints.inexact = f"reading failed ({exc})"
    return prints


def fold_log(root: Path) -> Prints:
    """Fold data/crawl-log.jsonl of the bag directory ``root``: the records it names, by WARC
    (``logged``), for :meth:`Prints.merge`."""
    prints = Prints()
    try:
        _fold_log(root / CRAWL_LOG, prints)
    except _Inexact as exc:
        prints.inexact = str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        prints.inexact = f"reading failed ({exc})"
    return prints


class _CableKeys:
    """The captured cables, by the hash of their record id and of their (WARC name, URL, date),
    sorted; and which an index line was found for. ``maybe`` holds a flag per value of the key's
    low bits, so that most lines are told apart from every cable without a search."""

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        pairs.sort()
        self.keys = array("q", (key for key, _ in pairs))
        self.checks = array("q", (check for _, check in pairs))
        self.found = bytearray(len(pairs))
        self.mask = (1 << (8 * len(pairs)).bit_length()) - 1
        self.maybe = bytearray(self.mask + 1)
        for key in self.keys:
            self.maybe[key & self.mask] = 1

    def __len__(self) -> int:
        return len(self.keys)

    def see(self, key: int, name: bytes, uri: bytes, date: bytes) -> None:
        """An index line of the WARC ``name`` whose id hashes to ``key`` and which claims ``uri`` and ``date``."""
        if not self.maybe[key & self.mask]:
            return
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            check = _cable_check(name, uri, date)
            while at < len(self.keys) and self.keys[at] == key:
                if self.checks[at] == check:
                    self.found[at] = 1
                at += 1


def _regular(path: Path) -> bool:
    return os.path.isfile(path) and not os.path.islink(path)


def _blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks of whole lines, each ending with a line feed (one is added at the end of
    a file that lacks it)."""
    with open(path, "rb") as handle:
        carry = b""
        while block := handle.read(_BLOCK):
            cut = block.rfind(b"\n") + 1
            if cut:
                yield carry + block[:cut]
                carry = block[cut:]
            else:
                carry += block
        if carry:
            yield carry + b"\n"


def _file_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The lines of a text file (UTF-8, errors replaced, as the exact comparison reads it) without
    their line feeds, numbered from 1."""
    number = 0
    for block in _blocks(path):
        for text in block.decode("utf-8", "replace").split("\n")[:-1]:
            number += 1
            yield number, text


# one JSON value from an offset, in C (json.loads adds Python around it); typeshed does not declare it
_scan_json: Callable[[str, int], tuple[object, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    """The entries of a JSON-lines file that name a ``warc_record_id``, with their line numbers."""
    if not _regular(path):
        return
    for number, text in _file_lines(path):
        entry = _json_entry(text, number, path)
        if entry is not None:
            yield number, entry


def _json_entry(text: str, number: int, path: Path) -> dict[str, object] | None:
    """Line ``number`` of a JSON-lines file (read as the exact comparison reads it: blank lines
    skipped) if it names a ``warc_record_id``; a line that is not JSON: :class:`_Inexact`."""
    if not text or text.isspace():
        return None
    try:
        entry, end = _scan_json(text, 0)
        if end != len(text):
            raise ValueError("more after the value")
    except (StopIteration, ValueError):  # a space around the value, or not JSON: as the exact comparison reads it
        try:
            entry = json.loads(text)
        except ValueError:
            raise _Inexact(f"line {number} of {path.name} is not JSON") from None
    if isinstance(entry, dict) and entry.get("warc_record_id") is not None:
        return entry
    return None


def _text_field(entry: dict[str, object], key: str, number: int) -> bytes:
    value = entry.get(key)
    if not isinstance(value, str):
        raise _Inexact(f"line {number} has a {key} that is not a text")
    return _utf8(value)


def _cable_keys(path: Path, prints: Prints) -> _CableKeys:
    pairs: list[tuple[int, int]] = []
    for number, entry in _json_lines(path):
        if len(pairs) >= CABLES_IN_MEMORY:
            raise _Inexact(f"more than {CABLES_IN_MEMORY} captured cables")
        name = prints.name(_text_field(entry, "warc_filename", number))
        record_id = _text_field(entry, "warc_record_id", number)
        pairs.append((hash(record_id), _cable_check(name, _text_field(entry, "url", number),
                                                    _text_field(entry, "captured", number))))
    return _CableKeys(pairs)


_IndexFields = tuple[bytes, bytes, bytes, bytes, bytes, bytes]  # url, digest, offset, filename, warc_date, bare id


def _fold_index(path: Path, prints: Prints, cables: _CableKeys) -> None:
    """Each line of the index folded: a block of the crawler's lines by one ``findall``, a block
    holding any other line line by line (:func:`_line_fields`)."""
    lines: dict[bytes, list[int]] = {}
    indexed = 0
    maybe, mask = cables.maybe, cables.mask
    see = cables.see
    findall = _CRAWLER_LINES.findall
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes
    for block in _blocks(path):
        found: list[_IndexFields] = findall(block)
        if len(found) != block.count(b"\n"):
            found = [_line_fields(raw + b"\n", indexed + n) for n, raw in enumerate(block.split(b"\n")[:-1], 1)]
        for uri, digest, offset, name, date, record_id in found:
            tally = lines.get(name)
            if tally is None:
                tally = lines[prints.name(name)] = [0, 0]
            tally[0] += from_bytes(blake2b(b"%s\n%s\n%s\n%s\n%s" % (offset, uri, date, digest, record_id),
                                           digest_size=16).digest(), "big")
            tally[1] += 1
            id_key = hash(record_id)
            if maybe[id_key & mask] and uri != b"-":  # a line without a URL vouches for no cable's URL
                see(id_key, name, uri, date)
        indexed += len(found)
    for name, (total, count) in lines.items():
        prints.lines[name.decode("utf-8", "surrogateescape")] = [total % PRINT_MODULUS, count]
    prints.indexed = indexed


def _line_fields(raw: bytes, number: int) -> _IndexFields:
    """What line ``number`` of the index folds as: the crawler's form by its expression, any other
    by the full parse (:class:`_Inexact` when it lacks a field the fingerprint needs)."""
    found = _ONE_CRAWLER_LINE.fullmatch(raw)
    if found is not None:
        return found.groups()  # type: ignore[return-value]  # six groups, each matched
    parsed = parse_line(raw.decode("utf-8").rstrip("\n"), number)
    if isinstance(parsed, str):
        raise _Inexact(f"line {number} of index.cdxj cannot be read")
    if parsed.filename is None or parsed.offset is None or parsed.warc_date is None or parsed.record_id is None:
        raise _Inexact(f"line {number} of index.cdxj lacks a field the fingerprint needs")
    uri, digest, name, date, record_id = (NO_VALUE.encode() if t is None else _utf8(t) for t in
                                          (parsed.url, parsed.digest, parsed.filename, parsed.warc_date,
                                           parsed.record_id))
    if any(b"\n" in value for value in (uri, digest, name, date, record_id)):
        raise _Inexact(f"line {number} of index.cdxj holds a line feed in a value")
    return uri, digest, b"%d" % parsed.offset, name, date, record_id


def _fold_log(path: Path, prints: Prints) -> None:
    """The records the crawl log names, as the sum and count of their ids' ``id_hash`` by WARC
    name: a block of the crawler's lines by one ``findall``, a block holding any other line by the
    JSON parser, line by line."""
    if not _regular(path):
        return
    number = 0
    findall = _CRAWLER_LOG_LINES.findall
    logged = prints.logged
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes
    for block in _blocks(path):
        lines = block.count(b"\n")
        found: list[tuple[bytes, bytes, bytes]] = findall(block)
        if len(found) == lines:
            last, tally = None, [0, 0]
            for marker, name, record_id in found:
                if not marker:
                    continue
                if name != last:
                    last = prints.name(name)
                    tally = logged.setdefault(name.decode("utf-8", "surrogateescape"), [0, 0])
                if (len(record_id) > 2 and record_id[0] == 0x3C and record_id[-1] == 0x3E
                        and record_id[1] != 0x20 and record_id[-2] != 0x20):  # "<urn:...>": _raw_id_hash, inline
                    tally[0] += from_bytes(blake2b(record_id[1:-1], digest_size=8).digest(), "big", signed=True)
                else:
                    tally[0] += _raw_id_hash(record_id)
                tally[1] += 1
        else:
            for at, text in enumerate(block.decode("utf-8", "replace").split("\n")[:-1], number + 1):
                entry = _json_entry(text, at, path)
                if entry is not None:
                    _log_entry(entry, at, prints)
        number += lines


def _raw_id_hash(raw: bytes) -> int:
    """:func:`~.recordids.id_hash` of the normalised record id the text ``raw`` holds (UTF-8)."""
    if len(raw) > 2 and raw[0] == 0x3C and raw[-1] == 0x3E and 0x20 < raw[1] < 0x7F and 0x20 < raw[-2] < 0x7F:
        return int.from_bytes(hashlib.blake2b(raw[1:-1], digest_size=8).digest(), "big", signed=True)
    return id_hash(norm_id(raw.decode("utf-8", "surrogateescape")))


def _log_entry(entry: dict[str, object], number: int, prints: Prints) -> None:
    """The records a log entry names (its ``warc_record_id`` and any other ``*_record_id``), folded."""
    keys = ["warc_record_id"] + [k for k in entry if k.endswith("_record_id") and k != "warc_record_id"]
    name: bytes | None = None
    tally = [0, 0]
    for key in keys:
        if entry[key] is None:
            continue
        record_id = _text_field(entry, key, number)
        if name is None:
            name = prints.name(_text_field(entry, "warc_filename", number))
            tally = prints.logged.setdefault(name.decode("utf-8", "surrogateescape"), [0, 0])
        tally[0] += _raw_id_hash(record_id)
        tally[1] += 1
