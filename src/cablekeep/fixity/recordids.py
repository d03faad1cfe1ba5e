"""WARC-Record-IDs of whole bags, checked in bounded memory.

A bag of 100,000 fetches holds 200,000 record ids; a library's audit, billions. Checking that
each id is unique and that every WARC-Concurrent-To / WARC-Refers-To names a record that exists
must not hold them all in memory. So each id is kept as an 8-byte hash of its text (blake2b):

- :class:`IdSpool` appends (hash, offset) pairs of one WARC file to a temporary file while the
  file is scanned, 16 bytes a record on disk and none in memory; it can be pickled to another
  process (a verify worker hands it to the coordinator), and the file is removed with the last
  owner of the spool.
- :class:`FieldPrint` folds, for a bag whose own index will witness its WARCs
  (:mod:`cablekeep.fixity.witness`), what that index claims of each record of a type the crawler
  indexes (its offset, WARC-Target-URI, WARC-Date, WARC-Payload-Digest and WARC-Record-ID) into an
  order-independent fingerprint (:func:`capture_print`, summed modulo 2**128, and counted): a few
  numbers per WARC, whatever its size, which the witness compares with the same fold of the
  index's lines. :class:`FieldSpool` also keeps those fields of every record, in file order, in a
  temporary file (about 150 bytes a record): what the exact, line-by-line comparison reads when
  the fingerprints disagree; pickled like an IdSpool.
- :class:`IdIndex` loads spools into a temporary SQLite database and answers which hashes occur
  twice and whether a hash exists.

Two different ids share a 64-bit hash with a probability of about n^2 / 2^65 (3e-8 for a
million records): a duplicate the index reports is certain only when its ids were also seen in
full by the scanner; the verifier reports what the hashes say and names the offsets to look at.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import tempfile
import weakref
from array import array
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes
_BUFFER = 8192  # pairs kept before they are written to the spool file


def norm_id(value: str) -> str:
    """A record id without its angle brackets and surrounding space: how ids are compared (as
    :func:`cablekeep.fixity.warcids.norm_id`, which imports this module and so cannot be imported here)."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


# The record types the crawler writes one index line for (capture.recorder: responses and revisits
# of fetches, the browser's screenshot and rendered DOM as resources); requests, warcinfo and
# metadata records are not indexed.
PRINTED_TYPES = frozenset({"response", "revisit", "resource"})
PRINT_MODULUS = 1 << 128
NO_VALUE = "-"  # what an index line writes for a field it has no value for, and what a record without it folds


def capture_key(offset: int, uri: str, date: str, digest: str, record_id: str) -> str | None:
    """What :func:`capture_print` hashes of one capture, as text: the offset, WARC-Target-URI,
    WARC-Date, WARC-Payload-Digest and WARC-Record-ID, each as written (:data:`NO_VALUE` for a field
    the record lacks), one a line. None when a field holds a line feed (no header value read from a
    plain block does, and no index line the crawler writes): the key would be ambiguous, so such a
    capture cannot be fingerprinted.

    The values are not normalised (angle brackets, spaces): the fingerprint of a line that writes
    a value in another form than its record then differs, and the exact comparison, which
    normalises, judges it. A fingerprint may send a good bag to the exact comparison, never pass a
    bad one."""
    key = f"{offset}\n{uri}\n{date}\n{digest}\n{record_id}"
    return key if key.count("\n") == 4 else None


def capture_print(key: bytes) -> int:
    """The 128-bit fingerprint of one capture from its :func:`capture_key` (UTF-8, undecodable
    bytes kept as surrogate escapes). Identical in every process (blake2b, no key)."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big")


def id_hash(normalised_id: str) -> int:
    """The signed 64-bit hash (SQLite's INTEGER) of a record id, brackets already removed."""
    digest = hashlib.blake2b(normalised_id.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class IdSpool:
    """(hash, offset) of each record of one WARC file, in a temporary file."""

    def __init__(self) -> None:
        self.count = 0
        self._pending = array("q")
        self._path: str | None = None
        self._finalizer: weakref.finalize[[str], IdSpool] | None = None

    def add(self, hashed: int, offset: int) -> None:
        self._pending.append(hashed)
        self._pending.append(offset)
        self.count += 1
        if len(self._pending) >= 2 * _BUFFER:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._path is None:
            handle, self._path = tempfile.mkstemp(prefix="cablekeep-ids-", suffix=".bin")
            os.close(handle)
            self._finalizer = weakref.finalize(self, _unlink, self._path)
        with open(self._path, "ab") as out:
            self._pending.tofile(out)
        self._pending = array("q")

    def absorb(self, other: IdSpool) -> None:
        """Append ``other``'s pairs after this spool's (the ranges of one file, merged in file order);
        ``other`` is emptied."""
        if other._path is not None:
            if self._path is None:
                handle, self._path = tempfile.mkstemp(prefix="cablekeep-ids-", suffix=".bin")
                os.close(handle)
                self._finalizer = weakref.finalize(self, _unlink, self._path)
            self._flush()
            _append_file(other._path, self._path)
        self._pending.extend(other._pending)
        self.count += other.count
        other.discard()
        if len(self._pending) >= 2 * _BUFFER:
            self._flush()

    def pairs(self) -> Iterator[tuple[int, int]]:
        """Every (hash, offset), in the order added."""
        if self._path is not None:
            with open(self._path, "rb") as spool:
                while chunk := spool.read(16 * _BUFFER):
                    values = array("q")
                    values.frombytes(chunk)
                    yield from zip(values[::2], values[1::2])
        yield from zip(self._pending[::2], self._pending[1::2])

    def discard(self) -> None:
        """Remove the spool file now (it is removed anyway when the spool is collected)."""
        if self._finalizer is not None:
            self._finalizer()
        self._pending = array("q")

    def __getstate__(self) -> dict[str, object]:
        # Sent to another process: the file is the receiver's to remove from now on.
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        return {"count": self.count, "pending": self._pending.tobytes(), "path": self._path}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.count = int(state["count"])  # type: ignore[call-overload]
        self._pending = array("q")
        pending = state["pending"]
        assert isinstance(pending, bytes)
        self._pending.frombytes(pending)
        path = state["path"]
        self._path = path if isinstance(path, str) else None
        self._finalizer = weakref.finalize(self, _unlink, self._path) if self._path is not None else None


def _append_file(source: str, target: str) -> None:
    with open(source, "rb") as inp, open(target, "ab") as out:
        while chunk := inp.read(1 << 20):
            out.write(chunk)


_FIELD_HEAD = struct.Struct("<qHHHH")  # offset, then the byte length of each of the four texts
_NO_TEXT = 0xFFFF  # a length meaning "the record has no such field"
_TEXT_MAX = 0xFFFE
_FIELD_BUFFER = 1 << 20  # bytes kept before they are written to the spool file


class SpooledRecord(NamedTuple):
    """What a record holds that its bag's index claims (each field's first value, None when absent)."""

    offset: int
    record_id: str | None
    target_uri: str | None
    date: str | None
    payload_digest: str | None


_KEYS_BUFFER = 4096  # capture keys kept before they are hashed and summed


class FieldPrint:
    """The fingerprint of one WARC file's captures, folded record by record in file order.

    :meth:`fold` gives the sum modulo 2**128 of :func:`capture_print` over the records of
    :data:`PRINTED_TYPES`, and how many; ``id_sum`` is the sum of their record ids' :func:`id_hash`
    (what a crawl log naming the same records sums to). ``printable`` turns False when the
    fingerprint cannot stand for the records: two records at one offset (several records in one
    gzip member: only the first is found at that offset), offsets out of order, a field that holds
    a line feed, a printed record without an id. ``count``: records added, of any type; ``size``:
    the file's size in bytes, once the scan has read it to its end.

    The keys are hashed a few thousand at a time, in one tight loop: the scan of a bag with an
    index pays about a microsecond a record for its fingerprint.
    """

    def __init__(self) -> None:
        self.count = 0
        self.size = 0
        self.print_sum = 0
        self.printed = 0
        self.id_sum = 0
        self.printable = True
        self.first_offset = -1
        self.last_offset = -1
        self._keys: list[str] = []

    def add(self, offset: int, record_id: str | None, target_uri: str | None, date: str | None,
            payload_digest: str | None, record_type: str | None = None, id_hashed: int | None = None) -> None:
        """One record, in file order; ``record_type`` (lower case) says whether it is folded into
        the fingerprint, ``id_hashed`` is the :func:`id_hash` of its normalised record id."""
        if offset <= self.last_offset:
            self.printable = False
        if not self.count:
            self.first_offset = offset
        self.last_offset = offset
        self.count += 1
        if record_type not in PRINTED_TYPES:
            return
        keys = self._keys
        keys.append(f"{offset}\n{NO_VALUE if target_uri is None else target_uri}\n{NO_VALUE if date is None else date}"
                    f"\n{NO_VALUE if payload_digest is None else payload_digest}\n"
                    f"{NO_VALUE if record_id is None else record_id}")  # capture_key, inline: it runs for every record
        if id_hashed is None:
            self.printable = False
        else:
            self.id_sum += id_hashed
        if len(keys) >= _KEYS_BUFFER:
            self._hash_keys()

    def _hash_keys(self) -> None:
        keys, self._keys = self._keys, []
        if not keys:
            return
        if sum(key.count("\n") for key in keys) != 4 * len(keys):
            self.printable = False  # a field holds a line feed: the keys are ambiguous
        self.print_sum += sum(_from_bytes(_blake2b(key.encode("utf-8", "surrogateescape"), digest_size=16).digest(), "big")
                              for key in keys)
        self.printed += len(keys)

    def absorb(self, other: FieldPrint) -> None:
        """Fold ``other`` (the next range of the same file, in file order) after this one; ``size``
        becomes ``other``'s, and ``other`` is emptied."""
        self._hash_keys()
        other._hash_keys()
        if other.count:
            if not other.printable or (self.count and other.first_offset <= self.last_offset):
                self.printable = False
            if not self.count:
                self.first_offset = other.first_offset
            self.last_offset = other.last_offset
        self.count += other.count
        self.size = other.size
        self.print_sum = (self.print_sum + other.print_sum) % PRINT_MODULUS
        self.printed += other.printed
        self.id_sum += other.id_sum
        other.discard()

    def fold(self) -> tuple[int, int]:
        """The fingerprint: the sum modulo 2**128, and the number of records summed."""
        self._hash_keys()
        return self.print_sum % PRINT_MODULUS, self.printed

    def discard(self) -> None:
        """Nothing is held on disk (kept for the spool's callers)."""

    def __getstate__(self) -> dict[str, object]:
        self._hash_keys()
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)


class FieldSpool(FieldPrint):
    """A :class:`FieldPrint` that also keeps a :class:`SpooledRecord` for each record, in file
    order, in a temporary file: what the exact comparison of a bag's index with its WARCs reads.
    A field longer than 65,534 bytes is kept cut to that length (no index line claims such a
    value), and the fingerprint is then not printable.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._path: str | None = None
        self._finalizer: weakref.finalize[[str], FieldSpool] | None = None

    def add(self, offset: int, record_id: str | None, target_uri: str | None, date: str | None,
            payload_digest: str | None, record_type: str | None = None, id_hashed: int | None = None) -> None:
        super().add(offset, record_id, target_uri, date, payload_digest, record_type, id_hashed)
        texts = [None if t is None else t.encode("utf-8", "surrogateescape")
                 for t in (record_id, target_uri, date, payload_digest)]
        if any(t is not None and len(t) > _TEXT_MAX for t in texts):
            self.printable = False  # cut in the spool: what the exact comparison compares is not the record's
            texts = [None if t is None else t[:_TEXT_MAX] for t in texts]
        pending = self._pending
        pending += _FIELD_HEAD.pack(offset, *(_NO_TEXT if t is None else len(t) for t in texts))
        for text in texts:
            if text:
                pending += text
        if len(pending) >= _FIELD_BUFFER:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._path is None:
            handle, self._path = tempfile.mkstemp(prefix="cablekeep-fields-", suffix=".bin")
            os.close(handle)
            self._finalizer = weakref.finalize(self, _unlink, self._path)
        with open(self._path, "ab") as out:
            out.write(self._pending)
        self._pending = bytearray()

    def absorb(self, other: FieldPrint) -> None:
        """As :meth:`FieldPrint.absorb`, with ``other``'s records (a :class:`FieldSpool`) after this spool's."""
        if not isinstance(other, FieldSpool):
            raise TypeError("a field spool absorbs only another field spool")
        if other._path is not None:
            self._flush_all()
            assert self._path is not None
            _append_file(other._path, self._path)
        self._pending += other._pending
        super().absorb(other)
        if len(self._pending) >= _FIELD_BUFFER:
            self._flush()

    def _flush_all(self) -> None:
        """Make sure the spool file exists and holds every record so far."""
        if self._path is None:
            handle, self._path = tempfile.mkstemp(prefix="cablekeep-fields-", suffix=".bin")
            os.close(handle)
            self._finalizer = weakref.finalize(self, _unlink, self._path)
        self._flush()

    def records(self) -> Generator[SpooledRecord, None, None]:
        """Every record, in the order added (file order)."""
        if self._path is not None:
            with open(self._path, "rb") as spool:
                carry = b""
                while chunk := spool.read(_FIELD_BUFFER):
                    carry = yield from _decode(carry + chunk)
                if carry:
                    raise ValueError(f"the field spool {self._path} ends inside a record")
        rest = yield from _decode(bytes(self._pending))
        if rest:
            raise ValueError("the field spool's buffer ends inside a record")

    def discard(self) -> None:
        """Remove the spool file now (it is removed anyway when the spool is collected)."""
        if self._finalizer is not None:
            self._finalizer()
        self._pending = bytearray()

    def __getstate__(self) -> dict[str, object]:
        # Sent to another process: the file is the receiver's to remove from now on.
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._hash_keys()
        return {"count": self.count, "size": self.size, "pending": bytes(self._pending), "path": self._path,
                "print": (self.print_sum % PRINT_MODULUS, self.printed, self.id_sum, self.printable, self.first_offset,
                          self.last_offset)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.count = int(state["count"])  # type: ignore[call-overload]
        self.size = int(state["size"])  # type: ignore[call-overload]
        printed = state["print"]
        assert isinstance(printed, tuple)
        self.print_sum, self.printed, self.id_sum, self.printable, self.first_offset, self.last_offset = printed
        self._keys = []
        pending = state["pending"]
        assert isinstance(pending, bytes)
        self._pending = bytearray(pending)
        path = state["path"]
        self._path = path if isinstance(path, str) else None
        self._finalizer = weakref.finalize(self, _unlink, self._path) if self._path is not None else None


def _decode(data: bytes) -> Generator[SpooledRecord, None, bytes]:
    """The whole records at the start of ``data``; returns the bytes of a record not yet whole."""
    at = 0
    end = len(data)
    head_size = _FIELD_HEAD.size
    unpack = _FIELD_HEAD.unpack_from
    while at + head_size <= end:
        offset, *lengths = unpack(data, at)
        need = head_size + sum(n for n in lengths if n != _NO_TEXT)
        if at + need > end:
            break
        pos = at + head_size
        texts: list[str | None] = []
        for n in lengths:
            if n == _NO_TEXT:
                texts.append(None)
            else:
                texts.append(data[pos : pos + n].decode("utf-8", "surrogateescape"))
                pos += n
        yield SpooledRecord(offset, *texts)
        at += need
    return data[at:]


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


MEMORY_IDS = 200_000  # up to this many ids, :func:`id_index` answers from memory (a few MB), past it from disk


class MemoryIdIndex:
    """:class:`IdIndex` held in memory, for a few ids: no database to create and remove."""

    def __init__(self) -> None:
        self._first: dict[int, tuple[int, int]] = {}
        self._more: dict[int, list[tuple[int, int]]] = {}

    def add(self, file: int, pairs: Iterable[tuple[int, int]]) -> None:
        first, more = self._first, self._more
        for hashed, offset in pairs:
            place = (file, offset)
            known = first.setdefault(hashed, place)
            if known is not place:
                more.setdefault(hashed, [known]).append(place)

    def duplicates(self) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """As :meth:`IdIndex.duplicates`."""
        for hashed in sorted(self._more):
            yield hashed, sorted(self._more[hashed])

    def __contains__(self, hashed: object) -> bool:
        return hashed in self._first

    def close(self) -> None:
        self._first.clear()
        self._more.clear()

    def __enter__(self) -> MemoryIdIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def id_index(expected: int) -> IdIndex | MemoryIdIndex:
    """An index for about ``expected`` ids: in memory up to :data:`MEMORY_IDS`, else on disk."""
    return MemoryIdIndex() if expected <= MEMORY_IDS else IdIndex()


class IdIndex:
    """Record-id hashes of several files (numbered by the caller) in a temporary SQLite database."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cablekeep-idindex-", dir=directory)
        self.db = sqlite3.connect(Path(self._dir.name) / "ids.sqlite")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE ids (hash INTEGER NOT NULL, file INTEGER NOT NULL, offset INTEGER NOT NULL)")
        self._indexed = False

    def add(self, file: int, pairs: Iterable[tuple[int, int]]) -> None:
        self.db.executemany("INSERT INTO ids (hash, file, offset) VALUES (?, ?, ?)",
                            ((hashed, file, offset) for hashed, offset in pairs))
        self._indexed = False

    def _index(self) -> None:
        if not self._indexed:
            self.db.execute("CREATE INDEX IF NOT EXISTS ids_hash ON ids (hash)")
            self._indexed = True

    def duplicates(self) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """Each hash held more than once, with its (file, offset) places in file and offset order."""
        self._index()
        cursor = self.db.execute(
            "SELECT hash, file, offset FROM ids WHERE hash IN "
            "(SELECT hash FROM ids GROUP BY hash HAVING COUNT(*) > 1) ORDER BY hash, file, offset"
        )
        group: list[tuple[int, int]] = []
        current: int | None = None
        for hashed, file, offset in cursor:
            if hashed != current and group:
                assert current is not None
                yield current, group
                group = []
            current = int(hashed)
            group.append((int(file), int(offset)))
        if group:
            assert current is not None
            yield current, group

    def __contains__(self, hashed: object) -> bool:
        self._index()
        return self.db.execute("SELECT 1 FROM ids WHERE hash = ? LIMIT 1", (hashed,)).fetchone() is not None

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()

    def __enter__(self) -> IdIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
