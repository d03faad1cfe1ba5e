"""Access: from a bag to what readers open it with (OAIS's *Access*), starting with WACZ packages.

Takes a bag that ``cablekeep run`` made (``data/warc/*.warc.gz``, the sorted CDXJ index
``data/index.cdxj``, the cable records ``data/cables.jsonl``); gives a WACZ 1.1.1 package that
ReplayWeb.page and pywb open: the bag's WARCs stored as they are, the index (compressed, with its
``.idx``, when large), a page list with one entry per cable page, and a ``datapackage.json`` holding
the hash and size of every resource. The package is written to a temporary name and renamed when
complete; memory stays flat however large the bag is.

- ``datapackage``: the WACZ layout facts (paths, version, hash algorithm) and the ``datapackage.json``
  resource entries, written once for the writer and the checker.
- ``pages``: the ``pages/pages.jsonl`` entries built from the cable records (pure functions).
- ``cdxgz``: the compressed CDXJ index (gzip blocks) and its ``.idx``, written as a stream.
- ``wacz``: :func:`~cablekeep.access.wacz.write_wacz`, a bag to a WACZ file.
- ``waczcheck``: :func:`~cablekeep.access.waczcheck.verify_wacz`, every resource's hash and size
  against ``datapackage.json``, and that file against ``datapackage-digest.json``; collects every problem.
- ``replay``: :func:`~cablekeep.access.replay.serve`, the bags' WARCs served by pywb (run from a virtualenv
  of its own, :func:`~cablekeep.access.replay.ensure_pywb`) on 127.0.0.1, with each cable page's replay URL.
"""
