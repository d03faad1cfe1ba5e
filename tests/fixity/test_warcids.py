"""Record ids and references: within one file while it is read, and across a bag's files."""

from __future__ import annotations

from dataclasses import dataclass, field

from cablekeep.fixity.recordids import IdSpool
from cablekeep.fixity.warcheaders import HeaderBlock
from cablekeep.fixity.warcids import FileIds, Reference, norm_id, resolve_references, targets


def refs(record_type: str = "request", **fields: str) -> HeaderBlock:
    values = {name.replace("_", "-").lower(): [value] for name, value in fields.items()}
    values["warc-type"] = [record_type]
    return HeaderBlock(b"WARC/1.1", values, [])


@dataclass
class Scanned:
    path: str
    ids: IdSpool = field(default_factory=IdSpool)
    unresolved: list[Reference] = field(default_factory=list)


def scanned(path: str, records: list[tuple[str, HeaderBlock | None]], window: int = 16) -> Scanned:
    scan = Scanned(path)
    ids = FileIds(path, scan.ids, window)
    for number, (record_id, block) in enumerate(records):
        ids.add_id(record_id, number * 100)
        if block is not None:
            ids.add_references(block, record_id, block.one("WARC-Type"), number * 100)
    checked = ids.finish()
    assert checked.findings == []
    scan.unresolved = checked.unresolved
    return scan


def test_a_reference_to_nothing_is_left_open() -> None:
    ids = FileIds("a.warc", IdSpool(), 16)
    ids.add_id("<urn:uuid:1>", 0)
    ids.add_references(refs(WARC_Concurrent_To="<urn:uuid:404>"), "<urn:uuid:1>", "request", 0)
    checked = ids.finish()
    assert checked.findings == []
    assert [(r.target, r.source, r.header, r.path, r.offset) for r in checked.unresolved] == [
        ("<urn:uuid:404>", "<urn:uuid:1>", "WARC-Concurrent-To", "a.warc", 0)
    ]
    [problem] = resolve_references([Scanned("a.warc", unresolved=checked.unresolved)])
    assert problem.kind == "warc" and "which no checked WARC file holds" in problem.detail


def test_references_resolve_backwards_and_forwards() -> None:
    back = scanned("a.warc", [("<urn:uuid:1>", None), ("<urn:uuid:2>", refs(WARC_Concurrent_To="<urn:uuid:1>"))])
    forward = scanned("b.warc", [("<urn:uuid:3>", refs(WARC_Refers_To=" < urn:uuid:4 > ")), ("<urn:uuid:4>", None)])
    assert back.unresolved == [] and forward.unresolved == []


def test_several_targets_in_one_field() -> None:
    assert targets("<urn:a> <urn:b>") == ["<urn:a>", "<urn:b>"]
    assert targets("<urn:a b>") == ["<urn:a b>"]
    scan = scanned("a.warc", [("<urn:a>", refs(WARC_Concurrent_To="<urn:a> <urn:c>"))])
    assert [r.target for r in scan.unresolved] == ["<urn:c>"]
    assert norm_id(" <urn:a> ") == "urn:a" == norm_id("urn:a")


def test_an_id_used_again_near_and_far() -> None:
    ids = FileIds("a.warc", IdSpool(), 2)
    assert ids.add_id("<urn:x>", 0) is None
    again = ids.add_id("<urn:x>", 100)
    assert again is not None and again.offset == 100 and "used by an earlier record" in again.detail
    for number in range(2, 6):
        assert ids.add_id(f"<urn:{number}>", number * 100) is None
    assert ids.add_id("<urn:x>", 600) is None  # beyond the window: found when the file ends
    checked = ids.finish()
    assert [(f.offset, f.kind) for f in checked.findings] == [(600, "warc")]
    assert "(offset 0)" in checked.findings[0].detail


def test_references_beyond_the_window_are_settled_by_the_spool() -> None:
    records: list[tuple[str, HeaderBlock | None]] = [("<urn:first>", None)]
    records += [(f"<urn:{n}>", None) for n in range(5)]
    records += [("<urn:last>", refs(WARC_Concurrent_To="<urn:first>"))]
    assert scanned("a.warc", records, window=2).unresolved == []


def test_revisits_naming_their_original_elsewhere() -> None:
    revisit = refs(
        "revisit", WARC_Refers_To="<urn:orig>", WARC_Refers_To_Target_URI="http://e/", WARC_Refers_To_Date="2024"
    )
    scan = scanned("a.warc", [("<urn:r>", revisit)])
    assert [p.kind for p in resolve_references([scan])] == ["warning"]
    assert [p.kind for p in resolve_references([scan], elsewhere=["<urn:other>"], elsewhere_checked=True)] == ["warc"]
    assert resolve_references([scan], elsewhere=["<urn:orig>"]) == []
    bare = scanned("b.warc", [("<urn:b>", refs("revisit", WARC_Refers_To="<urn:orig>"))])
    assert [p.kind for p in resolve_references([bare])] == ["warc"]


def test_across_files() -> None:
    one = scanned("1.warc", [("<urn:shared>", None)])
    two = scanned("2.warc", [("<urn:req>", refs(WARC_Concurrent_To="<urn:shared>"))])
    assert two.unresolved and resolve_references([one, two]) == []
    copy = scanned("copy.warc", [("<urn:shared>", None)])
    [problem] = resolve_references([one, copy])
    assert problem.path == "copy.warc" and "also used in 1.warc" in problem.detail
