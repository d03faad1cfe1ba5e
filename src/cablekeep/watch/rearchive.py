"""``--rearchive``: what a check found changed or moved, captured again into a new bag of the same collection.

The capture is an ordinary run of the collection (:func:`~cablekeep.run.run_manifest`), so everything a run
does holds: the bag is named and grouped as the collection's (``Bag-Group-Identifier``), ``warc.dedup:
collection`` turns payloads the earlier bags already hold into revisits (and names those bags), the bag is
built in a staging folder, renamed, then verified. The new version sits beside the old; nothing of the
earlier bags is touched.

The run's manifest is the collection's own with two keys replaced: ``seeds`` (the URLs found changed or
moved, each archived URL as it was: a moved one is fetched again and its redirect chain followed to where it
went) and ``follow`` (nothing else followed: the bag holds only what changed). The text is rewritten, not
re-serialised, so every other key, comment and setting is kept as written, and it is this text that the bag
stores as its ``manifest.yaml``, headed by a comment naming the check.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from ..manifest import MANIFEST_VERSION, Manifest, load_manifest_text
from ..manifest.reader import compose
from ..run import RunSummary, run_manifest
from .store import LinkRotHistory

REARCHIVED_CLASSES = frozenset({"changed", "moved"})
NOTHING_FOLLOWED = {"depth": 0, "references": False, "sources": False, "requisites": False}


def iter_rearchive_urls(history: LinkRotHistory, check_id: int, collection: str) -> Iterator[str]:
    """The archived URLs of ``collection`` that check ``check_id`` found changed or moved, by host."""
    for row in history.iter_check(check_id):
        if row.collection == collection and row.link_class in REARCHIVED_CLASSES:
            yield row.url


def _replace_keys(text: str, path: Path, replacements: dict[str, str]) -> str:
    """``text`` with the top-level keys named replaced by ``key: <flow YAML>`` (added at the end when absent)."""
    root = compose(text, path, f"cablekeep: {MANIFEST_VERSION}")
    spans: list[tuple[int, int, str]] = []
    for key_node, value_node in root.value:
        name = key_node.value
        if name in replacements:
            start, end = key_node.start_mark.index, value_node.end_mark.index
            # a block value ends where the next key starts: keep that line break
            tail = "\n" if text[start:end].endswith("\n") else ""
            spans.append((start, end, f"{name}: {replacements[name]}{tail}"))
    out = text
    for start, end, new in sorted(spans, reverse=True):
        out = out[:start] + new + out[end:]
    present = {new.split(":", 1)[0] for _, _, new in spans}
    missing = [f"{name}: {value}\n" for name, value in replacements.items() if name not in present]
    if missing:
        out = (out if out.endswith("\n") else out + "\n") + "".join(missing)
    return out


def rearchive_manifest(manifest: Manifest, urls: Iterable[str], *, note: str, output: Path | None = None) -> Manifest:
    """The collection's manifest for a run that captures ``urls`` and nothing else; ``output`` overrides
    ``bag.output`` (a manifest read from a bag names its output relative to the bag, not where its bags are)."""
    seeds = json.dumps([{"url": url} for url in urls], ensure_ascii=False)
    text = _replace_keys(manifest.source_text, manifest.path,
                         {"seeds": seeds, "follow": json.dumps(NOTHING_FOLLOWED)})
    header = "".join(f"# {line}\n" for line in note.splitlines())
    loaded = load_manifest_text(header + text, manifest.path)
    if output is not None:
        loaded = dataclasses.replace(loaded, bag=dataclasses.replace(loaded.bag, output=output))
    return loaded


def rearchive(
    manifest: Manifest,
    history: LinkRotHistory,
    check_id: int,
    *,
    output: Path | None = None,
    clock: Callable[[], datetime] | None = None,
    make_id: Callable[[], str] = lambda: f"urn:uuid:{uuid.uuid4()}",
    stop: threading.Event | None = None,
) -> tuple[int, RunSummary | None]:
    """Capture what check ``check_id`` found changed or moved in ``manifest``'s collection into a new bag of
    it; (URLs rearchived, the run's summary), or (0, None) when nothing changed or moved."""
    urls = list(iter_rearchive_urls(history, check_id, manifest.collection))
    if not urls:
        return 0, None
    note = (f"cablekeep check --rearchive: the {len(urls)} URL(s) of collection {manifest.collection} that link-rot "
            f"check {check_id} found changed or moved,\ncaptured again with the settings of {manifest.path.name}; "
            "its seeds and follow keys are replaced (nothing else followed).")
    derived = rearchive_manifest(manifest, urls, note=note, output=output)
    return len(urls), run_manifest(derived, clock=clock, make_id=make_id, stop=stop)
