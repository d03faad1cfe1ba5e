"""Citations of cables in cable text: the REF formats of real cables, and what is not one."""

from __future__ import annotations

import pytest

from cablekeep.cables.citations import KNOWN_ORIGINS, Citation, iter_citations

# (text, citing cable, expected canonical IDs in order)
CITING_LINES: list[tuple[str, str | None, list[str]]] = [
    # lettered lists
    ("REF: A. ASTANA 1628 B. ASTANA 1626", "06ASTANA2000", ["06ASTANA1628", "06ASTANA1626"]),
    ("Ref: A) 05 Almaty 4353 B) Almaty 1437", "06ALMATY100", ["05ALMATY4353", "06ALMATY1437"]),
    ("REF: (A) ISTANBUL 1144 (B) ANKARA 4021", "05ANKARA1", ["05ISTANBUL1144", "05ANKARA4021"]),
    ("REF: A. TASHKENT 1012 B. BISHKEK 755 C. DUSHANBE 1503", "05ALMATY1",
     ["05TASHKENT1012", "05BISHKEK755", "05DUSHANBE1503"]),
    ("REF: A. MOSCOW 12345 B. BEIJING 6789 C. LONDON 4321 D. PARIS 1111", "07STATE1",
     ["07MOSCOW12345", "07BEIJING6789", "07LONDON4321", "07PARIS1111"]),
    ("REFTELS: A) 05 TASHKENT 2001, B) 05 TASHKENT 2010", "06ALMATY1",
     ["05TASHKENT2001", "05TASHKENT2010"]),
    ("REF: A) STATE 112233; B) USNATO 455", "05ALMATY1", ["05STATE112233", "05USNATO455"]),
    ("REF: A. STATE 1234 B. 05 STATE 5678 C. USOSCE 212", "06ALMATY1",
     ["06STATE1234", "05STATE5678", "06USOSCE212"]),
    # a single reference, with and without a year
    ("REF: 06 ASTANA 919", "07ASTANA5", ["06ASTANA919"]),
    ("REF: 04 ASHGABAT 1290", "05ALMATY1", ["04ASHGABAT1290"]),
    ("REFTEL: STATE 98765", "05ALMATY1", ["05STATE98765"]),
    ("Ref: 07 Bishkek 1234", "08BISHKEK1", ["07BISHKEK1234"]),
    ("REF: A. ALMATY 0412", "05ALMATY1", ["05ALMATY412"]),
    ("REFERENCE: 09 KABUL 3340", "09STATE1", ["09KABUL3340"]),
    # SECSTATE is STATE
    ("REF: A. STATE 112233 B. SECSTATE 4455", "05ALMATY1", ["05STATE112233", "05STATE4455"]),
    ("REF: 08 SECSTATE 4455", "09ALMATY1", ["08STATE4455"]),
    # multi-word origins
    ("REF: BUENOS AIRES 1234", "09BUENOSAIRES5", ["09BUENOSAIRES1234"]),
    ("REF: A. KUALA LUMPUR 987 B. 07 KUALA LUMPUR 12", "08STATE1",
     ["08KUALALUMPUR987", "07KUALALUMPUR12"]),
    ("REF: USUN NEW YORK 1022", "08STATE1", ["08USUNNEWYORK1022"]),
    ("REF: A. THE HAGUE 55 B. THE HAGUE 2101", "06STATE1", ["06THEHAGUE55", "06THEHAGUE2101"]),
    ("REF: 09 RIO DE JANEIRO 123", "09BRASILIA1", ["09RIODEJANEIRO123"]),
    ("REF: A. HO CHI MINH CITY 456 B. HANOI 789", "06HANOI1", ["06HOCHIMINHCITY456", "06HANOI789"]),
    ("REF: PORT AU PRINCE 1450", "08STATE1", ["08PORTAUPRINCE1450"]),
    ("REF: A. USEU BRUSSELS 2233 B. BRUSSELS 4455", "06STATE1",
     ["06USEUBRUSSELS2233", "06BRUSSELS4455"]),
    ("REF: ST PETERSBURG 150", "07MOSCOW1", ["07STPETERSBURG150"]),
    # bare IDs and spaced IDs inside the text
    ("2. (SBU) AS REPORTED IN 05ALMATY2401, THE GOK REFUSED ACCESS.", "05ALMATY2503",
     ["05ALMATY2401"]),
    ("3. (C) PER 06 STATE 12345, POST DELIVERED THE POINTS.", "06ALMATY1", ["06STATE12345"]),
    ("(SBU) PER STATE 112233, EMBASSY DELIVERED A NON-PAPER.", "05ALMATY1", ["05STATE112233"]),
    ("as reported in ref A (05 Almaty 4353), the MFA declined", "06ALMATY1", ["05ALMATY4353"]),
    ("SEE ALSO 05ASTANA1626 AND 05ASTANA1628.", "05ALMATY1", ["05ASTANA1626", "05ASTANA1628"]),
    ("Background in 09BUENOSAIRES117 and 08USUNNEWYORK1022.", "09STATE1",
     ["09BUENOSAIRES117", "08USUNNEWYORK1022"]),
    # a REF line spread over two lines, an ID broken across the line end
    ("REF: A. ALMATY 1234\n     B. ALMATY 1301\n\nClassified By: Ambassador John Ordway",
     "05ALMATY2", ["05ALMATY1234", "05ALMATY1301"]),
    ("REF: A) 05 ALMATY 4353 B) 05\n     ALMATY 1437\n\n1. (C) SUMMARY", "06ALMATY1",
     ["05ALMATY4353", "05ALMATY1437"]),
    ("REF: A. BUENOS\n  AIRES 1234", "06STATE1", ["06BUENOSAIRES1234"]),
    # lists with AND, serials sharing an origin
    ("REFS: ASTANA 1628 AND 1626", "05ALMATY1", ["05ASTANA1628", "05ASTANA1626"]),
    ("REF: STATE 1234, 1236 AND 1240", "05ALMATY1", ["05STATE1234", "05STATE1236", "05STATE1240"]),
    ("REF: A. ALMATY 1234 AND ASTANA 567", "05ALMATY1", ["05ALMATY1234", "05ASTANA567"]),
    ("REF: STATE 1234, 05 ALMATY 1437", "06ALMATY9", ["06STATE1234", "05ALMATY1437"]),
    # (NOTAL)
    ("REF: ALMATY 1234 (NOTAL)", "05ALMATY1", ["05ALMATY1234"]),
    ("REF: A. 05 ALMATY 1235 B. 05 ALMATY 1437 (NOTAL)", "06ALMATY1",
     ["05ALMATY1235", "05ALMATY1437"]),
    ("REF: A. TBILISI 1501 (NOTAL) B. 05 BAKU 877 (NOTAL) C. YEREVAN 1032", "06ALMATY1",
     ["06TBILISI1501", "05BAKU877", "06YEREVAN1032"]),
    ("REF: ALMATY 1234 (NOTAL) AND 1301", "05ALMATY1", ["05ALMATY1234", "05ALMATY1301"]),
    # a post missing from KNOWN_ORIGINS, in a REF block
    ("REF: A. MAJURO 123 B. 05 MAJURO 45", "06STATE1", ["06MAJURO123", "05MAJURO45"]),
    # item letters after a serial are not part of it
    ("REF: A. ASTANA 1626 B. 1628", "05ALMATY9", ["05ASTANA1626"]),
    ("AS NOTED IN REF (ASTANA 1626 B), THE GOK", "05ALMATY9", ["05ASTANA1626"]),
    # de-duplicated, in order of first appearance; the cable's own ID left out
    ("REF: A. ASTANA 1628 B. ASTANA 1628", "05ALMATY1", ["05ASTANA1628"]),
    ("REF: A. 05 ALMATY 4353 B. ALMATY 4353 C. 05ALMATY4353", "05ALMATY1", ["05ALMATY4353"]),
    ("REF: A. ALMATY 2503 B. ALMATY 2401", "05ALMATY2503", ["05ALMATY2401"]),
    # the header line is skipped, the REF after it is not
    ("CONFIDENTIAL SECTION 01 OF 02 ASTANA 001234\n\nREF: ASTANA 1200", "06ASTANA1234",
     ["06ASTANA1200"]),
    ("UNCLAS ALMATY 002503\n\nSIPDIS\n\nREF: A. STATE 112233 B. ASTANA 1626\n\n1. (SBU) SUMMARY",
     "05ALMATY2503", ["05STATE112233", "05ASTANA1626"]),
]

NOT_CITING_LINES: list[tuple[str, str | None]] = [
    ("UNCLAS ALMATY 002503", "05ALMATY2503"),
    ("UNCLAS ALMATY 002503", None),
    ("CONFIDENTIAL SECTION 01 OF 02 ASTANA 001234", None),
    ("C O N F I D E N T I A L SECTION 02 OF 03 MOSCOW 012345", None),
    ("SECRET//NOFORN STATE 123456", None),
    ("PAGE 02 MOSCOW 01234 01 OF 02 151234Z", None),
    ("INFO RUEHTA/AMEMBASSY ASTANA 0892", "05ALMATY1"),
    ("RUEHTA/AMEMBASSY ASTANA 0892", "05ALMATY1"),
    ("E.O. 12958: N/A", "05ALMATY1"),
    ("E.O. 12958: DECL: 07/06/2015", "05ALMATY1"),
    ("TAGS: PGOV, PREL, KDEM, PHUM, PINR, SMIG, IO, UZ, KZ, POLITICAL", "05ALMATY1"),
    ("ON JULY 4 2005, MIGRATION POLICE IN ALMATY DETAINED THE FAMILY.", "05ALMATY1"),
    ("Migration Police in Almaty, however, detained the entire family on July 4", "05ALMATY1"),
    ("11. (U) Minimize for Dushanbe considered.", "05ALMATY2503"),
    ("THE SCO SUMMIT IN ASTANA\n2. (SBU) RAO SAID", "05ALMATY1"),
    ("CONSIDERED IN DUSHANBE 11. (U) MINIMIZE", "05ALMATY1"),
    ("AS REPORTED REFTEL, THE GOK REMAINS NONCOMMITTAL.", "05ALMATY1"),
    ("REFTEL", "05ALMATY1"),
    ("SEE PARA 4 REFTEL.", "05ALMATY1"),
    ("REF: PARA 3 OF REFTEL", "05ALMATY1"),
    ("REF: A. MEETING ON 12 JULY 2005 B. UNSCR 1559", "05ALMATY1"),
    ("CLASSIFIED BY: AMBASSADOR JOHN ORDWAY, REASONS 1.4 (B) AND (D)", "05ALMATY1"),
    ("THE BEIJING 2008 OLYMPICS", "05ALMATY1"),
    ("SUBJECT: KAZAKHSTAN: ALMATY 2005 ELECTIONS", "05ALMATY1"),
    ("THE CAMP IS ALMATY 45 KM NORTH OF THE BORDER", "05ALMATY1"),
    ("SOME 1,234 REFUGEES CROSSED ON 04JUL2005", "05ALMATY1"),
    ("REF: ALMATY 1234", None),
    ("Almaty 4353 was cited", "05ALMATY1"),
]


@pytest.mark.parametrize(("text", "citing_id", "expected"), CITING_LINES)
def test_citing_lines(text: str, citing_id: str | None, expected: list[str]) -> None:
    assert [c.cable_id for c in iter_citations(text, citing_id)] == expected


def test_the_table_is_big_enough() -> None:
    assert len(CITING_LINES) >= 40


@pytest.mark.parametrize(("text", "citing_id"), NOT_CITING_LINES)
def test_lines_that_cite_nothing(text: str, citing_id: str | None) -> None:
    assert list(iter_citations(text, citing_id)) == []


def test_written_is_the_text_with_white_space_collapsed() -> None:
    text = "REF: A) 05 Almaty 4353 B) 05\n     ALMATY 1437 C) SECSTATE 4455 AND 4460"
    assert list(iter_citations(text, "06ALMATY1")) == [
        Citation("05 Almaty 4353", "05ALMATY4353"),
        Citation("05 ALMATY 1437", "05ALMATY1437"),
        Citation("SECSTATE 4455", "06STATE4455"),
        Citation("4460", "06STATE4460"),
    ]


def test_a_ref_block_inside_a_flattened_text() -> None:
    text = (
        "CONFIDENTIAL ASTANA 001700 SIPDIS E.O. 12958: DECL: 07/06/2015 TAGS: PREL, KZ "
        "SUBJECT: SCO SUMMIT REF: A. ASTANA 1628 B. ASTANA 1626 Classified By: Ambassador "
        "John Ordway, Reasons 1.4 (b) and (d) 1. (C) SUMMARY: THE SCO MET IN ASTANA 5 JULY."
    )
    assert [c.cable_id for c in iter_citations(text, "05ASTANA1700")] == [
        "05ASTANA1628",
        "05ASTANA1626",
    ]


def test_known_origins_include_the_posts_named_in_the_brief() -> None:
    for origin in ("BUENOS AIRES", "KUALA LUMPUR", "USUN NEW YORK", "THE HAGUE", "ALMATY",
                   "ASTANA", "TASHKENT", "BISHKEK", "DUSHANBE", "ASHGABAT", "MOSCOW", "BEIJING",
                   "LONDON", "PARIS", "ISTANBUL", "ANKARA", "STATE", "SECSTATE"):  # fmt: skip
        assert origin in KNOWN_ORIGINS
    assert all(origin == " ".join(origin.split()) and origin.isupper() for origin in KNOWN_ORIGINS)
