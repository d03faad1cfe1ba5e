"""Reading BagIt tag files as RFC 8493 defines them: bagit.txt, bag-info.txt, manifests, fetch.txt.

Pure parsing, no verification policy beyond what the RFC says about each line. Every function
returns what it read plus :class:`~cablekeep.fixity.report.Problem` objects naming the tag file; none
raises on malformed content. Version-dependent rules (percent-encoded paths, the exact bagit.txt
layout) apply from BagIt 1.0 on; older bags get warnings where 1.0 would be invalid.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from ..bagging.layout import (
    BAG_INFO_TXT,
    BAGIT_TXT,
    FETCH_TXT,
    MANIFEST_RE,
    PAYLOAD_DIR,
    TAGMANIFEST_RE,
    hashlib_name,
)
from .report import Problem, ProblemKind

V1_0 = (1, 0)

_UTF8_BOM = b"\xef\xbb\xbf"

# Names operating systems drop into folders; listed in a manifest they are most likely accidents.
SYSTEM_FILE_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "ehthumbs.db", ".directory"})

LINE_END_RE = re.compile(r"\r\n|\r|\n")
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")
_DECLARATION_RE = re.compile(r"^([^:]*?)([ \t]*):([ \t]*)(.*?)([ \t]*)$")
_MANIFEST_LINE_RE = re.compile(r"^([^ \t]+)([ \t]+)(.*)$")
_FETCH_LINE_RE = re.compile(r"^([^ \t]+)[ \t]+([^ \t]+)[ \t]+(.+)$")
_PERCENT_RE = re.compile(r"%(0[AaDd]|25)")
_PERCENT_VALUES = {"0a": "\n", "0d": "\r", "25": "%"}
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")


def split_lines(text: str) -> list[str]:
    """Lines of a small tag file, split on CR, LF or CRLF (RFC 8493 allows all three)."""
    lines = LINE_END_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def has_undecodable(line: str) -> bool:
    """True when ``line`` holds bytes that were not valid in the tag file's encoding.

    Tag files are decoded with ``errors="surrogateescape"``, so such bytes become lone
    surrogates and a path still maps back to the file name's bytes.
    """
    if line.isascii():
        return False
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def python_codec(encoding: str) -> str | None:
    """The Python codec for a Tag-File-Character-Encoding value, or None if unknown."""
    try:
        return codecs.lookup(encoding.strip()).name
    except LookupError:
        return None


@dataclass
class Declaration:
    """What bagit.txt says. ``version`` is None when it could not be read."""

    version: tuple[int, int] | None = None
    version_text: str | None = None
    encoding: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def strict(self) -> bool:
        """Apply BagIt 1.0 rules: declared 1.0 or later, or unknown."""
        return self.version is None or self.version >= V1_0

    def problem(self, kind: ProblemKind, detail: str) -> None:
        self.problems.append(Problem(kind, BAGIT_TXT, detail))


_Field = tuple[str, str, bool, bool, bool]  # label, value, whitespace before the colon, odd whitespace after, trailing


def parse_declaration(raw: bytes) -> Declaration:
    """Parse the bytes of bagit.txt (RFC 8493 section 2.1.1)."""
    decl = Declaration()
    text = _declaration_text(raw, decl)
    fields, malformed = _declaration_fields(text)
    _declared_version(fields, decl)  # the version decides how strict the rest is, so find it first
    for line in malformed:
        decl.problem("invalid-structure", f"bagit.txt line {line!r} is not 'Label: value'.")
    _check_declaration_fields(fields, decl)
    if decl.version is not None and decl.version > V1_0:
        decl.problem("warning", f"BagIt-Version {decl.version_text} is newer than 1.0; checked by the 1.0 rules.")
    return decl


def _declaration_text(raw: bytes, decl: Declaration) -> str:
    if raw.startswith(_UTF8_BOM):
        decl.problem("invalid-structure", "bagit.txt begins with a byte-order mark, which is forbidden.")
        raw = raw[len(_UTF8_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        decl.problem("invalid-structure", f"bagit.txt is not valid UTF-8 ({exc.reason}).")
        return raw.decode("utf-8", "replace")


def _declaration_fields(text: str) -> tuple[list[_Field], list[str]]:
    fields: list[_Field] = []
    malformed: list[str] = []
    for line in split_lines(text):
        match = _DECLARATION_RE.match(line)
        if match is None or not match.group(1):
            malformed.append(line)
            continue
        label, before, after, value, trailing = match.groups()
        fields.append((label, value, bool(before), after != " ", bool(trailing)))
    return fields, malformed


def _declared_version(fields: list[_Field], decl: Declaration) -> None:
    for label, value, *_ in fields:
        if label == "BagIt-Version":
            decl.version_text = value
            vmatch = _VERSION_RE.match(value)
            if vmatch is None:
                decl.problem("invalid-structure", f"BagIt-Version {value!r} is not a MAJOR.MINOR version number.")
            else:
                decl.version = (int(vmatch.group(1)), int(vmatch.group(2)))
            return


def _check_declaration_fields(fields: list[_Field], decl: Declaration) -> None:
    strict_kind: ProblemKind = "invalid-structure" if decl.strict else "warning"
    seen: set[str] = set()
    for index, (label, value, before, odd_after, trailing) in enumerate(fields):
        if label in seen:
            decl.problem("invalid-structure", f"bagit.txt declares {label} more than once.")
            continue
        seen.add(label)
        if label not in ("BagIt-Version", "Tag-File-Character-Encoding"):
            decl.problem(strict_kind, f"bagit.txt has an unexpected line {label!r}; it must hold exactly two lines.")
            continue
        if label == "BagIt-Version" and index != 0:
            decl.problem(strict_kind, "bagit.txt must declare BagIt-Version first, then Tag-File-Character-Encoding.")
        if before:
            decl.problem(strict_kind, f"bagit.txt has whitespace before the colon after {label}.")
        if odd_after:
            decl.problem(strict_kind, f"bagit.txt must have exactly one space after '{label}:'.")
        if trailing:
            decl.problem("warning", f"bagit.txt has trailing whitespace after the {label} value.")
        if label == "Tag-File-Character-Encoding":
            decl.encoding = value
    if "BagIt-Version" not in seen:
        decl.problem("invalid-structure", "bagit.txt has no BagIt-Version line.")
    if "Tag-File-Character-Encoding" not in seen:
        decl.problem("invalid-structure", "bagit.txt has no Tag-File-Character-Encoding line.")


def parse_bag_info(lines: list[str], where: str = BAG_INFO_TXT) -> tuple[list[tuple[str, str]], list[Problem]]:
    """Metadata elements of bag-info.txt, in order, with repeated labels kept.

    A line starting with space or tab continues the previous value (RFC 8493 section 2.2.2).
    """
    elements: list[tuple[str, str]] = []
    problems: list[Problem] = []
    odd_labels = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line[0] in " \t":
            if not elements:
                problems.append(
                    Problem("invalid-structure", where, f"line {number} continues a value but no label came before it.")
                )
                continue
            label, value = elements[-1]
            elements[-1] = (label, f"{value} {line.strip()}" if value else line.strip())
            continue
        label, colon, value = line.partition(":")
        if not colon or not label.strip():
            problems.append(Problem("invalid-structure", where, f"line {number} ({line!r}) is not 'Label: value'."))
            continue
        if label != label.strip():
            odd_labels += 1
        elements.append((label.strip(), value.strip()))
    if odd_labels:
        problems.append(
            Problem("warning", where, f"{odd_labels} label(s) have whitespace before the colon; read without it.")
        )
    return elements, problems


@dataclass(frozen=True)
class PathCheck:
    """A manifest or fetch.txt path after decoding. ``kind`` is None when it is fine."""

    path: str
    kind: ProblemKind | None = None
    detail: str = ""
    leading_dot: bool = False


def check_path(raw: str, strict: bool) -> PathCheck:
    """Decode and vet one path from a manifest or fetch.txt.

    From BagIt 1.0, ``%0A``, ``%0D`` and ``%25`` are decoded and nothing else is. A leading
    ``./`` is dropped (``leading_dot``, the caller warns). Absolute paths, ``~`` shortcuts,
    drive letters and ``..`` components are ``unsafe-path``; backslashes count as separators
    for that test, since the bag may be opened on Windows. Empty or ``.`` components are
    ``invalid-structure``.
    """
    path = raw
    if strict and "%" in path:
        path = _PERCENT_RE.sub(lambda m: _PERCENT_VALUES[m.group(1).lower()], path)
    leading_dot = False
    while path.startswith("./"):
        path = path[2:]
        leading_dot = True
    # Fast path for ordinary names.
    if (
        path
        and "\\" not in path
        and "/." not in path
        and "//" not in path
        and path[0] not in "/~."
        and "\x00" not in path
        and ":" not in path[:2]
        and not path.endswith("/")
    ):
        return PathCheck(path, leading_dot=leading_dot)
    if not path:
        return PathCheck(raw, "invalid-structure", "the path is empty.")
    if "\x00" in path:
        return PathCheck(raw, "unsafe-path", "the path contains a NUL character.")
    if path[0] in "/\\":
        return PathCheck(raw, "unsafe-path", "the path is absolute; bag paths must be relative to the bag.")
    if path[0] == "~":
        return PathCheck(raw, "unsafe-path", "the path starts with '~', a home-directory shortcut outside the bag.")
    if len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return PathCheck(raw, "unsafe-path", "the path starts with a drive letter; bag paths must be relative.")
    parts = re.split(r"[/\\]", path)
    if ".." in parts:
        return PathCheck(raw, "unsafe-path", "the path contains '..' and could point outside the bag.")
    if any(part in ("", ".") for part in path.split("/")):
        return PathCheck(raw, "invalid-structure", "the path has empty or '.' components; write it normalised.")
    return PathCheck(path, leading_dot=leading_dot)


@dataclass(frozen=True)
class ManifestLine:
    digest: str
    path: str
    md5sum_marker: bool


def parse_manifest_line(line: str) -> ManifestLine | None:
    """``checksum`` whitespace ``path``; None when the line has no such shape.

    md5sum's binary-mode marker (``<digest> *<path>``: one space, then ``*``) is recognised and
    removed; ``md5sum_marker`` tells the caller to warn.
    """
    match = _MANIFEST_LINE_RE.match(line)
    if match is None or not match.group(3):
        return None
    digest, gap, path = match.groups()
    marker = gap == " " and path.startswith("*") and len(path) > 1
    if marker:
        path = path[1:]
    return ManifestLine(digest, path, marker)


def is_hex_digest(digest: str, length: int | None) -> bool:
    return (length is None or len(digest) == length) and _HEX_RE.match(digest) is not None


@dataclass(frozen=True)
class FetchLine:
    url: str
    length: int | None
    path: str


def parse_fetch_line(line: str) -> FetchLine | None:
    """``url`` whitespace ``length-or-dash`` whitespace ``path``; None when malformed."""
    match = _FETCH_LINE_RE.match(line)
    if match is None:
        return None
    url, length, path = match.groups()
    if length == "-":
        return FetchLine(url, None, path)
    if not length.isdigit():
        return None
    return FetchLine(url, int(length), path)
