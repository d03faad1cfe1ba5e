"""One real bag of the bundled sample site per test module, made by ``cablekeep run``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest
from cablekeep.sample_site import SampleSite


@pytest.fixture(scope="module")
def real_bag(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> Iterator[Path]:
    """A bag of cable 05ALMATY2503 and what it links to (depth 1): treat it as read-only, copy to change it."""
    root = tmp_path_factory.mktemp("bag")
    manifest = {
        "cablekeep": 1,
        "collection": "test-cables",
        "title": "Test collection",
        "organization": {"name": "Test Archive", "address": "1 Loopback Road",
                         "contact": {"name": "A. Archivist", "email": "a@example.org"}},
        "site": {"cable_url": sample_site.cable_base + "/cable/{id}"},
        "seeds": [{"cable": "05ALMATY2503"}, {"cable": "05ALMATY2401"}],
        "follow": {"depth": 1},
        "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "timeout": 10},
        "bag": {"output": str(root / "bags")},
    }
    path = root / "collection.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(root / "xdg-data"))
        summary = run_manifest(load_manifest(path))
    yield summary.bag.path
