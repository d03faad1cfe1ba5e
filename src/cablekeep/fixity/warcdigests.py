"""WARC-Block-Digest and WARC-Payload-Digest (WARC 1.1, sections 5.8 and 5.9), computed while a
record's block streams past.

A digest is ``algorithm:value`` (md5, sha1, sha256, ...; base32, base16 or base64, url-safe or
not): :func:`read_claim` reads one into a :class:`DigestClaim`. The payload of an
``application/http`` request or response is the block after the HTTP headers
(:class:`HttpPayload`). With ``Transfer-Encoding: chunked`` the digest may be over the
de-chunked body (the reading of WARC 1.1) or over the body as transmitted (what warcprox and
Heritrix write); both are accepted. A revisit's payload digest names content stored elsewhere and
is not checkable here; a segment's covers all segments, and :mod:`.warcsegments` checks it with
a :class:`PayloadDigest` fed every segment. :class:`RecordDigests` holds a record's claims and
hashers and says which claims its content does not bear out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable
from typing import NamedTuple

from .report import Problem
from .warcfindings import Finding
from .warcgzip import Buffer
from .warcheaders import HeaderBlock

MAX_HTTP_HEADER = 1 << 20  # HTTP headers without an end within this many bytes: all seen is head
MAX_CHUNK_LINE = 1024
HEAD_PROBE = 1 << 14  # HTTP headers that end within this many bytes of a block are found in one search

_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")
_B32_RE = re.compile(r"[A-Z2-7]+")
# base32 letters (A-Z, 2-7 for 0-31) as the digits int() reads in base 32 (0-9, A-V)
_B32_AS_DIGITS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV")
_SHA3 = {"sha3224": "sha3_224", "sha3256": "sha3_256", "sha3384": "sha3_384", "sha3512": "sha3_512"}


class DigestClaim(NamedTuple):
    """A digest header of a record, read: what it claims and every byte string that bears it out."""

    header: str  # WARC-Block-Digest or WARC-Payload-Digest
    algorithm: str  # the hashlib name
    value: str  # the header's value as written
    accepted: list[bytes]  # each reading of the value (base16, base32, base64) of the right size


class DigestMismatch(NamedTuple):
    """A claim the content does not bear out, and the digest found (the first candidate)."""

    claim: DigestClaim
    found: bytes


class _Algorithm(NamedTuple):
    """A digest label's hashlib name, digest size and constructor."""

    name: str
    size: int
    new: Callable[[], hashlib._Hash]


@functools.lru_cache(maxsize=64)
def _algorithm(label: str) -> _Algorithm | None:
    """The algorithm a digest label names, looked up once per label (a file uses one or two)."""
    name = digest_algorithm(label)
    if name is None:
        return None
    new = getattr(hashlib, name, None) if name in hashlib.algorithms_guaranteed else None
    if new is None:
        new = functools.partial(hashlib.new, name)
    return _Algorithm(name, new().digest_size, new)


def digest_algorithm(label: str) -> str | None:
    """The hashlib name for a WARC digest label (``sha1``, ``SHA-256``, ``sha3-256``), if available."""
    name = label.strip().lower().replace("-", "")
    name = _SHA3.get(name, name)
    return name if name in hashlib.algorithms_available else None


def decode_digest(value: str, size: int) -> list[bytes]:
    """Every reading of a labelled digest value (base16, base32, base64, url-safe) of ``size`` bytes."""
    value = value.strip()
    found: list[bytes] = []
    if len(value) == size * 2 and _HEX_RE.match(value):
        found.append(bytes.fromhex(value))
    decoded32 = _b32decode(value.upper().rstrip("="), size)
    if decoded32 is not None:
        found.append(decoded32)
    stripped = value.rstrip("=")
    if len(stripped) * 3 // 4 != size:  # base64 of another length cannot give size bytes
        return found
    for text in (stripped, stripped.replace("-", "+").replace("_", "/")):
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(decoded) == size:
            found.append(decoded)
    return found


def _b32decode(text: str, size: int) -> bytes | None:
    """``text`` (upper case, padding stripped) read as base32, when that gives ``size`` bytes.

    Unpadded text (a sha1 digest: 32 characters) is read as one base-32 number, a tenth of the
    time of :func:`base64.b32decode`, which reads the rest. Text of another length than ``size``
    needs cannot give ``size`` bytes and is not read at all.
    """
    if len(text) * 5 // 8 != size:
        return None
    if len(text) % 8 == 0:
        if not _B32_RE.fullmatch(text):
            return None
        return int(text.translate(_B32_AS_DIGITS), 32).to_bytes(size, "big")
    try:
        decoded = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == size else None


def read_claim(block: HeaderBlock, header: str, offset: int) -> DigestClaim | Finding | None:
    """The digest ``header`` of the record at ``offset``: a claim to check, a finding saying why it
    cannot be checked, or None when the record has no such header."""
    claim = _read_claim(block.first(header.lower()), header, offset)
    if claim is None or isinstance(claim, Finding):  # a Finding is a tuple too: asked first
        return claim
    return claim[0]


def _read_claim(
    value: str | None, header: str, offset: int
) -> tuple[DigestClaim, Callable[[], hashlib._Hash]] | Finding | None:
    """:func:`read_claim` of the value ``value``, with the constructor of its algorithm's hasher."""
    if value is None:
        return None
    label, colon, encoded = value.partition(":")
    if not colon or not encoded.strip():
        return Finding(f"{header} {value[:80]!r} at offset {offset} is not 'algorithm:value'.", offset)
    algorithm = _algorithm(label)
    if algorithm is None:
        return Finding(
            f"{header} at offset {offset} uses the unsupported algorithm {label!r}; not checked.", offset, "not-checked"
        )
    if algorithm.size == 20 and len(encoded) == 32 and _B32_RE.fullmatch(encoded):
        # a sha1 in base32 as every crawler writes it: what decode_digest gives (a 32-letter text
        # reads as no base16 and no base64 of 20 bytes), without its other readings
        accepted = [int(encoded.translate(_B32_AS_DIGITS), 32).to_bytes(20, "big")]
    else:
        accepted = decode_digest(encoded, algorithm.size)
    if not accepted:
        return Finding(
            f"{header} {value[:80]!r} at offset {offset} is not a base32, base16 or base64 {label} digest.", offset
        )
    return DigestClaim(header, algorithm.name, value, accepted), algorithm.new


class Dechunker:
    """HTTP/1.1 chunked transfer decoding, streamed; ``ok`` is False once the framing breaks."""

    def __init__(self, sink: Callable[[Buffer], None]) -> None:
        self._sink = sink
        self._state = "size"
        self._line = bytearray()
        self._remaining = 0
        self.ok = True

    def feed(self, data: Buffer) -> None:
        view = memoryview(data)
        i = 0
        n = len(view)
        while i < n and self.ok:
            if self._state == "data":
                take = min(self._remaining, n - i)
                self._sink(view[i : i + take])
                i += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "data-end"
            elif self._state == "done":
                self.ok = False  # bytes after the last chunk and trailers
            else:
                i = self._feed_line(view, i)

    def _feed_line(self, view: memoryview, i: int) -> int:
        """Take bytes of a size, chunk-end or trailer line from ``view[i:]``; where reading goes on."""
        chunk = bytes(view[i : i + MAX_CHUNK_LINE + 1])
        end = chunk.find(b"\n")
        if end < 0:
            self._line += chunk
            if len(self._line) > MAX_CHUNK_LINE:
                self.ok = False
            return i + len(chunk)
        self._line += chunk[:end]
        line = bytes(self._line).rstrip(b"\r")
        self._line.clear()
        self._end_line(line)
        return i + end + 1

    def _end_line(self, line: bytes) -> None:
        if self._state == "size":
            self._chunk_size(line)
        elif self._state == "data-end":
            if line:
                self.ok = False
            self._state = "size"
        elif self._state == "trailer" and not line:
            self._state = "done"

    def _chunk_size(self, line: bytes) -> None:
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self.ok = False
            return
        if size < 0:
            self.ok = False
        elif size == 0:
            self._state = "trailer"
        else:
            self._remaining = size
            self._state = "data"

    def finish(self) -> bool:
        if self._line:
            self._end_line(bytes(self._line).rstrip(b"\r"))
            self._line.clear()
        return self.ok and self._state in ("trailer", "done")


class _HeadEnd(NamedTuple):
    at: int  # offset of the blank line ending the HTTP headers, -1 when not found yet
    gap: int  # its length: 4 for CRLF CRLF, 2 for LF LF


class HttpPayload:
    """Splits an application/http block into HTTP headers and body, and hashes the body.

    Two digests are kept when the body is chunked: of the body as transmitted and de-chunked.
    """

    def __init__(self, algorithm: str, new: Callable[[], hashlib._Hash] | None = None) -> None:
        self._new = new if new is not None else functools.partial(hashlib.new, algorithm)
        self._head: bytearray | None = bytearray()
        self._raw = self._new()
        self._plain: hashlib._Hash | None = None
        self._dechunker: Dechunker | None = None

    def update(self, data: Buffer) -> None:
        if self._head is not None:
            body: Buffer | None = self._first_head(data) if not self._head else None
            if body is None:
                body = self._take_head(data)
            if body is None:
                return
            data = body
        self._raw.update(data)
        if self._dechunker is not None:
            self._dechunker.feed(data)

    def _first_head(self, data: Buffer) -> memoryview | None:
        """The body after HTTP headers that end within the first :data:`HEAD_PROBE` bytes of the
        first bytes fed, found without copying the body; None when they end later (or not at all):
        :meth:`_take_head` then reads them as it reads headers fed in pieces, with the same result.
        """
        view = memoryview(data)
        probe = bytes(view[:HEAD_PROBE])
        crlf = probe.find(b"\r\n\r\n")
        if crlf < 0:
            return None
        lf = probe.find(b"\n\n", 0, crlf + 1)  # LF LF before the CRLF CRLF: a lax server's end
        end, gap = (lf, 2) if lf >= 0 else (crlf, 4)
        self._head = None
        if self._is_chunked(probe[:end]):
            self._plain = self._new()
            self._dechunker = Dechunker(self._plain.update)
        return view[end + gap :]

    def _take_head(self, data: Buffer) -> bytes | None:
        """Add ``data`` to the HTTP headers; once they end, the body bytes that followed them."""
        assert self._head is not None
        start = max(0, len(self._head) - 3)
        self._head += data
        end, gap = self._find_head_end(start)
        if end < 0:
            if len(self._head) > MAX_HTTP_HEADER:
                self._head = None  # no header end in sight: treat everything seen as head
            return None
        body = bytes(self._head[end + gap :])
        head = bytes(self._head[:end])
        self._head = None
        if self._is_chunked(head):
            self._plain = self._new()
            self._dechunker = Dechunker(self._plain.update)
        return body

    def _find_head_end(self, start: int) -> _HeadEnd:
        """Where the HTTP headers end: CRLF CRLF, or LF LF from lax servers (``at`` -1: not yet)."""
        assert self._head is not None
        crlf = self._head.find(b"\r\n\r\n", start)
        lf = self._head.find(b"\n\n", start)
        if lf >= 0 and (crlf < 0 or lf < crlf):
            return _HeadEnd(lf, 2)
        return _HeadEnd(crlf, 4)

    @staticmethod
    def _is_chunked(head: bytes) -> bool:
        if b"chunked" not in head.lower():
            return False  # no line could say so: the common case, without splitting the lines
        for line in head.split(b"\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                return True
        return False

    def digests(self) -> list[bytes]:
        found = [self._raw.digest()]
        if self._dechunker is not None and self._plain is not None and self._dechunker.finish():
            found.insert(0, self._plain.digest())
        return found


def is_http_message(block: HeaderBlock, record_type: str | None) -> bool:
    """True when the payload is the body after HTTP headers: an application/http request or response."""
    if record_type not in ("response", "request"):
        return False
    return (block.first("content-type") or "").lower().startswith("application/http")


def payload_candidates(http: HttpPayload | None, hasher: hashlib._Hash | None) -> list[bytes]:
    """The payload digests that may bear a claim out (HTTP: de-chunked, then as transmitted)."""
    if http is not None:
        return http.digests()
    return [hasher.digest()] if hasher is not None else []


class PayloadDigest:
    """A WARC-Payload-Digest claim and the hasher of the payload it covers: the body after the HTTP
    headers of an ``application/http`` request or response, else the whole block."""

    def __init__(self, claim: DigestClaim, block: HeaderBlock, record_type: str | None) -> None:
        self.claim = claim
        self._http: HttpPayload | None = None
        self._hasher: hashlib._Hash | None = None
        if is_http_message(block, record_type):
            self._http = HttpPayload(claim.algorithm)
        else:
            self._hasher = hashlib.new(claim.algorithm)

    def update(self, data: Buffer) -> None:
        if self._http is not None:
            self._http.update(data)
        elif self._hasher is not None:
            self._hasher.update(data)

    def mismatch(self) -> DigestMismatch | None:
        """The claim and the digest found, when what was fed does not bear the claim out."""
        candidates = payload_candidates(self._http, self._hasher)
        if not candidates or any(digest in self.claim.accepted for digest in candidates):
            return None
        return DigestMismatch(self.claim, candidates[0])


class RecordDigests:
    """The digests one record claims, and the hashers that check them while its block is read.

    Feed the block to :meth:`update`; :meth:`mismatches` then lists the claims it does not bear
    out. ``findings`` say which digest headers could not be checked, and why.
    """

    def __init__(self, block: HeaderBlock, record_type: str | None, offset: int) -> None:
        self.findings: list[Finding] = []
        self._block_claim: DigestClaim | None = None
        self._block_hasher: hashlib._Hash | None = None
        self._payload_claim: DigestClaim | None = None
        # the payload hashers inline (not a PayloadDigest): one call less for every block read
        self._http: HttpPayload | None = None
        self._payload_hasher: hashlib._Hash | None = None
        fields = block.fields
        values = fields.get("warc-block-digest")
        if values:
            claim = _read_claim(values[0], "WARC-Block-Digest", offset)
            if isinstance(claim, Finding):
                self.findings.append(claim)
            elif claim is not None:
                self._block_claim, new = claim
                self._block_hasher = new()
        # the payload digest to check: not a revisit's (stored elsewhere), nor a segment's (it covers
        # all segments: :mod:`.warcsegments` checks it)
        values = fields.get("warc-payload-digest")
        if values and record_type != "revisit" and "warc-segment-number" not in fields:
            claim = _read_claim(values[0], "WARC-Payload-Digest", offset)
            if isinstance(claim, Finding):
                self.findings.append(claim)
            elif claim is not None:
                self._payload_claim, new = claim
                if is_http_message(block, record_type):
                    self._http = HttpPayload(self._payload_claim.algorithm, new)
                else:
                    self._payload_hasher = new()

    def update(self, data: Buffer) -> None:
        """Hash the next bytes of the record's block."""
        if self._block_hasher is not None:
            self._block_hasher.update(data)
        if self._http is not None:
            self._http.update(data)
        elif self._payload_hasher is not None:
            self._payload_hasher.update(data)

    def mismatches(self) -> list[DigestMismatch]:
        """The claims the block read so far does not bear out."""
        found: list[DigestMismatch] = []
        if self._block_claim is not None and self._block_hasher is not None:
            digest = self._block_hasher.digest()
            if digest not in self._block_claim.accepted:
                found.append(DigestMismatch(self._block_claim, digest))
        if self._payload_claim is not None:
            candidates = payload_candidates(self._http, self._payload_hasher)
            if candidates and not any(digest in self._payload_claim.accepted for digest in candidates):
                found.append(DigestMismatch(self._payload_claim, candidates[0]))
        return found


def mismatch_problem(mismatch: DigestMismatch, path: str, offset: int, record_id: str | None) -> Problem:
    """The problem of a digest that does not match, with the digest found in base32."""
    claim = mismatch.claim
    label = claim.value.partition(":")[0]
    return Problem(
        "warc",
        path,
        f"{claim.header} of the record at offset {offset} does not match its content.",
        algorithm=claim.algorithm,
        expected=claim.value,
        found=f"{label}:{base64.b32encode(mismatch.found).decode('ascii')}",
        offset=offset,
        record_id=record_id,
    )
