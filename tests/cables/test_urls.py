"""The resolver's fast path gives what ``urljoin`` and ``urldefrag`` give, on every form tried."""

from __future__ import annotations

import itertools
import random

import pytest

from cablekeep.cables.urls import Resolver, absolute

BASES = (
    "http://127.0.0.1:8080/cable/05ALMATY2503",
    "https://cables.example.org/cable/2005/07/05ALMATY2503.html",
    "http://example.org/dir/sub/",
    "http://example.org/",
    "http://example.org",
    "http://example.org/a//b/c",
    "http://example.org/a/./b/../c",
    "http://example.org/a;p/b;q",
    "http://user:pw@example.org:8080/a/b?x=1#frag",
    "http://[::1]:8080/a/b",
    "https://xn--bcher-kva.example/a/b",
    "http://bücher.example/a/b",
    "http://EXAMPLE.org/A/B",
    "file:///home/user/page.html",
    "ftp://example.org/a/b",
    "page.html",
    "",
)

HREFS = (
    # absolute
    "http://example.org/x", "https://example.org/x", "http://other.example:81/x/y?q=1",
    "http://example.org", "http://example.org?q", "http://example.org/?", "http://example.org/x#",
    "http://example.org/x#frag", "http://example.org/x?#f", "http://example.org/a/../b",
    "http://example.org/a/./b", "HTTP://EXAMPLE.ORG/X", "Http://example.org/x", "http:x", "http:/x",
    "http:///x", "http://[::1]/x", "http://[::1/x", "http://::1]/x", "http://[zz]/x",
    "http://example.org:99999/x", "http://example.org:abc/x", "http://example.org:/x",
    "http://user@example.org/x", "http://bücher.example/x", "http://xn--bcher-kva.example/x",
    "http://example.org/p;params", "http://example.org/p;a/b", "http://example.org/a b",
    "http://example.org/%7Euser", "http://example.org/é", "http://ex ample.org/x",
    "https://example.org//double", "http://example.org\\x",
    # scheme-relative and other schemes
    "//example.org/x", "//other.example:8080/x?q#f", "///x", "mailto:someone@example.org",
    "javascript:void(0)", "data:text/plain,hi", "ftp://example.org/x", "tel:+123", "a:b", "c:/x",
    "urn:isbn:123",
    # root-relative
    "/", "/x", "/x/", "/a/b/c.html", "/a/b?q=1&r=2", "/a?", "/a?#", "/a#f", "/a?q#f", "/a/./b",
    "/a/../b", "/..", "/.", "/a/..", "/a/.", "/.hidden", "/a/.b/c", "//", "/a//b", "/a;p",
    "/a;p/b", "/a b", "/é", "/%2e%2e/x", "/a?q=a b", "/a?q=é", "/a?q=1?2", "/a?q=#", "/a?;x",
    "/\x01x", "/a\\b", "/a\x7f",
    # plain relative
    "x", "x/", "x/y", "x.html", "x?q", "x#f", "x?", "./x", "../x", "x/../y", "x/./y", "..", ".",
    "x//y", "x/y//", ".x", "x..y", "x;p", "x y", "é", "x:y", "x/y:z", "?q", "?", "#f", "#", "",
    "   ", " /x ", "\t/x\n", "/x\ty", "h", "ht", "http", "https", "https/x", "h:x",
    "\x01x", "x\x00", "%", "x%zz",
    "?q#f", ";p", "@x", "~user/x", "x?q=/a/../b",
)  # fmt: skip


@pytest.mark.parametrize("base", BASES)
def test_every_form_resolves_as_urljoin_does(base: str) -> None:
    resolver = Resolver(base)
    for href in HREFS:
        assert resolver.resolve(href) == absolute(base, href), (base, href)


def test_none_is_no_url() -> None:
    assert Resolver(BASES[0]).resolve(None) is None


def test_generated_references_resolve_as_urljoin_does() -> None:
    """Random references made of the pieces that matter (dots, slashes, ?, #, ;, :, odd bytes)."""
    rng = random.Random(5)
    pieces = ("a", "b1", "/", "/", ".", "..", "?", "#", ";", ":", "=", "&", "%2F", " ", "é", "@",
              "http://h.example", "https://", "//", "~", "\t", "\\", "-", "_", "[", "]", "'")
    bases = [base for base in BASES if base]
    for _ in range(20_000):
        href = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        base = rng.choice(bases)
        assert Resolver(base).resolve(href) == absolute(base, href), (base, href)


def test_the_fast_path_is_taken_for_the_common_forms() -> None:
    """The forms a cable page is made of resolve without urljoin (else nothing is gained)."""
    resolver = Resolver("http://127.0.0.1:8080/cable/05ALMATY2503")
    for href, expected in [
        ("http://127.0.0.2:8080/doc/a.html", "http://127.0.0.2:8080/doc/a.html"),
        ("https://example.org/x?q=1#top", "https://example.org/x?q=1"),
        ("/static/cablebrowser.css", "http://127.0.0.1:8080/static/cablebrowser.css"),
        ("/", "http://127.0.0.1:8080/"),
        ("05ALMATY2401", "http://127.0.0.1:8080/cable/05ALMATY2401"),
        ("x/y.html?a=b", "http://127.0.0.1:8080/cable/x/y.html?a=b"),
    ]:
        assert resolver._fast(href) == expected


@pytest.mark.parametrize("base, href", list(itertools.product(BASES[:4], ("/a/../b", "../x", "x?", "//h/x", "a:b"))))
def test_forms_left_to_urljoin(base: str, href: str) -> None:
    assert Resolver(base)._fast(href) is None
