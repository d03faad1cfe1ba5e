"""The manifest loader: the typed result, the defaults, and one test for each kind of error."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cablekeep import __version__
from cablekeep.errors import ManifestError
from cablekeep.manifest import (
    BagOptions,
    Contact,
    FetchOptions,
    Follow,
    JobSchedule,
    Manifest,
    Organization,
    Schedule,
    Seed,
    Site,
    WarcOptions,
    load_manifest,
    load_manifest_text,
    parse_cron,
    parse_size,
)
from cablekeep.manifest.sections import default_processes

DATA = Path(__file__).parent / "data" / "manifests"
REPO = Path(__file__).parent.parent


def load(tmp_path: Path, text: str) -> Manifest:
    return load_manifest_text(textwrap.dedent(text), tmp_path / "manifest.yaml")


def load_error(tmp_path: Path, text: str) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, text)
    return caught.value


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


# --------------------------------------------------------------------------------------------------
# Valid manifests


def test_full_manifest_loads_into_the_right_values() -> None:
    manifest = load_manifest(DATA / "full.yaml")

    assert manifest.path == DATA / "full.yaml"
    assert manifest.source_text == (DATA / "full.yaml").read_text(encoding="utf-8")
    assert manifest.version == 1
    assert manifest.collection == "andijon-2005"
    assert manifest.title == "Andijon, May 2005: the cables and their sources"
    assert manifest.description.startswith("Cables from Tashkent") and manifest.description.endswith("\n")
    assert manifest.organization == Organization(
        name="Example Archive", address="1 Archive Road, Example City",
        contact=Contact(name="A. Archivist", email="archivist@example.org"))
    assert manifest.site == Site(
        cable_url="http://127.0.0.1:8000/cable/{id}",
        original_url="http://127.0.0.2:8000/cable/{created:%Y}/{created:%m}/{id}.html",
        profile={"name": "custom", "fields": {"identifier": {"css": "td.label + td"}},
                 "text": {"css": "div.text pre"}},
        profile_line=18)
    cable = "http://127.0.0.1:8000/cable/"
    assert manifest.seeds == (
        Seed("cable", "05ALMATY2503", cable + "05ALMATY2503", "full.yaml:22"),
        Seed("url", "https://127.0.0.2:8000/doc/unhcr-2005-07-04.html",
             "https://127.0.0.2:8000/doc/unhcr-2005-07-04.html", "full.yaml:23"),
        Seed("cable", "05TASHKENT1050", cable + "05TASHKENT1050", "lists/andijon.txt:2"),
        Seed("cable", "05TASHKENT1089", cable + "05TASHKENT1089", "lists/andijon.txt:4"),
        Seed("cable", "05ALMATY2401", cable + "05ALMATY2401", "lists/andijon.txt:5"),
        Seed("url", cable + "05ALMATY2503#text", cable + "05ALMATY2503#text", "lists/andijon.txt:6"),
        Seed("cable", "05TASHKENT1100", cable + "05TASHKENT1100", "full.yaml:25"),
    )
    assert manifest.follow == Follow(
        references=False, sources=False, requisites=False, depth=3,
        include=(re.compile(r"^http://127\.0\.0\.1:8000/cable/05"), re.compile("unhcr")),
        exclude=(re.compile(r"\.pdf$"),), hosts=("127.0.0.2", "example.org"))
    assert manifest.fetch == FetchOptions(
        user_agent="test-agent/1.0", concurrency=8, per_host_concurrency=2, per_host_delay=0.25,
        timeout=12.5, max_bytes=1_610_612_736, retries=0, robots="ignore", allow_private=True,
        allow_hosts=("127.0.0.1", "localhost"), processes=default_processes(8, browser=False))
    assert manifest.warc == WarcOptions(max_size=512_000, dedup="collection")
    assert manifest.bag == BagOptions(
        output=Path("/srv/bags"), algorithms=("sha256", "md5"),
        info={"Source-Organization": ("Example Archive",),
              "Internal-Sender-Identifier": ("andijon-2005", "box-7")})
    assert manifest.schedule == Schedule(
        jobs=(JobSchedule("crawl", parse_cron("0 3 * * 0"), 55), JobSchedule("audit", parse_cron("30 4 1 * *"), 56)),
        timezone="Europe/Berlin", jitter=900.0)
    assert manifest.delivery == ({"kind": "directory", "path": "/mnt/offsite"},)


def test_omitted_keys_take_their_defaults() -> None:
    manifest = load_manifest(DATA / "minimal.yaml")

    assert manifest.title == "andijon-2005"
    assert manifest.description == ""
    assert manifest.organization == Organization("", "", Contact("", ""))
    assert manifest.site == Site(cable_url=None, original_url=None, profile="cablebrowser", profile_line=None)
    assert manifest.follow == Follow(True, True, True, 1, (), (), ())
    assert manifest.fetch == FetchOptions(
        user_agent=f"cablekeep/{__version__} (+https://github.com/cablekeep/cablekeep)",
        concurrency=4, per_host_concurrency=1, per_host_delay=1.0, timeout=30.0,
        max_bytes=100_000_000, retries=3, robots="obey", allow_private=False, allow_hosts=())
    assert manifest.warc == WarcOptions(max_size=1_000_000_000, dedup="none")
    assert manifest.bag == BagOptions(output=DATA / "bags", algorithms=("sha512", "sha256"), info={})
    assert manifest.schedule == Schedule() and manifest.delivery == ()


def test_empty_sections_and_lists_mean_their_defaults(tmp_path: Path) -> None:
    manifest = load(tmp_path, """\
        cablekeep: 1
        collection: c
        seeds: [http://127.0.0.1/]
        organization:
        follow:
          include:
        fetch: {}
        schedule:
        """)
    assert manifest.follow == Follow()
    assert manifest.fetch == FetchOptions()
    assert manifest.organization == Organization()
    assert manifest.schedule == Schedule()


def test_example_manifest_loads_and_shows_the_defaults() -> None:
    example = load_manifest(REPO / "manifests" / "example.yaml")

    assert example.title == example.collection
    assert example.description == ""
    assert example.organization == Organization()
    assert (example.site.original_url, example.site.profile) == (None, "cablebrowser")
    assert example.follow == Follow()
    assert example.fetch == FetchOptions()
    assert example.warc == WarcOptions()
    assert example.bag == BagOptions(output=REPO / "manifests" / "bags")
    assert (example.schedule, example.delivery) == (Schedule(), ())
    assert [seed.kind for seed in example.seeds] == ["cable", "url"]


def test_loading_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "manifests"
    shutil.copytree(DATA, work)
    before = snapshot(tmp_path)

    load_manifest(work / "full.yaml")
    load_manifest(work / "minimal.yaml")
    with pytest.raises(ManifestError):
        load_manifest_text("cablekeep: 1\ncollection: [", work / "broken.yaml")

    assert snapshot(tmp_path) == before


def test_source_text_is_the_manifest_exactly_as_read(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf# comment\r\ncablekeep: 1\r\ncollection: c   \r\nseeds: [http://127.0.0.1/]\r\n"
    (tmp_path / "m.yaml").write_bytes(data)

    manifest = load_manifest(tmp_path / "m.yaml")

    assert manifest.source_text == data.decode("utf-8")
    assert manifest.collection == "c"


def test_seed_spellings_are_normalised_and_each_seed_says_where_it_came_from(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "seeds.txt").write_text("\n# heading\n05 almaty 02503\n  http://h.example/a  \n")
    manifest = load(tmp_path, """\
        cablekeep: 1
        collection: c
        site: {cable_url: "https://cables.example/cable/{id}.html"}
        seeds:
          - cable: 05 Almaty 2503
          - 09 Buenos Aires 117
          - https://h.example/b
          - file: lists/seeds.txt
        """)
    assert [(s.kind, s.value, s.url, s.origin) for s in manifest.seeds] == [
        ("cable", "05ALMATY2503", "https://cables.example/cable/05ALMATY2503.html", "manifest.yaml:5"),
        ("cable", "09BUENOSAIRES117", "https://cables.example/cable/09BUENOSAIRES117.html", "manifest.yaml:6"),
        ("url", "https://h.example/b", "https://h.example/b", "manifest.yaml:7"),
        ("cable", "05ALMATY2503", "https://cables.example/cable/05ALMATY2503.html", "lists/seeds.txt:3"),
        ("url", "http://h.example/a", "http://h.example/a", "lists/seeds.txt:4"),
    ]


def test_seed_lists_are_streamed_not_held(tmp_path: Path) -> None:
    """A seed list is checked and counted at load, then read again line by line when the seeds
    are listed (a crawl streams 100,000 of them into its state); a list broken since is an error."""
    (tmp_path / "lists").mkdir()
    seeds = tmp_path / "lists" / "many.txt"
    seeds.write_text("".join(f"http://h.example/p/{i}\n" for i in range(1000)))
    manifest = load(tmp_path, "cablekeep: 1\ncollection: c\nseeds:\n  - http://h.example/\n  - file: lists/many.txt\n")
    assert len(manifest.seeds) == 1001
    assert len(manifest.seeds.entries) == 2  # the list's seeds are not kept
    assert [s.url for s in manifest.seeds][-1] == "http://h.example/p/999"
    seeds.write_text("http://h.example/x\nnot a seed\n")
    with pytest.raises(ManifestError) as caught:
        list(manifest.seeds)
    assert caught.value.key == "seeds[1].file" and "lists/many.txt:2" in caught.value.message


def test_bag_output_is_relative_to_the_manifest_directory(tmp_path: Path) -> None:
    manifest = load(tmp_path, "cablekeep: 1\ncollection: c\nseeds: [http://h/]\nbag: {output: ../out}\n")
    assert manifest.bag.output == tmp_path / ".." / "out"
    assert manifest.bag.output.is_absolute()


def test_host_lists_are_normalised(tmp_path: Path) -> None:
    manifest = load(tmp_path, """\
        cablekeep: 1
        collection: c
        seeds: [http://h/]
        follow: {hosts: [Example.ORG, münchen.de, "[::1]", 127.0.0.2]}
        """)
    assert manifest.follow.hosts == ("example.org", "xn--mnchen-3ya.de", "::1", "127.0.0.2")


def test_a_manifest_is_hashable_and_compares_by_value() -> None:
    first, second = load_manifest(DATA / "full.yaml"), load_manifest(DATA / "full.yaml")
    assert first == second
    assert hash(first) == hash(second)


def test_errors_name_the_manifest_as_it_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.yaml").write_text("cablekeep: 1\ncollection: c\nseeds: []\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path("m.yaml"))
    assert str(caught.value).startswith("m.yaml:3: seeds: ")


def test_site_templates_make_urls(tmp_path: Path) -> None:
    import datetime

    site = load_manifest(DATA / "full.yaml").site
    assert site.cable_page_url("05ALMATY2503") == "http://127.0.0.1:8000/cable/05ALMATY2503"
    assert site.original_page_url("05ALMATY2503", datetime.datetime(2005, 7, 6, 12, 8)) == (
        "http://127.0.0.2:8000/cable/2005/07/05ALMATY2503.html")


def test_aliases_are_safe_and_shared(tmp_path: Path) -> None:
    # "Billion laughs": nine levels of ten aliases each. Aliases share one node, so this stays small.
    levels = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "cablekeep: 1\ncollection: c\nseeds: [http://h/]\ndelivery:\n  - {" + ", ".join(levels) + "}\n"
    with pytest.raises(ManifestError) as caught:  # read, not expanded: each unknown key named once
        load_manifest_text(text, tmp_path / "m.yaml")
    assert [p.key for p in caught.value.problems if "unknown key" in p.message] == [
        f"delivery[0].a{i}" for i in range(10)
    ]


# --------------------------------------------------------------------------------------------------
# Sizes


@pytest.mark.parametrize(("text", "size"), [
    ("0", 0), ("512", 512), ("512B", 512), ("100MB", 100_000_000), ("100 mb", 100_000_000),
    ("512KB", 512_000), ("1KiB", 1024), ("1.5GiB", 1_610_612_736), ("2TB", 2 * 10**12), (".5KB", 500),
])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "problem"), [
    ("10 parsecs", "not a unit of size"), ("", "not a size"), ("-1MB", "not a size"),
    ("1.5", "whole number of bytes"), ("1.0001KB", "whole number of bytes"), ("MB", "not a size"),
    ("1e6", "not a size"),
])
def test_parse_size_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_size(text)


# --------------------------------------------------------------------------------------------------
# Errors: each names the file, the 1-based line and the key path

HEAD = """\
cablekeep: 1
collection: andijon-2005
site:
  cable_url: "http://127.0.0.1:8000/cable/{id}"
seeds:
  - cable: 05ALMATY2503
"""  # lines 1-6; a case's own text starts at line 7

ERRORS = [
    # (id, manifest text, line, key, part of the message)
    ("not-yaml", HEAD + "fetch:\n  timeout: 5\n  user_agent: 'abc\n", 9, "fetch.user_agent",
     "not valid YAML"),
    ("not-yaml-flow", "cablekeep: 1\nseeds: [a, b\ncollection: c\n", 3, "seeds[2]", "not valid YAML"),
    ("tab-indent", HEAD + "fetch:\n\ttimeout: 5\n", 8, "fetch", "indent with spaces"),
    ("two-documents", HEAD + "---\ncablekeep: 1\n", 7, "", "more than one document"),
    ("empty", "# nothing\n", 1, "", "the manifest is empty"),
    ("not-a-mapping", "- cablekeep: 1\n- collection: c\n", 1, "", "must be a mapping"),
    ("text-not-a-mapping", "just some text\n", 1, "", "must be a mapping"),
    ("unknown-key", HEAD + "colection: x\n", 7, "colection", "did you mean collection?"),
    ("unknown-nested-key", HEAD + "fetch:\n  timeout: 5\n  per_host_dealy: 2\n", 9,
     "fetch.per_host_dealy", "did you mean per_host_delay?"),
    ("unknown-deep-key", HEAD + "organization:\n  contact:\n    mail: a@b\n", 9,
     "organization.contact.mail", "did you mean email?"),
    ("key-in-wrong-section", HEAD + "fetch:\n  depth: 2\n", 8, "fetch.depth", "depth belongs in follow"),
    ("unknown-key-no-suggestion", HEAD + "warc:\n  zzz: 1\n", 8, "warc.zzz", "the keys here are: max_size, dedup"),
    ("bool-for-int", HEAD + "fetch:\n  concurrency: true\n", 8, "fetch.concurrency",
     "expected a whole number, got true (a boolean)"),
    ("quoted-int", HEAD + "fetch:\n  retries: '3'\n", 8, "fetch.retries", "write it without quotes"),
    ("float-for-int", HEAD + "follow:\n  depth: 1.5\n", 8, "follow.depth", "expected a whole number"),
    ("bool-for-number", HEAD + "fetch:\n  per_host_delay: yes\n", 8, "fetch.per_host_delay",
     "expected a number, got true"),
    ("text-for-bool", HEAD + "follow:\n  sources: 'no'\n", 8, "follow.sources", "write it without quotes"),
    ("no-value", HEAD + "fetch:\n  timeout:\n", 8, "fetch.timeout", "has no value; give a number, or remove the key"),
    ("section-not-mapping", HEAD + "fetch: 5\n", 7, "fetch", "expected a mapping"),
    ("list-not-list", HEAD + "follow:\n  include: abc\n", 8, "follow.include", "expected a list"),
    ("concurrency-zero", HEAD + "fetch:\n  concurrency: 0\n", 8, "fetch.concurrency", "must be from 1 to 256, got 0"),
    ("concurrency-high", HEAD + "fetch:\n  concurrency: 257\n", 8, "fetch.concurrency", "from 1 to 256"),
    ("threads-zero", HEAD + "fetch:\n  processes: 2\n  threads: 0\n", 9, "fetch.threads", "must be from 1 to 256, got 0"),
    ("threads-text", HEAD + "fetch:\n  threads: many\n", 8, "fetch.threads", "many"),
    ("retries-high", HEAD + "fetch:\n  retries: 21\n", 8, "fetch.retries", "from 0 to 20, got 21"),
    ("depth-negative", HEAD + "follow:\n  depth: -1\n", 8, "follow.depth", "must be 0 or more"),
    ("delay-negative", HEAD + "fetch:\n  per_host_delay: -0.5\n", 8, "fetch.per_host_delay", "at least 0"),
    ("timeout-zero", HEAD + "fetch:\n  timeout: 0\n", 8, "fetch.timeout", "more than 0"),
    ("timeout-inf", HEAD + "fetch:\n  timeout: .inf\n", 8, "fetch.timeout", "finite"),
    ("size-zero", HEAD + "warc:\n  max_size: 0\n", 8, "warc.max_size", "more than 0 bytes"),
    ("bad-size", HEAD + "fetch:\n  max_bytes: 10 parsecs\n", 8, "fetch.max_bytes", "'parsecs' in '10 parsecs'"),
    ("float-size", HEAD + "warc:\n  max_size: 1.5\n", 8, "warc.max_size", "expected a size"),
    ("bad-choice", HEAD + "fetch:\n  robots: obay\n", 8, "fetch.robots", "did you mean obey?"),
    ("bad-collection", "cablekeep: 1\ncollection: Andijon 2005\nseeds: [http://h/]\n", 2, "collection",
     "e.g. 'andijon-2005'"),
    ("collection-leading-hyphen", "cablekeep: 1\ncollection: -x\nseeds: [http://h/]\n", 2, "collection",
     "starting with a letter or digit"),
    ("collection-too-long", f"cablekeep: 1\ncollection: {'a' * 65}\nseeds: [http://h/]\n", 2,
     "collection", "1 to 64"),
    ("collection-number", "cablekeep: 1\ncollection: 2005\nseeds: [http://h/]\n", 2, "collection",
     "quote it"),
    ("version-2", "collection: c\ncablekeep: 2\nseeds: [http://h/]\n", 2, "cablekeep",
     "manifest version 2 is not supported"),
    ("version-text", "cablekeep: '1'\ncollection: c\nseeds: [http://h/]\n", 1, "cablekeep",
     "without quotes"),
    ("missing-version", "collection: c\nseeds: [http://h/]\n", 1, "cablekeep", "required key is missing"),
    ("missing-collection", "cablekeep: 1\nseeds: [http://h/]\n", 1, "collection", "required key 'collection'"),
    ("missing-seeds", "\n\ncablekeep: 1\ncollection: c\n", 3, "seeds", "required key 'seeds'"),
    ("empty-seeds", "cablekeep: 1\ncollection: c\nseeds: []\n", 3, "seeds", "the seed list is empty"),
    ("null-seeds", "cablekeep: 1\ncollection: c\nseeds:\n", 3, "seeds", "the seed list is empty"),
    ("bad-regex", HEAD + "follow:\n  include:\n    - ok\n    - '(unclosed'\n", 10, "follow.include[1]",
     "not a valid regular expression: missing )"),
    ("seed-neither", HEAD + "  - hello world\n", 7, "seeds[1]", "neither an http(s) URL nor a cable ID"),
    ("seed-bad-cable", HEAD + "  - cable: www.example.org\n", 7, "seeds[1].cable", "not a cable ID"),
    ("seed-two-keys", HEAD + "  - cable: 05ALMATY2503\n    url: http://h/\n", 7, "seeds[1]",
     "this one has cable and url"),
    ("seed-unknown-key", HEAD + "  - cabel: 05ALMATY2503\n", 7, "seeds[1].cabel", "did you mean cable?"),
    ("seed-empty-mapping", HEAD + "  - {}\n", 7, "seeds[1]", "this one has none"),
    ("seed-null", HEAD + "  -\n", 7, "seeds[1]", "got nothing"),
    ("seed-list", HEAD + "  - [a]\n", 7, "seeds[1]", "got a list"),
    ("url-seed-ftp", HEAD + "  - url: ftp://example.org/x\n", 7, "seeds[1].url", "scheme 'ftp'"),
    ("url-seed-no-scheme", HEAD + "  - url: example.org/x\n", 7, "seeds[1].url", "no scheme"),
    ("url-seed-no-host", HEAD + "  - url: 'http:///x'\n", 7, "seeds[1].url", "no valid host"),
    ("url-seed-space", HEAD + "  - url: http://h/a b\n", 7, "seeds[1].url", "percent-encode"),
    ("bare-seed-mailto", HEAD + "  - mailto:a@b.example\n", 7, "seeds[1]", "scheme 'mailto'"),
    ("duplicate-key", HEAD + "collection: other\n", 7, "collection", "on line 2 and line 7"),
    ("duplicate-nested-key", HEAD + "fetch:\n  timeout: 5\n  retries: 1\n  timeout: 6\n", 10,
     "fetch.timeout", "on line 8 and line 10"),
    ("duplicate-in-free-labels", HEAD + "bag:\n  info:\n    {At: a, At: b}\n", 9, "bag.info.At",
     "written twice, on line 9;"),
    ("bad-algorithm", HEAD + "bag:\n  algorithms: [sha512, sha-256]\n", 8, "bag.algorithms[1]",
     "did you mean sha256?"),
    ("duplicate-algorithm", HEAD + "bag:\n  algorithms:\n    - md5\n    - md5\n", 10, "bag.algorithms[1]",
     "listed twice"),
    ("no-algorithms", HEAD + "bag:\n  algorithms: []\n", 8, "bag.algorithms", "at least one"),
    ("bad-info-label", HEAD + "bag:\n  info:\n    'Contact: Name': x\n", 9, "bag.info.Contact: Name",
     "not a bag-info.txt label"),
    ("computed-info-label", HEAD + "bag:\n  info:\n    Payload-Oxum: 1.1\n", 9, "bag.info.Payload-Oxum",
     "computed when the bag is made"),
    ("info-value-not-text", HEAD + "bag:\n  info:\n    Bagging-Date: 2005-07-06\n", 9,
     "bag.info.Bagging-Date", 'quote it if you mean the text: "2005-07-06"'),
    ("info-control-character", HEAD + "bag:\n  info:\n    Note: \"a\\x07b\"\n", 9, "bag.info.Note",
     "control characters"),
    ("title-multiline", HEAD + "title: \"a\\nb\"\n", 7, "title", "must be one line"),
    ("empty-output", HEAD + "bag:\n  output: ''\n", 8, "bag.output", "must not be empty"),
    ("cable-url-without-id", "cablekeep: 1\ncollection: c\nsite:\n  cable_url: http://h/cable/\nseeds: [http://h/]\n",
     4, "site.cable_url", "must contain {id}"),
    ("cable-url-ftp", "cablekeep: 1\ncollection: c\nsite:\n  cable_url: ftp://h/{id}\nseeds: [http://h/]\n",
     4, "site.cable_url", "http:// and https:// URLs only"),
    ("cable-url-bad-placeholder", "cablekeep: 1\ncollection: c\nsite: {cable_url: 'http://h/{ID}'}\n"
     "seeds: [http://h/]\n", 3, "site.cable_url", "unknown placeholder {ID}"),
    ("cable-url-conversion", "cablekeep: 1\ncollection: c\nsite: {cable_url: 'http://h/{id!r}'}\n"
     "seeds: [http://h/]\n", 3, "site.cable_url", "write {id} plainly"),
    ("original-url-bad-brace", "cablekeep: 1\ncollection: c\nsite: {original_url: 'http://h/{id'}\n"
     "seeds: [http://h/]\n", 3, "site.original_url", "not a valid URL template"),
    ("cable-seed-without-cable-url", "cablekeep: 1\ncollection: c\nseeds:\n  - url: http://h/\n"
     "  - cable: 05ALMATY2503\n", 5, "seeds[1].cable", "needs site.cable_url"),
    ("bare-cable-seed-without-cable-url", "cablekeep: 1\ncollection: c\nseeds: [05ALMATY2503]\n", 3,
     "seeds[0]", "needs site.cable_url"),
    ("unknown-profile", "cablekeep: 1\ncollection: c\nsite:\n  profile: cablebrowsr\nseeds: [http://h/]\n",
     4, "site.profile", "did you mean cablebrowser?"),
    ("host-with-port", HEAD + "follow:\n  hosts: ['127.0.0.2:8000']\n", 8, "follow.hosts[0]",
     "without scheme, port or path"),
    ("schedule-not-mapping", HEAD + "schedule: daily\n", 7, "schedule", "expected a mapping"),
    ("schedule-old-list-form", HEAD + "schedule:\n  - daily\n", 8, "schedule", "expected a mapping of jobs"),
    ("unknown-key-close-to-section", HEAD + "site2: 1\n", 7, "site2", "did you mean site?"),
    ("merge-key-in-section", HEAD + "fetch:\n  <<: {timeout: 5}\n", 8, "fetch.<<", "merge keys"),
    ("python-tag", HEAD + "title: !!python/name:os.system ''\n", 7, "title",
     "could not determine a constructor"),
    ("python-tag-in-raw-data", HEAD + "delivery:\n  - run: !!python/object/apply:os.system ['true']\n", 8,
     "delivery[0]", "could not determine a constructor"),
    ("bad-explicit-tag", HEAD + "fetch:\n  retries: !!int three\n", 8, "fetch.retries", "cannot read 'three' as int"),
    ("non-text-key", HEAD + "1: x\n", 7, "1", "keys must be text, got the whole number 1"),
    ("null-title", HEAD + "title:\n", 7, "title", "has no value; give text, or remove the key"),
    ("control-character", HEAD + "title: \"a\\x07b\"\n", 7, "title", "control characters"),
    ("undefined-alias", HEAD + "title: *nothing\n", 7, "title", "found undefined alias"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_manifest_error(tmp_path: Path, text: str, line: int, key: str, message: str) -> None:
    path = tmp_path / "manifest.yaml"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, path)
    error = caught.value

    assert (error.path, error.line, error.key) == (path, line, key)
    assert message in error.message
    assert str(error) == (f"{path}:{line}: {key}: {error.message}" if key else f"{path}:{line}: {error.message}")
    assert error.exit_code == 3


def test_unknown_key_at_the_top_level_lists_nothing_misleading(tmp_path: Path) -> None:
    error = load_error(tmp_path, HEAD + "version: 1\n")
    assert error.message.startswith("unknown key 'version' at the top level; the keys here are: cablekeep,")


def test_an_unknown_key_is_reported_before_the_errors_it_causes(tmp_path: Path) -> None:
    error = load_error(tmp_path, """\
        cablekeep: 1
        collection: c
        site: {cable_ur: "http://h/cable/{id}"}
        seeds: [05ALMATY2503]
        fetch: {timeout: 0, retrys: 1}
        """)
    assert (error.line, error.key) == (3, "site.cable_ur")
    assert error.message.endswith("did you mean cable_url?")


def test_the_first_unknown_key_in_the_file_is_the_one_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path, "seeds: [{cabel: x}]\ncablekeep: 1\nfollow: {dept: 1}\n")
    assert (error.line, error.key) == (1, "seeds[0].cabel")


def test_first_duplicate_in_the_file_is_the_one_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path, HEAD + "fetch:\n  timeout: 5\n  timeout: 6\ncollection: again\n")
    assert (error.line, error.key) == (9, "fetch.timeout")


THREE_ERRORS = """\
cablekeep: 1
collection: Andijon 2005
seeds:
  - url: ftp://example.org/x
fetch:
  concurrency: 2
  per_host_dealy: 2
"""


def test_every_error_is_reported_in_one_run(tmp_path: Path) -> None:
    """An unknown key, a bad value and a bad seed: all three, each with file, line and key; the
    unknown key first, as it may explain the others, then the rest in file order."""
    path = tmp_path / "manifest.yaml"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(THREE_ERRORS, path)
    error = caught.value

    assert [(p.path, p.line, p.key) for p in error.problems] == [
        (path, 7, "fetch.per_host_dealy"), (path, 2, "collection"), (path, 4, "seeds[0].url")]
    assert "did you mean per_host_delay?" in error.problems[0].message
    assert "cannot name a bag" in error.problems[1].message
    assert "scheme 'ftp'" in error.problems[2].message
    assert (error.line, error.key, error.message) == (7, "fetch.per_host_dealy", error.problems[0].message)
    assert str(error).splitlines() == [f"{path}:{p.line}: {p.key}: {p.message}" for p in error.problems]
    assert error.exit_code == 3


def test_the_cli_shows_every_error_and_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(THREE_ERRORS)
    result = subprocess.run([sys.executable, "-m", "cablekeep", "run", str(path)], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 3
    lines = result.stderr.removeprefix("cablekeep: error: ").splitlines()
    assert [line.split(": ")[:2] for line in lines] == [
        [f"{path}:7", "fetch.per_host_dealy"], [f"{path}:2", "collection"], [f"{path}:4", "seeds[0].url"]]
    assert sorted(os.listdir(tmp_path)) == ["manifest.yaml"]


def test_each_wrong_item_of_a_list_is_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path, HEAD + "  - hello world\n  - url: ftp://h/\nfollow:\n"
                       "  hosts: ['h:1', ok.example, 'h/x']\nbag:\n  info: {'A: b': x, Payload-Oxum: 1.1}\n")
    assert [(p.line, p.key) for p in error.problems] == [
        (7, "seeds[1]"), (8, "seeds[2].url"), (10, "follow.hosts[0]"), (10, "follow.hosts[2]"),
        (12, "bag.info.A: b"), (12, "bag.info.Payload-Oxum")]


def test_a_wrong_cable_url_is_not_reported_again_for_every_cable_seed(tmp_path: Path) -> None:
    error = load_error(tmp_path, """\
        cablekeep: 1
        collection: c
        site: {cable_url: 'http://h/cable/'}
        seeds: [05ALMATY2503, 05TASHKENT1050, 'cable: bad']
        """)
    assert [(p.line, p.key) for p in error.problems] == [(3, "site.cable_url"), (4, "seeds[2]")]


def test_an_unsupported_version_is_the_only_error_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path, "cablekeep: 2\ncollection: Not A Name\nseeds: []\nfetch: {retries: 99}\n")
    assert [(p.line, p.key) for p in error.problems] == [(1, "cablekeep")]
    assert "version 2 is not supported" in str(error)


def test_manifest_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found") as caught:
        load_manifest(tmp_path / "missing.yaml")
    assert caught.value.line is None


def test_manifest_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_bytes(b"cablekeep: 1\ncollection: caf\xe9\n")
    with pytest.raises(ManifestError, match="not UTF-8") as caught:
        load_manifest(tmp_path / "m.yaml")
    assert caught.value.line == 2


# --------------------------------------------------------------------------------------------------
# Seed lists


def seed_file_manifest(tmp_path: Path, name: str) -> Path:
    shutil.copytree(DATA / "lists", tmp_path / "lists")
    path = tmp_path / "manifest.yaml"
    path.write_text("cablekeep: 1\ncollection: c\nsite: {cable_url: 'http://h/{id}'}\n"
                    f"seeds:\n  - url: http://h/\n  - file: {name}\n")
    return path


def test_missing_seed_file(tmp_path: Path) -> None:
    path = seed_file_manifest(tmp_path, "lists/missing.txt")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (path, 6, "seeds[1].file")
    assert "seed list lists/missing.txt not found" in error.message
    assert str(tmp_path / "lists" / "missing.txt") in error.message


def test_bad_seed_file_line_names_the_list_line_and_the_manifest_key(tmp_path: Path) -> None:
    path = seed_file_manifest(tmp_path, "lists/bad-line.txt")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (path, 6, "seeds[1].file")
    assert error.message.startswith("lists/bad-line.txt:3: 'www.example.org/report.html' is neither")
    assert str(error).startswith(f"{path}:6: seeds[1].file: lists/bad-line.txt:3: ")


def test_seed_file_with_no_seeds(tmp_path: Path) -> None:
    path = seed_file_manifest(tmp_path, "lists/empty.txt")
    with pytest.raises(ManifestError, match="has no seeds") as caught:
        load_manifest(path)
    assert (caught.value.line, caught.value.key) == (6, "seeds[1].file")


def test_seed_file_cable_without_cable_url(tmp_path: Path) -> None:
    shutil.copytree(DATA / "lists", tmp_path / "lists")
    error = load_error(tmp_path, "cablekeep: 1\ncollection: c\nseeds:\n  - file: lists/andijon.txt\n")
    assert (error.line, error.key) == (4, "seeds[0].file")
    assert error.message.startswith("lists/andijon.txt:2: cable seed 05TASHKENT1050 needs site.cable_url")


def test_seed_file_not_utf8(tmp_path: Path) -> None:
    path = seed_file_manifest(tmp_path, "lists/latin1.txt")
    (tmp_path / "lists" / "latin1.txt").write_bytes(b"05ALMATY2503\n# caf\xe9\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert caught.value.message.startswith("lists/latin1.txt:2: the seed list is not UTF-8")


def test_seed_file_is_a_directory(tmp_path: Path) -> None:
    path = seed_file_manifest(tmp_path, "lists")
    with pytest.raises(ManifestError, match="cannot read seed list") as caught:
        load_manifest(path)
    assert caught.value.key == "seeds[1].file"


# --------------------------------------------------------------------------------------------------
# Shape


def test_only_the_manifest_reader_imports_yaml() -> None:
    importers = []
    for module in sorted((REPO / "src" / "cablekeep").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "yaml" or name.startswith("yaml.") for name in names):
                importers.append(module.relative_to(REPO / "src" / "cablekeep").as_posix())
    assert set(importers) == {"manifest/reader.py"}


# --------------------------------------------------------------------------------------------------
# Handing packages to libraries: bag.profile and delivery destinations


def test_bag_profile_and_delivery_destinations_by_name(tmp_path: Path) -> None:
    from cablekeep.manifest import DeliveryTarget

    manifest = load(tmp_path, HEAD + """\
bag:
  profile: profiles/library.json
delivery:
  - {name: share, kind: directory, path: drop}
  - name: library
    kind: s3
    bucket: library-incoming
    prefix: cablekeep/
    endpoint_url: http://127.0.0.1:9000
    region: eu-west-1
    storage_class: STANDARD_IA
    profile: library-uploader
  - {kind: directory, path: /mnt/offsite}
""")
    assert manifest.bag.profile == "profiles/library.json"
    assert manifest.destinations == (
        DeliveryTarget("share", "directory", path=tmp_path / "drop"),
        DeliveryTarget("library", "s3", bucket="library-incoming", prefix="cablekeep/",
                       endpoint_url="http://127.0.0.1:9000", region="eu-west-1", storage_class="STANDARD_IA",
                       profile="library-uploader"),
        DeliveryTarget("directory", "directory", path=Path("/mnt/offsite")),  # unnamed: called by its kind
    )
    assert manifest.destination("library").bucket == "library-incoming"
    with pytest.raises(ValueError, match="has 3 delivery destinations .*say which with --to NAME"):
        manifest.destination(None)
    with pytest.raises(ValueError, match="no delivery destination 'nas'; its destinations: share, library, directory"):
        manifest.destination("nas")
    assert load(tmp_path, HEAD).bag.profile is None


@pytest.mark.parametrize("key", ["aws_secret_access_key", "aws_access_key_id", "secret_key", "password",
                                 "session_token"])
def test_credentials_in_a_delivery_destination_are_a_manifest_error(tmp_path: Path, key: str) -> None:
    error = load_error(tmp_path, HEAD + f"delivery:\n  - {{kind: s3, bucket: b-1, {key}: AKIAEXAMPLE}}\n")
    assert (error.line, error.key) == (8, f"delivery[0].{key}")
    assert "credentials never go in a manifest" in error.message
    assert "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)" in error.message and "profile" in error.message


@pytest.mark.parametrize(("text", "key", "message"), [
    ("  - {kind: tape}\n", "delivery[0].kind", "expected one of directory, s3"),
    ("  - {path: /x}\n", "delivery[0].kind", "required key 'kind' is missing"),
    ("  - {kind: s3}\n", "delivery[0].bucket", "needs bucket"),
    ("  - {kind: directory}\n", "delivery[0].path", "needs path"),
    ("  - {kind: s3, bucket: b-1, path: /x}\n", "delivery[0].path", "is for kind: directory"),
    ("  - {kind: directory, path: /x, bucket: b-1}\n", "delivery[0].bucket", "is for kind: s3"),
    ("  - {kind: s3, bucket: 'b/c'}\n", "delivery[0].bucket", "put the folder in prefix"),
    ("  - {kind: s3, bucket: b-1, endpoint_url: 'http://k:s@h'}\n", "delivery[0].endpoint_url",
     "credentials never go in a manifest"),
    ("  - {kind: s3, bucket: b-1, bukcet: x}\n", "delivery[0].bukcet", "did you mean bucket?"),
    ("  - {kind: s3, bucket: b-1}\n  - {kind: s3, bucket: b-2}\n", "delivery[1].name", "'s3' names delivery[0] too"),
    ("  - {kind: s3, bucket: b-1, name: 'my lib'}\n", "delivery[0].name", "cannot be given to --to"),
])
def test_a_wrong_delivery_destination_is_named(tmp_path: Path, text: str, key: str, message: str) -> None:
    error = load_error(tmp_path, HEAD + "delivery:\n" + text)
    assert error.key == key and message in error.message, str(error)


def test_an_empty_bag_profile_is_a_manifest_error(tmp_path: Path) -> None:
    error = load_error(tmp_path, HEAD + "bag:\n  profile: ''\n")
    assert (error.line, error.key) == (8, "bag.profile")
