"""How a bag is known: its path, its bag-info.txt ``External-Identifier`` and the SHA-256 of its tag manifests.

A bag seen again at the same path with the same (or no) External-Identifier is the same bag, even when
its tag files changed. A bag at a new path whose tag manifests and External-Identifier match a known bag
is that bag moved -- unless the known bag is still at its old path, in which case it is a second copy
with its own history (:class:`~cablekeep.fixity.history.FixityHistory` decides which).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..bagging.layout import BAGIT_TXT, BAG_INFO_TXT, BLOCK, MANIFEST_RE, READ_FLAGS, TAGMANIFEST_RE
from ..errors import BagUnreadableError
from .tagfiles import (
    check_path,
    parse_bag_info,
    parse_declaration,
    parse_manifest_line,
    python_codec,
    split_lines,
)


@dataclass(frozen=True)
class BagIdentity:
    """How a bag is recognised: absolute path, External-Identifier, SHA-256 of its tag manifests."""

    path: str
    external_identifier: str | None
    tagmanifest_digest: str | None


def _read_small(path: Path) -> bytes:
    fd = os.open(path, READ_FLAGS)
    with os.fdopen(fd, "rb") as stream:
        return stream.read()


def _tag_codec(bag: Path) -> tuple[str, bool]:
    """The codec of the bag's tag files and whether BagIt 1.0 path rules apply."""
    try:
        declaration = parse_declaration(_read_small(bag / BAGIT_TXT))
    except OSError:
        return "utf-8", True
    codec = python_codec(declaration.encoding or "utf-8") or "utf-8"
    return ("utf-8-sig" if codec == "utf-8" else codec), declaration.strict


def bag_identity(path: Path) -> BagIdentity:
    """The identity of the bag at ``path``: see the module docstring.

    The digest covers every ``tagmanifest-*.txt`` (name and bytes, in name order), or, in a bag
    without tag manifests, every ``manifest-*.txt`` and bag-info.txt. Symbolic links are not
    followed. Raises :class:`BagUnreadableError` when ``path`` is not a directory.
    """
    root = Path(os.path.abspath(path))
    try:
        names = sorted(entry.name for entry in os.scandir(root) if entry.is_file(follow_symlinks=False))
    except OSError as exc:
        raise BagUnreadableError(f"cannot read the bag {root}: {exc.strerror or exc}") from exc
    external_identifier = None
    if BAG_INFO_TXT in names:
        codec, _strict = _tag_codec(root)
        try:
            text = _read_small(root / BAG_INFO_TXT).decode(codec, "replace")
        except OSError:
            text = ""
        elements, _problems = parse_bag_info(split_lines(text))
        external_identifier = next((v for k, v in elements if k.lower() == "external-identifier" and v), None)
    covered = [n for n in names if TAGMANIFEST_RE.match(n)]
    if not covered:
        covered = [n for n in names if MANIFEST_RE.match(n) or n == BAG_INFO_TXT]
    digest = None
    if covered:
        hasher = hashlib.sha256()
        for name in covered:
            hasher.update(name.encode("utf-8", "surrogateescape") + b"\0")
            try:
                fd = os.open(root / name, READ_FLAGS)
            except OSError:
                hasher.update(b"unreadable\0")
                continue
            with os.fdopen(fd, "rb") as stream:
                while block := stream.read(BLOCK):
                    hasher.update(block)
            hasher.update(b"\0")
        digest = hasher.hexdigest()
    return BagIdentity(str(root), external_identifier, digest)


def iter_manifest_entries(bag: Path, name: str) -> Iterator[tuple[str, str]]:
    """(path, lower-case hex digest) for each well-formed, safe line of the manifest ``name``.

    Paths are decoded as RFC 8493 says for the bag's BagIt version. Malformed and unsafe lines
    are skipped: reporting them is :func:`cablekeep.fixity.verify.verify_bag`'s job. The file is read
    as a stream, without following a symbolic link.
    """
    codec, strict = _tag_codec(bag)
    try:
        fd = os.open(bag / name, READ_FLAGS)
    except OSError:
        return
    with open(fd, encoding=codec, errors="surrogateescape", newline="") as stream:
        for raw in stream:
            parsed = parse_manifest_line(raw.rstrip("\r\n"))
            if parsed is None:
                continue
            checked = check_path(parsed.path, strict)
            if checked.kind is None:
                yield checked.path, parsed.digest.lower()
