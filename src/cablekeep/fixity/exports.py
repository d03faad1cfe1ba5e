"""Exports of the fixity history: JSON lines (``cablekeep.event/1``) and PREMIS 3.0 XML.

PREMIS event types come from the Library of Congress vocabulary
http://id.loc.gov/vocabulary/preservation/eventType: ``fixity check``, ``validation``, and ``recovery``
for a repair from another copy -- the vocabulary has no "repair".

Both stream: events are read and written one at a time, so memory stays flat however many events
and problems there are (an event lists the first problems of each kind and counts the rest; the
PREMIS outcome says "1,000,000 missing (first 1,000 listed)"). PREMIS wants every object before the
events and every agent after them: the events go to a temporary file while the (few) objects and
agents are collected, then the document is written in schema order. File names are escaped as
:mod:`cablekeep.fixity.names` says, so the XML is well-formed whatever their bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from ..errors import UsageError
from .events import FixityEvent
from .identity import BagIdentity
from .names import escape_name
from .report import Problem

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_LOC = "http://id.loc.gov/vocabulary/preservation"
# Our event type -> (PREMIS eventType term, its code in the LoC vocabulary).
PREMIS_EVENT_TYPES = {
    "fixity check": ("fixity check", "fix"),
    "validation": ("validation", "val"),
    "repair": ("recovery", "rec"),
    "replication": ("replication", "rep"),  # a delivery to a library, verified on arrival (handoff)
}


def export_jsonl(events: Iterable[FixityEvent], out: IO[str]) -> int:
    """Write one ``cablekeep.event/1`` JSON object a line; returns the number written."""
    count = 0
    for event in events:
        out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        count += 1
    return count


@dataclass
class _Xml:
    """PREMIS elements, indented, written with their ``premis:`` and ``xsi:`` prefixes as they are
    (the root declares both), so a part of the document can be written on its own."""

    gen: XMLGenerator
    depth: int = 0

    def start(self, name: str, attrs: Mapping[str, str] | None = None) -> None:
        if self.depth:
            self.gen.ignorableWhitespace("\n" + "  " * self.depth)
        self.gen.startElement(f"premis:{name}", AttributesImpl({k: _xml_safe(v) for k, v in (attrs or {}).items()}))
        self.depth += 1

    def end(self, name: str, *, inline: bool = False) -> None:
        self.depth -= 1
        if not inline:
            self.gen.ignorableWhitespace("\n" + "  " * self.depth)
        self.gen.endElement(f"premis:{name}")

    def leaf(self, name: str, text: str, attrs: Mapping[str, str] | None = None) -> None:
        self.start(name, attrs)
        self.gen.characters(_xml_safe(text))
        self.end(name, inline=True)

    def identifier(self, name: str, kind: str, value: str) -> None:
        self.start(name)
        self.leaf(f"{name}Type", kind)
        self.leaf(f"{name}Value", value)
        self.end(name)


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters or lone surrogates; show them escaped."""
    return "".join(
        c if (c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff")
        else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
        for c in text
    )


def _object_identifier(bag: BagIdentity) -> tuple[str, str]:
    if bag.external_identifier:
        kind = "URN" if bag.external_identifier.lower().startswith("urn:") else "BagIt External-Identifier"
        return kind, escape_name(bag.external_identifier)
    return "local path", escape_name(bag.path)


def _vocabulary(scheme: str, code: str) -> dict[str, str]:
    return {"authority": scheme, "authorityURI": f"{_LOC}/{scheme}", "valueURI": f"{_LOC}/{scheme}/{code}"}


def _problem_note(problem: Problem) -> str:
    note = f"{problem.kind}: {escape_name(problem.path)}: {escape_name(problem.detail)}"
    if problem.algorithm:
        note += f" [{problem.algorithm}"
        if problem.expected or problem.found:
            note += f" expected {escape_name(problem.expected or '')} found {escape_name(problem.found or '')}"
        note += "]"
    if problem.offset is not None:
        note += f" [offset {problem.offset}]"
    return note


def export_premis(events: Iterable[FixityEvent], out: IO[bytes]) -> int:
    """Write the events as a PREMIS 3.0 document; returns the number of events written.

    One ``object`` (a ``representation``) per bag, identified by its External-Identifier (or
    its path), then one ``event`` per event, then one ``agent`` per cablekeep version, in the
    order the PREMIS 3 schema requires. ``events`` is read once, one event at a time (module
    docstring). Raises :class:`UsageError` when there are no events, before anything is
    written: a PREMIS document must describe at least one object.
    """
    objects: dict[tuple[str, str], None] = {}
    agents: dict[str, None] = {}
    count = 0
    with tempfile.TemporaryFile() as spool:
        body = _Xml(XMLGenerator(spool, encoding="utf-8", short_empty_elements=True), depth=1)
        for event in events:
            objects.setdefault(_object_identifier(event.bag))
            agents.setdefault(event.agent)
            _write_event(body, event)
            count += 1
        if not count:
            raise UsageError("there are no fixity events to export; verify or audit a bag first")
        body.gen.ignorableWhitespace("")  # flush the generator's buffer into the spool
        gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
        xml = _Xml(gen)
        gen.startDocument()
        xml.start("premis", {
            "xmlns:premis": PREMIS_NS, "xmlns:xsi": XSI_NS, "version": "3.0",
            "xsi:schemaLocation": f"{PREMIS_NS} https://www.loc.gov/standards/premis/premis.xsd",
        })
        for kind, value in objects:
            xml.start("object", {"xsi:type": "premis:representation"})
            xml.identifier("objectIdentifier", kind, value)
            xml.end("object")
        gen.ignorableWhitespace("")
        out.flush()
        spool.seek(0)
        shutil.copyfileobj(spool, out)
    for agent in agents:
        name, _, version = agent.partition(" ")
        xml.start("agent")
        xml.identifier("agentIdentifier", "local", agent)
        xml.leaf("agentName", name)
        xml.leaf("agentType", "software", _vocabulary("agentType", "sof"))
        if version:
            xml.leaf("agentVersion", version)
        xml.end("agent")
    xml.end("premis")
    gen.ignorableWhitespace("\n")
    gen.endDocument()
    return count


def _write_event(xml: _Xml, event: FixityEvent) -> None:
    term, code = PREMIS_EVENT_TYPES[event.event_type]
    xml.start("event")
    xml.identifier("eventIdentifier", "UUID", event.event_id)
    xml.leaf("eventType", term, _vocabulary("eventType", code))
    xml.leaf("eventDateTime", event.time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    xml.start("eventDetailInformation")
    algorithms = ", ".join(event.algorithms) or "none"
    xml.leaf(
        "eventDetail",
        f"{event.event_type} ({event.mode}) of the bag at {escape_name(event.bag.path)}; {escape_name(event.detail)}; "
        f"algorithms: {algorithms}; tag manifests sha256 {event.bag.tagmanifest_digest or 'unknown'}",
    )
    xml.end("eventDetailInformation")
    xml.start("eventOutcomeInformation")
    xml.leaf("eventOutcome", event.outcome)
    _outcome_note(
        xml,
        f"{event.files_checked} files, {event.bytes_checked} bytes and {event.warc_records_checked} WARC "
        f"records checked; {event.problem_total} problems" + (f": {event.problems_summary()}" if event.problems else ""),
    )
    if event.paths:
        what = "files replaced: " if event.event_type == "repair" else "files hashed: "
        _outcome_note(xml, what + ", ".join(escape_name(p) for p in event.paths))
    for problem in event.problems:
        _outcome_note(xml, _problem_note(problem))
    xml.end("eventOutcomeInformation")
    xml.start("linkingAgentIdentifier")
    xml.leaf("linkingAgentIdentifierType", "local")
    xml.leaf("linkingAgentIdentifierValue", event.agent)
    xml.leaf("linkingAgentRole", "executing program", _vocabulary("eventRelatedAgentRole", "exe"))
    xml.end("linkingAgentIdentifier")
    kind, value = _object_identifier(event.bag)
    xml.start("linkingObjectIdentifier")
    xml.leaf("linkingObjectIdentifierType", kind)
    xml.leaf("linkingObjectIdentifierValue", value)
    role = ("outcome", "out") if event.event_type == "repair" else ("source", "sou")
    xml.leaf("linkingObjectRole", role[0], _vocabulary("eventRelatedObjectRole", role[1]))
    xml.end("linkingObjectIdentifier")
    xml.end("event")


def _outcome_note(xml: _Xml, note: str) -> None:
    xml.start("eventOutcomeDetail")
    xml.leaf("eventOutcomeDetailNote", note)
    xml.end("eventOutcomeDetail")
