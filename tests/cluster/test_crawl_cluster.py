"""run on a LocalCluster of 2 workers, sharded by host over 20 loopback hosts: the captures of the
one-machine crawl, a bag bagit-python and ``cablekeep verify`` accept, hand-offs reaching their
owners, and a worker SIGKILLed mid-crawl costing nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import bagit
import pytest

from cablekeep.capture.shard import HandedUrl, HostShard, ShardState, shard_of
from cablekeep.cluster.crawl import SHARDS_DIR, ShardResult, crawl_on_cluster
from cablekeep.cluster.session import ClusterSession
from cablekeep.errors import ManifestError
from cablekeep.manifest import load_manifest
from cablekeep.run import run_manifest, work_dir

from ..conftest import run_cli
from .hosts import HOSTS, Hosts, manifest_text, serve_hosts
from .slow import meet


@pytest.fixture(scope="module")
def hosts() -> Hosts:
    with serve_hosts() as served:
        yield served  # type: ignore[misc]


def _manifest(tmp: Path, hosts: Hosts, name: str = "hosts.yaml") -> Path:
    path = tmp / name
    path.write_text(manifest_text(hosts, str(tmp / "bags")), encoding="utf-8")
    return path


def _captures(bag: Path) -> Counter[tuple[str, str]]:
    """(index key, URL) of each response in the bag's index, counted."""
    found: Counter[tuple[str, str]] = Counter()
    for line in (bag / "data" / "index.cdxj").read_text(encoding="utf-8").splitlines():
        key, _, rest = line.split(" ", 2)
        fields = json.loads(rest)
        if fields.get("mime") != "warc/revisit":
            found[(key, str(fields["url"]))] += 1
    return found


def test_shard_state_hands_off_foreign_urls(tmp_path: Path) -> None:
    shard = HostShard(0, 4)
    mine = next(f"127.0.0.{n}:80" for n in range(1, 99) if shard_of(f"127.0.0.{n}:80", 4) == 0)
    theirs = next(f"127.0.0.{n}:80" for n in range(1, 99) if shard_of(f"127.0.0.{n}:80", 4) != 0)
    state = ShardState(tmp_path / "state.sqlite", shard)
    assert state.add_url("a", f"http://{mine}/", mine, 0, "source", "http://x/")
    assert not state.add_url("b", f"http://{theirs}/s", theirs, 0, "seed", None)  # its owner seeds it
    assert state.add_url("c", f"http://{theirs}/", theirs, 1, "source", f"http://{mine}/")
    assert not state.add_url("c", f"http://{theirs}/", theirs, 1, "source", f"http://{mine}/")  # once
    assert state.seen("c") and not state.seen("b")
    assert [q.key for q in state.iter_queued(10)] == ["a"]
    state.commit()
    handed = list(state.iter_handoff(0))
    assert [(url.key, url.host, url.depth) for _, url in handed] == [("c", theirs, 1)]
    assert list(state.iter_handoff(handed[-1][0])) == []
    state.close()


def test_cluster_crawl_gives_the_one_machine_captures(tmp_path: Path, hosts: Hosts,
                                                      cluster: ClusterSession) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    one = run_manifest(load_manifest(_manifest(tmp_path / "one", hosts)))
    many = run_manifest(load_manifest(_manifest(tmp_path / "many", hosts)), cluster=cluster)
    assert one.report.ok and many.report.ok
    expected = _captures(one.bag.path)
    assert {url for _, url in expected} >= hosts.expected_urls()
    assert _captures(many.bag.path) == expected  # same URLs, same keys, each once
    assert many.index_lines == one.index_lines
    names = [p.name for p in (many.bag.path / "data" / "warc").iterdir()]
    assert names and all(re.fullmatch(r"hosts-\d{14}-s\d{2}-\d{5}\.warc\.gz", name) for name in names), names
    assert len({name.split("-")[2] for name in names}) > 1  # several shards wrote
    log = [json.loads(line) for line in (many.bag.path / "data" / "crawl-log.jsonl").read_text().splitlines()]
    assert Counter(entry["url"] for entry in log if entry["hop"] != "robots").most_common(1)[0][1] == 1
    assert many.crawl.outcomes == one.crawl.outcomes
    bagit.Bag(str(many.bag.path)).validate()
    assert run_cli("verify", str(many.bag.path)).exit_code == 0
    assert not work_dir(load_manifest(tmp_path / "many" / "hosts.yaml")).exists()  # cleaned once verified


def test_handoffs_reach_the_shard_owning_their_host(tmp_path: Path, hosts: Hosts, cluster: ClusterSession) -> None:
    manifest = load_manifest(_manifest(tmp_path, hosts))
    workdir = tmp_path / "work"
    handed: list[tuple[int, HandedUrl]] = []

    def on_shard(result: ShardResult) -> None:
        handed.extend((result.index, url) for url in result.handoff)

    crawl_on_cluster(manifest, workdir, cluster, shards=5, on_shard=on_shard)
    assert len(handed) >= HOSTS  # every /x/ and /q/ page was found on another host
    for index, url in handed:
        owner = shard_of(url.host, 5)
        assert owner != index
        with sqlite3.connect(workdir / SHARDS_DIR / f"s{owner:02d}" / "state.sqlite") as db:
            row = db.execute("SELECT state, outcome FROM urls WHERE key = ?", (url.key,)).fetchone()
        assert row == ("done", "ok"), (url, row)
    for index in range(5):  # a shard fetched only its own hosts
        with sqlite3.connect(workdir / SHARDS_DIR / f"s{index:02d}" / "state.sqlite") as db:
            hosts_fetched = {h for (h,) in db.execute("SELECT host FROM urls WHERE outcome = 'ok'")}
        assert hosts_fetched and all(shard_of(h, 5) == index for h in hosts_fetched)


def test_worker_killed_mid_crawl_loses_nothing(tmp_path: Path, cluster: ClusterSession) -> None:
    with serve_hosts(delay=0.05) as slow:
        manifest = load_manifest(_manifest(tmp_path, slow))
        killed: list[int] = []

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 60
            shards = work_dir(manifest) / SHARDS_DIR
            while time.monotonic() < deadline:
                done = 0
                for state in shards.glob("s*/state.sqlite"):
                    try:
                        with sqlite3.connect(state, timeout=1) as db:
                            done += db.execute("SELECT COUNT(*) FROM urls WHERE state = 'done'").fetchone()[0]
                    except sqlite3.Error:
                        pass
                if done >= 40:
                    pid = next(iter(cluster.worker_pids().values()))
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.1)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        summary = run_manifest(manifest, cluster=cluster)
        killer.join()
    assert killed, "no worker was killed: the crawl ended before 40 URLs were done"
    assert summary.report.ok
    captures = _captures(summary.bag.path)
    assert {url for _, url in captures} >= slow.expected_urls()
    assert max(captures.values()) == 1  # no URL twice
    assert killed[0] not in cluster.worker_pids().values()  # the worker was really replaced


def test_run_crawls_on_the_manifests_cluster(tmp_path: Path, hosts: Hosts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the local cluster's scratch space
    (tmp_path / "tmp").mkdir()
    path = tmp_path / "hosts.yaml"
    path.write_text(manifest_text(hosts, str(tmp_path / "bags"), extra="cluster: local:2\n"), encoding="utf-8")
    assert load_manifest(path).cluster == "local:2"
    result = run_cli("run", "--quiet", "--json", "--db", str(tmp_path / "fixity.sqlite"), str(path))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["verified"] and all(re.search(r"-s\d{2}-\d{5}\.warc\.gz$", n) for n in summary["warc_files"])
    assert list((tmp_path / "tmp").iterdir()) == []


def test_run_without_cluster_is_one_machine(tmp_path: Path, hosts: Hosts) -> None:
    result = run_cli("run", "--quiet", "--json", "--db", str(tmp_path / "fixity.sqlite"), str(_manifest(tmp_path, hosts)))
    assert result.exit_code == 0, result.stderr
    assert all(re.fullmatch(r"hosts-\d{14}-\d{5}\.warc\.gz", n) for n in json.loads(result.stdout)["warc_files"])


@pytest.mark.parametrize("value", ["local:0", "somewhere"])
def test_a_bad_run_cluster_is_a_usage_error(tmp_path: Path, hosts: Hosts, value: str) -> None:
    result = run_cli("run", "--cluster", value, str(_manifest(tmp_path, hosts)))
    assert result.exit_code == 2
    assert "--cluster" in result.stderr and "Traceback" not in result.stderr


def test_the_manifests_cluster_key_is_checked(tmp_path: Path, hosts: Hosts) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(manifest_text(hosts, str(tmp_path / "bags"), extra="cluster: somewhere\n"), encoding="utf-8")
    with pytest.raises(ManifestError, match="cluster"):
        load_manifest(path)


def test_every_crawl_shard_runs_at_once_on_single_thread_workers(tmp_path: Path, cluster: ClusterSession) -> None:
    """A crawl has twice as many shards as the workers have threads, and a shard waits on politeness most of
    the time: all of them run at once (a shard waiting for a free thread would leave its hosts idle)."""
    everyone = 2 * cluster.slots
    futures = [cluster.long_executor.submit(meet, str(tmp_path), f"s{n}", everyone, 15.0) for n in range(everyone)]
    assert [f.result(timeout=60) for f in futures] == [True] * everyone
