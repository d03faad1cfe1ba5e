"""nginx for the benchmarks: Debian's ``nginx-light`` (``/usr/sbin/nginx``) serving a folder on loopback.

Started in the foreground with its config, logs, temporary files and pid in a work directory of
the benchmark's own, on one free port of the addresses given (127.0.0.x only), and stopped by its
pid (a graceful SIGQUIT, then SIGKILL) when the ``with`` block ends::

    from _nginx import NGINX, NginxError, nginx
    with nginx(work, root, ["127.0.0.1"]) as port:
        ...  # http://127.0.0.1:<port>/<path under root>

Static files, ``default_type text/html`` (pages without a suffix are HTML), ETag and Last-Modified on,
no access log, keep-alive connections of up to 100,000 requests, one worker process.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

NGINX = Path("/usr/sbin/nginx")


class NginxError(Exception):
    """nginx could not be started, or no port was free."""


def free_port(hosts: Sequence[str]) -> int:
    """A port free on every one of ``hosts``."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
            return port
        except OSError:
            continue
    raise NginxError(f"no port free on all {len(hosts)} addresses")


def wait_listening(hosts: Sequence[str], port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    for host in hosts:
        while True:
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise NginxError(f"the server does not answer on {host}:{port}") from None
                time.sleep(0.05)


def readable(root: Path) -> None:
    """nginx's workers may run as nobody: the folders from ``root`` up to the temporary directory must be
    searchable, its files readable (only the benchmark's own temporary folders are changed)."""
    top = Path(tempfile.gettempdir()).resolve()
    for path in (root, *root.parents):
        if path == top or top not in path.parents:
            break
        mode = path.stat().st_mode
        if mode & 0o005 != 0o005:
            path.chmod(mode | 0o005)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


@contextmanager
def nginx(work: Path, root: Path, hosts: Sequence[str], *, workers: int = 1) -> Iterator[int]:
    """nginx serving ``root`` on ``hosts`` at one free port (yielded); its own files in ``work``."""
    if not NGINX.exists():
        raise NginxError(f"{NGINX} not found: Debian's nginx-light installs it")
    work.mkdir(parents=True, exist_ok=True)
    readable(root)
    port = free_port(hosts)
    listens = "".join(f"    listen {host}:{port};\n" for host in hosts)
    temp = "".join(f"{kind}_temp_path {work / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                      "scgi"))
    config = work / "nginx.conf"
    config.write_text(
        f"daemon off;\nworker_processes {workers};\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n{temp}access_log off;\nkeepalive_requests 100000;\ndefault_type text/html;\n"
        f"server {{\n{listens}    root {root};\n    etag on;\n}}\n}}\n",
        encoding="utf-8")
    with open(work / "nginx.stderr", "wb") as stderr:
        process = subprocess.Popen([str(NGINX), "-p", str(work), "-c", str(config)], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_listening(hosts, port, 10)
        yield port
    finally:
        process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
