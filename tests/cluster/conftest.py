"""One LocalCluster of 2 worker processes on loopback for the cluster tests, its scratch space under a temp path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cablekeep.cluster.address import ClusterSpec
from cablekeep.cluster.dask import open_cluster
from cablekeep.cluster.session import ClusterSession


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSession]:
    with open_cluster(ClusterSpec(workers=2), local_directory=tmp_path_factory.mktemp("dask")) as session:
        yield session
