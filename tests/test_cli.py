"""The command line as a user runs it: real processes, exit codes, tampered bags."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def built_bag(tmp_path_factory: pytest.TempPathFactory, sample_site: object, cli: Cli) -> Path:
    from cablekeep.sample_site import SampleSite

    assert isinstance(sample_site, SampleSite)
    tmp = tmp_path_factory.mktemp("cli")
    manifest = tmp / "m.yaml"
    manifest.write_text(
        "cablekeep: 1\ncollection: cli-test\n"
        f"site: {{cable_url: '{sample_site.cable_base}/cable/{{id}}'}}\n"
        "seeds: [{cable: 05ALMATY2503}]\nfollow: {depth: 1}\n"
        "fetch: {per_host_delay: 0, allow_private: true, retries: 0}\n"
        f"bag: {{output: '{tmp / 'bags'}'}}\n",
        encoding="utf-8",
    )
    result = cli("run", "--json", str(manifest))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["verified"] is True
    return Path(summary["bag"])


@pytest.fixture
def bag_copy(built_bag: Path, tmp_path: Path) -> Path:
    target = tmp_path / built_bag.name
    shutil.copytree(built_bag, target)
    return target


def _problems(result: CliResult) -> list[dict[str, object]]:
    report = json.loads(result.stdout.splitlines()[0])
    assert report["schema"].startswith("cablekeep.verify/")
    return list(report["problems"])


def test_verify_clean_bag(built_bag: Path, cli: Cli) -> None:
    result = cli("verify", str(built_bag))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_flipped_byte_in_warc(bag_copy: Path, cli: Cli) -> None:
    warc = sorted((bag_copy / "data" / "warc").iterdir())[0]
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    result = cli("verify", "--json", str(bag_copy))
    assert result.exit_code == 1
    problems = _problems(result)
    changed = [p for p in problems if p["kind"] == "changed"]
    assert {p["algorithm"] for p in changed} == {"sha256", "sha512"}
    assert all(p["path"] == f"data/warc/{warc.name}" for p in changed)
    assert any(p["kind"] == "warc" for p in problems), "the WARC reader must notice the damage too"


def test_deleted_file(bag_copy: Path, cli: Cli) -> None:
    (bag_copy / "data" / "cables.jsonl").unlink()
    result = cli("verify", "--json", str(bag_copy))
    assert result.exit_code == 1
    problems = _problems(result)
    assert any(p["kind"] == "missing" and p["path"] == "data/cables.jsonl" for p in problems)


def test_added_file(bag_copy: Path, cli: Cli) -> None:
    (bag_copy / "data" / "intruder.txt").write_text("not in any manifest")
    result = cli("verify", "--json", str(bag_copy))
    assert result.exit_code == 1
    assert any(p["kind"] == "unexpected" and p["path"] == "data/intruder.txt" for p in _problems(result))


def test_edited_bag_info(bag_copy: Path, cli: Cli) -> None:
    info = bag_copy / "bag-info.txt"
    info.write_text(info.read_text().replace("cli-test", "cli-tesT"))
    result = cli("verify", "--json", str(bag_copy))
    assert result.exit_code == 1
    assert any(p["kind"] == "changed" and p["path"] == "bag-info.txt" for p in _problems(result))


def test_fast_says_it_is_not_a_fixity_check(bag_copy: Path, cli: Cli) -> None:
    result = cli("verify", "--fast", str(bag_copy))
    assert result.exit_code == 0
    assert "NOT a fixity check" in result.stdout


def test_verify_lone_warc(built_bag: Path, tmp_path: Path, cli: Cli) -> None:
    warc = sorted((built_bag / "data" / "warc").iterdir())[0]
    assert cli("verify", str(warc)).exit_code == 0
    cut = tmp_path / warc.name
    cut.write_bytes(warc.read_bytes()[:-7])
    assert cli("verify", str(cut)).exit_code == 1


def test_verify_not_a_bag(tmp_path: Path, cli: Cli) -> None:
    result = cli("verify", str(tmp_path / "nothing-here"))
    assert result.exit_code == 4
    assert "error" in result.stderr


def test_usage_error_exit_2(cli: Cli) -> None:
    assert cli("verify").exit_code == 2


def test_bad_manifest_exit_3_and_nothing_written(tmp_path: Path, cli: Cli) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("cablekeep: 1\ncollection: ok-name\nseeds:\n  - cable: 05ALMATY2503\nfetch:\n  per_host_dealy: 1\n")
    before = sorted(os.listdir(tmp_path))
    result = cli("run", str(manifest))
    assert result.exit_code == 3
    assert f"{manifest}:6" in result.stderr and "per_host_dealy" in result.stderr
    assert sorted(os.listdir(tmp_path)) == before
