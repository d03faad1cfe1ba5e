"""WARC as the standards write it: folded headers, the draft versions 0.17 and 0.18 that Heritrix
1.x/2.x and NetarchiveSuite wrote, and bytes a field does not allow. Every file is built here."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import pytest

from cablekeep.fixity.report import Problem
from cablekeep.fixity.warccheck import resolve_references, scan_warc, verify_warc


def record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def record(fields: list[tuple[bytes, bytes]], block: bytes = b"hello", *, version: bytes = b"WARC/1.0",
           lines: bytes = b"") -> bytes:
    """A record with ``fields`` (Content-Length added), then raw header ``lines`` as written."""
    head = version + b"\r\n" + b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    head += lines + b"Content-Length: %d\r\n\r\n" % len(block)
    return head + block + b"\r\n\r\n"


def resource(*, rid: str | None = None, version: bytes = b"WARC/1.0", lines: bytes = b"",
             uri: bytes = b"http://example.org/cable/1", date: bytes = b"2008-04-30T20:48:25Z",
             rtype: bytes = b"resource") -> bytes:
    fields = [(b"WARC-Type", rtype), (b"WARC-Record-ID", (rid or record_id()).encode()),
              (b"WARC-Date", date), (b"WARC-Target-URI", uri)]
    return record(fields, version=version, lines=lines)


def write(tmp_path: Path, name: str, *records: bytes, gzipped: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(gzip.compress(r) if gzipped else r for r in records))
    return path


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


# --------------------------------------------------------------------------- folded and spaced values


def test_a_folded_value_is_unfolded_before_it_is_judged(tmp_path: Path) -> None:
    # WARC 1.1 section 4 (after RFC 2616): "Field values can be extended over multiple lines by
    # preceding each extra line with at least one space or horizontal tab." The date below is
    # valid only once unfolded; its value even starts on the continuation line.
    first = record([(b"WARC-Type", b"resource"), (b"WARC-Record-ID", record_id().encode()),
                    (b"WARC-Target-URI", b"http://example.org/a")], lines=b"WARC-Date:\r\n \t2008-04-30T20:48:25Z\r\n")
    problems, records = verify_warc(write(tmp_path, "folded.warc", first))
    assert (problems, records) == ([], 1)


def test_whitespace_around_a_value_is_not_part_of_it(tmp_path: Path) -> None:
    # WARC 1.1 section 4: "named-field = field-name ":" [ field-value ]", with LWS allowed around
    # the value; the spaces and tabs are not part of it. A vertical tab is no LWS: it stays, and
    # a date may not contain it.
    spaced = resource(lines=b"WARC-Filename:   \t a.warc \t \r\n")
    assert verify_warc(write(tmp_path, "spaced.warc", spaced)) == ([], 1)
    vtab = resource(date=b"\x0b2008-04-30T20:48:25Z")
    problems, _ = verify_warc(write(tmp_path, "vtab.warc", vtab))
    assert any(p.kind == "warc" and "WARC-Date" in p.detail and "'\\x0b'" in p.detail for p in problems), problems


def test_field_names_are_compared_without_regard_to_case(tmp_path: Path) -> None:
    # WARC 1.1 section 4: "field-name = token" and, as in RFC 2616 4.2, "Field names are
    # case-insensitive."
    lower = record([(b"warc-type", b"resource"), (b"WARC-RECORD-ID", record_id().encode()),
                    (b"Warc-Date", b"2008-04-30T20:48:25Z"), (b"warc-target-uri", b"http://example.org/a")])
    assert verify_warc(write(tmp_path, "case.warc", lower)) == ([], 1)


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize("version", [b"WARC/0.17", b"WARC/0.18"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_draft_versions_are_read_with_one_warning_per_file(tmp_path: Path, version: bytes, gzipped: bool) -> None:
    # WARC 0.17 (ISO committee draft, Heritrix 1.14) and 0.18 (NetarchiveSuite, ClueWeb09) lay a
    # record out as 1.0 does: "version = "WARC/0.17" CRLF", then named fields, CRLF, the block,
    # CRLF CRLF; WARC-Record-ID, Content-Length, WARC-Date and WARC-Type are mandatory. The
    # version alone is never an error.
    info_block = b"software: Heritrix/1.14.0 http://crawler.archive.org\r\nformat: WARC File Format 0.17\r\n"
    info = record([(b"WARC-Type", b"warcinfo"), (b"WARC-Date", b"2008-04-30T20:48:25Z"),
                   (b"WARC-Record-ID", record_id().encode()), (b"Content-Type", b"application/warc-fields")],
                  info_block, version=version)
    path = write(tmp_path, "IAH-20080430204825-00000.warc" + (".gz" if gzipped else ""),
                 info, resource(version=version), resource(version=version), gzipped=gzipped)
    problems, records = verify_warc(path)
    assert records == 3
    assert kinds(problems) == ["warning"], problems
    assert version.decode() in problems[0].detail and "3 record(s)" in problems[0].detail


def test_draft_records_are_still_checked_by_their_rules(tmp_path: Path) -> None:
    # The 0.17 draft, like 1.0: "WARC-Date ... mandatory"; a record without one is an error.
    no_date = record([(b"WARC-Type", b"resource"), (b"WARC-Record-ID", record_id().encode()),
                      (b"WARC-Target-URI", b"http://example.org/a")], version=b"WARC/0.17")
    problems, _ = verify_warc(write(tmp_path, "old.warc", no_date))
    assert sorted(kinds(problems)) == ["warc", "warning"]
    assert any("no WARC-Date" in p.detail for p in problems)


def test_other_versions_stay_errors(tmp_path: Path) -> None:
    problems, _ = verify_warc(write(tmp_path, "v.warc", resource(version=b"WARC/0.9")))
    assert any(p.kind == "warc" and "WARC/0.9" in p.detail for p in problems), problems


def test_a_version_line_in_lower_case_is_a_warning(tmp_path: Path) -> None:
    # WARC 1.1 section 4: "version = "WARC/1.1" CRLF" -- the standard writes it in capitals.
    path = write(tmp_path, "lower.warc", resource(version=b"warc/1.0"), resource(version=b"Warc/1.0"), resource())
    problems, records = verify_warc(path)
    assert records == 3 and kinds(problems) == ["warning"], problems
    assert "lower case" in problems[0].detail and "2 record(s)" in problems[0].detail


def test_reading_resumes_at_a_draft_or_lower_case_record(tmp_path: Path) -> None:
    garbage = b"WARC/1.0\r\nContent-Length: many\r\n\r\nxx\r\n"
    path = write(tmp_path, "resync.warc", garbage, resource(version=b"WARC/0.18"), garbage, resource(version=b"warc/1.0"))
    problems, records = verify_warc(path)
    assert records == 2
    assert len([p for p in problems if "reading resumed" in p.detail]) == 2, problems


# --------------------------------------------------------------------------- bytes a field does not allow


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (resource(uri="http://example.org/caf\u00e9".encode()), "WARC-Target-URI"),
        (resource(uri=b"http://example.org/a\x01b"), "WARC-Target-URI"),
        (resource(rid="<urn:uuid:\u00e91>"), "WARC-Record-ID"),
        (resource(date="2008-04-30T20:48:25\u00a0Z".encode()), "WARC-Date"),
        (resource(rtype=b"res\x7fource"), "WARC-Type"),
        (resource(lines="WARC-Concurrent-To: <urn:uuid:\u00fc>\r\n".encode()), "WARC-Concurrent-To"),
        (resource(lines=b"WARC-Block-Digest: sha1:\xff\xfe\r\n"), "WARC-Block-Digest"),
        (resource(lines=b"Content-Type: text/plain\x00\r\n"), "Content-Type"),
    ],
)
def test_bytes_a_field_does_not_allow_are_errors(tmp_path: Path, raw: bytes, field: str) -> None:
    # WARC 1.1 section 4: "uri = <'URI' per RFC3986>", "token = 1*<any US-ASCII character except
    # CTLs or separators>", dates are W3C dates (ASCII digits and signs); TEXT excludes CTLs.
    first = resource()
    path = write(tmp_path, "bytes.warc", first, raw)
    offset = len(first)
    problems, records = verify_warc(path)
    assert records == 2
    found = [p for p in problems if p.kind == "warc" and field in p.detail and "may not contain" in p.detail]
    assert found and found[0].offset == offset and f"offset {offset}" in found[0].detail, problems


def test_non_ascii_is_allowed_where_the_standard_allows_text(tmp_path: Path) -> None:
    # WARC 1.1 section 5.14: WARC-Filename is a quoted-string of TEXT; UTF-8 is allowed there.
    named = resource(lines="WARC-Filename: caf\u00e9.warc\r\n".encode())
    assert verify_warc(write(tmp_path, "text.warc", named)) == ([], 1)


# --------------------------------------------------------------------------- references


def warcinfo(software: bytes, *, rid: str | None = None) -> bytes:
    fields = [(b"WARC-Type", b"warcinfo"), (b"WARC-Date", b"2024-05-01T12:00:00Z"),
              (b"WARC-Record-ID", (rid or record_id()).encode()), (b"Content-Type", b"application/warc-fields")]
    return record(fields, b"software: " + software + b"\r\nformat: WARC File Format 1.0\r\n")


def referring(*targets: str, header: bytes = b"WARC-Concurrent-To") -> bytes:
    return resource(lines=b"".join(header + b": " + target.encode() + b"\r\n" for target in targets))


def test_in_a_warc_cablekeep_wrote_a_reference_to_nothing_is_an_error(tmp_path: Path) -> None:
    # WARC 1.1 section 5.7: WARC-Concurrent-To "shall" name a record; cablekeep's bag claims to
    # hold its whole crawl, so a reference to nothing in it is a broken bag.
    path = write(tmp_path, "own.warc", warcinfo(b"cablekeep/0.3.0"), referring(record_id()))
    problems, _ = verify_warc(path)
    assert kinds(problems) == ["warc"] and "WARC-Concurrent-To" in problems[0].detail


def test_in_a_warc_other_software_wrote_an_unresolved_reference_is_a_warning(tmp_path: Path) -> None:
    # A Heritrix job's WARC-Concurrent-To may name a record in another of its hundreds of files.
    missing = record_id()
    path = write(tmp_path, "heritrix.warc", warcinfo(b"Heritrix/3.4.0 http://crawler.archive.org"), referring(missing))
    problems, _ = verify_warc(path)
    assert kinds(problems) == ["warning"], problems
    assert missing in problems[0].detail and "Heritrix/3.4.0" in problems[0].detail
    assert "not cablekeep" in problems[0].detail and "span files" in problems[0].detail


def test_a_warc_that_does_not_say_who_wrote_it_is_held_to_the_strict_rule(tmp_path: Path) -> None:
    problems, _ = verify_warc(write(tmp_path, "anon.warc", referring(record_id())))
    assert kinds(problems) == ["warc"]


def test_repeated_concurrent_to_headers_are_each_resolved(tmp_path: Path) -> None:
    # WARC 1.1 section 5.7: "The WARC-Concurrent-To field may be used multiple times" -- so a
    # repeat is no error, and every one of them must name a record.
    first, second, missing = record_id(), record_id(), record_id()
    whole = write(tmp_path, "whole.warc", warcinfo(b"cablekeep/0.3.0"), resource(rid=first), resource(rid=second),
                  referring(first, second))
    assert verify_warc(whole)[0] == []
    broken = write(tmp_path, "broken.warc", warcinfo(b"cablekeep/0.3.0"), resource(rid=first), resource(rid=second),
                   referring(first, missing, second))
    problems, _ = verify_warc(broken)
    assert kinds(problems) == ["warc"] and missing in problems[0].detail and first not in problems[0].detail


def test_warcinfo_id_is_a_reference(tmp_path: Path) -> None:
    # WARC 1.1 section 5.10: WARC-Warcinfo-ID "indicates the WARC-Record-ID of the associated
    # warcinfo record".
    info_id = record_id()
    good = write(tmp_path, "good.warc", warcinfo(b"cablekeep/0.3.0", rid=info_id),
                 referring(info_id, header=b"WARC-Warcinfo-ID"))
    assert verify_warc(good)[0] == []
    bad = write(tmp_path, "bad.warc", warcinfo(b"cablekeep/0.3.0"), referring(record_id(), header=b"WARC-Warcinfo-ID"))
    problems, _ = verify_warc(bad)
    assert kinds(problems) == ["warc"] and "WARC-Warcinfo-ID" in problems[0].detail


def test_a_foreign_reference_resolved_in_another_file_of_the_bag_is_no_problem(tmp_path: Path) -> None:
    target = record_id()
    one = write(tmp_path, "one.warc", warcinfo(b"Heritrix/1.14.0"), referring(target))
    two = write(tmp_path, "two.warc", warcinfo(b"Heritrix/1.14.0"), resource(rid=target))
    scans = [scan_warc(one), scan_warc(two)]
    assert [r.foreign for r in scans[0].unresolved] == ["Heritrix/1.14.0"]
    assert resolve_references(scans) == []
    assert [p.kind for p in resolve_references(scans[:1])] == ["warning"]
