"""--cluster on verify and audit, as a user runs them; without it, Dask is never loaded."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from ..conftest import CliResult
from ..imports import modules_loaded


@pytest.fixture
def bag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the local cluster's scratch space
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "bags" / "bag"
    for n in range(120):
        (root / "cables").mkdir(parents=True, exist_ok=True)
        (root / "cables" / f"{n:03d}.txt").write_bytes(f"cable {n}\n".encode() * (n + 1))
    bagit.make_bag(str(root), {"Source-Organization": "cablekeep tests"}, checksums=["sha256"])
    return root


def test_verify_and_audit_on_a_local_cluster(bag: Path, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    (bag / "data/cables/007.txt").write_bytes(b"CABLE 7\n" * 8)
    db = tmp_path / "fixity.sqlite"
    result = cli("verify", "--cluster", "local:2", "--json", "--db", str(db), str(bag))
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert [(p["kind"], p["path"]) for p in report["problems"]] == [("changed", "data/cables/007.txt")]
    # one shard, taken by one of this machine's processes at once: the cluster is not started, and it says so
    assert "--cluster local:2: the cluster was not needed" in result.stderr
    result = cli("audit", "--cluster", "local:2", "--json", "--db", str(db), str(tmp_path / "bags"))
    assert result.exit_code == 1, result.stderr
    audited = json.loads(result.stdout)
    assert [f["path"] for f in audited["bags"][0]["findings"]] == ["data/cables/007.txt"]
    assert "the cluster was not needed" in result.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # the scratch space is gone


@pytest.mark.parametrize("value", ["local:0", "somewhere"])
def test_a_bad_cluster_is_a_usage_error(bag: Path, value: str, cli: Callable[..., CliResult]) -> None:
    result = cli("verify", "--cluster", value, str(bag))
    assert result.exit_code == 2
    assert "--cluster" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["verify"], ["audit"]])
def test_without_cluster_dask_is_not_imported(bag: Path, tmp_path: Path, args: list[str]) -> None:
    if args != ["--help"]:
        args = [*args, "--db", str(tmp_path / "fixity.sqlite"), str(bag)]
    code, loaded, stderr = modules_loaded(args, ["dask", "distributed", "cablekeep.cluster.dask"])
    assert (code, loaded) == (0, []), stderr
