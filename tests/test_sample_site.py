"""The bundled sample cable site, over real HTTP on loopback: pages, roles, link rot, robots, caching."""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import json
import re
import shutil
import struct
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path
from collections.abc import Iterator
from email.message import Message
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import pytest

from cablekeep.sample_site import SampleSite, serve_sample_site
from cablekeep.sample_site import cables as data
from cablekeep.sample_site.cables import (
    GONE_DOCUMENTS,
    MISSING_IDS,
    MOVED_IDS,
    REDIRECTED_DOCUMENTS,
    ROBOTS_DISALLOWED_PATHS,
    SAMPLE_CABLES,
    SOFT_404_IDS,
    SampleCable,
    SampleDataError,
    cable_page,
    load_sample_cables,
    original_page,
)

SEEDS = ("05ALMATY2503", "05ALMATY2401", "06ASTANA919")
FOOTER = "Latest source of this page is cablebrowser-2, released 2011-10-04"
BY_ID = {cable.id: cable for cable in SAMPLE_CABLES}

# Citations as cables write them: "05 Almaty 4353", "ALMATY 1437", "SECSTATE 4455", "05ALMATY2401".
ORIGINS = r"USUN\s+NEW\s+YORK|BUENOS\s+AIRES|KUALA\s+LUMPUR|SECSTATE|STATE|ALMATY|ASTANA|TASHKENT|BISHKEK|DUSHANBE"
CITATION = re.compile(rf"\b(?:(\d\d)\s?)?({ORIGINS})\s?0*(\d+)\b", re.IGNORECASE)


def cited_ids(cable_id: str, text: str) -> set[str]:
    cited = set()
    for match in CITATION.finditer(text):
        origin = re.sub(r"\s+", "", match.group(2)).upper()
        origin = "STATE" if origin == "SECSTATE" else origin
        cited.add(f"{match.group(1) or cable_id[:2]}{origin}{int(match.group(3))}")
    return cited - {cable_id}


@pytest.fixture(scope="module")
def site() -> Iterator[SampleSite]:
    with serve_sample_site() as running:
        yield running


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """One request on a fresh connection; redirects are not followed."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.hostname.startswith("127.0.0.")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path or "/", headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


class Page(HTMLParser):
    """What a crawler or extractor reads from a page, whatever its markup: the cells of
    ``table.cable``, the text of ``pre``, links by element, and the text of classed elements."""

    def __init__(self, body: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.row_links: list[str] = []
        self.pre = ""
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.sources: list[tuple[str, str]] = []  # (href, text)
        self.classed: dict[str, str] = {}
        self.title = ""
        self._in_table = self._in_pre = self._in_sources = self._in_title = False
        self._class: str | None = None
        self._source_href: str | None = None
        self.feed(body.decode("utf-8"))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag in ("p", "div", "table", "ul"):
            self._class = attr.get("class")
            if self._class:
                self.classed.setdefault(self._class, "")
        if tag == "table" and attr.get("class") == "cable":
            self._in_table = True
        elif tag == "tr" and self._in_table:
            self.rows.append([])
        elif tag == "td" and self._in_table:
            self.rows[-1].append("")
        elif tag == "pre":
            self._in_pre = True
        elif tag == "title":
            self._in_title = True
        elif tag == "div" and attr.get("class") == "sources":
            self._in_sources = True
        for name in ("href", "src"):
            if name in attr and tag in ("a", "link", "script", "img"):
                self.links.append((tag, attr[name]))
                if tag == "a" and self._in_table:
                    self.row_links.append(attr[name])
                if tag == "a" and self._in_sources:
                    self._source_href = attr[name]
                    self.sources.append((attr[name], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag == "pre":
            self._in_pre = False
        elif tag == "title":
            self._in_title = False
        elif tag == "div":
            self._in_sources = False
        elif tag == "a":
            self._source_href = None
        if tag in ("p", "body", "html"):
            self._class = None

    def handle_data(self, text: str) -> None:
        if self._in_table and self.rows and self.rows[-1]:
            self.rows[-1][-1] += text
        if self._in_pre:
            self.pre += text
        if self._in_title:
            self.title += text
        if self._source_href is not None:
            href, before = self.sources[-1]
            self.sources[-1] = (href, before + text)
        if self._class:
            self.classed[self._class] += text

    def fields(self) -> dict[str, str]:
        return {row[0].strip().rstrip(":").lower(): row[1].strip() for row in self.rows if len(row) >= 2}


def expected_fields(cable: SampleCable) -> dict[str, str]:
    return {
        "identifier": cable.id,
        "wikileaks": f"View {cable.id} at Wikileaks.org",
        "origin": cable.origin,
        "created": cable.created,
        "classification": cable.classification,
        "tags": " ".join(cable.tags),
        "redacted": cable.redacted,
    }


# --- the data ------------------------------------------------------------------------------------


def test_at_least_40_distinct_cables_in_canonical_form() -> None:
    ids = [cable.id for cable in SAMPLE_CABLES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    for cable in SAMPLE_CABLES:
        assert re.fullmatch(r"\d\d[A-Z]+[1-9]\d*", cable.id), cable.id
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cable.created), cable.id
        assert cable.created[2:4] == cable.id[:2], cable.id
        assert cable.original in ("ok", "missing")
        flat = " ".join(cable.text.split())
        assert "SUBJECT: " + cable.subject in flat, cable.id
        assert "TAGS: " + ", ".join(cable.tags) in flat, cable.id
    origins = {re.sub(r"^\d\d|\d+$", "", cable_id) for cable_id in ids}
    assert {"ALMATY", "ASTANA", "TASHKENT", "BISHKEK", "DUSHANBE", "STATE"} <= origins
    assert {"BUENOSAIRES", "KUALALUMPUR", "USUNNEWYORK"} <= origins


# --- the data files ------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
DATA = files("cablekeep.sample_site").joinpath("data")


def test_cables_come_from_the_package_data_whatever_the_working_directory(tmp_path: Path) -> None:
    code = "from cablekeep.sample_site.cables import SAMPLE_CABLES as c; print(len(c), c[0].id, len(c[0].text))"
    env = {"PYTHONPATH": str(Path(data.__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    first = SAMPLE_CABLES[0]
    assert result.stdout.split() == [str(len(SAMPLE_CABLES)), first.id, str(len(first.text))]
    assert load_sample_cables(DATA) == SAMPLE_CABLES
    assert SAMPLE_CABLES[0].text == DATA.joinpath("cables", f"{first.id}.txt").read_text(encoding="utf-8")


def test_every_data_file_is_declared_package_data() -> None:
    tomllib = pytest.importorskip("tomllib")
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["cablekeep"]
    package = ROOT / "src" / "cablekeep"
    shipped = [p.relative_to(package).as_posix() for p in (package / "sample_site").rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert any(name.startswith("sample_site/data/cables/") for name in shipped)
    # setuptools matches each pattern against the path below the package, '*' not crossing '/'
    undeclared = [name for name in shipped
                  if not any(fnmatch.fnmatch(name, pattern) and name.count("/") == pattern.count("/") for pattern in patterns)]
    assert undeclared == []


def _copy_data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(str(DATA), root)
    return root


def test_loader_reads_a_copy_of_the_data_as_the_bundle(tmp_path: Path) -> None:
    root = _copy_data(tmp_path)
    (root / "cables" / "05ALMATY2503.txt").write_bytes(b"SUBJECT: CHANGED\r\nTEXT\n")
    entries = json.loads((root / "cables.json").read_text())
    entries[0]["sources"] = [{"path": "/doc/x.html", "title": "X"}]
    (root / "cables.json").write_text(json.dumps(entries))
    loaded = {cable.id: cable for cable in load_sample_cables(root)}
    assert loaded["05ALMATY2503"].text == "SUBJECT: CHANGED\r\nTEXT\n"  # bytes as written, no newline translation
    assert loaded[entries[0]["id"]].sources == (("/doc/x.html", "X"),)
    assert [cable.id for cable in load_sample_cables(root)] == [cable.id for cable in SAMPLE_CABLES]


def test_loader_lists_every_problem_of_broken_data(tmp_path: Path) -> None:
    root = _copy_data(tmp_path)
    entries = json.loads((root / "cables.json").read_text())
    entries[0]["colour"] = "red"
    del entries[1]["subject"]
    entries[2]["tags"] = "PREL, KZ"
    entries[3]["original"] = "lost"
    entries[4]["created"] = "6 July 2005"
    entries[5]["sources"] = [["/doc/a.html", "A"]]
    renamed, entries[6]["id"] = entries[6]["id"], "almaty 1"
    entries.append(dict(entries[7]))
    entries.append("05ALMATY9999")
    (root / "cables.json").write_text(json.dumps(entries))
    (root / "cables" / f"{entries[8]['id']}.txt").unlink()
    (root / "cables" / "05ALMATY4242.txt").write_text("no cable lists me\n")
    with pytest.raises(SampleDataError) as caught:
        load_sample_cables(root)
    n = len(entries)
    assert list(caught.value.problems) == [
        "cables.json[0]: unknown key 'colour'",
        "cables.json[1]: missing key 'subject'",
        "cables.json[2].tags: expected list, got str",
        "cables.json[3].original: 'lost' is neither 'ok' nor 'missing'",
        "cables.json[4].created: '6 July 2005' is not YYYY-MM-DD HH:MM:SS",
        'cables.json[5].sources: expected a list of {"path": ..., "title": ...} with text values',
        "cables.json[6].id: 'almaty 1' is not a cable ID such as 05ALMATY2503",
        f"cables.json[8]: no text file cables/{entries[8]['id']}.txt",
        f"cables.json[{n - 1}]: expected an object with the keys id, subject, origin, created, classification, "
        "tags, redacted, sources, malformed, original",
        f"cables.json: {entries[7]['id']} is listed 2 times",
        *sorted([f"cables/{renamed}.txt: no cable in cables.json has this text",
                 "cables/05ALMATY4242.txt: no cable in cables.json has this text"]),
    ]
    (root / "cables.json").write_text("[")
    with pytest.raises(SampleDataError, match="cables.json: cannot read it"):
        load_sample_cables(root)


def test_roles_are_documented_in_the_module_docstring() -> None:
    doc = data.__doc__ or ""
    named = [*MISSING_IDS, *MOVED_IDS, *MOVED_IDS.values(), *SOFT_404_IDS, *GONE_DOCUMENTS, *ROBOTS_DISALLOWED_PATHS]
    named += [*REDIRECTED_DOCUMENTS, *REDIRECTED_DOCUMENTS.values(), *SEEDS]
    named += [cable.id for cable in SAMPLE_CABLES if cable.malformed or cable.sources or cable.original != "ok"]
    assert [name for name in named if name not in doc] == []


def test_role_ids_are_not_cables_of_the_site() -> None:
    roles = {*MISSING_IDS, *MOVED_IDS, *SOFT_404_IDS}
    assert len(MOVED_IDS) == 1 and len(SOFT_404_IDS) == 1 and MISSING_IDS
    assert roles.isdisjoint(BY_ID)
    assert set(MOVED_IDS.values()) <= set(BY_ID)


# --- cable pages ---------------------------------------------------------------------------------


def test_every_cable_page_shows_its_fields_text_and_footer(site: SampleSite) -> None:
    for cable in SAMPLE_CABLES:
        if cable.layout != "table":
            continue  # test_other_layouts_show_the_text_their_own_way
        status, headers, body = fetch(site.cable_url(cable.id))
        assert status == 200, cable.id
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert body == cable_page(cable, site.original_base)
        page = Page(body)
        assert page.fields() == expected_fields(cable), cable.id
        assert page.row_links == [site.original_url(cable.id)]
        assert page.title == f"Cable {cable.id}: {cable.subject}"
        assert page.pre == cable.text
        assert page.classed["footer"].strip() == FOOTER
        assert page.classed["partial"].strip().startswith("This record is a partial extract")
        assert page.classed["disclaimer"].startswith("Disclaimer: This site has been first put up")


def test_other_layouts_show_the_text_their_own_way(site: SampleSite) -> None:
    others = [cable for cable in SAMPLE_CABLES if cable.layout != "table"]
    assert {cable.layout for cable in others} == {"paragraphs", "bare-text", "no-text"}
    for cable in others:
        status, _, body = fetch(site.cable_url(cable.id))
        assert status == 200
        assert body == cable_page(cable, site.original_base)
        page = Page(body)
        assert page.pre == "" and "text" not in page.classed
        shown = " ".join(re.sub(r"<[^>]+>", " ", body.decode()).split())
        last = " ".join(cable.text.split("\n\n")[-2].split())
        assert (last in shown) == (cable.layout != "no-text"), cable.id
        assert ("Disclaimer" in shown) == (cable.layout != "no-text")
        assert page.fields()["identifier"] == cable.id


def test_seed_cable_05ALMATY2503_has_the_real_page_values(site: SampleSite) -> None:
    status, _, body = fetch(f"{site.cable_base}/cable/05ALMATY2503")
    assert status == 200
    page = Page(body)
    assert page.fields() == {
        "identifier": "05ALMATY2503",
        "wikileaks": "View 05ALMATY2503 at Wikileaks.org",
        "origin": "US Office Almaty",
        "created": "2005-07-06 12:08:00",
        "classification": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "tags": "PGOV PREL KDEM PHUM PINR SMIG IO UZ KZ POLITICAL",
        "redacted": "This cable was not redacted by Wikileaks.",
    }
    assert page.row_links == [f"{site.original_base}/cable/2005/07/05ALMATY2503.html"]
    assert page.title == "Cable 05ALMATY2503: DETAINED UZBEK REFUGEE FACING DEPORTATION"
    text = page.pre
    assert len(text.split()) == 1070  # every word of the seed page's text
    assert text.startswith("UNCLAS ALMATY 002503\n")
    assert text.endswith("\nORDWAY\n\nNNNN\n")
    words = text.split()
    assert " ".join(words[:10]) == "UNCLAS ALMATY 002503 SIPDIS STATE FOR EUR/CACEN (J. MUDGE), DRL/PHD"
    assert "\nSUBJECT: DETAINED UZBEK REFUGEE FACING DEPORTATION\n" in text
    for number in range(1, 12):  # numbered paragraphs start a line after a blank line
        assert re.search(rf"\n\n{number}\. ?\((SBU|U)\)", text), number
    for heading in ("BACKGROUND AND TIMELINE", "BACK AND FORTH WITH THE GOK", "POST ACTION", "COMMENT"):
        assert f"\n\n{heading}\n{'-' * len(heading)}\n\n" in text
    flat = " ".join(text.split())
    assert "calling the Uzbek a \"terrorist\". Rao characterized" in flat
    assert "11. (U) Minimize for Dushanbe considered. ORDWAY NNNN" in flat
    assert page.classed["footer"].strip() == FOOTER


def test_index_lists_every_cable_and_nothing_else(site: SampleSite) -> None:
    status, headers, body = fetch(site.cable_base + "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    listed = [url for tag, url in Page(body).links if tag == "a" and url.startswith("/cable/")]
    assert sorted(listed) == sorted(f"/cable/{cable.id}" for cable in SAMPLE_CABLES)


def test_malformed_pages_use_2011_markup_and_read_the_same(site: SampleSite) -> None:
    malformed = [cable for cable in SAMPLE_CABLES if cable.malformed]
    assert len(malformed) >= 5
    assert any(cable.sources for cable in malformed)
    for cable in malformed:
        _, _, raw = fetch(site.cable_url(cable.id))
        body = raw.decode()
        tags = re.findall(r"</?([A-Za-z][A-Za-z0-9]*)", body.split("\n", 1)[1])
        assert tags and all(tag.isupper() for tag in tags), cable.id
        assert not re.search(r"</t[dr]>", body, re.IGNORECASE), cable.id
        assert "<TR><TD CLASS=label>Identifier:<TD>" in body
        assert re.search(r"<A HREF=http://[^\s\"'>]+>View ", body), cable.id
        assert "<P CLASS=footer>" in body and "</P>" not in body
        assert Page(raw).fields() == expected_fields(cable)
    well_formed = next(cable for cable in SAMPLE_CABLES if not cable.malformed)
    _, _, body_ok = fetch(site.cable_url(well_formed.id))
    assert b'<tr><td class="label">Identifier:</td><td>' in body_ok


# --- IDs that are not plain cables ---------------------------------------------------------------


def test_missing_ids_answer_404(site: SampleSite) -> None:
    for cable_id in MISSING_IDS:
        status, headers, body = fetch(site.cable_url(cable_id))
        assert status == 404, cable_id
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"<html" in body and len(body) < 512


def test_moved_id_answers_301_to_the_new_cable(site: SampleSite) -> None:
    for old, new in MOVED_IDS.items():
        status, headers, _ = fetch(site.cable_url(old))
        assert status == 301
        assert headers["Location"] == site.cable_url(new)
        status, _, body = fetch(headers["Location"])
        assert status == 200 and Page(body).fields()["identifier"] == new


def test_soft_404_answers_200_without_a_cable(site: SampleSite) -> None:
    for cable_id in SOFT_404_IDS:
        status, headers, body = fetch(site.cable_url(cable_id))
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"Cable not found" in body
        assert b"<table" not in body.lower()
        assert Page(body).fields() == {}


@pytest.mark.parametrize(
    "path",
    ["/nope", "/cable/", "/cable/05almaty2503", "/cable/05ALMATY2503/x", "/static/missing.css", "/private/x"],
)
def test_unknown_paths_on_the_cable_site_answer_a_small_404(site: SampleSite, path: str) -> None:
    status, headers, body = fetch(site.cable_base + path)
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body) < 512


# --- requisites, originals, sources ---------------------------------------------------------------


@pytest.mark.parametrize("cable_id", ["05ALMATY2503", "05BISHKEK412"])
def test_requisites_resolve(site: SampleSite, cable_id: str) -> None:
    _, _, body = fetch(site.cable_url(cable_id))
    requisites = {tag: urljoin(site.cable_url(cable_id), url) for tag, url in Page(body).links if tag != "a"}
    assert set(requisites) == {"link", "script", "img"}
    expected_types = {"link": "text/css; charset=utf-8", "script": "text/javascript; charset=utf-8", "img": "image/png"}
    for tag, url in requisites.items():
        status, headers, content = fetch(url)
        assert status == 200, url
        assert headers["Content-Type"] == expected_types[tag]
        assert int(headers["Content-Length"]) == len(content) > 0
    _, _, png = fetch(requisites["img"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (120, 40)


def test_originals_resolve_except_the_missing_ones(site: SampleSite) -> None:
    missing = [cable.id for cable in SAMPLE_CABLES if cable.original == "missing"]
    assert len(missing) >= 2
    for cable in SAMPLE_CABLES:
        url = site.original_url(cable.id)
        assert url == f"{site.original_base}/cable/{cable.created[:4]}/{cable.created[5:7]}/{cable.id}.html"
        status, headers, body = fetch(url)
        if cable.original == "missing":
            assert status == 404, cable.id
            continue
        assert status == 200, cable.id
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert body == original_page(cable)
        page = Page(body)
        assert page.title == f"Cable reference id: #{cable.id}"
        assert f"<h2>Viewing cable {cable.id}, " in body.decode()
        assert page.pre == cable.text
    assert site.original_url("05STATE112233") is None


def test_original_of_the_seed_matches_the_contract(site: SampleSite) -> None:
    _, _, body = fetch(f"{site.original_base}/cable/2005/07/05ALMATY2503.html")
    assert (
        "<tr><td>05ALMATY2503</td><td>2005-07-06 12:08</td><td>2011-08-30 01:44</td>"
        "<td>UNCLASSIFIED//FOR OFFICIAL USE ONLY</td><td>Embassy Almaty</td></tr>"
    ) in body.decode()
    assert "<h2>Viewing cable 05ALMATY2503, DETAINED UZBEK REFUGEE FACING DEPORTATION</h2>" in body.decode()


def test_sources_show_link_rot_and_a_robots_disallowed_link(site: SampleSite) -> None:
    robots = RobotFileParser()
    robots.parse(fetch(site.cable_base + "/robots.txt")[2].decode().splitlines())
    seen: dict[str, int] = {}
    for cable in SAMPLE_CABLES:
        _, _, body = fetch(site.cable_url(cable.id))
        links = Page(body).sources
        assert [text for _, text in links] == [title for _, title in cable.sources], cable.id
        for href, _ in links:
            path = urlsplit(href).path
            status, headers, _ = fetch(urljoin(site.cable_url(cable.id), href))
            seen[path] = status
            if path in GONE_DOCUMENTS:
                assert href == site.original_base + path and status == 404
            elif path in REDIRECTED_DOCUMENTS:
                assert status == 302
                assert headers["Location"] == site.original_base + REDIRECTED_DOCUMENTS[path]
                assert fetch(headers["Location"])[0] == 200
            elif path in ROBOTS_DISALLOWED_PATHS:
                assert href == path and status == 200  # on the cable site, reachable, but disallowed
                assert not robots.can_fetch("cablekeep", site.cable_base + path)
            else:
                assert href == site.original_base + path and path.startswith("/doc/") and status == 200
    assert len([cable for cable in SAMPLE_CABLES if cable.sources]) >= 3
    assert set(GONE_DOCUMENTS) | set(REDIRECTED_DOCUMENTS) | set(ROBOTS_DISALLOWED_PATHS) <= set(seen)
    assert sorted(seen.values()).count(200) >= 4


def test_robots_txt_of_both_hosts(site: SampleSite) -> None:
    status, headers, body = fetch(site.cable_base + "/robots.txt")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body == b"User-agent: *\nDisallow: /private/\n"
    cable_robots = RobotFileParser()
    cable_robots.parse(body.decode().splitlines())
    assert not cable_robots.can_fetch("cablekeep", site.cable_base + "/private/editor-notes/05ALMATY2401.html")
    assert cable_robots.can_fetch("cablekeep", site.cable_url("05ALMATY2503"))

    status, _, body = fetch(site.original_base + "/robots.txt")
    assert status == 200
    original_robots = RobotFileParser()
    original_robots.parse(body.decode().splitlines())
    for path in ("/doc/hrw-andijan-2005-06.html", "/private/x", "/cable/2005/07/05ALMATY2503.html"):
        assert original_robots.can_fetch("cablekeep", site.original_base + path)


# --- the citation graph ---------------------------------------------------------------------------


def test_citation_formats_of_real_cables_are_present() -> None:
    texts = "\n".join(cable.text for cable in SAMPLE_CABLES)
    for written in (
        "REF: A. ALMATY 2401 B. STATE 112233",
        "Ref: A) 05 Almaty 4353 B) Almaty 1437",
        "REF: 06 ASTANA 919",
        "A. STATE 112233 B. SECSTATE 4455",
    ):
        assert written in texts
    assert any("05ALMATY2401" in cable.text for cable in SAMPLE_CABLES if cable.id != "05ALMATY2401")
    assert re.search(r"^REF: .+\n {2,}[A-Z]\. \d\d [A-Z]+ \d+", texts, re.MULTILINE)


def test_citation_graph_from_the_demo_seeds() -> None:
    graph = {cable.id: cited_ids(cable.id, cable.text) for cable in SAMPLE_CABLES}
    known = set(BY_ID) | set(MISSING_IDS) | set(MOVED_IDS) | set(SOFT_404_IDS)
    assert {cited for cites in graph.values() for cited in cites} <= known  # no accidental citation
    assert set(SEEDS) <= set(BY_ID)
    depth1 = set().union(*(graph[seed] for seed in SEEDS))
    assert depth1 & set(MISSING_IDS)
    assert depth1 & set(MOVED_IDS)
    assert depth1 & set(SOFT_404_IDS)
    assert len(graph["05ALMATY2503"]) <= 1
    assert len([cable_id for cable_id, cites in graph.items() if "05ALMATY2503" in cites]) >= 3
    resolvable = [cited for cites in graph.values() for cited in cites if cited in BY_ID]
    assert len(resolvable) >= 30
    every_cited = {cited for cites in graph.values() for cited in cites}
    assert {*MISSING_IDS, *MOVED_IDS, *SOFT_404_IDS} <= every_cited
    # The crawl grows: depth 2 reaches more cables than depth 1.
    depth2 = depth1 | set().union(*(graph.get(MOVED_IDS.get(cid, cid), set()) for cid in depth1))
    assert len(depth2 & set(BY_ID)) > len(depth1 & set(BY_ID))


def test_depth_one_over_http_meets_404_301_and_soft_404(site: SampleSite) -> None:
    outcomes = set()
    for seed in SEEDS:
        _, _, body = fetch(site.cable_url(seed))
        for cable_id in sorted(cited_ids(seed, Page(body).pre)):
            status, _, cited_body = fetch(site.cable_url(cable_id))
            if status == 200 and b"Cable not found" in cited_body:
                outcomes.add("soft-404")
            else:
                outcomes.add(str(status))
    assert {"200", "301", "404", "soft-404"} <= outcomes


# --- HTTP behaviour -------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["page", "static", "original", "robots"])
def test_etag_and_conditional_requests(site: SampleSite, which: str) -> None:
    url = {
        "page": site.cable_url("05ALMATY2503"),
        "static": site.cable_base + "/static/cablebrowser.css",
        "original": site.original_url("05ALMATY2401") or "",
        "robots": site.original_base + "/robots.txt",
    }[which]
    status, headers, body = fetch(url)
    assert status == 200
    etag = headers["ETag"]
    assert etag == '"' + hashlib.sha256(body).hexdigest() + '"'  # strong: no W/ prefix
    assert fetch(url)[1]["ETag"] == etag
    last_modified = headers["Last-Modified"]
    assert last_modified.endswith(" 2011 09:00:00 GMT") or last_modified.endswith(" 2011 01:44:00 GMT")

    for matching in (etag, f'"x", {etag}', f"W/{etag}", "*"):
        status, headers_304, body_304 = fetch(url, headers={"If-None-Match": matching})
        assert status == 304 and body_304 == b""
        assert headers_304["ETag"] == etag
    status, _, again = fetch(url, headers={"If-None-Match": '"something-else"'})
    assert status == 200 and again == body
    # If-None-Match wins over If-Modified-Since
    status, _, _ = fetch(url, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert status == 200
    assert fetch(url, headers={"If-Modified-Since": last_modified})[0] == 304
    assert fetch(url, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})[0] == 200
    assert fetch(url, headers={"If-Modified-Since": "not a date"})[0] == 200


def test_different_pages_have_different_etags(site: SampleSite) -> None:
    etags = {fetch(site.cable_url(cable.id))[1]["ETag"] for cable in SAMPLE_CABLES[:10]}
    assert len(etags) == 10


def test_keep_alive_serves_many_requests_on_one_connection_quickly(site: SampleSite) -> None:
    parts = urlsplit(site.cable_base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        paths = ["/", "/cable/05ALMATY2503", "/cable/05STATE112233", "/cable/05ALMATY1437", "/static/logo.png"]
        conn.request("GET", "/robots.txt")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        started = time.perf_counter()
        for index in range(100):
            conn.request("GET", paths[index % len(paths)])
            response = conn.getresponse()
            body = response.read()
            assert response.version == 11 and not response.will_close
            assert int(response.headers["Content-Length"]) == len(body)
            assert response.headers["Content-Type"]
        elapsed = time.perf_counter() - started
        assert conn.sock is sock  # the same connection throughout
    finally:
        conn.close()
    # With Nagle's algorithm left on, each response stalls ~40 ms: 100 requests take ~4 s.
    assert elapsed < 2.0


def test_head_sends_the_headers_of_get_without_a_body(site: SampleSite) -> None:
    url = site.cable_url("06ASTANA919")
    _, get_headers, body = fetch(url)
    status, head_headers, head_body = fetch(url, method="HEAD")
    assert status == 200 and head_body == b""
    assert head_headers["Content-Length"] == str(len(body))
    assert head_headers["ETag"] == get_headers["ETag"]


def test_servers_stop_when_the_block_ends() -> None:
    with serve_sample_site() as running:
        assert fetch(running.cable_base + "/robots.txt")[0] == 200
        assert fetch(running.original_base + "/robots.txt")[0] == 200
        assert urlsplit(running.cable_base).hostname == "127.0.0.1"
        assert urlsplit(running.original_base).hostname == "127.0.0.2"
    for base in (running.cable_base, running.original_base):
        with pytest.raises(ConnectionRefusedError):
            fetch(base + "/robots.txt")


# -- cable pages laid out otherwise ---------------------------------------------------------------

LAYOUT_CABLES = {"05ALMATY2503": "table", "06ALMATY1001": "paragraphs", "06ALMATY1002": "bare-text",
                 "06ALMATY1003": "no-text"}


def test_layouts_are_data_and_checked() -> None:
    layouts = {cable.id: cable.layout for cable in SAMPLE_CABLES}
    assert {layouts[cable_id] for cable_id in LAYOUT_CABLES} == set(data.LAYOUTS)
    broken = json.loads(files("cablekeep.sample_site").joinpath("data", "cables.json").read_text("utf-8"))
    broken[0]["layout"] = "columns"
    broken[1]["layout"] = 3
    root = _data_with(broken)
    with pytest.raises(SampleDataError) as caught:
        load_sample_cables(root)
    assert any("layout: 'columns' is not one of" in p for p in caught.value.problems)
    assert any(".layout: expected str, got int" in p for p in caught.value.problems)


def _data_with(entries: list[object]) -> Path:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="layouts-"))
    shutil.copytree(Path(str(files("cablekeep.sample_site").joinpath("data"))), root / "data")
    (root / "data" / "cables.json").write_text(json.dumps(entries), encoding="utf-8")
    return root / "data"


def test_run_reads_each_layout_and_warns_of_a_page_without_text(
    write_manifest: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    from warcio.archiveiterator import ArchiveIterator

    manifest = write_manifest(seeds=[{"cable": cable_id} for cable_id in LAYOUT_CABLES], follow={"depth": 0})
    result = cli("run", "--quiet", str(manifest))
    assert result.exit_code == 0, result.stderr
    assert "warnings:  1 cable pages without text" in result.stdout
    bag = next((manifest.parent / "bags").glob("test-cables-*"))
    records = {r["cable_id"]: r for r in map(json.loads, (bag / "data" / "cables.jsonl").read_text("utf-8").splitlines())}
    assert {cable_id: records[cable_id]["text_rule"] for cable_id in LAYOUT_CABLES} == {
        "05ALMATY2503": "profile", "06ALMATY1001": "main-text", "06ALMATY1002": "main-text", "06ALMATY1003": "none"}
    for cable_id in LAYOUT_CABLES:
        assert records[cable_id]["cited"] == sorted(cited_ids(cable_id, BY_ID[cable_id].text),
                                                    key=records[cable_id]["cited"].index) or cable_id == "06ALMATY1003"
    assert records["06ALMATY1001"]["cited"] == ["06ASTANA919", "05ALMATY2503"]
    assert records["06ALMATY1002"]["cited"] == ["06ASTANA604"]
    assert records["06ALMATY1003"]["cited"] == []
    log = [json.loads(line) for line in (bag / "data" / "crawl-log.jsonl").read_text("utf-8").splitlines()]
    warned = {entry["url"].rsplit("/", 1)[1]: entry["warning"] for entry in log if "warning" in entry}
    assert list(warned) == ["06ALMATY1003"] and "without text" in warned["06ALMATY1003"]
    texts = {}
    for warc in sorted((bag / "data" / "warc").iterdir()):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "metadata":
                    page = json.loads(record.content_stream().read())["record"]
                    texts[page["cable_id"]] = page["text"]
    for cable_id in ("05ALMATY2503", "06ALMATY1001", "06ALMATY1002"):
        said = " ".join(texts[cable_id].split())
        for paragraph in BY_ID[cable_id].text.split("\n\n")[-3:]:
            assert " ".join(paragraph.split()) in said, (cable_id, paragraph)
        assert "Disclaimer" not in texts[cable_id]
    assert texts["06ALMATY1003"] == ""
