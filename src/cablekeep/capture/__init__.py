"""Capture: from a manifest's seeds to WARC files, a crawl state and the crawl's tables.

Takes a :class:`~cablekeep.manifest.Manifest`; gives WARC/1.1 files (request, response, metadata and
revisit records), a SQLite crawl state that makes the run resumable after Ctrl-C or ``kill -9``, and
the rows the bag carries (CDXJ index lines, cable records, citations, the crawl log).

- ``crawl``: the coordinator loop: hands out jobs as hosts are ready, takes back outcomes.
- ``resume``: a new crawl seeded, an interrupted one picked up (its open WARC files cut back).
- ``politeness``: robots.txt, Crawl-delay, retries and backoff, per host.
- ``jobs``: what a fetch worker does with a job (fetch, build the records, read the page in a process).
- ``recorder``: a fetch's records written (or a revisit), indexed, logged, marked done and committed.
- ``reading``: which pages are read, their body decoded, parsed with the site profile.
- ``scope``: what is followed and why not (pure decisions over ``follow``).
- ``pageplan``: what a read page leads to (its links planned, its metadata record's payload), pure.
- ``follow``: what a page says written down and what it leads to queued.
- ``progress``: live progress snapshots and the crawl's result.
- ``fetch``: one HTTP exchange with bounds (deadline, size), the address guard and no redirects followed.
- ``exchange``: the recorded exchange, the type the fetcher makes and the WARC writer writes.
- ``workers``: the thread and process pools the fetches and page parsing run on.
- ``frontier``: per-host queues over the crawl state, in bounded memory.
- ``state``: the SQLite crawl state (frontier, logs, WARC offsets committed with each URL).
- ``robots``: robots.txt rules (protego).
- ``warc``: writing WARC records (warcio, ISA-L gzip on the hot path) and cutting back an open file.
- ``cdxj``: reading and writing the CDXJ index, sorted in bounded memory.
- ``canon``: SURT keys and normalised URLs, the one canonical form of a URL.
- ``export``: the crawl's tables as JSON lines (cables joined with their originals, citations resolved).
"""
