"""deliver verifies the bag in full before sending: a damaged bag (a folder, or an archive) is not delivered,
exit 1, nothing at the destination, no receipt, and the failed verification is in the history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cablekeep.fixity.history import FixityHistory

from ..conftest import CliResult
from .test_cli_handoff import source_folder

Cli = Callable[..., CliResult]


def test_a_damaged_bag_is_not_delivered(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    assert cli("bag", str(source), "--output", str(tmp_path / "bags"), "--algorithm", "sha256").exit_code == 0
    bag = tmp_path / "bags" / source.name
    (bag / "data" / "cables" / "05TASHKENT1.txt").write_text("CLASSIFIED!!\n", encoding="utf-8")  # same size: only the checksum tells
    share, db = tmp_path / "share", tmp_path / "fixity.sqlite"
    result = cli("deliver", str(bag), "--to-dir", str(share), "--db", str(db))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert f"{bag} is INVALID (1 changed); nothing was sent" in result.stderr
    assert "changed: data/cables/05TASHKENT1.txt" in result.stderr
    assert not share.exists() and not bag.with_name(bag.name + ".receipt.json").exists()
    with FixityHistory(db) as history:
        (event,) = history.events_for(bag)
    assert event.outcome == "invalid" and event.event_type != "replication"


def test_a_damaged_archive_is_not_delivered(tmp_path: Path, cli: Cli) -> None:
    source = source_folder(tmp_path)
    made = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--algorithm", "sha256", "--serialize", "tar")
    assert made.exit_code == 0, made.stderr
    archive = tmp_path / "bags" / f"{source.name}.tar"
    data = bytearray(archive.read_bytes())
    spot = data.index(b"UNCLASSIFIED")
    data[spot:spot + 3] = b"SEC"
    archive.write_bytes(bytes(data))
    share = tmp_path / "share"
    result = cli("deliver", str(archive), "--to-dir", str(share), "--db", str(tmp_path / "fixity.sqlite"))
    assert result.exit_code == 1 and "nothing was sent" in result.stderr and not share.exists()
    valid = tmp_path / "bags" / source.name  # the folder is intact: it goes
    assert cli("deliver", str(valid), "--to-dir", str(share), "--db", str(tmp_path / "fixity.sqlite")).exit_code == 0
