"""The follower's one-pass canonical form of plain URLs is what the general functions give.

``follow._canonical`` computes the normalised URL, SURT key and host of a plain URL (http(s), a
lower-case host, a path and query of unreserved characters) itself; on every form tried here, plain
or not, it must agree with ``normalise_url``, ``surt_key`` and ``host_of`` and raise where they raise.
"""

from __future__ import annotations

import random

import pytest

from cablekeep.capture import follow
from cablekeep.capture.canon import InvalidUrlError, host_of, normalise_url, surt_key

HOSTS = (
    "example.org", "www.example.org", "WWW.Example.org", "www.1.2.3.4", "www", "www.", "a..b", "a.b.",
    "127.0.0.1", "127.0.0.2", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
    "10.0.0.1.", "[::1]", "[::FFFF:1.2.3.4]", "[fe80::1%25eth0]", "xn--bcher-kva.example", "bücher.example",
    "host_name", "-a-.b", "a b", "", "user@example.org", "user:pw@example.org", "www.www.x",
)  # fmt: skip
PORTS = ("", ":80", ":443", ":8080", ":080", ":0", ":65535", ":65536", ":99999", ":123456", ":", ":x", ":8080:1")
PATHS = (
    "", "/", "//", "/a", "/a/", "/a//", "/A/B.html", "/a/./b", "/a/../b", "/a%20b", "/a%2Fb", "/a b",
    "/é", "/~user/", "/a;p=1", "/a:b@c", "/!$&'()*+,;=", "/a/b/c/", "/a?", "/%7E", "/a#frag", "/a#",
)  # fmt: skip
QUERIES = ("", "?", "?a=1", "?b=2&a=1", "?a=1&&b", "?&", "?a=%41", "?a=b c", "?a=é", "?a=1#f", "?q=/x?y", "?A=B")
SCHEMES = ("http://", "https://", "HTTP://", "Https://", "ftp://", "")


def _general(url: str) -> tuple[str, str, str] | str:
    try:
        normal = normalise_url(url)
        return normal, surt_key(normal), host_of(normal)
    except InvalidUrlError as exc:
        return f"invalid: {exc.reason}"


def _fast(url: str) -> tuple[str, str, str] | str:
    try:
        return follow._canonical(url)
    except InvalidUrlError as exc:
        return f"invalid: {exc.reason}"


# half the URLs are drawn from the first pieces of each list: mostly plain ones
PLAIN = {SCHEMES: 2, HOSTS: 10, PORTS: 8, PATHS: 12, QUERIES: 7}


def _urls(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    urls = []
    for index in range(count):
        pieces = [group[: PLAIN[group]] if index % 2 else group for group in (SCHEMES, HOSTS, PORTS, PATHS, QUERIES)]
        urls.append("".join(rng.choice(piece) for piece in pieces))
    return urls


URLS = _urls(20_000, 3)


def test_generated_urls_agree_with_the_general_functions() -> None:
    for url in URLS:
        assert _fast(url) == _general(url), url


def test_many_generated_urls_take_the_fast_path() -> None:
    plain = [url for url in URLS if follow._plain_canonical(url) is not None]
    assert len(plain) > 1500


@pytest.mark.parametrize(
    "url, normal, key, host",
    [
        ("http://127.0.0.1:8080/cable/05ALMATY2503", "http://127.0.0.1:8080/cable/05ALMATY2503",
         "127.0.0.1:8080)/cable/05almaty2503", "127.0.0.1:8080"),
        ("https://www.example.org:443/a/b/?z=1&a=2", "https://www.example.org/a/b/?z=1&a=2",
         "org,example)/a/b?a=2&z=1", "www.example.org"),
        ("http://example.org", "http://example.org/", "org,example)/", "example.org"),
    ],
)
def test_plain_urls_are_read_in_one_pass(url: str, normal: str, key: str, host: str) -> None:
    assert follow._plain_canonical(url) == (normal, key, host)
    assert _general(url) == (normal, key, host)


@pytest.mark.parametrize(
    "url",
    ["http://www.1.2.3.4/", "http://01.2.3.4/", "http://example.org:99999/", "http://example.org/a%20b",
     "http://example.org/a#f", "http://Example.org/", "http://u@example.org/", "http://[::1]/", "http://example.org?"],
)
def test_other_forms_are_left_to_the_general_functions(url: str) -> None:
    assert follow._plain_canonical(url) is None
