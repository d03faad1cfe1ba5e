"""BagIt profiles: the profile file itself checked, and bags (directory, tar, tar.gz, zip) checked against it."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cablekeep.bagging.build import bag_directory
from cablekeep.errors import BagUnreadableError, ProfileError, UsageError
from cablekeep.handoff.profiles import (
    BAGGER_TAGS,
    BUILTIN_PROFILES,
    bag_info_defaults,
    check_before_bagging,
    default_algorithms,
    load_profile,
    parse_profile,
    validate_bag_against_profile,
)

APTRUST_ID = "https://raw.githubusercontent.com/APTrust/preservation-services/master/profiles/aptrust-v2.2.json"
APTRUST_INFO = b"Title: Andijon cables\nAccess: Institution\nStorage-Option: Standard\n"


def make_bag(tmp_path: Path, name: str, algorithms: tuple[str, ...], info: dict[str, str]) -> Path:
    source = tmp_path / "src" / name
    (source / "cables").mkdir(parents=True)
    (source / "cables" / "05TASHKENT1.txt").write_text("UNCLASSIFIED\n", encoding="utf-8")
    (source / "readme.txt").write_text("two files\n", encoding="utf-8")
    bag_directory(
        source,
        dest_parent=tmp_path / "bags",
        in_place=False,
        algorithms=algorithms,
        info=info,
        processes=1,
        clock=lambda: datetime(2026, 1, 2, tzinfo=timezone.utc),
        make_id=lambda: "urn:uuid:00000000-0000-4000-8000-000000000001",
    )
    return tmp_path / "bags" / name


def aptrust_bag(tmp_path: Path, name: str = "virginia.edu.andijon") -> Path:
    info = {"Source-Organization": "virginia.edu", **bag_info_defaults(load_profile("aptrust"))}
    bag = make_bag(tmp_path, name, ("md5", "sha256"), info)
    (bag / "aptrust-info.txt").write_bytes(APTRUST_INFO)
    return bag


def tar_of(bag: Path, archive: Path, folder: str | None = None, mode: str = "w") -> Path:
    with tarfile.open(archive, mode) as tar:
        tar.add(bag, arcname=folder or bag.name)
    return archive


def zip_of(bag: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(bag.rglob("*")):
            zf.write(path, f"{bag.name}/{path.relative_to(bag)}")
    return archive


def rules(report_violations: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(v.rule, v.path) for v in report_violations}


# --------------------------------------------------------------------------- profiles themselves


def test_the_built_in_profiles_load_with_their_contracts() -> None:
    assert BUILTIN_PROFILES == ("aptrust", "btr")
    aptrust = load_profile("aptrust")
    assert aptrust.identifier == APTRUST_ID
    assert aptrust.manifests_required == ("md5",) and aptrust.manifests_allowed == ("md5", "sha256")
    assert aptrust.serialization == "required" and aptrust.accepts_format("tar")
    assert not aptrust.accepts_format("zip") and aptrust.folder_must_match_name and not aptrust.allow_fetch
    apt_tags = {rule.name: rule for rule in aptrust.tags["aptrust-info.txt"]}
    assert {"Title", "Access", "Storage-Option"} <= {n for n, r in apt_tags.items() if r.required}
    assert apt_tags["Access"].values == ("Consortia", "Institution", "Restricted")
    btr = load_profile("btr")
    assert btr.accepts_format("zip") and btr.accepts_format("tar.gz") and btr.serialization == "optional"
    assert {r.name for r in btr.tags["bag-info.txt"] if r.required} == {"Source-Organization", "Bagging-Date", "Payload-Oxum"}
    assert default_algorithms(aptrust) == ("md5",) and default_algorithms(btr) == ("sha256",)


def good_profile(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "BagIt-Profile-Info": {
            "BagIt-Profile-Identifier": "https://example.org/profile.json",
            "BagIt-Profile-Version": "1.4.0",
            "Source-Organization": "Example",
            "External-Description": "test",
            "Version": "1",
        },
        "Accept-BagIt-Version": ["1.0"],
        "Accept-Serialization": ["application/zip"],
    }
    doc.update(changes)
    return doc


def test_a_bad_profile_lists_every_fault(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    doc = good_profile(
        **{
            "Manifest-Required": ["md5"],  # misspelt
            "Manifests-Required": ["md5"],
            "Manifests-Allowed": ["sha256"],
            "Allow-Fetch.txt": "no",
            "Serialization": "sometimes",
            "Bag-Info": {"Title": {"required": "yes", "value": ["x"]}},
            "Tag-Files-Required": ["a.txt"],
            "Tag-Files-Allowed": ["b*"],
            "Accept-BagIt-Version": [],
            "x-vendor:anything": 1,  # another tool's extension: ignored
        }
    )
    doc["BagIt-Profile-Info"] = {"Source-Organization": "Example", "BagIt-Profile-Version": "2.0.0"}
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    faults = caught.value.faults
    assert caught.value.exit_code == 2 and isinstance(caught.value, UsageError)
    for expected in (
        "Manifest-Required: not a field",
        "BagIt-Profile-Info.External-Description: required",
        "BagIt-Profile-Info.Version: required",
        "BagIt-Profile-Info.BagIt-Profile-Identifier: required",
        "BagIt-Profile-Version: '2.0.0' is not one of",
        "Allow-Fetch.txt: must be true or false",
        "Serialization: 'sometimes'",
        "Bag-Info.Title.value: not a tag definition field",
        "Bag-Info.Title.required: must be true or false",
        "Manifests-Allowed: must include every required type; lacks md5",
        "Tag-Files-Allowed: must cover every required path; does not cover a.txt",
        "Accept-BagIt-Version: required",
    ):
        assert any(expected in fault for fault in faults), (expected, faults)
    assert not any("x-vendor" in fault for fault in faults)
    assert len(faults) == 12


def test_a_profile_that_is_not_json_or_not_there(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{\"BagIt-Profile-Info\": ", encoding="utf-8")
    with pytest.raises(ProfileError, match="not JSON"):
        load_profile(tmp_path / "p.json")
    with pytest.raises(ProfileError, match="built-in profiles are aptrust, btr"):
        load_profile(str(tmp_path / "aptrus"))
    with pytest.raises(ProfileError, match="at least one MIME type"):
        parse_profile(json.dumps(good_profile(**{"Accept-Serialization": []})), "inline")
    assert parse_profile(json.dumps(good_profile()), "inline").spec_version == "1.4.0"


def test_a_profile_without_a_spec_version_is_read_as_1_1_0() -> None:
    doc = good_profile()
    del doc["BagIt-Profile-Info"]["BagIt-Profile-Version"]  # type: ignore[attr-defined]
    assert parse_profile(json.dumps(doc), "inline").spec_version == "1.1.0"


# --------------------------------------------------------------------------- bags against profiles


def test_a_conforming_aptrust_tar_has_no_violation(tmp_path: Path) -> None:
    bag = aptrust_bag(tmp_path)
    for archive in (tar_of(bag, tmp_path / f"{bag.name}.tar"),):
        report = validate_bag_against_profile(archive, load_profile("aptrust"))
        assert report.violations == [] and report.ok
        assert report.to_json()["conforms"] is True


def test_every_violation_of_a_directory_bag_is_listed(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "andijon", ("sha512",), {"Source-Organization": "virginia.edu"})
    (bag / "fetch.txt").write_text("http://127.0.0.1/x 1 data/x\n", encoding="utf-8")
    (bag / "aptrust-info.txt").write_text(
        "Access: Everyone\nStorage-Option: Standard\nStorage-Option: Standard\n", encoding="utf-8"
    )
    report = validate_bag_against_profile(bag, load_profile("aptrust"))
    assert rules(report.violations) == {
        ("Serialization", "."),
        ("BagIt-Profile-Identifier", "bag-info.txt: BagIt-Profile-Identifier"),
        ("cablekeep:Tag-File-Tags.aptrust-info.txt", "aptrust-info.txt: Title"),
        ("cablekeep:Tag-File-Tags.aptrust-info.txt", "aptrust-info.txt: Access"),
        ("cablekeep:Tag-File-Tags.aptrust-info.txt", "aptrust-info.txt: Storage-Option"),
        ("Manifests-Required", "manifest-md5.txt"),
        ("Manifests-Allowed", "manifest-sha512.txt"),
        ("Tag-Manifests-Allowed", "tagmanifest-sha512.txt"),
        ("Allow-Fetch.txt", "fetch.txt"),
    }
    details = {v.path: v.detail for v in report.violations}
    assert "'Everyone' is not one of" in details["aptrust-info.txt: Access"]
    assert "appears 2 times" in details["aptrust-info.txt: Storage-Option"]


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "zip"])
def test_serialized_bags_are_read_without_unpacking(tmp_path: Path, fmt: str) -> None:
    bag = aptrust_bag(tmp_path, "wrong-folder")
    out = tmp_path / "out"
    out.mkdir()
    if fmt == "zip":
        archive = zip_of(bag, out / "named-otherwise.zip")
    else:
        archive = tar_of(bag, out / f"named-otherwise.{fmt}", mode="w:gz" if fmt == "tar.gz" else "w")
    report = validate_bag_against_profile(archive, load_profile("aptrust"))
    expected = {("cablekeep:Folder-Must-Match-Name", "wrong-folder")}
    if fmt != "tar":
        expected.add(("Accept-Serialization", "."))
    assert rules(report.violations) == expected
    assert sorted(p.name for p in out.iterdir()) == [archive.name]  # nothing unpacked


def test_unsafe_members_and_a_second_folder_are_structure_violations(tmp_path: Path) -> None:
    bag = aptrust_bag(tmp_path)
    archive = tar_of(bag, tmp_path / f"{bag.name}.tar")
    with tarfile.open(archive, "a") as tar:
        for name in ("../escape.txt", "other/file.txt"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"bad"))
        link = tarfile.TarInfo(f"{bag.name}/data/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    report = validate_bag_against_profile(archive, load_profile("aptrust"))
    assert rules(report.violations) == {
        ("structure", "../escape.txt"),
        ("structure", "other/file.txt"),
        ("structure", "data/link"),
    }
    assert not (tmp_path / "escape.txt").exists()


def test_a_file_that_is_not_a_bag_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    with pytest.raises(BagUnreadableError):
        validate_bag_against_profile(tmp_path / "x.txt", load_profile("btr"))
    (tmp_path / "x.tar").write_bytes(b"not a tar at all" * 64)
    with pytest.raises(BagUnreadableError):
        validate_bag_against_profile(tmp_path / "x.tar", load_profile("btr"))


def test_payload_files_and_data_empty_rules(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "b", ("sha256",), {"BagIt-Profile-Identifier": "https://example.org/profile.json"})
    profile = parse_profile(
        json.dumps(good_profile(**{"Payload-Files-Required": ["data/LICENSE", "data/cables/"],
                                   "Payload-Files-Allowed": ["data/cables/*", "data/LICENSE"],
                                   "Data-Empty": True, "Serialization": "optional"})),
        "inline",
    )
    report = validate_bag_against_profile(bag, profile)
    assert rules(report.violations) == {
        ("Payload-Files-Required", "data/LICENSE"),
        ("Payload-Files-Allowed", "data/readme.txt"),
        ("Data-Empty", "data"),
    }


# --------------------------------------------------------------------------- before bagging


def test_check_before_bagging_refuses_what_the_profile_forbids() -> None:
    aptrust = load_profile("aptrust")
    found = check_before_bagging({"Source-Organization": "virginia.edu"}, ("sha512", "sha256"), {}, aptrust)
    assert rules(found) == {
        ("Serialization", "."),
        ("BagIt-Profile-Identifier", "bag-info.txt: BagIt-Profile-Identifier"),
        ("cablekeep:Tag-File-Tags.aptrust-info.txt", "aptrust-info.txt"),
        ("Manifests-Required", "manifest-md5.txt"),
        ("Manifests-Allowed", "manifest-sha512.txt"),
        ("Tag-Manifests-Allowed", "tagmanifest-sha512.txt"),
        ("Tag-Files-Required", "aptrust-info.txt"),
    }
    info = {"Source-Organization": "virginia.edu", **bag_info_defaults(aptrust)}
    assert check_before_bagging(info, ("md5",), {"aptrust-info.txt": APTRUST_INFO}, aptrust, serialization="tar") == []


def test_the_labels_bagging_adds_count_as_present() -> None:
    btr = load_profile("btr")
    info = {"Source-Organization": "x", **bag_info_defaults(btr)}
    assert set(BAGGER_TAGS) >= {"Bagging-Date", "Payload-Oxum"}
    assert check_before_bagging(info, ("sha256",), {}, btr) == []


def test_check_before_bagging_agrees_with_the_bag_bagging_makes(tmp_path: Path) -> None:
    """The bag-info labels cablekeep's bagging writes are the ones check_before_bagging presumes."""
    btr = load_profile("btr")
    info = {"Source-Organization": "x", "Bag-Count": "1", **bag_info_defaults(btr)}
    strict = parse_profile(
        json.dumps(good_profile(**{
            "BagIt-Profile-Info": {**good_profile()["BagIt-Profile-Info"], "BagIt-Profile-Identifier": btr.identifier},  # type: ignore[dict-item]
            "Bag-Info": {label: {"required": True, "repeatable": False} for label in [*BAGGER_TAGS, "Bag-Count"]},
            "Serialization": "optional",
        })),
        "inline",
    )
    assert check_before_bagging(info, ("sha256",), {}, strict) == []
    bag = make_bag(tmp_path, "made", ("sha256",), info)
    assert validate_bag_against_profile(bag, strict).violations == []
