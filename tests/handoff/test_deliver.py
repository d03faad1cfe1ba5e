"""Delivery against a real S3-compatible server (moto in server mode on 127.0.0.1, port 0) and into a folder."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from cablekeep.bagging.build import bag_directory
from cablekeep.errors import OutputError
from cablekeep.handoff.deliver import DirectoryDestination, S3Destination, deliver
from cablekeep.handoff.serialize import serialize

PART = 5 << 20
SRC = Path(__file__).resolve().parents[2] / "src"


def make_bag(tmp_path: Path, name: str = "andijon-2005", big: int = 12 << 20, seed: bytes = b"a") -> Path:
    source = tmp_path / "src" / seed.decode() / name
    (source / "cables").mkdir(parents=True)
    (source / "cables" / "05TASHKENT1.txt").write_bytes(b"UNCLASSIFIED " + seed + b"\n")
    (source / "crawl.warc.gz").write_bytes(os.urandom(big))
    bag_directory(
        source,
        dest_parent=tmp_path / "bags" / seed.decode(),
        in_place=False,
        algorithms=("sha256",),
        processes=1,
        clock=lambda: datetime(2026, 1, 2, tzinfo=timezone.utc),
        make_id=lambda: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed.decode())}",
    )
    return tmp_path / "bags" / seed.decode() / name


def object_bytes(client: Any, bucket: str, key: str) -> bytes:
    return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def files_of(bag: Path) -> dict[str, bytes]:
    return {p.relative_to(bag).as_posix(): p.read_bytes() for p in sorted(bag.rglob("*")) if p.is_file()}


def test_a_bag_folder_round_trip_then_nothing_sent_again(tmp_path: Path, s3: tuple[S3Destination, Any]) -> None:
    destination, client = s3
    bag = make_bag(tmp_path)
    receipt = deliver(bag, destination, part_size=PART)
    assert receipt.ok and receipt.path == bag.with_name("andijon-2005.receipt.json")
    local = files_of(bag)
    assert sorted(obj.path for obj in receipt.objects) == sorted(local)
    for obj in receipt.objects:
        assert obj.outcome == "sent" and obj.key == f"incoming/andijon-2005/{obj.path}"
        assert obj.sha256 == hashlib.sha256(local[obj.path]).hexdigest()
        assert object_bytes(client, destination.bucket, obj.key) == local[obj.path]
    big = next(obj for obj in receipt.objects if obj.path == "data/crawl.warc.gz")
    assert big.parts_sent == 3 and big.verified_by == "server-checksum"  # the parts' SHA-256s, kept by the server
    assert {obj.verified_by for obj in receipt.objects} <= {"server-checksum", "read-back"}
    written = json.loads(receipt.path.read_text(encoding="utf-8"))
    assert written["schema"] == "cablekeep.delivery/1" and written["outcome"] == "delivered"
    assert written["destination"] == {"kind": "s3", "bucket": destination.bucket, "prefix": "incoming/",
                                      "endpoint_url": destination.endpoint_url, "region": "us-east-1"}
    assert "testing" not in receipt.path.read_text(encoding="utf-8")  # no credential in the receipt
    again = deliver(bag, destination, part_size=PART)
    assert again.ok and {obj.outcome for obj in again.objects} == {"already-there"} and again.bytes_sent == 0


def test_a_serialized_bag_and_its_checksum(tmp_path: Path, s3: tuple[S3Destination, Any]) -> None:
    destination, client = s3
    archive = serialize(make_bag(tmp_path), "tar", tmp_path / "out")
    receipt = deliver(archive.path, destination, part_size=PART)
    assert receipt.ok
    # the archive first, its checksum after it: a watcher keyed on the .sha256 never sees it early
    assert [obj.key for obj in receipt.objects] == ["incoming/andijon-2005.tar", "incoming/andijon-2005.tar.sha256"]
    assert object_bytes(client, destination.bucket, "incoming/andijon-2005.tar") == archive.path.read_bytes()
    assert receipt.objects[0].sha256 == archive.sha256 and receipt.objects[0].parts_sent == 3
    assert (tmp_path / "out" / "andijon-2005.tar.receipt.json").is_file()


class Interrupted(Exception):
    pass


def test_an_interrupted_upload_resumes_without_sending_what_arrived(tmp_path: Path, s3: tuple[S3Destination, Any]) -> None:
    destination, client = s3
    bag = make_bag(tmp_path, big=17 << 20)  # 4 parts of 5 MiB

    arrived: list[str] = []

    def stop_after_two(key: str, number: int) -> None:
        if key.endswith("crawl.warc.gz") and number == 2:
            raise Interrupted
        if not key.endswith("crawl.warc.gz"):
            arrived.append(key)

    with pytest.raises(Interrupted):
        deliver(bag, destination, part_size=PART, concurrency=1, on_part=stop_after_two)
    assert not bag.with_name("andijon-2005.receipt.json").exists()  # no receipt for a delivery that did not end
    uploads = client.list_multipart_uploads(Bucket=destination.bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["incoming/andijon-2005/data/crawl.warc.gz"]
    listed = client.list_objects_v2(Bucket=destination.bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == ["incoming/andijon-2005/data/cables/05TASHKENT1.txt"], "no tag file yet"
    receipt = deliver(bag, destination, part_size=PART, concurrency=1)
    assert receipt.ok
    big = next(obj for obj in receipt.objects if obj.path == "data/crawl.warc.gz")
    assert (big.outcome, big.parts_reused, big.parts_sent) == ("sent", 2, 2)
    assert object_bytes(client, destination.bucket, big.key) == (bag / "data" / "crawl.warc.gz").read_bytes()
    assert [key.rsplit("/", 1)[1] for key in arrived] == ["05TASHKENT1.txt"]  # the payload first, no tag file yet
    assert [obj.path for obj in receipt.objects][-1] == "bagit.txt"  # what announces a bag arrives last
    for obj in receipt.objects:
        assert obj.outcome == ("already-there" if obj.key in arrived else "sent"), obj
    assert client.list_multipart_uploads(Bucket=destination.bucket).get("Uploads", []) == []


def test_an_object_corrupted_on_the_server_fails_verification_on_arrival(
    tmp_path: Path, s3: tuple[S3Destination, Any]
) -> None:
    destination, client = s3
    bag = make_bag(tmp_path)
    victim = "incoming/andijon-2005/data/cables/05TASHKENT1.txt"

    def corrupt(key: str, number: int) -> None:  # the server's copy changes between upload and verification
        if key == victim:
            client.put_object(Bucket=destination.bucket, Key=victim, Body=b"UNCLASSIFIED b\n")

    receipt = deliver(bag, destination, part_size=PART, on_part=corrupt)
    assert not receipt.ok
    failed = [obj for obj in receipt.objects if obj.outcome == "failed"]
    assert [(obj.key, obj.verified_by) for obj in failed] == [(victim, "read-back")]
    assert "not what was sent" in failed[0].detail
    assert json.loads(receipt.path.read_text(encoding="utf-8"))["outcome"] == "failed"  # type: ignore[union-attr]
    # Delivering again sends the damaged object again, and nothing else.
    again = deliver(bag, destination, part_size=PART)
    assert again.ok and [obj.key for obj in again.objects if obj.outcome == "sent"] == [victim]
    assert object_bytes(client, destination.bucket, victim) == (bag / "data/cables/05TASHKENT1.txt").read_bytes()


def test_a_different_bag_of_the_same_name_is_refused(tmp_path: Path, s3: tuple[S3Destination, Any]) -> None:
    destination, client = s3
    first = make_bag(tmp_path, seed=b"a", big=1024)
    deliver(first, destination)
    other = make_bag(tmp_path, seed=b"b", big=2048)
    assert other.name == first.name
    with pytest.raises(OutputError, match="a different bag named andijon-2005 is there. Nothing was sent"):
        deliver(other, destination)
    for rel, data in files_of(first).items():
        assert object_bytes(client, destination.bucket, f"incoming/andijon-2005/{rel}") == data


def test_a_folder_destination(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, big=3 << 20)
    share = tmp_path / "share"
    receipt = deliver(bag, DirectoryDestination(share))
    assert receipt.ok and {obj.verified_by for obj in receipt.objects} == {"read-back"}
    assert files_of(share / "andijon-2005") == files_of(bag)
    (share / "andijon-2005" / "data" / "crawl.warc.gz").write_bytes(b"damaged")
    again = deliver(bag, DirectoryDestination(share))
    assert [obj.path for obj in again.objects if obj.outcome == "sent"] == ["data/crawl.warc.gz"]
    assert files_of(share / "andijon-2005") == files_of(bag)
    assert not list(share.rglob(".*.open"))
    other = make_bag(tmp_path, seed=b"c", big=10)
    with pytest.raises(OutputError, match="different bag"):
        deliver(other, DirectoryDestination(share))


_KILLED_MID_DELIVERY = """
import os, signal, sys
from pathlib import Path
from cablekeep.handoff.deliver import DirectoryDestination, deliver
copied = []
def on_part(key, number):
    copied.append(key)
    if len(copied) == int(sys.argv[3]):  # a crash (power cut, OOM kill) with part of the bag copied
        os.kill(os.getpid(), signal.SIGKILL)
deliver(Path(sys.argv[1]), DirectoryDestination(Path(sys.argv[2])), on_part=on_part)
"""


def test_a_killed_folder_delivery_leaves_no_bag_under_its_name_until_resumed(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, big=3 << 20)
    share = tmp_path / "share"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.run([sys.executable, "-c", _KILLED_MID_DELIVERY, str(bag), str(share), "4"], env=env)
    assert child.returncode == -signal.SIGKILL
    # What a library's watcher sees: no andijon-2005/, no bagit.txt; only the hidden partial folder.
    assert [p.name for p in share.iterdir()] == [".andijon-2005.open"]
    partial = share / ".andijon-2005.open"
    copied = sorted(p.relative_to(partial).as_posix() for p in partial.rglob("*") if p.is_file())
    assert copied == ["bag-info.txt", "data/cables/05TASHKENT1.txt", "data/crawl.warc.gz", "manifest-sha256.txt"]
    assert not bag.with_name("andijon-2005.receipt.json").exists()
    receipt = deliver(bag, DirectoryDestination(share))
    assert receipt.ok
    assert sorted(obj.path for obj in receipt.objects if obj.outcome == "already-there") == copied
    assert {obj.outcome for obj in receipt.objects if obj.path not in copied} == {"sent"}
    assert [p.name for p in share.iterdir()] == ["andijon-2005"]
    assert files_of(share / "andijon-2005") == files_of(bag)
    assert not list(share.rglob(".*"))


# VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork and exec.
_MEASURE_DELIVERY = """
import sys
from pathlib import Path
from cablekeep.handoff.deliver import S3Destination, deliver
def peak_kib():
    return int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
before = peak_kib()
receipt = deliver(Path(sys.argv[1]), S3Destination(sys.argv[2], endpoint_url=sys.argv[3], region="us-east-1"),
                  part_size=8 << 20, concurrency=4)
assert receipt.ok, receipt.to_json()
print(before, peak_kib())
"""


def test_memory_is_the_parts_in_flight_whatever_the_size(tmp_path: Path, s3: tuple[S3Destination, Any]) -> None:
    destination, _ = s3
    bag = make_bag(tmp_path, big=256 << 20)  # 32 parts of 8 MiB, 4 in flight
    out = subprocess.run([sys.executable, "-c", _MEASURE_DELIVERY, str(bag), destination.bucket,
                          str(destination.endpoint_url)], env={**os.environ, "PYTHONPATH": str(SRC)},
                         capture_output=True, text=True, check=True).stdout
    before, after = (int(n) for n in out.split())
    # Four 8 MiB buffers, reused from part to part, and botocore's S3 model (~12 MiB, loaded by the session).
    assert after - before < (4 * 8 + 20) * 1024, f"peak RSS grew by {(after - before) // 1024} MiB"


def test_a_different_archive_of_the_same_name_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    share = tmp_path / "share"
    first = serialize(make_bag(tmp_path, big=1 << 20), "tar", tmp_path / "out-a")
    assert deliver(first.path, DirectoryDestination(share)).ok
    delivered = (share / "andijon-2005.tar").read_bytes()
    other = serialize(make_bag(tmp_path, big=1 << 20, seed=b"b"), "tar", tmp_path / "out-b")
    with pytest.raises(OutputError, match="different bag"):
        deliver(other.path, DirectoryDestination(share))
    assert (share / "andijon-2005.tar").read_bytes() == delivered  # the archive, sent before its checksum, untouched
    assert sorted(p.name for p in share.iterdir()) == ["andijon-2005.tar", "andijon-2005.tar.sha256"]
