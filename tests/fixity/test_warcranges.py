"""One WARC checked in ranges on several cores (cablekeep.fixity.warcranges), on a real crawl.

The sample site's crawl gives a small bag; the split thresholds are lowered so that its WARC is
cut into ranges at the offsets its index gives. Whatever is wrong with the file, the verdict and
every problem must be what the one-piece scan (``processes=1``) says.
"""

from __future__ import annotations

import io
import os
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from cablekeep.fixity import dirsource, warcranges
from cablekeep.fixity.recordids import MEMORY_IDS, IdIndex, MemoryIdIndex, id_index
from cablekeep.fixity.report import Report
from cablekeep.fixity.verify import verify_bag
from cablekeep.fixity.warccheck import WarcScan, iter_warc_records

from .test_witness import bag, crawled, index_lines, reseal, rewrite_index, the_warc  # noqa: F401  # fixtures

SMALL = 512  # bytes: the lowered thresholds, so the sample crawl's WARC is cut into several ranges


@pytest.fixture
def ranges_seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int | None]]]:
    """Small thresholds, a thread pool (so calls can be counted) and the ranges scanned."""
    monkeypatch.setattr(warcranges, "SPLIT_MIN_BYTES", SMALL)
    monkeypatch.setattr(warcranges, "RANGE_MIN_BYTES", SMALL)
    monkeypatch.setattr(dirsource, "_make_pool", lambda processes: ThreadPoolExecutor(processes))
    seen: list[tuple[int, int | None]] = []
    real = warcranges.scan_range

    def spy(root: str, rel: str, start: int, end: int | None, open_file: object, witness: bool) -> WarcScan:
        seen.append((start, end))
        return real(root, rel, start, end, open_file, witness)  # type: ignore[arg-type]

    monkeypatch.setattr(warcranges, "scan_range", spy)
    yield seen


def described(report: Report) -> list[tuple[str, str, str, int | None]]:
    return sorted((p.kind, p.path, p.detail, p.offset) for p in report.problems)


def assert_same_as_one_piece(bag: Path, seen: list[tuple[int, int | None]]) -> Report:
    one = verify_bag(bag, processes=1)
    split = verify_bag(bag, processes=2)
    assert len(seen) >= 2, "the WARC was not checked in ranges"
    assert split.verdict == one.verdict
    assert described(split) == described(one)
    assert split.warc_records_checked == one.warc_records_checked
    return split


# --------------------------------------------------------------------------- planning


def test_ranges_tile_the_file_and_cut_only_at_offsets_given() -> None:
    rng = random.Random(17)
    size = 100 << 20
    offsets = sorted(rng.sample(range(1, size), 5000))
    ranges = warcranges.plan_ranges(size, offsets, 4)
    assert len(ranges) == 4
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # no gap, no overlap
    assert all(start in offsets for start, _ in ranges[1:])
    assert all(end - start >= warcranges.RANGE_MIN_BYTES for start, end in ranges)


@pytest.mark.parametrize("size, offsets", [(100 << 20, []), (5 << 20, [1 << 20, 2 << 20, 3 << 20]),
                                           (100 << 20, [100])])
def test_one_range_when_no_offset_helps(size: int, offsets: list[int]) -> None:
    assert warcranges.plan_ranges(size, offsets, 4) == [(0, size)]


def test_a_range_reader_stops_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 10)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert warcranges.RangeReader(fd, 10, 20).read(100) == bytes(range(10, 20))
        reader = warcranges.RangeReader(fd, 2550, None)
        assert reader.read(100) == bytes(range(246, 256)) and reader.read(100) == b""
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- a crawled bag


def test_a_valid_bag_is_checked_in_ranges(bag: Path, ranges_seen: list[tuple[int, int | None]]) -> None:
    report = assert_same_as_one_piece(bag, ranges_seen)
    assert report.verdict == "valid", report.problems
    starts = sorted(start for start, _ in ranges_seen)
    offsets = {int(fields["offset"]) for fields in index_lines(bag)}
    assert starts[0] == 0 and set(starts[1:]) <= offsets  # cut at the index's offsets only


def test_a_bag_checked_in_real_processes(bag: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warcranges, "SPLIT_MIN_BYTES", SMALL)
    monkeypatch.setattr(warcranges, "RANGE_MIN_BYTES", SMALL)
    one, split = verify_bag(bag, processes=1), verify_bag(bag, processes=2)
    assert split.verdict == one.verdict == "valid"
    assert split.warc_records_checked == one.warc_records_checked > 10


def test_a_corrupted_member_inside_a_range(bag: Path, ranges_seen: list[tuple[int, int | None]]) -> None:
    warc = the_warc(bag)
    data = bytearray(warc.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\x00" * 8
    warc.write_bytes(bytes(data))
    reseal(bag)
    report = assert_same_as_one_piece(bag, ranges_seen)
    assert report.verdict == "invalid" and any(p.kind == "warc" for p in report.problems)


def test_a_file_cut_inside_a_member(bag: Path, ranges_seen: list[tuple[int, int | None]]) -> None:
    warc = the_warc(bag)
    data = warc.read_bytes()
    warc.write_bytes(data[: len(data) - 100])
    reseal(bag)
    report = assert_same_as_one_piece(bag, ranges_seen)
    assert report.verdict == "invalid"


def test_a_record_spliced_out_at_record_boundaries(bag: Path, ranges_seen: list[tuple[int, int | None]]) -> None:
    # a whole record removed from the middle: a valid WARC, but the index's later offsets point
    # inside records or at other records, so the ranges do not start at records: one piece again
    warc = the_warc(bag)
    records = list(iter_warc_records(warc))
    middle = records[len(records) // 2]
    after = records[len(records) // 2 + 1]
    data = warc.read_bytes()
    warc.write_bytes(data[: middle.offset] + data[after.offset :])
    reseal(bag)
    report = assert_same_as_one_piece(bag, ranges_seen)
    assert report.verdict == "invalid" and any(p.kind == "index" for p in report.problems)


def test_index_offsets_that_are_not_record_starts(bag: Path, ranges_seen: list[tuple[int, int | None]]) -> None:
    lines = index_lines(bag)
    rewrite_index(bag, {n: {"offset": str(int(fields["offset"]) + 3)} for n, fields in enumerate(lines, 1)})
    reseal(bag)
    report = assert_same_as_one_piece(bag, ranges_seen)
    assert report.verdict == "invalid" and {p.kind for p in report.problems} == {"index"}


# --------------------------------------------------------------------------- merging


def warc_file(path: Path, ids: list[str], refers: dict[int, str]) -> list[int]:
    """A gzipped WARC of resource records with ``ids``; record ``n`` in ``refers`` has a
    WARC-Concurrent-To naming that id. Returns the record offsets."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    offsets = []
    for n, record_id in enumerate(ids):
        headers = {"WARC-Record-ID": record_id}
        if n in refers:
            headers["WARC-Concurrent-To"] = refers[n]
        record = writer.create_warc_record(f"http://127.0.0.1/{n}", "resource", payload=io.BytesIO(b"x" * 50),
                                           length=50, warc_headers_dict=headers)
        offsets.append(out.tell())
        writer.write_record(record)
    path.write_bytes(out.getvalue())
    return offsets


def scan_in_ranges(path: Path, cut: int) -> list[WarcScan]:
    opener = dirsource.open_nofollow
    return [warcranges.scan_range(str(path.parent), path.name, 0, cut, opener, False),
            warcranges.scan_range(str(path.parent), path.name, cut, None, opener, False)]


def test_a_reference_into_another_range_is_resolved(tmp_path: Path) -> None:
    ids = [f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(6)]
    offsets = warc_file(tmp_path / "a.warc.gz", ids, {4: ids[1]})
    scans = scan_in_ranges(tmp_path / "a.warc.gz", offsets[3])
    assert [ref.target for ref in scans[1].unresolved] == [ids[1]]  # open in its own range
    merged = warcranges.merge_ranges("a.warc.gz", scans)
    assert merged is not None and merged.unresolved == [] and merged.records == 6
    assert [offset for _, offset in merged.ids.pairs()] == offsets


def test_a_reference_to_nothing_stays_open(tmp_path: Path) -> None:
    ids = [f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(6)]
    offsets = warc_file(tmp_path / "a.warc.gz", ids, {4: "<urn:uuid:nowhere>"})
    merged = warcranges.merge_ranges("a.warc.gz", scan_in_ranges(tmp_path / "a.warc.gz", offsets[3]))
    assert merged is not None and [ref.target for ref in merged.unresolved] == ["<urn:uuid:nowhere>"]


def test_an_id_used_in_two_ranges_means_one_piece_again(tmp_path: Path) -> None:
    ids = [f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(6)]
    ids[5] = ids[0]
    offsets = warc_file(tmp_path / "a.warc.gz", ids, {})
    scans = scan_in_ranges(tmp_path / "a.warc.gz", offsets[3])
    assert not any(scan.problems for scan in scans)  # neither range sees it alone
    assert warcranges.merge_ranges("a.warc.gz", scans) is None


def test_a_range_not_starting_at_a_record_is_a_problem(tmp_path: Path) -> None:
    ids = [f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(6)]
    offsets = warc_file(tmp_path / "a.warc.gz", ids, {})
    scans = scan_in_ranges(tmp_path / "a.warc.gz", offsets[3] + 1)
    assert scans[0].problems and scans[1].problems  # the first range is cut, the second starts nowhere
    assert warcranges.merge_ranges("a.warc.gz", scans) is None


def test_ids_in_memory_answer_as_ids_on_disk() -> None:
    rng = random.Random(5)
    files = [[(rng.randrange(-300, 300), rng.randrange(10**6)) for _ in range(400)] for _ in range(3)]
    with IdIndex() as disk, MemoryIdIndex() as memory:
        for number, pairs in enumerate(files):
            disk.add(number, pairs)
            memory.add(number, pairs)
        assert list(memory.duplicates()) == list(disk.duplicates()) != []
        assert all((h in memory) == (h in disk) for h in range(-350, 350))
    with id_index(MEMORY_IDS) as small, id_index(MEMORY_IDS + 1) as large:
        assert isinstance(small, MemoryIdIndex) and isinstance(large, IdIndex)


# --------------------------------------------------------------------------- the witness read by the pool


def test_the_pool_reads_the_witness_files_once(bag: Path, ranges_seen: list[tuple[int, int | None]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from cablekeep.fixity import witness

    reads: list[bool] = []  # whether each exact read was in the main thread
    folds: list[tuple[str, bool]] = []  # and each fold (witness.fold_index, witness.fold_log)
    real = witness.Witness.read_files

    def counting(self: witness.Witness, root: Path) -> None:
        reads.append(threading.current_thread() is threading.main_thread())
        real(self, root)

    monkeypatch.setattr(witness.Witness, "read_files", counting)
    for name in ("fold_index", "fold_log"):
        def folding(root: Path, _name: str = name, _real: Callable[[Path], witness.Prints] = getattr(witness, name)
                    ) -> witness.Prints:
            folds.append((_name, threading.current_thread() is threading.main_thread()))
            return _real(root)

        monkeypatch.setattr(witness, name, folding)
    lines = index_lines(bag)
    rewrite_index(bag, {1: {"digest": "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}})
    reseal(bag)
    report = verify_bag(bag, processes=2)
    # folded by the pool, while it hashed; the fingerprints disagree, so read once more, exactly, to name the line
    assert sorted(folds) == [("fold_index", False), ("fold_log", False)] and reads == [True]
    assert report.verdict == "invalid" and [p.kind for p in report.problems] == ["index"]
    assert lines  # the rewritten line was a real one
    reads.clear()
    assert described(verify_bag(bag, processes=1)) == described(report)


def test_witness_files_read_against_other_warcs_are_read_again(bag: Path, ranges_seen: list[tuple[int, int | None]],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # a WARC under data/ that no manifest lists is not scanned: what the pool matched lines to is not
    # what was scanned, so the witness reads the files again against the scanned WARCs
    (bag / "data" / "warc" / "stray.warc.gz").write_bytes(the_warc(bag).read_bytes())
    assert_same_as_one_piece(bag, ranges_seen)


def test_the_witness_in_real_processes_finds_what_one_process_finds(bag: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warcranges, "SPLIT_MIN_BYTES", SMALL)
    monkeypatch.setattr(warcranges, "RANGE_MIN_BYTES", SMALL)
    rewrite_index(bag, {2: {"url": "http://127.0.0.1/elsewhere"}})
    reseal(bag)
    one, split = verify_bag(bag, processes=1), verify_bag(bag, processes=2)
    assert one.verdict == "invalid" and described(split) == described(one)


def test_a_read_error_in_a_range_means_one_piece_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in range(6)]
    offsets = warc_file(tmp_path / "a.warc.gz", ids, {})

    def failing(fd: int, size: int, at: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "pread", failing)
    scans = scan_in_ranges(tmp_path / "a.warc.gz", offsets[3])
    assert all(scan.problems for scan in scans)
    assert warcranges.merge_ranges("a.warc.gz", scans) is None
