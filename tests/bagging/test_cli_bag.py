"""`cablekeep bag DIR` and verifying serialized bags from the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import bagit


def cablekeep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cablekeep", *args], capture_output=True, text=True, timeout=120)


def _files(root: Path) -> None:
    (root / "letters" / "1990").mkdir(parents=True)
    (root / "letters" / "1990" / "to minsk.txt").write_text("Dear colleague,\n" * 40)
    (root / "cotton label.txt").write_text("label\n")
    (root / "notes.md").write_text("# notes\n")


def test_bag_a_directory_as_a_copy_and_in_place(tmp_path: Path) -> None:
    source = tmp_path / "papers"
    _files(source)
    copied = cablekeep("bag", str(source), "--output", str(tmp_path / "bags"), "--algorithm", "sha256",
                       "--info", "Source-Organization=Test Library", "--info", "Contact-Name=A. Archivist")
    assert copied.returncode == 0, copied.stderr
    bag = bagit.Bag(str(tmp_path / "bags" / "papers"))
    bag.validate()
    assert bag.info["Source-Organization"] == "Test Library" and bag.algorithms == ["sha256"]
    assert (source / "notes.md").exists(), "a copy leaves the source alone"
    in_place = cablekeep("bag", "--in-place", str(source))
    assert in_place.returncode == 0, in_place.stderr
    bagit.Bag(str(source)).validate()
    assert (source / "data" / "letters" / "1990" / "to minsk.txt").exists()
    assert cablekeep("verify", str(source)).returncode == 0


def test_verify_tar_and_zip_without_unpacking(tmp_path: Path) -> None:
    source = tmp_path / "papers"
    _files(source)
    assert cablekeep("bag", str(source), "--output", str(tmp_path / "bags")).returncode == 0
    bag = tmp_path / "bags" / "papers"
    with tarfile.open(tmp_path / "papers.tar.gz", "w:gz") as archive:
        archive.add(bag, arcname="papers")
    with zipfile.ZipFile(tmp_path / "papers.zip", "w") as archive:
        for path in sorted(bag.rglob("*")):
            archive.write(path, "papers/" + path.relative_to(bag).as_posix())
    before = sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg-data")
    for name in ("papers.tar.gz", "papers.zip"):
        result = cablekeep("verify", str(tmp_path / name))
        assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg-data") == before, "nothing was unpacked"
    shown = cablekeep("history", str(tmp_path / "papers.zip"))
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
    result = cablekeep("verify", "--json", str(broken))
    assert result.returncode == 1
    assert "data/notes.md" in result.stdout and '"changed"' in result.stdout


def test_percent_in_a_name_is_encoded_as_rfc_8493_says(tmp_path: Path) -> None:
    # RFC 8493 2.1.3: a % in a manifest path MUST be written %25. bagit-python 1.9 does not decode
    # it (it reports such a bag incomplete), so here our own verifier is the checker.
    source = tmp_path / "labels"
    source.mkdir()
    (source / "100% cotton.txt").write_text("label\n")
    assert cablekeep("bag", str(source), "--output", str(tmp_path / "bags")).returncode == 0
    bag = tmp_path / "bags" / "labels"
    assert "data/100%25 cotton.txt" in (bag / "manifest-sha512.txt").read_text()
    assert cablekeep("verify", str(bag)).returncode == 0


def test_verify_reports_progress_to_a_display(tmp_path: Path) -> None:
    from cablekeep.fixity.verify import VerifyProgress, verify_bag

    source = tmp_path / "many"
    source.mkdir()
    for i in range(300):
        (source / f"f{i:03d}.txt").write_text(f"file {i}\n" * (i + 1))
    assert cablekeep("bag", str(source), "--output", str(tmp_path / "bags")).returncode == 0
    seen: list[VerifyProgress] = []
    report = verify_bag(tmp_path / "bags" / "many", on_progress=seen.append)
    assert report.ok and seen
    assert [p.files_done for p in seen] == sorted(p.files_done for p in seen)
    last = seen[-1]
    assert last.files_total == 300 and last.bytes_total == sum(p.stat().st_size for p in source.iterdir())
    assert last.bytes_done >= last.bytes_total
