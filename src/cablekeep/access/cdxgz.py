"""A CDXJ index as gzip blocks (``index.cdx.gz``) with its block index (``index.idx``), as a stream.

The form pywb's ZipNum and ReplayWeb.page read for large indexes (py-wacz and cdxj-indexer write the
same): the sorted CDXJ lines are cut into blocks of :data:`BLOCK_LINES` lines, each block is its own
gzip member, and ``index.idx`` holds a header ``!meta 0 {"format": "cdxj-gzip-1.0", "filename":
"index.cdx.gz"}`` then, per block, the key (SURT and timestamp) of its first line and
``{"offset", "length", "digest"}`` of the member, so a reader binary-searches the ``.idx`` and fetches
one block.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from typing import Protocol

from .datapackage import INDEX_GZ_FORMAT, labelled

BLOCK_LINES = 300  # CDXJ lines per gzip member (cdxj-indexer's default)


class BytesSink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class TextSink(Protocol):
    def write(self, text: str, /) -> object: ...


def idx_header(data_name: str) -> str:
    """The ``!meta`` line that opens ``index.idx``, naming the data file beside it."""
    return "!meta 0 " + json.dumps({"format": INDEX_GZ_FORMAT, "filename": data_name}) + "\n"


def _key(line: str) -> str:
    return line.split("{", 1)[0].strip()


def write_blocks(lines: Iterable[str], data_out: BytesSink, idx_out: TextSink, *, data_name: str,
                 block_lines: int = BLOCK_LINES) -> int:
    """Write ``lines`` (CDXJ, sorted, each with its newline) as gzip blocks to ``data_out`` and their
    ``.idx`` to ``idx_out``; returns the number of blocks. Holds one block in memory at a time."""
    if block_lines < 1:
        raise ValueError("block_lines must be at least 1")
    idx_out.write(idx_header(data_name))
    offset = 0
    blocks = 0
    block: list[str] = []

    def flush() -> None:
        nonlocal offset, blocks
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # one gzip member, mtime 0
        member = packer.compress("".join(block).encode("utf-8")) + packer.flush()
        entry = {"offset": offset, "length": len(member), "digest": labelled(hashlib.sha256(member).hexdigest())}
        idx_out.write(f"{_key(block[0])} {json.dumps(entry)}\n")
        data_out.write(member)
        offset += len(member)
        blocks += 1
        block.clear()

    for line in lines:
        if not line.strip():
            continue
        block.append(line if line.endswith("\n") else line + "\n")
        if len(block) == block_lines:
            flush()
    if block:
        flush()
    return blocks
