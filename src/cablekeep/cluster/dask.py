"""The one module that imports Dask: opening a cluster (a running scheduler, or a ``LocalCluster``).

Imported only when a cluster is asked for (``--cluster``), so that a command without it never
loads Dask. Local clusters listen on 127.0.0.1 only, with no dashboard, one thread per worker
process (hashing holds the interpreter lock), and keep their scratch space in ``local_directory``
(a temporary folder of their own, removed at the end, when none is given).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask.config
from distributed import Client, LocalCluster

from ..errors import UsageError
from .address import ClusterSpec
from .session import ClusterSession

CONNECT_TIMEOUT = 10.0  # seconds


def _pid() -> int:
    return os.getpid()


@contextmanager
def open_cluster(spec: ClusterSpec, *, local_directory: Path | None = None) -> Iterator[ClusterSession]:
    """The cluster ``spec`` names, open for the ``with`` block; :class:`UsageError` when it cannot be reached."""
    scratch = None
    if spec.address is None and local_directory is None:
        scratch = tempfile.mkdtemp(prefix="cablekeep-dask-")
        local_directory = Path(scratch)
    scratch_config = {} if local_directory is None else {"temporary-directory": os.fspath(local_directory)}
    try:
        with dask.config.set(scratch_config), _client(spec, local_directory) as client:
            executor = client.get_executor(pure=False)  # a retried shard is a new task, never a cached result

            def worker_pids() -> dict[str, int]:
                return {str(k): int(v) for k, v in client.run(_pid).items()}

            threads: dict[str, int] = client.nthreads()
            slots = sum(threads.values())
            yield ClusterSession(str(spec), executor, max(1, slots), worker_pids)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)  # the workers' spill space, ours alone


@contextmanager
def _client(spec: ClusterSpec, local_directory: Path | None) -> Iterator[Client]:
    if spec.address is None:
        cluster = LocalCluster(
            n_workers=spec.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # never a fixed port, never beyond loopback
            local_directory=os.fspath(local_directory) if local_directory is not None else None,
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec.address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"--cluster {spec.address}: no Dask scheduler answered ({exc}); start one (dask scheduler) "
            "or use --cluster local:N"
        ) from exc
    with client:
        if not client.nthreads():
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        yield client
