"""The YAML adapter of the manifest: the only module that imports PyYAML.

The text is composed into nodes with PyYAML's safe loader (core schema only, no Python tags), so every
value keeps its line. A :class:`Reader` turns nodes into plain Python values and collects problems: each
problem names the file, the 1-based line and the dotted key path (``fetch.per_host_delay``,
``seeds[2].file``). :meth:`Reader.fail` records a problem and abandons the value being read (raising
:class:`Skip`); whoever reads a key catches it, goes on with the next key, and :meth:`Reader.finish`
raises one :class:`~cablekeep.errors.ManifestError` listing every problem.

Problems of the file's shape (a key written twice, an unknown key, a key that is not text) come first,
in file order, because they explain the problems of values they cause (``site: {cable_ur: ...}`` leaves
cable seeds without a URL); problems of values follow, in file order.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from ..errors import ManifestError, ManifestProblem

__all__ = ["Node", "Reader", "Skip", "compose", "describe", "describe_node", "is_mapping", "is_null",
           "is_scalar", "is_sequence", "join", "line_of"]

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_T = TypeVar("_T")
SHAPE, VALUES = 0, 1  # the two kinds of problem, in the order they are listed


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
    ``version_hint`` is the first line a manifest should have (``cablekeep: 1``)."""
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
        raise ManifestError(path, 1, "", f"the manifest is empty; start it with '{version_hint}' "
                            "(see manifests/example.yaml)")
    if not isinstance(node, MappingNode):
        raise ManifestError(path, line_of(node), "", "the manifest must be a mapping of keys to values "
                            f"('{version_hint}', 'collection: ...', 'seeds: ...'), not {describe_node(node)}")
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

    def done_node(self) -> None:
        if self.is_mapping:
            self.want_key = not self.want_key
        else:
            self.index += 1


def _key_at(text: str, index: int | None) -> str:
    """Best-effort dotted key path of the place where ``text`` stops parsing, or of ``index``."""
    frames: list[_Frame] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
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
            if isinstance(node, SequenceNode):
                stack.extend((item, f"{key}[{i}]") for i, item in enumerate(node.value))
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
