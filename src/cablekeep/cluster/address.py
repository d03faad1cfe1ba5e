"""What ``--cluster`` names: a running Dask scheduler, or a cluster of worker processes on this machine."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

_LOCAL_RE = re.compile(r"^local(?::(\d+))?$")
_ADDRESS_RE = re.compile(r"^(tcp|tls|inproc|ws|wss)://\S+$")
MAX_LOCAL_WORKERS = 256


@dataclass(frozen=True)
class ClusterSpec:
    """A scheduler ``address`` to connect to, or (``address`` None) ``workers`` local worker processes."""

    address: str | None = None
    workers: int = 0

    @property
    def local(self) -> bool:
        return self.address is None

    def __str__(self) -> str:
        return self.address if self.address is not None else f"local:{self.workers}"


def parse_cluster(text: str, *, default_workers: int) -> ClusterSpec:
    """``local`` (``default_workers`` processes), ``local:N`` or ``tcp://host:port``; :class:`UsageError` otherwise."""
    text = text.strip()
    if match := _LOCAL_RE.match(text):
        workers = int(match.group(1)) if match.group(1) is not None else max(1, default_workers)
        if not 1 <= workers <= MAX_LOCAL_WORKERS:
            raise UsageError(f"--cluster {text}: a local cluster has 1 to {MAX_LOCAL_WORKERS} workers")
        return ClusterSpec(workers=workers)
    if _ADDRESS_RE.match(text):
        return ClusterSpec(address=text)
    if re.match(r"^[A-Za-z0-9.\-\[\]:]+:\d+$", text):  # host:port, as dask prints it without the scheme
        return ClusterSpec(address=f"tcp://{text}")
    raise UsageError(
        f"--cluster {text!r} is neither a scheduler address (tcp://host:8786) nor local[:N] (N worker processes here)"
    )
