"""Writing WARC/1.1 files with warcio: rolling, one gzip member per record, crash-safe.

The only module that imports warcio. A :class:`WarcWriter` writes into
``<collection>-<timestamp>-<serial>.warc.gz.open`` and renames the file to its final name only
when it is closed, so nothing that looks finished is ever half written. Each file starts with a
``warcinfo`` record. Records of one fetch (request, response, and a metadata record when the
page was understood) are written as one unit and a file only rolls over between units, so a
WARC-Concurrent-To or WARC-Refers-To always points into the same file.

After each unit the writer is flushed and :meth:`WarcWriter.commit_point` says how far the open
file is complete. The crawl stores that point in its state database in the same transaction
that marks the URL done; after a crash :func:`trim_open_file` cuts the open file back to it.

warcio compresses every member at zlib level 9 (about 3.5k records/s here). This writer makes its
own gzip members with ISA-L (``isal``, level 2 by default: about four times zlib level 6's speed,
files about 5 % larger). The request and response records of a fetch, the crawl's hot path, are
formatted here (:func:`_record_bytes`) rather than by warcio's record builder, which cost more
than the fetch's compression and hashing together; every other record is warcio's, and the
tests read all of them back with warcio.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from isal import isal_zlib
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from .. import __version__
from ..errors import OutputError
from .exchange import Exchange

OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
_READ_CHUNK = 64 * 1024
GZIP_LEVEL = 2  # ISA-L's levels are 0-3
GZIP_WBITS = 15 + 16  # a gzip header and trailer around the deflate stream
WRITE_BUFFER = 1024 * 1024  # bytes of records buffered before a write(2); commit_point flushes them
PREPARED_SPOOL = 1024 * 1024  # bytes of prepared (compressed) records kept in memory before spilling to disk


def make_record_id() -> str:
    """A fresh WARC-Record-ID."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def sha1_label(raw_digest: bytes) -> str:
    """A sha1 digest as WARC labels it: ``sha1:`` and base32, as pywb and warcio expect."""
    return "sha1:" + base64.b32encode(raw_digest).decode("ascii")


def warc_date(moment: datetime) -> str:
    """WARC-Date with microseconds (WARC/1.1)."""
    return str(datetime_to_iso_date(moment.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True))


_EMPTY_SHA1_LABEL = sha1_label(hashlib.sha1(b"").digest())  # the payload digest of a request without a body


def timestamp14(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class WrittenRecord:
    """Where one record landed, for the index and the crawl state."""

    record_id: str
    record_type: str
    target_uri: str
    filename: str
    offset: int
    length: int
    date: datetime
    mime: str | None = None
    status: int | None = None
    payload_digest: str | None = None


@dataclass(frozen=True)
class Capture:
    """An earlier capture a revisit record refers to."""

    target_uri: str
    date: str  # its WARC-Date
    record_id: str | None = None


@dataclass
class PreparedExchange:
    """The request and response records of one fetch, built and compressed off the writer's thread.

    ``data`` holds the response record's gzip member followed by the request record's; the writer
    only appends them to its open file (:meth:`WarcWriter.write_prepared`). Large bodies spill to
    a temporary file, so a 100 MB body is never held in memory."""

    request_id: str
    response_id: str
    date: datetime
    warc_date: str
    payload_digest: str
    data: IO[bytes]
    response_length: int
    request_length: int
    spill: Path | None = None  # set by detach(): the records are in this file, not in ``data``

    def close(self) -> None:
        self.data.close()
        if self.spill is not None:
            self.spill.unlink(missing_ok=True)

    def detach(self, directory: Path) -> PreparedExchange:
        """A copy that can be pickled (to another process): the records in memory when small,
        else moved into a file in ``directory`` that :meth:`close` removes."""
        try:
            self.data.seek(0)
            if self.response_length + self.request_length <= PREPARED_SPOOL:
                return dataclasses.replace(self, data=io.BytesIO(self.data.read()))
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=directory, suffix=".records", delete=False) as out:
                shutil.copyfileobj(self.data, out, _READ_CHUNK)
            return dataclasses.replace(self, data=io.BytesIO(), spill=Path(out.name))
        except OSError as exc:
            raise OutputError(f"cannot keep the WARC records of a fetch in {directory}: {exc}") from exc
        finally:
            self.data.close()


class _GzipMembers:
    """A file-like target for warcio that makes one gzip member per record (ended by flush)."""

    def __init__(self, out: IO[bytes], level: int) -> None:
        self.out = out
        self.level = level
        self._compressor: Any = None

    def write(self, data: bytes) -> int:
        if self._compressor is None:
            self._compressor = isal_zlib.compressobj(self.level, isal_zlib.DEFLATED, GZIP_WBITS)
        self.out.write(self._compressor.compress(data))
        return len(data)

    def flush(self) -> None:
        if self._compressor is not None:
            self.out.write(self._compressor.flush())
            self._compressor = None


class WarcWriter:
    """Writes the records of one crawl into rolling WARC files in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str,
        max_size: int,
        warcinfo: Mapping[str, str],
        clock: Callable[[], datetime] | None = None,
        make_id: Callable[[], str] = make_record_id,
        gzip_level: int = GZIP_LEVEL,
        serial: int = 0,
        tag: str = "",
    ) -> None:
        self.directory = directory
        self.prefix = prefix
        self.tag = f"{tag}-" if tag else ""  # a shard's files: <prefix>-<time>-s03-00001.warc.gz
        self.max_size = max_size
        self.warcinfo = dict(warcinfo)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.make_id = make_id
        self.gzip_level = gzip_level
        self.serial = serial
        self.finished: list[Path] = []
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._members: _GzipMembers | None = None
        self._writer: Any = None

    # -- files -------------------------------------------------------------------------------

    @property
    def open_path(self) -> Path | None:
        return self._path

    def _start_file(self) -> None:
        self.serial += 1
        name = f"{self.prefix}-{timestamp14(self.clock())}-{self.tag}{self.serial:05d}{WARC_SUFFIX}"
        path = self.directory / (name + OPEN_SUFFIX)
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._file = open(path, "xb", buffering=WRITE_BUFFER)
        except OSError as exc:
            raise OutputError(f"cannot create WARC file {path}: {exc}") from exc
        self._path = path
        self._members = _GzipMembers(self._file, self.gzip_level)
        self._writer = WARCWriter(self._members, gzip=False, warc_version="1.1")
        info = {"software": f"cablekeep/{__version__}", "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"}
        info.update(self.warcinfo)
        record = self._writer.create_warcinfo_record(name, info)
        self._set_id_date(record, self.clock())
        self._write(record)

    def reopen(self, open_path: Path, serial: int) -> None:
        """Continue appending to an existing ``.open`` file (after :func:`trim_open_file`)."""
        self.serial = serial
        self._file = open(open_path, "ab", buffering=WRITE_BUFFER)
        self._path = open_path
        self._members = _GzipMembers(self._file, self.gzip_level)
        self._writer = WARCWriter(self._members, gzip=False, warc_version="1.1")

    def _ensure_file(self) -> None:
        if self._file is None:
            self._start_file()

    def roll_if_full(self) -> None:
        """Close the current file if it reached ``max_size``; call between units only."""
        if self.full():
            self.close_file()

    def full(self) -> bool:
        """Whether the open file reached ``max_size`` (records still buffered count)."""
        return self._file is not None and self._file.tell() >= self.max_size

    def close_file(self) -> Path | None:
        """Flush, fsync and rename the open file to its final name."""
        if self._file is None or self._path is None:
            return None
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            final = self._path.with_name(self._path.name[: -len(OPEN_SUFFIX)])
            os.replace(self._path, final)
        except OSError as exc:
            raise OutputError(f"cannot close WARC file {self._path}: {exc}") from exc
        self._file = None
        self._path = None
        self.finished.append(final)
        return final

    def abandon(self) -> None:
        """After a failure: close the open file without finishing it; it stays ``.open`` for the
        next run to trim back to its last committed offset."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass  # the data past the last commit is cut off by the next run anyway
            self._file = None
            self._path = None

    def close(self) -> list[Path]:
        self.close_file()
        return list(self.finished)

    def commit_point(self) -> tuple[str, int] | None:
        """The open file and the offset up to which it holds whole records."""
        if self._file is None or self._path is None:
            return None
        try:
            self._file.flush()
        except OSError as exc:
            raise OutputError(f"cannot write to {self._path}: {exc}") from exc
        return self._path.name, self._file.tell()

    # -- records -----------------------------------------------------------------------------

    def _set_id_date(self, record: Any, moment: datetime) -> str:
        record_id = self.make_id()
        record.rec_headers.replace_header("WARC-Record-ID", record_id)
        record.rec_headers.replace_header("WARC-Date", warc_date(moment))
        return record_id

    def _write(self, record: Any) -> tuple[int, int]:
        assert self._file is not None
        offset = self._file.tell()
        try:
            self._writer.write_record(record)
        except OSError as exc:
            raise OutputError(f"cannot write to {self._path}: {exc}") from exc
        return offset, self._file.tell() - offset

    def _exchange_records(
        self, builder: Any, exchange: Exchange, revisit_of: Capture | None, payload_digest: str | None = None
    ) -> tuple[Any, Any, str, str]:
        """warcio records (response or revisit, request) of one fetch, IDs and dates set and linked."""
        moment = exchange.started
        common = {"WARC-IP-Address": exchange.ip_address} if exchange.ip_address else {}
        payload_digest = payload_digest or sha1_label(exchange.body_sha1)

        head = exchange.response_head.decode("iso-8859-1")
        status_line, _, rest = head.partition("\r\n")
        protocol, _, statusline = status_line.partition(" ")
        headers = [tuple(line.split(": ", 1)) for line in rest.split("\r\n") if ": " in line]
        http_headers = StatusAndHeaders(statusline, headers, protocol=protocol)
        response_headers = dict(common)
        response_headers["WARC-Payload-Digest"] = payload_digest
        if exchange.truncated:
            response_headers["WARC-Truncated"] = exchange.truncated
        exchange.body.seek(0)
        if revisit_of is None:
            # the block digest over the HTTP headers and the body, so warcio need not read it again
            http_headers.compute_headers_buffer()
            block = hashlib.sha1(http_headers.headers_buff)
            exchange.body.seek(0)
            while chunk := exchange.body.read(_READ_CHUNK):
                block.update(chunk)
            exchange.body.seek(0)
            block_digest: str | None = sha1_label(block.digest())
            response = builder.create_warc_record(
                exchange.url,
                "response",
                payload=exchange.body,
                length=exchange.body_length,
                warc_headers_dict=response_headers,
                http_headers=http_headers,
            )
        else:
            block_digest = None
            digest = response_headers.pop("WARC-Payload-Digest")
            if revisit_of.record_id:
                response_headers["WARC-Refers-To"] = revisit_of.record_id
            response = builder.create_revisit_record(
                exchange.url, digest, revisit_of.target_uri, revisit_of.date,
                http_headers=http_headers, warc_headers_dict=response_headers,
            )
        response_id = self._set_id_date(response, moment)

        req_text = exchange.request_head.decode("iso-8859-1")
        req_line, _, req_rest = req_text.partition("\r\n")
        req_headers = [tuple(line.split(": ", 1)) for line in req_rest.split("\r\n") if ": " in line]
        request = builder.create_warc_record(
            exchange.url,
            "request",
            warc_headers_dict=dict(common),
            http_headers=StatusAndHeaders(req_line, req_headers, is_http_request=True),
        )
        request_id = self._set_id_date(request, moment)
        request.rec_headers.replace_header("WARC-Concurrent-To", response_id)
        response.rec_headers.replace_header("WARC-Concurrent-To", request_id)
        if block_digest is not None:
            response.rec_headers.add_header("WARC-Block-Digest", block_digest)  # where warcio puts it
        return response, request, response_id, request_id

    def prepare_exchange(self, exchange: Exchange) -> PreparedExchange:
        """Build and compress the request and response records of one fetch; safe in any thread.

        Touches no file of the writer; :meth:`write_prepared` appends the result. A fetch whose
        payload turns out to be a duplicate is written with :meth:`write_exchange` instead."""
        data: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=PREPARED_SPOOL)
        moment = exchange.started
        date = warc_date(moment)
        payload_digest = sha1_label(exchange.body_sha1)
        response_id, request_id = self.make_id(), self.make_id()
        common = [("WARC-Date", date), ("WARC-Target-URI", exchange.url)]
        if exchange.ip_address:
            common.append(("WARC-IP-Address", exchange.ip_address))
        http_head = exchange.response_head
        block = hashlib.sha1(http_head)
        body = exchange.body
        body.seek(0)
        while chunk := body.read(_READ_CHUNK):
            block.update(chunk)
        response_headers = [
            ("WARC-Type", "response"), ("WARC-Record-ID", response_id), *common,
            ("WARC-Concurrent-To", request_id), ("WARC-Payload-Digest", payload_digest),
            ("WARC-Block-Digest", sha1_label(block.digest())),
        ]
        if exchange.truncated:
            response_headers.append(("WARC-Truncated", exchange.truncated))
        response_headers.append(("Content-Type", "application/http; msgtype=response"))
        request_head = exchange.request_head
        request_headers = [
            ("WARC-Type", "request"), ("WARC-Record-ID", request_id), *common,
            ("WARC-Concurrent-To", response_id), ("WARC-Payload-Digest", _EMPTY_SHA1_LABEL),
            ("WARC-Block-Digest", sha1_label(hashlib.sha1(request_head).digest())),
            ("Content-Type", "application/http; msgtype=request"),
        ]
        try:
            body.seek(0)
            _write_member(data, self.gzip_level, response_headers, http_head, exchange.body_length, body)
            response_length = data.tell()
            _write_member(data, self.gzip_level, request_headers, request_head, 0, None)
            request_length = data.tell() - response_length
            data.seek(0)
            body.seek(0)
        except OSError as exc:
            data.close()
            raise OutputError(f"cannot write a WARC record of {exchange.url} to a temporary file: {exc}") from exc
        except BaseException:
            data.close()
            raise
        return PreparedExchange(
            request_id, response_id, moment, date, payload_digest, data, response_length, request_length,
        )

    def write_prepared(self, exchange: Exchange, prepared: PreparedExchange) -> tuple[WrittenRecord, WrittenRecord]:
        """Append the records :meth:`prepare_exchange` made; returns (request, response) as written."""
        self._ensure_file()
        assert self._file is not None and self._path is not None
        filename = self._path.name[: -len(OPEN_SUFFIX)]
        offset = self._file.tell()
        try:
            if prepared.spill is not None:
                with open(prepared.spill, "rb") as records:
                    shutil.copyfileobj(records, self._file, _READ_CHUNK)
            else:
                prepared.data.seek(0)
                shutil.copyfileobj(prepared.data, self._file, _READ_CHUNK)
        except OSError as exc:
            raise OutputError(f"cannot write to {self._path}: {exc}") from exc
        moment = prepared.date
        mime = (exchange.content_type or "").split(";")[0].strip().lower() or None
        return (
            WrittenRecord(prepared.request_id, "request", exchange.url, filename, offset + prepared.response_length,
                          prepared.request_length, moment),
            WrittenRecord(
                prepared.response_id, "response", exchange.url, filename, offset, prepared.response_length, moment,
                mime=mime, status=exchange.status, payload_digest=prepared.payload_digest,
            ),
        )

    def write_exchange(
        self, exchange: Exchange, *, revisit_of: Capture | None = None
    ) -> tuple[WrittenRecord, WrittenRecord]:
        """Write the request and response records of one fetch; returns (request, response).

        With ``revisit_of`` (an earlier capture of the same payload) the response is written as a
        ``revisit`` record (profile identical-payload-digest): HTTP headers kept, payload left out,
        WARC-Refers-To-Target-URI and -Date (and WARC-Refers-To when the record ID is known)."""
        self._ensure_file()
        assert self._path is not None
        filename = self._path.name[: -len(OPEN_SUFFIX)]
        moment = exchange.started
        response, request, response_id, request_id = self._exchange_records(self._writer, exchange, revisit_of)
        resp_offset, resp_length = self._write(response)
        req_offset, req_length = self._write(request)
        mime = (exchange.content_type or "").split(";")[0].strip().lower() or None
        return (
            WrittenRecord(request_id, "request", exchange.url, filename, req_offset, req_length, moment),
            WrittenRecord(
                response_id, "response" if revisit_of is None else "revisit", exchange.url, filename,
                resp_offset, resp_length, moment,
                mime=mime, status=exchange.status, payload_digest=sha1_label(exchange.body_sha1),
            ),
        )

    def write_metadata(
        self, target_uri: str, refers_to: str, payload: bytes, moment: datetime,
        content_type: str = "application/json",
    ) -> WrittenRecord:
        """A metadata record about a capture (extracted cable fields, outlinks): one per page, so its
        header block is written directly (the fields and their order warcio's builder gives it)."""
        self._ensure_file()
        assert self._file is not None and self._path is not None
        record_id = self.make_id()
        digest = sha1_label(hashlib.sha1(payload).digest())
        headers = [
            ("WARC-Refers-To", refers_to), ("WARC-Type", "metadata"), ("WARC-Record-ID", record_id),
            ("WARC-Target-URI", target_uri), ("WARC-Date", warc_date(moment)), ("WARC-Payload-Digest", digest),
            ("WARC-Block-Digest", digest), ("Content-Type", content_type),
        ]
        offset = self._file.tell()
        try:
            _write_member(self._file, self.gzip_level, headers, b"", len(payload), io.BytesIO(payload))
        except OSError as exc:
            raise OutputError(f"cannot write to {self._path}: {exc}") from exc
        return WrittenRecord(
            record_id, "metadata", target_uri, self._path.name[: -len(OPEN_SUFFIX)], offset,
            self._file.tell() - offset, moment, mime=content_type,
        )

    def write_resource(
        self, target_uri: str, payload: bytes, content_type: str, concurrent_to: str, moment: datetime,
    ) -> WrittenRecord:
        """A resource record made during a capture (a browser's screenshot, its rendered DOM),
        linked to the capture's response record by WARC-Concurrent-To."""
        self._ensure_file()
        assert self._path is not None
        record = self._writer.create_warc_record(
            target_uri, "resource", payload=io.BytesIO(payload), length=len(payload),
            warc_content_type=content_type, warc_headers_dict={"WARC-Concurrent-To": concurrent_to},
        )
        record_id = self._set_id_date(record, moment)
        offset, length = self._write(record)
        return WrittenRecord(
            record_id, "resource", target_uri, self._path.name[: -len(OPEN_SUFFIX)], offset, length, moment,
            mime=content_type, payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
        )


def _record_bytes(headers: list[tuple[str, str]], block_length: int) -> bytes:
    """A WARC/1.1 record's header block, Content-Length last, ended by the empty line."""
    lines = ["WARC/1.1", *(f"{name}: {value}" for name, value in headers), f"Content-Length: {block_length}", "", ""]
    text = "\r\n".join(lines)
    if text.count("\n") != len(lines) - 1:
        raise ValueError(f"a WARC header value holds a line break: {headers!r}")
    return text.encode("utf-8")


def _write_member(
    out: IO[bytes], level: int, headers: list[tuple[str, str]], http_head: bytes, body_length: int, body: IO[bytes] | None
) -> None:
    """One record as one gzip member: WARC headers, the HTTP head, ``body_length`` bytes of body."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, GZIP_WBITS)
    out.write(compressor.compress(_record_bytes(headers, len(http_head) + body_length) + http_head))
    left = body_length
    while body is not None and left > 0:
        chunk = body.read(min(_READ_CHUNK, left))
        if not chunk:
            raise ValueError(f"the body ended {left} bytes before its recorded length")
        out.write(compressor.compress(chunk))
        left -= len(chunk)
    out.write(compressor.compress(b"\r\n\r\n"))
    out.write(compressor.flush())


def trim_open_file(path: Path, committed: int) -> None:
    """Cut an ``.open`` WARC back to its last committed offset (what a crash left past it goes)."""
    with open(path, "r+b") as handle:
        handle.truncate(committed)
        handle.flush()
        os.fsync(handle.fileno())



def read_response(path: Path, url: str, limit: int = 64 * 1024 * 1024) -> tuple[bytes, str | None]:
    """The payload (Content-Encoding undone, at most ``limit`` bytes) and Content-Type of the first
    response record for ``url`` in a WARC file. Raises KeyError when there is none."""
    from warcio.archiveiterator import ArchiveIterator

    wanted = {url, url.rstrip("/")}
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type != "response":
                continue
            target = record.rec_headers.get_header("WARC-Target-URI") or ""
            if target in wanted or target.rstrip("/") in wanted:
                content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
                return bytes(record.content_stream().read(limit)), content_type
    raise KeyError(url)


@dataclass(frozen=True)
class StoredResponse:
    """A response record read back: its HTTP status and headers and its payload (Content-Encoding undone)."""

    target_uri: str
    status: int | None
    headers: list[tuple[str, str]]
    payload: bytes


def read_response_at(path: Path, offset: int, limit: int = 64 * 1024 * 1024) -> StoredResponse:
    """The response record that starts at ``offset`` of a WARC file (as the CDXJ index names it), at
    most ``limit`` bytes of its payload. Raises KeyError when no response record starts there."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as handle:
        handle.seek(offset)
        for record in ArchiveIterator(handle):
            if record.rec_type != "response":
                break
            http = record.http_headers
            status = http.get_statuscode() if http else None
            return StoredResponse(
                target_uri=record.rec_headers.get_header("WARC-Target-URI") or "",
                status=int(status) if status and status.isdigit() else None,
                headers=[(str(k), str(v)) for k, v in (http.headers if http else [])],
                payload=bytes(record.content_stream().read(limit)),
            )
    raise KeyError(f"{path}@{offset}")
