"""Seed URLs with odd hosts and ports (issue 11, "Crash on odd input"): an invalid port or a malformed
IPv6 literal is a manifest error naming file, line and key, in the manifest and in a seed list alike;
a valid IPv6 literal is a seed like any other, and the crawl takes it (here the address guard refuses it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cablekeep.capture.canon import normalise_url, surt_key
from cablekeep.errors import ManifestError
from cablekeep.manifest import Seed, load_manifest, load_manifest_text

from .conftest import run_cli

HEAD = "cablekeep: 1\ncollection: odd-urls\nsite: {cable_url: 'http://127.0.0.1:8000/cable/{id}'}\nseeds:\n"

BAD = [
    ("port-over-65535", "http://127.0.0.1:65536/", "invalid port 65536: a port is a number from 1 to 65535"),
    ("port-huge", "http://[::1]:99999999999999999999/", "invalid port 99999999999999999999"),
    ("port-zero", "http://127.0.0.1:0/", "invalid port 0"),
    ("port-text", "http://127.0.0.1:http/", "invalid port 'http'"),
    ("port-signed", "http://127.0.0.1:-80/", "invalid port '-80'"),
    ("port-wide-digits", "http://127.0.0.1:\uff18\uff10/", "invalid port"),
    ("ipv6-bad-digits", "http://[::zz]:8080/", "malformed IPv6 literal [::zz]"),
    ("ipv6-unclosed", "http://[::1:8080/", "malformed IPv6 literal: '[' without its ']'"),
    ("ipv6-unopened", "http://::1]:8080/", "malformed IPv6 literal: ']' without its '['"),
    ("ipv6-no-brackets", "http://::1/", "IPv6 address without brackets"),
    ("ipv6-junk-after", "http://[::1]x:80/", "'x:80' after its IPv6 literal"),
    ("ipv6-future", "http://[v1.fe]/", "malformed IPv6 literal [v1.fe]"),
    ("ipv6-zone", "http://[fe80::1%25eth0]/", "a zone (%) is local to one machine"),
    ("ipv4-in-brackets", "http://[127.0.0.1]/", "malformed IPv6 literal [127.0.0.1]"),
]
GOOD = ["http://[::1]:8080/", "https://[2001:db8::1]/x", "http://[::ffff:127.0.0.1]:9/",
        "http://user@[::1]:65535/", "http://127.0.0.1:1/", "http://127.0.0.1:/"]


@pytest.mark.parametrize(("url", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
@pytest.mark.parametrize("form", ["url-key", "bare"])
def test_a_bad_port_or_ipv6_literal_in_the_manifest_is_an_error(tmp_path: Path, url: str, message: str,
                                                                form: str) -> None:
    path = tmp_path / "manifest.yaml"
    item, key = (f"  - url: '{url}'\n", "seeds[1].url") if form == "url-key" else (f"  - '{url}'\n", "seeds[1]")
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(HEAD + "  - http://127.0.0.1:8000/\n" + item, path)
    assert len(caught.value.problems) == 1
    assert (caught.value.path, caught.value.line, caught.value.key) == (path, 6, key)
    assert message in caught.value.message


@pytest.mark.parametrize(("url", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_port_or_ipv6_literal_in_a_seed_list_names_list_and_line(tmp_path: Path, url: str,
                                                                      message: str) -> None:
    (tmp_path / "seeds.txt").write_text(f"# odd\nhttp://127.0.0.1:8000/a\n{url}\n", encoding="utf-8")
    path = tmp_path / "manifest.yaml"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(HEAD + "  - file: seeds.txt\n", path)
    assert (caught.value.line, caught.value.key) == (5, "seeds[0].file")
    assert caught.value.message.startswith("seeds.txt:3: ")
    assert message in caught.value.message


@pytest.mark.parametrize(("url", "message"), [case[1:] for case in BAD[:2] + BAD[6:8]],
                         ids=[case[0] for case in BAD[:2] + BAD[6:8]])
def test_a_cable_url_with_a_bad_port_or_ipv6_literal_is_an_error(tmp_path: Path, url: str, message: str) -> None:
    text = f"cablekeep: 1\ncollection: c\nsite:\n  cable_url: '{url}cable/{{id}}'\nseeds: [05ALMATY2503]\n"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, tmp_path / "manifest.yaml")
    assert (caught.value.line, caught.value.key) == (4, "site.cable_url")
    assert message in caught.value.message


@pytest.mark.parametrize("url", GOOD)
def test_a_valid_ipv6_literal_or_port_is_a_seed(tmp_path: Path, url: str) -> None:
    manifest = load_manifest_text(HEAD + f"  - url: '{url}'\n", tmp_path / "manifest.yaml")
    assert tuple(manifest.seeds) == (Seed("url", url, url, "manifest.yaml:5"),)


def test_the_crawls_url_keys_keep_an_ipv6_literal_in_brackets() -> None:
    # urlsplit's hostname drops the brackets; put back without them, the port would be read out of the address
    assert normalise_url("http://[::FFFF:127.0.0.1]:9/a#x") == "http://[::ffff:7f00:1]:9/a"  # one spelling per address
    assert surt_key("http://[::1]/") == surt_key("http://[0::1]/")
    assert normalise_url("http://[2001:DB8::1]:80") == "http://[2001:db8::1]/"
    assert surt_key("http://[::1]:8080/a/") == surt_key("http://[::1]:8080/a")
    assert surt_key("http://[::1]:8080/") != surt_key("http://[::1]:8081/")


@pytest.mark.parametrize(("url", "message"), [BAD[0][1:], BAD[3][1:], BAD[6][1:], BAD[7][1:]],
                         ids=[BAD[0][0], BAD[3][0], BAD[6][0], BAD[7][0]])
def test_the_cli_refuses_the_seed_with_exit_3_and_file_line(tmp_path: Path, url: str, message: str) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(HEAD + "  - cable: 05ALMATY2503\n" + f"  - url: '{url}'\n", encoding="utf-8")
    result = run_cli("run", str(manifest), cwd=tmp_path, timeout=120)
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{manifest}:6: seeds[1].url: " in result.stderr and message in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["manifest.yaml"]  # nothing written


def test_the_cli_refuses_a_bad_line_of_a_seed_list_with_exit_3(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(HEAD + "  - file: seeds.txt\n", encoding="utf-8")
    (tmp_path / "seeds.txt").write_text("05ALMATY2503\nhttp://[::1]:65536/\n", encoding="utf-8")
    result = run_cli("run", str(manifest), cwd=tmp_path, timeout=120)
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{manifest}:5: seeds[0].file: seeds.txt:2: " in result.stderr
    assert "invalid port 65536" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["manifest.yaml", "seeds.txt"]


def test_the_cli_crawls_a_valid_ipv6_seed_and_the_guard_refuses_it(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(HEAD + "  - url: 'http://[::1]:9/'\n  - url: 'http://[::ffff:127.0.0.1]:9/x'\n"
                        "bag: {output: bags}\n", encoding="utf-8")
    assert len(load_manifest(manifest).seeds) == 2
    result = run_cli("run", str(manifest), cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.stderr
    assert result.exit_code == 5, result.stderr  # the crawl ran: no seed captured, each one's reason named
    assert "http://[::1]:9/: blocked-address" in result.stderr
    assert "http://[::ffff:7f00:1]:9/x: blocked-address" in result.stderr  # the canonical spelling
