"""Block and payload digests of one record, computed while its block streams past."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cablekeep.fixity.warcdigests import (
    Dechunker,
    DigestClaim,
    RecordDigests,
    decode_digest,
    mismatch_problem,
    read_claim,
)
from cablekeep.fixity.warcfindings import Finding
from cablekeep.fixity.warcheaders import HeaderBlock


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def headers(**fields: str) -> HeaderBlock:
    return HeaderBlock(b"WARC/1.1", {name.replace("_", "-").lower(): [value] for name, value in fields.items()}, [])


def feed(digests: RecordDigests, data: bytes, piece: int) -> None:
    for start in range(0, len(data), piece):
        digests.update(data[start : start + piece])


def test_block_digest_mismatch_names_what_was_found() -> None:
    block = b"resource content"
    right = RecordDigests(headers(WARC_Block_Digest=sha1_b32(block)), "resource", 0)
    feed(right, block, 3)
    assert right.mismatches() == []
    wrong = RecordDigests(headers(WARC_Block_Digest=sha1_b32(b"other")), "resource", 40)
    feed(wrong, block, 3)
    [mismatch] = wrong.mismatches()
    assert mismatch.claim.header == "WARC-Block-Digest" and mismatch.found == hashlib.sha1(block).digest()
    problem = mismatch_problem(mismatch, "a.warc", 40, "<urn:uuid:1>")
    assert (problem.kind, problem.algorithm, problem.expected) == ("warc", "sha1", sha1_b32(b"other"))
    assert problem.found == sha1_b32(block) and problem.offset == 40 and problem.record_id == "<urn:uuid:1>"


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\ncable\r\n6;ext=1\r\n text!\r\n0\r\nX-Trailer: 1\r\n\r\n"
)


@pytest.mark.parametrize("piece", [1, 2, 7, len(CHUNKED)])
@pytest.mark.parametrize("digest_of", [b"cable text!", CHUNKED.split(b"\r\n\r\n", 1)[1]], ids=["dechunked", "as-sent"])
def test_http_payload_digest_through_chunking(piece: int, digest_of: bytes) -> None:
    fields = headers(Content_Type="application/http; msgtype=response", WARC_Payload_Digest=sha1_b32(digest_of))
    digests = RecordDigests(fields, "response", 0)
    feed(digests, CHUNKED, piece)
    assert digests.mismatches() == []
    wrong = RecordDigests(headers(Content_Type="application/http", WARC_Payload_Digest=sha1_b32(b"cable")), "response", 0)
    feed(wrong, CHUNKED, piece)
    assert [m.claim.header for m in wrong.mismatches()] == ["WARC-Payload-Digest"]


def test_payload_of_a_non_http_record_is_its_block() -> None:
    digests = RecordDigests(headers(WARC_Payload_Digest=sha1_b32(b"text")), "resource", 0)
    digests.update(b"text")
    assert digests.mismatches() == []


def test_revisit_and_segment_payload_digests_are_not_checked_per_record() -> None:
    revisit = RecordDigests(headers(WARC_Payload_Digest=sha1_b32(b"elsewhere")), "revisit", 0)
    revisit.update(b"HTTP/1.1 200 OK\r\n\r\n")
    assert revisit.mismatches() == [] and revisit.findings == []
    segment = RecordDigests(headers(WARC_Payload_Digest=sha1_b32(b"all"), WARC_Segment_Number="1"), "resource", 9)
    segment.update(b"part")
    assert segment.mismatches() == []
    assert segment.findings == []  # checked over all its segments by warcsegments (test_warcsegments.py)


@pytest.mark.parametrize(
    ("value", "kind", "words"),
    [
        ("sha1", "warc", "not 'algorithm:value'"),
        ("sha1:", "warc", "not 'algorithm:value'"),
        ("whirlpool9:AAAA", "not-checked", "unsupported algorithm"),
        ("sha1:not-a-digest", "warc", "not a base32, base16 or base64"),
    ],
)
def test_unusable_digest_headers(value: str, kind: str, words: str) -> None:
    claim = read_claim(headers(WARC_Block_Digest=value), "WARC-Block-Digest", 5)
    assert isinstance(claim, Finding) and claim.kind == kind and words in claim.detail and claim.offset == 5


def test_digest_claims() -> None:
    assert read_claim(headers(), "WARC-Block-Digest", 0) is None
    digest = hashlib.sha256(b"x").digest()
    claim = read_claim(headers(WARC_Block_Digest="SHA-256:" + digest.hex()), "WARC-Block-Digest", 0)
    assert isinstance(claim, DigestClaim) and claim.algorithm == "sha256" and digest in claim.accepted


def test_base32_of_every_length_and_padding() -> None:
    for size in (16, 20, 28, 32, 48, 64):
        digest = bytes(range(size))
        text = base64.b32encode(digest).decode()
        for form in (text, text.rstrip("="), text.lower(), text.rstrip("=").lower()):
            assert digest in decode_digest(form, size), (size, form)
        assert decode_digest(text.rstrip("=")[:-1] + "1", size) == []  # "1" is not base32
    assert decode_digest("A" * 31 + "\n", 20) == []  # a stray line end is not base32


def test_dechunker_refuses_broken_framing() -> None:
    for broken in (b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabX\r\n0\r\n\r\n", b"2\r\nab\r\n0\r\n\r\nextra", b"5\r\nab"):
        dechunker = Dechunker(lambda data: None)
        dechunker.feed(broken)
        assert not dechunker.finish(), broken
    whole = Dechunker(lambda data: None)
    whole.feed(b"2\r\nab\r\n0\r\n\r\n")
    assert whole.finish()
