"""What --cluster accepts, and what it refuses with a usage error before anything starts."""

from __future__ import annotations

import pytest

from cablekeep.cluster.address import ClusterSpec, parse_cluster
from cablekeep.errors import UsageError


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("local", ClusterSpec(workers=3)),
        ("local:2", ClusterSpec(workers=2)),
        ("tcp://10.0.0.5:8786", ClusterSpec(address="tcp://10.0.0.5:8786")),
        ("scheduler.lan:8786", ClusterSpec(address="tcp://scheduler.lan:8786")),
    ],
)
def test_accepted(text: str, spec: ClusterSpec) -> None:
    assert parse_cluster(text, default_workers=3) == spec


@pytest.mark.parametrize("text", ["local:0", "local:x", "cluster", "http://host:8786", "local:1000", ""])
def test_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--cluster"):
        parse_cluster(text, default_workers=3)


def test_named_as_given() -> None:
    assert str(parse_cluster("local:2", default_workers=1)) == "local:2"
    assert str(parse_cluster("tcp://h:1", default_workers=1)) == "tcp://h:1"


def test_no_scheduler_at_the_address_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from cablekeep.cluster import dask as cluster_dask

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(cluster_dask, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(UsageError, match=f"tcp://127.0.0.1:{port}: no Dask scheduler answered"):
        with cluster_dask.open_cluster(ClusterSpec(address=f"tcp://127.0.0.1:{port}")):
            pass
