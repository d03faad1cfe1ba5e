"""The capture mode of a URL: manifest keys (errors with file, line and key) and the auto rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from cablekeep.capture.modes import MIN_TEXT, mode_of, needs_browser
from cablekeep.errors import ManifestError
from cablekeep.manifest import CaptureModes, Follow, load_manifest_text

BASE = """cablekeep: 1
collection: modes
seeds:
  - url: http://127.0.0.1:9/a
    capture: browser
  - http://127.0.0.1:9/b
"""


def test_defaults_keep_cable_pages_on_http_and_send_sources_through_auto(tmp_path: Path) -> None:
    manifest = load_manifest_text(BASE, tmp_path / "m.yaml")
    assert manifest.follow.capture == CaptureModes(references="http", sources="auto")
    seeds = list(manifest.seeds)
    assert [seed.capture for seed in seeds] == ["browser", None]
    follow = manifest.follow
    assert mode_of("seed", follow, seeds[0].capture) == "browser"
    assert mode_of("seed", follow, seeds[1].capture) == "http"
    assert mode_of("reference", follow, None) == "http"
    assert mode_of("source", follow, None) == "auto"
    assert mode_of("requisite", follow, None) == "http"


def test_follow_capture_and_seed_list_capture(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("http://127.0.0.1:9/x\nhttp://127.0.0.1:9/y\n")
    text = BASE + "  - file: list.txt\n    capture: auto\nfollow:\n  capture: {references: browser, sources: http}\n"
    manifest = load_manifest_text(text, tmp_path / "m.yaml")
    assert manifest.follow.capture == CaptureModes(references="browser", sources="http")
    assert [seed.capture for seed in manifest.seeds] == ["browser", None, "auto", "auto"]


def test_wrong_capture_keys_are_errors_with_file_line_and_key(tmp_path: Path) -> None:
    text = BASE.replace("capture: browser", "capture: brwser") + "follow:\n  capture:\n    sorces: auto\n    references: js\n"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, tmp_path / "m.yaml")
    message = str(caught.value)
    assert "m.yaml:5: seeds[0].capture: expected one of http, browser, auto, got the text 'brwser'; did you mean browser?" in message
    assert "m.yaml:9: follow.capture.sorces: unknown key 'sorces' in follow.capture; did you mean sources?" in message
    assert "m.yaml:10: follow.capture.references: expected one of http, browser, auto" in message


def test_a_seed_with_capture_alone_is_an_error(tmp_path: Path) -> None:
    text = BASE + "  - capture: http\n"
    with pytest.raises(ManifestError, match=r"m.yaml:7: seeds\[2\]: a seed has exactly one of cable, url or file, this one has none"):
        load_manifest_text(text, tmp_path / "m.yaml")


SHELL = b"<html><head><script src='/app.js'></script></head><body><div id=root></div></body></html>"
ARTICLE = b"<html><body><h1>Report</h1><p>" + b"A long paragraph of text. " * 40 + b"</p><script>track()</script></body></html>"


def test_auto_renders_an_empty_shell_with_a_script() -> None:
    assert needs_browser(SHELL) == "0 characters of visible text and 1 script(s)"


def test_auto_keeps_a_page_with_its_text_on_http() -> None:
    assert needs_browser(ARTICLE) is None
    short_without_script = b"<html><body><p>Moved.</p></body></html>"
    assert needs_browser(short_without_script) is None


def test_auto_believes_a_noscript_that_asks_for_javascript() -> None:
    page = ARTICLE.replace(b"<h1>", b"<noscript>Please enable JavaScript to read this.</noscript><h1>")
    assert needs_browser(page) == "its <noscript> says it needs JavaScript"


def test_auto_renders_a_page_its_inline_scripts_write() -> None:
    text = b"<p>" + b"x" * (MIN_TEXT + 10) + b"</p>"
    page = b"<html><body>" + text + b"<script>" + b"var a=1;" * 5000 + b"</script></body></html>"
    assert needs_browser(page) is not None and "bytes of inline script" in str(needs_browser(page))
    assert needs_browser(b"<html><body>" + text + b"<script>var a=1;</script></body></html>") is None


def test_follow_default_is_a_plain_value() -> None:
    assert Follow().capture == CaptureModes()
