"""Manifests of any size (issue 11, "Trust under abuse"): libyaml parses when PyYAML has it, with the
same results and messages as PyYAML's own parser; a seed written plainly in the manifest is kept as a
PlainSeed, never as nodes and marks, and reads exactly as its nodes would; the shortcuts (canonical
cable IDs, control characters) agree with the rules they stand for. Time and memory are measured in
benchmarks/manifest_load.py, not here."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cablekeep.cables.cableid import is_cable_id, normalise_cable_id
from cablekeep.errors import ManifestError
from cablekeep.manifest import Manifest, load_manifest, load_manifest_text, reader, seeds
from cablekeep.manifest.reader import PlainSeed, SeedItems, compose, line_of
from cablekeep.manifest.values import control_characters

from .conftest import run_cli
from .test_manifest import DATA, ERRORS

HEAD = "cablekeep: 1\ncollection: c\nsite: {cable_url: 'http://127.0.0.1:8000/cable/{id}'}\nseeds:\n"

# Seed items, good and bad, in every way a manifest may write them (lines 5 on).
SEED_ITEMS = """\
  - 05ALMATY2503
  - '06ASTANA919'
  - "05 Almaty 04353"
  - http://127.0.0.2:8000/doc/a.html
  - cable: 05ALMATY2401
  - cable: 05secstate12
  - cable: "05SECSTATE12"
  - url: 'https://127.0.0.2/b?x=1'
  - {cable: 05TASHKENT1050}
  - cable:
      05DUSHANBE1120
  - !!str 05ALMATY1437
  - cable: !!str 05ALMATY1438
  - &anchored 05ALMATY1439
  - {url: http://127.0.0.2/c, cable: 05ALMATY1}
  - cabel: 05ALMATY2503
  - cable: 2005
  - 2005
  - cable:
  - url: ftp://127.0.0.2/x
  - url: "http://127.0.0.1:65536/"
  - "http://[::zz]/"
  - "05ALMATY\\x07 1"
  - url: "http://h/\\x01"
  - hello world
  - cable: www.example.org
  - [a]
  - {}
  - &seedmap {url: http://127.0.0.2/d}
  - *anchored
  - cable: *anchored
title: *anchored
"""


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML was built without libyaml")
        monkeypatch.setattr(reader, "LOADER", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(reader, "LOADER", yaml.SafeLoader)
    yield request.param


def outcome(text: str, path: Path) -> tuple[str, object]:
    try:
        manifest = load_manifest_text(text, path)
    except ManifestError as error:
        return "error", [(p.line, p.key, p.message) for p in error.problems]
    return "manifest", (list(manifest.seeds), manifest.title, manifest.collection)


def test_libyaml_parses_when_pyyaml_has_it() -> None:
    assert reader.LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize(("text", "line", "key", "message"), [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_each_error_is_the_same_with_either_parser(loader: str, tmp_path: Path, text: str, line: int,
                                                   key: str, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, tmp_path / "manifest.yaml")
    assert (caught.value.line, caught.value.key) == (line, key)
    assert message in caught.value.message


def test_a_full_manifest_is_the_same_with_either_parser(loader: str) -> None:
    manifest = load_manifest(DATA / "full.yaml")
    reference = load_with(yaml.SafeLoader, DATA / "full.yaml")
    assert manifest == reference
    assert list(manifest.seeds) == list(reference.seeds)


def load_with(loader_class: type, path: Path) -> Manifest:
    saved = reader.LOADER
    reader.LOADER = loader_class
    try:
        return load_manifest(path)
    finally:
        reader.LOADER = saved


def test_plain_seeds_are_kept_without_nodes(tmp_path: Path) -> None:
    root = compose(HEAD + SEED_ITEMS, tmp_path / "manifest.yaml", "cablekeep: 1")
    (_, seeds_node), = [(k, v) for k, v in root.value if k.value == "seeds"]
    items = seeds_node.value
    assert isinstance(items, SeedItems) and len(items) == 30
    plain = [i for i, entry in enumerate(items.entries) if isinstance(entry, PlainSeed)]
    # kept as nodes: the anchored ones (an alias may use them), two keys, an unknown key, values that
    # are not text or no value, a list, an empty mapping; an alias of a text is the text
    assert plain == [*range(12), *range(18, 25), 28, 29]
    assert items.entries[9] == PlainSeed("cable", "05DUSHANBE1120", 14, 15)
    assert items.entries[10] == PlainSeed(None, "05ALMATY1437", 16, 16)  # !!str is text
    # read as nodes, a plain seed is the node it came from, with its lines
    node = items[9]
    assert line_of(node) == 14 and line_of(node.value[0][1]) == 15 and node.value[0][1].value == "05DUSHANBE1120"
    assert [line_of(n) for n in items[:3]] == [5, 6, 7]


def test_plain_seeds_read_as_their_nodes_would(loader: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every seed item, good or bad, gives the same seeds and the same problems (line, key, message)
    whether it is kept plain or as nodes."""
    path = tmp_path / "manifest.yaml"
    cases = [HEAD + SEED_ITEMS, HEAD + SEED_ITEMS.replace("title: *anchored\n", ""),
             HEAD + "".join(line for line in SEED_ITEMS.splitlines(keepends=True)[:13]),
             HEAD + "  - cable: 05ALMATY2503\n    url: http://h/\n  - cable: 05ALMATY1\n"]
    plain = [outcome(text, path) for text in cases]
    monkeypatch.setattr(reader, "_plain_seed", lambda node: None)
    monkeypatch.setattr(reader._Composer, "plain_text", lambda self, event: False)
    assert [outcome(text, path) for text in cases] == plain
    assert [kind for kind, _ in plain] == ["error", "error", "manifest", "error"]
    problems, seeds_read = plain[0][1], plain[2][1]
    assert isinstance(problems, list) and len(problems) == 14
    assert isinstance(seeds_read, tuple) and [seed.value for seed in seeds_read[0]][9] == "05DUSHANBE1120"


def test_a_list_of_seeds_with_an_anchor_is_kept_as_nodes(tmp_path: Path) -> None:
    manifest = load_manifest_text("cablekeep: 1\ncollection: c\nseeds: &all [http://h/a, http://h/b]\n"
                                  "delivery: []\n", tmp_path / "m.yaml")
    assert [seed.url for seed in manifest.seeds] == ["http://h/a", "http://h/b"]


def test_many_plain_seeds_hold_no_node(tmp_path: Path) -> None:
    text = HEAD + "".join(f"  - cable: 05ALMATY{n}\n  - http://127.0.0.2/{n}\n" for n in range(1, 5001))
    root = compose(text, tmp_path / "manifest.yaml", "cablekeep: 1")
    items = root.value[-1][1].value
    assert isinstance(items, SeedItems) and len(items) == 10_000
    assert all(isinstance(entry, PlainSeed) for entry in items.entries)
    manifest = load_manifest_text(text, tmp_path / "manifest.yaml")
    assert len(manifest.seeds) == 10_000
    assert list(manifest.seeds)[-2].url == "http://127.0.0.1:8000/cable/05ALMATY5000"
    assert list(manifest.seeds)[-1].origin == "manifest.yaml:10004"


def test_control_characters_are_unicode_category_cc() -> None:
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    control = {c for c in every if unicodedata.category(c) == "Cc"}
    assert {c for c in every if control_characters(c)} == control
    assert not control_characters("a\tb\n", allowed="\t\n") and control_characters("a\tb\x85", allowed="\t\n")


@pytest.mark.parametrize("written", ["05ALMATY2503", "05ALMATY02503", "05SECSTATE12", "05STATE12", "5ALMATY1",
                                     "05Almaty2503", "05 ALMATY 2503", "\u0660\u0665ALMATY1", "05ALMATY\u0661",
                                     "05ALMATY0", "123ALMATY1", "05ÄLMATY1", "05ALMATY1 "])
def test_the_canonical_cable_id_shortcut_agrees_with_normalise(written: str) -> None:
    normalised = normalise_cable_id(written)
    expected = normalised if normalised is not None and is_cable_id(normalised) else None
    try:
        got: str | None = seeds.parse_cable_id(written)
    except ValueError:
        got = None
    assert got == expected
    try:
        classified: tuple[str, str] | None = seeds.classify_seed(written)
    except ValueError:
        classified = None
    assert classified == (None if expected is None else ("cable", expected))


# --------------------------------------------------------------------------------------------------
# What cannot be loaded ends with a message, never a traceback


def test_a_seed_list_line_past_the_limit_is_an_error_not_read_whole(tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_bytes(b"05ALMATY2503\n" + b"a" * (4 * seeds.MAX_SEED_LINE) + b"\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(HEAD + "  - file: seeds.txt\n", tmp_path / "manifest.yaml")
    assert (caught.value.line, caught.value.key) == (5, "seeds[0].file")
    assert caught.value.message == ("seeds.txt:2: the line is longer than 65,536 bytes; a seed list holds "
                                    "one cable ID or URL a line")


def test_a_seed_list_line_at_the_limit_is_read(tmp_path: Path) -> None:
    url = "http://127.0.0.2/" + "a" * (seeds.MAX_SEED_LINE - len("http://127.0.0.2/") - 1)
    (tmp_path / "seeds.txt").write_text(url + "\n", encoding="utf-8")
    manifest = load_manifest_text(HEAD + "  - file: seeds.txt\n", tmp_path / "manifest.yaml")
    assert [seed.url for seed in manifest.seeds] == [url]


def test_a_manifest_past_the_limit_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cablekeep.manifest import loader as manifest_loader
    path = tmp_path / "manifest.yaml"
    path.write_text(HEAD + "".join(f"  - cable: 05ALMATY{n}\n" for n in range(1, 101)), encoding="utf-8")
    monkeypatch.setattr(manifest_loader, "MAX_MANIFEST_BYTES", path.stat().st_size)
    assert len(load_manifest(path).seeds) == 100
    monkeypatch.setattr(manifest_loader, "MAX_MANIFEST_BYTES", path.stat().st_size - 1)
    with pytest.raises(ManifestError, match=r"larger than 0 MiB; put long lists of seeds in a seed list"):
        load_manifest(path)


@pytest.mark.parametrize("where", ["manifest", "seed list"])
def test_the_cli_ends_a_manifest_or_seed_list_that_never_ends(tmp_path: Path, where: str) -> None:
    """/dev/zero: a file without end and without a line break."""
    manifest = tmp_path / "manifest.yaml"
    if where == "manifest":
        manifest.symlink_to("/dev/zero")
    else:
        manifest.write_text(HEAD + "  - file: /dev/zero\n", encoding="utf-8")
    result = run_cli("run", str(manifest), cwd=tmp_path, timeout=120)
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stderr
    expected = ("the manifest is larger than 64 MiB" if where == "manifest"
                else "seeds[0].file: /dev/zero:1: the line is longer than 65,536 bytes")
    assert expected in result.stderr
