"""Each way a server misbehaves ends in a recorded, bounded outcome: no crash, no hang."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator


from ..conftest import run_cli_peak_rss
from ..misbehaving import Misbehaving, serve_misbehaving

PATHS = [
    "/ok", "/truncated", "/length-short", "/redirect-loop-a", "/drip", "/endless", "/bomb",
    "/bad-status", "/cp1251", "/429", "/503-then-200", "/to-blocked",
]


@pytest.fixture(scope="module")
def bad_server() -> Iterator[Misbehaving]:
    with serve_misbehaving("127.0.0.3") as server:
        yield server


@pytest.fixture(scope="module")
def bad_run(bad_server: Misbehaving, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, int]:
    tmp = tmp_path_factory.mktemp("bad")
    manifest = tmp / "bad.yaml"
    seeds = "\n".join(f"  - url: {bad_server.base}{p}" for p in PATHS)
    manifest.write_text(
        f"""cablekeep: 1
collection: misbehaving
seeds:
{seeds}
follow: {{depth: 1}}
fetch:
  per_host_delay: 0
  per_host_concurrency: 4
  concurrency: 8
  timeout: 2
  max_bytes: 1MB
  retries: 2
  allow_hosts: [127.0.0.3]
bag: {{output: {tmp / 'bags'}}}
""",
        encoding="utf-8",
    )
    started = time.monotonic()
    result, peak_kb = run_cli_peak_rss("run", "--json", str(manifest), timeout=120)
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    bag = Path(json.loads(result.stdout)["bag"])
    return bag, seconds, peak_kb


def _log(bag: Path) -> dict[str, dict[str, Any]]:
    lines = (bag / "data" / "crawl-log.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["url"].split("/", 3)[3]: json.loads(line) for line in lines}


def _responses(bag: Path) -> dict[str, Any]:
    out = {}
    for warc in (bag / "data" / "warc").iterdir():
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    path = record.rec_headers.get_header("WARC-Target-URI").split("/", 3)[3]
                    out[path] = (record.rec_headers.get_header("WARC-Truncated"), len(record.raw_stream.read()))
    return out


def test_whole_run_is_bounded_and_valid(bad_run: tuple[Path, float, int]) -> None:
    bag, seconds, peak_kb = bad_run  # the run exited 0: crawled, bagged and verified
    assert seconds < 60
    # the crawl process's peak memory stays far below the 200 MB bomb and the 64 MB endless body
    assert peak_kb < 150 * 1024


def test_truncated_body_is_a_disconnect(bad_run: tuple[Path, float, int]) -> None:
    log, responses = _log(bad_run[0]), _responses(bad_run[0])
    assert log["truncated"]["outcome"] == "truncated"
    assert responses["truncated"][0] == "disconnect"


def test_content_length_smaller_than_body_keeps_declared_length(bad_run: tuple[Path, float, int]) -> None:
    log, responses = _log(bad_run[0]), _responses(bad_run[0])
    assert log["length-short"]["outcome"] == "ok"
    assert responses["length-short"] == (None, 10)


def test_redirect_loop_ends(bad_run: tuple[Path, float, int]) -> None:
    log = _log(bad_run[0])
    assert log["redirect-loop-a"]["outcome"] == "redirect"
    assert log["redirect-loop-b"]["outcome"] == "redirect"
    assert "loop" in log["redirect-loop-b"].get("reason", "") + log["redirect-loop-b"].get("note", "")


def test_slow_drip_is_cut_at_the_deadline(bad_run: tuple[Path, float, int]) -> None:
    log, responses = _log(bad_run[0]), _responses(bad_run[0])
    assert log["drip"]["outcome"] == "truncated"
    assert responses["drip"][0] == "time"
    assert 0 < responses["drip"][1] < 1000


def test_endless_body_is_cut_at_max_bytes(bad_run: tuple[Path, float, int]) -> None:
    log, responses = _log(bad_run[0]), _responses(bad_run[0])
    assert log["endless"]["outcome"] == "truncated"
    assert responses["endless"] == ("length", 1_000_000)


def test_gzip_bomb_is_stored_as_sent(bad_run: tuple[Path, float, int]) -> None:
    from ..misbehaving import BOMB

    log, responses = _log(bad_run[0]), _responses(bad_run[0])
    assert log["bomb"]["outcome"] == "ok"
    assert responses["bomb"] == (None, len(BOMB))


def test_malformed_status_line(bad_run: tuple[Path, float, int]) -> None:
    log = _log(bad_run[0])
    assert log["bad-status"]["outcome"] == "bad-response"
    assert log["bad-status"]["status"] is None


def test_windows_1251_page_is_understood(bad_run: tuple[Path, float, int]) -> None:
    log = _log(bad_run[0])
    assert log["cp1251"]["outcome"] == "ok"
    # its one link was followed: the page was decoded and parsed
    assert log["from-cp1251"]["hop"] == "source"


def test_429_backs_off_then_succeeds(bad_run: tuple[Path, float, int], bad_server: Misbehaving) -> None:
    log = _log(bad_run[0])
    assert log["429"]["outcome"] == "ok" and log["429"]["attempts"] == 2
    first, second = bad_server.hits["/429"][:2]
    assert second - first >= 0.9, "Retry-After: 1 was not honoured"


def test_503_then_200(bad_run: tuple[Path, float, int]) -> None:
    log = _log(bad_run[0])
    assert log["503-then-200"]["outcome"] == "ok" and log["503-then-200"]["attempts"] == 2


def test_redirect_to_blocked_address(bad_run: tuple[Path, float, int]) -> None:
    log = _log(bad_run[0])
    assert log["to-blocked"]["outcome"] == "redirect"
    assert log["admin"]["outcome"] == "blocked-address"
