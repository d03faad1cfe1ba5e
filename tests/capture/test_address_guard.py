"""The address guard's policy by network (fetch.allow_networks), read from a manifest and applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from cablekeep.capture.fetch import AddressGuard, parse_networks
from cablekeep.errors import FetchError, ManifestError
from cablekeep.manifest import load_manifest_text

BASE = "cablekeep: 1\ncollection: guard\nseeds: [{url: 'http://127.0.0.2/'}]\n"


def test_allow_networks_allows_only_inside() -> None:
    guard = AddressGuard(allow_networks=parse_networks(["127.0.0.2/32", "::1/128"]))
    assert guard.resolve("http://127.0.0.2:8080/") == ("127.0.0.2",)
    assert guard.resolve("http://[::1]:8080/") == ("::1",)
    for url in ("http://127.0.0.1/", "http://127.0.0.3/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/"):
        with pytest.raises(FetchError) as caught:
            guard.resolve(url)
        assert caught.value.reason == "blocked-address"
        assert "fetch.allow_networks" in caught.value.detail


def test_invalid_url_is_its_own_reason() -> None:
    with pytest.raises(FetchError) as caught:
        AddressGuard(allow_private=True).resolve("http://127.0.0.1:99999/")
    assert caught.value.reason == "invalid-url"


def test_manifest_reads_allow_networks(tmp_path: Path) -> None:
    manifest = load_manifest_text(BASE + "fetch: {allow_networks: [127.0.0.2/32, 'fd00::/8']}\n",
                                  tmp_path / "m.yaml")
    assert manifest.fetch.allow_networks == ("127.0.0.2/32", "fd00::/8")
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(BASE + "fetch: {allow_networks: [10.0.0.1/8, nowhere, 127.0.0.2/33]}\n",
                           tmp_path / "m.yaml")
    problems = [p for p in caught.value.problems if p.key.startswith("fetch.allow_networks")]
    assert len(problems) == 3, caught.value.problems
    assert all(p.line == 4 for p in problems)


@pytest.mark.parametrize("literal", [
    "64:ff9b::7f00:1",     # NAT64 of 127.0.0.1 (RFC 6052)
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, a cloud's metadata service
    "2002:7f00:1::1",      # 6to4 of 127.0.0.1
    "::7f00:1",            # IPv4-compatible 127.0.0.1 (deprecated, still routed by some stacks)
    "::ffff:a9fe:a9fe",    # IPv4-mapped 169.254.169.254
])
def test_an_ipv6_address_leading_to_a_refused_ipv4_address_is_refused(literal: str) -> None:
    # resolving a literal asks no server and nothing is fetched: the guard refuses before any connection
    with pytest.raises(FetchError) as caught:
        AddressGuard().resolve(f"http://[{literal}]/")
    assert caught.value.reason == "blocked-address"


def test_a_public_ipv6_address_embedding_a_public_ipv4_address_passes_the_check() -> None:
    from cablekeep.capture.fetch import is_public
    import ipaddress

    assert is_public(ipaddress.ip_address("64:ff9b::101:101"))  # NAT64 of a public address
    assert not is_public(ipaddress.ip_address("64:ff9b::7f00:1"))
