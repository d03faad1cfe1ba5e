"""Page extraction: the seed cable in the contract layout, 2011 markup, soft 404s, encodings,
original-source pages, profiles from manifests, links and URL templates."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from cablekeep.cables.citations import Citation
from cablekeep.cables.extract import (
    Link,
    PageRecord,
    check_url_template,
    decode_html,
    detect_profile,
    original_url_from_template,
    parse_page,
)
from cablekeep.cables.profiles import (
    CABLEBROWSER,
    ORIGINAL,
    FieldRule,
    Profile,
    profile_from_mapping,
)

PAGES = Path(__file__).parents[1] / "data" / "pages"
SITE = "http://127.0.0.1:8000"
ORIGINALS = "http://127.0.0.2:8001"
SEED_URL = f"{SITE}/cable/05ALMATY2503"
SEED_ORIGINAL_URL = f"{ORIGINALS}/cable/2005/07/05ALMATY2503.html"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def seed_table_and_text() -> tuple[dict[str, str], str]:
    """The metadata rows and the cable text of the real page, as saved in the seed."""
    rows: dict[str, str] = {}
    text = ""
    for line in (PAGES / "cable-page-05ALMATY2503.txt").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 2 and cells[0].endswith(":"):
            rows[cells[0].rstrip(":")] = cells[1]
        elif line.startswith("UNCLAS ALMATY 002503"):
            text = line
    return rows, text


@pytest.fixture(scope="module")
def seed_record() -> PageRecord:
    return parse_page(page("cable-05ALMATY2503.html"), SEED_URL, "text/html; charset=utf-8")


# --- the seed page in the contract layout ---------------------------------------------------


def test_seed_page_fields_are_the_real_page_s(seed_record: PageRecord) -> None:
    rows, _ = seed_table_and_text()
    assert seed_record.kind == "cable"
    assert seed_record.cable_id == "05ALMATY2503"
    assert seed_record.fields == {
        "identifier": rows["Identifier"],
        "original_url": SEED_ORIGINAL_URL,
        "origin": rows["Origin"],
        "created": rows["Created"],
        "classification": rows["Classification"],
        "tags": rows["Tags"],
        "redacted": rows["Redacted"],
        "subject": "DETAINED UZBEK REFUGEE FACING DEPORTATION",
    }
    assert seed_record.fields["origin"] == "US Office Almaty"
    assert seed_record.fields["created"] == "2005-07-06 12:08:00"
    assert seed_record.fields["classification"] == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    assert seed_record.fields["redacted"] == "This cable was not redacted by Wikileaks."
    assert seed_record.tags == (
        "PGOV", "PREL", "KDEM", "PHUM", "PINR", "SMIG", "IO", "UZ", "KZ", "POLITICAL",
    )  # fmt: skip
    assert seed_record.title == "Cable 05ALMATY2503: DETAINED UZBEK REFUGEE FACING DEPORTATION"


def test_seed_page_text_keeps_lines_and_paragraph_numbers(seed_record: PageRecord) -> None:
    _, seed_text = seed_table_and_text()
    text = seed_record.text
    assert text.startswith("UNCLAS ALMATY 002503\n\nSIPDIS\n")
    assert "\n11. (U) Minimize for Dushanbe considered.\n" in text
    assert "\n1. (SBU) SUMMARY: Concerned" in text
    assert "\nBACKGROUND AND TIMELINE\n-----------------------\n" in text
    assert text.endswith("ORDWAY\n\nNNNN")
    assert " ".join(text.split()) == seed_text  # word for word the real page


def test_seed_page_cites_nothing(seed_record: PageRecord) -> None:
    # Its own header, E.O. 12958, the TAGS line, dates and paragraph numbers are no citations.
    assert seed_record.citations == ()


def test_seed_page_links_requisites_sources_and_original(seed_record: PageRecord) -> None:
    assert seed_record.links == (
        Link(f"{SITE}/static/cablebrowser.css", "requisite", "link"),
        Link(f"{SITE}/static/cablebrowser.js", "requisite", "script"),
        Link(f"{SITE}/", "source", "a"),
        Link(f"{SITE}/static/logo.png", "requisite", "img", "cablebrowser"),
        Link(SEED_ORIGINAL_URL, "original", "a", "View 05ALMATY2503 at Wikileaks.org"),
        Link(f"{ORIGINALS}/doc/unhcr-2005-07-04.html", "source", "a",
             "UNHCR statement, 4 July 2005"),
    )  # fmt: skip


def test_2011_markup_gives_the_same_record(seed_record: PageRecord) -> None:
    # Upper-case tags, unclosed TR/TD/P/LI, bare attribute values and CRLF line ends.
    malformed = page("cable-05ALMATY2503-2011.html")
    assert b"<TR><TD CLASS=label>Identifier:<TD>05ALMATY2503\r\n<TR>" in malformed
    assert parse_page(malformed, SEED_URL) == seed_record


def test_to_json_is_json_ready_with_a_fixed_key_order(seed_record: PageRecord) -> None:
    data = seed_record.to_json()
    assert list(data) == [
        "url", "kind", "cable_id", "title", "fields", "tags", "citations", "links", "text", "text_rule", "truncated",
    ]  # fmt: skip
    fields = data["fields"]
    assert isinstance(fields, Mapping)
    assert list(fields) == sorted(fields)
    assert json.loads(json.dumps(data)) == data
    assert data["links"][0] == {  # type: ignore[index]
        "url": f"{SITE}/static/cablebrowser.css",
        "rel": "requisite",
        "tag": "link",
        "text": "",
    }


# --- other kinds of page --------------------------------------------------------------------


def test_soft_404_is_not_found() -> None:
    record = parse_page(page("not-found.html"), f"{SITE}/cable/05ALMATY9999")
    assert record.kind == "not-found"
    assert record.cable_id is None
    assert record.fields == {}
    assert record.text == ""
    assert Link(f"{SITE}/static/cablebrowser.css", "requisite", "link") in record.links


def test_a_page_without_metadata_is_other() -> None:
    body = b"<html><head><title>UNHCR</title></head><body><h1>Statement</h1><p>Text</p></body>"
    record = parse_page(body, f"{ORIGINALS}/doc/unhcr-2005-07-04.html")
    assert (record.kind, record.cable_id, record.title) == ("other", None, "UNHCR")
    assert record.links == ()


@pytest.mark.parametrize("body", [b"", b"   \n", b"<!-- nothing -->"])
def test_an_empty_body_is_other(body: bytes) -> None:
    record = parse_page(body, f"{SITE}/empty")
    assert (record.kind, record.text, record.links, record.title) == ("other", "", (), "")


def test_original_page_with_the_original_profile() -> None:
    body = page("original-05ALMATY2503.html")
    record = parse_page(body, SEED_ORIGINAL_URL, profile=ORIGINAL)
    assert record.kind == "original"
    assert record.cable_id == "05ALMATY2503"
    assert record.fields == {
        "identifier": "05ALMATY2503",
        "created": "2005-07-06 12:08",
        "released": "2011-08-30 01:44",
        "classification": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "origin": "Embassy Almaty",
        "subject": "DETAINED UZBEK REFUGEE FACING DEPORTATION",
        "tags": "PGOV, PREL, KDEM, PHUM, PINR, SMIG, IO, UZ, KZ, POLITICAL",
    }
    assert len(record.tags) == 10
    _, seed_text = seed_table_and_text()
    assert " ".join(record.text.split()) == seed_text


def test_detect_profile_picks_the_builtin_that_matches() -> None:
    assert detect_profile(page("original-05ALMATY2503.html")) is ORIGINAL
    assert detect_profile(page("cable-05ALMATY2503.html")) is CABLEBROWSER
    assert detect_profile(page("cable-05ALMATY2503-2011.html")) is CABLEBROWSER
    assert detect_profile(page("not-found.html")) is CABLEBROWSER


def test_the_cable_profile_on_an_original_page_finds_no_cable() -> None:
    record = parse_page(page("original-05ALMATY2503.html"), SEED_ORIGINAL_URL)
    assert (record.kind, record.cable_id) == ("other", None)


# --- encodings ------------------------------------------------------------------------------

FRENCH = "«Le Monde» quoted UNHCR's Hélène Dupré:\n“Kazakhstan’s démarche is a régression”"
RUSSIAN = "«Лутфулло Шамсутдинов задержан\nмиграционной полицией Алматы"


@pytest.mark.parametrize(
    ("name", "content_type", "codec", "expected"),
    [
        ("cable-05ALMATY2503.html", "text/html; charset=utf-8", "utf-8", "Minimize for Dushanbe"),
        ("cable-utf8-bare.html", None, "utf-8", RUSSIAN),
        ("cable-cp1252-meta.html", None, "cp1252", FRENCH),
        ("cable-cp1252-meta.html", "text/html; charset=ISO-8859-1", "cp1252", FRENCH),
        ("cable-cp1252-bare.html", None, "cp1252", FRENCH),
        ("cable-cp1252-bare.html", "text/html", "cp1252", FRENCH),
        ("cable-cp1251-meta.html", None, "cp1251", RUSSIAN),
        ("cable-cp1251-bare.html", "text/html; charset=windows-1251", "cp1251", RUSSIAN),
        # undeclared: the high bytes form Cyrillic words, so windows-1251 is guessed
        ("cable-cp1251-bare.html", None, "cp1251", RUSSIAN),
    ],
)
def test_encodings(name: str, content_type: str | None, codec: str, expected: str) -> None:
    body = page(name)
    assert decode_html(body, content_type)[1] == codec
    record = parse_page(body, f"{SITE}/cable/x", content_type)
    assert expected in record.text
    assert record.kind == "cable"


def test_encoded_pages_give_the_same_record_declared_or_not() -> None:
    url = f"{SITE}/cable/06ALMATY1438"
    declared = parse_page(page("cable-cp1251-meta.html"), url)
    assert parse_page(page("cable-cp1251-bare.html"), url) == declared
    assert parse_page(page("cable-utf8-bare.html"), url) == declared
    assert declared.fields["redacted"] == "Шамсутдинов: не отредактировано."
    assert parse_page(page("cable-cp1252-bare.html"), url) == parse_page(
        page("cable-cp1252-meta.html"), url
    )


def test_the_content_type_charset_wins_over_meta() -> None:
    markup = '<meta charset="windows-1252"><p>Алматы</p>'
    body = markup.encode()
    assert decode_html(body, "text/html; charset=utf-8") == (markup, "utf-8")
    assert decode_html(body)[1] == "cp1252"


def test_a_byte_order_mark_wins_and_is_dropped() -> None:
    assert decode_html(codecs.BOM_UTF8 + "<p>é</p>".encode(), "text/html; charset=cp1251") == (
        "<p>é</p>",
        "utf-8",
    )


def test_unknown_charsets_are_ignored() -> None:
    assert decode_html(b"<p>plain</p>", "text/html; charset=x-no-such") == ("<p>plain</p>", "utf-8")


def test_western_text_is_not_taken_for_cyrillic() -> None:
    body = "<p>Größe, coûté, façade, Øresund, ação, naïve</p>".encode("cp1252")
    assert decode_html(body)[1] == "cp1252"


# --- citations on a page --------------------------------------------------------------------


def test_page_citations_take_the_page_year() -> None:
    record = parse_page(page("cable-cp1252-meta.html"), f"{SITE}/cable/06ALMATY1437")
    assert record.cable_id == "06ALMATY1437"
    assert record.citations == (
        Citation("05 ALMATY 2503", "05ALMATY2503"),
        Citation("ASTANA 0919", "06ASTANA919"),
    )


def test_a_page_citing_itself_leaves_itself_out() -> None:
    body = page("cable-cp1251-meta.html").replace(b"REF: ALMATY 1437", b"REF: ALMATY 1438, 1437")
    record = parse_page(body, f"{SITE}/cable/06ALMATY1438")
    assert [c.cable_id for c in record.citations] == ["06ALMATY1437"]


# --- a differently laid out mirror with a profile from a manifest ---------------------------

MIRROR_PROFILE: dict[str, object] = {
    "name": "mirror-dl",
    "detect": {"css": "dl.meta"},
    "fields": {
        "identifier": {"label": "Ref"},
        "created": {"xpath": "//dd[@class='date']", "regex": r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2})"},
        "origin": {"label": "From"},
        "classification": {"css": "dl.meta span.cls"},
        "tags": {"label": "Tags"},
        "subject": {"css": "h1.subject"},
        "original_url": {"xpath": "//a[normalize-space(.)='Original']/@href"},
        "year": {"label": "Date", "regex": r"\b(\d{4})-"},
    },
    "text": {"css": "#body"},
}
MIRROR = "http://mirror.example.org"


@pytest.fixture(scope="module")
def mirror_record() -> PageRecord:
    profile = profile_from_mapping(MIRROR_PROFILE, "manifest.yaml: sites.mirror.profile")
    return parse_page(page("mirror-dl.html"), f"{MIRROR}/c/05ALMATY2503", profile=profile)


def test_mirror_fields_from_label_xpath_css_and_regex_rules(mirror_record: PageRecord) -> None:
    assert mirror_record.kind == "cable"
    assert mirror_record.cable_id == "05ALMATY2503"
    assert mirror_record.fields == {
        "identifier": "05ALMATY2503",
        "created": "2005-07-06 12:08",
        "origin": "Almaty (US Office)",
        "classification": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "tags": "PGOV, PREL, PHUM, UZ, KZ",
        "subject": "DETAINED UZBEK REFUGEE FACING DEPORTATION",
        "original_url": "https://wikileaks.org/cable/2005/07/05ALMATY2503.html",
        "year": "2005",
    }
    assert mirror_record.tags == ("PGOV", "PREL", "PHUM", "UZ", "KZ")


def test_mirror_text_from_paragraphs_and_line_breaks(mirror_record: PageRecord) -> None:
    text = mirror_record.text
    assert text.startswith("UNCLAS ALMATY 002503\n\nSIPDIS\n\nE.O. 12958: N/A\nTAGS: PGOV")
    assert "\n\nREF: A. 05 ALMATY 2401\nB. STATE 112233 (NOTAL)\n\n1. (SBU) SUMMARY:" in text
    assert "\n\n11. (U) Minimize for Dushanbe considered.\n\nORDWAY" in text
    assert mirror_record.citations == (
        Citation("05 ALMATY 2401", "05ALMATY2401"),
        Citation("STATE 112233", "05STATE112233"),
    )


def test_mirror_links(mirror_record: PageRecord) -> None:
    base = f"{MIRROR}/c/"
    links = {link.url: link for link in mirror_record.links}
    requisites = [link.url for link in mirror_record.links if link.rel == "requisite"]
    assert requisites == [
        f"{base}css/mirror.css",  # resolved against <base href>
        f"{MIRROR}/favicon.ico",
        f"{base}img/paper.png",  # url() in <style>
        f"{base}css/print.css",  # @import
        f"{base}img/seal.png",
        f"{base}img/seal@2x.png",  # srcset
        "https://video.example.net/embed/42",  # iframe
        f"{base}js/mirror.js",
    ]
    assert links[f"{base}05ALMATY2503"] == Link(f"{base}05ALMATY2503", "source", "link")
    assert links[f"{MIRROR}/tags/PGOV"] == Link(f"{MIRROR}/tags/PGOV", "source", "a", "PGOV")
    original = "https://wikileaks.org/cable/2005/07/05ALMATY2503.html"  # fragment removed
    assert links[original] == Link(original, "original", "a", "Original")
    assert not [url for url in links if not url.startswith(("http://", "https://"))]
    assert len(links) == len(mirror_record.links)  # no duplicates (PGOV is linked twice)


def test_detect_profile_with_a_custom_candidate() -> None:
    profile = profile_from_mapping(MIRROR_PROFILE, "here")
    assert detect_profile(page("mirror-dl.html"), candidates=(ORIGINAL, profile)) is profile
    assert detect_profile(page("cable-05ALMATY2503.html"), candidates=(profile,)) is CABLEBROWSER


def test_links_skip_scripts_mail_data_empty_and_fragments() -> None:
    body = b"""<html><head><base href="/sub/"></head><body>
    <a href="javascript:go()">a</a><a href="JavaScript:go()">b</a><a href="mailto:x@y.z">c</a>
    <a href="data:text/plain,hi">d</a><a href="">e</a><a>f</a><a href="#top">g</a>
    <a href=" page.html#p2 ">h</a><a href="page.html">again</a><a href="http://[::1">bad</a>
    <img src="page.html"><a href="//other.example/x">i</a></body></html>"""
    record = parse_page(body, "http://site.example/dir/index.html")
    assert record.links == (
        Link("http://site.example/sub/page.html", "requisite", "img"),
        Link("http://other.example/x", "source", "a", "i"),
    )


# --- profiles -------------------------------------------------------------------------------


def _with(**changes: object) -> dict[str, object]:
    """MIRROR_PROFILE with top-level keys replaced, or fields with ``field_<name>=``."""
    fields = dict(MIRROR_PROFILE["fields"])  # type: ignore[call-overload]
    data = {**MIRROR_PROFILE, "fields": fields}
    for key, value in changes.items():
        if key.startswith("field_"):
            fields[key[len("field_") :]] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(field_created={"xpth": "//dd"}), "fields.created: unknown key 'xpth'"),
        (_with(field_created={"xpath": "//dd["}), "fields.created: xpath '//dd[': not a usable"),
        (_with(field_created={"xpath": "nosuch(//dd)"}), "fields.created: xpath 'nosuch(//dd)'"),
        (_with(field_created={"xpath": "//x:dd"}), "fields.created: xpath '//x:dd'"),
        (_with(field_origin={"css": "dl..meta"}), "fields.origin: css 'dl..meta': not a CSS"),
        (_with(field_origin={"css": "a:nosuch"}), "fields.origin: css 'a:nosuch'"),
        (_with(field_origin={"label": "x", "regex": "(open"}), "fields.origin: regex '(open'"),
        (_with(field_origin={"label": "x", "css": "dd"}), "fields.origin: a rule needs exactly"),
        (_with(field_origin={"regex": "x"}), "fields.origin: a rule needs exactly one of label, "
         "xpath, css; got none"),
        (_with(field_origin={"label": ""}), "fields.origin.label: must be a non-empty string"),
        (_with(field_origin={"label": 3}), "origin.label: must be a non-empty string, not 3"),
        (_with(field_origin="From"), "fields.origin: must be a mapping"),
        (_with(text={"css": "#body["}), "text: css '#body['"),
        (_with(detect={"xpath": "//"}), "detect: xpath '//'"),
        (_with(colour="red"), "unknown key 'colour'"),
        (_with(kind="index"), "kind: must be 'cable' or 'original'"),
        (_with(not_found="[oops"), "not_found '[oops': not a regular expression"),
        (_with(name=""), "name: must be a non-empty string"),
        (_with(fields=[]), "fields: must be a mapping"),
        ({k: v for k, v in MIRROR_PROFILE.items() if k != "text"}, "text: missing"),
    ],
)
def test_bad_profile_rules_raise_value_error_naming_the_rule(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        profile_from_mapping(data, "mirror.yaml")
    assert str(caught.value).startswith("mirror.yaml: ")
    assert message in str(caught.value)


def test_a_profile_needs_an_identifier_rule() -> None:
    fields = dict(MIRROR_PROFILE["fields"])  # type: ignore[call-overload]
    del fields["identifier"]
    with pytest.raises(ValueError, match=r"^m: fields: needs an 'identifier' rule$"):
        profile_from_mapping(_with(fields=fields), "m")


def test_rules_are_compiled_once_when_made() -> None:
    rule = FieldRule(css="div.text", regex=r"(\w+)")
    assert rule.compiled_xpath is not None and rule.compiled_regex is not None
    assert rule.compiled_xpath is rule.compiled_xpath
    assert FieldRule(label=" Origin: ").label_key == "origin"
    assert rule == FieldRule(css="div.text", regex=r"(\w+)")


def test_a_profile_s_fields_cannot_be_changed_afterwards() -> None:
    fields = {"identifier": FieldRule(label="Identifier")}
    profile = Profile(name="p", fields=fields, text=FieldRule(css="pre"))
    fields["origin"] = FieldRule(label="Origin")
    assert list(profile.fields) == ["identifier"]
    with pytest.raises(TypeError):
        profile.fields["origin"] = FieldRule(label="Origin")  # type: ignore[index]


# --- original URL templates -----------------------------------------------------------------

TEMPLATE = "https://example.org/cable/{created:%Y}/{created:%m}/{id}.html"


def test_original_url_from_template(seed_record: PageRecord, mirror_record: PageRecord) -> None:
    expected = "https://example.org/cable/2005/07/05ALMATY2503.html"
    assert original_url_from_template(TEMPLATE, seed_record) == expected
    assert original_url_from_template(TEMPLATE, mirror_record) == expected  # "2005-07-06 12:08"
    assert (
        original_url_from_template("{{x}}/{origin}/{created:%Y-%m-%dT%H:%M}", seed_record)
        == "{x}/US%20Office%20Almaty/2005-07-06T12:08"
    )


def test_original_url_from_template_without_the_values_is_none(seed_record: PageRecord) -> None:
    not_found = parse_page(page("not-found.html"), f"{SITE}/cable/05ALMATY9999")
    assert original_url_from_template(TEMPLATE, not_found) is None
    undated = PageRecord(**{**seed_record.__dict__, "fields": {"created": "sometime in July"}})
    assert original_url_from_template(TEMPLATE, undated) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://example.org/{id", "unmatched '{'"),
        ("https://example.org/id}", "unmatched '}'"),
        ("https://example.org/{year}/{id}", "unknown placeholder {year}"),
        ("https://example.org/{id:>>>}", "{id:>>>}"),
    ],
)
def test_bad_url_templates(template: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_url_template(template)
    assert message in str(caught.value)


def test_good_url_templates_pass_the_check() -> None:
    check_url_template(TEMPLATE)
    check_url_template("https://example.org/{released:%Y}/{id}", ORIGINAL)
    with pytest.raises(ValueError, match="unknown placeholder"):
        check_url_template("https://example.org/{released:%Y}/{id}")


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<html><body><p>CABLE \n  not\tFound</p></body></html>", "not-found"),
        (b"<html><body><h1>Sorry</h1><p>The Cable Not Found.</p></body></html>", "not-found"),
        (b"<html><body><p>Page not found</p></body></html>", "other"),
        (b"<html><body><p>cables not found</p></body></html>", "other"),
        ("<html><body><p>\u0130cable not found</p></body></html>".encode(), "other"),  # lowers to two
        ("<html><body><p>\u0130 CABLE not found</p></body></html>".encode(), "not-found"),
    ],
)
def test_soft_404_phrase_in_any_case_and_spacing(body: bytes, kind: str) -> None:
    assert parse_page(body, f"{SITE}/cable/05ALMATY9999").kind == kind


def test_a_custom_not_found_phrase_needs_no_word_cable() -> None:
    profile = Profile("de", CABLEBROWSER.fields, CABLEBROWSER.text, not_found=r"Seite\s+nicht\s+gefunden")
    body = b"<html><body><p>Seite   nicht gefunden</p></body></html>"
    assert parse_page(body, f"{SITE}/x", profile=profile).kind == "not-found"
    assert parse_page(b"<html><body><p>Cable not found</p></body></html>", f"{SITE}/x", profile=profile).kind == "other"


def test_links_of_every_kind_in_document_order() -> None:
    body = (
        b'<html><head><link rel="stylesheet" href="/s.css"><style>p { background: url("/bg.png") }</style>'
        b'<meta http-equiv="refresh" content="5; url=/next"></head>'
        b'<body background="/body.png"><p style="background-image: url(/p.png)">x</p>'
        b'<a href="/a" style="background: url(/a.png)">A</a><img src="/i.png" srcset="/i2.png 2x">'
        b'<object data="/o.swf"></object><input type="image" src="/in.png"><area href="/ar" alt="Ar"></body></html>'
    )
    record = parse_page(body, f"{SITE}/page")
    assert [(link.url.removeprefix(SITE), link.rel) for link in record.links] == [
        ("/s.css", "requisite"), ("/bg.png", "requisite"), ("/next", "source"), ("/body.png", "requisite"),
        ("/p.png", "requisite"), ("/a", "source"), ("/a.png", "requisite"), ("/i.png", "requisite"),
        ("/i2.png", "requisite"), ("/o.swf", "requisite"), ("/in.png", "requisite"), ("/ar", "source"),
    ]


def test_links_in_document_order_on_a_page_without_style_attributes() -> None:
    """Such a page is read by tag (the quick way); the order is still the document's."""
    body = (
        b'<html><head><link rel="icon" href="/f.ico"><meta http-equiv="refresh" content="0;URL=\'/r\'"></head>'
        b'<body><table background="/t.png"><tr><td><a href="/a">A</a></td></tr></table>'
        b'<script src="/s.js"></script><p>text</p><area href="/ar"><video src="/v.mp4" poster="/v.jpg"></video>'
        b'<a href="/b">B</a></body></html>'
    )
    record = parse_page(body, f"{SITE}/page")
    assert [(link.url.removeprefix(SITE), link.rel, link.tag) for link in record.links] == [
        ("/f.ico", "requisite", "link"), ("/r", "source", "meta"), ("/t.png", "requisite", "table"),
        ("/a", "source", "a"), ("/s.js", "requisite", "script"), ("/ar", "source", "area"),
        ("/v.mp4", "requisite", "video"), ("/v.jpg", "requisite", "video"), ("/b", "source", "a"),
    ]


def test_links_of_other_pages_only_when_wanted(seed_record: PageRecord) -> None:
    """A crawl that follows nothing does not read an unknown page's links; a cable's are always read."""
    body = b'<html><body><a href="/a">A</a><img src="/i.png"></body></html>'
    assert len(parse_page(body, f"{SITE}/page").links) == 2
    assert parse_page(body, f"{SITE}/page", other_links=False).links == ()
    seed = parse_page(page("cable-05ALMATY2503.html"), SEED_URL, "text/html; charset=utf-8", other_links=False)
    assert seed.kind == "cable" and seed.links == seed_record.links
