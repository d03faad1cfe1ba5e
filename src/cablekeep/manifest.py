"""The manifest: one YAML file that says what to crawl, how, and where the bag goes.

``load_manifest`` reads it into a frozen :class:`Manifest`. Reading is strict: YAML that does not
parse, an unknown key, a duplicate key, a value of the wrong type or out of range, a seed that is
neither an http(s) URL nor a cable ID each raise a :class:`~cablekeep.errors.ManifestError` that names
the file, the 1-based line and the dotted key path (``fetch.per_host_delay``, ``seeds[2].file``).

The YAML is composed into nodes with PyYAML's safe loader (core schema only, no Python tags) and
read node by node, so every value keeps its line. Loading writes nothing: it reads the manifest and
the seed lists it names, nothing else.

Every key has a default except ``cablekeep``, ``collection`` and ``seeds``; ``manifests/example.yaml``
shows them all. An empty section or list (``follow:`` with nothing under it) means its defaults; a key
with no value is an error, except ``site.cable_url`` and ``site.original_url``, which default to null.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import math
import re
import string
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, NoReturn, TypeVar
from urllib.parse import urlsplit

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from . import __version__
from .cables.cableid import is_cable_id, normalise_cable_id
from .bagging.layout import WRITABLE_ALGORITHMS
from .errors import ManifestError
from .cables.profiles import profile_from_mapping

MANIFEST_VERSION = 1
DEFAULT_USER_AGENT = f"cablekeep/{__version__} (+https://github.com/cablekeep/cablekeep)"
PROFILES = ("cablebrowser",)
# The bag directory is named after the collection: lower-case letters, digits and hyphens. It may not
# start with a hyphen, so a collection name can never be read as a command-line option.
COLLECTION_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# bag-info.txt labels that the bag module computes; a manifest may not set them.
COMPUTED_BAG_INFO = ("Payload-Oxum",)

SeedKind = Literal["cable", "url"]
Robots = Literal["obey", "ignore"]
Dedup = Literal["none", "collection"]


# --------------------------------------------------------------------------------------------------
# The typed result


@dataclass(frozen=True)
class Contact:
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Organization:
    """Who makes the bag; goes into bag-info.txt."""

    name: str = ""
    address: str = ""
    contact: Contact = field(default_factory=Contact)


@dataclass(frozen=True)
class Site:
    """The cable site. ``profile`` is "cablebrowser" or a custom profile kept as plain data
    (validated by the extractor); ``profile_line`` is its line in the manifest, None when defaulted."""

    cable_url: str | None = None
    original_url: str | None = None
    profile: str | Mapping[str, object] = field(default="cablebrowser", hash=False)
    profile_line: int | None = None

    def cable_page_url(self, cable_id: str) -> str:
        """The URL of a cable's page on the site, from ``cable_url``."""
        if self.cable_url is None:
            raise ValueError("site.cable_url is not set; add it to the manifest")
        return self.cable_url.format(id=cable_id)

    def original_page_url(self, cable_id: str, created: datetime.datetime) -> str | None:
        """The URL of a cable's original, from ``original_url``, or None when it is not set."""
        if self.original_url is None:
            return None
        return self.original_url.format(id=cable_id, created=created)


@dataclass(frozen=True)
class Seed:
    """One start point of a crawl. ``origin`` is where it was written ("manifest.yaml:12",
    "lists/andijon.txt:3"); a cable seed's ``url`` comes from ``site.cable_url``."""

    kind: SeedKind
    value: str
    url: str
    origin: str


@dataclass(frozen=True)
class SeedFile:
    """A seed list named by a manifest (``- file: lists/x.txt``), read again each time the seeds
    are listed; ``key`` is where the manifest names it (``seeds[2].file``)."""

    path: Path
    written: str
    site: Site
    manifest: Path
    key: str
    line: int | None


class Seeds:
    """A manifest's seeds in order. Seed lists stay on disk and are read line by line each time
    the seeds are iterated, so a list of 100,000 URLs is never held in memory (the crawl streams
    it into its state once). Compares equal to a tuple of the same :class:`Seed` objects."""

    def __init__(self, entries: Sequence[Seed | SeedFile], count: int) -> None:
        self.entries = tuple(entries)
        self.count = count

    def __iter__(self) -> Iterator[Seed]:
        for entry in self.entries:
            if isinstance(entry, Seed):
                yield entry
                continue
            try:
                for _, seed in _iter_seed_file(entry.path, entry.written, entry.site):
                    yield seed
            except (OSError, UnicodeDecodeError, _SeedLineError) as error:
                raise ManifestError(entry.manifest, entry.line, entry.key,
                                    f"seed list {entry.written} changed or vanished since the manifest was "
                                    f"loaded: {error}; fix it and run again") from error

    def __len__(self) -> int:
        return self.count

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Seeds):
            return self.entries == other.entries
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return f"Seeds({self.count} seeds from {len(self.entries)} entries)"


@dataclass(frozen=True)
class Follow:
    references: bool = True
    sources: bool = True
    requisites: bool = True
    depth: int = 1
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 4
    processes: int = 1
    threads: int | None = None  # fetch threads in each process; None: concurrency / processes
    per_host_concurrency: int = 1
    per_host_delay: float = 1.0
    timeout: float = 30.0
    max_bytes: int = 100_000_000
    retries: int = 3
    robots: Robots = "obey"
    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarcOptions:
    max_size: int = 1_000_000_000
    dedup: Dedup = "none"


@dataclass(frozen=True)
class BagOptions:
    """``output`` is absolute; in the manifest it is relative to the manifest's directory."""

    output: Path
    algorithms: tuple[str, ...] = ("sha512", "sha256")
    info: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Manifest:
    """A loaded manifest. ``path`` is absolute; ``source_text`` is the YAML exactly as read, to be
    stored in the bag as the manifest as used. Fields holding plain mappings are compared but left
    out of the hash, so a manifest stays hashable."""

    path: Path
    source_text: str
    version: int
    collection: str
    title: str
    description: str
    organization: Organization
    site: Site
    seeds: Seeds
    follow: Follow
    fetch: FetchOptions
    warc: WarcOptions
    bag: BagOptions
    schedule: tuple[Mapping[str, object], ...] = field(hash=False)
    delivery: tuple[Mapping[str, object], ...] = field(hash=False)


# Known keys of each mapping, by section; used to reject unknown keys and to suggest the right one.
SECTION_KEYS: Mapping[str, tuple[str, ...]] = {
    "": ("cablekeep", "collection", "title", "description", "organization", "site", "seeds",
         "follow", "fetch", "warc", "bag", "schedule", "delivery"),
    "organization": ("name", "address", "contact"),
    "organization.contact": ("name", "email"),
    "site": ("cable_url", "original_url", "profile"),
    "seeds[]": ("cable", "url", "file"),
    "follow": ("references", "sources", "requisites", "depth", "include", "exclude", "hosts"),
    "fetch": ("user_agent", "concurrency", "processes", "threads", "per_host_concurrency", "per_host_delay", "timeout",
              "max_bytes", "retries", "robots", "allow_private", "allow_hosts"),
    "warc": ("max_size", "dedup"),
    "bag": ("algorithms", "info", "output"),
}


# --------------------------------------------------------------------------------------------------
# Sizes

_SIZE_RE = re.compile(r"\s*(\d{1,30}(?:\.\d{1,30})?|\.\d{1,30})\s*([A-Za-z]*)\s*")
_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}


def parse_size(text: str) -> int:
    """Bytes in a size written as a whole number of bytes or a number and a unit: "100MB", "1.5GiB",
    "512 KB". KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB powers of 1024; units ignore case.
    Raises ValueError saying what is wrong."""
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; write a number of bytes or a number and a unit, "
                         "e.g. 100MB, 1.5GiB, 512KB")
    number, unit = match.groups()
    factor = _SIZE_UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"{unit!r} in {text!r} is not a unit of size; use B, KB, MB, GB, TB "
                         "(powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)")
    size = Fraction(number) * factor
    if size.denominator != 1:
        raise ValueError(f"{text!r} is not a whole number of bytes; use a smaller unit")
    return int(size)


# --------------------------------------------------------------------------------------------------
# Loading


def load_manifest(path: Path) -> Manifest:
    """Read and check the manifest at ``path``. Raises ManifestError naming file, line and key."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(path, None, "", "manifest not found; check the path") from None
    except OSError as error:
        raise ManifestError(path, None, "", f"cannot read the manifest: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ManifestError(path, line, "", "the manifest is not UTF-8 text; save it as UTF-8") from None
    return load_manifest_text(text, path)


def load_manifest_text(text: str, path: Path) -> Manifest:
    """Check a manifest given as text. ``path`` names it in errors, as given, and anchors the relative
    paths in it (seed lists, bag output); seed lists are read from disk."""
    reader = _Reader(path)
    root_node = _compose(text, path)
    _check_duplicate_keys(reader, root_node)

    fields = reader.fields(root_node, "")
    version_node = fields.get("cablekeep")
    if version_node is None:
        reader.fail(root_node, "cablekeep", "required key is missing; start the manifest with "
                    f"'cablekeep: {MANIFEST_VERSION}'")
    version = reader.integer(version_node[1], "cablekeep", low=0)
    if version != MANIFEST_VERSION:
        reader.fail(version_node[1], "cablekeep",
                    f"manifest version {version} is not supported; this cablekeep {__version__} reads "
                    f"version {MANIFEST_VERSION} (write 'cablekeep: {MANIFEST_VERSION}', or upgrade cablekeep)")
    _check_key_names(reader, root_node)
    root = reader.check_keys(root_node, "", fields, required=("collection", "seeds"))

    collection = _read_collection(reader, root)
    site = _read_site(reader, root.section("site"))
    return Manifest(
        path=path.absolute(),
        source_text=text,
        version=version,
        collection=collection,
        title=root.get("title", collection, reader.line_of_text),
        description=root.get("description", "", reader.text),
        organization=_read_organization(root.section("organization")),
        site=site,
        seeds=_read_seeds(reader, root, site),
        follow=_read_follow(root.section("follow")),
        fetch=_read_fetch(root.section("fetch")),
        warc=_read_warc(root.section("warc")),
        bag=_read_bag(reader, root.section("bag")),
        schedule=root.get("schedule", (), reader.raw_list),
        delivery=root.get("delivery", (), reader.raw_list),
    )


# --------------------------------------------------------------------------------------------------
# YAML nodes

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_T = TypeVar("_T")


def _line(node: Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _compose(text: str, path: Path) -> MappingNode:
    """The root mapping node of ``text``, or a ManifestError for YAML that does not parse."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark is not None and (mark is None or mark.index >= len(text.rstrip())):
            mark = error.context_mark  # stopped at the end: point at what was left open instead
        raise ManifestError(path, mark.line + 1 if mark else None,
                            _key_at(text, mark.index if mark else None),
                            _yaml_error_message(error)) from None
    except ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise ManifestError(path, line, "", f"not valid YAML: character {error.character!r} is not "
                            "allowed in YAML text; remove it") from None
    except yaml.YAMLError as error:
        raise ManifestError(path, None, "", f"not valid YAML: {error}") from None
    except RecursionError:
        raise ManifestError(path, None, "", "not valid YAML for a manifest: nested too deeply") from None
    if node is None:
        raise ManifestError(path, 1, "", "the manifest is empty; start it with "
                            f"'cablekeep: {MANIFEST_VERSION}' (see manifests/example.yaml)")
    if not isinstance(node, MappingNode):
        raise ManifestError(path, _line(node), "", "the manifest must be a mapping of keys to values "
                            f"('cablekeep: {MANIFEST_VERSION}', 'collection: ...', 'seeds: ...'), "
                            f"not {_describe_node(node)}")
    return node


def _yaml_error_message(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or "cannot parse"
    if "'\\t'" in problem:
        return "not valid YAML: a tab where YAML needs spaces; indent with spaces only"
    if "expected a single document" in str(error.context) + problem:
        return "not valid YAML for a manifest: more than one document ('---'); keep one"
    detail = problem
    if error.context:
        where = f" at line {error.context_mark.line + 1}" if error.context_mark else ""
        detail = f"{problem} ({error.context}{where})"
    return f"not valid YAML: {detail}; fix the syntax here"


@dataclass
class _Frame:
    is_mapping: bool
    key: str = "?"
    index: int = 0
    want_key: bool = True


def _key_at(text: str, index: int | None) -> str:
    """Best-effort dotted key path of the place where ``text`` stops parsing, or of ``index``."""
    frames: list[_Frame] = []

    def done_node() -> None:
        if frames:
            top = frames[-1]
            if top.is_mapping:
                top.want_key = not top.want_key
            else:
                top.index += 1

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            at = event.start_mark.index if event.start_mark is not None else 0
            closes = isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent))
            if index is not None and (at > index or (at == index and not closes)):
                break
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                frames.append(_Frame(isinstance(event, yaml.MappingStartEvent)))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frames.pop()
                done_node()
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                if frames and frames[-1].is_mapping and frames[-1].want_key:
                    frames[-1].key = str(event.value) if isinstance(event, yaml.ScalarEvent) else "?"
                done_node()
    except yaml.YAMLError:
        pass  # expected: the text is known not to parse; the frames say how far it got
    path = ""
    for frame in frames:
        if not frame.is_mapping:
            path = f"{path}[{frame.index}]"
        elif not frame.want_key:
            path = _join(path, frame.key)
    return path


def _check_duplicate_keys(reader: _Reader, root: Node) -> None:
    """Reject a key written twice in one mapping (YAML would silently keep the last), anywhere."""
    duplicates: list[tuple[int, Node, str, str]] = []
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, key = stack.pop()
        if id(node) in seen:  # an alias: the same node again
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((item, f"{key}[{i}]") for i, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            first: dict[object, Node] = {}
            for key_node, value_node in node.value:
                is_key = isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG
                name = reader.construct(key_node, key) if is_key else None
                child = _join(key, str(name) if name is not None else "?")
                stack.append((value_node, child))
                if name is None:
                    continue
                earlier = first.setdefault(name, key_node)
                if earlier is not key_node:
                    lines = (f"on line {_line(earlier)} and line {_line(key_node)}"
                             if _line(earlier) != _line(key_node) else f"on line {_line(key_node)}")
                    message = (f"key {key_node.value!r} is written twice, {lines}; YAML would silently "
                               "keep only the last: remove one")
                    duplicates.append((_line(key_node) or 0, key_node, child, message))
    if duplicates:
        _, node, key, message = min(duplicates, key=lambda found: found[0])
        reader.fail(node, key, message)


def _unknown_key(name: str, key: str, section: str) -> str | None:
    """Why ``name`` is not a key of the mapping at ``key`` (of kind ``section``), or None if it is."""
    known = SECTION_KEYS[section]
    if name in known:
        return None
    where = f"in {key}" if key else "at the top level"
    hint = _suggest(name, known)
    if not hint:
        homes = [s for s, keys in SECTION_KEYS.items() if name in keys and "[" not in s and s != section]
        hint = (f"; {name} belongs {'at the top level' if homes[0] == '' else 'in ' + homes[0]}"
                if homes else f"; the keys here are: {', '.join(known)}")
    return f"unknown key {name!r} {where}{hint}"


def _check_key_names(reader: _Reader, root: MappingNode) -> None:
    """Reject the first unknown key in the file, in any section, before any value is read: a
    misspelt key explains the errors it would cause later (``site: {cable_ur: ...}`` would
    otherwise surface as a cable seed without site.cable_url)."""
    found: list[tuple[int, Node, str, str]] = []

    def visit(node: Node, key: str, section: str) -> None:
        if not isinstance(node, MappingNode):
            return  # a wrong type is reported when the value is read
        for name, (key_node, value_node) in reader.fields(node, key).items():
            problem = _unknown_key(name, key, section)
            if problem is not None:
                found.append((_line(key_node) or 0, key_node, _join(key, name), problem))
            elif _join(section, name) in SECTION_KEYS:
                visit(value_node, _join(key, name), _join(section, name))
            elif section == "" and name == "seeds" and isinstance(value_node, SequenceNode):
                for i, item in enumerate(value_node.value):
                    visit(item, f"seeds[{i}]", "seeds[]")

    visit(root, "", "")
    if found:
        _, node, key, message = min(found, key=lambda problem: problem[0])
        reader.fail(node, key, message)


def _describe(value: object) -> str:
    if value is None:
        return "no value (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"the whole number {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value}"
    return f"a value of type {type(value).__name__}"


def _describe_node(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a single value"


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _control_characters(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


class _Reader:
    """Typed values out of YAML nodes; every failure is a ManifestError naming file, line and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base_dir = path.absolute().parent
        self._constructor = SafeConstructor()

    def fail(self, node: Node | None, key: str, message: str) -> NoReturn:
        raise ManifestError(self.path, _line(node) if node is not None else None, key, message)

    def construct(self, node: Node, key: str) -> object:
        """The Python value of ``node`` as ``yaml.safe_load`` would make it."""
        try:
            value: object = self._constructor.construct_document(node)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            line = mark.line + 1 if mark is not None else _line(node)
            hint = ("a manifest holds plain YAML values only, remove the tag" if error.problem and
                    "for the tag" in error.problem else "write it as plain text, lists and mappings")
            raise ManifestError(self.path, line, key, f"cannot read this value: {error.problem}; {hint}") from None
        except RecursionError:
            self.fail(node, key, "nested too deeply")
        # The safe constructors raise these for a value that does not fit its explicit tag
        # ("!!int abc", "!!bool maybe", "!!timestamp soon").
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            tag = node.tag.rsplit(":", 1)[-1]
            self.fail(node, key, f"cannot read {node.value!r} as {tag}; fix the value or drop the tag")
        return value

    def value(self, node: Node, key: str, expected: str) -> object:
        if not isinstance(node, ScalarNode):
            self.fail(node, key, f"expected {expected}, got {_describe_node(node)}")
        value = self.construct(node, key)
        if value is None:
            self.fail(node, key, f"has no value; give {expected}, or remove the key to use the default")
        return value

    # Mappings ------------------------------------------------------------------------------------

    def fields(self, node: Node, key: str) -> dict[str, tuple[Node, Node]]:
        """A mapping's entries by name: (key node, value node). Keys must be plain text."""
        if not isinstance(node, MappingNode):
            self.fail(node, key, f"expected a mapping (keys indented under {key or 'the top'}), "
                      f"got {_describe_node(node)}")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self.fail(key_node, _join(key, "<<"), "YAML merge keys (<<) are not supported in a "
                          "manifest; write the keys out")
            written = key_node.value if isinstance(key_node, ScalarNode) else "?"
            name = self.value(key_node, _join(key, written), "a key")
            if not isinstance(name, str):
                self.fail(key_node, _join(key, written), f"keys must be text, got {_describe(name)}; "
                          "no such key is known here")
            entries[name] = (key_node, value_node)
        return entries

    def check_keys(self, node: Node, key: str, entries: dict[str, tuple[Node, Node]],
                   section: str | None = None, required: Sequence[str] = ()) -> _Section:
        for name, (key_node, _) in entries.items():
            problem = _unknown_key(name, key, key if section is None else section)
            if problem is not None:
                self.fail(key_node, _join(key, name), problem)
        for name in required:
            if name not in entries:
                self.fail(node, _join(key, name), f"required key {name!r} is missing; add it "
                          "(see manifests/example.yaml)")
        return _Section(self, key, {name: value for name, (_, value) in entries.items()})

    def section(self, node: Node | None, key: str, section: str | None = None) -> _Section:
        """A mapping of known keys; absent or empty means every key takes its default."""
        if node is None or _is_null(node):
            return _Section(self, key, {})
        return self.check_keys(node, key, self.fields(node, key), section)

    # Scalars -------------------------------------------------------------------------------------

    def text(self, node: Node, key: str) -> str:
        value = self.value(node, key, "text")
        if not isinstance(value, str):
            hint = f"; quote it if you mean the text: \"{node.value}\""
            self.fail(node, key, f"expected text, got {_describe(value)}{hint}")
        if _control_characters(value, allowed="\n\t"):
            self.fail(node, key, "contains control characters; remove them")
        return value

    def line_of_text(self, node: Node, key: str) -> str:
        """Text on one line (it goes into a one-line field such as a bag-info.txt value)."""
        value = self.text(node, key)
        if _control_characters(value):
            self.fail(node, key, "must be one line of text without tabs; it goes into a one-line field")
        return value

    def non_empty_line(self, node: Node, key: str) -> str:
        value = self.line_of_text(node, key)
        if not value.strip():
            self.fail(node, key, "must not be empty; give a value, or remove the key to use the default")
        return value

    def integer(self, node: Node, key: str, low: int, high: int | None = None) -> int:
        value = self.value(node, key, "a whole number")
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                hint = "; write it without quotes"
            elif isinstance(value, float) and value.is_integer():
                hint = f"; write {int(value)}"
            self.fail(node, key, f"expected a whole number, got {_describe(value)}{hint}")
        if value < low or (high is not None and value > high):
            allowed = f"from {low} to {high}" if high is not None else f"{low} or more"
            self.fail(node, key, f"must be {allowed}, got {value}")
        return value

    def number(self, node: Node, key: str, low: float, *, strict: bool = False) -> float:
        """A finite number >= low (> low when ``strict``), such as seconds."""
        value = self.value(node, key, "a number")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = "; write it without quotes" if isinstance(value, str) and _is_number(value) else ""
            self.fail(node, key, f"expected a number, got {_describe(value)}{hint}")
        if not math.isfinite(value):
            self.fail(node, key, f"must be a finite number, got {value}")
        if value < low or (strict and value == low):
            self.fail(node, key, f"must be {'more than' if strict else 'at least'} {low:g}, got {value:g}")
        return float(value)

    def boolean(self, node: Node, key: str) -> bool:
        value = self.value(node, key, "true or false")
        if not isinstance(value, bool):
            hint = "; write it without quotes" if isinstance(value, str) and value.lower() in (
                "true", "false", "yes", "no", "on", "off") else ""
            self.fail(node, key, f"expected true or false, got {_describe(value)}{hint}")
        return value

    def choice(self, node: Node, key: str, choices: Sequence[str]) -> str:
        value = self.value(node, key, f"one of {', '.join(choices)}")
        if not isinstance(value, str) or value not in choices:
            hint = _suggest(value, choices) if isinstance(value, str) else ""
            self.fail(node, key, f"expected one of {', '.join(choices)}, got {_describe(value)}{hint}")
        return value

    def size(self, node: Node, key: str) -> int:
        """A size in bytes, more than 0: a whole number of bytes or text such as "100MB"."""
        value = self.value(node, key, "a size such as 100MB")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(node, key, f"expected a size such as 100MB or 1.5GiB, or a whole number of bytes, "
                      f"got {_describe(value)}")
        if isinstance(value, str):
            try:
                value = parse_size(value)
            except ValueError as error:
                self.fail(node, key, str(error))
        if value <= 0:
            self.fail(node, key, f"must be more than 0 bytes, got {value}")
        return value

    # Lists and raw data --------------------------------------------------------------------------

    def items(self, node: Node, key: str) -> list[tuple[Node, str]]:
        """A list's items with their key paths; an empty value is an empty list."""
        if _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.fail(node, key, f"expected a list ('- item' lines or [a, b]), got {_describe_node(node)}")
        return [(item, f"{key}[{i}]") for i, item in enumerate(node.value)]

    def host_list(self, node: Node, key: str) -> tuple[str, ...]:
        return tuple(_check_host(self, item, item_key) for item, item_key in self.items(node, key))

    def pattern_list(self, node: Node, key: str) -> tuple[re.Pattern[str], ...]:
        patterns = []
        for item, item_key in self.items(node, key):
            regex = self.text(item, item_key)
            try:
                patterns.append(re.compile(regex))
            except re.error as error:
                self.fail(item, item_key, f"not a valid regular expression: {error}; fix it, or put "
                          "a backslash before a character meant literally (\\. for a dot)")
        return tuple(patterns)

    def raw_mapping(self, node: Node, key: str) -> dict[str, object]:
        """A mapping kept as plain data (validated elsewhere); its top-level keys must be text."""
        if not isinstance(node, MappingNode):
            self.fail(node, key, f"expected a mapping, got {_describe_node(node)}")
        for key_node, _ in node.value:
            if key_node.tag != _MERGE_TAG:
                written = key_node.value if isinstance(key_node, ScalarNode) else "?"
                name = self.construct(key_node, key) if isinstance(key_node, ScalarNode) else None
                if not isinstance(name, str):
                    self.fail(key_node, _join(key, written), f"keys here must be text, got "
                              f"{_describe(name) if written != '?' else 'a list or mapping'}")
        value = self.construct(node, key)
        assert isinstance(value, dict)  # a MappingNode always constructs to a dict
        return value

    def raw_list(self, node: Node, key: str) -> tuple[Mapping[str, object], ...]:
        """A list of mappings kept as plain data (reserved sections such as schedule)."""
        return tuple(self.raw_mapping(item, item_key) for item, item_key in self.items(node, key))


@dataclass(frozen=True)
class _Section:
    """A checked mapping: known keys only. ``get`` reads a key with its default."""

    reader: _Reader
    key: str
    values: Mapping[str, Node]

    def node(self, name: str) -> Node | None:
        return self.values.get(name)

    def key_of(self, name: str) -> str:
        return _join(self.key, name)

    def get(self, name: str, default: _T, read: Callable[[Node, str], _T]) -> _T:
        node = self.values.get(name)
        return default if node is None else read(node, self.key_of(name))

    def section(self, name: str) -> _Section:
        return self.reader.section(self.values.get(name), self.key_of(name))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Sections


def _read_collection(reader: _Reader, root: _Section) -> str:
    node = root.values["collection"]  # required: check_keys made sure it is there
    name = reader.text(node, "collection")
    if not COLLECTION_RE.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].rstrip("-")
        hint = f"; e.g. {suggestion!r}" if suggestion else ""
        reader.fail(node, "collection", f"{name!r} cannot name a bag: use 1 to 64 lower-case letters, "
                    f"digits and hyphens, starting with a letter or digit{hint}")
    return name


def _read_organization(section: _Section) -> Organization:
    one_line = section.reader.line_of_text
    contact = section.section("contact")
    return Organization(
        name=section.get("name", "", one_line),
        address=section.get("address", "", section.reader.text),
        contact=Contact(name=contact.get("name", "", one_line), email=contact.get("email", "", one_line)),
    )


def _read_site(reader: _Reader, section: _Section) -> Site:
    default = Site()
    profile_node = section.node("profile")
    profile: str | Mapping[str, object] = default.profile
    if profile_node is not None:
        key = section.key_of("profile")
        if isinstance(profile_node, MappingNode):
            profile = reader.raw_mapping(profile_node, key)
            try:
                profile_from_mapping(profile, key)
            except ValueError as error:
                reason = str(error).removeprefix(f"{key}: ")
                reader.fail(profile_node, key, f"{reason}; see the site profiles section of the README")
        else:
            profile = reader.choice(profile_node, key, PROFILES)
    return Site(
        cable_url=section.get("cable_url", None, _template_reader(reader, ("id",), required="id")),
        original_url=section.get("original_url", None, _template_reader(reader, ("id", "created"))),
        profile=profile,
        profile_line=_line(profile_node) if profile_node is not None else None,
    )


_SAMPLE_FIELDS: Mapping[str, object] = {
    "id": "05ALMATY2503", "created": datetime.datetime(2005, 7, 6, 12, 8)}


def _template_reader(reader: _Reader, fields: Sequence[str],
                     required: str | None = None) -> Callable[[Node, str], str | None]:
    """Reads a URL template with ``{field}`` placeholders; null means not set."""

    def read(node: Node, key: str) -> str | None:
        if _is_null(node):
            return None
        template = reader.line_of_text(node, key)
        placeholders = ", ".join("{" + name + "}" for name in fields)
        try:
            used = set()
            for _, name, spec, conversion in string.Formatter().parse(template):
                if name is None:
                    continue
                if name not in fields:
                    reader.fail(node, key, f"unknown placeholder {{{name}}}; use {placeholders}")
                if conversion or (spec and name != "created"):
                    reader.fail(node, key, f"write {{{name}}} plainly; only {{created}} takes a format, "
                                "e.g. {created:%Y}")
                used.add(name)
            if required is not None and required not in used:
                reader.fail(node, key, f"must contain {{{required}}}, where the cable ID goes, e.g. "
                            "http://127.0.0.1:8000/cable/{id}")
            sample = template.format(**{name: _SAMPLE_FIELDS[name] for name in fields})
        except (ValueError, IndexError) as error:
            reader.fail(node, key, f"not a valid URL template ({error}); use {placeholders}, "
                        "and write a literal brace as {{ or }}")
        try:
            _check_http_url(sample)
        except ValueError as error:
            reader.fail(node, key, str(error))
        return template

    return read


def _read_seeds(reader: _Reader, root: _Section, site: Site) -> Seeds:
    node = root.values["seeds"]  # required: check_keys made sure it is there
    items = reader.items(node, "seeds")
    if not items:
        reader.fail(node, "seeds", "the seed list is empty; add at least one seed, "
                    "e.g. '- cable: 05ALMATY2503', '- url: https://...' or '- file: lists/cables.txt'")
    entries: list[Seed | SeedFile] = []
    count = 0
    for item, key in items:
        entry, found = _read_seed(reader, item, key, site)
        entries.append(entry)
        count += found
    return Seeds(entries, count)


def _read_seed(reader: _Reader, node: Node, key: str, site: Site) -> tuple[Seed | SeedFile, int]:
    origin = f"{reader.path.name}:{_line(node)}"
    if isinstance(node, ScalarNode) and not _is_null(node):
        text = reader.text(node, key)
        try:
            return _make_seed(*_classify_seed(text), site, origin), 1
        except ValueError as error:
            reader.fail(node, key, str(error))
    if not isinstance(node, MappingNode):
        got = "nothing" if _is_null(node) else _describe_node(node)
        reader.fail(node, key, f"a seed is a cable ID, a URL, or a mapping with one of cable, url or "
                    f"file; got {got}")
    entries = reader.fields(node, key)
    section = reader.check_keys(node, key, entries, section="seeds[]")
    if len(entries) != 1:
        written = " and ".join(entries) or "none"
        reader.fail(node, key, f"a seed has exactly one of cable, url or file, this one has {written}; "
                    "put each on its own '- ' line")
    (kind, value_node), = section.values.items()
    value_key = section.key_of(kind)
    text = reader.text(value_node, value_key)
    if kind == "file":
        return _read_seed_file(reader, value_node, value_key, text, site)
    try:
        if kind == "cable":
            return _make_seed("cable", _parse_cable_id(text), site, origin), 1
        return _make_seed("url", _check_http_url(text), site, origin), 1
    except ValueError as error:
        reader.fail(value_node, value_key, str(error))


class _SeedLineError(ValueError):
    """A line of a seed list that is not a seed; the message starts with ``<list>:<line>:``."""


def _iter_seed_file(list_path: Path, written: str, site: Site) -> Iterator[tuple[int, Seed]]:
    """(line number, seed) of a seed list, read line by line; blank lines and '#' comments skipped.
    Raises _SeedLineError for a bad line, UnicodeDecodeError (``number`` is its line) or OSError."""
    with list_path.open("rb") as lines:  # bytes, decoded line by line, so a bad byte has a line
        for number, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                error.reason = f"{written}:{number}: {error.reason}"
                raise
            text = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
            if not text:
                continue
            try:
                yield number, _make_seed(*_classify_seed(text), site, f"{written}:{number}")
            except ValueError as error:
                raise _SeedLineError(f"{written}:{number}: {error}") from None


def _read_seed_file(reader: _Reader, node: Node, key: str, written: str, site: Site) -> tuple[SeedFile, int]:
    """A seed list, checked line by line and counted; its seeds are read again when iterated."""
    if not written.strip():
        reader.fail(node, key, "give the path of a seed list, relative to the manifest's directory")
    list_path = reader.base_dir / written
    count = 0
    try:
        for _ in _iter_seed_file(list_path, written, site):
            count += 1
    except _SeedLineError as error:
        reader.fail(node, key, str(error))
    except FileNotFoundError:
        reader.fail(node, key, f"seed list {written} not found (looked for {list_path}); create it "
                    "or fix the path, which is relative to the manifest's directory")
    except UnicodeDecodeError as error:
        where = error.reason.split(": ", 1)[0]
        reader.fail(node, key, f"{where}: the seed list is not UTF-8 text; save it as UTF-8")
    except OSError as error:
        reader.fail(node, key, f"cannot read seed list {list_path}: {error.strerror}")
    if not count:
        reader.fail(node, key, f"seed list {written} has no seeds, only blank lines or comments; "
                    "add one cable ID or URL a line, or remove this seed")
    return SeedFile(list_path.absolute(), written, site, reader.path.absolute(), key, _line(node)), count


_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# white space (str.isspace) or a control character (Unicode category Cc: C0, DEL, C1)
_SPACE_OR_CONTROL_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _classify_seed(text: str) -> tuple[SeedKind, str]:
    """A seed written without its kind: a URL when it starts with a scheme, else a cable ID."""
    if _SCHEME_RE.match(text):
        return "url", _check_http_url(text)
    cable_id = normalise_cable_id(text)
    if cable_id is None or not is_cable_id(cable_id):
        raise ValueError(f"{text!r} is neither an http(s) URL nor a cable ID (like 05ALMATY2503); "
                         "write URLs in full with http:// or https://")
    return "cable", cable_id


def _parse_cable_id(text: str) -> str:
    cable_id = normalise_cable_id(text)
    if cable_id is None or not is_cable_id(cable_id):
        hint = "; for a URL write 'url:' instead" if _SCHEME_RE.match(text) else ""
        raise ValueError(f"{text!r} is not a cable ID: two-digit year, origin and serial number, "
                         f"e.g. 05ALMATY2503 or '05 Almaty 2503'{hint}")
    return cable_id


def _check_http_url(text: str) -> str:
    """``text`` when it is an absolute http(s) URL with a host, else ValueError saying why."""
    if _SPACE_OR_CONTROL_RE.search(text):
        raise ValueError(f"{text!r} contains spaces or control characters; percent-encode them (%20)")
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as error:
        raise ValueError(f"{text!r} is not a valid URL: {error}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise ValueError(f"{text!r} has {scheme}; cablekeep crawls http:// and https:// URLs only")
    if not parts.hostname or not port_ok:
        raise ValueError(f"{text!r} has no valid host; write it as http://host/path")
    return text


def _make_seed(kind: SeedKind, value: str, site: Site, origin: str) -> Seed:
    if kind == "url":
        return Seed("url", value, value, origin)
    if site.cable_url is None:
        raise ValueError(f"cable seed {value} needs site.cable_url to make its URL; add "
                         "site: {cable_url: 'http://host/cable/{id}'} or give the seed as url:")
    return Seed("cable", value, site.cable_page_url(value), origin)


def _check_host(reader: _Reader, node: Node, key: str) -> str:
    host = reader.text(node, key).strip().lower()
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass  # not an IP address; check it as a host name
    try:
        host = host.encode("idna").decode("ascii")  # münchen.de -> xn--mnchen-3ya.de
    except UnicodeError:
        pass  # not a valid international name; the pattern below says so
    if not re.fullmatch(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?", host):
        reader.fail(node, key, f"{host!r} is not a host name or IP address; write just the host, "
                    "e.g. example.org or 127.0.0.2, without scheme, port or path")
    return host.rstrip(".")


def _read_follow(section: _Section) -> Follow:
    reader, default = section.reader, Follow()
    return Follow(
        references=section.get("references", default.references, reader.boolean),
        sources=section.get("sources", default.sources, reader.boolean),
        requisites=section.get("requisites", default.requisites, reader.boolean),
        depth=section.get("depth", default.depth, lambda n, k: reader.integer(n, k, low=0)),
        include=section.get("include", default.include, reader.pattern_list),
        exclude=section.get("exclude", default.exclude, reader.pattern_list),
        hosts=section.get("hosts", default.hosts, reader.host_list),
    )


def _read_fetch(section: _Section) -> FetchOptions:
    reader, default = section.reader, FetchOptions()
    default_robots: str = default.robots
    robots = section.get("robots", default_robots, lambda n, k: reader.choice(n, k, ("obey", "ignore")))
    return FetchOptions(
        user_agent=section.get("user_agent", default.user_agent, reader.non_empty_line),
        concurrency=section.get("concurrency", default.concurrency,
                                lambda n, k: reader.integer(n, k, low=1, high=256)),
        processes=section.get("processes", default.processes, lambda n, k: reader.integer(n, k, low=1, high=64)),
        threads=section.get("threads", default.threads, lambda n, k: reader.integer(n, k, low=1, high=256)),
        per_host_concurrency=section.get("per_host_concurrency", default.per_host_concurrency,
                                         lambda n, k: reader.integer(n, k, low=1, high=256)),
        per_host_delay=section.get("per_host_delay", default.per_host_delay,
                                   lambda n, k: reader.number(n, k, low=0)),
        timeout=section.get("timeout", default.timeout, lambda n, k: reader.number(n, k, low=0, strict=True)),
        max_bytes=section.get("max_bytes", default.max_bytes, reader.size),
        retries=section.get("retries", default.retries, lambda n, k: reader.integer(n, k, low=0, high=20)),
        robots="ignore" if robots == "ignore" else "obey",
        allow_private=section.get("allow_private", default.allow_private, reader.boolean),
        allow_hosts=section.get("allow_hosts", default.allow_hosts, reader.host_list),
    )


def _read_warc(section: _Section) -> WarcOptions:
    reader, default = section.reader, WarcOptions()
    default_dedup: str = default.dedup
    dedup = section.get("dedup", default_dedup, lambda n, k: reader.choice(n, k, ("none", "collection")))
    return WarcOptions(
        max_size=section.get("max_size", default.max_size, reader.size),
        dedup="collection" if dedup == "collection" else "none",
    )


def _read_bag(reader: _Reader, section: _Section) -> BagOptions:
    default = BagOptions(output=Path("bags"))
    output = section.get("output", "bags", reader.non_empty_line)
    return BagOptions(
        output=reader.base_dir / output,
        algorithms=section.get("algorithms", default.algorithms, _read_algorithms(reader)),
        info=section.get("info", default.info, _read_bag_info(reader)),
    )


def _read_algorithms(reader: _Reader) -> Callable[[Node, str], tuple[str, ...]]:
    def read(node: Node, key: str) -> tuple[str, ...]:
        items = reader.items(node, key)
        if not items:
            reader.fail(node, key, f"list at least one checksum algorithm: {', '.join(WRITABLE_ALGORITHMS)}")
        names: list[str] = []
        for item, item_key in items:
            name = reader.choice(item, item_key, WRITABLE_ALGORITHMS)
            if name in names:
                reader.fail(item, item_key, f"{name} is listed twice (items {names.index(name)} and "
                            f"{len(names)}); list each algorithm once")
            names.append(name)
        return tuple(names)

    return read


def _read_bag_info(reader: _Reader) -> Callable[[Node, str], Mapping[str, tuple[str, ...]]]:
    def read(node: Node, key: str) -> Mapping[str, tuple[str, ...]]:
        if _is_null(node):
            return {}
        info: dict[str, tuple[str, ...]] = {}
        for label, (label_node, value_node) in reader.fields(node, key).items():
            label_key = _join(key, label)
            if (not label or ":" in label or label != label.strip() or _control_characters(label)):
                reader.fail(label_node, label_key, f"{label!r} is not a bag-info.txt label: labels "
                            "are one line, without colons or leading or trailing spaces")
            if label.lower() in (computed.lower() for computed in COMPUTED_BAG_INFO):
                reader.fail(label_node, label_key, f"{label} is computed when the bag is made; remove it")
            if isinstance(value_node, SequenceNode):
                items = reader.items(value_node, label_key)
                if not items:
                    reader.fail(value_node, label_key, "give at least one value, or remove the label")
                info[label] = tuple(reader.text(item, item_key) for item, item_key in items)
            else:
                info[label] = (reader.text(value_node, label_key),)
        return info

    return read
