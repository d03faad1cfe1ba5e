"""Verifying a serialized bag (``.tar``, ``.tar.gz``/``.tgz``, ``.zip``) without unpacking it.

BagIt serialization (RFC 8493): a serialized bag holds exactly one top-level directory, the bag. This
module reads the archive once, in member order (tar in stream mode ``r|*``; zip members in the
order they are stored), and nothing is written to disk. As each member passes:

- its name is vetted: absolute names, ``..``, ``~`` and drive letters are ``unsafe-path``;
  symbolic links are ``symlink``; hard links, devices, FIFOs, a second top-level entry and files
  beside the bag directory are ``invalid-structure``. Refused members are never read;
- a regular file is hashed in 1 MiB blocks; a WARC in the payload is also checked record by
  record in that same read (:func:`cablekeep.fixity.warccheck.scan_warc_stream`);
- bagit.txt is parsed at once (its version and encoding decide how manifests are read);
  manifests are parsed line by line as they stream; bag-info.txt and fetch.txt are kept (up to
  :data:`TAG_TEXT_LIMIT`) and parsed at the end.

Manifests may come after the payload, so what a file hashed to is kept, compactly, until the end
(path -> size and raw digests in one ``bytes``), and compared then. Which algorithms to compute
is decided per member: those of the (tag) manifests already seen, or
:data:`PRESUMED_ALGORITHMS` before any. Should a manifest arrive later that needs an algorithm a
file was not hashed with -- or bagit.txt arrive after a manifest whose reading it changes -- one
more pass reads just what is missing. Memory holds a block, the manifest entries and the
per-file digests: it does not grow with member sizes. A zip's central directory is held by
``zipfile`` (a few hundred bytes per member).

The report has the schema and the checks of :func:`cablekeep.fixity.verify.verify_bag`: a valid bag
gives the same problems serialized or unpacked, and a damaged one the same kinds of problems.
The archive itself adds: a tar cut short (``invalid-structure``), a zip member whose CRC-32
fails (``changed``, no algorithm) and an encrypted or unsupported zip member (``not-checked``).
Fast mode reads no payload content, but a compressed tar is still inflated to find its members.
"""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from ..bagging.layout import BAGIT_TXT, BAG_INFO_TXT, BLOCK, FETCH_TXT, MANIFEST_RE, PAYLOAD_DIR, TAGMANIFEST_RE, hashlib_name
from ..bagging.hashing import hasher_factory
from ..errors import BagUnreadableError
from .checker import BagRules, ManifestQuirks
from .report import Problem, ProblemKind, Report, problem_order
from .sources import TAG_TEXT_LIMIT, TAR_ERRORS, ArchiveBroken, Member, MemberReader, Tee, archive_reader
from .tagfiles import LINE_END_RE, check_path, has_undecodable, split_lines
from .warccheck import WarcScan, is_warc_name, resolve_references, scan_warc_stream
from .witness import check_archive_witness

SERIALIZED_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
PRESUMED_ALGORITHMS = ("sha256", "sha512")
MACOS_METADATA_DIR = "__MACOSX"

_NO_PLAN = 255
_SIZE_BYTES = 8


def is_serialized_bag_name(path: Path | str) -> bool:
    """True when the file name ends like a serialized bag cablekeep reads."""
    return os.fspath(path).lower().endswith(SERIALIZED_SUFFIXES)


def verify_serialized(path: Path, *, fast: bool = False) -> Report:
    """Verify the bag inside the archive at ``path`` without unpacking it; every problem found.

    Raises :class:`BagUnreadableError` when ``path`` cannot be opened, is not a tar (plain or
    compressed) or zip archive, or holds no bag at all. Anything wrong inside is a problem.
    """
    archive = Path(path)
    open_members = archive_reader(archive)
    return _SerializedCheck(archive, open_members, fast=fast).run()


# --------------------------------------------------------------------------- archive members


# --------------------------------------------------------------------------- reading while hashing


class _Counting:
    """Feeds a WARC's raw bytes to the manifest hashers and counts them."""

    def __init__(self, hashers: list[hashlib._Hash]) -> None:
        self._hashers = hashers
        self.bytes = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.bytes += len(data)
        for hasher in self._hashers:
            hasher.update(data)


def _iter_text_lines(raw: Tee, codec: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of a tag file, split on CR, LF or CRLF, streamed in blocks."""
    text = io.TextIOWrapper(io.BufferedReader(raw, BLOCK), encoding=codec, errors="surrogateescape", newline="")
    number = 1
    carry = ""
    while True:
        chunk = text.read(BLOCK)
        if not chunk:
            for line in split_lines(carry) if carry else []:
                yield number, line
                number += 1
            return
        chunk = carry + chunk
        carry_cr = chunk.endswith("\r")  # a CRLF may straddle two reads
        if carry_cr:
            chunk = chunk[:-1]
        lines = LINE_END_RE.split(chunk)
        carry = lines.pop() + ("\r" if carry_cr else "")
        for line in lines:
            yield number, line
            number += 1


# --------------------------------------------------------------------------- what was seen


@dataclass
class _ManifestState:
    """One payload or tag manifest: its entries (path -> raw digest; b"" = line not checkable)."""

    name: str
    alg: str
    payload: bool
    entries: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bad_lines: set[str] = field(default_factory=set)
    strict_used: bool = True
    codec_used: str = "utf-8-sig"
    has_percent: bool = False
    has_non_ascii: bool = False
    duplicate_lines: int = 0
    parsed: bool = False

    @property
    def size(self) -> int:
        name = hashlib_name(self.alg)
        return 0 if name is None else hashlib.new(name).digest_size


@dataclass
class _Plan:
    """Algorithms a file was hashed with, in order; an id is stored with each file's digests."""

    algorithms: tuple[str, ...]
    offsets: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, algorithms: tuple[str, ...]) -> _Plan:
        offsets: dict[str, tuple[int, int]] = {}
        at = _SIZE_BYTES + 1
        for alg in algorithms:
            name = hashlib_name(alg)
            if name is None:
                continue
            size = hashlib.new(name).digest_size
            offsets[alg] = (at, at + size)
            at += size
        return cls(tuple(offsets), offsets)


# --------------------------------------------------------------------------- the check


class _SerializedCheck(BagRules):
    def __init__(self, archive: Path, open_members: MemberReader, *, fast: bool) -> None:
        super().__init__(fast=fast)
        self.archive = archive
        self.open_members = open_members
        self.root: str | None = None
        self.extra_tops: set[str] = set()
        self.macos_members = 0
        # declaration
        self.declaration_seen = False
        self.bag_info_raw: bytes | None = None
        self.fetch_raw: bytes | None = None
        # members
        self.plans: list[_Plan] = []
        self.plan_ids: dict[tuple[str, ...], int] = {}
        self.payload_seen: dict[str, bytes] = {}
        self.tag_seen: dict[str, bytes] = {}
        self.extra_digests: dict[str, dict[str, bytes]] = {}
        self.unreadable: set[str] = set()
        self.links: set[str] = set()
        self.has_data = False
        self.scans: dict[str, WarcScan] = {}
        self.manifests: dict[str, _ManifestState] = {}
        # the end
        self.listed_payload: set[str] = set()

    def problem(
        self,
        kind: ProblemKind,
        path: str,
        detail: str,
    ) -> None:
        """A problem of the archive itself (its members, not the bag's rules)."""
        self.add(Problem(kind, path, detail))

    # -- driver

    def run(self) -> Report:
        self.first_pass()
        if self.root is None or (
            BAGIT_TXT not in self.tag_seen and not self.manifests and not self.has_data and not self.links
        ):
            raise BagUnreadableError(
                f"{self.archive} holds no bag: no top-level directory with bagit.txt, a manifest or data/"
            )
        self.second_pass()
        self.check_structure()
        self.check_payload()
        self.check_oxum()
        self.check_tag_files()
        if self.fast:
            ordered = sorted(self.manifests.items(), key=lambda item: (not item[1].payload, item[0]))
            self.report_fast_mode((name, m.alg) for name, m in ordered)
        else:
            listed_scans = [scan for rel, scan in self.scans.items() if rel in self.listed_payload]
            for scan in listed_scans:
                self.problems.extend(scan.problems)
            self.problems.extend(resolve_references(listed_scans))
            self.problems.extend(check_archive_witness(  # the bag's own index as a second witness
                lambda: ((rel, m.stream, m.size) for rel, m in self.iter_bag_members(report=False) if m.stream), listed_scans,
                self.bag_info_raw))
        for scan in self.scans.values():
            scan.discard()
        self.problems.sort(key=problem_order)
        payload_algs = tuple(m.alg for name, m in sorted(self.manifests.items()) if m.payload)
        tag_algs = tuple(m.alg for name, m in sorted(self.manifests.items()) if not m.payload)
        return Report(
            target=os.fspath(self.archive),
            mode="fast" if self.fast else "full",
            algorithms=tuple(dict.fromkeys(payload_algs + tag_algs)),
            files_checked=self.files_checked,
            bytes_checked=self.bytes_checked,
            warc_records_checked=sum(scan.records for rel, scan in self.scans.items() if rel in self.listed_payload),
            problems=self.problems,
        )

    def iter_bag_members(self, *, report: bool) -> Iterator[tuple[str, Member]]:
        """(bag-relative path, member) for members inside the bag; the rest reported once (``report``)."""
        try:
            for member in self.open_members():
                rel = self.bag_path(member, report)
                if rel is not None:
                    yield rel, member
        except ArchiveBroken as exc:
            if report:
                self.archive_broken(exc)

    def archive_broken(self, exc: ArchiveBroken) -> None:
        self.problem(
            "invalid-structure",
            self.archive.name,
            f"the archive is cut short or damaged ({exc}); members after that point were not checked.",
        )

    def bag_path(self, member: Member, report: bool) -> str | None:
        name = member.name
        normal = name
        while normal.startswith("./"):
            normal = normal[2:]
        normal = normal.rstrip("/") if member.kind == "dir" else normal
        if normal in ("", "."):
            return None
        checked = check_path(normal, False)
        if checked.kind is not None:
            if report:
                self.problem(
                    checked.kind, name, f"archive member {name!r}: {checked.detail} It was not read."
                )
            return None
        top, slash, rel = checked.path.partition("/")
        if top == MACOS_METADATA_DIR:
            self.macos_members += report
            return None
        if not slash and member.kind != "dir" and self.root is None:
            if report:
                self.problem(
                    "invalid-structure",
                    name,
                    "this member lies beside the bag's directory; a serialized bag holds exactly one top-level "
                    "directory, the bag (BagIt serialization, RFC 8493). It was not checked.",
                )
            return None
        if self.root is None:
            self.root = top
        if top != self.root:
            if report and top not in self.extra_tops:
                self.extra_tops.add(top)
                self.problem(
                    "invalid-structure",
                    top,
                    f"a second top-level entry beside the bag {self.root!r}; a serialized bag holds exactly one "
                    "top-level directory (BagIt serialization, RFC 8493). Its contents were not checked.",
                )
            return None
        if not slash:
            if member.kind == "symlink" and report:
                self.problem("symlink", top, f"the bag's directory is a symbolic link to {member.detail!r}; refused.")
            return None
        return rel

    # -- pass 1

    def first_pass(self) -> None:
        try:
            self.first_pass_members()
        except ArchiveBroken as exc:  # raised while a member was being read
            self.archive_broken(exc)

    def first_pass_members(self) -> None:
        for rel, member in self.iter_bag_members(report=True):
            if member.kind == "dir":
                if rel == PAYLOAD_DIR or rel.startswith("data/"):
                    self.has_data = True
                continue
            if member.kind == "symlink":
                self.links.add(rel)
                self.add(Problem.symlink(rel, member.detail))
                continue
            if member.kind == "hardlink":
                self.links.add(rel)
                self.problem(
                    "invalid-structure",
                    rel,
                    f"this member is a hard link to {member.detail!r}; links in a serialized bag are refused and "
                    "never followed. Store the file itself.",
                )
                continue
            if member.kind == "other":
                self.add(Problem.special_file(rel, member.detail))
                continue
            if rel in self.payload_seen or rel in self.tag_seen or rel in self.links:
                self.problem(
                    "invalid-structure",
                    rel,
                    "the archive holds this path more than once; unpacking it would keep only the last copy, and "
                    "only the first was checked.",
                )
                continue
            self.regular_file(rel, member)

    def plan_id(self, algorithms: tuple[str, ...]) -> int:
        known = self.plan_ids.get(algorithms)
        if known is None:
            known = len(self.plans)
            self.plans.append(_Plan.of(algorithms))
            self.plan_ids[algorithms] = known
        return known

    def current_plan(self, payload: bool) -> tuple[str, ...]:
        """The presumed algorithms and those of the (tag) manifests seen so far, if computable."""
        seen = {m.alg for m in self.manifests.values() if m.payload == payload and hashlib_name(m.alg)}
        return tuple(sorted(seen.union(PRESUMED_ALGORITHMS)))

    def regular_file(self, rel: str, member: Member) -> None:
        payload = rel.startswith("data/")
        if payload:
            self.has_data = True
            self.payload_files += 1
            self.payload_bytes += member.size
            self.warc_files += is_warc_name(rel)
        elif "/" not in rel:
            match = MANIFEST_RE.match(rel) or TAGMANIFEST_RE.match(rel)
            if match:
                self.manifests[rel] = _ManifestState(rel, match.group(1).lower(), rel.startswith("manifest-"))
        seen = self.payload_seen if payload else self.tag_seen
        if member.kind == "unreadable":
            seen[rel] = member.size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])
            self.unreadable.add(rel)
            self.add(Problem.unreadable(rel, member.detail))
            return
        assert member.stream is not None
        if self.fast and payload:  # completeness only: the content is skipped, never read
            seen[rel] = member.size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])
            return
        plan_id = _NO_PLAN if self.fast else self.plan_id(self.current_plan(payload))
        hashers = [] if self.fast else [self.new_hasher(alg) for alg in self.plans[plan_id].algorithms]
        tee = Tee(member.stream, hashers)
        try:
            if payload and is_warc_name(rel):
                counting = _Counting(hashers)
                self.scans[rel] = scan_warc_stream(cast(BinaryIO, member.stream), name=rel, display_path=rel, raw_hashers=[counting])
                tee.size = counting.bytes
            elif payload:
                self.read_plain(tee)
            elif rel == BAGIT_TXT:
                self.read_bagit_txt(tee)
            elif rel == BAG_INFO_TXT:
                self.bag_info_raw = self.read_tag_text(rel, tee)
            elif rel == FETCH_TXT:
                self.fetch_raw = self.read_tag_text(rel, tee)
            elif rel in self.manifests:
                self.read_manifest(self.manifests[rel], tee)
            elif not self.fast:
                self.read_plain(tee)
        except zipfile.BadZipFile as exc:
            seen[rel] = member.size.to_bytes(_SIZE_BYTES, "little") + bytes([_NO_PLAN])
            self.unreadable.add(rel)
            self.problem("changed", rel, f"the zip member is damaged ({exc}); its content could not be checked.")
            return
        except TAR_ERRORS as exc:
            raise ArchiveBroken(f"while reading {rel!r}: {exc}") from exc
        size = tee.size if not self.fast else member.size
        seen[rel] = size.to_bytes(_SIZE_BYTES, "little") + bytes([plan_id]) + b"".join(h.digest() for h in hashers)

    @staticmethod
    def new_hasher(alg: str) -> hashlib._Hash:
        factory = hasher_factory(hashlib_name(alg))
        assert factory is not None  # plans hold computable algorithms only
        return factory()

    @staticmethod
    def read_plain(tee: Tee) -> None:
        tee.drain()

    def read_tag_text(self, rel: str, tee: Tee) -> bytes | None:
        data = tee.read_capped(TAG_TEXT_LIMIT)
        if data is None:
            self.add(Problem.too_large(rel, TAG_TEXT_LIMIT))
        return data

    def read_bagit_txt(self, tee: Tee) -> None:
        raw = self.read_tag_text(BAGIT_TXT, tee)
        if raw is None:
            return
        self.declaration_seen = True
        self.read_declaration(raw)

    def read_manifest(self, m: _ManifestState, tee: Tee) -> None:
        """Parse one manifest as it streams; its problems are kept apart, as it may be read again."""
        m.entries.clear()
        m.problems.clear()
        m.bad_lines.clear()
        m.strict_used, m.codec_used = self.strict, self.codec
        m.has_percent = m.has_non_ascii = False
        m.duplicate_lines = 0
        m.parsed = True
        quirks = ManifestQuirks(m.name)
        digest_size = m.size
        outer, self.problems = self.problems, m.problems
        try:
            for number, line in _iter_text_lines(tee, self.codec):
                if not line.strip():
                    continue
                if not line.isascii():
                    m.has_non_ascii = True
                    quirks.undecodable += has_undecodable(line)
                m.has_percent |= "%" in line
                entry = self.vet_manifest_line(m.name, m.alg, digest_size, m.payload, number, line, quirks)
                if entry is None:
                    continue
                key = entry.key
                if entry.digest is None:
                    m.bad_lines.add(key)
                    m.entries.setdefault(key, b"")
                    continue
                known_digest = m.entries.get(key)
                if known_digest is None or key in m.bad_lines:
                    m.entries[key] = entry.digest
                else:
                    m.duplicate_lines += known_digest == entry.digest
                    self.duplicate_line(m.name, m.alg, entry.path, known_digest, entry.digest)
        except UnicodeError as exc:
            self.add(Problem.structure(m.name, f"the file is not valid {self.codec} ({exc})."))
        finally:
            tee.drain()
            self.manifest_quirks(quirks)
            self.problems = outer

    # -- pass 2: only what pass 1 could not know in time

    def digest_of(self, packed: bytes, rel: str, alg: str) -> bytes | None:
        plan_id = packed[_SIZE_BYTES]
        if plan_id != _NO_PLAN:
            span = self.plans[plan_id].offsets.get(alg)
            if span is not None:
                return packed[span[0] : span[1]]
        return self.extra_digests.get(rel, {}).get(alg)

    def missing_algorithms(self) -> dict[str, list[str]]:
        """Files listed with a computable algorithm they were not hashed with: path -> algorithms."""
        need: dict[str, list[str]] = {}
        if self.fast:
            return need
        nfc_seen = {unicodedata.normalize("NFC", rel): rel for rel in self.payload_seen if not rel.isascii()}
        for m in self.manifests.values():
            if hashlib_name(m.alg) is None:
                continue
            seen = self.payload_seen if m.payload else self.tag_seen
            for key in m.entries:
                rel: str | None = key
                if key not in seen:
                    rel = nfc_seen.get(unicodedata.normalize("NFC", key)) if m.payload and not key.isascii() else None
                if rel is None or rel in self.unreadable or key in m.bad_lines:
                    continue
                if self.digest_of(seen[rel], rel, m.alg) is None and m.alg not in need.get(rel, []):
                    need.setdefault(rel, []).append(m.alg)
        return need

    def second_pass(self) -> None:
        reparse = {
            name
            for name, m in self.manifests.items()
            if m.parsed
            and (
                (m.strict_used != self.strict and (m.has_percent or m.duplicate_lines))
                or (m.codec_used != self.codec and m.has_non_ascii)
            )
        }
        if reparse:
            for name in reparse:  # read again, with what bagit.txt says
                self.manifests[name].parsed = False
        need = self.missing_algorithms()
        if not reparse and not need:
            return
        for rel, member in self.iter_bag_members(report=False):
            if member.stream is None:
                continue
            if rel in reparse and rel not in self.unreadable:
                self.read_manifest(self.manifests[rel], Tee(member.stream, []))
                reparse.discard(rel)
            wanted = need.pop(rel, None)
            if wanted:
                hashers = [self.new_hasher(alg) for alg in wanted]
                try:
                    self.read_plain(Tee(member.stream, hashers))
                except (zipfile.BadZipFile, *TAR_ERRORS):
                    continue  # reported in pass 1 if it was broken then; if not, left not-checked below
                self.extra_digests[rel] = {alg: h.digest() for alg, h in zip(wanted, hashers)}
            if not reparse and not need:
                break
        # Anything still unknown (the archive changed between the passes) is reported not-checked.

    # -- the end: compare

    def check_structure(self) -> None:
        if BAGIT_TXT not in self.tag_seen and BAGIT_TXT not in self.links:
            self.no_bagit_txt()
        if self.bag_info_raw is not None:
            self.read_bag_info(self.bag_info_raw)
        if not self.has_data and PAYLOAD_DIR not in self.links:
            self.no_payload_dir()
        if not any(m.payload for m in self.manifests.values()):
            self.no_payload_manifest()
        for name, m in sorted(self.manifests.items()):
            if hashlib_name(m.alg) is None:
                self.cannot_compute(name, m.alg)
            if not m.parsed and name not in self.unreadable:
                self.add(Problem.not_checked(name, "the manifest could not be read again; it was not verified."))
            self.problems.extend(m.problems)
        if self.fetch_raw is not None:
            self.read_fetch_txt(self.fetch_raw, self.payload_keys())
        self.warn_case_collisions(self.payload_keys())
        if self.macos_members:
            self.problem(
                "warning",
                MACOS_METADATA_DIR,
                f"{self.macos_members} member(s) under {MACOS_METADATA_DIR}/ (macOS resource forks) lie beside the "
                "bag; ignored.",
            )



    def payload_manifests(self) -> list[_ManifestState]:
        return [m for _, m in sorted(self.manifests.items()) if m.payload]

    def payload_keys(self) -> set[str]:
        keys: set[str] = set()
        for m in self.payload_manifests():
            keys.update(m.entries)
        return keys


    def under_link(self, rel: str) -> bool:
        if not self.links:
            return False
        parts = rel.split("/")
        return any("/".join(parts[:i]) in self.links for i in range(1, len(parts) + 1))

    def check_payload(self) -> None:
        manifests = self.payload_manifests()
        keys = self.payload_keys()
        matched: set[str] = set()
        nfc_keys = {unicodedata.normalize("NFC", k): k for k in keys if not k.isascii()}
        for rel, packed in self.payload_seen.items():
            key: str | None = rel if rel in keys else None
            if key is None and not rel.isascii():
                listed = nfc_keys.get(unicodedata.normalize("NFC", rel))
                if listed is not None and listed not in matched and listed not in self.payload_seen:
                    key = listed
                    self.stored_as_other_form(rel, listed)
            if key is None:
                self.add(Problem.unexpected_file(rel))
                continue
            matched.add(key)
            self.listed_payload.add(rel)
            for m in manifests:
                if key not in m.entries and key not in m.bad_lines:
                    self.not_in_manifest(rel, m.name, m.alg)
            if self.fast or rel in self.unreadable:
                continue
            self.compare_file(rel, packed, key, manifests, tag_file=False)
        for key in sorted(keys - matched):
            if self.under_link(key):
                continue
            self.missing(key, [m.name for m in manifests if key in m.entries])

    def compare_file(self, rel: str, packed: bytes, key: str, manifests: list[_ManifestState], *, tag_file: bool) -> None:
        self.files_checked += 1
        self.bytes_checked += int.from_bytes(packed[:_SIZE_BYTES], "little")
        for m in manifests:
            expected = m.entries.get(key)
            if not expected or hashlib_name(m.alg) is None:
                continue
            found = self.digest_of(packed, rel, m.alg)
            if found is None:
                self.add(Problem.not_checked(
                    rel, f"the {m.alg} checksum could not be computed; it was not verified.", algorithm=m.alg
                ))
            else:
                self.compare(rel, m.name, m.alg, expected, found, tag_file=tag_file)

    def check_tag_files(self) -> None:
        tag_manifests = [m for _, m in sorted(self.manifests.items()) if not m.payload]
        keys: set[str] = set()
        for m in tag_manifests:
            keys.update(m.entries)
        for rel in sorted(keys):
            packed = self.tag_seen.get(rel)
            if packed is None:
                if not self.under_link(rel):
                    self.missing(rel, [m.name for m in tag_manifests if rel in m.entries], payload=False)
                continue
            if self.fast or rel in self.unreadable:
                continue
            self.compare_file(rel, packed, rel, tag_manifests, tag_file=True)
