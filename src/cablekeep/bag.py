"""Making BagIt 1.0 bags (RFC 8493), built in a staging directory and renamed into place.

``make_bag`` takes payload files and their bag paths, hardlinks (or copies) them into
``<parent>/.staging-<name>/data/``, hashes each file once for all algorithms, writes
``bagit.txt``, ``bag-info.txt``, one payload manifest and one tag manifest per algorithm, fsyncs
and renames the staging directory to ``<parent>/<name>``. An interrupted run leaves only a
staging directory, which the next run removes: nothing that looks like a finished bag is ever
half written. bagit-python is not used here; it is the independent checker in the tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from . import __version__
from .errors import OutputError, UsageError

BLOCK = 1024 * 1024
SUPPORTED_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class BagRef:
    """A finished bag."""

    path: Path
    name: str
    external_identifier: str
    payload_files: int
    payload_bytes: int
    algorithms: tuple[str, ...]

    @property
    def payload_oxum(self) -> str:
        return f"{self.payload_bytes}.{self.payload_files}"


def hash_file(path: Path, algorithms: Sequence[str]) -> tuple[int, dict[str, str]]:
    """Size and hex digests of one file, read once in blocks for all algorithms."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            size += len(block)
            for hasher in hashers.values():
                hasher.update(block)
    return size, {name: hasher.hexdigest() for name, hasher in hashers.items()}


def encode_manifest_path(path: str) -> str:
    """RFC 8493 section 2.1.3: CR, LF and % in a manifest path are percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _check_label(label: str) -> None:
    if not label or ":" in label or label != label.strip() or any(c in label for c in "\r\n"):
        raise UsageError(f"bag-info label {label!r} is not valid: no colon, newline or surrounding spaces")


def _info_lines(info: Mapping[str, str | Sequence[str]]) -> list[str]:
    lines = []
    for label, value in info.items():
        _check_label(label)
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            # Continuation lines (RFC 8493 2.2.2) keep multi-line values.
            lines.append(f"{label}: " + "\n  ".join(str(item).splitlines() or [""]))
    return lines


def _place(source: Path, target: Path, link: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_bag(
    parent: Path,
    name: str,
    payload: Iterable[tuple[Path, str]],
    *,
    info: Mapping[str, str | Sequence[str]],
    algorithms: Sequence[str],
    external_identifier: str,
    bagging_date: datetime,
    link: bool = True,
    tag_files: Mapping[str, bytes] | None = None,
) -> BagRef:
    """Build the bag ``parent/name`` from ``payload`` (source file, path under ``data/``)."""
    for algorithm in algorithms:
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise UsageError(f"unsupported checksum algorithm {algorithm!r}; use one of {', '.join(SUPPORTED_ALGORITHMS)}")
    final = parent / name
    if final.exists():
        raise OutputError(f"bag {final} already exists; remove it or choose another name")
    staging = parent / f"{STAGING_PREFIX}{name}"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        (staging / "data").mkdir(parents=True)
        manifests: dict[str, list[str]] = {alg: [] for alg in algorithms}
        files = total = 0
        for source, relative in payload:
            rel = PurePosixPath(relative)
            if rel.is_absolute() or ".." in rel.parts:
                raise UsageError(f"payload path {relative!r} would escape the bag")
            target = staging / "data" / rel
            _place(source, target, link)
            size, digests = hash_file(target, algorithms)
            files += 1
            total += size
            for alg, digest in digests.items():
                manifests[alg].append(f"{digest}  {encode_manifest_path('data/' + rel.as_posix())}\n")
        (staging / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")
        full_info: dict[str, str | Sequence[str]] = dict(info)
        full_info.update({
            "Bagging-Date": bagging_date.strftime("%Y-%m-%d"),
            "External-Identifier": external_identifier,
            "Payload-Oxum": f"{total}.{files}",
            "Bag-Size": human_size(total),
            "Bag-Software-Agent": f"cablekeep {__version__}",
        })
        (staging / "bag-info.txt").write_text("\n".join(_info_lines(full_info)) + "\n", encoding="utf-8")
        for alg, lines in manifests.items():
            (staging / f"manifest-{alg}.txt").write_text("".join(sorted(lines, key=lambda l: l.split("  ", 1)[1])), encoding="utf-8")
        extra_tags = dict(tag_files or {})
        for tag_name, content in extra_tags.items():
            if "/" in tag_name or tag_name.startswith(("manifest-", "tagmanifest-", "bag")) or tag_name == "data":
                raise UsageError(f"tag file name {tag_name!r} is reserved or not a plain file name")
            (staging / tag_name).write_bytes(content)
        tag_names = ["bagit.txt", "bag-info.txt", *extra_tags] + [f"manifest-{alg}.txt" for alg in algorithms]
        tag_digests = {name_: hash_file(staging / name_, algorithms)[1] for name_ in tag_names}
        for alg in algorithms:
            lines = [f"{tag_digests[t][alg]}  {t}\n" for t in tag_names]
            (staging / f"tagmanifest-{alg}.txt").write_text("".join(lines), encoding="utf-8")
        _fsync_tree(staging)
        os.replace(staging, final)
    except OSError as exc:
        raise OutputError(f"cannot build bag {final}: {exc}; the staging directory {staging} is not a bag") from exc
    return BagRef(final, name, external_identifier, files, total, tuple(algorithms))
