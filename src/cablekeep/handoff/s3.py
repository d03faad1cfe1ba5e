"""S3-compatible object storage through boto3: the only module of cablekeep that imports boto3 or botocore.

A thin, typed store over one bucket: what an object is (size, the server's SHA-256 when it keeps
one), reading an object back in blocks, a single upload, and the multipart calls a resumable
upload needs. Every upload carries its SHA-256 (``ChecksumAlgorithm SHA256``), which S3 checks on
receipt and refuses (``BadDigest``) when the bytes differ. Credentials come from boto3's own chain
(the environment, or the named ``profile``); cablekeep never passes keys. Errors become
:class:`~cablekeep.errors.OutputError` naming the bucket, the key and what to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from ..bagging.layout import BLOCK
from ..errors import OutputError

_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


@dataclass(frozen=True)
class RemoteObject:
    """An object as the server describes it. ``sha256_b64`` is None when the server keeps no SHA-256."""

    size: int
    sha256_b64: str | None
    etag: str


@dataclass(frozen=True)
class RemotePart:
    number: int
    size: int
    sha256_b64: str | None
    etag: str


class S3Store:
    """One bucket of an S3-compatible server."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        storage_class: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.storage_class = storage_class
        try:
            session = boto3.session.Session(profile_name=profile, region_name=region)
        except botocore.exceptions.BotoCoreError as exc:
            raise OutputError(f"cannot use the AWS profile {profile!r}: {exc}") from exc
        config = botocore.config.Config(
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else None,
            max_pool_connections=16,
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)

    def _fail(self, what: str, key: str, exc: Exception) -> OutputError:
        return OutputError(f"s3://{self.bucket}/{key}: {what} failed: {exc}; check the destination and credentials")

    def head(self, key: str) -> RemoteObject | None:
        """The object at ``key``, or None when there is none."""
        try:
            reply = self._client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except botocore.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND:
                return None
            raise self._fail("looking up", key, exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail("looking up", key, exc) from exc
        return RemoteObject(int(reply["ContentLength"]), reply.get("ChecksumSHA256"), str(reply.get("ETag", "")))

    def read_sha256(self, key: str) -> tuple[str, int]:
        """(hex SHA-256, size) of the object's bytes, read back in blocks."""
        digest = hashlib.sha256()
        size = 0
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
            for block in body.iter_chunks(BLOCK):
                digest.update(block)
                size += len(block)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail("reading back", key, exc) from exc
        return digest.hexdigest(), size

    def put(self, key: str, data: bytes | bytearray, sha256_b64: str) -> None:
        """One object in one request; the server checks ``sha256_b64`` on receipt."""
        extra = {"StorageClass": self.storage_class} if self.storage_class else {}
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=sha256_b64, **extra
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail("uploading", key, exc) from exc

    def find_upload(self, key: str) -> str | None:
        """The id of the newest unfinished multipart upload of exactly ``key``, if any."""
        try:
            reply = self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail("listing unfinished uploads of", key, exc) from exc
        uploads = [u for u in reply.get("Uploads", []) if u.get("Key") == key]
        uploads.sort(key=lambda u: u.get("Initiated", 0))
        return str(uploads[-1]["UploadId"]) if uploads else None

    def start_upload(self, key: str) -> str:
        extra = {"StorageClass": self.storage_class} if self.storage_class else {}
        try:
            reply = self._client.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **extra)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail("starting the upload of", key, exc) from exc
        return str(reply["UploadId"])

    def list_parts(self, key: str, upload_id: str) -> dict[int, RemotePart]:
        parts: dict[int, RemotePart] = {}
        marker = 0
        try:
            while True:
                reply = self._client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
                for part in reply.get("Parts", []):
                    number = int(part["PartNumber"])
                    parts[number] = RemotePart(number, int(part["Size"]), part.get("ChecksumSHA256"), str(part["ETag"]))
                if not reply.get("IsTruncated"):
                    return parts
                marker = int(reply["NextPartNumberMarker"])
        except botocore.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND:
                return {}
            raise self._fail("listing the parts of", key, exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail("listing the parts of", key, exc) from exc

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes | bytearray, sha256_b64: str) -> str:
        """Send one part; the server checks ``sha256_b64`` on receipt. Returns its ETag.

        A ``bytearray`` goes to the socket as it is (one send, no copy); botocore wraps ``bytes`` in a
        stream read in 16 KiB pieces."""
        try:
            reply = self._client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=sha256_b64,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(f"uploading part {number} of", key, exc) from exc
        return str(reply["ETag"])

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[tuple[int, str, str]]) -> None:
        """Finish the upload from (number, ETag, SHA-256 base64) of every part, in order."""
        listing = [{"PartNumber": n, "ETag": etag, "ChecksumSHA256": sha} for n, etag, sha in parts]
        try:
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listing}
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail("completing the upload of", key, exc) from exc
