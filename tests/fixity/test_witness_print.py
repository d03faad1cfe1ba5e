"""The witness's fingerprint (cablekeep.fixity.witnessprint, recordids.FieldPrint), on a real crawl.

A bag that agrees with its index is passed on the fingerprint alone: the three files are folded
once and no line is compared. Anything that changes what a line, a cable or a log entry claims
makes the fingerprints disagree, and the exact comparison then names the line as it always has.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from cablekeep.fixity import witness, witnessprint
from cablekeep.fixity.recordids import FieldPrint, FieldSpool, capture_key, capture_print, id_hash, norm_id
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.warcids import norm_id as warcids_norm_id

from .test_warcranges import ranges_seen  # noqa: F401  # fixture
from .test_witness import (  # noqa: F401  # fixtures
    bag, crawled, index_lines, reseal, rewrite_first_cable, rewrite_index, scan_bag_warcs)


@pytest.fixture
def exact_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each time the witness reads the three files for the exact, line-by-line comparison."""
    reads: list[Path] = []
    real = witness.Witness.read_files

    def counting(self: witness.Witness, root: Path) -> None:
        reads.append(root)
        real(self, root)

    monkeypatch.setattr(witness.Witness, "read_files", counting)
    return reads


def fingerprints_agree(bag: Path) -> bool:
    scans = scan_bag_warcs(bag, witness=True)
    try:
        return witnessprint.read_prints(bag).agrees(scans)
    finally:
        for scan in scans:
            scan.discard()


def index_problems(bag: Path) -> list[tuple[str, str]]:
    return [(p.path, p.detail) for p in verify_bag(bag, processes=1).problems if p.kind == "index"]


def write_lines(bag: Path, lines: list[str]) -> None:
    (bag / "data/index.cdxj").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    reseal(bag)


def raw_lines(bag: Path) -> list[str]:
    return (bag / "data/index.cdxj").read_text(encoding="utf-8").splitlines()


# --------------------------------------------------------------------------- agreeing


def test_a_crawled_bag_agrees_by_its_fingerprint_alone(bag: Path, exact_reads: list[Path]) -> None:
    # the crawler indexes exactly the records the scan folds (responses, revisits, resources), one line each
    assert fingerprints_agree(bag)
    report = verify_bag(bag, processes=1)
    assert report.verdict == "valid", report.problems
    assert exact_reads == []


def test_a_bag_checked_in_ranges_agrees_by_its_fingerprint(bag: Path, ranges_seen: list[tuple[int, int | None]],
                                                          exact_reads: list[Path]) -> None:
    # the ranges' folds are summed into the file's (FieldSpool.absorb), the files folded by the pool
    report = verify_bag(bag, processes=2)
    assert len(ranges_seen) >= 2 and report.verdict == "valid", report.problems
    assert exact_reads == []


def test_a_line_in_another_form_is_folded_by_the_full_parse(bag: Path, exact_reads: list[Path]) -> None:
    # keys in another order and an escaped "/": not the crawler's form, the same claims
    lines = []
    for line in raw_lines(bag):
        key, stamp, block = line.split(" ", 2)
        lines.append(f"{key} {stamp} " + json.dumps(json.loads(block), sort_keys=True).replace("/", "\\/"))
    write_lines(bag, lines)
    assert fingerprints_agree(bag)
    assert verify_bag(bag, processes=1).verdict == "valid"
    assert exact_reads == []


def test_the_crawlers_own_lines_are_read_by_one_expression_a_block(bag: Path) -> None:
    # the folds read the crawler's index and log lines by one findall a block; were the crawler to write
    # them otherwise, every line would silently take the slow way (the JSON parser)
    for rel, pattern in ((witnessprint.INDEX, witnessprint._CRAWLER_LINES),
                         (witnessprint.CRAWL_LOG, witnessprint._CRAWLER_LOG_LINES)):
        data = (bag / rel).read_bytes()
        assert len(pattern.findall(data)) == data.count(b"\n") > 2, rel


def test_log_lines_in_another_form_are_folded_by_the_json_parser(bag: Path, exact_reads: list[Path]) -> None:
    # a fetch that wrote no record (a null id), keys in another order, a space before the value: each read
    # as the exact comparison reads it, the same records named
    log = bag / "data/crawl-log.jsonl"
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    lines = [" " + json.dumps(entry, sort_keys=True) for entry in entries]
    lines.append(json.dumps({"url": "http://127.0.0.1:9/x", "outcome": "failed", "warc_record_id": None}))
    log.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    reseal(bag)
    assert fingerprints_agree(bag)
    assert verify_bag(bag, processes=1).verdict == "valid"
    assert exact_reads == []


def test_a_log_entry_naming_a_record_twice_disagrees(bag: Path, exact_reads: list[Path]) -> None:
    log = bag / "data/crawl-log.jsonl"
    first = next(line for line in log.read_text(encoding="utf-8").splitlines() if '"warc_record_id"' in line)
    with open(log, "a", encoding="utf-8") as out:
        out.write(first + "\n")
    reseal(bag)
    assert not fingerprints_agree(bag)
    problems = index_problems(bag)
    assert problems and problems[0][0] == "data/crawl-log.jsonl", problems
    assert exact_reads


# --------------------------------------------------------------------------- disagreeing, then named


def two_lines(bag: Path) -> tuple[int, int]:
    """Two index lines (0-based) of different URLs."""
    lines = index_lines(bag)
    second = next(n for n in range(1, len(lines)) if lines[n]["url"] != lines[0]["url"])
    return 0, second


@pytest.mark.parametrize(("field", "value", "header"), [
    ("url", "http://127.0.0.1:9/elsewhere", "WARC-Target-URI"),
    ("warc_date", "2001-01-01T00:00:00Z", "WARC-Date"),
    ("digest", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "WARC-Payload-Digest"),
])
def test_a_changed_field_of_one_line_is_found_and_named(bag: Path, exact_reads: list[Path], field: str, value: str,
                                                        header: str) -> None:
    rewrite_index(bag, {2: {field: value}})
    reseal(bag)
    assert not fingerprints_agree(bag)
    problems = index_problems(bag)
    assert [d for p, d in problems if p == "data/index.cdxj" and d.startswith("line 2 points at the record at ")
            and f"whose {header} is" in d]
    assert exact_reads


def test_a_changed_offset_is_found_and_named(bag: Path) -> None:
    first, other = two_lines(bag)
    rewrite_index(bag, {first + 1: {"offset": index_lines(bag)[other]["offset"]}})
    reseal(bag)
    assert not fingerprints_agree(bag)
    details = [d for p, d in index_problems(bag) if p == "data/index.cdxj"]
    assert details and all(d.startswith(f"line {first + 1} points at the record at ") for d in details)


def test_a_swapped_pair_of_offsets_is_found_and_both_lines_named(bag: Path) -> None:
    first, other = two_lines(bag)
    lines = index_lines(bag)
    rewrite_index(bag, {first + 1: {"offset": lines[other]["offset"]}, other + 1: {"offset": lines[first]["offset"]}})
    reseal(bag)
    assert not fingerprints_agree(bag)
    named = {d.split(" points at")[0] for p, d in index_problems(bag) if p == "data/index.cdxj"}
    assert named == {f"line {first + 1}", f"line {other + 1}"}


def test_a_missing_line_is_found(bag: Path) -> None:
    lines = raw_lines(bag)
    write_lines(bag, lines[:1] + lines[2:])
    assert not fingerprints_agree(bag)
    assert index_problems(bag) == [(
        "data/crawl-log.jsonl",
        f"the crawl log names {len(lines)} records written but index.cdxj lists {len(lines) - 1} captures; each "
        "fetch that wrote records is logged once and indexed once.",
    )]


def test_a_duplicated_line_is_found(bag: Path) -> None:
    lines = raw_lines(bag)
    write_lines(bag, lines[:2] + lines[1:])
    assert not fingerprints_agree(bag)
    assert index_problems(bag) == [(
        "data/crawl-log.jsonl",
        f"the crawl log names {len(lines)} records written but index.cdxj lists {len(lines) + 1} captures; each "
        "fetch that wrote records is logged once and indexed once.",
    )]


def test_a_cable_with_another_date_is_found_and_named(bag: Path) -> None:
    rewrite_first_cable(bag, {"captured": "2001-01-01T00:00:00Z"})
    assert not fingerprints_agree(bag)
    ((path, detail),) = index_problems(bag)
    assert path == "data/cables.jsonl" and detail.startswith("line 1 points at the record at ") and "WARC-Date" in detail


def test_a_disagreement_the_exact_comparison_clears_is_valid(bag: Path, exact_reads: list[Path]) -> None:
    # a line without a digest ("-") claims less than the record holds: the sums differ, no line is wrong
    rewrite_index(bag, {1: {"digest": "-"}})
    reseal(bag)
    assert not fingerprints_agree(bag)
    assert verify_bag(bag, processes=1).verdict == "valid"
    assert exact_reads


# --------------------------------------------------------------------------- the spool's fold


def record(offset: int, record_id: str, uri: str | None, record_type: str = "response",
           digest: str | None = "sha1:X") -> tuple[object, ...]:
    """The arguments of FieldPrint.add for one record, with its id's hash as the scan gives it."""
    return (offset, record_id, uri, "2024-01-01T00:00:00Z", digest, record_type, id_hash(norm_id(record_id)))


@pytest.mark.parametrize("kind", [FieldPrint, FieldSpool])
def test_two_records_at_one_offset_cannot_be_fingerprinted(kind: type[FieldPrint]) -> None:
    # several records in one gzip member share its offset: only the first is found there
    spool = kind()
    spool.add(*record(0, "<urn:a>", "http://h/"))  # type: ignore[arg-type]  # the add's own arguments
    assert spool.printable and spool.fold()[1] == 1
    spool.add(*record(0, "<urn:b>", "http://h/"))  # type: ignore[arg-type]
    assert not spool.printable


@pytest.mark.parametrize("kind", [FieldPrint, FieldSpool])
def test_the_fold_survives_pickling_and_merging(kind: type[FieldPrint]) -> None:
    whole, first, second = kind(), kind(), kind()
    records = [record(n * 100, f"<urn:{n}>", f"http://h/{n}", "response" if n % 2 else "request", None)
               for n in range(10_000)]  # past the keys a fold holds before it hashes them
    for one in records:
        whole.add(*one)  # type: ignore[arg-type]
    for one in records[:4000]:
        first.add(*one)  # type: ignore[arg-type]
    for one in records[4000:]:
        second.add(*one)  # type: ignore[arg-type]
    first.absorb(pickle.loads(pickle.dumps(second)))
    copy = pickle.loads(pickle.dumps(first))
    assert (copy.fold(), copy.id_sum, copy.printable) == (whole.fold(), whole.id_sum, True)
    assert whole.fold()[1] == 5000 and whole.fold()[0] != 0
    late = kind()
    late.add(*record(50, "<urn:x>", None))  # type: ignore[arg-type]
    first.absorb(late)  # a range that starts before the end of the one before it
    assert not first.printable


@pytest.mark.parametrize(("field", "value"), [("uri", "http://h/a\nb"), ("id", None)])
def test_a_record_the_key_cannot_stand_for_is_not_printable(field: str, value: str | None) -> None:
    # a line feed in a value makes the key ambiguous; a capture without an id cannot be matched to the log
    fold = FieldPrint()
    if field == "uri":
        fold.add(*record(0, "<urn:a>", value))  # type: ignore[arg-type]
    else:
        fold.add(0, None, "http://h/", "2024-01-01T00:00:00Z", "sha1:X", "response", None)
    assert fold.fold()[1] == 1 and not fold.printable


def test_a_capture_key_is_its_fields_one_a_line() -> None:
    assert capture_key(7, "http://h/", "2024", "sha1:X", "<urn:a>") == "7\nhttp://h/\n2024\nsha1:X\n<urn:a>"
    assert capture_key(7, "http://h/\n", "2024", "sha1:X", "<urn:a>") is None
    assert capture_print(b"7\nx") != capture_print(b"7\ny") and capture_print(b"a").bit_length() <= 128


@pytest.mark.parametrize("value", ["<urn:a>", " <urn:a> ", "< urn:a >", "urn:a", "<", "<>", "\u00a0<x>\t"])
def test_record_ids_are_normalised_as_the_exact_comparison_does(value: str) -> None:
    assert norm_id(value) == warcids_norm_id(value)
