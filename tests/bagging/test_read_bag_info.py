"""read_bag_info: the first value of each label of a bag cablekeep made, continuation lines joined."""

from __future__ import annotations

from pathlib import Path

from cablekeep.bagging.build import read_bag_info


def test_first_value_wins_and_continuations_join(tmp_path: Path) -> None:
    (tmp_path / "bag-info.txt").write_text(
        "External-Identifier: urn:uuid:1\n"
        "External-Description: a long\n  description\n"
        "External-Identifier: urn:uuid:2\n  continues the repeated label, ignored\n"
        "no colon here\n\tnor a label to continue\n"
        "Payload-Oxum: 10.2\n",
        encoding="utf-8",
    )
    assert read_bag_info(tmp_path) == {
        "External-Identifier": "urn:uuid:1",
        "External-Description": "a long description",
        "Payload-Oxum": "10.2",
    }


def test_no_bag_info_is_empty(tmp_path: Path) -> None:
    assert read_bag_info(tmp_path) == {}
