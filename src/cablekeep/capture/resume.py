"""Starting a crawl or picking up an interrupted one: the state opened, seeded, its WARCs recovered.

A new crawl records the manifest's digest, its seeds and (``warc.dedup: collection``) the payload
digests of the collection's earlier bags. A crawl started before goes on where its last commit
left it, but only with the manifest it started with. What a crashed run left open is closed:
each ``.open`` WARC file cut back to its committed offset and renamed, or set aside as
``.aborted`` when nothing in it was committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from .. import __version__
from ..errors import BagUnreadableError, UsageError
from ..manifest import Manifest
from .canon import InvalidUrlError, host_of, normalise_url, surt_key
from .cdxj import CdxjError, iter_index
from .recorder import INVALID_KEY_PREFIX
from .state import CrawlState
from .warc import OPEN_SUFFIX, trim_open_file

ABORTED_SUFFIX = ".aborted"
SEED_CAPTURE_PREFIX = "capture:"  # state key of a seed's own capture mode (the seed's SURT key follows)


def open_state(
    manifest: Manifest, workdir: Path, *, clock: Callable[[], datetime], earlier_bags: Sequence[Path] = (),
    make_state: Callable[[Path], CrawlState] = CrawlState,
) -> tuple[CrawlState, bool]:
    """The crawl state in ``workdir`` (``make_state`` opens it: a shard's restricted to its hosts),
    seeded when new; and whether it is resumed."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = make_state(workdir / "state.sqlite")
    started = state.get("started")
    digest = hashlib.sha256(manifest.source_text.encode("utf-8")).hexdigest()
    if started is not None and state.get("manifest_sha256") not in (None, digest):
        state.abandon()
        raise UsageError(
            f"{manifest.path} changed since the interrupted crawl in {workdir}; run it as it was "
            f"to finish that crawl (its copy is in the state), or remove {workdir} to start over"
        )
    if started is not None:
        return state, True
    state.set("manifest_sha256", digest)
    state.set("started", clock().isoformat())
    state.set("collection", manifest.collection)
    state.set("software", f"cablekeep/{__version__}")
    for seed in manifest.seeds:
        try:
            url = normalise_url(seed.url)
            key = surt_key(url)
            state.add_url(key, url, host_of(url), 0, "seed", None)
            if seed.capture is not None:
                state.set(SEED_CAPTURE_PREFIX + key, seed.capture)
        except InvalidUrlError as exc:  # logged as a link would be; the manifest check should have said
            if state.add_done(INVALID_KEY_PREFIX + seed.url, seed.url, "", 0, "seed", None, "invalid-url"):
                state.add_log({"url": seed.url, "outcome": "invalid-url", "status": None, "reason": exc.reason,
                               "bytes": 0, "time": clock().isoformat(), "depth": 0, "hop": "seed", "via": None})
    load_earlier_bags(state, earlier_bags)
    state.commit()
    return state, False


def load_earlier_bags(state: CrawlState, bags: Sequence[Path]) -> None:
    """Payload digests of the collection's earlier bags, so unchanged payloads become revisits.

    Only 200 responses (not revisits) that carry their WARC-Date are taken. An index that cannot be
    read (a malformed line, bad bytes) raises :class:`~cablekeep.errors.BagUnreadableError` naming
    the bag and the line, before anything of the new crawl is written: deduplicating against a
    damaged bag would point revisits at records nobody can check."""
    for bag in bags:
        index = bag / "data" / "index.cdxj"
        if not index.is_file():
            continue
        try:
            for line in iter_index(index):
                if line.mime == "warc/revisit" or line.status != 200 or line.warc_date is None:
                    continue
                if line.digest is None or line.url is None:
                    continue
                state.add_digest(line.digest, line.url, line.warc_date, line.record_id, bag.name)
        except (CdxjError, OSError, UnicodeDecodeError) as exc:
            raise BagUnreadableError(
                f"the earlier bag {bag} that warc.dedup: collection deduplicates against has an index that "
                f"cannot be read ({exc}); verify and repair it (cablekeep verify, cablekeep repair), or move it "
                "out of the output folder"
            ) from exc


def recover_warcs(state: CrawlState, warc_dir: Path) -> int:
    """Close what a crashed run left open: trim each ``.open`` file to its committed offset.
    Returns the highest WARC serial used so far (the next file takes the one after)."""
    serial = 0
    for name, file_serial, file_state, committed in state.warc_files():
        serial = max(serial, file_serial)
        if file_state != "open":
            continue
        open_path = warc_dir / (name + OPEN_SUFFIX)
        final = warc_dir / name
        if open_path.exists():
            if committed > 0:
                trim_open_file(open_path, committed)
                open_path.replace(final)
            else:
                open_path.replace(open_path.with_name(open_path.name + ABORTED_SUFFIX))
        if final.exists():
            state.warc_closed(name)
        else:
            state.warc_forget(name)
    for stray in warc_dir.glob("*" + OPEN_SUFFIX) if warc_dir.exists() else []:
        stray.replace(stray.with_name(stray.name + ABORTED_SUFFIX))
    state.commit()
    return serial
