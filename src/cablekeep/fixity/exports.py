"""Exports of the fixity history: JSON lines (``cablekeep.event/1``) and PREMIS 3.0 XML.

PREMIS event types come from the Library of Congress vocabulary
http://id.loc.gov/vocabulary/preservation/eventType: ``fixity check``, ``validation``, and ``recovery``
for a repair from another copy -- the vocabulary has no "repair".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesNSImpl

from ..errors import UsageError
from .events import FixityEvent
from .identity import BagIdentity
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
    gen: XMLGenerator
    depth: int = 0
    qnames: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def start(self, name: str, attrs: Mapping[str, str] | None = None) -> None:
        values: dict[tuple[str | None, str], str] = {}
        qnames: dict[tuple[str | None, str], str] = {}
        for key, value in (attrs or {}).items():
            ns, local = (XSI_NS, key[4:]) if key.startswith("xsi:") else (None, key)
            values[(ns, local)] = value
            qnames[(ns, local)] = key
        if self.depth:
            self.gen.ignorableWhitespace("\n" + "  " * self.depth)
        self.gen.startElementNS((PREMIS_NS, name), f"premis:{name}", AttributesNSImpl(values, qnames))
        self.depth += 1

    def end(self, name: str, *, inline: bool = False) -> None:
        self.depth -= 1
        if not inline:
            self.gen.ignorableWhitespace("\n" + "  " * self.depth)
        self.gen.endElementNS((PREMIS_NS, name), f"premis:{name}")

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
        return kind, bag.external_identifier
    return "local path", bag.path


def _vocabulary(scheme: str, code: str) -> dict[str, str]:
    return {"authority": scheme, "authorityURI": f"{_LOC}/{scheme}", "valueURI": f"{_LOC}/{scheme}/{code}"}


def _problem_note(problem: Problem) -> str:
    note = f"{problem.kind}: {problem.path}: {problem.detail}"
    if problem.algorithm:
        note += f" [{problem.algorithm}"
        if problem.expected or problem.found:
            note += f" expected {problem.expected} found {problem.found}"
        note += "]"
    if problem.offset is not None:
        note += f" [offset {problem.offset}]"
    return note


def export_premis(events: Iterable[FixityEvent], out: IO[bytes]) -> int:
    """Write the events as a PREMIS 3.0 document; returns the number of events written.

    One ``object`` (a ``representation``) per bag, identified by its External-Identifier (or
    its path), then one ``event`` per event, then one ``agent`` per cablekeep version, in the
    order the PREMIS 3 schema requires. Raises :class:`UsageError` when there are no events:
    a PREMIS document must describe at least one object.
    """
    events = list(events)
    if not events:
        raise UsageError("there are no fixity events to export; verify or audit a bag first")
    objects = list(dict.fromkeys(_object_identifier(e.bag) for e in events))
    agents = list(dict.fromkeys(e.agent for e in events))
    gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
    xml = _Xml(gen)
    gen.startDocument()
    gen.startPrefixMapping("premis", PREMIS_NS)
    gen.startPrefixMapping("xsi", XSI_NS)
    xml.start("premis", {"version": "3.0", "xsi:schemaLocation": f"{PREMIS_NS} https://www.loc.gov/standards/premis/premis.xsd"})
    for kind, value in objects:
        xml.start("object", {"xsi:type": "premis:representation"})
        xml.identifier("objectIdentifier", kind, value)
        xml.end("object")
    for event in events:
        term, code = PREMIS_EVENT_TYPES[event.event_type]
        xml.start("event")
        xml.identifier("eventIdentifier", "UUID", event.event_id)
        xml.leaf("eventType", term, _vocabulary("eventType", code))
        xml.leaf("eventDateTime", event.time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        xml.start("eventDetailInformation")
        algorithms = ", ".join(event.algorithms) or "none"
        xml.leaf(
            "eventDetail",
            f"{event.event_type} ({event.mode}) of the bag at {event.bag.path}; {event.detail}; algorithms: "
            f"{algorithms}; tag manifests sha256 {event.bag.tagmanifest_digest or 'unknown'}",
        )
        xml.end("eventDetailInformation")
        xml.start("eventOutcomeInformation")
        xml.leaf("eventOutcome", event.outcome)
        notes = [
            f"{event.files_checked} files, {event.bytes_checked} bytes and {event.warc_records_checked} WARC "
            f"records checked; {len(event.problems)} problems"
        ]
        if event.paths:
            notes.append(("files replaced: " if event.event_type == "repair" else "files hashed: ") + ", ".join(event.paths))
        notes.extend(_problem_note(p) for p in event.problems)
        for note in notes:
            xml.start("eventOutcomeDetail")
            xml.leaf("eventOutcomeDetailNote", note)
            xml.end("eventOutcomeDetail")
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
    gen.endPrefixMapping("xsi")
    gen.endPrefixMapping("premis")
    gen.endDocument()
    return len(events)
