"""Worker processes die with their owner: a SIGKILL of ``verify`` (hashing pool) or ``run`` (fetch
processes) leaves no worker behind, checked on real processes through /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing import get_context
from pathlib import Path

import pytest

from cablekeep.children import watch_pipe

from .conftest import start_cli

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def _ppid_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()
    return int(fields[1]), fields[0].decode()


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _ppid_and_state(int(entry))
            if found is not None:
                children.setdefault(found[0], []).append(int(entry))
    out: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.add(child)
            stack.append(child)
    return out


def _alive(pid: int) -> bool:
    found = _ppid_and_state(pid)
    return found is not None and found[1] != "Z"


def _kill_and_check(process: subprocess.Popen[bytes], want: int, ready: threading.Event | None = None) -> None:
    """Wait for ``want`` descendants of ``process`` (and ``ready``), SIGKILL it, and see them all gone."""
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline:
        assert process.poll() is None, "the command ended before its workers were seen"
        workers = _descendants(process.pid)
        if len(workers) >= want and (ready is None or ready.is_set()):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"only {len(workers)} worker processes appeared")
    time.sleep(0.5)  # let them get busy
    workers = _descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.05)
    left = sorted(pid for pid in workers if _alive(pid))
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived their killed parent {process.pid}"


def _sparse_bag(root: Path, files: int, size: int) -> Path:
    """A bag whose payload is ``files`` sparse files of ``size`` bytes (no disk used; wrong digests)."""
    (root / "data").mkdir(parents=True)
    lines = []
    for i in range(files):
        path = root / "data" / f"f{i:04d}.bin"
        with open(path, "wb") as handle:
            handle.truncate(size)
        lines.append(f"{'0' * 64}  data/f{i:04d}.bin\n")
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")
    (root / "bag-info.txt").write_text(f"Payload-Oxum: {files * size}.{files}\n", encoding="utf-8")
    (root / "manifest-sha256.txt").write_text("".join(lines), encoding="utf-8")
    return root


def test_verify_killed_leaves_no_hashing_worker(tmp_path: Path) -> None:
    bag = _sparse_bag(tmp_path / "bag", files=96, size=256 << 20)
    process = start_cli("verify", str(bag), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _kill_and_check(process, want=max(1, min(os.cpu_count() or 1, 2)))
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture
def silent_server() -> Iterator[tuple[int, threading.Event]]:
    """Accepts connections and never answers; ``busy`` is set once two requests are held."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    busy = threading.Event()
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            held.append(conn)
            if len(held) >= 2:
                busy.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], busy
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


def test_run_killed_leaves_no_fetch_process(tmp_path: Path, silent_server: tuple[int, threading.Event]) -> None:
    port, busy = silent_server
    manifest = tmp_path / "m.yaml"
    seeds = "".join(f"  - url: http://127.0.0.1:{port}/page{i}\n" for i in range(4))
    manifest.write_text(
        "cablekeep: 1\ncollection: kill-workers\n"
        f"seeds:\n{seeds}"
        "fetch: {processes: 2, concurrency: 2, per_host_concurrency: 2, per_host_delay: 0, timeout: 120, "
        "retries: 0, robots: ignore, allow_hosts: ['127.0.0.1']}\n"
        f"bag: {{output: '{tmp_path / 'bags'}'}}\n",
        encoding="utf-8",
    )
    process = start_cli("run", "--quiet", str(manifest), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _kill_and_check(process, want=2, ready=busy)
    finally:
        if process.poll() is None:
            process.kill()


def _watched(reader: object) -> None:
    assert hasattr(reader, "recv_bytes")
    watch_pipe(reader)  # type: ignore[arg-type]
    time.sleep(60)


def test_pipe_watch_ends_the_worker_when_the_owner_goes() -> None:
    """The fallback where prctl is missing: end-of-file on the owner pipe ends the worker."""
    context = get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    worker = context.Process(target=_watched, args=(reader,), daemon=True)
    worker.start()
    reader.close()
    time.sleep(1.0)
    assert worker.is_alive()
    writer.close()  # what the kernel does when the owner dies
    worker.join(10)
    assert worker.exitcode == 1


def _owned_by(owner: int) -> None:
    from cablekeep.children import die_with_owner

    die_with_owner(owner)
    time.sleep(0.2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the prctl path is Linux's")
def test_a_worker_whose_owner_is_already_gone_ends_itself() -> None:
    """prctl covers only a parent alive at the call: a worker whose parent is not its owner any more
    (the owner died first and it was handed to another process) ends at once."""
    context = get_context("spawn")
    stranger = subprocess.Popen(["sleep", "30"])  # neither its parent nor its parent's parent
    try:
        mine = context.Process(target=_owned_by, args=(os.getpid(),))
        orphan = context.Process(target=_owned_by, args=(stranger.pid,))
        for process in (mine, orphan):
            process.start()
            process.join(30)
    finally:
        stranger.kill()
        stranger.wait()
    assert (mine.exitcode, orphan.exitcode) == (0, 1)
