"""Reading and judging a WARC record's header block, without a file around it."""

from __future__ import annotations

import pytest

from cablekeep.fixity.warcheaders import HeaderBlock, judge_headers, parse_header_block, valid_date

REQUIRED = (
    b"WARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:1>\r\nWARC-Date: 2024-05-01T12:00:00Z\r\n"
    b"WARC-Target-URI: http://example.org/a\r\n"
)


def block(extra: bytes = b"", *, version: bytes = b"WARC/1.1", fields: bytes = REQUIRED) -> HeaderBlock:
    return parse_header_block(version + b"\r\n" + fields + extra, 100)


def test_folded_lines_continue_the_field_before_them() -> None:
    parsed = block(b"WARC-Concurrent-To: <urn:uuid:2>\r\n  <urn:uuid:3>\r\n\t<urn:uuid:4>\r\nContent-Length: 5")
    assert parsed.findings == []
    assert parsed.fields["warc-concurrent-to"] == ["<urn:uuid:2> <urn:uuid:3> <urn:uuid:4>"]
    assert parsed.one("content-length") == "5"


def test_a_field_given_twice_keeps_both_values_in_order() -> None:
    parsed = block(b"WARC-Concurrent-To: <urn:uuid:2>\r\nwarc-concurrent-to: <urn:uuid:3>\r\nContent-Length: 5")
    assert parsed.fields["warc-concurrent-to"] == ["<urn:uuid:2>", "<urn:uuid:3>"]


@pytest.mark.parametrize("line", [b" folded before any field", b"no colon here", b": no name"])
def test_malformed_lines_are_found_and_skipped(line: bytes) -> None:
    fields = line + b"\r\n" + REQUIRED if line.startswith(b" ") else REQUIRED + line + b"\r\n"
    parsed = block(b"Content-Length: 5", fields=fields)
    assert [(f.kind, f.offset) for f in parsed.findings] == [("warc", 100)]
    assert "malformed header line" in parsed.findings[0].detail
    assert parsed.one("WARC-Type") == "resource" and parsed.one("Content-Length") == "5"


def test_latin_1_header_block_is_read_with_a_warning() -> None:
    parsed = block("WARC-Target-URI: http://example.org/café\r\nContent-Length: 1".encode("latin-1"), fields=b"")
    assert [f.kind for f in parsed.findings] == ["warning"]
    assert parsed.one("WARC-Target-URI") == "http://example.org/café"


def test_version_line() -> None:
    assert block(b"Content-Length: 1").findings == []
    old = block(b"Content-Length: 1", version=b"WARC/0.9")
    assert old.is_warc and "not WARC/1.0 or WARC/1.1" in old.findings[0].detail and old.fields
    other = block(b"Content-Length: 1", version=b"HTTP/1.1 200 OK")
    assert not other.is_warc and other.fields == {} and len(other.findings) == 1


@pytest.mark.parametrize("value", ["four", "-1", "1.5", "0x10", "²", "١٢", ""])
def test_a_content_length_that_is_not_a_number(value: str) -> None:
    headers = judge_headers(block(f"Content-Length: {value}".encode()), 100)
    assert headers.content_length is None
    assert [f.detail for f in headers.findings if "not a number" in f.detail], headers.findings


def test_content_length_read_and_required() -> None:
    assert judge_headers(block(b"Content-Length: 0012"), 100).content_length == 12
    absent = judge_headers(block(), 100)
    assert absent.content_length is None
    assert [f.detail for f in absent.findings] == ["the record at offset 100 has no Content-Length header."]


def test_required_fields_given_twice() -> None:
    headers = judge_headers(block(b"Content-Length: 1\r\nWARC-Date: 2024-05-01T12:00:00Z"), 7)
    assert [f.detail for f in headers.findings] == ["the record at offset 7 has 2 WARC-Date headers."]


def test_target_uri_quirks() -> None:
    bracketed = judge_headers(block(b"Content-Length: 1", fields=REQUIRED.replace(b"http://example.org/a", b"<http://e/a b>")), 0)
    assert bracketed.target_uri == "http://e/a b" and bracketed.bracketed_uri and bracketed.spaced_uri
    plain = judge_headers(block(b"Content-Length: 1"), 0)
    assert plain.target_uri == "http://example.org/a" and not plain.bracketed_uri and not plain.spaced_uri
    missing = judge_headers(block(b"Content-Length: 1", fields=REQUIRED.replace(b"WARC-Target-URI", b"X-Other")), 0)
    assert missing.target_uri is None and "has no WARC-Target-URI" in missing.findings[0].detail


def test_record_id_forms() -> None:
    def judged(record_id: bytes) -> tuple[bool, list[str]]:
        headers = judge_headers(block(b"Content-Length: 1", fields=REQUIRED.replace(b"<urn:uuid:1>", record_id)), 0)
        return headers.non_urn_id, [f.detail for f in headers.findings]

    assert judged(b"<urn:uuid:1>") == (False, [])
    assert judged(b"<http://example.org/id/1>") == (True, [])
    non_uri, details = judged(b"urn:uuid:1")
    assert not non_uri and "not a URI in angle brackets" in details[0]


@pytest.mark.parametrize(
    ("value", "valid"),
    [("2024", True), ("2024-05", True), ("2024-05-01T12:00Z", True), ("2024-05-01T12:00:00.123456789+02:00", True),
     ("2024-02-30T00:00:00Z", False), ("2024-05-01T12:00:00", False), ("2024-05-01 12:00:00Z", False), ("", False)],
)
def test_w3c_dates(value: str, valid: bool) -> None:
    assert valid_date(value) is valid
