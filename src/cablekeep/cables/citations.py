"""Citations of other cables found in a cable's text.

What is accepted (letters are matched in any case unless said otherwise)::

    citation  = [year WS] origin WS serial   "06 ASTANA 919", "Almaty 1437", "USUN NEW YORK 1022"
              | year origin serial           "05ALMATY2401" (capitals, known origin, no spaces)
    year      = two digits standing alone, not after "OF" (so "SECTION 01 OF 02 ASTANA 001234"
                has no year 02); without one, the citation takes the citing cable's year
    origin    = a post in KNOWN_ORIGINS, its words separated by spaces; the longest one wins
                ("BUENOS AIRES", "KUALA LUMPUR", "THE HAGUE"); SECSTATE is STATE
              | in a REF block only: any other word of 4+ letters that is not a stop word
                (PARA, JULY, UNSCR, ...), when it starts a list item and comes with a year or a
                serial of 3+ digits ("REF: A. MAJURO 123")
    serial    = 1 to 6 digits, leading zeros dropped; not followed by a letter, a digit, "/", "%",
                or "-", "." or "," and a digit; a serial of 1-2 digits followed by ". (" is a
                paragraph number, not a serial
    REF block = "REF", "REFS", "REFTEL", "REFTELS", "REFERENCE" or "REFERENCES" then ":", up to
                the first blank line, header keyword (CLASSIFIED BY, SUBJECT:, TAGS:, E.O.,
                SUMMARY, DECL:, ...) or paragraph number, and at most 800 characters
    list      = items marked "A.", "A)" or "(A)" and separated by spaces, ",", ";" or "AND",
                each optionally followed by "(NOTAL)"; in a REF block a bare serial of 3+ digits
                after ",", ";", "&" or "AND" reuses the previous item's year and origin
                ("REFS: ASTANA 1628 AND 1626")

Where the parts may be separated: in a REF block by any white space, line breaks included (a REF
list spread over lines, or an ID broken across a line); elsewhere only by spaces on one line, so
a post name at the end of a line never takes the next paragraph's number. Outside REF blocks a
citation without a year must have its origin in capitals and a serial of 3+ digits that does not
look like a calendar year ("PER STATE 112233" is one, "THE BEIJING 2008 OLYMPICS" is not).

Never a citation: the cable's own ID, its classification header line ("UNCLAS ALMATY 002503",
"CONFIDENTIAL SECTION 01 OF 02 ASTANA 001234", "PAGE 02 MOSCOW 01234"), telegram address lines
("INFO RUEHTA/AMEMBASSY ASTANA 0892": a sequence number), "REFTEL" as a bare word, "E.O. 12958",
TAGS lines, dates such as "JULY 4 2005", paragraph numbers and item letters ("ASTANA 1626 B").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .cableid import cable_year, normalise_cable_id

__all__ = ["KNOWN_ORIGINS", "Citation", "iter_citations"]


@dataclass(frozen=True)
class Citation:
    """One cable cited in a text: as ``written`` (white space collapsed) and its canonical ID."""

    written: str
    cable_id: str

    def __reduce__(self) -> tuple[type[Citation], tuple[str, str]]:
        # pickled by its fields (crawl workers send them back), as Link is
        return (Citation, (self.written, self.cable_id))


# Posts as they are written in cable text (embassies, consulates, missions, the Department).
_KNOWN_ORIGINS_TEXT = """
    ABU DHABI|ABUJA|ACCRA|ADANA|ADDIS ABABA|AIT TAIPEI|ALGIERS|ALMATY|AMMAN|AMSTERDAM|ANKARA|
    ANTANANARIVO|APIA|ASHGABAT|ASMARA|ASTANA|ASUNCION|ATHENS|AUCKLAND|BAGHDAD|BAKU|BAMAKO|
    BANDAR SERI BEGAWAN|BANGKOK|BANGUI|BANJUL|BARCELONA|BASRAH|BEIJING|BEIRUT|BELFAST|BELGRADE|
    BELMOPAN|BERLIN|BERN|BISHKEK|BOGOTA|BOMBAY|BRASILIA|BRATISLAVA|BRAZZAVILLE|BRIDGETOWN|
    BRUSSELS|BUCHAREST|BUDAPEST|BUENOS AIRES|BUJUMBURA|CAIRO|CALCUTTA|CANBERRA|CAPE TOWN|
    CARACAS|CASABLANCA|CHENGDU|CHENNAI|CHIANG MAI|CHISINAU|CIUDAD JUAREZ|COLOMBO|CONAKRY|
    COPENHAGEN|COTONOU|CURACAO|DAKAR|DAMASCUS|DAR ES SALAAM|DHAHRAN|DHAKA|DILI|DJIBOUTI|DOHA|
    DUBAI|DUBLIN|DURBAN|DUSHANBE|DUSSELDORF|FLORENCE|FRANKFURT|FREETOWN|GABORONE|GENEVA|
    GEORGETOWN|GUADALAJARA|GUANGZHOU|GUATEMALA|GUAYAQUIL|HALIFAX|HAMBURG|HAMILTON|HANOI|HARARE|
    HAVANA|HELSINKI|HERMOSILLO|HILLAH|HO CHI MINH CITY|HONG KONG|ISLAMABAD|ISTANBUL|IZMIR|
    JAKARTA|JEDDAH|JERUSALEM|JOHANNESBURG|KABUL|KAMPALA|KARACHI|KATHMANDU|KHARTOUM|KIEV|KIGALI|
    KINGSTON|KINSHASA|KIRKUK|KOLKATA|KOLONIA|KOROR|KRAKOW|KUALA LUMPUR|KUWAIT|KYIV|LAGOS|LAHORE|
    LA PAZ|LEIPZIG|LIBREVILLE|LILONGWE|LIMA|LISBON|LJUBLJANA|LOME|LONDON|LUANDA|LUSAKA|
    LUXEMBOURG|MADRAS|MADRID|MALABO|MANAGUA|MANAMA|MANILA|MAPUTO|MARSEILLE|MASERU|MATAMOROS|
    MBABANE|MELBOURNE|MERIDA|MEXICO|MILAN|MINSK|MONROVIA|MONTERREY|MONTEVIDEO|MONTREAL|MOSCOW|
    MOSUL|MUMBAI|MUNICH|MUSCAT|NAHA|NAIROBI|NAPLES|NASSAU|NDJAMENA|NEW DELHI|NIAMEY|NICOSIA|
    NOGALES|NOUAKCHOTT|NUEVO LAREDO|OSAKA KOBE|OSLO|OTTAWA|OUAGADOUGOU|PANAMA|PARAMARIBO|PARIS|
    PERTH|PESHAWAR|PHNOM PENH|PODGORICA|PORT AU PRINCE|PORT LOUIS|PORT MORESBY|PORT OF SPAIN|
    PORTO ALEGRE|PRAGUE|PRAIA|PRETORIA|PRISTINA|QUEBEC|QUITO|RABAT|RANGOON|RECIFE|REYKJAVIK|
    RIGA|RIO DE JANEIRO|RIYADH|ROME|SANAA|SAN JOSE|SAN SALVADOR|SANTIAGO|SANTO DOMINGO|
    SAO PAULO|SAPPORO|SARAJEVO|SECSTATE|SEOUL|SHANGHAI|SHENYANG|SINGAPORE|SKOPJE|SOFIA|
    ST PETERSBURG|STATE|STOCKHOLM|SURABAYA|SUVA|SYDNEY|TAIPEI|TALLINN|TASHKENT|TBILISI|
    TEGUCIGALPA|TEL AVIV|THE HAGUE|TIJUANA|TIRANA|TOKYO|TORONTO|TRIPOLI|TUNIS|ULAANBAATAR|
    UNVIE VIENNA|USEU BRUSSELS|USNATO|USOSCE|USUN NEW YORK|VALLETTA|VANCOUVER|VATICAN|VIENNA|
    VIENTIANE|VILNIUS|VLADIVOSTOK|WARSAW|WELLINGTON|WINDHOEK|YAOUNDE|YEKATERINBURG|YEREVAN|ZAGREB
"""
KNOWN_ORIGINS: frozenset[str] = frozenset(
    " ".join(name.split()) for name in _KNOWN_ORIGINS_TEXT.split("|")
)

# Words a REF block puts before a number without it being a cable ("REF: PARA 3", "UNSCR 1559").
_STOP_WORDS = frozenset(
    """
    JANUARY FEBRUARY MARCH APRIL MAY JUNE JULY AUGUST SEPTEMBER OCTOBER NOVEMBER DECEMBER
    JAN FEB MAR APR JUN JUL AUG SEP SEPT OCT NOV DEC MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY
    PARA PARAS PARAGRAPH PARAGRAPHS PAGE PAGES SECTION SECTIONS PART ITEM ITEMS NOTE NOTES
    ANNEX TAB ARTICLE DECREE RESOLUTION UNSCR UNSC UNGA LAW CODE ORDER DIRECTIVE NUMBER NUMBERS
    REF REFS REFTEL REFTELS SEPTEL CABLE CABLES TELEGRAM MESSAGE MEETING EMAIL LETTER DIPNOTE
    DATED REASON REASONS NOTAL DECL YEAR YEARS PHONE ROOM FROM WITH THAN OVER ABOUT SINCE
    """.split()
)

_KNOWN_COMPACT = frozenset(origin.replace(" ", "") for origin in KNOWN_ORIGINS)
_SINGLE_WORD_ORIGINS = frozenset(origin for origin in KNOWN_ORIGINS if " " not in origin)


def _multi_word_index() -> dict[str, tuple[re.Pattern[str], ...]]:
    """For the last word of each multi-word origin, patterns for the words before it."""
    index: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
    for origin in KNOWN_ORIGINS:
        *head, last = origin.split(" ")
        if head:
            pattern = re.compile(
                r"(?<![\w.])" + r"\s+".join(head) + r"(?P<sep>\s+)\Z", re.IGNORECASE
            )
            index.setdefault(last, []).append((len(head), pattern))
    return {
        last: tuple(p for _, p in sorted(items, key=lambda item: -item[0]))
        for last, items in index.items()
    }


_MULTI_WORD_HEADS = _multi_word_index()

# A word directly followed by a number: the last word of an origin and the serial.
_CANDIDATE_RE = re.compile(
    r"(?<![\w.\-/])(?P<word>[A-Za-z]+)(?P<sep>\s+)(?P<serial>\d{1,6})(?![\w/%]|[.,\-]\d)"
)
_COMPACT_RE = re.compile(r"\b(?P<year>\d{2})(?P<origin>[A-Z]{3,})(?P<serial>\d{1,6})\b")
_YEAR_BEFORE_RE = re.compile(
    r"(?<![\w.])(?<!OF\s)(?<!PAGE\s)(?P<year>\d{2})(?P<sep>\s+)\Z", re.IGNORECASE
)
# Telegram address lines ("INFO RUEHTA/AMEMBASSY ASTANA 0892"): the number is a sequence number.
_ADDRESSEE_BEFORE_RE = re.compile(r"\b(?:AMEMBASSY|AMCONSUL|AMCONSULATE|USMISSION|USDEL)\s+\Z")
_ADDRESS_LINE_RE = re.compile(r"\s*(?:FM|TO|INFO|XMT|CC)\s")
_PARAGRAPH_AFTER_RE = re.compile(r"\.\s*\(")
_REF_START_RE = re.compile(r"\bREF(?:S|TELS?|ERENCES?)?\s*:", re.IGNORECASE)
_REF_END_RE = re.compile(
    r"\n[ \t]*\n"
    r"|\b(?:CLASSIFIED\s+BY|CLASSIFICATION|DERIVED\s+FROM|DECL\w*\s*:|SUBJECT\s*:|TAGS\s*:"
    r"|BEGIN\s+SUMMARY|SUMMARY|SIPDIS|SENSITIVE)\b"
    r"|\bE\.\s?O\."
    r"|\n[ \t]*\d{1,2}\.\s"
    r"|(?<![\w.])\d{1,2}\.\s+\([A-Z/]{1,12}\)",
    re.IGNORECASE,
)
_REF_MAX_CHARS = 800
# A list item starts after "REF:", a separator, an item mark ("A.", "A)", "(A)"), "AND" or a number.
_ITEM_START_RE = re.compile(r"(?:[:,;(&/)]|\d|(?<![A-Za-z])[A-Za-z][.)]|\bAND)\s*\Z", re.IGNORECASE)
_CONTINUATION_RE = re.compile(
    r"\s*(?:\(NOTAL\)\s*)?(?:[,;&]|\bAND\b)\s*(?P<serial>\d{3,6})(?![\w/%]|[.,\-]\d)",
    re.IGNORECASE,
)
# The classification line that heads a cable (and each of its sections) and carries its own ID.
_HEADER_PREFIX_RE = re.compile(
    r"\s*(?:UNCLAS(?:SIFIED)?|CONFIDENTIAL|SECRET|LIMITED\s+OFFICIAL\s+USE"
    r"|C\s+O\s+N\s+F\s+I\s+D\s+E\s+N\s+T\s+I\s+A\s+L|S\s+E\s+C\s+R\s+E\s+T|U\s+N\s+C\s+L\s+A\s+S"
    r"|PAGE\s+\d+)"
    r"(?:[\s/]+(?:E\s?F\s?T\s?O|SENSITIVE|NOFORN|SIPDIS|EXDIS|NODIS|LIMDIS|STADIS|FOUO|SBU"
    r"|FOR\s+OFFICIAL\s+USE\s+ONLY|SECTION\s+\d+\s+OF\s+\d+|PART\s+\d+\s+OF\s+\d+))*\s+"
)


@dataclass(frozen=True)
class _Origin:
    """An origin found before a serial: where it starts, how it is written, how it is known."""

    start: int
    written: str
    known: bool
    one_line: bool


def iter_citations(text: str, citing_id: str | None) -> Iterator[Citation]:
    """The cables cited in ``text``, each once, in order of first appearance.

    ``citing_id`` is the canonical ID of the cable the text belongs to: it gives the year of
    citations written without one and is never reported itself. Without it, citations that have
    no year are skipped (there is no year to give them).
    """
    default_year = cable_year(citing_id) if citing_id else None
    candidates, compacts = _scan(text)
    found = sorted(
        [
            *_iter_compact(compacts),
            *_iter_spaced(text, candidates, default_year),
        ],
        key=lambda item: item[0],
    )
    seen = {citing_id} if citing_id else set()
    for _, citation in found:
        if citation.cable_id not in seen:
            seen.add(citation.cable_id)
            yield citation


# ASCII digits to "#", every other ASCII character to " ": the runs of digits are then found with
# str.find, four times faster than a regex stepping through the text.
_DIGIT_MASK = str.maketrans({chr(code): "#" if chr(code).isdigit() else " " for code in range(128)})
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _scan(text: str) -> tuple[list[re.Match[str]], list[re.Match[str]]]:
    """The matches of ``_CANDIDATE_RE`` and of ``_COMPACT_RE`` in ``text``, as ``finditer`` gives them.

    Both end with a serial that starts a run of digits, and digits are rare in a cable's text: in
    ASCII text each run of digits is looked at, and each regex is tried only where it can start
    (the word before the run's white space; the run itself when it is two digits before capitals).
    Scanning the whole text with each regex took most of the time spent on citations. Text with
    other characters (where the regexes' digits and white space are more than ASCII ones) is
    scanned by the regexes.
    """
    if not text.isascii():
        return list(_CANDIDATE_RE.finditer(text)), list(_COMPACT_RE.finditer(text))
    candidates: list[re.Match[str]] = []
    compacts: list[re.Match[str]] = []
    candidate_end = compact_end = 0
    for start, end in _digit_runs(text):
        if end - start == 2 and start >= compact_end and text[end : end + 3].isupper():
            compact = _COMPACT_RE.match(text, start)
            if compact is not None:
                compacts.append(compact)
                compact_end = compact.end()
        space = start
        while space > 0 and text[space - 1].isspace():
            space -= 1
        word = space
        while word > 0 and text[word - 1] in _ASCII_LETTERS:
            word -= 1
        if space < start and word < space and word >= candidate_end:
            candidate = _CANDIDATE_RE.match(text, word)
            if candidate is not None:
                candidates.append(candidate)
                candidate_end = candidate.end()
    return candidates, compacts


def _digit_runs(text: str) -> Iterator[tuple[int, int]]:
    """Start and end of each run of ASCII digits in ``text`` (ASCII), in order."""
    marked = text.translate(_DIGIT_MASK)
    start = marked.find("#")
    while start >= 0:
        end = marked.find(" ", start)
        if end < 0:
            yield start, len(marked)
            return
        yield start, end
        start = marked.find("#", end)


def _iter_compact(matches: list[re.Match[str]]) -> Iterator[tuple[int, Citation]]:
    for match in matches:
        if match.group("origin") in _KNOWN_COMPACT:
            cable_id = normalise_cable_id(match.group(0))
            if cable_id is not None:
                yield match.start(), Citation(match.group(0), cable_id)


def _iter_ref_starts(text: str) -> Iterator[re.Match[str]]:
    """``_REF_START_RE.finditer(text)``; in ASCII text, tried only where "ref" is written."""
    if not text.isascii():  # case-insensitive matching is more than lower() outside ASCII
        yield from _REF_START_RE.finditer(text)
        return
    lowered = text.lower()
    position = lowered.find("ref")
    while position >= 0:
        match = _REF_START_RE.match(text, position)
        if match is not None:
            yield match
            position = lowered.find("ref", match.end())
        else:
            position = lowered.find("ref", position + 1)


def _ref_blocks(text: str) -> list[tuple[int, int]]:
    """Start and end of each REF block, in order and not overlapping."""
    blocks: list[tuple[int, int]] = []
    for match in _iter_ref_starts(text):
        if blocks and match.start() < blocks[-1][1]:
            continue
        limit = min(len(text), match.end() + _REF_MAX_CHARS)
        end = _REF_END_RE.search(text, match.end(), limit)
        blocks.append((match.start(), end.start() if end else limit))
    return blocks


def _find_origin(text: str, word_start: int, word: str) -> _Origin:
    """The origin ending with ``word``: the longest known one, else the word alone."""
    upper = word.upper()
    heads = _MULTI_WORD_HEADS.get(upper, ())
    if heads:
        before = text[max(0, word_start - 60) : word_start]
        for pattern in heads:
            match = pattern.search(before)
            if match is not None:
                start = word_start - (len(before) - match.start())
                written = text[start : word_start + len(word)]
                return _Origin(start, written, True, "\n" not in written)
    return _Origin(word_start, word, upper in _SINGLE_WORD_ORIGINS, True)


def _iter_spaced(
    text: str, candidates: list[re.Match[str]], default_year: str | None
) -> Iterator[tuple[int, Citation]]:
    blocks = _ref_blocks(text)
    block_starts = [start for start, _ in blocks]
    resume = 0
    for match in candidates:
        if match.start() < resume:
            continue
        upper = match.group("word").upper()
        if upper not in _SINGLE_WORD_ORIGINS and upper not in _MULTI_WORD_HEADS:
            # an unknown word is a citation only in a REF block ("REF: A. MAJURO 123"): out of
            # every block, it is left out before the work below (which would refuse it)
            index = bisect.bisect_right(block_starts, match.start()) - 1
            if index < 0 or match.end() > blocks[index][1]:
                continue
        origin = _find_origin(text, match.start("word"), match.group("word"))
        serial = match.group("serial")
        before = text[max(0, origin.start - 40) : origin.start]
        year_match = _YEAR_BEFORE_RE.search(before)
        start = origin.start - (len(before) - year_match.start()) if year_match else origin.start
        end = match.end()

        index = bisect.bisect_right(block_starts, start) - 1
        block = blocks[index] if index >= 0 and end <= blocks[index][1] else None
        if block is not None:
            accepted = _accept_in_ref(text, block[0], start, end, origin, serial, year_match)
        else:
            accepted = _accept_in_prose(text, end, origin, serial, year_match, match.group("sep"))
        if not accepted or _is_header_or_address(text, start):
            continue

        written = " ".join(text[start:end].split())
        cable_id = normalise_cable_id(written, default_year)
        if cable_id is None:
            continue
        yield start, Citation(written, cable_id)
        resume = end
        if block is not None:
            year = year_match.group("year") if year_match else ""
            for serial_start, serial_end, continued in _iter_continued(text, end, block[1]):
                resume = serial_end
                written_in_full = f"{year} {origin.written} {continued}"
                continued_id = normalise_cable_id(written_in_full, default_year)
                if continued_id is not None:
                    yield serial_start, Citation(continued, continued_id)


def _accept_in_ref(
    text: str,
    block_start: int,
    start: int,
    end: int,
    origin: _Origin,
    serial: str,
    year_match: re.Match[str] | None,
) -> bool:
    if len(serial) <= 2 and _PARAGRAPH_AFTER_RE.match(text, end):
        return False
    if origin.known:
        return True
    word = origin.written.upper()
    if len(word) < 4 or word in _STOP_WORDS or (year_match is None and len(serial) < 3):
        return False
    return _ITEM_START_RE.search(text[max(block_start, start - 12) : start]) is not None


def _accept_in_prose(
    text: str,
    end: int,
    origin: _Origin,
    serial: str,
    year_match: re.Match[str] | None,
    sep: str,
) -> bool:
    if not origin.known or not origin.one_line or "\n" in sep:
        return False
    if year_match is not None:
        return "\n" not in year_match.group("sep")
    looks_like_year = len(serial) == 4 and serial[:2] in ("19", "20")
    return origin.written.isupper() and len(serial) >= 3 and not looks_like_year


def _iter_continued(text: str, pos: int, block_end: int) -> Iterator[tuple[int, int, str]]:
    """Bare serials continuing a REF item, as (start, end, serial): "ASTANA 1628 AND 1626"."""
    while (match := _CONTINUATION_RE.match(text, pos, block_end)) is not None:
        yield match.start("serial"), match.end(), match.group("serial")
        pos = match.end()


def _is_header_or_address(text: str, start: int) -> bool:
    """True when ``start`` follows the classification header of its line ("UNCLAS ALMATY 002503",
    "PAGE 02 MOSCOW 01234") or is in a telegram address ("INFO AMEMBASSY ASTANA 0892")."""
    line_start = text.rfind("\n", 0, start) + 1
    return (
        _HEADER_PREFIX_RE.fullmatch(text, line_start, start) is not None
        or _ADDRESS_LINE_RE.match(text, line_start, start) is not None
        or _ADDRESSEE_BEFORE_RE.search(text, max(line_start, start - 20), start) is not None
    )
