"""The rules of RFC 8493 a bag is checked by, written once for every bag source.

:class:`BagRules` holds what a check has learnt about a bag (its declaration, Payload-Oxum,
fetch.txt, the payload it found) and applies each rule as one short method, in the spirit of
bagit-python's ``validate()``: declaration, bag-info, manifest lines, fetch.txt, case collisions,
completeness, Payload-Oxum, what fast mode leaves unchecked. One driver runs them,
:class:`cablekeep.fixity.bagcheck.BagCheck`, whatever the bag source
(:mod:`cablekeep.fixity.sources`: a directory, a tar stream, a zip), so a rule cannot drift
between sources. A listed file's checksum is compared by :func:`cablekeep.fixity.packed.compare_found`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..bagging.layout import BAG_INFO_TXT, BAGIT_TXT, FETCH_TXT, PAYLOAD_DIR
from .report import Problem, ProblemKind

PACKAGE_INFO_TXT = "package-info.txt"  # bag-info.txt's name in BagIt 0.93 to 0.95
OLD_INFO_VERSIONS = ((0, 93), (0, 95))
from .tagfiles import SYSTEM_FILE_NAMES, check_path, is_hex_digest, parse_bag_info, parse_declaration, parse_fetch_line, parse_manifest_line, python_codec, split_lines


@dataclass
class ManifestQuirks:
    """What one manifest does that is allowed but worth one warning each (counted while it is read)."""

    name: str
    dot_lines: int = 0
    marker_lines: int = 0
    undecodable: int = 0
    system_files: list[str] = field(default_factory=list)
    tag_files: list[str] = field(default_factory=list)  # tag files a payload manifest lists (before BagIt 1.0)


@dataclass(frozen=True)
class ManifestEntry:
    """One vetted manifest line: the path as listed, the key it is matched by, and its raw digest
    (``None`` when the line's checksum is not hex of the algorithm's length: reported already)."""

    path: str
    key: str
    digest: bytes | None
    tag_file: bool = False  # a tag file in a payload manifest, allowed before BagIt 1.0


def unicode_form(path: str) -> str:
    for form in ("NFC", "NFD"):
        if unicodedata.is_normalized(form, path):
            return form
    return "not normalised"


class BagRules:
    """Every rule of a bag check; :class:`~cablekeep.fixity.bagcheck.BagCheck` walks a bag source and calls them."""

    def __init__(self, *, fast: bool) -> None:
        self.fast = fast
        self.problems: list[Problem] = []
        self.strict = True  # BagIt 1.0 rules (declared 1.0 or later, or unknown)
        self.version: tuple[int, int] | None = None  # as bagit.txt declares it
        self.info_name = BAG_INFO_TXT  # the file Payload-Oxum was read from (package-info.txt in 0.93-0.95)
        self.codec = "utf-8-sig"
        self.oxum: tuple[int, int] | None = None
        self.fetch: dict[str, str] = {}
        self.nfc_index: dict[str, str] = {}  # NFC form of a non-ASCII payload path -> the path first listed
        self.payload_files = 0
        self.payload_bytes = 0
        self.warc_files = 0
        self.files_checked = 0
        self.bytes_checked = 0

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    # -- structure

    def no_bagit_txt(self) -> None:
        self.add(Problem.structure(BAGIT_TXT, "the bag has no bagit.txt; every bag must declare itself."))

    def no_payload_dir(self) -> None:
        self.add(Problem.structure(PAYLOAD_DIR, "the bag has no data/ payload directory."))

    def no_payload_manifest(self) -> None:
        self.add(Problem.structure("manifest-<algorithm>.txt", "the bag has no payload manifest."))

    def cannot_compute(self, name: str, algorithm: str) -> None:
        self.add(Problem.not_checked(
            name, f"cablekeep cannot compute {algorithm!r} checksums; the checksums in {name} were not verified.",
            algorithm=algorithm,
        ))

    def read_declaration(self, raw: bytes) -> None:
        """bagit.txt: its problems, and the version and encoding the other tag files are read by."""
        declaration = parse_declaration(raw)
        self.problems.extend(declaration.problems)
        self.strict = declaration.strict
        self.version = declaration.version
        if declaration.encoding is None:
            return
        codec = python_codec(declaration.encoding)
        if codec is None:
            self.add(Problem.structure(
                BAGIT_TXT,
                f"Tag-File-Character-Encoding {declaration.encoding!r} is not a known encoding; tag files were "
                "read as UTF-8.",
            ))
        else:
            self.codec = "utf-8-sig" if codec == "utf-8" else codec

    def decode_tag_text(self, name: str, raw: bytes) -> str:
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError as exc:
            self.add(Problem.structure(name, f"the file is not valid {self.codec} ({exc.reason})."))
            return raw.decode(self.codec, "replace")

    def info_file_names(self) -> tuple[str, ...]:
        """Where the bag's metadata is, first choice first: BagIt 0.93 to 0.95 named the file
        package-info.txt (0.96 renamed it bag-info.txt); bagit-python reads it as such."""
        if self.version is not None and OLD_INFO_VERSIONS[0] <= self.version <= OLD_INFO_VERSIONS[1]:
            return (PACKAGE_INFO_TXT, BAG_INFO_TXT)
        return (BAG_INFO_TXT,)

    def read_bag_info(self, raw: bytes, name: str = BAG_INFO_TXT) -> None:
        """bag-info.txt (or ``name``, package-info.txt of BagIt 0.93-0.95): its problems and Payload-Oxum."""
        self.info_name = name
        elements, problems = parse_bag_info(split_lines(self.decode_tag_text(name, raw)), name)
        self.problems.extend(problems)
        parsed: set[tuple[int, int]] = set()
        for label, value in elements:
            if label.lower() != "payload-oxum":
                continue
            octets, dot, count = value.partition(".")
            if not (dot and octets.isdigit() and count.isdigit()):
                self.add(Problem.oxum_malformed(value, name))
                continue
            parsed.add((int(octets), int(count)))
        if len(parsed) > 1:
            self.add(Problem("oxum", name, f"{name} declares different Payload-Oxum values."))
        self.oxum = parsed.pop() if len(parsed) == 1 else None

    # -- manifests

    def vet_manifest_line(
        self, name: str, algorithm: str, digest_size: int, payload: bool, number: int, line: str, quirks: ManifestQuirks
    ) -> ManifestEntry | None:
        """One manifest line vetted by every rule; None when it names no file that can be matched."""
        parsed = parse_manifest_line(line)
        if parsed is None:
            self.add(Problem.structure(name, f"line {number} is not '<checksum> <path>': {line[:80]!r}."))
            return None
        quirks.marker_lines += parsed.md5sum_marker
        checked = check_path(parsed.path, self.strict)
        if checked.kind is not None:
            self.add(Problem(checked.kind, checked.path, f"{name} line {number}: {checked.detail}"))
            return None
        path = checked.path
        quirks.dot_lines += checked.leading_dot
        tag_file = payload and not path.startswith("data/")
        if tag_file and not self.strict:  # bagit-python and bagit-java check such lines as listed
            quirks.tag_files.append(path)
        elif payload != path.startswith("data/"):
            where = "outside data/, so it cannot be payload" if payload else "inside data/; tag manifests list tag files only"
            self.add(Problem.structure(path, f"{name} line {number} lists a path {where}."))
            return None
        key = path
        if payload and not tag_file and not path.isascii():
            known = self.nfc_index.setdefault(unicodedata.normalize("NFC", path), path)
            if known != path:
                self.add(Problem.warning(
                    path,
                    f"{name} line {number} lists {path!r} ({unicode_form(path)}), which is {known!r} "
                    f"({unicode_form(known)}) in another Unicode normalisation; both are taken as one file.",
                ))
                key = known
        if payload and not tag_file:
            base = path.rpartition("/")[2]
            if base in SYSTEM_FILE_NAMES or base.startswith("._"):
                quirks.system_files.append(path)
        if digest_size and not is_hex_digest(parsed.digest, 2 * digest_size):
            self.add(Problem.structure(
                path,
                f"{name} line {number}: {parsed.digest[:140]!r} is not a hex {algorithm} checksum, so this file "
                f"cannot be checked against {name}.",
                algorithm=algorithm,
            ))
            return ManifestEntry(path, key, None, tag_file)
        return ManifestEntry(path, key, bytes.fromhex(parsed.digest) if digest_size else b"", tag_file)

    def duplicate_line(self, name: str, algorithm: str, path: str, first: bytes, again: bytes) -> None:
        """A manifest lists ``path`` a second time (with digest ``again``; ``first`` before)."""
        if first == again:
            kind: ProblemKind = "invalid-structure" if self.strict else "warning"
            rule = " (each file must appear exactly once from BagIt 1.0)." if self.strict else "; the checksums agree."
            self.add(Problem(kind, path, f"{name} lists this file more than once{rule}", algorithm=algorithm))
        else:
            self.add(Problem.structure(
                path, f"{name} lists this file more than once with different checksums.",
                algorithm=algorithm, expected=first.hex(), found=again.hex(),
            ))

    def manifest_quirks(self, quirks: ManifestQuirks) -> None:
        name = quirks.name
        if quirks.undecodable:
            self.add(Problem.structure(
                name, f"{quirks.undecodable} line(s) are not valid {self.codec}; their paths were matched byte for byte."
            ))
        if quirks.dot_lines:
            self.add(Problem.warning(name, f"{quirks.dot_lines} path(s) start with './'; read without it."))
        if quirks.marker_lines:
            self.add(Problem.warning(
                name, f"{quirks.marker_lines} line(s) carry md5sum's binary marker ('*' before the path); read without it."
            ))
        if quirks.tag_files:
            shown = ", ".join(quirks.tag_files[:5]) + (" ..." if len(quirks.tag_files) > 5 else "")
            self.add(Problem.warning(
                name,
                f"{len(quirks.tag_files)} listed file(s) are tag files ({shown}); BagIt before 1.0 allowed this "
                "(1.0 does not), so they were checked against this manifest as tag files.",
            ))
        if quirks.system_files:
            shown = ", ".join(quirks.system_files[:5]) + (" ..." if len(quirks.system_files) > 5 else "")
            self.add(Problem.warning(
                name,
                f"{len(quirks.system_files)} listed file(s) are operating-system clutter ({shown}); probably bagged "
                "by accident.",
            ))

    def read_fetch_txt(self, raw: bytes, listed: Iterable[str]) -> None:
        """fetch.txt: every line vetted; ``listed`` holds the payload manifests' paths."""
        for number, line in enumerate(split_lines(self.decode_tag_text(FETCH_TXT, raw)), 1):
            if not line.strip():
                continue
            parsed = parse_fetch_line(line)
            if parsed is None:
                self.add(Problem.structure(FETCH_TXT, f"line {number} is not '<url> <length> <path>'."))
                continue
            checked = check_path(parsed.path, self.strict)
            if checked.kind is not None:
                self.add(Problem(checked.kind, checked.path, f"{FETCH_TXT} line {number}: {checked.detail}"))
                continue
            if not checked.path.startswith("data/"):
                self.add(Problem.structure(checked.path, f"{FETCH_TXT} line {number} names a path outside data/."))
                continue
            self.fetch[checked.path] = parsed.url
        known = listed if isinstance(listed, (set, frozenset, dict)) else set(listed)
        for path in self.fetch:
            if path not in known:
                self.add(Problem.structure(path, "fetch.txt lists this file but no payload manifest does."))

    def warn_case_collisions(self, keys: Iterable[str]) -> None:
        groups: dict[str, list[str]] = {}
        for key in keys:
            groups.setdefault(key.lower(), []).append(key)
        for names in groups.values():
            if len(names) > 1:
                self.add(Problem.warning(
                    min(names),
                    f"{' and '.join(repr(n) for n in sorted(names))} differ only in case; they cannot coexist on a "
                    "case-insensitive filesystem (macOS, Windows).",
                ))

    # -- completeness

    def stored_as_other_form(self, rel: str, listed: str) -> None:
        self.add(Problem.warning(
            rel,
            f"the manifests list this file as {listed!r} ({unicode_form(listed)}) and it is stored as "
            f"{unicode_form(rel)}; matched as one file.",
        ))

    def not_in_manifest(self, rel: str, name: str, algorithm: str) -> None:
        self.add(Problem.structure(
            rel, f"this file is missing from {name}; every payload file must be in every payload manifest.",
            algorithm=algorithm,
        ))

    def missing(self, rel: str, manifests: list[str], *, payload: bool = True) -> None:
        listing = manifests or (["a manifest"] if payload else ["a tag manifest"])
        self.add(Problem.missing_file(rel, listing, self.fetch.get(rel) if payload else None))

    def check_oxum(self) -> None:
        if self.oxum is None:
            if self.fast:
                self.add(Problem.not_checked(
                    self.info_name,
                    "the bag has no Payload-Oxum, so fast mode could not compare payload sizes; run a full "
                    "verification.",
                ))
            return
        if self.oxum != (self.payload_bytes, self.payload_files):
            self.add(Problem.oxum_mismatch(self.oxum, (self.payload_bytes, self.payload_files), self.info_name))

    # -- content

    def compare(self, rel: str, name: str, algorithm: str, expected: bytes, found: bytes, *, tag_file: bool) -> None:
        if found != expected:
            self.add(Problem.checksum_mismatch(rel, algorithm, name, expected, found, tag_file=tag_file))

    def report_fast_mode(self, manifests: Iterable[tuple[str, str]]) -> None:
        """What a fast check leaves unverified: every manifest's checksums (payload manifests first), and WARCs."""
        for name, algorithm in manifests:
            self.add(Problem.not_checked(
                name,
                f"fast mode: the {algorithm} checksums in {name} were not verified (only completeness and "
                "Payload-Oxum were); run a full verification to check file contents.",
                algorithm=algorithm,
            ))
        if self.warc_files:
            self.add(Problem.not_checked(
                PAYLOAD_DIR, f"fast mode: the records of {self.warc_files} WARC file(s) were not checked."
            ))
