"""The crawl state batches the rows written for every fetch; reads and commits see them all."""

from __future__ import annotations

from pathlib import Path

from cablekeep.capture.state import BATCH_ROWS, CrawlState


def _state(tmp_path: Path) -> CrawlState:
    state = CrawlState(tmp_path / "state.sqlite")
    for n in range(3):
        state.add_url(f"k{n}", f"http://127.0.0.1/{n}", "127.0.0.1", 0, "seed", None)
    state.commit()
    return state


def test_batched_rows_are_seen_by_every_read(tmp_path: Path) -> None:
    state = _state(tmp_path)
    [first, *_] = state.iter_queued(10)
    state.mark_done(first.id, "ok")
    state.add_log({"url": first.url, "outcome": "ok"})
    state.add_capture("127,0,0,1)/0 20261127000000 {}")
    assert state.queued_count() == 2
    assert state.url_outcome("k0") == ("http://127.0.0.1/0", "done", "ok")
    assert [e["outcome"] for e in state.iter_log_entries()] == ["ok"]
    assert list(state.iter_lines("captures")) == ["127,0,0,1)/0 20261127000000 {}"]
    state.close()
    again = CrawlState(tmp_path / "state.sqlite")
    assert again.queued_count() == 2 and again.count("log") == 1
    again.close()


def test_abandon_drops_the_batch_with_the_transaction(tmp_path: Path) -> None:
    state = _state(tmp_path)
    [first, *_] = state.iter_queued(10)
    state.mark_done(first.id, "ok")
    state.add_log({"url": first.url})
    state.abandon()  # a crash before the commit: that URL is fetched again
    again = CrawlState(tmp_path / "state.sqlite")
    assert again.queued_count() == 3 and again.count("log") == 0
    again.close()


def test_a_long_batch_is_written_before_it_grows_further(tmp_path: Path) -> None:
    state = _state(tmp_path)
    for n in range(BATCH_ROWS + 1):
        state.add_capture(f"line {n}")
    assert len(state._captures) == 1  # the first BATCH_ROWS went to the database
    assert state.count("captures") == BATCH_ROWS + 1
    state.close()


def test_a_key_prefix_is_found_by_its_range(tmp_path: Path) -> None:
    state = _state(tmp_path)
    assert not state.has_key_with_prefix("capture:")
    state.set("captur", "x")  # shorter than the prefix, and sorted just before it
    state.set("capture;", "x")  # the next character after ':'
    assert not state.has_key_with_prefix("capture:")
    state.set("capture:com,example)/caf\u00e9\U0001f600", "browser")
    assert state.has_key_with_prefix("capture:")
    state.close()
