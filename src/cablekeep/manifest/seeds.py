"""Seeds: where a crawl starts. A seed is a cable ID or an http(s) URL, written in the manifest or in a
seed list (``- file: lists/x.txt``, one a line, '#' comments). A seed list is checked and counted when
the manifest is loaded and read again, line by line, each time the seeds are listed, so a list of
100,000 URLs is never held in memory. Each wrong seed in the manifest is its own problem."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..cables.cableid import ORIGIN_ALIASES, is_cable_id, normalise_cable_id
from ..errors import ManifestError
from .keys import Section, check_keys
from .model import CaptureMode, Seed, SeedFile, SeedKind, Site
from .sections import read_capture_mode
from .reader import Node, PlainSeed, Skip, describe_node, is_mapping, is_null, is_scalar, is_sequence, line_of
from .values import ValueReader, control_characters

# a canonical cable ID (see cables.cableid), ASCII only: two-digit year, origin, serial without leading zeros
_CANONICAL_ID_RE = re.compile(r"[0-9]{2}([A-Z]+)[1-9][0-9]*")
_COMMENT_RE = re.compile(r"(?:^|\s)#")  # a comment starts a line or follows white space
# The longest line of a seed list, with its line break; a URL is rarely over 2,000 bytes.
MAX_SEED_LINE = 64 * 1024
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# white space (str.isspace) or a control character (Unicode category Cc: C0, DEL, C1)
# the authority of a URL with a scheme: [user@]host[:port]
_AUTHORITY_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
_SPACE_OR_CONTROL_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# Stands in for a site.cable_url found wrong (and reported), so cable seeds are not also reported for it.
_STAND_IN_CABLE_URL = "http://cable-url.invalid/{id}"


class Seeds:
    """A manifest's seeds in order. Seed lists stay on disk and are read line by line each time
    the seeds are iterated (the crawl streams them into its state once). Compares equal to a tuple
    of the same :class:`Seed` objects."""

    def __init__(self, entries: Sequence[Seed | SeedFile], count: int) -> None:
        self.entries = tuple(entries)
        self.count = count

    def __iter__(self) -> Iterator[Seed]:
        for entry in self.entries:
            if isinstance(entry, Seed):
                yield entry
                continue
            try:
                for _, seed in iter_seed_file(entry.path, entry.written, entry.site):
                    yield seed if entry.capture is None else dataclasses.replace(seed, capture=entry.capture)
            except (OSError, UnicodeDecodeError, SeedLineError) as error:
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


# --------------------------------------------------------------------------------------------------
# A seed from its text


class SeedLineError(ValueError):
    """A line of a seed list that is not a seed; the message starts with ``<list>:<line>:``."""


def _is_canonical(text: str) -> bool:
    """Whether ``text`` is a cable ID already written as normalise_cable_id writes it (the usual case,
    told by one regular expression)."""
    match = _CANONICAL_ID_RE.fullmatch(text)
    return match is not None and match.group(1) not in ORIGIN_ALIASES


def classify_seed(text: str) -> tuple[SeedKind, str]:
    """A seed written without its kind: a URL when it starts with a scheme, else a cable ID."""
    if _is_canonical(text):
        return "cable", text
    if _SCHEME_RE.match(text):
        return "url", check_http_url(text)
    cable_id = normalise_cable_id(text)
    if cable_id is None or not is_cable_id(cable_id):
        raise ValueError(f"{text!r} is neither an http(s) URL nor a cable ID (like 05ALMATY2503); "
                         "write URLs in full with http:// or https://")
    return "cable", cable_id


def parse_cable_id(text: str) -> str:
    if _is_canonical(text):
        return text
    cable_id = normalise_cable_id(text)
    if cable_id is None or not is_cable_id(cable_id):
        hint = "; for a URL write 'url:' instead" if _SCHEME_RE.match(text) else ""
        raise ValueError(f"{text!r} is not a cable ID: two-digit year, origin and serial number, "
                         f"e.g. 05ALMATY2503 or '05 Almaty 2503'{hint}")
    return cable_id


def check_http_url(text: str) -> str:
    """``text`` when it is an absolute http(s) URL with a host, else ValueError saying why."""
    if _SPACE_OR_CONTROL_RE.search(text):
        raise ValueError(f"{text!r} contains spaces or control characters; percent-encode them (%20)")
    authority = _AUTHORITY_RE.match(text)
    if authority is not None:
        _check_host_and_port(text, authority.group(1).rpartition("@")[2])
    try:
        parts = urlsplit(text)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a valid URL: {error}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise ValueError(f"{text!r} has {scheme}; cablekeep crawls http:// and https:// URLs only")
    if not parts.hostname:
        raise ValueError(f"{text!r} has no valid host; write it as http://host/path")
    return text


def _check_host_and_port(text: str, host_port: str) -> None:
    """A host (a name, an IPv4 address or an IPv6 literal in brackets) and an optional port from 1 to
    65535, as the crawl can fetch them; else ValueError naming what is wrong."""
    if host_port.startswith("["):
        literal, bracket, rest = host_port[1:].partition("]")
        if not bracket:
            raise ValueError(f"{text!r} has a malformed IPv6 literal: '[' without its ']'; write it as "
                             "http://[2001:db8::1]:8080/")
        try:
            address = ipaddress.IPv6Address(literal)
        except ValueError:
            address = None
        if address is None or address.scope_id is not None:
            why = "a zone (%) is local to one machine" if "%" in literal else "not an IPv6 address"
            raise ValueError(f"{text!r} has a malformed IPv6 literal [{literal}] ({why}); write an IPv6 "
                             "address in brackets, e.g. http://[2001:db8::1]:8080/")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r} has {rest!r} after its IPv6 literal; only ':port' may follow the ']'")
        port = rest[1:]
    else:
        if "[" in host_port or "]" in host_port:
            raise ValueError(f"{text!r} has a malformed IPv6 literal: ']' without its '['; write it as "
                             "http://[2001:db8::1]:8080/")
        if host_port.count(":") > 1:
            raise ValueError(f"{text!r} has an IPv6 address without brackets; write it in brackets, e.g. "
                             "http://[2001:db8::1]:8080/")
        port = host_port.partition(":")[2]
    if port and not (port.isascii() and port.isdigit()):
        raise ValueError(f"{text!r} has an invalid port {port!r}: a port is a number from 1 to 65535")
    if port and not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} has an invalid port {int(port)}: a port is a number from 1 to 65535")


def make_seed(kind: SeedKind, value: str, site: Site, origin: str) -> Seed:
    if kind == "url":
        return Seed("url", value, value, origin)
    if site.cable_url is None:
        raise ValueError(f"cable seed {value} needs site.cable_url to make its URL; add "
                         "site: {cable_url: 'http://host/cable/{id}'} or give the seed as url:")
    return Seed("cable", value, site.cable_page_url(value), origin)


def iter_seed_file(list_path: Path, written: str, site: Site) -> Iterator[tuple[int, Seed]]:
    """(line number, seed) of a seed list, read line by line; blank lines and '#' comments skipped.
    Raises SeedLineError for a bad line (one longer than MAX_SEED_LINE bytes too: never read whole),
    UnicodeDecodeError (``number`` is its line) or OSError."""
    with list_path.open("rb") as lines:  # bytes, decoded line by line, so a bad byte has a line
        for number, raw in enumerate(iter(lambda: lines.readline(MAX_SEED_LINE + 1), b""), start=1):
            if len(raw) > MAX_SEED_LINE:
                raise SeedLineError(f"{written}:{number}: the line is longer than {MAX_SEED_LINE:,} bytes; "
                                    "a seed list holds one cable ID or URL a line")
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                error.reason = f"{written}:{number}: {error.reason}"
                raise
            text = _COMMENT_RE.split(line, maxsplit=1)[0].strip()
            if not text:
                continue
            try:
                yield number, make_seed(*classify_seed(text), site, f"{written}:{number}")
            except ValueError as error:
                raise SeedLineError(f"{written}:{number}: {error}") from None


# --------------------------------------------------------------------------------------------------
# The seeds section of a manifest


def read_seeds(reader: ValueReader, root: Section, site: Site) -> Seeds:
    """Every seed of the manifest; each wrong seed is reported and left out."""
    node = root.node("seeds")
    if node is None:
        return Seeds((), 0)  # required: its absence is reported with the other keys
    if reader.failed("site.cable_url"):
        site = dataclasses.replace(site, cable_url=_STAND_IN_CABLE_URL)
    items: Iterator[tuple[Node | PlainSeed, str]] = reader.attempt(lambda: reader.entries(node, "seeds"), iter(()))
    entries: list[Seed | SeedFile] = []
    count = 0
    name = reader.path.name
    for item, key in items:
        try:
            entry, found = (_read_plain_seed(reader, item, key, site, name) if isinstance(item, PlainSeed)
                            else _read_seed(reader, item, key, site))
        except Skip:
            continue
        entries.append(entry)
        count += found
    if not entries and not reader.failed("seeds") and not (is_sequence(node) and len(node.value)):
        reader.report(node, "seeds", "the seed list is empty; add at least one seed, e.g. "
                      "'- cable: 05ALMATY2503', '- url: https://...' or '- file: lists/cables.txt'")
    return Seeds(entries, count)


def _read_plain_seed(reader: ValueReader, plain: PlainSeed, key: str, site: Site, name: str) -> tuple[Seed, int]:
    """A seed written plainly, read as :func:`_read_seed` reads its nodes, without them."""
    value_key = key if plain.kind is None else f"{key}.{plain.kind}"
    if control_characters(plain.text, allowed="\n\t"):
        reader.report_line(plain.value_line, value_key, "contains control characters; remove them")
        raise Skip
    try:
        return _seed_of(plain.kind, plain.text, site, f"{name}:{plain.line}"), 1
    except ValueError as error:
        reader.report_line(plain.value_line, value_key, str(error))
        raise Skip from None


def _seed_of(kind: str | None, text: str, site: Site, origin: str) -> Seed:
    """The seed written ``text`` under ``kind`` (None: written alone), or ValueError saying why not."""
    if kind is None:
        return make_seed(*classify_seed(text), site, origin)
    if kind == "cable":
        return make_seed("cable", parse_cable_id(text), site, origin)
    return make_seed("url", check_http_url(text), site, origin)


def _read_seed(reader: ValueReader, node: Node, key: str, site: Site) -> tuple[Seed | SeedFile, int]:
    origin = f"{reader.path.name}:{line_of(node)}"
    if is_scalar(node) and not is_null(node):
        text = reader.text(node, key)
        try:
            return _seed_of(None, text, site, origin), 1
        except ValueError as error:
            reader.fail(node, key, str(error))
    if not is_mapping(node):
        got = "nothing" if is_null(node) else describe_node(node)
        reader.fail(node, key, f"a seed is a cable ID, a URL, or a mapping with one of cable, url or "
                    f"file; got {got}")
    entries = reader.fields(node, key)
    section = check_keys(reader, node, key, entries, section="seeds[]")
    capture: CaptureMode | None = section.get("capture", None, lambda n, k: read_capture_mode(reader, n, k))
    seed_keys = [name for name in entries if name != "capture"]
    if len(seed_keys) != 1:
        written = " and ".join(seed_keys) or "none"
        reader.fail(node, key, f"a seed has exactly one of cable, url or file, this one has {written}; "
                    "put each on its own '- ' line")
    values = {name: value for name, value in section.values.items() if name != "capture"}
    if len(values) != 1 or ("capture" in entries and reader.failed(section.key_of("capture"))):
        raise Skip  # its one key is unknown, or its capture wrong, and reported as such
    (kind, value_node), = values.items()
    value_key = section.key_of(kind)
    text = reader.text(value_node, value_key)
    if kind == "file":
        seed_file, count = _read_seed_file(reader, value_node, value_key, text, site)
        return (seed_file if capture is None else dataclasses.replace(seed_file, capture=capture)), count
    try:
        seed = _seed_of(kind, text, site, origin)
    except ValueError as error:
        reader.fail(value_node, value_key, str(error))
    return (seed if capture is None else dataclasses.replace(seed, capture=capture)), 1


def _read_seed_file(reader: ValueReader, node: Node, key: str, written: str, site: Site) -> tuple[SeedFile, int]:
    """A seed list, checked line by line and counted; its seeds are read again when iterated."""
    if not written.strip():
        reader.fail(node, key, "give the path of a seed list, relative to the manifest's directory")
    list_path = reader.base_dir / written
    count = 0
    try:
        for _ in iter_seed_file(list_path, written, site):
            count += 1
    except SeedLineError as error:
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
    return SeedFile(list_path.absolute(), written, site, reader.path.absolute(), key, line_of(node)), count
