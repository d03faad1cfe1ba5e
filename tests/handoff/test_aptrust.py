"""APTrust bags made end to end through the real command line: the profile's own tag file (aptrust-info.txt)
written and listed in the tag manifests, the bag serialized as a tar named like its folder, and the result
accepted by validate-profile; the same through run with bag.profile and bag.serialize. A damaged bag is
never delivered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cablekeep.handoff.profiles import load_profile, profile_tags
from cablekeep.handoff.serialize import FORMATS
from cablekeep.manifest.model import SERIALIZATIONS

from ..conftest import CliResult
from .test_cli_handoff import source_folder, tree

Cli = Callable[..., CliResult]


def test_profile_tags_share_labels_out_and_fill_defaults_only_in_files_given_something() -> None:
    aptrust = load_profile("aptrust")
    tags = profile_tags(aptrust, {"Source-Organization": "virginia.edu", "Title": "Andijon", "Access": "Institution"})
    assert tags.tag_files == {"aptrust-info.txt": b"Title: Andijon\nAccess: Institution\nStorage-Option: Standard\n"}
    assert "Title" not in tags.info and "Access" not in tags.info and tags.info["Source-Organization"] == "virginia.edu"
    given = profile_tags(aptrust, {"Storage-Option": "Glacier-OH", "Title": "T", "Access": "Consortia"})
    assert b"Storage-Option: Glacier-OH\n" in given.tag_files["aptrust-info.txt"]  # what is given wins
    assert profile_tags(aptrust, {"Source-Organization": "x"}).tag_files == {}  # nothing given: not half filled


def test_the_manifest_and_the_serializer_name_the_same_formats() -> None:
    assert SERIALIZATIONS == tuple(FORMATS)


def test_bag_profile_aptrust_makes_a_tar_that_validate_profile_accepts(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path, "virginia.edu.andijon")
    made = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--profile", "aptrust",
               "--info", "Source-Organization=virginia.edu", "--info", "Title=Andijon cables",
               "--info", "Access=Institution", "--serialize", "tar")
    assert made.exit_code == 0, made.stdout + made.stderr
    bag = tmp_path / "bags" / source.name
    archive = bag.with_name(bag.name + ".tar")
    assert f"{archive}: conforms to the profile" in made.stdout
    assert (bag / "aptrust-info.txt").read_text(encoding="utf-8") == (
        "Title: Andijon cables\nAccess: Institution\nStorage-Option: Standard\n")
    assert "Title" not in (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "  aptrust-info.txt\n" in (bag / "tagmanifest-md5.txt").read_text(encoding="utf-8")
    assert sorted(p.name for p in bag.glob("*manifest-*.txt")) == ["manifest-md5.txt", "tagmanifest-md5.txt"]

    accepted = cli("validate-profile", str(archive), "aptrust")
    assert accepted.exit_code == 0, accepted.stdout + accepted.stderr
    assert f"{archive}: valid (full" in accepted.stdout

    in_place = source_folder(tmp_path / "other", "virginia.edu.inplace")
    done = cli("bag", str(in_place), "--in-place", "--profile", "aptrust", "--info", "Source-Organization=x",
               "--info", "Title=T", "--info", "Access=Restricted", "--serialize", "tar")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert cli("validate-profile", str(in_place.with_name(in_place.name + ".tar")), "aptrust").exit_code == 0


def test_an_aptrust_value_outside_the_profile_is_refused_before_anything_is_written(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    before = tree(source)
    refused = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--profile", "aptrust",
                  "--info", "Source-Organization=x", "--info", "Title=T", "--info", "Access=Everyone",
                  "--serialize", "tar")
    assert refused.exit_code == 2 and "aptrust-info.txt: Access: 'Everyone' is not one of" in refused.stderr
    assert not (tmp_path / "bags").exists() and tree(source) == before


def test_run_with_bag_profile_aptrust_and_serialize_tar(
    tmp_path: Path, cli: Cli, write_manifest: Callable[..., Path]
) -> None:
    manifest = write_manifest(follow={"depth": 0}, bag={
        "output": str(tmp_path / "bags"), "profile": "aptrust", "serialize": "tar", "algorithms": ["md5", "sha256"],
        "info": {"Title": "Almaty cables", "Access": "Consortia"}})
    result = cli("run", str(manifest), "--quiet", "--json", "--db", str(tmp_path / "fixity.sqlite"))
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    archive = Path(summary["archive"])
    assert archive.name == Path(summary["bag"]).name + ".tar" and archive.is_file()
    assert summary["profile"]["target"] == str(archive) and summary["profile"]["conforms"] is True
    assert (Path(summary["bag"]) / "aptrust-info.txt").read_text(encoding="utf-8").startswith("Title: Almaty cables\n")
    assert cli("validate-profile", str(archive), "aptrust").exit_code == 0


def test_run_refuses_aptrust_without_a_tar_and_a_bad_serialize_value(
    tmp_path: Path, cli: Cli, write_manifest: Callable[..., Path]
) -> None:
    folder = write_manifest(bag={"output": str(tmp_path / "bags"), "profile": "aptrust",
                                 "info": {"Title": "T", "Access": "Consortia"}})
    refused = cli("run", str(folder), "--quiet")
    assert refused.exit_code == 2 and "Serialization: .: the profile requires a serialized bag" in refused.stderr
    assert "Manifests-Required" in refused.stderr and "aptrust-info.txt" not in refused.stderr
    bad = write_manifest(bag={"output": str(tmp_path / "bags"), "serialize": "rar"})
    result = cli("run", str(bad), "--quiet")
    assert result.exit_code == 3 and "bag.serialize" in result.stderr and "tar, tar.gz, zip" in result.stderr
    assert not (tmp_path / "bags").exists()
