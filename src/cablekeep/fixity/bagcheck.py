"""The one bag check: every step of RFC 8493 run once, whatever the bag source.

:class:`BagCheck` reads a bag through a :class:`~cablekeep.fixity.sources.BagSource` (a directory,
a tar stream or a zip) and applies the rules of :class:`~cablekeep.fixity.checker.BagRules` in
this order, cheapest first: the top level; bagit.txt; bag-info.txt; the payload and tag manifests
(path -> one packed entry each, :mod:`cablekeep.fixity.packed`); fetch.txt; case collisions; the
payload walk (completeness, each listed file handed to the source's hasher, which answers in the
order it likes); missing files; Payload-Oxum; tag files; WARC references across files. Tag files
are hashed while they are parsed.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from ..bagging.layout import BAGIT_TXT, BLOCK, FETCH_TXT, MANIFEST_RE, PAYLOAD_DIR, TAGMANIFEST_RE
from ..errors import BagUnreadableError
from . import sources
from .checker import BagRules, ManifestQuirks
from .packed import Layout
from .report import Problem, Report, problem_order
from .sources import AlreadyReported, BagSource, Entry, FileHasher, Hashed
from .tagfiles import LINE_END_RE, SYSTEM_FILE_NAMES, has_undecodable, split_lines
from .warccheck import WarcScan, is_warc_name, resolve_references

_CLUTTER_HINTS = (*sorted(SYSTEM_FILE_NAMES), "/._")


@dataclass(frozen=True)
class VerifyProgress:
    """How far a full verification is: files and bytes hashed of the payload's (for a display)."""

    files_done: int
    bytes_done: int
    files_total: int
    bytes_total: int


@dataclass
class _TagRead:
    """A tag file read once: its raw digest per tag-manifest algorithm, and its size."""

    digests: dict[str, bytes]
    size: int


@dataclass
class _ManifestRead:
    """One manifest being parsed, and the quirks counted for a single warning each."""

    name: str
    index: int
    layout: Layout
    entries: dict[str, bytes]
    payload: bool
    quirks: ManifestQuirks

    @property
    def alg(self) -> str:
        return self.layout.algorithms[self.index]

    @property
    def size(self) -> int:
        return self.layout.sizes[self.index]


class BagCheck(BagRules):
    """One check of one bag source; :meth:`run` gives the report."""

    def __init__(
        self,
        source: BagSource,
        *,
        fast: bool,
        only: Collection[str] | None = None,
        on_progress: Callable[[VerifyProgress], None] | None = None,
    ) -> None:
        super().__init__(fast=fast)
        self.source = source
        self.only = None if only is None else frozenset(only)  # a sample: hash only these payload files
        self.on_progress = on_progress
        self.not_sampled = 0
        self.warcs_not_sampled = 0
        self.top_files: dict[str, int] = {}
        self.tag_dirs: list[str] = []
        self.has_data = False
        self.payload_layout = Layout.of([])
        self.tag_layout = Layout.of([])
        self.entries: dict[str, bytes] = {}
        self.tag_entries: dict[str, bytes] = {}
        self.payload_listed_tags: dict[str, bytes] = {}  # tag files a pre-1.0 payload manifest lists (packed)
        self.bad_lines: set[tuple[bool, int, str]] = set()  # (payload?, manifest index, path) already reported
        self.tag_reads: dict[str, _TagRead] = {}
        self.symlinks: set[str] = set()
        self.tag_files: dict[str, int] = {}
        self.scans: list[WarcScan] = []

    # -- driver

    def run(self) -> Report:
        try:
            self.read_top_level()
            self.read_bagit_txt()
            self.read_bag_info_txt()
            with ExitStack() as stack:
                hasher = None
                if not self.fast:
                    declared = self.oxum[0] if self.oxum else 0
                    hasher = stack.enter_context(
                        self.source.payload_hasher(self.payload_layout, self.on_result, declared_bytes=declared)
                    )
                self.read_manifests(self.payload_layout, self.entries, payload=True)
                self.read_manifests(self.tag_layout, self.tag_entries, payload=False)
                self.read_fetch_txt_file()
                self.warn_of_case_collisions()
                self.walk(hasher)
                if hasher is not None:
                    hasher.finish()
            self.report_missing()
            self.check_oxum()
            self.check_tag_files()
            self.check_payload_listed_tags()
            self.check_warc_references()
            self.problems.extend(self.source.take_problems())
        finally:
            for scan in self.scans:
                scan.discard()
            self.source.close()
        return self.report()

    def report(self) -> Report:
        self.problems.sort(key=problem_order)
        algorithms = tuple(dict.fromkeys(self.payload_layout.algorithms + self.tag_layout.algorithms))
        return Report(
            target=self.source.target,
            mode="fast" if self.fast else "full" if self.only is None else "sample",
            algorithms=algorithms,
            files_checked=self.files_checked,
            bytes_checked=self.bytes_checked,
            warc_records_checked=sum(scan.records for scan in self.scans),
            problems=self.problems,
            files_not_sampled=self.not_sampled,
        )

    def on_result(self, result: Hashed) -> None:
        self.problems.extend(result.problems)
        self.files_checked += result.files
        self.bytes_checked += result.bytes
        self.scans.extend(result.scans)
        if self.on_progress is not None:
            self.on_progress(VerifyProgress(self.files_checked, self.bytes_checked, self.payload_files,
                                            self.payload_bytes))

    # -- 1. structure

    def read_top_level(self) -> None:
        payload_manifests: list[tuple[str, str]] = []
        tag_manifests: list[tuple[str, str]] = []
        for entry in self.source.top_level():
            name = entry.rel
            if entry.kind == "dir":
                if name == PAYLOAD_DIR:
                    self.has_data = True
                else:
                    self.tag_dirs.append(name)
            elif entry.kind != "file":
                self.odd_entry(entry)
            else:
                self.top_files[name] = entry.size
                if match := MANIFEST_RE.match(name):
                    payload_manifests.append((name, match.group(1).lower()))
                elif match := TAGMANIFEST_RE.match(name):
                    tag_manifests.append((name, match.group(1).lower()))
        self.payload_layout = Layout.of(sorted(payload_manifests))
        self.tag_layout = Layout.of(sorted(tag_manifests))
        self.tag_files.update(self.top_files)
        if BAGIT_TXT not in self.top_files and not payload_manifests and not self.has_data and not self.symlinks:
            raise BagUnreadableError(self.source.no_bag)
        if not self.has_data and PAYLOAD_DIR not in self.symlinks:
            self.no_payload_dir()
        if not payload_manifests:
            self.no_payload_manifest()

    def odd_entry(self, entry: Entry) -> None:
        """A link or special file: reported, never read."""
        if entry.kind == "symlink":
            self.symlinks.add(entry.rel)
            self.add(Problem.symlink(entry.rel, entry.detail or None))
        elif entry.kind == "hardlink":
            self.symlinks.add(entry.rel)
            self.add(Problem.structure(
                entry.rel,
                f"this member is a hard link to {entry.detail!r}; links in a serialized bag are refused and never "
                "followed. Store the file itself.",
            ))
        else:
            self.add(Problem.special_file(entry.rel, entry.detail))

    def tag_hashers(self) -> dict[str, hashlib._Hash]:
        """One hasher per tag-manifest algorithm (none in fast mode)."""
        if self.fast:
            return {}
        layout = self.tag_layout
        return {alg: hashlib.new(h) for alg, h in zip(layout.algorithms, layout.hash_names) if h is not None}

    def open_tag(self, name: str, hashers: dict[str, hashlib._Hash]) -> sources.Tee | None:
        try:
            return self.source.open_tag(name, list(hashers.values()))
        except AlreadyReported:
            return None
        except OSError as exc:
            self.add(Problem.unreadable(name, f"the file could not be read ({exc.strerror or exc})"))
            return None

    def read_small_tag_file(self, name: str) -> bytes | None:
        """Bytes of a small top-level tag file (at most :data:`sources.TAG_TEXT_LIMIT`), hashed for
        the tag manifests in the same read."""
        if name not in self.top_files:
            return None
        hashers = self.tag_hashers()
        tee = self.open_tag(name, hashers)
        if tee is None:
            return None
        with tee:
            try:
                data = tee.read_capped(sources.TAG_TEXT_LIMIT)
            except OSError as exc:
                self.add(Problem.unreadable(name, f"the file could not be read ({exc.strerror or exc})"))
                return None
        if data is None:
            self.add(Problem.too_large(name, sources.TAG_TEXT_LIMIT))
            return None  # hashed again in full with the other tag files: a source may have kept only the cap
        self.tag_reads[name] = _TagRead({alg: h.digest() for alg, h in hashers.items()}, tee.size)
        return data

    def read_bagit_txt(self) -> None:
        raw = self.read_small_tag_file(BAGIT_TXT)
        if raw is None:
            if BAGIT_TXT not in self.top_files and BAGIT_TXT not in self.symlinks:
                self.no_bagit_txt()
            return
        self.read_declaration(raw)

    def read_bag_info_txt(self) -> None:
        for name in self.info_file_names():
            if name in self.top_files:
                raw = self.read_small_tag_file(name)
                if raw is not None:
                    self.read_bag_info(raw, name)
                return

    def read_fetch_txt_file(self) -> None:
        raw = self.read_small_tag_file(FETCH_TXT)
        if raw is not None:
            self.read_fetch_txt(raw, self.entries)

    # -- manifests

    def iter_manifest_chunks(self, name: str, quirks: ManifestQuirks) -> Iterator[tuple[int, list[str], bool]]:
        """Lines of a manifest in batches: (number of the first line, lines, batch is plain).

        A batch is plain when it is ASCII without NUL, tab or operating-system clutter names, so
        its ordinary lines can take the fast path in :meth:`read_manifest`. The file is hashed
        for the tag manifests in the same read.
        """
        hashers = self.tag_hashers()
        raw = self.open_tag(name, hashers)
        if raw is None:
            return
        text = io.TextIOWrapper(io.BufferedReader(raw, BLOCK), encoding=self.codec, errors="surrogateescape", newline="")
        number = 1
        carry = ""
        try:
            while True:
                chunk = text.read(BLOCK)
                if chunk:
                    chunk = carry + chunk
                    carry_cr = chunk.endswith("\r")  # a CRLF may straddle two reads
                    if carry_cr:
                        chunk = chunk[:-1]
                    lines = LINE_END_RE.split(chunk) if "\r" in chunk else chunk.split("\n")
                    carry = lines.pop() + ("\r" if carry_cr else "")
                    seen = chunk
                else:
                    lines = split_lines(carry) if carry else []
                    seen = carry
                if lines:
                    plain = seen.isascii() and "\x00" not in seen and "\t" not in seen
                    if plain:
                        plain = not any(hint in seen for hint in _CLUTTER_HINTS)
                    elif not seen.isascii():
                        quirks.undecodable += sum(1 for line in lines if has_undecodable(line))
                    yield number, lines, plain
                    number += len(lines)
                if not chunk:
                    break
        except UnicodeError as exc:
            self.add(Problem.structure(name, f"the file is not valid {self.codec} ({exc})."))
        finally:
            try:
                raw.drain()
            except OSError as exc:
                self.add(Problem.unreadable(name, f"the file could not be read ({exc.strerror or exc})"))
            else:
                self.tag_reads[name] = _TagRead({alg: h.digest() for alg, h in hashers.items()}, raw.size)
            text.close()

    def read_manifests(self, layout: Layout, entries: dict[str, bytes], *, payload: bool) -> None:
        for index, name in enumerate(layout.manifests):
            if layout.hash_names[index] is None:
                self.cannot_compute(name, layout.algorithms[index])
            self.read_manifest(_ManifestRead(name, index, layout, entries, payload, ManifestQuirks(name)))

    def read_manifest(self, m: _ManifestRead) -> None:
        """Parse one manifest into ``m.entries``.

        Ordinary payload lines (``<hex>  data/<plain path>``) take a fast path with no regular
        expression; anything else goes through :meth:`manifest_line`, which applies every rule
        and reports what is wrong.
        """
        entries, index, layout = m.entries, m.index, m.layout
        hex_len = 2 * m.size
        fast_ok = m.payload and m.size > 0
        percent_matters = self.strict
        for first, lines, plain in self.iter_manifest_chunks(m.name, m.quirks):
            if not (plain and fast_ok):
                for offset, line in enumerate(lines):
                    self.manifest_line(m, first + offset, line)
                continue
            for offset, line in enumerate(lines):
                digest, _, path = line.partition(" ")
                if path[:1] == " ":
                    path = path.lstrip(" ")
                if (
                    len(digest) == hex_len
                    and path.startswith("data/")
                    and "/." not in path
                    and "//" not in path
                    and "\\" not in path
                    and not path.endswith("/")
                    and not (percent_matters and "%" in path)
                ):
                    try:
                        raw = bytes.fromhex(digest)
                    except ValueError:
                        raw = b""
                    if len(raw) == m.size:
                        packed = entries.get(path)
                        if packed is None or not layout.listed(packed, index):
                            entries[path] = layout.put(packed, index, raw)
                            continue
                self.manifest_line(m, first + offset, line)
        self.manifest_quirks(m.quirks)

    def manifest_line(self, m: _ManifestRead, number: int, line: str) -> None:
        """One manifest line, every rule applied (:meth:`BagRules.vet_manifest_line`)."""
        if not line.strip():
            return
        entry = self.vet_manifest_line(m.name, m.alg, m.size, m.payload, number, line, m.quirks)
        if entry is None:
            return
        layout = m.layout
        if entry.tag_file:
            if entry.digest is not None:
                self.payload_listed_tags[entry.key] = layout.put(
                    self.payload_listed_tags.get(entry.key), m.index, entry.digest)
            return
        if entry.digest is None:
            self.bad_lines.add((m.payload, m.index, entry.key))
            m.entries.setdefault(entry.key, layout.empty())  # present, so the file is not "unexpected"
            return
        packed = m.entries.get(entry.key)
        if packed is None or not layout.listed(packed, m.index):
            m.entries[entry.key] = layout.put(packed, m.index, entry.digest)
        else:
            self.duplicate_line(m.name, m.alg, entry.path, layout.digest(packed, m.index), entry.digest)

    def warn_of_case_collisions(self) -> None:
        seen: set[int] = set()
        for key in self.entries:  # most bags have none: a cheap look first
            folded = hash(key.lower())
            if folded in seen:
                self.warn_case_collisions(self.entries)
                return
            seen.add(folded)

    # -- 2. completeness, and the payload handed to the hasher

    def walk(self, hasher: FileHasher | None) -> None:
        if self.has_data:
            for entry in self.source.iter_tree(PAYLOAD_DIR):
                if entry.kind == "file":
                    self.found_payload(entry.rel, entry.size, hasher)
                else:
                    self.odd_entry(entry)
        for name in self.tag_dirs:
            for entry in self.source.iter_tree(name):
                if entry.kind == "file":
                    self.tag_files[entry.rel] = entry.size
                else:
                    self.odd_entry(entry)

    def found_payload(self, rel: str, size: int, hasher: FileHasher | None) -> None:
        self.payload_files += 1
        self.payload_bytes += size
        if is_warc_name(rel):
            self.warc_files += 1
        packed = self.entries.pop(rel, None)
        if packed is None and not rel.isascii():
            listed = self.nfc_index.get(unicodedata.normalize("NFC", rel))
            if listed is not None and listed in self.entries:
                packed = self.entries.pop(listed)
                self.stored_as_other_form(rel, listed)
        if packed is None:
            self.add(Problem.unexpected_file(rel))
            return
        layout = self.payload_layout
        for index, name in enumerate(layout.manifests):
            if not layout.listed(packed, index) and (True, index, rel) not in self.bad_lines:
                self.not_in_manifest(rel, name, layout.algorithms[index])
        if hasher is None:
            return
        if self.only is not None and rel not in self.only:
            self.not_sampled += 1
            self.warcs_not_sampled += is_warc_name(rel)
            return
        hasher.add(rel, packed, size)

    def under_symlink(self, rel: str) -> bool:
        if not self.symlinks:
            return False
        parts = rel.split("/")
        return any("/".join(parts[:i]) in self.symlinks for i in range(1, len(parts) + 1))

    def report_missing(self) -> None:
        for rel, packed in self.entries.items():
            if not self.under_symlink(rel):
                self.missing(rel, self.payload_layout.listing(packed))
        self.entries.clear()

    # -- 3. tag files and WARC references

    def check_tag_files(self) -> None:
        layout = self.tag_layout
        hasher: FileHasher | None = None
        for rel, packed in self.tag_entries.items():
            if rel not in self.tag_files:
                if not self.under_symlink(rel):
                    self.missing(rel, layout.listing(packed), payload=False)
                continue
            if self.fast:
                continue
            read = self.tag_reads.get(rel)
            if read is None:
                if hasher is None:
                    hasher = self.source.tag_hasher(layout, self.on_tag_result)
                hasher.add(rel, packed, self.tag_files[rel])
                continue
            self.files_checked += 1
            self.bytes_checked += read.size
            for index, alg in enumerate(layout.algorithms):
                found = read.digests.get(alg)
                if found is None or not layout.listed(packed, index):
                    continue
                self.compare(rel, layout.manifests[index], alg, layout.digest(packed, index), found, tag_file=True)
        if hasher is not None:
            hasher.finish()

    def check_payload_listed_tags(self) -> None:
        """Tag files an older bag's payload manifests list: present, and (full mode) their checksums."""
        hasher: FileHasher | None = None
        for rel, packed in self.payload_listed_tags.items():
            if rel not in self.tag_files:
                if not self.under_symlink(rel):
                    self.missing(rel, self.payload_layout.listing(packed), payload=False)
            elif not self.fast:
                hasher = hasher or self.source.tag_hasher(self.payload_layout, self.on_tag_result)
                hasher.add(rel, packed, self.tag_files[rel])
        if hasher is not None:
            hasher.finish()

    def on_tag_result(self, result: Hashed) -> None:
        self.problems.extend(result.problems)
        self.files_checked += result.files
        self.bytes_checked += result.bytes

    def check_warc_references(self) -> None:
        if self.fast:
            self.report_fast_mode(
                (*zip(self.payload_layout.manifests, self.payload_layout.algorithms),
                 *zip(self.tag_layout.manifests, self.tag_layout.algorithms))
            )
        elif not self.warcs_not_sampled:
            elsewhere, all_present, problems = self.source.earlier_record_ids()
            self.problems.extend(problems)
            self.problems.extend(resolve_references(self.scans, elsewhere=elsewhere, elsewhere_checked=all_present))
            if self.only is None:  # the bag's own index as a second witness (full mode, cablekeep's bags)
                self.problems.extend(self.source.witness(self.scans))
