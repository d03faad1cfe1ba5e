"""The ``site`` section: the URL templates of cable pages and their originals, and the site profile
(the built-in ``cablebrowser``, or a profile described in the manifest, checked by the extractor)."""

from __future__ import annotations

import datetime
import string
from collections.abc import Callable, Mapping, Sequence

from ..cables.profiles import profile_from_mapping
from .keys import Section
from .model import PROFILES, Site
from .reader import Node, is_mapping, is_null, line_of
from .seeds import check_http_url
from .values import ValueReader

_SAMPLE_FIELDS: Mapping[str, object] = {
    "id": "05ALMATY2503", "created": datetime.datetime(2005, 7, 6, 12, 8)}


def read_site(reader: ValueReader, section: Section) -> Site:
    default = Site()
    profile_node = section.node("profile")
    return Site(
        cable_url=section.get("cable_url", None, _template_reader(reader, ("id",), required="id")),
        original_url=section.get("original_url", None, _template_reader(reader, ("id", "created"))),
        profile=section.get("profile", default.profile, _read_profile(reader)),
        profile_line=line_of(profile_node),
    )


def _read_profile(reader: ValueReader) -> Callable[[Node, str], str | Mapping[str, object]]:
    """A built-in profile by name, or a profile written out as a mapping (checked here, kept as data)."""

    def read(node: Node, key: str) -> str | Mapping[str, object]:
        if not is_mapping(node):
            return reader.choice(node, key, PROFILES)
        profile = reader.raw_mapping(node, key)
        try:
            profile_from_mapping(profile, key)
        except ValueError as error:
            reason = str(error).removeprefix(f"{key}: ")
            reader.fail(node, key, f"{reason}; see the site profiles section of the README")
        return profile

    return read


def _template_reader(reader: ValueReader, fields: Sequence[str],
                     required: str | None = None) -> Callable[[Node, str], str | None]:
    """Reads a URL template with ``{field}`` placeholders; null means not set."""

    def read(node: Node, key: str) -> str | None:
        if is_null(node):
            return None
        template = reader.line_of_text(node, key)
        _check_placeholders(reader, node, key, template, fields, required)
        try:
            check_http_url(template.format(**{name: _SAMPLE_FIELDS[name] for name in fields}))
        except ValueError as error:
            reader.fail(node, key, str(error))
        return template

    return read


def _check_placeholders(reader: ValueReader, node: Node, key: str, template: str, fields: Sequence[str],
                        required: str | None) -> None:
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
        template.format(**{name: _SAMPLE_FIELDS[name] for name in fields})
    except (ValueError, IndexError) as error:
        reader.fail(node, key, f"not a valid URL template ({error}); use {placeholders}, "
                    "and write a literal brace as {{ or }}")
