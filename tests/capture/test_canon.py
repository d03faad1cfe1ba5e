"""One canonical key per URL (SURT)."""

from __future__ import annotations

import pytest

from cablekeep.capture.canon import host_of, normalise_url, surt_key

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
