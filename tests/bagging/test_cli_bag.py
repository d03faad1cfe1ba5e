"""`cablekeep bag DIR` and verifying serialized bags from the command line."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit

from ..conftest import CliResult, start_cli

Cli = Callable[..., CliResult]


def _files(root: Path) -> None:
    (root / "letters" / "1990").mkdir(parents=True)
    (root / "letters" / "1990" / "to minsk.txt").write_text("Dear colleague,\n" * 40)
    (root / "cotton label.txt").write_text("label\n")
    (root / "notes.md").write_text("# notes\n")


def test_bag_a_directory_as_a_copy_and_in_place(tmp_path: Path, cli: Cli) -> None:
    source = tmp_path / "papers"
    _files(source)
    copied = cli("bag", str(source), "--output", str(tmp_path / "bags"), "--algorithm", "sha256",
                       "--info", "Source-Organization=Test Library", "--info", "Contact-Name=A. Archivist")
    assert copied.exit_code == 0, copied.stderr
    bag = bagit.Bag(str(tmp_path / "bags" / "papers"))
    bag.validate()
    assert bag.info["Source-Organization"] == "Test Library" and bag.algorithms == ["sha256"]
    assert (source / "notes.md").exists(), "a copy leaves the source alone"
    in_place = cli("bag", "--in-place", str(source))
    assert in_place.exit_code == 0, in_place.stderr
    bagit.Bag(str(source)).validate()
    assert (source / "data" / "letters" / "1990" / "to minsk.txt").exists()
    assert cli("verify", str(source)).exit_code == 0


def test_verify_tar_and_zip_without_unpacking(tmp_path: Path, cli: Cli) -> None:
    source = tmp_path / "papers"
    _files(source)
    assert cli("bag", str(source), "--output", str(tmp_path / "bags")).exit_code == 0
    bag = tmp_path / "bags" / "papers"
    with tarfile.open(tmp_path / "papers.tar.gz", "w:gz") as archive:
        archive.add(bag, arcname="papers")
    with zipfile.ZipFile(tmp_path / "papers.zip", "w") as archive:
        for path in sorted(bag.rglob("*")):
            archive.write(path, "papers/" + path.relative_to(bag).as_posix())
    before = sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg-data")
    for name in ("papers.tar.gz", "papers.zip"):
        result = cli("verify", str(tmp_path / name))
        assert result.exit_code == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg-data") == before, "nothing was unpacked"
    shown = cli("history", str(tmp_path / "papers.zip"))
    assert "fixity check" in shown.stdout and "papers.zip" in shown.stdout, "archives are recorded too"
    # a tampered member is found inside the archive
    shutil.rmtree(tmp_path / "bags")
    broken = tmp_path / "broken.tar"
    with tarfile.open(tmp_path / "papers.tar.gz") as src, tarfile.open(broken, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name.endswith("notes.md"):
                import io

                content = b"# edited\n"
                member.size = len(content)
                dst.addfile(member, io.BytesIO(content))
            else:
                dst.addfile(member, data)
    result = cli("verify", "--json", str(broken))
    assert result.exit_code == 1
    assert "data/notes.md" in result.stdout and '"changed"' in result.stdout


def test_percent_in_a_name_is_encoded_as_rfc_8493_says(tmp_path: Path, cli: Cli) -> None:
    # RFC 8493 2.1.3: a % in a manifest path MUST be written %25. bagit-python 1.9 does not decode
    # it (it reports such a bag incomplete), so here our own verifier is the checker.
    source = tmp_path / "labels"
    source.mkdir()
    (source / "100% cotton.txt").write_text("label\n")
    assert cli("bag", str(source), "--output", str(tmp_path / "bags")).exit_code == 0
    bag = tmp_path / "bags" / "labels"
    assert "data/100%25 cotton.txt" in (bag / "manifest-sha512.txt").read_text()
    assert cli("verify", str(bag)).exit_code == 0


def test_verify_reports_progress_to_a_display(tmp_path: Path, cli: Cli) -> None:
    from cablekeep.fixity.verify import VerifyProgress, verify_bag

    source = tmp_path / "many"
    source.mkdir()
    for i in range(300):
        (source / f"f{i:03d}.txt").write_text(f"file {i}\n" * (i + 1))
    assert cli("bag", str(source), "--output", str(tmp_path / "bags")).exit_code == 0
    seen: list[VerifyProgress] = []
    report = verify_bag(tmp_path / "bags" / "many", on_progress=seen.append)
    assert report.ok and seen
    assert [p.files_done for p in seen] == sorted(p.files_done for p in seen)
    last = seen[-1]
    assert last.files_total == 300 and last.bytes_total == sum(p.stat().st_size for p in source.iterdir())
    assert last.bytes_done >= last.bytes_total


def test_in_place_with_output_is_refused_and_nothing_moves(tmp_path: Path, cli: Cli) -> None:
    source = tmp_path / "papers"
    _files(source)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if "xdg-data" not in p.parts)
    result = cli("bag", "--in-place", "--output", str(tmp_path / "bags"), str(source))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "--in-place" in result.stderr and "--output" in result.stderr
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if "xdg-data" not in p.parts)
    assert after == before, "neither bagged in place nor copied"


def test_an_empty_folder_is_bagged_alike_as_a_copy_and_in_place(tmp_path: Path, cli: Cli) -> None:
    # bagit.make_bag bags an empty folder (Payload-Oxum 0.0), though without payload manifests, which its
    # own validate() then refuses; RFC 8493 wants one, so ours are empty files and both checkers accept them.
    for mode in ("copy", "in-place"):
        source = tmp_path / mode / "empty"
        (source / "only-a-folder").mkdir(parents=True)
        args = ("--in-place", str(source)) if mode == "in-place" else (str(source), "--output", str(tmp_path / mode / "bags"))
        result = cli("bag", *args)
        assert result.exit_code == 0, result.stderr
        assert "Payload-Oxum 0.0 (0 files)" in result.stdout
        bag = source if mode == "in-place" else tmp_path / mode / "bags" / "empty"
        checked = bagit.Bag(str(bag))
        checked.validate()
        assert checked.info["Payload-Oxum"] == "0.0"
        assert (bag / "manifest-sha512.txt").read_bytes() == b""
        assert cli("verify", str(bag)).exit_code == 0


def test_bag_off_a_terminal_prints_two_lines_and_no_progress(tmp_path: Path, cli: Cli) -> None:
    source = tmp_path / "papers"
    _files(source)
    result = cli("bag", str(source), "--output", str(tmp_path / "bags"))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("bag: ") and lines[1].startswith("Payload-Oxum ")
    assert "bagging" not in result.stdout + result.stderr


def test_bag_on_a_terminal_shows_a_live_line(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess

    source = tmp_path / "papers"
    _files(source)
    main, child = pty.openpty()
    process = start_cli("bag", str(source), "--output", str(tmp_path / "bags"),
                        stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert process.wait(timeout=120) == 0, shown
    import re

    text = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace")).split())
    assert f"bagging {source}: 3/3 files" in text, text
    assert f"bag: {tmp_path / 'bags' / 'papers'}" in text
