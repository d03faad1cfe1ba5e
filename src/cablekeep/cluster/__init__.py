"""The cluster wing: crawl, verify and audit on a Dask cluster (issue 17, "Outgrow one machine").

Takes a ``--cluster`` value (:func:`~cablekeep.cluster.address.parse_cluster`: ``tcp://host:8786``, a
running scheduler, or ``local[:N]``, N worker processes on this machine) and gives a
:class:`~cablekeep.cluster.session.ClusterSession`: a ``concurrent.futures.Executor`` over the cluster
and how many tasks it runs at once. :func:`cablekeep.fixity.verify.verify_bag` and
:func:`cablekeep.fixity.audit.audit` take that executor: the payload is hashed in shards (sets of
files, balanced by bytes: at most 4,096 files or 256 MiB a shard, a WARC file its own), each a function
of its inputs (bag path, files, expected digests) whose result (problems, counts, WARC scans) merges
on the coordinator; the bag-level checks (structure, completeness, Payload-Oxum, tag files, WARC
references across files) and the fixity history run once, on the coordinator.

Failure: a worker killed mid-verify loses only the shards it held; the scheduler runs them again
on another worker (the restarted one included), so the verdict is the one a single machine gives.
Workers read the bag on storage they all see (a shared folder).

Only :mod:`cablekeep.cluster.dask` imports Dask, and nothing imports it unless a cluster is asked
for: without ``--cluster`` nothing changes and Dask is not loaded.

The crawl (``cablekeep run --cluster``) is sharded by host (:mod:`~cablekeep.cluster.crawl`): each
shard runs the one-machine crawl on its hosts in its own folder, URLs found on other shards' hosts go
back through the coordinator to their owner, and the shards merge (:mod:`~cablekeep.cluster.merge`)
into one state from which the bag is made and verified once; see docs/scaling.md.
"""
