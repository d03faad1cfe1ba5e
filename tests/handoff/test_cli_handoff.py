"""Handing packages to libraries through the real command line: validate-profile, bag --profile/--serialize,
serialize, deliver (to a folder, and to a real S3-compatible server on 127.0.0.1), and run's profile check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from cablekeep.fixity.history import FixityHistory
from cablekeep.fixity.repair import bag_lock_path
from cablekeep.handoff.deliver import S3Destination
from cablekeep.handoff.profiles import load_profile
from cablekeep.handoff.record import deliver_and_record
from cablekeep.locks import exclusive

from ..conftest import CliResult
from .test_deliver import files_of, make_bag, object_bytes

Cli = Callable[..., CliResult]
BTR = load_profile("btr").identifier
APTRUST = load_profile("aptrust").identifier


def source_folder(tmp_path: Path, name: str = "andijon-2005") -> Path:
    source = tmp_path / name
    (source / "cables").mkdir(parents=True)
    (source / "cables" / "05TASHKENT1.txt").write_text("UNCLASSIFIED\n", encoding="utf-8")
    (source / "index.cdxj").write_text("org,example)/ 20260101000000 {}\n", encoding="utf-8")
    return source


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- profiles ----------------------------------------------------------------------------------------


def test_a_bag_made_for_a_profile_conforms_and_both_verdicts_are_shown(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    made = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--profile", "btr",
               "--info", "Source-Organization=Test Archive")
    assert made.exit_code == 0, made.stderr
    bag = tmp_path / "bags" / source.name
    assert f"conforms to the profile {BTR}" in made.stdout
    assert f"BagIt-Profile-Identifier: {BTR}" in (bag / "bag-info.txt").read_text(encoding="utf-8")
    # no --algorithm: the profile's choice (BTR requires none and allows sha256), not sha512 + sha256
    assert sorted(p.name for p in bag.glob("*manifest-*.txt")) == ["manifest-sha256.txt", "tagmanifest-sha256.txt"]

    conforms = cli("validate-profile", str(bag), "btr")
    assert conforms.exit_code == 0, conforms.stdout + conforms.stderr
    assert f"profile verdict ({BTR}):\n{bag}: conforms" in conforms.stdout
    assert "BagIt verdict (RFC 8493, every checksum):\n" in conforms.stdout and f"{bag}: valid (full" in conforms.stdout
    assert "disagree" not in conforms.stdout

    breaks = cli("validate-profile", str(bag), "aptrust")
    assert breaks.exit_code == 1
    for line in ("Serialization: .: the profile requires a serialized bag",
                 "Manifests-Required: manifest-md5.txt: required by the profile and missing",
                 "Tag-Files-Required: aptrust-info.txt: required by the profile and missing",
                 f"BagIt-Profile-Identifier: bag-info.txt: BagIt-Profile-Identifier: names {BTR}"):
        assert f"\n  {line}" in breaks.stdout
    assert "DOES NOT CONFORM" in breaks.stdout and f"{bag}: valid (full" in breaks.stdout
    assert "the verdicts disagree: the bag is valid BagIt but does NOT conform to the profile" in breaks.stdout

    (bag / "data" / "cables" / "05TASHKENT1.txt").write_text("SECRET\n", encoding="utf-8")
    damaged = cli("validate-profile", str(bag), "btr", "--json")
    assert damaged.exit_code == 1
    verdicts = json.loads(damaged.stdout)
    assert verdicts["profile"]["conforms"] is True and verdicts["bagit"]["ok"] is False
    text = cli("validate-profile", str(bag), "btr").stdout
    assert "the verdicts disagree: the bag follows the profile's rules but is NOT valid BagIt" in text


def test_validate_profile_reads_serialized_bags(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    made = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--profile", "btr", "--serialize", "zip",
               "--info", "Source-Organization=Test Archive")
    assert made.exit_code == 0, made.stderr
    archive = tmp_path / "bags" / "andijon-2005.zip"
    assert f"{archive}: conforms to the profile {BTR}" in made.stdout  # the archive is what was checked
    assert cli("validate-profile", str(archive), "btr").exit_code == 0
    aptrust = cli("validate-profile", str(archive), "aptrust")
    assert aptrust.exit_code == 1 and "Accept-Serialization: .: a zip bag" in aptrust.stdout


def test_a_bad_profile_file_is_exit_2_with_every_fault_and_a_missing_bag_exit_4(tmp_path: Path, cli: Cli) -> None:
    bag = make_bag(tmp_path, big=1024)
    bad = tmp_path / "library.json"
    bad.write_text(json.dumps({"BagIt-Profile-Info": {"Source-Organization": "Lib"}, "Manifest-Required": ["md5"],
                               "Accept-BagIt-Version": ["1.0"], "Serialization": "forbidden"}), encoding="utf-8")
    result = cli("validate-profile", str(bag), str(bad))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{bad} is not a usable BagIt profile" in result.stderr
    assert "Manifest-Required: not a field of the BagIt Profiles specification (misspelt?)" in result.stderr
    assert "BagIt-Profile-Info.Version: required, a non-empty string" in result.stderr
    assert cli("validate-profile", str(bag), "nosuch").exit_code == 2
    missing = cli("validate-profile", str(tmp_path / "nothing"), "btr")
    assert missing.exit_code == 4 and "not found" in missing.stderr


def test_a_bag_that_would_violate_its_profile_is_refused_before_anything_is_written(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    before = tree(source)
    out = tmp_path / "out"
    result = cli("bag", str(source), "--output", str(out), "--profile", "aptrust", "--algorithm", "sha512")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"would violate the profile {APTRUST} (7 violation(s)); nothing was written" in result.stderr
    for line in ("Serialization: .: the profile requires a serialized bag",
                 "Bag-Info: bag-info.txt: Source-Organization: required tag is missing",
                 "Manifests-Required: manifest-md5.txt: required by the profile and missing",
                 "Manifests-Allowed: manifest-sha512.txt: sha512 is not allowed",
                 "Tag-Manifests-Allowed: tagmanifest-sha512.txt: sha512 is not allowed",
                 "Tag-Files-Required: aptrust-info.txt: required by the profile and missing",
                 "cablekeep:Tag-File-Tags.aptrust-info.txt: aptrust-info.txt: aptrust-info.txt is missing"):
        assert f"\n  {line}" in result.stderr
    assert not out.exists() and tree(source) == before
    in_place = cli("bag", str(source), "--in-place", "--profile", "aptrust")
    assert in_place.exit_code == 2 and tree(source) == before and not (source / "bagit.txt").exists()


# -- serialization -------------------------------------------------------------------------------------


def test_bag_serialize_and_the_serialize_command(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    made = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--serialize", "tar.gz")
    assert made.exit_code == 0, made.stderr
    archive = tmp_path / "bags" / "andijon-2005.tar.gz"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (tmp_path / "bags" / "andijon-2005.tar.gz.sha256").read_text() == f"{digest}  andijon-2005.tar.gz\n"
    assert f"tar.gz: {archive} (" in made.stdout and digest in made.stdout
    assert (tmp_path / "bags" / "andijon-2005" / "bagit.txt").is_file()  # the bag folder stays
    assert cli("verify", str(archive)).exit_code == 0

    zipped = cli("serialize", str(tmp_path / "bags" / "andijon-2005"), "--format", "zip", "--output", str(tmp_path / "out"))
    assert zipped.exit_code == 0, zipped.stderr
    assert (tmp_path / "out" / "andijon-2005.zip").is_file() and (tmp_path / "out" / "andijon-2005.zip.sha256").is_file()
    assert cli("verify", str(tmp_path / "out" / "andijon-2005.zip")).exit_code == 0
    beside = cli("serialize", str(tmp_path / "bags" / "andijon-2005"))  # tar by default, beside the bag
    assert beside.exit_code == 0 and (tmp_path / "bags" / "andijon-2005.tar").is_file()
    again = cli("serialize", str(tmp_path / "bags" / "andijon-2005"))
    assert again.exit_code == 2 and "already exists" in again.stderr


# -- delivery ----------------------------------------------------------------------------------------------


def events(cli: Cli, db: Path, bag: Path) -> list[dict[str, Any]]:
    result = cli("history", str(bag), "--export", "jsonl", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_deliver_to_a_folder_writes_the_receipt_and_records_a_replication_event(tmp_path: Path, cli: Cli) -> None:
    bag = make_bag(tmp_path, big=2 << 20)
    db, share = tmp_path / "fixity.sqlite", tmp_path / "share"
    result = cli("deliver", str(bag), "--to-dir", str(share), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "delivered and verified on arrival" in result.stdout and "0 failed" in result.stdout
    assert files_of(share / bag.name) == files_of(bag)
    receipt = json.loads(bag.with_name(f"{bag.name}.receipt.json").read_text(encoding="utf-8"))
    assert receipt["outcome"] == "delivered" and {o["outcome"] for o in receipt["objects"]} == {"sent"}
    (event,) = events(cli, db, bag)
    assert (event["event_type"], event["outcome"], event["files_checked"]) == ("replication", "valid", len(files_of(bag)))
    assert f"delivered to {share}" in event["detail"]
    premis = cli("history", str(bag), "--export", "premis", "--db", str(db))
    assert premis.exit_code == 0 and "preservation/eventType/rep" in premis.stdout and ">replication<" in premis.stdout

    again = cli("deliver", str(bag), "--to-dir", str(share), "--db", str(db))
    assert again.exit_code == 0 and "0 object(s) sent (0 bytes)" in again.stdout
    assert [e["outcome"] for e in events(cli, db, bag)] == ["valid", "valid"]
    # nothing of the delivery's is left beside the bag but its receipt (the bag's lock is removed)
    assert sorted(p.name for p in bag.parent.iterdir()) == sorted([bag.name, f"{bag.name}.receipt.json"])


def test_deliver_to_s3_named_in_the_manifest_or_given_by_url(tmp_path: Path, cli: Cli, s3: tuple[S3Destination, Any]) -> None:
    destination, client = s3
    bag = make_bag(tmp_path, big=4096)
    manifest = tmp_path / "collection.yaml"
    manifest.write_text(yaml.safe_dump({
        "cablekeep": 1, "collection": "andijon-2005", "seeds": ["http://127.0.0.1/"],
        "delivery": [
            {"name": "library", "kind": "s3", "bucket": destination.bucket, "prefix": "incoming/",
             "endpoint_url": destination.endpoint_url, "region": "us-east-1"},
            {"name": "share", "kind": "directory", "path": "share"},
        ],
    }), encoding="utf-8")
    result = cli("deliver", str(bag), "--manifest", str(manifest), "--to", "library")
    assert result.exit_code == 0, result.stderr
    for rel, data in files_of(bag).items():
        assert object_bytes(client, destination.bucket, f"incoming/andijon-2005/{rel}") == data
    receipt = bag.with_name(f"{bag.name}.receipt.json").read_text(encoding="utf-8")
    assert json.loads(receipt)["destination"]["bucket"] == destination.bucket and "testing" not in receipt

    which = cli("deliver", str(bag), "--manifest", str(manifest))
    assert which.exit_code == 2 and "has 2 delivery destinations (library, share); say which with --to NAME" in which.stderr
    share = cli("deliver", str(bag), "--manifest", str(manifest), "--to", "share")
    assert share.exit_code == 0 and files_of(tmp_path / "share" / bag.name) == files_of(bag)  # relative to the manifest

    archive = tmp_path / "archives"
    assert cli("serialize", str(bag), "--output", str(archive)).exit_code == 0
    by_url = cli("deliver", str(archive / "andijon-2005.tar"), "--to-s3", f"s3://{destination.bucket}/tars/",
                 "--endpoint-url", str(destination.endpoint_url))
    assert by_url.exit_code == 0, by_url.stderr
    assert object_bytes(client, destination.bucket, "tars/andijon-2005.tar") == (archive / "andijon-2005.tar").read_bytes()
    assert object_bytes(client, destination.bucket, "tars/andijon-2005.tar.sha256").startswith(
        hashlib.sha256((archive / "andijon-2005.tar").read_bytes()).hexdigest().encode())


def test_deliver_exit_codes(tmp_path: Path, cli: Cli) -> None:
    bag = make_bag(tmp_path, big=1024)
    share = tmp_path / "share"
    with exclusive(bag_lock_path(bag), "held by the test"):
        locked = cli("deliver", str(bag), "--to-dir", str(share))
    assert locked.exit_code == 7 and "in use by process" in locked.stderr and not share.exists()
    assert cli("deliver", str(tmp_path / "nothing"), "--to-dir", str(share)).exit_code == 4
    nowhere = cli("deliver", str(bag))
    assert nowhere.exit_code == 2 and "say where to deliver" in nowhere.stderr
    assert cli("deliver", str(bag), "--endpoint-url", "http://127.0.0.1:1").exit_code == 2
    assert cli("deliver", str(bag), "--to-dir", str(share), "--to-s3", "s3://b/p").exit_code == 2
    assert cli("deliver", str(bag), "--to-s3", "https://b/p").exit_code == 2
    assert cli("deliver", str(bag), "--to-dir", str(share)).exit_code == 0
    other = make_bag(tmp_path, seed=b"b", big=2048)  # another bag of the same name
    refused = cli("deliver", str(other), "--to-dir", str(share))
    assert refused.exit_code == 6 and "a different bag named andijon-2005 is there. Nothing was sent" in refused.stderr
    assert files_of(share / bag.name) == files_of(bag)


def test_a_delivery_that_fails_on_arrival_is_recorded_as_invalid(tmp_path: Path, s3: tuple[S3Destination, Any]) -> None:
    destination, client = s3
    bag = make_bag(tmp_path, big=1024)
    victim = "incoming/andijon-2005/data/cables/05TASHKENT1.txt"

    def corrupt(key: str, number: int) -> None:  # the server's copy changes between upload and verification
        if key == victim:
            client.put_object(Bucket=destination.bucket, Key=victim, Body=b"UNCLASSIFIED b\n")

    with FixityHistory(tmp_path / "fixity.sqlite") as history:
        receipt, event = deliver_and_record(bag, destination, history, on_part=corrupt)
        (stored,) = history.events_for(bag)
    assert not receipt.ok
    assert (event.event_type, event.outcome, event.paths) == ("replication", "invalid", ("data/cables/05TASHKENT1.txt",))
    assert [p.path for p in event.problems] == ["data/cables/05TASHKENT1.txt"]
    assert "not what was sent" in event.problems[0].detail
    assert (stored.event_type, stored.outcome, stored.event_id) == ("replication", "invalid", event.event_id)


# -- run: the profile is checked before crawling ---------------------------------------------------------------


def test_run_refuses_a_manifest_whose_bag_would_violate_its_profile_before_crawling(
    tmp_path: Path, cli: Cli, write_manifest: Callable[..., Path]
) -> None:
    manifest = write_manifest(bag={"output": str(tmp_path / "bags"), "profile": "aptrust"})
    result = cli("run", str(manifest), "--quiet")
    assert result.exit_code == 2, result.stderr
    assert "the bag of collection 'test-cables' would violate the profile" in result.stderr
    assert "Manifests-Required: manifest-md5.txt" in result.stderr and "aptrust-info.txt" in result.stderr
    assert not (tmp_path / "bags").exists()  # nothing crawled, nothing written


def test_run_makes_the_bag_for_a_profile_file_next_to_the_manifest(
    tmp_path: Path, cli: Cli, write_manifest: Callable[..., Path]
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    btr = json.loads(resources.files("cablekeep.handoff").joinpath("profiles", "btr.json").read_text())
    btr["Bag-Info"]["Contact-Name"] = {"required": True}
    btr["Bag-Info"]["Bag-Count"] = {"required": True, "values": ["1 of 1"]}  # one value: a default
    (profiles / "library.json").write_text(json.dumps(btr), encoding="utf-8")
    manifest = write_manifest(follow={"depth": 0},
                              bag={"output": str(tmp_path / "bags"), "profile": "profiles/library.json"})
    result = cli("run", str(manifest), "--quiet", "--db", str(tmp_path / "fixity.sqlite"))
    assert result.exit_code == 0, result.stderr
    (bag,) = [p for p in (tmp_path / "bags").iterdir() if p.name.startswith("test-cables-")]
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert f"BagIt-Profile-Identifier: {BTR}" in info and "Bag-Count: 1 of 1" in info
    assert "Contact-Name: A. Archivist" in info  # from the manifest's organization
    assert cli("validate-profile", str(bag), str(profiles / "library.json")).exit_code == 0
