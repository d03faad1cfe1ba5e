"""The citation scanner's fast paths give what the regexes give when they scan the whole text.

``citations._scan`` tries the candidate and compact regexes only before runs of digits, and
``_iter_ref_starts`` only where "ref" is written: on many generated texts (REF blocks, dates,
paragraph numbers, IDs, odd separators, non-ASCII digits and spaces) their matches must be the
ones ``finditer`` finds, and the citations the same as with ``finditer``.
"""

from __future__ import annotations

import random
import re

import pytest

from cablekeep.cables import citations
from cablekeep.cables.citations import _CANDIDATE_RE, _COMPACT_RE, _REF_START_RE, iter_citations

WORDS = (
    "ASTANA", "Almaty", "almaty", "STATE", "SECSTATE", "MAJURO", "USUN", "NEW", "YORK", "BUENOS",
    "AIRES", "THE", "HAGUE", "July", "JULY", "PARA", "Page", "PAGE", "SECTION", "OF", "UNCLAS",
    "INFO", "AMEMBASSY", "REF", "Ref", "REFS", "reftel", "REFERENCES", "E.O.", "TAGS", "SUBJECT",
    "SUMMARY", "A.", "B)", "(C)", "(NOTAL)", "AND", "and", "x", "é", "Zürich", "x.ASTANA",
    "a/ASTANA", "ALMATY_", "05ALMATY2503", "09ASTANA12", "06STATE30411", "5ASTANA1", "05XYZ12",
    "ASTANA0892", "٣ASTANA", "1.", "2.", "(SBU)",
)  # fmt: skip
NUMBERS = (
    "1", "12", "123", "1628", "0892", "05", "06", "2008", "112233", "1234567", "12.5", "3-4",
    "5%", "7/8", "12A", "٣٤٥", "4,5", "99.", "10-", "000123",
)  # fmt: skip
SEPARATORS = (" ", " ", " ", "  ", "\n", "\n\n", "\t", ", ", "; ", ". ", "-", "/", ":", ": ", "\x1c", "\xa0", "\u2003", "")


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 30)):
            parts.append(rng.choice(WORDS if rng.random() < 0.55 else NUMBERS))
            parts.append(rng.choice(SEPARATORS))
        text = "".join(parts)
        if rng.random() < 0.5:  # most real texts are ASCII: the fast path
            text = text.encode("ascii", "ignore").decode("ascii")
        texts.append(text)
    return texts


TEXTS = _texts(3000, 17)


def _seen(matches: list[re.Match[str]]) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(match.span(), match.groupdict()) for match in matches]


def test_generated_texts_take_both_paths_and_hold_citations() -> None:
    """The generated texts are worth comparing on: both paths, and citations found in many."""
    ascii_texts = [text for text in TEXTS if text.isascii()]
    assert 1000 < len(ascii_texts) < len(TEXTS) - 1000
    with_citations = [text for text in ascii_texts if list(iter_citations(text, "05ALMATY1"))]
    assert len(with_citations) > 300


@pytest.mark.parametrize("chunk", range(6))
def test_scan_finds_what_finditer_finds(chunk: int) -> None:
    for text in TEXTS[chunk::6]:
        candidates, compacts = citations._scan(text)
        assert _seen(candidates) == _seen(list(_CANDIDATE_RE.finditer(text))), text
        assert _seen(compacts) == _seen(list(_COMPACT_RE.finditer(text))), text


def test_ref_starts_are_finditer_s() -> None:
    for text in TEXTS:
        assert _seen(list(citations._iter_ref_starts(text))) == _seen(list(_REF_START_RE.finditer(text))), text


@pytest.mark.parametrize(
    "text",
    [
        "REF: A. ASTANA 1628 B. 05ALMATY2401\nC. MAJURO 123 AND 456",
        "see ALMATY 1437 and 05ASTANA919; x.ASTANA 123, ASTANA 1234567",
        "UNCLAS ALMATY 002503\nREFTEL: STATE 98765\n\n1. (SBU) JULY 4 2005 PER STATE 112233",
        "REF:A)MAJURO 123;B)06 KOLONIA 45\nrefs : 12 ASTANA 5",
    ],
)
def test_scan_on_known_citing_texts(text: str) -> None:
    candidates, compacts = citations._scan(text)
    assert _seen(candidates) == _seen(list(_CANDIDATE_RE.finditer(text)))
    assert _seen(compacts) == _seen(list(_COMPACT_RE.finditer(text)))
    assert candidates  # the fast path was taken and found something


def test_citations_are_those_of_the_whole_text_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [list(iter_citations(text, "05ALMATY1")) for text in TEXTS]
    monkeypatch.setattr(
        citations, "_scan", lambda text: (list(_CANDIDATE_RE.finditer(text)), list(_COMPACT_RE.finditer(text)))
    )
    monkeypatch.setattr(citations, "_iter_ref_starts", _REF_START_RE.finditer)
    slow = [list(iter_citations(text, "05ALMATY1")) for text in TEXTS]
    assert fast == slow


def test_digit_runs_are_the_runs_a_regex_finds() -> None:
    for text in [*TEXTS, "", "1", "a1", "1a", "12 34", "x 123456789 y9"]:
        if text.isascii():
            expected = [match.span() for match in re.finditer(r"[0-9]+", text)]
            assert list(citations._digit_runs(text)) == expected, text
