"""ARC files (versions 1 and 2, plain and one gzip member per record), built here, checked record by record."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cablekeep.fixity.report import Problem
from cablekeep.fixity.warccheck import scan_warc, verify_warc

V1_FIELDS = b"URL IP-address Archive-date Content-type Archive-length"
V2_FIELDS = (b"URL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename "
             b"Archive-length")


def version_block(version: int = 1, name: bytes = b"crawl.arc", *, fields: bytes | None = None,
                  metadata: bytes = b"") -> bytes:
    # ARC 1.0: "filedesc://<path> <ip> <date> text/plain <length>", then "<version-number>
    # <reserved> <origin-code>" and the line naming the URL-record fields.
    spec = fields if fields is not None else (V1_FIELDS if version == 1 else V2_FIELDS)
    body = b"%d 0 cablekeep-tests\n" % version + spec + b"\n" + metadata
    return b"filedesc://%s 127.0.0.1 20240501120000 text/plain %d\n%s\n" % (name, len(body), body)


def arc_record(content: bytes = b"HTTP/1.0 200 OK\r\n\r\nhello", *, url: bytes = b"http://example.org/a",
               version: int = 1, ip: bytes = b"127.0.0.1", date: bytes = b"20240501120000",
               length: bytes | None = None) -> bytes:
    # ARC 1.0: "URL IP-address Archive-date Content-type Archive-length" LF, then Archive-length
    # bytes of content, then LF. Version 2 adds "Result-code Checksum Location Offset Filename".
    size = length if length is not None else b"%d" % len(content)
    middle = b"text/html" if version == 1 else b"text/html 200 - - 0 crawl.arc"
    return b" ".join([url, ip, date, middle, size]) + b"\n" + content + b"\n"


def write(tmp_path: Path, name: str, *records: bytes) -> Path:
    path = tmp_path / name
    gzipped = name.endswith(".gz")
    path.write_bytes(b"".join(gzip.compress(r) if gzipped else r for r in records))
    return path


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.kind != "warning"]


@pytest.mark.parametrize("name", ["crawl.arc", "crawl.arc.gz"])
@pytest.mark.parametrize("version", [1, 2])
def test_valid_arc_files_of_both_versions(tmp_path: Path, name: str, version: int) -> None:
    path = write(tmp_path, name, version_block(version, metadata=b'<?xml version="1.0"?>\n<arcmetadata/>\n'),
                 arc_record(version=version), arc_record(b"", url=b"dns:example.org", version=version))
    problems, records = verify_warc(path)
    assert (problems, records) == ([], 3)
    assert dict(scan_warc(path).types) == {"filedesc": 1, "arc": 2}


def test_a_record_cut_short_is_an_error_at_its_offset(tmp_path: Path) -> None:
    head = version_block()
    whole = head + arc_record(b"x" * 100)
    path = tmp_path / "cut.arc"
    path.write_bytes(whole[:-30])
    problems, _ = verify_warc(path)
    assert [(p.kind, p.offset) for p in problems] == [("warc", len(head))] and "cut short" in problems[0].detail


def test_a_cut_gzip_member_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "cut.arc.gz", version_block(), arc_record(b"y" * 5000))
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    problems, _ = verify_warc(path)
    assert any(p.kind == "warc" and "gzip member" in p.detail for p in problems), problems


def test_records_sharing_a_gzip_member_are_reported(tmp_path: Path) -> None:
    # As in WARC: one gzip member per record, so readers can seek to a record.
    path = tmp_path / "one-member.arc.gz"
    path.write_bytes(gzip.compress(version_block() + arc_record() + arc_record()))
    problems, records = verify_warc(path)
    assert records == 3 and any("single gzip member" in p.detail for p in errors(problems)), problems


@pytest.mark.parametrize(
    ("record", "what", "length_known"),
    [
        (arc_record(ip=b"example.org"), "IP-address", True),
        (arc_record(date=b"2024050112"), "Archive-date", True),
        (arc_record(date=b"20240231120000"), "Archive-date", True),
        (arc_record(url=b"http://example.org/\x01"), "URL", True),
        (arc_record(length=b"-1"), "Archive-length", False),
        (b"http://example.org/a 127.0.0.1 text/html 5\nhello\n", "fields", False),
    ],
)
def test_a_bad_header_line_is_an_error(tmp_path: Path, record: bytes, what: str, length_known: bool) -> None:
    # A bad field whose line still gives the length: the record is read on. No length: reading
    # resumes at the next whole valid header line.
    head = version_block()
    path = write(tmp_path, "bad.arc", head, record, arc_record(b"after"))
    problems, records = verify_warc(path)
    bad = [p for p in errors(problems) if what in p.detail]
    assert bad and bad[0].offset == len(head), problems
    assert records == (3 if length_known else 2)
    assert any("reading resumed" in p.detail for p in problems) is not length_known


def test_the_version_block_is_checked(tmp_path: Path) -> None:
    no_block = write(tmp_path, "nofiledesc.arc", arc_record())
    assert any("version block" in p.detail for p in errors(verify_warc(no_block)[0]))
    version3 = write(tmp_path, "v3.arc", version_block(3, fields=V1_FIELDS), arc_record())
    assert any("version 1 or 2" in p.detail for p in errors(verify_warc(version3)[0]))
    odd_fields = write(tmp_path, "odd.arc", version_block(1, fields=b"URL IP Date Type Length"), arc_record())
    problems, _ = verify_warc(odd_fields)
    assert [p.kind for p in problems] == ["warning"] and "names the fields" in problems[0].detail


def test_a_version_2_file_needs_version_2_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.arc", version_block(2), arc_record(version=1))
    assert any("fields" in p.detail and "version 2" in p.detail for p in errors(verify_warc(path)[0]))


def test_a_url_with_spaces_is_read_with_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "spaces.arc", version_block(), arc_record(url=b"http://example.org/a b c"),
                 arc_record(url=b"http://example.org/d e"))
    problems, records = verify_warc(path)
    assert records == 3 and [p.kind for p in problems] == ["warning"] and "2 record(s)" in problems[0].detail


def test_a_wrong_length_is_found_by_what_follows(tmp_path: Path) -> None:
    path = write(tmp_path, "long.arc", version_block(), arc_record(b"hello world", length=b"5"), arc_record())
    problems, _ = verify_warc(path)
    assert any("not followed by a newline" in p.detail for p in errors(problems)), problems


def test_an_empty_arc_file_is_invalid(tmp_path: Path) -> None:
    problems, records = verify_warc(write(tmp_path, "empty.arc"))
    assert records == 0 and [p.kind for p in problems] == ["warc"]
