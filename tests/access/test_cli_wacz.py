"""`cablekeep wacz BAG` as a user runs it: a verified bag becomes a WACZ that checks out; a damaged
bag is refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from cablekeep.access.waczcheck import verify_wacz
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest

from ..conftest import CliResult

Cli = Callable[..., CliResult]


def test_wacz_of_a_bag_and_of_a_damaged_one(write_manifest: Callable[..., Path], tmp_path: Path, cli: Cli) -> None:
    bag = run_manifest(load_manifest(write_manifest(follow={"depth": 0}))).bag.path
    result = cli("wacz", str(bag), "--out", str(tmp_path / "cables.wacz"))
    assert result.exit_code == 0, result.stderr
    assert "WACZ 1.1.1" in result.stdout and "1 cable page(s)" in result.stdout
    assert verify_wacz(tmp_path / "cables.wacz") == []
    damaged = tmp_path / "damaged"
    shutil.copytree(bag, damaged)
    warc = next((damaged / "data" / "warc").iterdir())
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0xFF
    warc.write_bytes(bytes(data))
    refused = cli("wacz", str(damaged))
    assert refused.exit_code == 1 and "not packaged" in refused.stderr
    assert not (tmp_path / "damaged.wacz").exists()
