"""A WARC record's header block (WARC 1.1, section 4 and 5): read, then judged.

:func:`parse_header_block` reads the block the scan found up to CRLF CRLF: the version line,
then ``name: value`` fields, names compared without regard to case, continuation lines
(starting with a space or tab) unfolded into the field before them, and the spaces and tabs
around a value dropped. :func:`judge_headers` checks what the standard requires of the fields --
WARC-Record-ID (``<uri>``), Content-Length (digits), WARC-Date (a W3C date), WARC-Type, and
WARC-Target-URI for the types that need it; no control byte, and no byte outside ASCII, where a
URI, a token or a date is required -- and gives the values the later steps use as a
:class:`RecordHeaders`.

Versions: WARC/1.0 and WARC/1.1, and the ISO drafts WARC/0.17 and WARC/0.18 that Heritrix 1.x
and 2.x and NetarchiveSuite wrote (2008-2009) and that fill national collections. The drafts lay
a record out as 1.0 does -- the version line alone on its line, then named fields, CRLF CRLF,
the block, CRLF CRLF -- and require the same four fields, so their records are checked by those
rules; a file in a draft version gets one warning naming it (:class:`HeaderQuirks`), never an
error for the version alone. A version line in lower case (``warc/1.0``) is read, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .warcfindings import Finding, Tally

MAX_HEADER_BLOCK = 1 << 20  # a header block without CRLF CRLF within this many bytes has no end

VERSIONS = (b"WARC/1.0", b"WARC/1.1")
LEGACY_VERSIONS = (b"WARC/0.17", b"WARC/0.18")  # ISO drafts: Heritrix 1.14-2.x, NetarchiveSuite
_KNOWN_VERSIONS = frozenset(VERSIONS + LEGACY_VERSIONS)
_LEGACY_NAMES = frozenset(version.decode("ascii") for version in LEGACY_VERSIONS)
RECORD_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation"}
)
REQUIRED = ("WARC-Record-ID", "Content-Length", "WARC-Date", "WARC-Type")
_TARGET_URI_REQUIRED = frozenset({"response", "resource", "request", "revisit", "conversion", "continuation"})
_RECORD_ID_RE = re.compile(r"^<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]+>$")
_SPACE_RE = re.compile(r"\s")  # what str.isspace calls whitespace
_LWS = " \t"  # the linear white space around a field value (WARC 1.1 section 4, after RFC 2616)
# WARC 1.1 section 4: field-name = token; uri = <'URI' per RFC3986>; a date is a W3C date; a token is
# "1*<any US-ASCII character except CTLs or separators>". So where one of these is required, a control
# byte or a byte outside ASCII is not allowed; media types (quoted strings are TEXT) only exclude CTLs.
_URI_FIELDS = ("WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To", "WARC-Target-URI", "WARC-Warcinfo-ID",
               "WARC-Profile", "WARC-Segment-Origin-ID", "WARC-Refers-To-Target-URI")
_TOKEN_FIELDS = ("WARC-Type", "Content-Length", "WARC-Truncated", "WARC-Segment-Number", "WARC-Segment-Total-Length",
                 "WARC-Block-Digest", "WARC-Payload-Digest", "WARC-IP-Address")
_DATE_FIELDS = ("WARC-Date", "WARC-Refers-To-Date")
_TEXT_FIELDS = ("Content-Type", "WARC-Identified-Payload-Type")
_NOT_ASCII_OR_CTL = re.compile(r"[^\x20-\x7e]")
_CTL = re.compile(r"[\x00-\x1f\x7f]")
_FIELD_RULES: dict[str, tuple[str, str, re.Pattern[str]]] = {
    **{name.lower(): (name, "a URI", _NOT_ASCII_OR_CTL) for name in _URI_FIELDS},
    **{name.lower(): (name, "a token", _NOT_ASCII_OR_CTL) for name in _TOKEN_FIELDS},
    **{name.lower(): (name, "a date", _NOT_ASCII_OR_CTL) for name in _DATE_FIELDS},
    **{name.lower(): (name, "a media type", _CTL) for name in _TEXT_FIELDS},
}
# the dates that need no further check: every match names a real time (no day past the 28th, no
# year 0), so :func:`valid_date` answers True without building a datetime; anything else is judged in full
_PLAIN_DATE_RE = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?Z"
)
# field names as writers spell them, lower-cased once: a dict lookup instead of strip() and lower()
_KNOWN_KEYS = {
    name: name.lower()
    for name in (*REQUIRED, *_URI_FIELDS, *_TOKEN_FIELDS, *_DATE_FIELDS, *_TEXT_FIELDS, "WARC-Filename",
                 "WARC-Segment-Origin-ID", "WARC-Refers-To-Date", "WARC-Refers-To-Target-URI")
}
_REQUIRED_KEYS = tuple((name, name.lower()) for name in REQUIRED)
_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)


@dataclass(slots=True)
class HeaderBlock:
    """A header block as read: its version line, its fields by lower-cased name (values in the
    order written) and what was wrong with the block itself (no record id attached)."""

    version: bytes
    fields: dict[str, list[str]]
    findings: list[Finding]
    plain: bool = False  # printable ASCII lines only: no byte any field could refuse

    @property
    def is_warc(self) -> bool:
        """False when the first line is not a WARC version line at all: nothing else was read."""
        return self.version[:5].upper() == b"WARC/"

    @property
    def version_name(self) -> str:
        """The version line in upper case, as text (``WARC/1.1``)."""
        return self.version.upper().decode("ascii", "replace")

    @property
    def lower_case_version(self) -> bool:
        """The version line was written in lower case (``warc/1.0``)."""
        return self.version != self.version.upper()

    def one(self, name: str) -> str | None:
        """The first value of field ``name`` (any case), or None."""
        values = self.fields.get(name.lower())
        return values[0] if values else None

    def first(self, key: str) -> str | None:
        """The first value of the field whose lower-cased name is ``key``, or None."""
        values = self.fields.get(key)
        return values[0] if values else None


@dataclass(slots=True)
class RecordHeaders:
    """The fields the later steps use, judged; ``findings`` belong to the record's id."""

    record_id: str | None
    record_type: str | None  # as written
    date: str | None
    target_uri: str | None  # without the <...> wget wraps it in
    content_length: int | None  # None when absent or not a number: the record's end is unknown
    findings: list[Finding]
    bracketed_uri: bool = False  # WARC-Target-URI was wrapped in <...>
    spaced_uri: bool = False  # WARC-Target-URI holds raw whitespace
    non_urn_id: bool = False  # WARC-Record-ID is a URI but not a URN

    @property
    def record_type_l(self) -> str | None:
        return self.record_type.lower() if self.record_type else None


def parse_header_block(head: bytes, offset: int) -> HeaderBlock:
    """The header block ``head`` (without its closing CRLF CRLF) of the record at ``offset``."""
    version, _, rest = head.partition(b"\r\n")
    findings: list[Finding] = []
    if version not in _KNOWN_VERSIONS and version.upper() not in _KNOWN_VERSIONS:
        findings.append(
            Finding(
                f"the record at offset {offset} declares {version[:20]!r}, not WARC/1.0 or WARC/1.1 "
                "(nor the drafts WARC/0.17 or WARC/0.18).",
                offset,
            )
        )
        if version[:5].upper() != b"WARC/":
            return HeaderBlock(version, {}, findings)
    plain = _plain_fields(rest)
    if plain is not None:
        return HeaderBlock(version, plain, findings, True)
    text = _decode(rest, offset, findings)
    fields, printable = _header_fields(text, offset, findings)
    return HeaderBlock(version, fields, findings, printable and text.isascii())


def _plain_fields(rest: bytes) -> dict[str, list[str]] | None:
    """The fields of a block of printable ASCII lines with no fold and no malformed line, as
    :func:`_header_fields` reads them; None for any other block (it goes the long way, which
    reports what is wrong). One pass of C string operations: the common block costs a few
    microseconds."""
    if not rest or not rest.isascii():
        return None
    text = rest.decode("ascii")
    if "\r\n " in text or text[0] == " " or not text.replace("\r\n", "").isprintable():
        return None  # a fold, a tab, a control byte, a lone CR or LF
    fields: dict[str, list[str]] = {}
    known = _KNOWN_KEYS
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            return None
        key = known.get(name)
        if key is None:
            key = name.strip().lower()
            if not key:
                return None
        values = fields.get(key)
        if values is None:
            fields[key] = [value.strip()]
        else:
            values.append(value.strip())
    return fields


def _decode(raw: bytes, offset: int, findings: list[Finding]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        findings.append(
            Finding(
                f"the header block of the record at offset {offset} is not valid UTF-8; read as Latin-1.",
                offset,
                "warning",
            )
        )
        return raw.decode("latin-1")


def _strip_lws(value: str) -> str:
    return value.strip(_LWS)


def _header_fields(text: str, offset: int, findings: list[Finding]) -> tuple[dict[str, list[str]], bool]:
    """The fields of ``text`` by lower-cased name, in the order written.

    WARC 1.1 section 4: "field-value = *( field-content | LWS )" and, as in RFC 2616, "Field
    values can be extended over multiple lines by preceding each extra line with at least one
    space or horizontal tab"; the LWS of a fold means one space, and the spaces and tabs around a
    value are not part of it. Only spaces and tabs are stripped: any other byte is the value's,
    and judged with it. Also says whether the block is printable but for its CRLFs (no tab,
    control byte, lone CR or LF, or Unicode space): then ``str.strip()``, faster, strips only what
    ``" \t"`` would.
    """
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None  # the values of the field read last
    printable = text.replace("\r\n", "").isprintable()
    strip: Callable[[str], str] = str.strip if printable else _strip_lws
    for line in text.split("\r\n") if text else []:
        if line[:1] in (" ", "\t") and last is not None:
            more = strip(line)
            if more:
                last[-1] = f"{last[-1]} {more}" if last[-1] else more
            continue
        name, colon, value = line.partition(":")
        name = strip(name)
        if not colon or not name:
            findings.append(Finding(f"the record at offset {offset} has a malformed header line {line[:60]!r}.", offset))
            continue
        last = fields.setdefault(name.lower(), [])
        last.append(strip(value))
    return fields, printable


def judge_headers(block: HeaderBlock, offset: int) -> RecordHeaders:
    """Check the fields the standard requires of the record at ``offset``."""
    findings = _required_findings(block, offset)
    if not block.plain:
        _forbidden_bytes(block, offset, findings)
    get = block.fields.get
    values = get("warc-record-id")
    record_id = values[0] if values else None
    non_urn_id = False
    if record_id is not None:
        if not _RECORD_ID_RE.match(record_id):
            findings.append(
                Finding(f"WARC-Record-ID {record_id[:80]!r} at offset {offset} is not a URI in angle brackets.", offset)
            )
        else:
            non_urn_id = not record_id.startswith("<urn:") and not record_id[1:].lower().startswith("urn:")
    values = get("warc-date")
    date = values[0] if values else None
    if date is not None and not valid_date(date):
        findings.append(Finding(f"WARC-Date {date[:40]!r} at offset {offset} is not a W3C date.", offset))
    values = get("warc-type")
    record_type = values[0] if values else None
    if record_type is not None and record_type not in RECORD_TYPES and record_type.lower() not in RECORD_TYPES:
        findings.append(
            Finding(f"WARC-Type {record_type!r} at offset {offset} is not a standard type.", offset, "warning")
        )
    headers = RecordHeaders(record_id, record_type, date, None, None, findings, non_urn_id=non_urn_id)
    values = get("warc-target-uri")
    _judge_target_uri(values[0] if values else None, headers, offset)
    values = get("content-length")
    value = values[0] if values else None
    if value is not None and value.isdigit() and value.isascii():
        headers.content_length = int(value)
    else:
        headers.content_length = content_length(value, offset, findings)
    return headers


def _required_findings(block: HeaderBlock, offset: int) -> list[Finding]:
    """A required field absent, or given more than once."""
    findings: list[Finding] = []
    fields = block.fields
    for name, key in _REQUIRED_KEYS:
        values = fields.get(key, ())
        if len(values) == 1:
            continue
        if not values:
            findings.append(Finding(f"the record at offset {offset} has no {name} header.", offset))
        elif len(values) > 1:
            findings.append(Finding(f"the record at offset {offset} has {len(values)} {name} headers.", offset))
    return findings


def _forbidden_bytes(block: HeaderBlock, offset: int, findings: list[Finding]) -> None:
    """An error for each value holding a byte its field does not allow (a control byte; outside
    ASCII where a URI, a token or a date is required), naming the field and where."""
    for key, values in block.fields.items():
        rule = _FIELD_RULES.get(key)
        if rule is None:
            continue
        name, what, pattern = rule
        for value in values:
            bad = pattern.search(value)
            if bad is not None:
                findings.append(
                    Finding(
                        f"{name} of the record at offset {offset} holds {bad.group()!r} at character "
                        f"{bad.start()} of its value, which {what} may not contain.",
                        offset,
                    )
                )


def _judge_target_uri(target_uri: str | None, headers: RecordHeaders, offset: int) -> None:
    if target_uri is None:
        if headers.record_type_l in _TARGET_URI_REQUIRED:
            headers.findings.append(
                Finding(f"the {headers.record_type} record at offset {offset} has no WARC-Target-URI.", offset)
            )
        return
    if target_uri.startswith("<") and target_uri.endswith(">"):
        headers.bracketed_uri = True
        target_uri = target_uri[1:-1]
    headers.spaced_uri = _SPACE_RE.search(target_uri) is not None
    headers.target_uri = target_uri


def content_length(value: str | None, offset: int, findings: list[Finding]) -> int | None:
    """Content-Length as a number; None (with a finding when it is present) when it is not one.

    Only ASCII digits count: ``str.isdigit`` also accepts digits such as '²' that ``int`` refuses.
    """
    if value is not None and value.isascii() and value.isdigit():
        return int(value)
    if value is not None:
        findings.append(
            Finding(
                f"Content-Length {value[:30]!r} at offset {offset} is not a number; the rest of the "
                "record cannot be found.",
                offset,
            )
        )
    return None


def valid_date(value: str) -> bool:
    """True for a W3C date (WARC 1.1 allows a fraction of a second) that names a real time."""
    if _PLAIN_DATE_RE.fullmatch(value) is not None:
        return True
    match = _DATE_RE.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second, _fraction, _zone = match.groups()
    try:
        datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
    except ValueError:
        return False
    return True


@dataclass
class HeaderQuirks:
    """Quirks of the header blocks of one file (seen in real crawls), reported once per file."""

    bracketed_uri: Tally
    spaced_uri: Tally
    non_urn_id: Tally
    lower_case_version: Tally
    legacy: dict[str, Tally]  # records of each draft version (WARC/0.17, WARC/0.18)

    @classmethod
    def new(cls) -> HeaderQuirks:
        return cls(Tally(), Tally(), Tally(), Tally(), {})

    def add_version(self, block: HeaderBlock, offset: int) -> None:
        """Note a record whose version line is a draft's, or in lower case."""
        if block.version in VERSIONS:
            return
        if block.lower_case_version:
            self.lower_case_version.add(offset)
        name = block.version_name
        if name in _LEGACY_NAMES:
            self.legacy.setdefault(name, Tally()).add(offset)

    def add(self, headers: RecordHeaders, offset: int) -> None:
        if headers.non_urn_id:
            self.non_urn_id.add(offset)
        if headers.bracketed_uri:
            self.bracketed_uri.add(offset)
        if headers.spaced_uri:
            self.spaced_uri.add(offset)

    def findings(self) -> list[Finding]:
        found: list[Finding] = []
        for version, tally in self.legacy.items():
            found.append(
                Finding(
                    f"{tally.count} record(s) are {version}, first at offset {tally.offset}: a draft of the WARC "
                    "standard (written by Heritrix 1.x/2.x and NetarchiveSuite), checked by that draft's rules.",
                    tally.offset,
                    "warning",
                )
            )
        if self.lower_case_version.count:
            found.append(
                Finding(
                    f"{self.lower_case_version.count} record(s) have their version line in lower case, first at "
                    f"offset {self.lower_case_version.offset}; the standard writes 'WARC/' in capitals.",
                    self.lower_case_version.offset,
                    "warning",
                )
            )
        if self.bracketed_uri.count:
            found.append(
                Finding(
                    f"{self.bracketed_uri.count} record(s) have WARC-Target-URI wrapped in <...> (a known wget "
                    f"quirk), first at offset {self.bracketed_uri.offset}; read without the brackets.",
                    self.bracketed_uri.offset,
                    "warning",
                )
            )
        if self.spaced_uri.count:
            found.append(
                Finding(
                    f"{self.spaced_uri.count} record(s) have a WARC-Target-URI with raw whitespace (not a legal "
                    f"URI; readers escape it as %20), first at offset {self.spaced_uri.offset}.",
                    self.spaced_uri.offset,
                    "warning",
                )
            )
        if self.non_urn_id.count:
            found.append(
                Finding(
                    f"{self.non_urn_id.count} WARC-Record-ID(s) are URIs but not URNs, first at offset "
                    f"{self.non_urn_id.offset}.",
                    self.non_urn_id.offset,
                    "warning",
                )
            )
        return found
