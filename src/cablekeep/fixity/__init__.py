"""Fixity: is a bag (or a WARC) still what it was, and what happened to it over time.

Takes bags (directories, tar or zip read without unpacking) and WARC files; gives reports that collect
every problem (never stopping at the first, and keeping "not checked" apart from "passed"), and a
history of fixity events in SQLite, exportable as PREMIS.

- ``verify``: the full and fast checks of a bag directory (every manifest, Payload-Oxum, completeness).
- ``serialized``: the same for a bag inside a tar or zip, read as a stream.
  Both are entry points to one check, ``bagcheck`` (the steps, once), applying the rules of
  ``checker`` to a bag read through a ``sources`` bag source: ``dirsource`` (a directory, hashed
  on a process pool) or ``archivesource`` (a tar or zip, read once); ``packed`` holds the
  manifest entries and the one checksum comparison.
- ``tagfiles``: reading BagIt tag files (bagit.txt, bag-info.txt, manifests, fetch.txt) per RFC 8493.
- ``warccheck``: every WARC record complete, its digests right, its references resolved.
  Its steps: ``warcgzip`` (the file read once, its gzip members), ``warcheaders`` (a record's header
  block), ``warcdigests`` (block and payload digests), ``warcids`` (record ids and references),
  ``warcfindings`` (what a step reports).
- ``waczcheck``: a WACZ's resources against its ``datapackage.json``, alone or as a ``*.wacz`` in a bag's payload.
- ``witness``: a cablekeep bag's own index, cable list and crawl log as a second witness of its
  WARCs; ``witnessprint`` folds the three files into the fingerprint compared first.
- ``recordids``: WARC-Record-IDs checked for uniqueness and references in bounded memory, and the
  fingerprint of a WARC's captures.
- ``report``: the result types: problems and reports.
- ``identity``: how a bag is known (path, External-Identifier, tag-manifest digest).
- ``names``: file names of any bytes as one printable line of text, reversibly.
- ``events``: fixity events (a check, an audit, a repair of one bag) and their JSON form.
- ``history``: the fixity history (SQLite): events, inventories, sample cycles.
- ``exports``: the history as JSON lines and as PREMIS 3 XML.
- ``audit``: verifying the bags that are due, or a sample of each, and recording each check.
- ``repair``: replacing a file that fails fixity from a good copy, and comparing two copies.
"""
