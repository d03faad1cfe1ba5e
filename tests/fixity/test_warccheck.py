"""The WARC checker against warcio's and the IIPC's sample files, cut files and hand-made records."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import shutil
import tracemalloc
import uuid
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from ..corpora import CORPORA
from cablekeep.errors import BagUnreadableError
from cablekeep.fixity.report import Problem
from cablekeep.fixity.warccheck import (
    decode_digest,
    iter_warc_records,
    resolve_references,
    scan_warc,
    scan_warc_stream,
    verify_warc,
    verify_warc_report,
)


WARCIO_DATA = CORPORA / "warcio-test-data"
IIPC_DATA = CORPORA / "iipc-warc-specifications"

# Verdicts from the INDEX.md beside each corpus. "valid": no problem but warnings; "invalid": at
# least one "warc" problem. ARC files are checked too (cablekeep.fixity.arccheck).
CORPUS_VERDICTS: dict[str, str] = {
    "warcio-test-data/example.warc": "valid",
    "warcio-test-data/example.warc.gz": "valid",
    "warcio-test-data/example-iana.org-chunked.warc": "valid",
    "warcio-test-data/example-resource.warc.gz": "valid",
    "warcio-test-data/post-test.warc.gz": "valid",
    "warcio-test-data/example-wget-bad-target-uri.warc.gz": "valid",  # with a warning
    "warcio-test-data/example-space-in-target-uri.warc.gz": "valid",  # with a warning
    "warcio-test-data/example-digest.warc": "invalid",
    "warcio-test-data/example-trunc.warc": "invalid",
    "warcio-test-data/example-bad-non-chunked.warc.gz": "invalid",
    "warcio-test-data/example-bad.warc.gz.bad": "invalid",
    "warcio-test-data/example-wrong-chunks.warc.gz": "invalid",
    "warcio-test-data/example.arc": "valid",
    "warcio-test-data/example.arc.gz": "valid",
    # INDEX.md: "valid-with-quirk" (warcio reads it leniently), but its second record holds 1,579
    # bytes where its Archive-length says 1,591: the file ends inside it.
    "warcio-test-data/example-space-in-url.arc": "invalid",
    "warcio-test-data/bad.arc": "invalid",  # INDEX.md: "malformed" (negative and non-numeric lengths)
    "iipc-warc-specifications/primers/web-archive-formats/hello-world.warc": "valid",
    "iipc-warc-specifications/primers/web-archive-formats/hello-world.warc.gz": "valid",
    "iipc-warc-specifications/specifications/warc-deduplication/samples/20130729-heritrix-original.warc.gz": "valid",
    "iipc-warc-specifications/specifications/warc-deduplication/samples/"
    "20130729-heritrix-revisit-with-http-headers.warc.gz": "valid",
    "iipc-warc-specifications/specifications/warc-deduplication/samples/"
    "20141124-heritrix-server-not-modified.warc.gz": "valid",  # one CRLF short, member whole: a warning
    "iipc-warc-specifications/specifications/warc-deduplication/samples/20141129-heritrix-original.warc.gz": "valid",
    "iipc-warc-specifications/specifications/warc-deduplication/samples/"
    "20141129-heritrix-revisit-with-http-headers-and-new-warc-headers.warc.gz": "valid",
}

NOT_ARCHIVES = {".md", ".txt", ".cdx", ".out", ".warcio"}


def corpus_files() -> list[str]:
    found = []
    for root in (WARCIO_DATA, IIPC_DATA):
        for path in root.rglob("*"):
            if path.is_file() and path.suffix not in NOT_ARCHIVES and not path.name.startswith("LICENSE"):
                found.append(path.relative_to(CORPORA).as_posix())
    return sorted(found)


def failures(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.kind != "warning"]


def copy_in(tmp_path: Path, relative: str) -> Path:
    target = tmp_path / Path(relative).name
    shutil.copyfile(CORPORA / relative, target)
    return target


def test_every_corpus_archive_has_a_verdict() -> None:
    assert corpus_files() == sorted(CORPUS_VERDICTS)


@pytest.mark.parametrize("relative", sorted(CORPUS_VERDICTS))
def test_corpus_verdict(tmp_path: Path, relative: str) -> None:
    path = copy_in(tmp_path, relative)
    problems, records = verify_warc(path)
    verdict = CORPUS_VERDICTS[relative]
    if verdict == "valid":
        assert failures(problems) == [], problems
        assert records > 0
    else:
        assert verdict == "invalid"
        assert any(p.kind == "warc" for p in problems), problems
        assert all(p.path == str(path) for p in problems)


def test_corpus_details(tmp_path: Path) -> None:
    problems, _ = verify_warc(copy_in(tmp_path, "warcio-test-data/example-trunc.warc"))
    assert any("not followed by CRLF CRLF" in p.detail and p.offset == 1197 for p in problems)
    problems, _ = verify_warc(copy_in(tmp_path, "warcio-test-data/example-wget-bad-target-uri.warc.gz"))
    assert [p.kind for p in problems] == ["warning"] and "wget" in problems[0].detail
    problems, _ = verify_warc(copy_in(tmp_path, "warcio-test-data/example-space-in-target-uri.warc.gz"))
    assert [p.kind for p in problems] == ["warning"] and "whitespace" in problems[0].detail
    problems, _ = verify_warc(copy_in(tmp_path, "warcio-test-data/example-bad-non-chunked.warc.gz"))
    assert any("single gzip member" in p.detail for p in problems)
    problems, _ = verify_warc(copy_in(tmp_path, "warcio-test-data/example-wrong-chunks.warc.gz"))
    assert any("gzip member" in p.detail for p in problems)
    problems, _ = verify_warc(copy_in(tmp_path, "warcio-test-data/example-digest.warc"))
    assert any("WARC-Payload-Digest" in p.detail for p in problems)
    assert any("used by an earlier record" in p.detail for p in problems)


def test_chunked_payload_digest_over_body_as_transmitted_is_accepted(tmp_path: Path) -> None:
    # warcprox digested the chunked body as transmitted; the de-chunked body would not match.
    problems, records = verify_warc(copy_in(tmp_path, "warcio-test-data/example-iana.org-chunked.warc"))
    assert (problems, records) == ([], 3)


# --------------------------------------------------------------------------- hand-made records


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def new_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def raw_record(
    record_type: str,
    block: bytes,
    *,
    record_id: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    drop: tuple[str, ...] = (),
    version: str = "WARC/1.0",
) -> bytes:
    headers = [
        ("WARC-Type", record_type),
        ("WARC-Record-ID", record_id or new_id()),
        ("WARC-Date", "2024-05-01T12:00:00Z"),
        ("WARC-Target-URI", "http://example.org/cable/1"),
        ("Content-Length", str(len(block))),
    ]
    headers = [(k, v) for k, v in headers if k not in drop] + (extra or [])
    head = version + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def http_response(body: bytes, *, chunked: bool = False) -> tuple[bytes, bytes]:
    """(block, entity body) of an HTTP response, chunked on request."""
    if chunked:
        wire = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:])) + b"0\r\n\r\n"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + wire, body
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head + body, body


def write(tmp_path: Path, name: str, *records: bytes, gzipped: bool = False) -> Path:
    path = tmp_path / name
    with open(path, "wb") as out:
        for record in records:
            out.write(gzip.compress(record) if gzipped else record)
    return path


def response(body: bytes, *, chunked: bool = False, digest_of: bytes | None = None, **kwargs: object) -> bytes:
    block, entity = http_response(body, chunked=chunked)
    extra = [
        ("Content-Type", "application/http; msgtype=response"),
        ("WARC-Block-Digest", sha1_b32(block)),
        ("WARC-Payload-Digest", sha1_b32(entity if digest_of is None else digest_of)),
    ]
    return raw_record("response", block, extra=extra, **kwargs)  # type: ignore[arg-type]


def test_payload_digest_over_dechunked_body(tmp_path: Path) -> None:
    body = b"cable text that is long enough to chunk"
    good = write(tmp_path, "good.warc", response(body, chunked=True))
    assert verify_warc(good) == ([], 1)
    block, _ = http_response(body, chunked=True)
    raw_body = block.split(b"\r\n\r\n", 1)[1]
    as_sent = write(tmp_path, "as-sent.warc", response(body, chunked=True, digest_of=raw_body))
    assert verify_warc(as_sent) == ([], 1)
    wrong = write(tmp_path, "wrong.warc", response(body, chunked=True, digest_of=b"something else"))
    problems, _ = verify_warc(wrong)
    assert [p.kind for p in problems] == ["warc"]
    assert problems[0].algorithm == "sha1" and problems[0].expected == sha1_b32(b"something else")


@pytest.mark.parametrize(
    ("encode", "label"),
    [
        (lambda d: base64.b32encode(d).decode(), "base32"),
        (lambda d: base64.b32encode(d).decode().rstrip("="), "base32 unpadded"),
        (lambda d: d.hex(), "base16"),
        (lambda d: d.hex().upper(), "base16 upper"),
        (lambda d: base64.b64encode(d).decode(), "base64"),
        (lambda d: base64.urlsafe_b64encode(d).decode().rstrip("="), "base64 url-safe"),
    ],
)
def test_digest_encodings(encode: object, label: str) -> None:
    for algorithm in ("md5", "sha1", "sha256", "sha512"):
        digest = hashlib.new(algorithm, b"payload").digest()
        assert digest in decode_digest(encode(digest), len(digest)), (label, algorithm)  # type: ignore[operator]


def test_block_digest_in_sha256_base16(tmp_path: Path) -> None:
    block = b"resource content"
    good = raw_record(
        "resource", block, extra=[("WARC-Block-Digest", "sha256:" + hashlib.sha256(block).hexdigest())]
    )
    assert verify_warc(write(tmp_path, "a.warc", good)) == ([], 1)
    bad = raw_record("resource", block, extra=[("WARC-Block-Digest", "sha256:" + hashlib.sha256(b"x").hexdigest())])
    problems, _ = verify_warc(write(tmp_path, "b.warc", bad))
    assert [(p.kind, p.algorithm) for p in problems] == [("warc", "sha256")]


def test_unknown_digest_algorithm_is_not_checked(tmp_path: Path) -> None:
    record = raw_record("resource", b"x", extra=[("WARC-Block-Digest", "whirlpool9:AAAA")])
    report = verify_warc_report(write(tmp_path, "a.warc", record))
    assert [p.kind for p in report.problems] == ["not-checked"]
    assert not report.ok and not report.fully_checked


@pytest.mark.parametrize(
    ("drop", "extra", "version", "expect"),
    [
        (("WARC-Record-ID",), [], "WARC/1.0", "no WARC-Record-ID"),
        (("WARC-Date",), [], "WARC/1.0", "no WARC-Date"),
        (("WARC-Type",), [], "WARC/1.0", "no WARC-Type"),
        (("WARC-Target-URI",), [], "WARC/1.0", "no WARC-Target-URI"),
        (("WARC-Date",), [("WARC-Date", "2024-13-01T00:00:00Z")], "WARC/1.0", "not a W3C date"),
        (("WARC-Date",), [("WARC-Date", "yesterday")], "WARC/1.0", "not a W3C date"),
        (("WARC-Record-ID",), [("WARC-Record-ID", "urn:uuid:no-brackets")], "WARC/1.0", "angle brackets"),
        ((), [], "WARC/0.9", "not WARC/1.0 or WARC/1.1"),
    ],
)
def test_header_problems(tmp_path: Path, drop: tuple[str, ...], extra: list[tuple[str, str]], version: str, expect: str) -> None:
    record = raw_record("resource", b"data", drop=drop, extra=extra, version=version)
    problems, _ = verify_warc(write(tmp_path, "a.warc", record, raw_record("resource", b"next")))
    assert any(p.kind == "warc" and expect in p.detail for p in problems), problems


def test_warc_1_1_dates_with_fractions_are_valid(tmp_path: Path) -> None:
    record = raw_record(
        "resource", b"x", drop=("WARC-Date",), extra=[("WARC-Date", "2024-05-01T12:00:00.123456Z")], version="WARC/1.1"
    )
    assert verify_warc(write(tmp_path, "a.warc", record)) == ([], 1)


def test_bad_content_length_resyncs_at_next_record(tmp_path: Path) -> None:
    broken = raw_record("resource", b"data", drop=("Content-Length",), extra=[("Content-Length", "four")])
    path = write(tmp_path, "a.warc", raw_record("warcinfo", b"x"), broken, raw_record("resource", b"after"))
    problems, records = verify_warc(path)
    assert any("not a number" in p.detail for p in problems)
    assert any("resumed at the next record" in p.detail for p in problems)
    assert records == 2


@pytest.mark.parametrize("length", ["\u00b2", "\u0661\u0662"])  # digits str.isdigit knows, int() too or not
def test_a_content_length_of_non_ascii_digits_is_not_a_number(tmp_path: Path, length: str) -> None:
    block = b"x" * 12
    broken = raw_record("resource", block, drop=("Content-Length",), extra=[("Content-Length", length)])
    problems, records = verify_warc(write(tmp_path, "a.warc", broken, raw_record("resource", b"after")))
    assert any("not a number" in p.detail for p in problems), problems
    assert records == 1


def test_corrupt_gzip_member_resyncs_at_next_member(tmp_path: Path) -> None:
    records = [raw_record("resource", bytes(range(256)) * 40) for _ in range(4)]
    path = write(tmp_path, "a.warc.gz", *records, gzipped=True)
    data = bytearray(path.read_bytes())
    second = len(gzip.compress(records[0]))
    data[second + 40] ^= 0xFF  # inside the deflate data of the second member
    path.write_bytes(bytes(data))
    problems, count = verify_warc(path)
    assert any(p.kind == "warc" and p.offset == second and "corrupt" in p.detail for p in problems), problems
    assert any("resumed" in p.detail for p in problems)
    assert count == 3  # the records before and after the broken member were still checked


def test_record_ids_unique_and_references_resolved(tmp_path: Path) -> None:
    response_id, request_id = new_id(), new_id()
    pair = [
        raw_record("response", b"r", record_id=response_id),
        raw_record("request", b"q", record_id=request_id, extra=[("WARC-Concurrent-To", response_id)]),
    ]
    assert verify_warc(write(tmp_path, "ok.warc", *pair)) == ([], 2)
    # forward references resolve too
    assert verify_warc(write(tmp_path, "forward.warc", *reversed(pair))) == ([], 2)
    dangling = raw_record("request", b"q", extra=[("WARC-Concurrent-To", new_id())])
    problems, _ = verify_warc(write(tmp_path, "dangling.warc", dangling))
    assert [p.kind for p in problems] == ["warc"] and "WARC-Concurrent-To" in problems[0].detail
    duplicate = write(tmp_path, "dup.warc", raw_record("resource", b"a", record_id=response_id), pair[0])
    problems, _ = verify_warc(duplicate)
    assert any("used by an earlier record" in p.detail for p in problems)


def test_references_across_files(tmp_path: Path) -> None:
    response_id = new_id()
    first = write(tmp_path, "1.warc", raw_record("response", b"r", record_id=response_id))
    second = write(tmp_path, "2.warc", raw_record("request", b"q", extra=[("WARC-Concurrent-To", response_id)]))
    assert failures(verify_warc(second)[0])
    scans = [scan_warc(first), scan_warc(second)]
    assert resolve_references(scans) == []
    again = scan_warc(first, display_path="copy.warc")
    assert [p.kind for p in resolve_references([scans[0], again])] == ["warc"]  # same id in two files


def test_revisit_references(tmp_path: Path) -> None:
    absent = new_id()
    external = raw_record(
        "revisit",
        b"",
        extra=[
            ("WARC-Refers-To", absent),
            ("WARC-Refers-To-Target-URI", "http://example.org/cable/1"),
            ("WARC-Refers-To-Date", "2024-04-01T00:00:00Z"),
            ("WARC-Payload-Digest", sha1_b32(b"content stored elsewhere")),
        ],
    )
    problems, _ = verify_warc(write(tmp_path, "ext.warc", external))
    assert [p.kind for p in problems] == ["warning"]  # unresolved, but identified by URI and date
    bare = raw_record("revisit", b"", extra=[("WARC-Refers-To", absent)])
    problems, _ = verify_warc(write(tmp_path, "bare.warc", bare))
    assert [p.kind for p in problems] == ["warc"]


def test_empty_file_and_arc_content(tmp_path: Path) -> None:
    problems, records = verify_warc(write(tmp_path, "empty.warc"))
    assert records == 0 and [p.kind for p in problems] == ["warc"]
    arc = tmp_path / "disguised.warc"  # ARC content is read as ARC, whatever the name: here cut short
    arc.write_bytes(b"filedesc://example.arc 0.0.0.0 20240101000000 text/plain 76\n1 0 cablekeep\n")
    problems, _ = verify_warc(arc)
    assert [p.kind for p in problems] == ["warc"] and "cut short" in problems[0].detail


def test_unreadable_file_raises(tmp_path: Path) -> None:
    with pytest.raises(BagUnreadableError):
        verify_warc(tmp_path / "absent.warc.gz")


def test_raw_hashers_see_every_byte_even_when_the_warc_breaks(tmp_path: Path) -> None:
    path = write(tmp_path, "a.warc.gz", raw_record("resource", b"x" * 5000), gzipped=True)
    data = path.read_bytes() + b"trailing garbage that is not gzip" * 1000
    path.write_bytes(data)
    hasher = hashlib.sha256()
    scan = scan_warc(path, raw_hashers=[hasher])
    assert scan.problems and hasher.digest() == hashlib.sha256(data).digest()


def test_a_big_record_is_streamed(tmp_path: Path) -> None:
    block = bytes(range(256)) * (96 * 1024)  # 24 MiB
    record = raw_record("resource", block, extra=[("WARC-Block-Digest", sha1_b32(block))])
    for gzipped in (False, True):
        path = write(tmp_path, "big.warc.gz" if gzipped else "big.warc", record, gzipped=gzipped)
        tracemalloc.start()
        try:
            problems, records = verify_warc(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (problems, records) == ([], 1)
        assert peak < 8 * 1024 * 1024, peak


# --------------------------------------------------------------------------- warcio-written files, cut


def write_with_warcio(path: Path, *, gzipped: bool) -> list[int]:
    """A valid multi-record WARC; returns the offset of each record and the file size."""
    boundaries = [0]
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "cablekeep tests"}))
        boundaries.append(out.tell())
        for number in range(3):
            uri = f"http://example.org/cable/{number}"
            body = (f"<p>cable {number}</p>" * (40 + 300 * number)).encode()
            http_headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
            )
            resp = writer.create_warc_record(
                uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=http_headers
            )
            request_headers = StatusAndHeaders(f"GET /cable/{number} HTTP/1.1", [("Host", "example.org")], is_http_request=True)
            req = writer.create_warc_record(uri, "request", payload=io.BytesIO(b""), length=0, http_headers=request_headers)
            req.rec_headers.add_header("WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID"))
            for record in (resp, req):
                writer.write_record(record)
                boundaries.append(out.tell())
        log = b"crawl log\n" * 50
        note = writer.create_warc_record(
            "metadata://cablekeep/crawl.log", "resource", payload=io.BytesIO(log), length=len(log),
            warc_content_type="text/plain",
        )
        writer.write_record(note)
        boundaries.append(out.tell())
    return boundaries


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
def test_cut_anywhere_is_invalid_except_between_records(tmp_path: Path, gzipped: bool) -> None:
    """A cut exactly between records leaves a shorter valid WARC: nothing can tell it apart.

    Every other cut -- inside a header block, a content block, the closing CRLF CRLF or a gzip
    member, one byte either side of a boundary -- is invalid, and the problem gives an offset at
    or before the cut. A cut at offset 0 leaves an empty file, which is invalid (no record).
    """
    source = tmp_path / ("whole.warc.gz" if gzipped else "whole.warc")
    boundaries = write_with_warcio(source, gzipped=gzipped)
    data = source.read_bytes()
    size = len(data)
    assert boundaries[-1] == size
    assert verify_warc(source) == ([], len(boundaries) - 1)
    assert [info.offset for info in iter_warc_records(source)] == boundaries[:-1]

    cuts: set[int] = set()
    for start, end in zip(boundaries, boundaries[1:]):
        cuts.update({start - 1, start, start + 1, start + 12, start + 90, (start + end) // 2, end - 3})
    cuts.update(size * k // 23 for k in range(1, 23))
    cuts = {cut for cut in cuts if 0 < cut < size}
    assert len(cuts) >= 30
    inside = cuts - set(boundaries)
    assert len(inside) >= 30

    for cut in sorted(cuts):
        cut_file = tmp_path / f"cut-{cut}{source.suffix}"
        cut_file.write_bytes(data[:cut])
        problems, _ = verify_warc(cut_file)
        if cut in boundaries:
            assert failures(problems) == [], (cut, problems)
        else:
            warc = [p for p in problems if p.kind == "warc"]
            assert warc, f"cut at {cut} of {size} went unnoticed"
            assert all(p.offset is not None and p.offset <= cut for p in warc), (cut, warc)
        cut_file.unlink()

    empty = tmp_path / f"empty{source.suffix}"
    empty.write_bytes(b"")
    assert [p.kind for p in verify_warc(empty)[0]] == ["warc"]


def test_offsets_agree_with_warcio(tmp_path: Path) -> None:
    for relative in ("warcio-test-data/example.warc.gz", "warcio-test-data/example.warc"):
        path = copy_in(tmp_path, relative)
        with open(path, "rb") as stream:
            iterator = ArchiveIterator(stream)
            expected = []
            for _record in iterator:
                expected.append(iterator.get_record_offset())
        assert [info.offset for info in iter_warc_records(path)] == expected


@pytest.fixture()
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep only two record ids in memory, so the spooled ids decide what lies further apart."""
    from cablekeep.fixity import warccheck

    monkeypatch.setattr(warccheck, "ID_WINDOW", 2)


def test_references_and_duplicates_beyond_the_window(tmp_path: Path, small_window: None) -> None:
    first, last = new_id(), new_id()
    filler = [raw_record("resource", b"x%d" % n) for n in range(6)]
    far_apart = [
        raw_record("request", b"q", extra=[("WARC-Concurrent-To", last)]),  # forward, 7 records ahead
        raw_record("response", b"r", record_id=first),
        *filler,
        raw_record("response", b"r", record_id=last, extra=[("WARC-Concurrent-To", first)]),  # back 7
    ]
    assert verify_warc(write(tmp_path, "far.warc", *far_apart)) == ([], 9)
    twice = write(tmp_path, "twice.warc", raw_record("resource", b"a", record_id=first), *filler,
                  raw_record("resource", b"b", record_id=first))
    problems, _ = verify_warc(twice)
    assert [p.kind for p in problems] == ["warc"]
    assert "used by an earlier record of this file (offset 0)" in problems[0].detail
    dangling = write(tmp_path, "dangling.warc", raw_record("request", b"q", extra=[("WARC-Concurrent-To", new_id())]),
                     *filler)
    problems, _ = verify_warc(dangling)
    assert [p.kind for p in problems] == ["warc"] and "which no checked WARC file holds" in problems[0].detail


@pytest.mark.parametrize("order", ["near-then-far", "far-then-near"])
def test_an_id_used_three_times_is_reported_twice(tmp_path: Path, small_window: None, order: str) -> None:
    again = new_id()
    filler = [raw_record("resource", b"x%d" % n) for n in range(6)]
    same = [raw_record("resource", b"s%d" % n, record_id=again) for n in range(3)]
    records = [same[0], same[1], *filler, same[2]] if order == "near-then-far" else [same[0], *filler, same[1], same[2]]
    problems, _ = verify_warc(write(tmp_path, f"{order}.warc", *records))
    assert [p.kind for p in problems] == ["warc", "warc"], problems
    assert all("used by an earlier record" in p.detail for p in problems)


def test_record_ids_spool_to_disk_and_survive_a_trip_to_another_process(tmp_path: Path) -> None:
    import pickle

    from cablekeep.fixity import recordids

    spool = recordids.IdSpool()
    pairs = [(recordids.id_hash(f"urn:uuid:{n}"), n * 100) for n in range(20_000)]  # more than one buffer
    for hashed, offset in pairs:
        spool.add(hashed, offset)
    path = spool._path
    assert path is not None and Path(path).stat().st_size >= 16 * recordids._BUFFER
    copy = pickle.loads(pickle.dumps(spool))
    del spool  # the sender lets go: the file is now the copy's
    assert Path(path).exists() and list(copy.pairs()) == pairs
    with recordids.IdIndex(tmp_path) as index:
        index.add(0, copy.pairs())
        index.add(1, [(pairs[5][0], 7)])
        assert [(h, places) for h, places in index.duplicates()] == [(pairs[5][0], [(0, 500), (1, 7)])]
        assert pairs[-1][0] in index and recordids.id_hash("urn:uuid:none") not in index
    copy.discard()
    assert not Path(path).exists()


def test_verify_memory_does_not_grow_with_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record ids go to disk: checking 10,000 records takes about the memory 1,000 take (both
    past the ids kept in memory, here 256)."""
    from cablekeep.fixity import warccheck

    monkeypatch.setattr(warccheck, "ID_WINDOW", 256)

    def peak(records: int) -> int:
        path = tmp_path / f"{records}.warc"
        with open(path, "wb") as out:
            for n in range(records // 2):
                response_id, request_id = new_id(), new_id()
                out.write(raw_record("response", b"r" * 2000, record_id=response_id,  # files past the read buffer
                                     extra=[("WARC-Concurrent-To", request_id)]))
                out.write(raw_record("request", b"q", record_id=request_id, extra=[("WARC-Concurrent-To", response_id)]))
        tracemalloc.start()
        try:
            problems, count = verify_warc(path)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert (problems, count) == ([], records)

    small, large = peak(1_000), peak(10_000)
    assert large < small * 1.25, (small, large)

# --------------------------------------------------------------------------- names that lie


def test_a_name_that_lies_about_gzip_is_a_warning(tmp_path: Path) -> None:
    record = raw_record("resource", b"cable")
    plain_as_gz = write(tmp_path, "plain.warc.gz", record)
    problems, records = verify_warc(plain_as_gz)
    assert records == 1 and [(p.kind, p.path) for p in problems] == [("warning", str(plain_as_gz))]
    assert "plain.warc.gz is named .warc.gz but holds an uncompressed WARC" in problems[0].detail
    assert "rename it to plain.warc." in problems[0].detail
    gz_as_plain = write(tmp_path, "gzipped.warc", record, gzipped=True)
    problems, records = verify_warc(gz_as_plain)
    assert records == 1 and [(p.kind, p.path) for p in problems] == [("warning", str(gz_as_plain))]
    assert "gzipped.warc is named .warc but is gzip-compressed" in problems[0].detail
    # names that tell the truth, and names that are no WARC name, say nothing
    assert verify_warc(write(tmp_path, "plain.warc", record)) == ([], 1)
    assert verify_warc(write(tmp_path, "gzipped.warc.gz", record, gzipped=True)) == ([], 1)
    assert verify_warc(write(tmp_path, "plain.warc.gz.bad", record)) == ([], 1)
    # the name is judged on the stream too, as a bag verifier passes it
    with open(plain_as_gz, "rb") as stream:
        scan = scan_warc_stream(stream, name="data/warc/x.warc.gz", display_path="data/warc/x.warc.gz")
    assert [(p.kind, p.path) for p in scan.problems] == [("warning", "data/warc/x.warc.gz")]


def test_a_name_is_not_judged_when_the_content_is_no_warc(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(b"<html>not a WARC</html>\r\n\r\n")
    assert [p.kind for p in verify_warc(garbage)[0]] == ["warc"]  # no record; the name is not the point
    arc = tmp_path / "disguised.warc"
    arc.write_bytes(gzip.compress(b"filedesc://example.arc 0.0.0.0 20240101000000 text/plain 76\n1 0 x\n"))
    problems = verify_warc(arc)[0]  # checked as ARC (cut short); a gzip ARC named .warc is not judged by its name
    assert [p.kind for p in problems] == ["warc"] and "cut short" in problems[0].detail
