"""The YAML adapter of the manifest: the only module that imports PyYAML.

The text is composed into nodes from the events of PyYAML's safe parser (core schema only, no Python
tags; libyaml's parser when PyYAML has it), so every value keeps its line. The items of the top-level
``seeds`` list are :class:`SeedItems`: a seed written plainly (``- 05ALMATY2503``, ``- url: ...``) is
kept as a small :class:`PlainSeed`, not as nodes and marks (900,000 seeds: 0.5 GB, not 2.2 GB).

A :class:`Reader` turns nodes into plain Python values and collects problems: each problem names the
file, the 1-based line and the dotted key path (``fetch.per_host_delay``, ``seeds[2].file``).
:meth:`Reader.fail` records a problem and abandons the value being read (raising :class:`Skip`);
whoever reads a key catches it, goes on with the next key, and :meth:`Reader.finish` raises one
:class:`~cablekeep.errors.ManifestError` listing every problem.

Problems of the file's shape (a key written twice, an unknown key, a key that is not text) come first,
in file order, because they explain the problems of values they cause (``site: {cable_ur: ...}`` leaves
cable seeds without a URL); problems of values follow, in file order.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast, overload

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from ..errors import ManifestError, ManifestProblem

__all__ = ["Node", "PlainSeed", "Reader", "SeedItems", "Skip", "compose", "describe", "describe_node",
           "is_mapping", "is_null",
           "is_scalar", "is_sequence", "join", "line_of"]

_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_PLAIN_SEED_KEYS = ("cable", "url")  # a file seed is read from its node
_MERGE_TAG = "tag:yaml.org,2002:merge"
_T = TypeVar("_T")
SHAPE, VALUES = 0, 1  # the two kinds of problem, in the order they are listed
# libyaml's parser and composer when PyYAML was built with it (about 20 times faster, the same nodes and
# line marks), else PyYAML's own; both safe: core schema only, no Python tags.
LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Skip(Exception):
    """A value was wrong and its problem recorded: stop reading this value, go on with the next."""


def line_of(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None and node.start_mark is not None else None


def join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def is_mapping(node: Node) -> bool:
    return isinstance(node, MappingNode)


def is_sequence(node: Node) -> bool:
    return isinstance(node, SequenceNode)


def is_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode)


def describe(value: object) -> str:
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


def describe_node(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a single value"


# --------------------------------------------------------------------------------------------------
# Composing: YAML that does not parse is one problem, and nothing else can be read


def compose(text: str, path: Path, version_hint: str) -> Node:
    """The root mapping node of ``text``, or a ManifestError for YAML that does not parse.
    ``version_hint`` is the first line a manifest should have (``cablekeep: 1``). The items of the
    top-level ``seeds`` list are :class:`SeedItems`: a seed written plainly is kept as a
    :class:`PlainSeed`, without its nodes."""
    loader = LOADER(text)
    try:
        node = _Composer(loader).compose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark is not None and (mark is None or mark.index >= len(text.rstrip())):
            mark = error.context_mark  # stopped at the end: point at what was left open instead
        raise ManifestError(path, mark.line + 1 if mark else None,
                            _key_at(text, mark.index if mark else None),
                            _yaml_error_message(error, text)) from None
    except ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise ManifestError(path, line, "", f"not valid YAML: character {error.character!r} is not "
                            "allowed in YAML text; remove it") from None
    except yaml.YAMLError as error:
        raise ManifestError(path, None, "", f"not valid YAML: {error}") from None
    except RecursionError:
        raise ManifestError(path, None, "", "not valid YAML for a manifest: nested too deeply") from None
    finally:
        loader.dispose()
    if node is None:
        raise ManifestError(path, 1, "", f"the manifest is empty; start it with '{version_hint}' "
                            "(see manifests/example.yaml)")
    if not isinstance(node, MappingNode):
        raise ManifestError(path, line_of(node), "", "the manifest must be a mapping of keys to values "
                            f"('{version_hint}', 'collection: ...', 'seeds: ...'), not {describe_node(node)}")
    return node


@dataclass(frozen=True, slots=True)
class PlainSeed:
    """A seed item written plainly, kept without its nodes: a text (``- 05ALMATY2503``, ``kind`` None)
    or a mapping of ``cable`` or ``url`` to a text (``- cable: 05ALMATY2503``), with no anchor, alias
    target or other key. ``line`` is the item's line, ``value_line`` the text's."""

    kind: str | None
    text: str
    line: int
    value_line: int

    def node(self) -> Node:
        """The node this item was composed from (marks hold its lines only)."""
        value_mark = Mark("<manifest>", 0, self.value_line - 1, 0, None, 0)
        value = ScalarNode(_STR_TAG, self.text, value_mark, value_mark)
        if self.kind is None:
            return value
        mark = Mark("<manifest>", 0, self.line - 1, 0, None, 0)
        return MappingNode(_MAP_TAG, [(ScalarNode(_STR_TAG, self.kind, mark, mark), value)], mark, mark)


class SeedItems(Sequence[Node]):
    """The items of the top-level ``seeds`` list: nodes, and :class:`PlainSeed` entries that become
    nodes again when read as a sequence of nodes. A manifest of 900,000 seeds is held in ~100 bytes a
    seed instead of ~1 KB of nodes and marks."""

    def __init__(self) -> None:
        self.entries: list[Node | PlainSeed] = []

    def append(self, node: Node, composed_anchor: bool) -> None:
        plain = None if composed_anchor else _plain_seed(node)
        self.entries.append(node if plain is None else plain)

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> Node: ...

    @overload
    def __getitem__(self, index: slice) -> list[Node]: ...

    def __getitem__(self, index: int | slice) -> Node | list[Node]:
        if isinstance(index, slice):
            return [_node_of(entry) for entry in self.entries[index]]
        return _node_of(self.entries[index])


def _node_of(entry: Node | PlainSeed) -> Node:
    return entry.node() if isinstance(entry, PlainSeed) else entry


def _plain_seed(node: Node) -> PlainSeed | None:
    if isinstance(node, ScalarNode):
        return PlainSeed(None, node.value, node.start_mark.line + 1, node.start_mark.line + 1) \
            if node.tag == _STR_TAG else None
    if not isinstance(node, MappingNode) or node.tag != _MAP_TAG or len(node.value) != 1:
        return None
    (key, value), = node.value
    if (not isinstance(key, ScalarNode) or key.tag != _STR_TAG or key.value not in _PLAIN_SEED_KEYS
            or not isinstance(value, ScalarNode) or value.tag != _STR_TAG):
        return None
    line, value_line = node.start_mark.line + 1, value.start_mark.line + 1
    return PlainSeed(key.value, value.value, line, line if value_line == line else value_line)


class _Composer:
    """PyYAML's composer (yaml/composer.py, same nodes and messages) over the events of ``loader``'s
    parser, libyaml's when available, with one difference: the items of the top-level ``seeds`` list
    are composed one at a time into :class:`SeedItems`, and a seed written plainly is kept as a
    :class:`PlainSeed` straight from its events, without nodes."""

    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader) -> None:
        # Any: the stubs type events as Event | None and marks as two Mark classes; the parser's
        # event API (check_event, peek_event, get_event) is what PyYAML's own composer uses.
        self.loader: Any = loader
        self.anchors: dict[str, Node] = {}

    def compose(self) -> Node | None:
        loader = self.loader
        loader.get_event()  # stream start
        node = None
        if not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # document start
            node = self.node(top=True)
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                event: Any = loader.get_event()
                raise ComposerError("expected a single document in the stream", node.start_mark,
                                    "but found another document", event.start_mark)
        return node

    def node(self, top: bool = False) -> Node:
        event: Any = self.loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                mark: Any = event.start_mark
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", mark)
            return self.anchors[event.anchor]
        node = self.begin(event)
        if isinstance(node, SequenceNode):
            self.fill_sequence(node)
        elif isinstance(node, MappingNode):
            self.fill_mapping(node, top)
        return node

    def begin(self, event: Any) -> Node:
        """The node an event (not an alias) starts, without its children; its anchor recorded."""
        loader = self.loader
        anchor = event.anchor
        start: Any = event.start_mark  # Any: the stubs know two Mark classes where Node takes one
        if anchor is not None and anchor in self.anchors:
            raise ComposerError(f"found duplicate anchor {anchor!r}; first occurrence",
                                self.anchors[anchor].start_mark, "second occurrence", start)
        tag = event.tag
        node: Node
        if isinstance(event, yaml.ScalarEvent):
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            node = ScalarNode(tag, event.value, start, end, style=event.style)
        elif isinstance(event, yaml.SequenceStartEvent):
            if tag is None or tag == "!":
                tag = loader.resolve(SequenceNode, None, event.implicit)
            node = SequenceNode(tag, [], start, None, flow_style=event.flow_style)
        else:
            if tag is None or tag == "!":
                tag = loader.resolve(MappingNode, None, event.implicit)
            node = MappingNode(tag, [], start, None, flow_style=event.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        return node

    def fill_sequence(self, node: SequenceNode) -> None:
        while not self.loader.check_event(yaml.SequenceEndEvent):
            node.value.append(self.node())
        node.end_mark = self.loader.get_event().end_mark

    def fill_mapping(self, node: MappingNode, top: bool = False) -> None:
        loader = self.loader
        while not loader.check_event(yaml.MappingEndEvent):
            key = self.node()
            if (top and isinstance(key, ScalarNode) and key.value == "seeds"
                    and loader.check_event(yaml.SequenceStartEvent)):
                node.value.append((key, self.seed_items()))
            else:
                node.value.append((key, self.node()))
        node.end_mark = loader.get_event().end_mark

    def seed_items(self) -> SequenceNode:
        loader = self.loader
        event: Any = loader.peek_event()
        if event.anchor is not None:  # the whole list may be used elsewhere: keep it as nodes
            return cast(SequenceNode, self.node())
        items = SeedItems()
        node = cast(SequenceNode, self.begin(loader.get_event()))
        node.value = items
        while not loader.check_event(yaml.SequenceEndEvent):
            event = loader.peek_event()
            if self.plain_text(event):
                loader.get_event()
                line = event.start_mark.line + 1
                items.entries.append(PlainSeed(None, event.value, line, line))
            elif isinstance(event, yaml.MappingStartEvent) and event.anchor is None and event.tag is None:
                items.entries.append(self.seed_mapping(loader.get_event()))
            else:
                anchors = len(self.anchors)
                items.append(self.node(), composed_anchor=len(self.anchors) != anchors)
        node.end_mark = loader.get_event().end_mark
        return node

    def seed_mapping(self, start: Any) -> Node | PlainSeed:
        """A seed mapping whose start event was read: a PlainSeed when it is one, else its node."""
        loader = self.loader
        anchors = len(self.anchors)
        key: Any = loader.peek_event()
        # "cable" and "url" are text in the core schema: no resolving needed
        if (isinstance(key, yaml.ScalarEvent) and key.value in _PLAIN_SEED_KEYS and key.anchor is None
                and key.tag is None):
            loader.get_event()
            value: Any = loader.peek_event()
            if self.plain_text(value):
                loader.get_event()
                if loader.check_event(yaml.MappingEndEvent):
                    loader.get_event()
                    line, value_line = start.start_mark.line + 1, value.start_mark.line + 1
                    return PlainSeed(key.value, value.value, line, line if value_line == line else value_line)
                pairs = [(self.begin(key), self.begin(value))]
            else:
                pairs = [(self.begin(key), self.node())]
        else:
            pairs = []
        node = cast(MappingNode, self.begin(start))
        node.value.extend(pairs)
        self.fill_mapping(node)
        return node if len(self.anchors) != anchors else _plain_seed(node) or node

    def plain_text(self, event: Any) -> bool:
        """Whether ``event`` is a scalar without anchor or tag that reads as text."""
        return (isinstance(event, yaml.ScalarEvent) and event.anchor is None and event.tag is None
                and (not event.implicit[0] or self.loader.resolve(ScalarNode, event.value, event.implicit) == _STR_TAG))


def _yaml_error_message(error: yaml.MarkedYAMLError, text: str) -> str:
    problem = error.problem or "cannot parse"
    at = error.problem_mark.index if error.problem_mark is not None else -1
    if "'\\t'" in problem or (0 <= at < len(text) and text[at] == "\t"):  # libyaml does not name the tab
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

    def done_node(self) -> None:
        if self.is_mapping:
            self.want_key = not self.want_key
        else:
            self.index += 1


def _key_at(text: str, index: int | None) -> str:
    """Best-effort dotted key path of the place where ``text`` stops parsing, or of ``index``."""
    frames: list[_Frame] = []
    try:
        for event in yaml.parse(text, Loader=LOADER):
            at = event.start_mark.index if event.start_mark is not None else 0
            closes = isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent))
            if index is not None and (at > index or (at == index and not closes)):
                break
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                frames.append(_Frame(isinstance(event, yaml.MappingStartEvent)))
            elif closes:
                frames.pop()
                if frames:
                    frames[-1].done_node()
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)) and frames:
                if frames[-1].is_mapping and frames[-1].want_key:
                    frames[-1].key = str(event.value) if isinstance(event, yaml.ScalarEvent) else "?"
                frames[-1].done_node()
    except yaml.YAMLError:
        pass  # expected: the text is known not to parse; the frames say how far it got
    path = ""
    for frame in frames:
        if not frame.is_mapping:
            path = f"{path}[{frame.index}]"
        elif not frame.want_key:
            path = join(path, frame.key)
    return path


# --------------------------------------------------------------------------------------------------
# Reading nodes, collecting problems


class Reader:
    """Plain values out of YAML nodes; collects every problem, naming file, line and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base_dir = path.absolute().parent
        self.kind = SHAPE  # the kind of problem being looked for; the loader moves on to VALUES
        self._constructor = SafeConstructor()
        self._problems: dict[tuple[int | None, str, str], tuple[int, ManifestProblem]] = {}

    # Problems ------------------------------------------------------------------------------------

    def report_line(self, line: int | None, key: str, message: str) -> None:
        """Record a problem (once: reading a node again finds it again) and go on."""
        self._problems.setdefault((line, key, message), (self.kind, ManifestProblem(self.path, line, key, message)))

    def report(self, node: Node | None, key: str, message: str) -> None:
        self.report_line(line_of(node), key, message)

    def fail(self, node: Node | None, key: str, message: str) -> NoReturn:
        """Record a problem and abandon the value being read."""
        self.report(node, key, message)
        raise Skip

    def attempt(self, read: Callable[[], _T], default: _T) -> _T:
        """``read()``, or ``default`` when it found a problem (recorded)."""
        try:
            return read()
        except Skip:
            return default

    def failed(self, key: str) -> bool:
        """Whether a problem was found at ``key`` (a dotted key path)."""
        return any(problem.key == key for _, problem in self._problems.values())

    def finish(self) -> None:
        """Raise one ManifestError listing every problem found, if any: shape first, then values,
        each in file order."""
        if self._problems:
            ordered = sorted(self._problems.values(),
                             key=lambda found: (found[0], found[1].line is None, found[1].line or 0))
            raise ManifestError.from_problems([problem for _, problem in ordered])

    # Nodes ---------------------------------------------------------------------------------------

    def construct(self, node: Node, key: str) -> object:
        """The Python value of ``node`` as ``yaml.safe_load`` would make it."""
        try:
            value: object = self._constructor.construct_document(node)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            hint = ("a manifest holds plain YAML values only, remove the tag" if error.problem and
                    "for the tag" in error.problem else "write it as plain text, lists and mappings")
            self.report_line(mark.line + 1 if mark is not None else line_of(node), key,
                             f"cannot read this value: {error.problem}; {hint}")
            raise Skip from None
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
            self.fail(node, key, f"expected {expected}, got {describe_node(node)}")
        value = self.construct(node, key)
        if value is None:
            self.fail(node, key, f"has no value; give {expected}, or remove the key to use the default")
        return value

    def fields(self, node: Node, key: str) -> dict[str, tuple[Node, Node]]:
        """A mapping's entries by name: (key node, value node). A key that is not plain text is a
        problem, and its entry is left out."""
        if not isinstance(node, MappingNode):
            self.fail(node, key, f"expected a mapping (keys indented under {key or 'the top'}), "
                      f"got {describe_node(node)}")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            name = self.attempt(lambda: self._key_name(key_node, key), None)
            if name is not None:
                entries[name] = (key_node, value_node)
        return entries

    def _key_name(self, key_node: Node, key: str) -> str:
        if key_node.tag == _MERGE_TAG:
            self.fail(key_node, join(key, "<<"), "YAML merge keys (<<) are not supported in a "
                      "manifest; write the keys out")
        written = key_node.value if isinstance(key_node, ScalarNode) else "?"
        name = self.value(key_node, join(key, written), "a key")
        if not isinstance(name, str):
            self.fail(key_node, join(key, written), f"keys must be text, got {describe(name)}; "
                      "no such key is known here")
        return name

    def items(self, node: Node, key: str) -> list[tuple[Node, str]]:
        """A list's items with their key paths; an empty value is an empty list."""
        if is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.fail(node, key, f"expected a list ('- item' lines or [a, b]), got {describe_node(node)}")
        return [(item, f"{key}[{i}]") for i, item in enumerate(node.value)]

    def entries(self, node: Node, key: str) -> Iterator[tuple[Node | PlainSeed, str]]:
        """Like :meth:`items`, one at a time, with the top-level seeds' plain entries as they are."""
        if isinstance(node, SequenceNode) and isinstance(node.value, SeedItems):
            return ((entry, f"{key}[{i}]") for i, entry in enumerate(node.value.entries))
        return iter(self.items(node, key))

    def node_items(self, node: Node, key: str) -> Iterator[tuple[Node, str]]:
        """Like :meth:`items`, one at a time, leaving out the top-level seeds' plain entries: for a pass
        over keys, which a plain seed cannot get wrong."""
        if isinstance(node, SequenceNode) and isinstance(node.value, SeedItems):
            for i, entry in enumerate(node.value.entries):
                if not isinstance(entry, PlainSeed):
                    yield entry, f"{key}[{i}]"
        else:
            yield from self.items(node, key)

    def raw_mapping(self, node: Node, key: str) -> dict[str, object]:
        """A mapping kept as plain data (validated elsewhere); its top-level keys must be text."""
        if not isinstance(node, MappingNode):
            self.fail(node, key, f"expected a mapping, got {describe_node(node)}")
        for key_node, _ in node.value:
            if key_node.tag != _MERGE_TAG:
                written = key_node.value if isinstance(key_node, ScalarNode) else "?"
                name = self.construct(key_node, key) if isinstance(key_node, ScalarNode) else None
                if not isinstance(name, str):
                    self.fail(key_node, join(key, written), f"keys here must be text, got "
                              f"{describe(name) if written != '?' else 'a list or mapping'}")
        value = self.construct(node, key)
        assert isinstance(value, dict)  # a MappingNode always constructs to a dict
        return value

    def raw_list(self, node: Node, key: str) -> tuple[dict[str, object], ...]:
        """A list of mappings kept as plain data (reserved sections such as schedule)."""
        items = self.items(node, key)
        read = [self.attempt(lambda: self.raw_mapping(item, item_key), None) for item, item_key in items]
        return tuple(mapping for mapping in read if mapping is not None)

    def check_duplicate_keys(self, root: Node) -> None:
        """Report every key written twice in one mapping (YAML would silently keep the last), anywhere."""
        seen: set[int] = set()
        stack: list[tuple[Node, str]] = [(root, "")]
        while stack:
            node, key = stack.pop()
            if id(node) in seen:  # an alias: the same node again
                continue
            seen.add(id(node))
            if isinstance(node, SequenceNode):  # a plain seed has one key: nothing written twice
                stack.extend(self.node_items(node, key))
            elif isinstance(node, MappingNode):
                stack.extend(self._duplicates_in(node, key))

    def _duplicates_in(self, node: MappingNode, key: str) -> list[tuple[Node, str]]:
        """Report the keys of ``node`` written twice; return its values with their key paths."""
        first: dict[object, Node] = {}
        children: list[tuple[Node, str]] = []
        for key_node, value_node in node.value:
            is_key = isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG
            name = self.attempt(lambda: self.construct(key_node, key), None) if is_key else None
            child = join(key, str(name) if name is not None else "?")
            children.append((value_node, child))
            if name is None:
                continue
            earlier = first.setdefault(name, key_node)
            if earlier is not key_node:
                lines = (f"on line {line_of(earlier)} and line {line_of(key_node)}"
                         if line_of(earlier) != line_of(key_node) else f"on line {line_of(key_node)}")
                self.report(key_node, child, f"key {key_node.value!r} is written twice, {lines}; YAML "
                            "would silently keep only the last: remove one")
        return children
