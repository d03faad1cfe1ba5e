"""The cable mirror, over real HTTP on loopback, read with a custom profile: the same cables as the
cable site, field for field, and a manifest that archives it."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import pytest
import yaml

from cablekeep.cables.extract import PageRecord, detect_profile, parse_page
from cablekeep.manifest import load_manifest
from cablekeep.cables.profiles import BUILTIN_PROFILES, CABLEBROWSER, Profile, profile_from_mapping
from cablekeep.sample_site import (
    MISSING_IDS,
    MOVED_IDS,
    SAMPLE_CABLES,
    SOFT_404_IDS,
    MirrorSite,
    SampleSite,
    serve_mirror_site,
    serve_sample_site,
)

ROOT = Path(__file__).resolve().parents[2]
PROFILE_PATH = ROOT / "tests" / "data" / "profiles" / "mirror-profile.yaml"
MANIFEST_PATH = ROOT / "manifests" / "mirror.yaml"
IDS = [cable.id for cable in SAMPLE_CABLES if cable.layout == "table"]  # other layouts differ by design (test_sample_site)
COMPARED_FIELDS = ("identifier", "origin", "classification", "subject", "redacted", "original_url", "created")


def load_profile_mapping() -> dict[str, Any]:
    data = yaml.safe_load(PROFILE_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def profile() -> Profile:
    return profile_from_mapping(load_profile_mapping(), "test")


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[SampleSite, MirrorSite]]:
    with serve_sample_site() as site, serve_mirror_site(original_base=site.original_base) as mirror:
        yield site, mirror


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """One GET on a fresh connection; redirects are not followed."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.hostname.startswith("127.0.0.")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path or "/", headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def fetch_page(url: str, profile: Profile) -> PageRecord:
    status, headers, body = fetch(url)
    assert status == 200, url
    return parse_page(body, url, headers.get("Content-Type"), profile=profile)


@pytest.mark.parametrize("cable_id", IDS)
def test_every_cable_reads_the_same_on_the_mirror_and_the_cable_site(
    sites: tuple[SampleSite, MirrorSite], profile: Profile, cable_id: str
) -> None:
    site, mirror = sites
    theirs = fetch_page(site.cable_url(cable_id), CABLEBROWSER)
    ours = fetch_page(mirror.cable_url(cable_id), profile)
    assert theirs.kind == ours.kind == "cable"
    assert ours.cable_id == theirs.cable_id == cable_id
    for name in COMPARED_FIELDS:
        assert ours.fields.get(name) == theirs.fields.get(name), name
    assert "original_url" in ours.fields
    assert ours.tags == theirs.tags and ours.tags
    # The profile cannot reformat a date: compare the dates, then the normalised form.
    assert ours.fields["created"] == theirs.fields["created"]  # the date rule rewrote "6 July 2005, 12:08"
    assert [c.cable_id for c in ours.citations] == [c.cable_id for c in theirs.citations]
    # The texts differ only in the indentation the mirror's <p> paragraphs cannot keep.
    assert [line.strip() for line in ours.text.splitlines()] == [
        line.strip() for line in theirs.text.splitlines()
    ]


def test_some_cables_cite_others(sites: tuple[SampleSite, MirrorSite], profile: Profile) -> None:
    """Guards the comparison above against passing with no citations at all."""
    _, mirror = sites
    cited = {c.cable_id for cable_id in ("05ALMATY2610", "06ASTANA919")
             for c in fetch_page(mirror.cable_url(cable_id), profile).citations}  # fmt: skip
    assert {"05ALMATY2401", "05STATE112233", "05ALMATY2503", "05ALMATY4353", "06STATE61220"} <= cited


def test_the_default_profile_cannot_read_the_mirror(sites: tuple[SampleSite, MirrorSite]) -> None:
    _, mirror = sites
    record = fetch_page(mirror.cable_url("05ALMATY2503"), CABLEBROWSER)
    assert (record.kind, record.cable_id, record.text) == ("other", None, "")


def test_detect_tells_the_mirror_from_the_built_in_layouts(
    sites: tuple[SampleSite, MirrorSite], profile: Profile
) -> None:
    site, mirror = sites
    candidates = (*BUILTIN_PROFILES, profile)
    _, _, ours = fetch(mirror.cable_url("05ALMATY2503"))
    _, _, theirs = fetch(site.cable_url("05ALMATY2503"))
    assert detect_profile(ours, candidates=candidates) is profile
    assert detect_profile(theirs, candidates=(profile,)) is CABLEBROWSER


@pytest.mark.parametrize(
    "path",
    [
        *(f"/archive/{cable_id}.htm" for cable_id in (*MISSING_IDS, *MOVED_IDS, *SOFT_404_IDS)),
        "/archive/05ALMATY2503",
        "/archive/05almaty2503.htm",
        "/archive/2005/05ALMATY2503.htm",
        "/cable/05ALMATY2503",
        "/tag/NOSUCH.htm",
        "/static/cablebrowser.css",
    ],
)
def test_unknown_paths_answer_404(sites: tuple[SampleSite, MirrorSite], path: str) -> None:
    status, headers, body = fetch(sites[1].base + path)
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"404 Not Found" in body


def test_robots_txt_allows_everything(sites: tuple[SampleSite, MirrorSite]) -> None:
    _, mirror = sites
    status, headers, body = fetch(mirror.base + "/robots.txt")
    assert (status, headers["Content-Type"]) == (200, "text/plain; charset=utf-8")
    robots = RobotFileParser()
    robots.parse(body.decode("ascii").splitlines())
    assert all(robots.can_fetch("cablekeep", mirror.cable_url(cable_id)) for cable_id in IDS)
    assert robots.can_fetch("cablekeep", mirror.base + "/private/anything")


def test_index_lists_every_cable_oldest_first(sites: tuple[SampleSite, MirrorSite]) -> None:
    _, mirror = sites
    record = fetch_page(mirror.base + "/", CABLEBROWSER)
    listed = [link.url for link in record.links if "/archive/" in link.url]
    oldest_first = sorted(SAMPLE_CABLES, key=lambda cable: (cable.created, cable.id))
    assert listed == [mirror.cable_url(cable.id) for cable in oldest_first]


def test_each_page_needs_one_stylesheet_and_links_tags_and_original(
    sites: tuple[SampleSite, MirrorSite], profile: Profile
) -> None:
    site, mirror = sites
    record = fetch_page(mirror.cable_url("05ALMATY2503"), profile)
    requisites = [link for link in record.links if link.rel == "requisite"]
    assert [(link.url, link.tag) for link in requisites] == [(mirror.base + "/style/mirror.css", "link")]
    status, headers, css = fetch(requisites[0].url)
    assert (status, headers["Content-Type"]) == (200, "text/css; charset=utf-8") and b"a.tag" in css
    tag_links = [link.url for link in record.links if "/tag/" in link.url]
    assert tag_links == [f"{mirror.base}/tag/{tag}.htm" for tag in record.tags]
    status, _, tag_page = fetch(tag_links[0])
    assert status == 200 and b'href="/archive/05ALMATY2503.htm"' in tag_page
    originals = [link.url for link in record.links if link.rel == "original"]
    assert originals == [site.original_url("05ALMATY2503")]
    assert fetch(originals[0])[0] == 200


def test_without_an_originals_host_pages_have_no_original_link(profile: Profile) -> None:
    with serve_mirror_site() as mirror:
        assert urlsplit(mirror.base).hostname == "127.0.0.4"
        record = fetch_page(mirror.cable_url("05ALMATY2503"), profile)
    assert "original_url" not in record.fields
    assert not [link for link in record.links if "orig" in link.url or link.rel == "original"]


def test_mirror_serves_like_the_cable_site(sites: tuple[SampleSite, MirrorSite]) -> None:
    """Keep-alive, a fixed Last-Modified, a strong ETag and a 304 for it, the mirror's own name."""
    _, mirror = sites
    url = mirror.cable_url("05ALMATY2503")
    status, headers, _ = fetch(url)
    assert status == 200 and headers["Server"].startswith("cablemirror/1")
    assert headers["Last-Modified"] == "Thu, 01 Mar 2012 08:00:00 GMT"
    assert fetch(url, {"If-None-Match": headers["ETag"]})[0] == 304
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        for _ in range(3):  # one connection, several requests
            connection.request("GET", parts.path)
            response = connection.getresponse()
            assert response.status == 200 and response.read()
    finally:
        connection.close()


def test_profile_uses_every_kind_of_rule() -> None:
    data = load_profile_mapping()
    rules = [data["text"], data["detect"], *data["fields"].values()]
    assert {"label", "xpath", "css", "regex"} <= {key for rule in rules for key in rule}
    assert {"identifier", "origin", "created", "classification", "tags"} <= set(data["fields"])


def test_manifest_loads_and_reads_the_mirror_with_the_profile(sites: tuple[SampleSite, MirrorSite]) -> None:
    manifest = load_manifest(MANIFEST_PATH)
    assert manifest.site.profile == load_profile_mapping()  # the two copies agree
    assert not isinstance(manifest.site.profile, str)
    profile_from_mapping(manifest.site.profile, str(MANIFEST_PATH))
    assert manifest.site.cable_url == "http://127.0.0.4:8473/archive/{id}.htm"
    _, mirror = sites
    for seed in manifest.seeds:
        path = urlsplit(seed.url).path
        assert urlsplit(seed.url).netloc == "127.0.0.4:8473"
        assert fetch(mirror.base + path)[0] == 200, seed
