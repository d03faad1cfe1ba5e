"""`cablekeep verify` on WARC and ARC files and on a folder of them that is not a bag, as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..conftest import CliResult
from .test_arccheck import arc_record, version_block
from .test_warclegacy import record_id, referring, resource, warcinfo

Cli = Callable[..., CliResult]


def test_a_bare_arc_file_is_checked_and_counted(tmp_path: Path, cli: Cli) -> None:
    arc = tmp_path / "crawl.arc"
    arc.write_bytes(version_block() + arc_record() + arc_record(url=b"http://example.org/b"))
    result = cli("verify", str(arc))
    assert result.exit_code == 0, result
    assert f"{arc}: valid" in result.stdout
    assert "1 file(s), 3 records: 2 arc, 1 filedesc" in result.stdout
    assert "problems by kind: none" in result.stdout


def test_a_folder_of_warcs_that_is_not_a_bag(tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "collection"
    (folder / "2008").mkdir(parents=True)
    target = record_id()
    # Two files of one Heritrix crawl: a reference from one to the other resolves across the folder;
    # one to a file not here is a warning (the crawl spans more files).
    (folder / "2008" / "a.warc").write_bytes(warcinfo(b"Heritrix/1.14.0") + referring(target) + referring(record_id()))
    (folder / "2008" / "b.warc").write_bytes(warcinfo(b"Heritrix/1.14.0") + resource(rid=target, version=b"WARC/0.17"))
    (folder / "old.arc").write_bytes(version_block() + arc_record())
    (folder / "notes.txt").write_text("not an archive")
    result = cli("verify", str(folder))
    assert result.exit_code == 0, result
    assert "3 file(s), 7 records: 3 resource, 2 warcinfo, 1 arc, 1 filedesc" in result.stdout, result.stdout
    assert "problems by kind: 2 warning" in result.stdout  # the dangling reference, the draft version
    as_json = json.loads(cli("verify", "--json", str(folder)).stdout)
    assert as_json["mode"] == "warc" and as_json["files_checked"] == 3 and as_json["warc_records_checked"] == 7


def test_a_broken_file_in_the_folder_makes_it_invalid(tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "warcs"
    folder.mkdir()
    (folder / "good.warc").write_bytes(resource())
    (folder / "cut.warc").write_bytes(resource()[:-9])
    result = cli("verify", str(folder))
    assert result.exit_code == 1
    assert "INVALID" in result.stdout and "problems by kind: 1 warc" in result.stdout, result.stdout


def test_a_folder_with_bagit_txt_is_verified_as_a_bag(tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "bag"
    folder.mkdir()
    (folder / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (folder / "a.warc").write_bytes(resource())
    result = cli("verify", str(folder))
    assert result.exit_code == 1 and "records:" not in result.stdout  # a bag without data/ or manifests
