"""Page profiles: where a site layout keeps each field of a cable, as data.

A ``Profile`` names a rule per field, a rule for the cable text and a rule that recognises the
layout. A ``FieldRule`` selects with exactly one of:

- ``label``: the cell or term labelled so (case-insensitive, trailing colon ignored): the second
  cell of a table row whose first cell is the label, the ``<dd>`` after a ``<dt>``, or the cell
  under a header cell in a header/data table;
- ``xpath``: an XPath 1.0 expression (elements, attribute values or a string);
- ``css``: a CSS selector;

and may add ``regex``, searched in the selected text: its first group (or the whole match when it
has none) is the value; and ``date``, a strptime format the value is read with and rewritten as
``YYYY-MM-DD HH:MM:SS`` (a value that does not parse is left out). Every expression is compiled once, when the rule is made, and a bad one
raises ``ValueError`` naming it, so a manifest fails when it is loaded and not half-way through
a crawl. The built-ins are ``CABLEBROWSER`` (cable pages of the sample-site contract, the default)
and ``ORIGINAL`` (the "Viewing cable <ID>, <SUBJECT>" pages of the originals host);
``extract.detect_profile`` tells which of them a page is.

lxml is imported here (compiling selectors) and in ``extract`` (parsing pages): the two modules
are the extraction adapter over lxml; cssselect is imported here only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import cssselect
from lxml import etree

__all__ = [
    "BUILTIN_PROFILES",
    "CABLEBROWSER",
    "ORIGINAL",
    "FieldRule",
    "Profile",
    "ProfileKind",
    "normalise_label",
    "profile_from_mapping",
]

ProfileKind = Literal["cable", "original"]

_NOT_FOUND = r"(?i)\bcable\s+not\s+found\b"
_NOT_FOUND_LOWER = re.compile(r"cable\s+not\s+found\b")  # _NOT_FOUND on lowered text, less its first \b
_RULE_KEYS = ("label", "xpath", "css", "regex", "date")
DATE_OUTPUT = "%Y-%m-%d %H:%M:%S"  # how a ``date`` rule writes the dates it reads
_PROFILE_KEYS = ("name", "kind", "detect", "text", "fields", "not_found")
_CSS_TRANSLATOR = cssselect.HTMLTranslator()
# Evaluating a new XPath once against this finds errors that only show at run time
# (unknown functions, undefined namespace prefixes).
_PROBE_DOCUMENT = etree.fromstring("<html><head><title/></head><body/></html>")


def normalise_label(label: str) -> str:
    """How labels are compared: white space collapsed, no trailing colon, case folded."""
    return " ".join(label.split()).rstrip(":").rstrip().casefold()


@dataclass(frozen=True)
class FieldRule:
    """Where one value is on a page; see the module docstring."""

    label: str | None = None
    xpath: str | None = None
    css: str | None = None
    regex: str | None = None
    date: str | None = None
    _label_key: str | None = field(init=False, repr=False, compare=False, default=None)
    _xpath: etree.XPath | None = field(init=False, repr=False, compare=False, default=None)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        given = [key for key in ("label", "xpath", "css") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a rule needs exactly one of label, xpath, css; got {', '.join(given) or 'none'}"
            )
        if self.label is not None:
            if not normalise_label(self.label):
                raise ValueError("label: must not be empty")
            object.__setattr__(self, "_label_key", normalise_label(self.label))
        if self.xpath is not None:
            object.__setattr__(self, "_xpath", _compile_xpath(self.xpath, "xpath"))
        if self.css is not None:
            try:
                translated = _CSS_TRANSLATOR.css_to_xpath(self.css)
            except cssselect.SelectorError as exc:
                raise ValueError(f"css {self.css!r}: not a CSS selector: {exc}") from exc
            object.__setattr__(self, "_xpath", _compile_xpath(translated, f"css {self.css!r}"))
        if self.date is not None and "%" not in self.date:
            raise ValueError(f"date {self.date!r}: not a strptime format (e.g. '%d %B %Y, %H:%M')")
        if self.regex is not None:
            try:
                object.__setattr__(self, "_regex", re.compile(self.regex))
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r}: not a regular expression: {exc}") from exc

    @property
    def label_key(self) -> str | None:
        """The label as compared with page labels, when the rule selects by label."""
        return self._label_key

    @property
    def compiled_xpath(self) -> etree.XPath | None:
        """The compiled XPath of an ``xpath`` or ``css`` rule."""
        return self._xpath

    @property
    def compiled_regex(self) -> re.Pattern[str] | None:
        """The compiled ``regex``, when there is one."""
        return self._regex


def _compile_xpath(expression: str, what: str) -> etree.XPath:
    shown = f"xpath {expression!r}" if what == "xpath" else what
    try:
        compiled = etree.XPath(expression)
        compiled(_PROBE_DOCUMENT)
    except etree.XPathError as exc:
        raise ValueError(f"{shown}: not a usable XPath: {exc}") from exc
    return compiled


@dataclass(frozen=True)
class Profile:
    """A site layout: a rule per field, one for the cable text, one that recognises it.

    ``fields`` must have an ``identifier`` rule: a page where it finds nothing is not a cable of
    this layout. ``kind`` is what such a page is ("cable" or "original"). ``detect`` recognises
    the layout (see ``extract.detect_profile``); ``not_found`` is a regular expression that marks
    a "soft 404" page (HTTP 200, a "Cable not found" message, no metadata).
    """

    name: str
    fields: Mapping[str, FieldRule]
    text: FieldRule
    detect: FieldRule | None = None
    kind: ProfileKind = "cable"
    not_found: str = _NOT_FOUND
    _not_found: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name: must not be empty")
        if "identifier" not in self.fields:
            raise ValueError("fields: needs an 'identifier' rule")
        if self.kind not in ("cable", "original"):
            raise ValueError(f"kind: must be 'cable' or 'original', not {self.kind!r}")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        try:
            object.__setattr__(self, "_not_found", re.compile(self.not_found))
        except re.error as exc:
            raise ValueError(
                f"not_found {self.not_found!r}: not a regular expression: {exc}"
            ) from exc

    @property
    def not_found_pattern(self) -> re.Pattern[str]:
        """The compiled ``not_found`` expression."""
        return self._not_found

    def says_not_found(self, text: str) -> bool:
        """Whether a page's text (whitespace runs read as one space) matches ``not_found``.

        The default expression is searched for in the lowered text without its leading ``\b``
        (checked by hand): Python's case-insensitive search from every position cost more
        than the rest of reading a page."""
        if self.not_found != _NOT_FOUND:
            return self._not_found.search(" ".join(text.split())) is not None
        lowered = text.lower()
        if len(lowered) != len(text):  # a letter that lowers to two (e.g. "İ"): positions differ
            return self._not_found.search(" ".join(text.split())) is not None
        for match in _NOT_FOUND_LOWER.finditer(lowered):
            before = text[match.start() - 1] if match.start() else " "
            if not (before.isalnum() or before == "_"):
                return True
        return False


def _label_xpath(label: str) -> str:
    """XPath to the link of the table row labelled ``label`` (any case, colon optional)."""
    lower = label.lower()
    upper = label.upper()
    return (
        f"//tr[*[1][translate(normalize-space(.), '{upper}:', '{lower}')='{lower}']]"
        "/*[2]//a/@href"
    )


CABLEBROWSER = Profile(
    name="cablebrowser",
    kind="cable",
    fields={
        "identifier": FieldRule(label="Identifier"),
        "original_url": FieldRule(xpath=_label_xpath("Wikileaks")),
        "origin": FieldRule(label="Origin"),
        "created": FieldRule(label="Created"),
        "classification": FieldRule(label="Classification"),
        "tags": FieldRule(label="Tags"),
        "redacted": FieldRule(label="Redacted"),
        "subject": FieldRule(xpath="//title", regex=r"^\s*Cable\s+\S+?:\s*(.+?)\s*$"),
    },
    text=FieldRule(css="div.text"),
    detect=FieldRule(label="Identifier"),
)

ORIGINAL = Profile(
    name="original",
    kind="original",
    fields={
        "identifier": FieldRule(label="Reference ID"),
        "created": FieldRule(label="Created"),
        "released": FieldRule(label="Released"),
        "classification": FieldRule(label="Classification"),
        "origin": FieldRule(label="Origin"),
        "subject": FieldRule(xpath="//h2", regex=r"^\s*Viewing\s+cable\s+\S+?,\s*(.+?)\s*$"),
        "tags": FieldRule(xpath="//pre", regex=r"(?m)^\s*TAGS:?[ \t]*(.+)$"),
    },
    text=FieldRule(xpath="//pre"),
    detect=FieldRule(xpath="//h2[starts-with(normalize-space(.), 'Viewing cable')]"),
)

# In the order detect_profile tries them.
BUILTIN_PROFILES: tuple[Profile, ...] = (ORIGINAL, CABLEBROWSER)


def profile_from_mapping(data: Mapping[str, object], where: str) -> Profile:
    """A profile from a manifest's mapping; ``where`` prefixes every error message.

    The mapping has ``name``, ``text`` (a rule), ``fields`` (field name to rule, ``identifier``
    required) and optionally ``detect`` (a rule), ``kind`` ("cable" or "original") and
    ``not_found`` (a regular expression). A rule is a mapping with one of ``label``, ``xpath``,
    ``css`` and optionally ``regex``, all strings. Raises ``ValueError`` naming the bad key::

        name: mirror-dl
        detect: {css: "dl.cable"}
        fields:
          identifier: {label: "Ref"}
          created: {xpath: "//dd[@class='date']", regex: "(\\d{4}-\\d{2}-\\d{2})"}
        text: {css: "div.body"}
    """
    unknown = sorted(str(key) for key in data if key not in _PROFILE_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(_PROFILE_KEYS)}"
        )
    name = _string(data.get("name"), where, "name")
    kind = _string(data.get("kind", "cable"), where, "kind")
    if kind not in ("cable", "original"):
        raise ValueError(f"{where}: kind: must be 'cable' or 'original', not {kind!r}")
    not_found = data.get("not_found")
    fields_data = data.get("fields")
    if not isinstance(fields_data, Mapping) or not fields_data:
        raise ValueError(f"{where}: fields: must be a mapping of field names to rules")
    fields = {
        _string(key, where, "fields key"): _rule(value, where, f"fields.{key}")
        for key, value in fields_data.items()
    }
    if "text" not in data:
        raise ValueError(f"{where}: text: missing (the rule that selects the cable text)")
    text = _rule(data["text"], where, "text")
    detect = _rule(data["detect"], where, "detect") if data.get("detect") is not None else None
    try:
        return Profile(
            name=name,
            fields=fields,
            text=text,
            detect=detect,
            kind="original" if kind == "original" else "cable",
            not_found=_NOT_FOUND if not_found is None else _string(not_found, where, "not_found"),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def resolve_profile(profile: str | Mapping[str, object]) -> Profile:
    """The manifest's ``site.profile``: a name means the built-in cablebrowser layout, a mapping a
    custom profile (read by :func:`profile_from_mapping`, errors prefixed ``site.profile``)."""
    if isinstance(profile, str):
        return CABLEBROWSER
    return profile_from_mapping(profile, "site.profile")


def _string(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {key}: must be a non-empty string, not {value!r}")
    return value


def _rule(data: object, where: str, key: str) -> FieldRule:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{where}: {key}: must be a mapping with one of label, xpath, css (and maybe regex)"
        )
    unknown = sorted(str(name) for name in data if name not in _RULE_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: {key}: unknown key {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(_RULE_KEYS)}"
        )
    values = {name: _string(value, where, f"{key}.{name}") for name, value in data.items()}
    try:
        return FieldRule(**values)
    except ValueError as exc:
        raise ValueError(f"{where}: {key}: {exc}") from exc
