"""Bags for the fixity tests: made by bagit-python, by hand, with WARCs, and serialized as tar or zip."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import bagit
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ALGORITHMS = ["sha256", "sha512"]


def make_bag(root: Path, files: dict[str, bytes], *, info: dict[str, str] | None = None) -> Path:
    """A bag made by bagit-python from ``files`` (payload-relative path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    bagit.make_bag(str(root), info or {"Source-Organization": "cablekeep tests"}, checksums=ALGORITHMS)
    return root


def rewrite_tag_manifests(bag: Path) -> None:
    """Recompute tag manifests after a deliberate tag-file edit, so only that edit is reported."""
    for manifest in bag.glob("tagmanifest-*.txt"):
        algorithm = manifest.name[len("tagmanifest-") : -len(".txt")]
        lines = []
        for line in manifest.read_text().splitlines():
            _digest, name = line.split(maxsplit=1)
            lines.append(f"{hashlib.new(algorithm, (bag / name).read_bytes()).hexdigest()} {name}\n")
        manifest.write_text("".join(lines))


def rewrite_payload_manifests(bag: Path) -> None:
    """Recompute payload checksums (the bag stays structurally as it was)."""
    for manifest in bag.glob("manifest-*.txt"):
        algorithm = manifest.name[len("manifest-") : -len(".txt")]
        lines = []
        for line in manifest.read_text().splitlines():
            _digest, name = line.split(maxsplit=1)
            lines.append(f"{hashlib.new(algorithm, (bag / name).read_bytes()).hexdigest()}  {name}\n")
        manifest.write_text("".join(lines))
    rewrite_tag_manifests(bag)


def warc_bytes(uris: list[str], *, concurrent_to: str | None = None) -> tuple[bytes, list[str]]:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    ids = []
    for uri in uris:
        body = f"<p>{uri}</p>".encode() * 30
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=headers)
        if concurrent_to:
            record.rec_headers.add_header("WARC-Concurrent-To", concurrent_to)
        writer.write_record(record)
        ids.append(record.rec_headers.get_header("WARC-Record-ID"))
    return out.getvalue(), ids


def write_bag(root: Path, version: str, manifest: dict[str, bytes], files: dict[str, bytes], info: str = "") -> Path:
    """A hand-made bag: ``manifest`` maps the path as written in manifest-sha256.txt to content."""
    root.mkdir(parents=True)
    (root / "bagit.txt").write_text(f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n")
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    lines = "".join(f"{hashlib.sha256(c).hexdigest()}  {p}\n" for p, c in manifest.items())
    (root / "manifest-sha256.txt").write_text(lines)
    if info:
        (root / "bag-info.txt").write_text(info)
    return root


def members_of(bag: Path, order: str) -> list[Path]:
    """Every file and directory of ``bag`` (itself first), in the order the archive stores them."""
    everything = [bag, *sorted(bag.rglob("*"))]
    if order == "sorted":
        return everything
    payload = [p for p in everything if p == bag or p.relative_to(bag).parts[0] == "data"]
    tags = [p for p in everything if p not in payload]
    if order == "tags-last":
        # bagit.txt very last, after the manifests it governs
        tags.sort(key=lambda p: p.name == "bagit.txt")
        return payload + tags
    return [bag, *tags, *payload[1:]]


def serialize(bag: Path, fmt: str, order: str = "sorted", out_dir: Path | None = None) -> Path:
    out_dir = out_dir or bag.parent / "archives"
    out_dir.mkdir(exist_ok=True)
    archive = out_dir / f"{bag.name}.{fmt}"
    base = bag.parent
    if fmt == "zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in members_of(bag, order):
                zf.write(path, path.relative_to(base).as_posix())
    else:
        with tarfile.open(archive, "w:gz" if fmt == "tgz" else "w") as tf:
            for path in members_of(bag, order):
                tf.add(path, path.relative_to(base).as_posix(), recursive=False)
    return archive
