"""Records the WARC writer builds itself (no warcio builder) are the records warcio's builder makes."""

from __future__ import annotations

import gzip
import io
from datetime import datetime, timezone
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from cablekeep.capture.warc import OPEN_SUFFIX, WarcWriter, warc_date

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def _warcio_metadata(target_uri: str, refers_to: str, payload: bytes, record_id: str, content_type: str) -> bytes:
    out = io.BytesIO()
    builder = WARCWriter(out, gzip=False, warc_version="1.1")
    record = builder.create_warc_record(target_uri, "metadata", payload=io.BytesIO(payload), length=len(payload),
                                        warc_content_type=content_type,
                                        warc_headers_dict={"WARC-Refers-To": refers_to})
    record.rec_headers.replace_header("WARC-Record-ID", record_id)
    record.rec_headers.replace_header("WARC-Date", warc_date(MOMENT))
    builder.write_record(record)
    return out.getvalue()


def test_metadata_record_is_warcios_byte_for_byte(tmp_path: Path) -> None:
    ids = iter(f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(10))
    writer = WarcWriter(tmp_path, prefix="t", max_size=10**9, warcinfo={}, clock=lambda: MOMENT,
                        make_id=lambda: next(ids))
    payloads = [b'{"cable_id": "09ASTANA1", "text": "caf\xc3\xa9"}', b"", b"x" * 200_000]
    written = [writer.write_metadata(f"http://example.org/cable/{n}", "<urn:uuid:refers>", payload, MOMENT,
                                     "application/json" if n else "text/plain")
               for n, payload in enumerate(payloads)]
    path = writer.open_path
    assert path is not None and path.name.endswith(OPEN_SUFFIX)
    writer.close()
    data = (tmp_path / path.name[: -len(OPEN_SUFFIX)]).read_bytes()
    for n, (payload, record) in enumerate(zip(payloads, written)):
        member = data[record.offset: record.offset + record.length]
        expected = _warcio_metadata(f"http://example.org/cable/{n}", "<urn:uuid:refers>", payload, record.record_id,
                                    "application/json" if n else "text/plain")
        assert gzip.decompress(member) == expected  # one gzip member each, the same bytes
    with open(tmp_path / path.name[: -len(OPEN_SUFFIX)], "rb") as stream:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
                   for r in ArchiveIterator(stream, check_digests="raise")]
    assert records[1:] == [("metadata", f"http://example.org/cable/{n}", p) for n, p in enumerate(payloads)]
