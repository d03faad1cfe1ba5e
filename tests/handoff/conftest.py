"""The handoff tests' S3-compatible server: moto in server mode on 127.0.0.1 (port 0), a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from cablekeep.handoff.deliver import S3Destination


@pytest.fixture(scope="package")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[S3Destination, Any]:
    """A fresh bucket; credentials only in this test's environment, no AWS file of the user's read."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.session.Session().client("s3", endpoint_url=s3_endpoint, config=Config(s3={"addressing_style": "path"}))
    bucket = f"library-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Destination(bucket, prefix="incoming/", endpoint_url=s3_endpoint, region="us-east-1"), client
