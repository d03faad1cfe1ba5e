"""Shared fixtures: the bundled sample cable site on loopback (port 0) and manifests for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cablekeep.sample_site import SampleSite, serve_sample_site


@pytest.fixture(autouse=True)
def private_fixity_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands record fixity events under $XDG_DATA_HOME: keep each test's apart from the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def sample_site() -> Iterator[SampleSite]:
    with serve_sample_site() as site:
        yield site


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def write_manifest(tmp_path: Path, sample_site: SampleSite) -> Callable[..., Path]:
    """Write a manifest for the sample site into tmp_path; keyword sections override defaults."""

    def write(name: str = "collection.yaml", **sections: Any) -> Path:
        data: dict[str, Any] = {
            "cablekeep": 1,
            "collection": "test-cables",
            "title": "Test collection",
            "organization": {
                "name": "Test Archive",
                "address": "1 Loopback Road",
                "contact": {"name": "A. Archivist", "email": "a@example.org"},
            },
            "site": {"cable_url": sample_site.cable_base + "/cable/{id}"},
            "seeds": [{"cable": "05ALMATY2503"}],
            "follow": {"depth": 1},
            "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10},
            "bag": {"output": str(tmp_path / "bags")},
        }
        data = _merge(data, sections)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
