"""The WARC scan's fast paths give what the long way gives: header blocks, dates, HTTP heads, whole files.

Each fast path is compared with the long way it short-cuts (turned off here by replacing the fast
function with one that always declines), on the shared corpora and on generated damaged records.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from ..corpora import CORPORA
from cablekeep.fixity import warcheaders
from cablekeep.fixity.warccheck import scan_warc
from cablekeep.fixity.warcdigests import HEAD_PROBE, HttpPayload
from cablekeep.fixity.warcheaders import judge_headers, parse_header_block, valid_date

CORPUS_ROOTS = (CORPORA / "warcio-test-data", CORPORA / "iipc-warc-specifications")
_HEAD_RE = re.compile(rb"(?:^|\n)((?i:WARC)/[0-9.]+\r\n.*?)\r\n\r\n", re.S)


def corpus_warcs() -> list[Path]:
    return sorted(p for root in CORPUS_ROOTS for p in root.rglob("*") if p.is_file() and ".warc" in p.name)


def inflated(path: Path) -> bytes:
    data = path.read_bytes()
    if not data.startswith(b"\x1f\x8b"):
        return data
    out = []
    while data.startswith(b"\x1f\x8b"):
        inflater = zlib.decompressobj(31)
        try:
            out.append(inflater.decompress(data))
        except zlib.error:
            break
        data = inflater.unused_data
    return b"".join(out)


def corpus_heads() -> list[bytes]:
    return [m.group(1) for path in corpus_warcs() for m in _HEAD_RE.finditer(inflated(path))]


BASE_HEAD = (
    b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:12345678-1234-1234-1234-123456789abc>\r\n"
    b"WARC-Date: 2024-05-01T12:00:00Z\r\nWARC-Target-URI: http://example.org/cable/1\r\n"
    b"WARC-Concurrent-To: <urn:uuid:00000000-1234-1234-1234-123456789abc>\r\n"
    b"WARC-Payload-Digest: sha1:MWBBJCRNHL4VWAXYTK5YV724H7S5T4IB\r\n"
    b"Content-Type: application/http; msgtype=response\r\nContent-Length: 120"
)
# each: (what it is, the bytes it puts in place of the block's last line)
DAMAGE: list[bytes] = [
    b"Content-Length: 120",  # undamaged
    b"Content-Length: 120\r\n continued",  # a fold by a space
    b"Content-Length: 120\r\n\tcontinued",  # a fold by a tab
    b"Content-Length:\t120",  # a tab
    b"Content-Length: 1\x0020",  # a control byte
    b"Content-Length: 120\rX-Lone: cr",  # a lone CR
    b"Content-Length: 120\nX-Lone: lf",  # a lone LF
    "Content-Length: 120\r\nX-Note: caf\u00e9".encode(),  # UTF-8 outside ASCII
    b"Content-Length: 120\r\nX-Note: caf\xe9",  # not UTF-8
    b"Content-Length: 120\r\nno colon here",  # a malformed line
    b"Content-Length: 120\r\nWARC-Type",  # a known name with no colon
    b"Content-Length: 120\r\n: no name",  # an empty name
    b"Content-Length: 120\r\n   : spaces for a name",
    b"Content-Length: 120\r\nWARC-Type: request",  # a required field twice
    b"Content-Length: 120\r\n  WARC-Date : 2024-05-01T12:00:00Z  ",  # spaces around a name and value
    b"content-length: 120",  # another case
    b"Content-Length:",  # an empty value
    b"Content-Length: 12x",  # not a number
    b"Content-Length: \xb9\xb2",  # digits only Unicode reads
    b"Content-Length: 120\r\nWARC-Date: 2024-02-30T12:00:00Z",
    b"Content-Length: 120\r\nX-Empty-Line-Follows: 1\r\n",
    b"Content-Length: 120\x7f",
    b"Content-Length: 120\r\nWARC-Target-URI: <http://example.org/a b>",
]


def damaged_heads() -> list[bytes]:
    base = BASE_HEAD.rsplit(b"\r\n", 1)[0]
    heads = [base + b"\r\n" + last for last in DAMAGE]
    heads += [b"WARC/1.0\r\n WARC-Type: response\r\nContent-Length: 0", b"WARC/1.0\r\n", b"WARC/1.0", b"warc/1.0\r\nA: b"]
    return heads


def long_way_block(head: bytes, monkeypatch: pytest.MonkeyPatch) -> warcheaders.HeaderBlock:
    with monkeypatch.context() as patch:
        patch.setattr(warcheaders, "_plain_fields", lambda rest: None)
        return parse_header_block(head, 7)


def test_the_corpora_and_the_damage_are_read_at_all() -> None:
    assert len(corpus_warcs()) >= 15
    assert len(corpus_heads()) >= 50


@pytest.mark.parametrize("source", ["corpora", "damaged"])
def test_header_blocks_read_as_the_long_way_reads_them(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    heads = corpus_heads() if source == "corpora" else damaged_heads()
    fast = 0
    for head in heads:
        rest = head.partition(b"\r\n")[2]
        fast += warcheaders._plain_fields(rest) is not None
        got, want = parse_header_block(head, 7), long_way_block(head, monkeypatch)
        assert got == want, head
        assert judge_headers(got, 7) == judge_headers(want, 7), head
    # the fast path was taken: on every corpus block, on some of the damaged ones (never on all)
    assert fast == len(heads) if source == "corpora" else 0 < fast < len(heads)


def test_a_plain_block_takes_the_fast_path_and_damage_does_not() -> None:
    assert warcheaders._plain_fields(BASE_HEAD.partition(b"\r\n")[2]) is not None
    for last in DAMAGE[1:13]:
        head = BASE_HEAD.rsplit(b"\r\n", 1)[0] + b"\r\n" + last
        assert warcheaders._plain_fields(head.partition(b"\r\n")[2]) is None, last


def dates() -> list[str]:
    found = ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.1234567890Z",
             "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
             "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-01-01T24:00:00Z",
             "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "2024-01-01T12:00:00+02:00", "2024-01-01",
             "2024", "2024-01-01T12:00Z", "\u0662\u0660\u0662\u0664-01-01T12:00:00Z", "2024-01-01T12:00:00z",
             "2024-01-01T12:00:00Z ", " 2024-01-01T12:00:00Z", "2024-01-01T12:00:00.Z", "2024-1-01T12:00:00Z"]
    for month in range(0, 14):
        for day in range(0, 33):
            for hour in (0, 9, 19, 23, 24):
                found.append(f"2023-{month:02d}-{day:02d}T{hour:02d}:59:59Z")
    return found


def test_plain_dates_are_judged_as_the_full_check_judges_them(monkeypatch: pytest.MonkeyPatch) -> None:
    values = dates()
    fast = [valid_date(value) for value in values]
    with monkeypatch.context() as patch:
        patch.setattr(warcheaders, "_PLAIN_DATE_RE", re.compile(r"(?!)"))
        full = [valid_date(value) for value in values]
    assert fast == full
    assert sum(full) > 500 and not all(full)
    for value in values:  # and what the fast pattern accepts is a real time
        if warcheaders._PLAIN_DATE_RE.fullmatch(value):
            datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")


HTTP_BLOCKS = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>body\n\nwith blank lines</p>",
    b"HTTP/1.1 200 OK\nContent-Type: text/html\n\nlax server\r\n\r\nmore",
    b"HTTP/1.1 200 OK\r\nX-A: 1\n\nbody after LF LF\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Note: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbroken",
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * HEAD_PROBE + b"\r\n\r\nbody past the probe",
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (HEAD_PROBE - 40) + b"\r\n\r\nat the probe's edge",
    b"HTTP/1.1 200 OK\r\nno end of headers at all",
    b"",
    b"\r\n\r\n",
]


@pytest.mark.parametrize("block", HTTP_BLOCKS, ids=range(len(HTTP_BLOCKS)))
def test_http_payload_of_a_whole_block_as_of_a_block_fed_byte_by_byte(block: bytes) -> None:
    whole = HttpPayload("sha1")
    whole.update(memoryview(block))
    pieces = HttpPayload("sha1")
    for at in range(len(block)):
        pieces.update(block[at : at + 1])
    assert whole.digests() == pieces.digests()
    for edge in range(1, 8):  # and cut anywhere near the end of the headers
        cut = block.find(b"\r\n\r\n") + edge
        split = HttpPayload("sha1")
        split.update(block[:cut])
        split.update(block[cut:])
        assert split.digests() == whole.digests()


def test_chunked_in_any_case_is_dechunked_and_elsewhere_is_not() -> None:
    for block, chunked in ((HTTP_BLOCKS[3], True), (HTTP_BLOCKS[4], True), (HTTP_BLOCKS[5], False)):
        payload = HttpPayload("sha1")
        payload.update(block)
        found = payload.digests()
        assert (found[0] == hashlib.sha1(b"hello").digest()) is chunked
        assert found[-1] == hashlib.sha1(block.split(b"\r\n\r\n", 1)[1]).digest()


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def generated_warcs(tmp_path: Path) -> list[Path]:
    """Whole files of records damaged in their headers, their HTTP heads and their digests."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>cable</p>\n\n<p>end</p>"
    records = []
    for number, last in enumerate(DAMAGE + [b"Content-Length: 120"] * 3):
        block = http if number % 3 else HTTP_BLOCKS[number % len(HTTP_BLOCKS)]
        head = BASE_HEAD.replace(b"123456789abc>", b"%012d>" % number, 1).rsplit(b"\r\n", 1)[0]
        digest = sha1_b32(block) if number % 4 else "sha1:" + "A" * 32
        head += b"\r\nWARC-Block-Digest: " + digest.encode() + b"\r\n" + last.replace(b"120", str(len(block)).encode())
        records.append(head + b"\r\n\r\n" + block + b"\r\n\r\n")
    paths = []
    for name, gzipped in (("made.warc", False), ("made.warc.gz", True)):
        path = tmp_path / name
        path.write_bytes(b"".join(gzip.compress(r) if gzipped else r for r in records))
        paths.append(path)
    return paths


def scan_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    def result(scan_path: Path) -> object:
        scan = scan_warc(scan_path, display_path="x")
        scan.discard()
        return scan.problems, scan.records, scan.types, scan.unresolved, scan.software

    fast = result(path)
    with monkeypatch.context() as patch:
        patch.setattr(warcheaders, "_plain_fields", lambda rest: None)
        patch.setattr(warcheaders, "_PLAIN_DATE_RE", re.compile(r"(?!)"))
        patch.setattr(HttpPayload, "_first_head", lambda self, data: None)
        slow = result(path)
    return fast, slow


@pytest.mark.parametrize("source", ["corpora", "generated"])
def test_whole_files_give_the_same_findings_both_ways(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = corpus_warcs() if source == "corpora" else generated_warcs(tmp_path)
    problems = 0
    for path in paths:
        fast, slow = scan_both_ways(path, monkeypatch)
        assert fast == slow, path
        problems += len(fast[0])  # type: ignore[index]
    assert problems > 0
