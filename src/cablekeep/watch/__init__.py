"""Watch: link rot. What a collection archived, checked against the live web, kept as a history, reported.

Takes finished bags (their ``data/index.cdxj``, ``data/cables.jsonl``, ``data/crawl-log.jsonl`` and WARC
records) and the manifest's fetch settings; gives, per archived URL and per check, a class (unchanged,
changed, moved, gone, soft-404, server-error, unreachable, blocked) stored in a SQLite history, and
reports of it (HTML with an inline chart, CSV, JSON, Robust Links).

- ``text``: the visible text of a page and how alike two texts are (pure).
- ``classify``: an archived capture and a live probe -> a class and its reasons (pure).
- ``archive``: what the bags archived, streamed into a scratch SQLite table, one row per URL.
- ``probe``: one URL probed as a chain of hops through the capture wing's fetcher (no second fetcher).
- ``check``: every archived URL probed politely (the crawler's frontier, politeness and robots).
- ``store``: the link-rot history (``linkrot.sqlite``): one row per URL per check, "bad since" kept.
- ``report``: the history as one self-contained HTML file, CSV, JSON, and Robust Links.
"""
