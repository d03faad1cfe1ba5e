"""Capture: from a manifest's seeds to WARC files, a crawl state and the crawl's tables.

Takes a :class:`~cablekeep.manifest.Manifest`; gives WARC/1.1 files (request, response, metadata and
revisit records), a SQLite crawl state that makes the run resumable after Ctrl-C or ``kill -9``, and
the rows the bag carries (CDXJ index lines, cable records, citations, the crawl log).

- ``crawl``: the coordinator: seeds, what to follow, politeness, resume; one host's URLs at a time.
- ``fetch``: one HTTP exchange with bounds (deadline, size), the address guard and no redirects followed.
- ``workers``: the thread and process pools the fetches and page parsing run on.
- ``frontier``: per-host queues over the crawl state, in bounded memory.
- ``state``: the SQLite crawl state (frontier, logs, WARC offsets committed with each URL).
- ``robots``: robots.txt rules (protego).
- ``warc``: writing WARC records (warcio, ISA-L gzip on the hot path) and cutting back an open file.
- ``cdxj``: reading and writing the CDXJ index, sorted in bounded memory.
- ``canon``: SURT keys and normalised URLs, the one canonical form of a URL.
- ``export``: the crawl's tables as JSON lines (cables joined with their originals, citations resolved).
"""
