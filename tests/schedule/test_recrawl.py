"""A scheduled recrawl is a run of the manifest: a new bag in the collection's Bag-Group-Identifier, with
warc.dedup honoured (unchanged payloads become revisits of the earlier bag, which the new bag names)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from cablekeep.bagging.build import read_bag_info
from cablekeep.fixity.verify import verify_bag
from cablekeep.manifest import load_manifest
from cablekeep.schedule.rundue import Scheduler

from .loopback import Page, loopback_server

UTC = timezone.utc


def test_a_scheduled_recrawl_adds_a_bag_to_the_group_and_dedups_against_the_earlier_one(tmp_path: Path) -> None:
    with loopback_server() as site:
        site.pages = {"/page": Page(body=b"<html><body><p>The same page each time.</p></body></html>")}
        data = {"cablekeep": 1, "collection": "weekly", "seeds": [f"{site.base}/page"], "follow": {"depth": 0},
                "fetch": {"per_host_delay": 0, "allow_private": True, "retries": 0, "robots": "ignore"},
                "warc": {"dedup": "collection"}, "bag": {"output": str(tmp_path / "bags")},
                "schedule": {"crawl": "0 3 * * 0"}}
        (tmp_path / "weekly.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        manifest = load_manifest(tmp_path / "weekly.yaml")
        scheduler = Scheduler(tmp_path / "fixity.sqlite", tmp_path / "linkrot.sqlite")
        scheduler.run_due([manifest], datetime(2026, 1, 3, tzinfo=UTC))
        assert scheduler.run_due([manifest], datetime(2026, 1, 4, 3, 0, tzinfo=UTC)).ok
        time.sleep(1.1)  # bags are named by the second their crawl started
        assert scheduler.run_due([manifest], datetime(2026, 1, 11, 3, 0, tzinfo=UTC)).ok
    first, second = sorted((tmp_path / "bags").glob("weekly-*"))
    assert read_bag_info(first)["Bag-Group-Identifier"] == read_bag_info(second)["Bag-Group-Identifier"] == "weekly"
    assert (second / "cablekeep-depends-on.txt").read_text(encoding="utf-8").startswith(first.name + " ")
    assert verify_bag(second).ok
