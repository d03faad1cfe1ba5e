"""verify and audit on a LocalCluster of 2 worker processes: the same verdict as one machine, the history
written once by the coordinator, and a worker SIGKILLed mid-verify costing only its shard."""

from __future__ import annotations

import io
import os
import random
import signal
import threading
import time
from pathlib import Path

import bagit
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from cablekeep.cluster.session import ClusterSession
from cablekeep.fixity import dirsource as fixity_verify
from cablekeep.fixity.audit import audit
from cablekeep.fixity.history import FixityHistory
from cablekeep.fixity.report import Report
from cablekeep.fixity.verify import verify_bag

from .slow import MARKERS, slow_open


def _warc(pages: int, seed: int) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    rng = random.Random(seed)
    for n in range(pages):
        body = f"<html>cable {seed}-{n} {rng.random()}</html>".encode() * 20
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(f"http://127.0.0.1/c/{seed}/{n}", "response", payload=io.BytesIO(body),
                                           length=len(body), http_headers=headers)
        writer.write_record(record)
    return out.getvalue()


def _bag(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    bagit.make_bag(str(root), {"Source-Organization": "cablekeep tests"}, checksums=["sha256", "sha512"])
    return root


def _files(count: int) -> dict[str, bytes]:
    files = {f"warc/c-{n:03d}.warc.gz": _warc(30, n) for n in range(4)}
    files.update({f"cables/{n:04d}.txt": os.urandom(512 + n) for n in range(count)})
    return files


def _same(one: Report, other: Report) -> None:
    assert other.problems == one.problems
    assert (other.files_checked, other.bytes_checked, other.warc_records_checked) == (
        one.files_checked, one.bytes_checked, one.warc_records_checked)
    assert other.ok == one.ok


def test_a_damaged_bag_gets_the_one_machine_verdict(tmp_path: Path, cluster: ClusterSession,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bag = _bag(tmp_path / "bag", _files(600))
    (bag / "data/cables/0007.txt").write_bytes(b"changed")
    (bag / "data/cables/0100.txt").unlink()
    with open(bag / "data/warc/c-002.warc.gz", "r+b") as handle:  # a flipped byte inside a record
        handle.seek(300)
        byte = handle.read(1)
        handle.seek(300)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(fixity_verify, "REMOTE_BATCH_FILES", 50)  # shards of 50 files: several per worker
    local = verify_bag(bag, processes=1)
    on_cluster = verify_bag(bag, executor=cluster.executor, processes=cluster.slots)
    assert not local.ok and {p.path for p in local.problems} >= {"data/cables/0007.txt", "data/cables/0100.txt",
                                                                 "data/warc/c-002.warc.gz"}
    _same(local, on_cluster)
    assert on_cluster.warc_records_checked > 0


def test_the_shards_run_on_the_workers(tmp_path: Path, cluster: ClusterSession,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    bag = _bag(tmp_path / "bag", _files(200))
    (tmp_path / MARKERS).mkdir()
    monkeypatch.setattr(fixity_verify, "REMOTE_BATCH_FILES", 20)
    report = verify_bag(bag, executor=cluster.executor, processes=cluster.slots, open_file=slow_open)
    assert report.ok, report.problems
    hashed_by = {int(p.name) for p in (tmp_path / MARKERS).iterdir()}
    assert hashed_by == set(cluster.worker_pids().values())  # both workers, never this process
    assert os.getpid() not in hashed_by


def test_a_worker_killed_mid_verify_only_costs_its_shard(tmp_path: Path, cluster: ClusterSession,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bag = _bag(tmp_path / "bag", _files(400))
    (bag / "data/cables/0300.txt").write_bytes(b"changed")
    markers = tmp_path / MARKERS
    markers.mkdir()
    monkeypatch.setattr(fixity_verify, "REMOTE_BATCH_FILES", 25)  # 16 shards of 25 files, 0.25 s each
    expected = verify_bag(bag, processes=1)
    killed: list[tuple[int, float]] = []

    def kill_the_first_worker_seen() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            seen = list(markers.iterdir())
            if seen:
                pid = int(seen[0].name)
                os.kill(pid, signal.SIGKILL)
                killed.append((pid, time.monotonic()))
            time.sleep(0.01)

    before = set(cluster.worker_pids().values())
    killer = threading.Thread(target=kill_the_first_worker_seen)
    killer.start()
    report = verify_bag(bag, executor=cluster.executor, processes=cluster.slots, open_file=slow_open)
    finished = time.monotonic()
    killer.join()
    assert killed, "no worker was seen hashing"
    pid, when = killed[0]
    assert pid in before and when < finished  # a worker of the cluster, killed while the verify ran
    _same(expected, report)  # every file counted once: the lost shard hashed again, nothing twice
    assert [p.path for p in report.problems if p.kind == "changed"] == ["data/cables/0300.txt"] * 2
    deadline = time.monotonic() + 30
    while pid in cluster.worker_pids().values() or len(cluster.worker_pids()) < 2:  # the nanny restarts it
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_audit_on_the_cluster_records_once_on_the_coordinator(tmp_path: Path, cluster: ClusterSession) -> None:
    bag = _bag(tmp_path / "bags" / "bag", _files(100))
    (bag / "data/cables/0042.txt").write_bytes(bytes(512 + 42))  # same size: Payload-Oxum still agrees
    with FixityHistory(tmp_path / "fixity.sqlite") as history:
        result = audit([bag], history, older_than=None, sample=None, rng=random.Random(1),
                       executor=cluster.executor, processes=cluster.slots)
        events = history.events_for(bag)
    assert not result.ok
    (checked,) = result.checked
    assert [f.path for f in checked.findings] == ["data/cables/0042.txt"]
    with FixityHistory(tmp_path / "local.sqlite") as history:
        local = audit([bag], history, older_than=None, sample=None, rng=random.Random(1), processes=1)
    assert checked.report is not None and local.checked[0].report is not None
    _same(local.checked[0].report, checked.report)
    assert len(events) == 1 and events[0].outcome == "invalid"


def test_a_verify_begun_while_the_local_cluster_starts_gets_the_one_machine_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cablekeep.cluster.address import ClusterSpec
    from cablekeep.cluster.dask import open_cluster

    bag = _bag(tmp_path / "bag", _files(300))
    (bag / "data/cables/0042.txt").write_bytes(b"changed")
    (tmp_path / MARKERS).mkdir()
    expected = verify_bag(bag, processes=1)
    monkeypatch.setattr(fixity_verify, "REMOTE_BATCH_FILES", 25)  # 12 shards of 0.25 s: the cluster gets some
    with open_cluster(ClusterSpec(workers=2), local_directory=tmp_path / "dask") as session:
        report = verify_bag(bag, executor=session.fixity_executor, processes=session.slots, open_file=slow_open)
        workers = set(session.worker_pids().values())
    _same(expected, report)
    hashed_by = {int(p.name) for p in (tmp_path / MARKERS).iterdir()}
    assert os.getpid() not in hashed_by  # hashed by other processes
    assert hashed_by & workers and session.outcome() is None  # the cluster was started and used


def _quick(n: int) -> int:
    return n


def test_a_bag_the_pool_takes_shard_by_shard_never_starts_the_cluster(tmp_path: Path) -> None:
    import multiprocessing

    from cablekeep.cluster.address import ClusterSpec
    from cablekeep.cluster.dask import open_cluster

    bag = _bag(tmp_path / "bag", {f"cables/{n:04d}.txt": os.urandom(100) for n in range(50)})  # one shard
    with open_cluster(ClusterSpec(workers=2), local_directory=tmp_path / "dask") as session:
        pool = set(multiprocessing.active_children())  # the session's pool (and another test's cluster)
        report = verify_bag(bag, executor=session.fixity_executor, processes=session.slots)
        assert set(multiprocessing.active_children()) == pool  # no worker process was started
    assert report.ok and report.files_checked >= 50  # and the tag files
    assert "was not needed" in (session.outcome() or "") and "not started" in (session.outcome() or "")


def test_a_cluster_start_overtaken_by_the_work_is_cancelled_at_once(tmp_path: Path) -> None:
    import multiprocessing

    from cablekeep.cluster.address import ClusterSpec
    from cablekeep.cluster.dask import open_cluster

    before = set(multiprocessing.active_children())  # another test's cluster
    with open_cluster(ClusterSpec(workers=2), local_directory=tmp_path / "dask") as session:
        results = [session.fixity_executor.submit(_quick, n) for n in range(6)]  # more than 2: the start begins
        assert [f.result(timeout=60) for f in results] == list(range(6))
        begun = time.monotonic()
    closed = time.monotonic() - begun
    assert "start was cancelled" in (session.outcome() or "")
    assert set(multiprocessing.active_children()) == before  # neither the pool nor a worker is left
    assert closed < 10, closed
