"""The keys a manifest knows, by section: unknown keys (with the right one suggested), required keys,
and :class:`Section`, a checked mapping whose keys are read one by one with their defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .reader import Node, Skip, is_mapping, is_null, is_sequence, join
from .values import ValueReader, suggest

_T = TypeVar("_T")

# Known keys of each mapping, by section; used to reject unknown keys and to suggest the right one.
SECTION_KEYS: Mapping[str, tuple[str, ...]] = {
    "": ("cablekeep", "collection", "title", "description", "organization", "site", "seeds",
         "follow", "fetch", "warc", "bag", "schedule", "delivery", "notify", "access", "cluster"),
    "organization": ("name", "address", "contact"),
    "organization.contact": ("name", "email"),
    "site": ("cable_url", "original_url", "profile"),
    "seeds[]": ("cable", "url", "file", "capture"),
    "follow": ("references", "sources", "requisites", "depth", "include", "exclude", "hosts", "capture"),
    "follow.capture": ("references", "sources"),
    "fetch": ("user_agent", "concurrency", "processes", "threads", "per_host_concurrency", "per_host_delay", "timeout",
              "max_bytes", "retries", "robots", "allow_private", "allow_hosts",
              "allow_networks"),
    "warc": ("max_size", "dedup"),
    "bag": ("algorithms", "info", "output", "profile", "serialize"),
    "delivery[]": ("name", "kind", "path", "bucket", "prefix", "endpoint_url", "region", "storage_class", "profile"),
    "schedule": ("crawl", "check", "audit", "deliver", "deliver_to", "timezone", "jitter"),
    "notify": ("webhook", "email"),
    "notify.webhook": ("url", "retries", "timeout"),
    "notify.email": ("host", "port", "starttls", "from", "to", "username_env", "password_env", "timeout", "ca_file"),
    "access": ("replay_base",),
}


def unknown_key(name: str, key: str, section: str) -> str | None:
    """Why ``name`` is not a key of the mapping at ``key`` (of kind ``section``), or None if it is."""
    known = SECTION_KEYS[section]
    if name in known:
        return None
    where = f"in {key}" if key else "at the top level"
    hint = suggest(name, known)
    if not hint:
        homes = [s for s, keys in SECTION_KEYS.items() if name in keys and "[" not in s and s != section]
        hint = (f"; {name} belongs {'at the top level' if homes[0] == '' else 'in ' + homes[0]}"
                if homes else f"; the keys here are: {', '.join(known)}")
    return f"unknown key {name!r} {where}{hint}"


def check_key_names(reader: ValueReader, root: Node) -> None:
    """Report every unknown key in the file, in any section, before any value is read: a misspelt
    key explains the problems it causes later (``site: {cable_ur: ...}`` leaves cable seeds without
    site.cable_url), so it is listed before them."""

    def visit(node: Node, key: str, section: str) -> None:
        if not is_mapping(node):
            return  # a wrong type is reported when the value is read
        for name, (key_node, value_node) in reader.fields(node, key).items():
            problem = unknown_key(name, key, section)
            if problem is not None:
                reader.report(key_node, join(key, name), problem)
            elif join(section, name) in SECTION_KEYS:
                visit(value_node, join(key, name), join(section, name))
            elif section == "" and name == "seeds" and is_sequence(value_node):
                for item, item_key in reader.node_items(value_node, "seeds"):  # a plain seed's key is known
                    visit(item, item_key, "seeds[]")

    visit(root, "", "")


@dataclass(frozen=True)
class Section:
    """A checked mapping: known keys only. ``get`` reads a key with its default; a wrong value is
    recorded by the reader and the default stands in for it, so the next key is read too."""

    reader: ValueReader
    key: str
    values: Mapping[str, Node]

    def node(self, name: str) -> Node | None:
        return self.values.get(name)

    def key_of(self, name: str) -> str:
        return join(self.key, name)

    def get(self, name: str, default: _T, read: Callable[[Node, str], _T]) -> _T:
        node = self.values.get(name)
        if node is None:
            return default
        try:
            return read(node, self.key_of(name))
        except Skip:
            return default

    def section(self, name: str) -> Section:
        return read_section(self.reader, self.values.get(name), self.key_of(name))


def check_keys(reader: ValueReader, node: Node, key: str, entries: dict[str, tuple[Node, Node]],
               section: str | None = None, required: Sequence[str] = ()) -> Section:
    """The known keys of a mapping; unknown keys and missing required keys are reported."""
    known: dict[str, Node] = {}
    for name, (key_node, value_node) in entries.items():
        problem = unknown_key(name, key, key if section is None else section)
        if problem is None:
            known[name] = value_node
        else:
            reader.report(key_node, join(key, name), problem)
    for name in required:
        if name not in entries:
            reader.report(node, join(key, name), f"required key {name!r} is missing; add it "
                          "(see manifests/example.yaml)")
    return Section(reader, key, known)


def read_section(reader: ValueReader, node: Node | None, key: str, section: str | None = None) -> Section:
    """A mapping of known keys; absent, empty or not a mapping (reported) means every key takes its default."""
    if node is None or is_null(node):
        return Section(reader, key, {})
    try:
        return check_keys(reader, node, key, reader.fields(node, key), section)
    except Skip:
        return Section(reader, key, {})

