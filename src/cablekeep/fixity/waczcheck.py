"""Checking a WACZ: :func:`verify_wacz` for a WACZ file, and the check of a WACZ inside a bag.

Every resource ``datapackage.json`` lists is read from the ZIP as a stream (blocks of
:data:`~cablekeep.bagging.layout.BLOCK`) and its hash and size compared with the listing;
``datapackage.json`` itself is compared with ``datapackage-digest.json``. Every problem is collected,
as :class:`~cablekeep.fixity.report.Problem` objects with the kinds the bag checks use:

``invalid-structure``  no ``datapackage.json``, not JSON, no ``wacz_version``, a malformed resource entry
``unsafe-path``        a resource path that is absolute or climbs out with ``..``
``missing``            a listed resource that is not in the ZIP
``unexpected``         a file in the ZIP that ``datapackage.json`` does not list
``changed``            a hash, a size or a ZIP CRC-32 that does not match (``algorithm``, ``expected``, ``found``)
``not-checked``        a hash in an algorithm this Python cannot compute; never counted as passed
``warning``            no ``datapackage-digest.json`` (the spec says SHOULD)

A file that is not there or is not a ZIP at all raises :class:`~cablekeep.errors.BagUnreadableError`.

Inside a bag, a payload file named ``*.wacz`` is checked the same way (:func:`check_wacz_fd` for a
bag directory's file, read again from its descriptor after it was hashed; :class:`WaczSpool` for an
archived bag's member, copied aside in the one read that hashes it, in memory up to
:data:`SPOOL_IN_MEMORY` and to a temporary file past it, because a ZIP is read from its central
directory at the end). What it finds becomes one ``wacz`` problem per finding (:func:`in_bag`), on
the WACZ's bag path, naming the resource inside; a warning stays a warning and what could not be
checked stays ``not-checked``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

from ..bagging.layout import BLOCK, hashlib_name
from ..errors import BagUnreadableError
from .report import Problem, problem_order

# The WACZ 1.1.1 names the checker needs (cablekeep.access.datapackage holds the rest of the layout).
DATAPACKAGE = "datapackage.json"
DATAPACKAGE_DIGEST = "datapackage-digest.json"
WACZ_SUFFIX = ".wacz"

MAX_JSON = 64 << 20  # datapackage.json and its digest are read whole; a larger one is refused as malformed
SPOOL_IN_MEMORY = 16 << 20  # an archived bag's WACZ is kept in memory up to this, in a temporary file past it
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError)
_OPEN_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError)


def is_wacz_name(name: str) -> bool:
    return name.endswith(WACZ_SUFFIX)


def _read_json(zf: zipfile.ZipFile, name: str) -> tuple[bytes, Any] | Problem:
    info = zf.getinfo(name)
    if info.file_size > MAX_JSON:
        return Problem("invalid-structure", name, f"{name} is {info.file_size} bytes, more than {MAX_JSON}: not read")
    try:
        with zf.open(info) as stream:
            raw = stream.read(MAX_JSON + 1)
    except _READ_ERRORS as exc:
        return Problem("changed", name, f"{name} cannot be read from the ZIP ({exc}): the file is damaged")
    try:
        return raw, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Problem("invalid-structure", name, f"{name} is not JSON ({exc})")


def _split_hash(labelled: object) -> tuple[str, str] | None:
    if not isinstance(labelled, str) or ":" not in labelled:
        return None
    algorithm, _, digest = labelled.partition(":")
    return (algorithm.lower(), digest.lower()) if algorithm and digest else None


def _check_digest(zf: zipfile.ZipFile, datapackage: bytes) -> list[Problem]:
    if DATAPACKAGE_DIGEST not in zf.NameToInfo:
        return [Problem("warning", DATAPACKAGE_DIGEST, f"no {DATAPACKAGE_DIGEST}: {DATAPACKAGE} itself cannot be checked")]
    loaded = _read_json(zf, DATAPACKAGE_DIGEST)
    if isinstance(loaded, Problem):
        return [loaded]
    digest = loaded[1]
    split = _split_hash(digest.get("hash") if isinstance(digest, dict) else None)
    if split is None:
        return [Problem("invalid-structure", DATAPACKAGE_DIGEST, f"{DATAPACKAGE_DIGEST} has no hash of the form <algorithm>:<hex>")]
    algorithm, expected = split
    name = hashlib_name(algorithm)
    if name is None:
        return [Problem("not-checked", DATAPACKAGE, f"{DATAPACKAGE_DIGEST} uses {algorithm!r}, which cannot be computed here")]
    found = hashlib.new(name, datapackage).hexdigest()
    if found != expected:
        return [Problem("changed", DATAPACKAGE, f"{DATAPACKAGE} does not match the hash in {DATAPACKAGE_DIGEST}",
                        algorithm, expected, found)]
    return []


def _unsafe(path: str) -> bool:
    parts = path.split("/")
    return path.startswith("/") or "\\" in path or ".." in parts or (len(path) > 1 and path[1] == ":")


def _check_resource(zf: zipfile.ZipFile, entry: object, number: int) -> list[Problem]:
    where = f"{DATAPACKAGE} resource {number}"
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        return [Problem("invalid-structure", DATAPACKAGE, f"{where} has no path")]
    path: str = entry["path"]
    if _unsafe(path):
        return [Problem("unsafe-path", path, f"{where} names a path outside the package; not read")]
    split = _split_hash(entry.get("hash"))
    size = entry.get("bytes")
    problems: list[Problem] = []
    if split is None:
        problems.append(Problem("invalid-structure", path, f"{where} has no hash of the form <algorithm>:<hex>"))
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        problems.append(Problem("invalid-structure", path, f"{where} has a size that is not a whole number of bytes"))
        size = None
    if path not in zf.NameToInfo:
        return problems + [Problem("missing", path, f"listed in {DATAPACKAGE} but not in the package")]
    name = hashlib_name(split[0]) if split else None
    if split and name is None:
        problems.append(Problem("not-checked", path, f"its hash uses {split[0]!r}, which cannot be computed here"))
    hasher = hashlib.new(name) if name else None
    found_size = 0
    try:
        with zf.open(path) as stream:
            while block := stream.read(BLOCK):
                found_size += len(block)
                if hasher is not None:
                    hasher.update(block)
    except _READ_ERRORS as exc:
        return problems + [Problem("changed", path, f"cannot be read whole from the package ({exc}): its data is damaged")]
    if size is not None and found_size != size:
        problems.append(Problem("changed", path, f"is {found_size} bytes; {DATAPACKAGE} says {size}",
                                None, str(size), str(found_size)))
    if split and hasher is not None and hasher.hexdigest() != split[1]:
        problems.append(Problem("changed", path, f"does not match its hash in {DATAPACKAGE}",
                                split[0], split[1], hasher.hexdigest()))
    return problems


def _check_zip(zf: zipfile.ZipFile) -> list[Problem]:
    if DATAPACKAGE not in zf.NameToInfo:
        return [Problem("invalid-structure", DATAPACKAGE, f"no {DATAPACKAGE}: not a WACZ, nothing could be checked")]
    loaded = _read_json(zf, DATAPACKAGE)
    if isinstance(loaded, Problem):
        return [loaded]
    raw, package = loaded
    problems = _check_digest(zf, raw)
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        problems.append(Problem("invalid-structure", DATAPACKAGE, f"{DATAPACKAGE} has no list of resources"))
        return sorted(problems, key=problem_order)
    if not isinstance(package.get("wacz_version"), str):
        problems.append(Problem("invalid-structure", DATAPACKAGE, f"{DATAPACKAGE} has no wacz_version"))
    listed = set()
    for number, entry in enumerate(package["resources"], start=1):
        problems += _check_resource(zf, entry, number)
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            listed.add(entry["path"])
    for info in zf.infolist():
        if not info.is_dir() and info.filename not in listed | {DATAPACKAGE, DATAPACKAGE_DIGEST}:
            problems.append(Problem("unexpected", info.filename, f"in the package but not listed in {DATAPACKAGE}"))
    return sorted(problems, key=problem_order)


def check_wacz(stream: IO[bytes], name: str) -> list[Problem]:
    """Every problem with the WACZ read from ``stream`` (seekable; ``name`` is for messages), in report
    order, with paths inside the package. :class:`BagUnreadableError` when it is not a ZIP."""
    try:
        zf = zipfile.ZipFile(stream)
    except _OPEN_ERRORS as exc:
        raise BagUnreadableError(f"{name} is not a readable ZIP file ({exc}), so not a WACZ") from exc
    with zf:
        return _check_zip(zf)


def verify_wacz(path: Path) -> list[Problem]:
    """Every problem with the WACZ at ``path`` (an empty list when it is intact), in report order."""
    path = Path(path)
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise BagUnreadableError(f"{path} does not exist; give the path of a .wacz file") from None
    except OSError as exc:
        raise BagUnreadableError(f"{path} is not a readable ZIP file ({exc}), so not a WACZ") from exc
    with stream:
        return check_wacz(stream, str(path))


# --------------------------------------------------------------------------- a WACZ inside a bag


def in_bag(rel: str, stream: IO[bytes]) -> list[Problem]:
    """The problems of the WACZ at bag path ``rel``, read from ``stream``, as problems of the bag."""
    try:
        found = check_wacz(stream, rel)
    except BagUnreadableError as exc:
        return [Problem.wacz(rel, None, f"{exc}; its contents could not be checked against {DATAPACKAGE}.")]
    out: list[Problem] = []
    for problem in found:
        inside = f"inside the WACZ, {problem.path}: {problem.detail}"
        if problem.kind == "warning":
            out.append(Problem.warning(rel, inside))
        elif problem.kind == "not-checked":
            out.append(Problem.not_checked(rel, inside, algorithm=problem.algorithm))
        else:
            out.append(Problem.wacz(rel, problem.path, problem.detail, algorithm=problem.algorithm,
                                    expected=problem.expected, found=problem.found))
    return out


def check_wacz_fd(fd: int, rel: str) -> list[Problem]:
    """The WACZ open at ``fd`` (a bag directory's payload file, already hashed) read again from its start."""
    with os.fdopen(fd, "rb", closefd=False) as stream:
        try:
            stream.seek(0)
        except OSError as exc:
            return [Problem.not_checked(rel, f"the WACZ could not be read again ({exc.strerror or exc}); "
                                             f"its contents were not checked against {DATAPACKAGE}.")]
        return in_bag(rel, stream)


class WaczSpool:
    """Keeps a copy of a WACZ member of an archived bag as it is hashed (``update``), then checks it.

    A failure to keep the copy (no room for the temporary file) leaves the WACZ ``not-checked``; it
    never stops the hashing of the member.
    """

    def __init__(self) -> None:
        self._copy: tempfile.SpooledTemporaryFile[bytes] | None = tempfile.SpooledTemporaryFile(
            max_size=SPOOL_IN_MEMORY, prefix="cablekeep-wacz-"
        )
        self._failed: str | None = None

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        if self._copy is None:
            return
        try:
            self._copy.write(data)
        except OSError as exc:
            self._failed = str(exc.strerror or exc)
            self._drop()

    def _drop(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy = None

    def check(self, rel: str) -> list[Problem]:
        """The WACZ's problems as problems of the bag (:func:`in_bag`); the copy is discarded."""
        if self._copy is None:
            return [Problem.not_checked(rel, f"the WACZ could not be set aside to be read ({self._failed}); "
                                             f"its contents were not checked against {DATAPACKAGE}.")]
        try:
            self._copy.seek(0)
            return in_bag(rel, self._copy)
        finally:
            self._drop()

    def close(self) -> None:
        self._drop()
