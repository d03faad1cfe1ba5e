"""Handoff: from a finished bag to a library that receives it under a contract, checked on arrival.

Takes bags (directories, or tar/zip files) and a BagIt profile or a destination; gives a profile
report listing every violation, a serialized bag with its checksum beside it, and a delivery
receipt naming each object sent, its checksum and how it was verified where it arrived.

- ``contents``: what a bag holds (names, sizes, small tag files) read alike from a directory, a tar
  or a zip, member names vetted, nothing unpacked.
- ``profiles``: BagIt Profiles (JSON, specification 1.1.0 to 1.4.0): loading and checking a profile
  file, the built-in ``aptrust`` and ``btr`` profiles (package data in ``profiles/``), checking a bag
  against a profile, and checking a bag that bagging is about to make, before anything is written.
- ``serialize``: a bag as one tar, tar.gz or zip, streamed, written under a temporary name and
  renamed when complete, with ``NAME.EXT.sha256`` beside it.
- ``deliver``: sending a bag to a destination (a directory, or S3-compatible storage through
  ``s3``), verifying each object where it arrived, resuming what an interrupted delivery left,
  refusing to overwrite a different bag, and writing the receipt.
- ``s3``: the one module that speaks to boto3.
"""
