"""Two keys per URL: cablekeep's canonical key (SURT, for the crawl) and pywb's (the CDXJ index's),
the latter compared with pywb's own canonicaliser run in pywb's virtualenv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cablekeep.capture.canon import InvalidUrlError, host_of, index_key, normalise_url, surt_key

from ..access.replay_support import find_pywb

SAME = [
    "http://example.org/cable/05ALMATY2503",
    "HTTP://EXAMPLE.ORG/cable/05ALMATY2503",
    "http://www.example.org/cable/05ALMATY2503",
    "http://example.org:80/cable/05ALMATY2503",
    "http://example.org/cable/05ALMATY2503#text",
    "http://example.org/cable/05ALMATY2503/",
    "http://Example.Org./cable/05ALMATY2503",
    "http://example.org/cable/05%41LMATY2503",
    "http://example.org/cable/%30%35ALMATY2503",
    "https://example.org/cable/05ALMATY2503",
    "https://example.org:443/cable/05ALMATY2503",
    "http://WWW.EXAMPLE.ORG/cable/05ALMATY2503#",
    "HTTP://www.Example.org:80/cable/05ALMATY2503/#top",
    "http://example.org/cable/05ALMATY2503?",
    "http://example.org/cable/05almaty2503",
    "  http://example.org/cable/05ALMATY2503  ",
    "http://www.example.org:80/cable/05ALMATY2503/",
    "http://example.org/cable/05ALMATY2503//",
    "http://example.org/cable/05ALMATY2503?#frag",
    "https://www.example.org/cable/05ALMATY2503#section-2",
    "http://EXAMPLE.org/cable/05ALMATY2503",
    "http://example.ORG:80/cable/05%41%4CMATY2503/",
]


@pytest.mark.parametrize("variant", SAME)
def test_variants_share_one_key(variant: str) -> None:
    assert surt_key(variant) == surt_key(SAME[0]) == "org,example)/cable/05almaty2503"


def test_query_order_does_not_matter() -> None:
    assert surt_key("http://a.org/x?b=2&a=1") == surt_key("http://a.org/x?a=1&b=2") == "org,a)/x?a=1&b=2"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.org/cable/1", "http://example.org/cable/2"),
        ("http://example.org:8080/x", "http://example.org/x"),
        ("http://example.org/x?a=1", "http://example.org/x?a=2"),
        ("http://example.org/x", "http://example.com/x"),
        ("http://sub.example.org/x", "http://example.org/x"),
        ("http://example.org/cable/05ALMATY2503", "http://example.org/cables/05ALMATY2503"),
        ("http://127.0.0.1:8471/x", "http://127.0.0.2:8471/x"),
    ],
)
def test_different_urls_differ(a: str, b: str) -> None:
    assert surt_key(a) != surt_key(b)


def test_ip_hosts_are_not_reversed() -> None:
    assert surt_key("http://127.0.0.1:8471/cable/X") == "127.0.0.1:8471)/cable/x"


def test_normalise_and_host() -> None:
    assert normalise_url("HTTP://Host:80/a#frag") == "http://host/a"
    assert normalise_url("http://host") == "http://host/"
    assert host_of("http://127.0.0.2:9000/x") == "127.0.0.2:9000"
    assert host_of("https://example.org:443/") == "example.org"


# -- pywb's key (the CDXJ index) ---------------------------------------------------------------------

TRICKY = [
    "http://127.0.0.1:8471/cable/05ALMATY2503",  # IPv4 host and port: reversed by pywb
    "http://127.0.0.2/",
    "http://127.0.0.1:80/x",  # the default port
    "https://127.1.2.3:443/a",  # https and its default port
    "http://[::1]:8080/a/",  # IPv6 host and port
    "http://[2001:DB8::1]/Index.HTML",
    "http://[::ffff:127.0.0.1]:8471/x",
    "http://example.org:8080/",  # ports
    "https://example.org:8443/x?y=1",
    "http://WWW.Example.org/cable/X",  # www.
    "http://www2.example.org/a",
    "http://www.127.0.0.1.nip.io/a",
    "http://a.org/x?b=2&a=1",  # query order
    "http://a.org/x?b=2&a=1&a=0",
    "http://a.org/x?",
    "http://a.org/cable/",  # trailing slash
    "http://a.org/",
    "http://a.org",
    "http://a.org/dir//",
    "HTTP://A.ORG/Cable/05ALMATY2503",  # case
    "http://a.org/%7Euser/%41%2f%2F?q=%41%e4",  # percent-encoding
    "http://a.org/a b/c%20d",
    "http://a.org/%e4%b8%ad",
    "http://a.org/a/../b/./c",
    "http://a.org/x#fragment",
    "http://a.org/x;jsessionid=0123456789abcdef0123456789abcdef?y=1",
    "http://user:secret@a.org/x",
    "http://b\u00fccher.example/x",
]


@pytest.fixture(scope="module")
def pywb_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pywb's key of each TRICKY URL, from pywb's own canonicalize, in pywb's virtualenv."""
    python = find_pywb(tmp_path_factory) / "bin" / "python"
    program = ("import json, sys; from pywb.utils.canonicalize import canonicalize; "
               "print(json.dumps({url: canonicalize(url) for url in json.load(sys.stdin)}))")
    done = subprocess.run([str(python), "-c", program], input=json.dumps(TRICKY), capture_output=True, text=True,
                          check=True, timeout=120)
    keys: dict[str, str] = json.loads(done.stdout)
    return keys


@pytest.mark.parametrize("url", TRICKY)
def test_the_index_key_is_pywbs(url: str, pywb_keys: dict[str, str]) -> None:
    assert index_key(url) == pywb_keys[url]


def test_the_index_key_reverses_ip_hosts_and_keeps_the_crawl_key_as_it_was() -> None:
    assert index_key("http://127.0.0.1:8471/cable/X") == "1,0,0,127:8471)/cable/x"
    assert surt_key("http://127.0.0.1:8471/cable/X") == "127.0.0.1:8471)/cable/x"
    assert index_key("http://[::1]:8080/a/") == "::1:8080)/a"
    assert surt_key("http://[::1]:8080/a/") == "[::1]:8080)/a"
    assert index_key("http://WWW.Example.org:80/a?b=2&a=1#x") == "org,example)/a?a=1&b=2"


def test_a_url_pywb_cannot_key_is_an_invalid_url() -> None:
    with pytest.raises(InvalidUrlError, match="no SURT"):
        index_key("http://a.org:99999/")
