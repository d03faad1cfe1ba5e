"""The manifest's ``access:`` section: ``replay_base``, the replay the link-rot report's links point into."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cablekeep.errors import ManifestError
from cablekeep.manifest import Access, load_manifest, load_manifest_text

REPO = Path(__file__).resolve().parents[1]
HEAD = "cablekeep: 1\ncollection: c\nseeds: [http://127.0.0.1/]\n"


def _load(text: str) -> Access:
    return load_manifest_text(HEAD + text, Path("m.yaml")).access


def test_replay_base_defaults_to_none_and_example_yaml_shows_the_default() -> None:
    assert _load("") == Access(replay_base=None)
    assert _load("access:\n") == Access(replay_base=None)
    assert _load("access: {replay_base: null}\n") == Access(replay_base=None)
    assert load_manifest(REPO / "manifests" / "example.yaml").access == Access()
    example = (REPO / "manifests" / "example.yaml").read_text(encoding="utf-8")
    assert re.search(r"^access:.*\n(  #.*\n)*  replay_base: null\n", example, re.MULTILINE), "example.yaml lacks the key"


def test_a_replay_base_is_read_as_written() -> None:
    assert _load('access: {replay_base: "http://127.0.0.1:8090/cablekeep/"}\n').replay_base == \
        "http://127.0.0.1:8090/cablekeep/"
    assert _load("access:\n  replay_base: https://wayback.example.org/web\n").replay_base == \
        "https://wayback.example.org/web"


@pytest.mark.parametrize(("value", "says"), [
    ("ftp://127.0.0.1/cablekeep/", "scheme 'ftp'"),
    ("127.0.0.1:8090/cablekeep/", "scheme"),
    ("http://127.0.0.1:99999/cablekeep/", "invalid port 99999"),
    ("http:///cablekeep/", "no valid host"),
    ("http://127.0.0.1:8090/cablekeep/?collection=x", "query or a fragment"),
    ("http://127.0.0.1:8090/cablekeep/#top", "query or a fragment"),
    ("[http://127.0.0.1:8090/]", "expected text"),
])
def test_a_bad_replay_base_is_named_with_its_file_line_and_key(value: str, says: str) -> None:
    with pytest.raises(ManifestError) as caught:
        _load(f"title: t\naccess:\n  replay_base: {value}\n")
    error = caught.value
    assert (error.path, error.line, error.key) == (Path("m.yaml"), 6, "access.replay_base")
    assert says in error.message


def test_every_problem_is_listed_with_a_bad_replay_base() -> None:
    with pytest.raises(ManifestError) as caught:
        _load("fetch: {retries: -1}\naccess: {replay_base: 'gopher://x/'}\n")
    assert [problem.key for problem in caught.value.problems] == ["fetch.retries", "access.replay_base"]


def test_a_misspelt_access_key_is_named_with_the_right_one() -> None:
    with pytest.raises(ManifestError) as caught:
        _load("access:\n  replay: http://127.0.0.1:8090/\n")
    assert caught.value.key == "access.replay" and "did you mean replay_base?" in caught.value.message
