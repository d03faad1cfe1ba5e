"""The result of a verification: every problem found, and what was checked.

A :class:`Report` is what :func:`cablekeep.fixity.verify.verify_bag` returns for a bag and what the CLI
renders for a WARC file. Verification never stops at the first problem, so a report lists them
all, in phase order: structure, then completeness and Payload-Oxum, then content (checksums and
WARC records), then what was not checked, then warnings.

Problem kinds
-------------
``changed``           a file's checksum differs from its manifest (one problem per algorithm)
``missing``           a file listed in a manifest or fetch.txt is not in the bag
``unexpected``        a payload file is on disk but in no payload manifest
``invalid-structure`` the bag does not follow RFC 8493 (bagit.txt, manifests, duplicates...)
``oxum``              Payload-Oxum is malformed or disagrees with the payload on disk
``unsafe-path``       a manifest or fetch.txt path escapes the bag (absolute, ``..``, ``~``)
``symlink``           a symbolic link inside the bag; refused, never followed
``warc``              a WARC file is broken (cut short, bad digest, bad header, bad gzip member)
``wacz``              a WACZ in the payload (``*.wacz``) disagrees with its own ``datapackage.json``: a
                      resource inside it changed, missing or unlisted, or the package unreadable
                      (:mod:`cablekeep.fixity.waczcheck`); ``path`` is the WACZ, ``detail`` names the resource
``index``             a cablekeep bag's own index disagrees with its WARCs: a line of index.cdxj,
                      cables.jsonl or crawl-log.jsonl names a record that is not there as written
                      (:mod:`cablekeep.fixity.witness`); ``path`` is the file, ``detail`` names the line
``not-checked``       something that could not be verified; it is neither passed nor failed
``warning``           worth knowing, does not make the target invalid

Three more kinds name what changed in a bag since its last audit. :func:`verify_bag` never
reports them; :mod:`cablekeep.fixity.audit` lists them among its findings, next to the verification:

``renamed``           a file now at ``path`` has the size and checksum of a file that vanished since
                      the last audit (``expected`` holds the old path): it was moved or renamed
``added``             a file that was not in the bag at the last audit
``removed``           a file that was in the bag at the last audit and is gone

``verdict`` is one of three words, and the exit codes follow it:

``valid``        the only problems are warnings -- and, in ``fast`` mode only, the ``not-checked``
                 entries that say checksums were not verified (a fast check says it is none);
``invalid``      something failed (any kind but ``warning`` and ``not-checked``);
``incomplete``   nothing failed, but something could not be checked (``not-checked`` in ``full``,
                 ``sample`` or ``warc`` mode): neither passed nor failed, and never reported as passed.

``ok`` is ``verdict == "valid"``. ``fully_checked`` says whether anything at all was left unchecked.

``sample`` mode (``verify_bag(only=...)``) hashes only the payload files named; the rest of the
bag is checked as in ``full`` mode (structure, completeness, Payload-Oxum, tag files).
``files_not_sampled`` counts the payload files left out, which makes ``fully_checked`` false
without failing ``ok``; any other ``not-checked`` problem fails ``ok`` as in ``full`` mode.

JSON schema ``cablekeep.verify/1``
----------------------------------
::

    {
      "schema": "cablekeep.verify/1",
      "target": "bags/cables-2024",       # the bag directory or WARC file verified
      "mode": "full" | "fast" | "sample" | "warc",
      "verdict": "valid",                  # valid | invalid | incomplete, see above
      "ok": true,                          # verdict == "valid"
      "fully_checked": false,              # false when any "not-checked" problem is present
      "algorithms": ["sha256", "sha512"],  # manifest algorithms (bag) or [] (WARC)
      "files_checked": 12,                 # files whose content was hashed against manifests
      "bytes_checked": 73411,              # bytes hashed
      "warc_records_checked": 40,          # WARC records read and checked
      "files_not_sampled": 90,             # sample mode only: payload files not hashed this time
      "counts": {"changed": 1},            # number of problems per kind (kinds absent: 0)
      "problems": [                        # in phase order
        {"kind": "changed", "path": "data/a.txt", "detail": "...",
         "algorithm": "sha256", "expected": "...", "found": "..."},
        {"kind": "warc", "path": "data/x.warc.gz", "detail": "...",
         "offset": 1234, "record_id": "<urn:uuid:...>"}
      ]
    }

Optional problem fields (``algorithm``, ``expected``, ``found``, ``offset``, ``record_id``) are
present only when known. Paths are bag-relative with ``/`` separators.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, get_args

from .names import escape_name

SCHEMA = "cablekeep.verify/1"

# The kinds of problem, listed once (module docstring): mypy rejects a misspelt kind.
ProblemKind = Literal[
    "changed",
    "missing",
    "unexpected",
    "invalid-structure",
    "oxum",
    "unsafe-path",
    "symlink",
    "warc",
    "wacz",
    "index",
    "not-checked",
    "warning",
    "renamed",
    "added",
    "removed",
]
KINDS: tuple[ProblemKind, ...] = get_args(ProblemKind)

MODES = ("full", "fast", "sample", "warc")
FAST_MODE_CAVEAT = "fast mode"  # named in every not-checked line that is what a fast check leaves out by design
Verdict = Literal["valid", "invalid", "incomplete"]

# Phase of each kind, for the order problems are listed in.
_PHASE: dict[ProblemKind, int] = {
    "invalid-structure": 0,
    "unsafe-path": 0,
    "symlink": 0,
    "missing": 1,
    "unexpected": 1,
    "oxum": 1,
    "changed": 2,
    "warc": 2,
    "wacz": 2,
    "index": 2,
    "renamed": 1,
    "added": 1,
    "removed": 1,
    "not-checked": 3,
    "warning": 4,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or not checked, or worth a warning) with one file."""

    kind: ProblemKind
    path: str
    detail: str
    algorithm: str | None = None
    expected: str | None = None
    found: str | None = None
    offset: int | None = None
    record_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _PHASE:
            raise ValueError(f"unknown problem kind {self.kind!r}; expected one of {KINDS}")

    # -- the problems of a bag check, each message written once

    @classmethod
    def checksum_mismatch(cls, path: str, algorithm: str, manifest: str, expected: bytes, found: bytes,
                          *, tag_file: bool = False) -> Problem:
        what = "the tag file has changed" if tag_file else "the file has changed"
        return cls("changed", path, f"the {algorithm} checksum differs from {manifest}: {what}.",
                   algorithm=algorithm, expected=expected.hex(), found=found.hex())

    @classmethod
    def missing_file(cls, path: str, manifests: list[str], fetch_url: str | None = None) -> Problem:
        listing = ", ".join(manifests) or "a manifest"
        if fetch_url is not None:
            return cls("missing", path, f"listed in fetch.txt ({fetch_url}) and {listing} but not in the bag; "
                       "cablekeep never fetches: fetch the file, then verify again.")
        return cls("missing", path, f"listed in {listing} but not in the bag.")

    @classmethod
    def vanished(cls, path: str) -> Problem:
        return cls("missing", path, "the file disappeared while the bag was being verified.")

    @classmethod
    def unexpected_file(cls, path: str) -> Problem:
        return cls("unexpected", path,
                   "this payload file is in no payload manifest: it was added, or the manifests are out of date.")

    @classmethod
    def oxum_mismatch(cls, declared: tuple[int, int], found: tuple[int, int], where: str) -> Problem:
        (octets, count), (found_octets, found_count) = declared, found
        return cls("oxum", where, f"Payload-Oxum declares {count} files and {octets} bytes, but data/ holds "
                   f"{found_count} files and {found_octets} bytes.",
                   expected=f"{octets}.{count}", found=f"{found_octets}.{found_count}")

    @classmethod
    def oxum_malformed(cls, value: str, where: str) -> Problem:
        return cls("oxum", where, f"Payload-Oxum {value!r} is not '<octets>.<file count>'.", expected=value)

    @classmethod
    def symlink(cls, path: str, target: str | None = None) -> Problem:
        to = "" if target is None else f" (to {target!r})"
        return cls("symlink", path, f"this is a symbolic link{to}; links inside a bag are refused and never "
                   "followed. Replace it with the file or directory it points to.")

    @classmethod
    def special_file(cls, path: str, what: str) -> Problem:
        return cls("invalid-structure", path, f"this is not a regular file or directory ({what}); it was not read.")

    @classmethod
    def unreadable(cls, path: str, why: str) -> Problem:
        return cls("not-checked", path, f"{why}; it was not verified.")

    @classmethod
    def too_large(cls, path: str, limit: int) -> Problem:
        return cls("not-checked", path, f"the tag file is larger than {limit >> 20} MiB, the most cablekeep reads "
                   "of a tag file; its content was not read.")

    @classmethod
    def structure(cls, path: str, detail: str, *, algorithm: str | None = None, expected: str | None = None,
                  found: str | None = None) -> Problem:
        return cls("invalid-structure", path, detail, algorithm=algorithm, expected=expected, found=found)

    @classmethod
    def index_mismatch(cls, path: str, line: int | None, detail: str, *, offset: int | None = None,
                       record_id: str | None = None, expected: str | None = None,
                       found: str | None = None) -> Problem:
        """A line of the bag's own index (``path``: data/index.cdxj, cables.jsonl or crawl-log.jsonl)
        that its WARCs do not bear out; ``line`` is None when the file as a whole disagrees."""
        return cls("index", path, detail if line is None else f"line {line} {detail}", offset=offset,
                   record_id=record_id, expected=expected, found=found)

    @classmethod
    def wacz(cls, path: str, resource: str | None, detail: str, *, algorithm: str | None = None,
             expected: str | None = None, found: str | None = None) -> Problem:
        """The WACZ at bag path ``path`` disagrees with its ``datapackage.json`` about ``resource`` (a path
        inside it; None when the package as a whole could not be read)."""
        where = "the WACZ" if resource is None else f"inside the WACZ, {resource}"
        return cls("wacz", path, f"{where}: {detail}", algorithm=algorithm, expected=expected, found=found)

    @classmethod
    def not_checked(cls, path: str, detail: str, *, algorithm: str | None = None) -> Problem:
        return cls("not-checked", path, detail, algorithm=algorithm)

    @classmethod
    def warning(cls, path: str, detail: str) -> Problem:
        return cls("warning", path, detail)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "path": self.path, "detail": self.detail}
        for name in ("algorithm", "expected", "found", "offset", "record_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def problem_order(problem: Problem) -> tuple[int, str, str, str, int, str]:
    """Sort key: phase, then path, so reports are the same however the work was scheduled."""
    return (
        _PHASE[problem.kind],
        problem.path,
        problem.kind,
        problem.algorithm or "",
        -1 if problem.offset is None else problem.offset,
        problem.detail,
    )


@dataclass
class Report:
    """Everything one verification found. See the module docstring for ``ok``."""

    target: str
    mode: str
    algorithms: tuple[str, ...] = ()
    files_checked: int = 0
    bytes_checked: int = 0
    warc_records_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    files_not_sampled: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown report mode {self.mode!r}; expected one of {MODES}")

    @property
    def verdict(self) -> Verdict:
        """valid, invalid or incomplete (see the module docstring)."""
        unchecked = False
        for problem in self.problems:
            if problem.kind == "warning":
                continue
            if problem.kind == "not-checked":
                # a fast check says what it leaves out by design ("fast mode ..."); anything else it could
                # not check (a tag file past the cap, a folder it could not list) is not passed
                unchecked = unchecked or self.mode != "fast" or FAST_MODE_CAVEAT not in problem.detail
                continue
            return "invalid"
        return "incomplete" if unchecked else "valid"

    @property
    def ok(self) -> bool:
        """True when the verdict is valid: nothing failed and, but in fast mode, nothing went unchecked."""
        return self.verdict == "valid"

    @property
    def fully_checked(self) -> bool:
        """True when no part of the target was left unverified."""
        return self.files_not_sampled == 0 and not any(p.kind == "not-checked" for p in self.problems)

    @property
    def not_checked(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "not-checked"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "warning"]

    def counts(self) -> dict[str, int]:
        """Number of problems per kind, only kinds that occur."""
        return dict(sorted(Counter(p.kind for p in self.problems).items()))

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict in the ``cablekeep.verify/1`` schema (module docstring)."""
        out: dict[str, object] = {
            "schema": SCHEMA,
            "target": self.target,
            "mode": self.mode,
            "verdict": self.verdict,
            "ok": self.ok,
            "fully_checked": self.fully_checked,
            "algorithms": list(self.algorithms),
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "warc_records_checked": self.warc_records_checked,
        }
        if self.mode == "sample":
            out["files_not_sampled"] = self.files_not_sampled
        out["counts"] = self.counts()
        out["problems"] = [p.to_json() for p in self.problems]
        return out


def problem_kind(value: str) -> ProblemKind:
    """``value`` as a :data:`ProblemKind` (a kind read back from JSON); ValueError when it is none."""
    for kind in KINDS:
        if kind == value:
            return kind
    raise ValueError(f"unknown problem kind {value!r}; expected one of {KINDS}")


def report_lines(report: Report) -> list[str]:
    """The problems of a report as text, one line per file and kind of problem.

    A file whose checksums differ under several algorithms is one line naming each algorithm with
    what was expected and found; nothing that is not known (a fast check knows no checksum) is shown.
    """
    lines: list[str] = []
    kinds = sorted({p.kind for p in report.problems})
    for kind in kinds:
        grouped: dict[tuple[str, str], list[Problem]] = {}
        for problem in report.problems:
            if problem.kind != kind:
                continue
            key = (problem.path, "" if kind == "changed" else problem.detail)
            grouped.setdefault(key, []).append(problem)
        for (path, _), group in grouped.items():
            detail = group[0].detail
            if kind == "changed" and len(group) > 1:
                names = [p.algorithm or "?" for p in group]
                detail = (f"the {', '.join(names[:-1])} and {names[-1]} checksums differ from the manifests: "
                          "the file has changed.")
            facts = [_facts(p) for p in group]
            extra = "; ".join(f for f in facts if f)
            # names escaped (\xff, \n, \t): any file name is shown, and none splits a line
            lines.append(f"  {kind}: {escape_name(path)}: {escape_name(detail)}" + (f" [{extra}]" if extra else ""))
    return lines


def _facts(problem: Problem) -> str:
    parts: list[str] = []
    if problem.algorithm and (problem.expected is not None or problem.found is not None):
        parts.append(problem.algorithm)
    if problem.expected is not None:
        parts.append(f"expected {problem.expected}")
    if problem.found is not None:
        parts.append(f"found {problem.found}")
    if problem.offset is not None:
        parts.append(f"offset {problem.offset}")
    return " ".join(parts)
