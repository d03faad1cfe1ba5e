"""The file read once, and its gzip members: where each starts, where the gzip data broke."""

from __future__ import annotations

import gzip
import hashlib
import io
import random

import pytest

from cablekeep.fixity import warcgzip
from cablekeep.fixity.warcfindings import Tally
from cablekeep.fixity.warcgzip import GzipStream, MemberStart, PlainStream, member_findings, open_stream


def inflate_all(stream: GzipStream | PlainStream) -> bytes:
    out = b""
    while (data := stream.pump()) is not None:
        out += data
    return out


def test_members_are_inflated_one_by_one_and_their_starts_kept() -> None:
    parts = [b"first record" * 50, b"second" * 80, b"third"]
    members = [gzip.compress(part) for part in parts]
    data = b"".join(members)
    hasher = hashlib.sha256()
    stream = open_stream(io.BytesIO(data), [hasher])
    assert isinstance(stream, GzipStream) and stream.source.head == data[:16]
    assert inflate_all(stream) == b"".join(parts)
    raw = [0, len(members[0]), len(members[0]) + len(members[1])]
    inflated = [0, len(parts[0]), len(parts[0]) + len(parts[1])]
    assert stream.bounds == [MemberStart(i, r) for i, r in zip(inflated, raw)]
    assert stream.members == 3 and stream.errors == [] and hasher.digest() == hashlib.sha256(data).digest()


def test_a_cut_member_and_a_corrupt_one() -> None:
    whole = gzip.compress(b"x" * 5000)
    cut = open_stream(io.BytesIO(whole + whole[:-5]), [])
    inflate_all(cut)
    assert cut.cut_short and [e.offset for e in cut.errors] == [len(whole)] and "cut short" in cut.errors[0].detail
    broken = bytearray(gzip.compress(bytes(range(256)) * 40))
    broken[30] ^= 0xFF
    corrupt = open_stream(io.BytesIO(bytes(broken) + whole), [])
    assert inflate_all(corrupt) == b"" and corrupt.broken and not corrupt.cut_short
    assert corrupt.recover()  # the next member is found
    assert inflate_all(corrupt) == b"x" * 5000
    assert [e.offset for e in corrupt.errors] == [0, len(broken)] and "resumed" in corrupt.errors[1].detail


def test_plain_files_pass_through() -> None:
    stream = open_stream(io.BytesIO(b"WARC/1.1\r\n" * 3), [])
    assert isinstance(stream, PlainStream) and inflate_all(stream) == b"WARC/1.1\r\n" * 3 and not stream.recover()


def test_member_findings() -> None:
    single = open_stream(io.BytesIO(gzip.compress(b"a" * 10)), [])
    inflate_all(single)
    mid = Tally()
    mid.add(0)
    [finding] = member_findings(single, 3, mid, Tally())
    assert "single gzip member holding 3 records" in finding.detail
    split = Tally()
    split.add(40)
    split.add(90)
    assert [(f.offset, f.detail[:2]) for f in member_findings(single, 1, Tally(), split)] == [(40, "2 ")]
    plain = open_stream(io.BytesIO(b"WARC/1.1"), [])
    assert member_findings(plain, 3, mid, split) == []


class _Recording:
    """An inflater that notes how many raw bytes each call was given."""

    def __init__(self, inner: object, fed: list[int]) -> None:
        self._inner = inner
        self._fed = fed

    def decompress(self, data: memoryview, max_length: int) -> bytes:
        self._fed.append(len(data))
        return self._inner.decompress(data, max_length)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_each_member_is_fed_little_at_first_and_more_while_it_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # at a member's end the inflater copies what it was given past the end: small members must be
    # given little; a long member is given more and more, so it takes few calls
    fed: list[int] = []
    real = warcgzip.isal_zlib.decompressobj
    monkeypatch.setattr(warcgzip.isal_zlib, "decompressobj", lambda wbits: _Recording(real(wbits), fed))
    big = random.Random(17).randbytes(8 * warcgzip.FEED_MAX)  # incompressible: a long member
    members = [gzip.compress(b"small record" * 10), gzip.compress(big), gzip.compress(b"another small one")]
    stream = open_stream(io.BytesIO(b"".join(members)), [])
    assert inflate_all(stream) == b"small record" * 10 + big + b"another small one"
    # each member starts small (the last one is given the rest of the file, shorter than FEED)
    assert fed[0] == warcgzip.FEED and fed[-1] == len(members[-1])
    long_member = fed[1:-1]
    assert long_member[:4] == [warcgzip.FEED, 2 * warcgzip.FEED, 4 * warcgzip.FEED, 8 * warcgzip.FEED]
    assert max(long_member) == warcgzip.FEED_MAX and len(long_member) < 16
