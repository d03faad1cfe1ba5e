"""The three jobs a schedule runs, over the earlier wings, each for one manifest's collection.

- ``crawl``: ``run`` (crawl, bag, verify; resumes an interrupted crawl; a new bag in the collection's
  Bag-Group-Identifier, with ``warc.dedup`` honoured), its verification recorded in the fixity history;
- ``check``: ``watch`` (link rot) over the collection's bags; sources that turned bad at this check are
  an event;
- ``audit``: ``fixity`` (a full audit) of the collection's bags; a bag found invalid is an event;
- ``deliver``: ``handoff`` (``deliver``) of the collection's newest bag (its archive when ``bag.serialize``
  made one) to the ``delivery:`` destination ``schedule.deliver_to`` names (or the only one): verified in
  full first, checked on arrival, a receipt beside it and a replication event in the fixity history; a bag
  that is not valid, or that does not arrive intact, fails the job.

Each returns a :class:`JobResult`; an expected error (the tree in :mod:`cablekeep.errors`) is the
caller's to record as a failure, except :class:`~cablekeep.errors.RunInterrupted`, which stops the run.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BagUnreadableError
from ..fixity.audit import audit, record_verification
from ..fixity.history import FixityHistory
from ..handoff.deliver import Destination, DirectoryDestination, S3Destination
from ..handoff.record import deliver_and_record
from ..handoff.serialize import FORMATS
from ..manifest import DeliveryTarget, Manifest
from ..run import earlier_bags, run_manifest
from ..watch.check import check_bags
from ..watch.classify import BAD_CLASSES
from ..watch.store import LinkRotHistory, ResultRow

MAX_ITEMS = 100  # items named in one event; the rest are counted


@dataclass(frozen=True)
class Event:
    """Something worth a message: ``kind`` is ``job-failed``, ``bag-invalid`` or ``sources-rotted``."""

    kind: str
    collection: str
    job: str
    summary: str
    items: tuple[str, ...] = ()
    more: int = 0  # items not named


@dataclass(frozen=True)
class JobResult:
    """How a job ended: ``ok``, ``invalid`` (it found a bag invalid) or ``failed``; why; the events."""

    outcome: str
    reason: str
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class JobContext:
    """What every job needs: the fixity history (``db``), the link-rot history, and a stop request."""

    db: Path
    linkrot_db: Path
    stop: threading.Event = field(default_factory=threading.Event)


JobRunner = Callable[[Manifest, JobContext], JobResult]


def _event(kind: str, manifest: Manifest, job: str, summary: str, items: list[str]) -> Event:
    return Event(kind, manifest.collection, job, summary, tuple(items[:MAX_ITEMS]), max(0, len(items) - MAX_ITEMS))


def _collection_bags(manifest: Manifest) -> list[Path]:
    bags = earlier_bags(manifest)
    if not bags:
        raise BagUnreadableError(f"no bag of collection {manifest.collection!r} in {manifest.bag.output} yet; "
                                 "the crawl job makes one")
    return bags


def run_crawl(manifest: Manifest, context: JobContext) -> JobResult:
    summary = run_manifest(manifest, stop=context.stop)
    with FixityHistory(context.db) as history:
        record_verification(history, summary.bag.path, summary.report)
    bag = summary.bag
    if not summary.report.ok:
        word = "failed verification" if summary.report.verdict == "invalid" else "could not be verified in full"
        return JobResult("failed", f"the new bag {bag.path} {word}: "
                         + ", ".join(f"{n} {kind}" for kind, n in summary.report.counts().items()))
    return JobResult("ok", f"bag {bag.name}: {bag.payload_files} files, {bag.payload_bytes} bytes")


def run_check(manifest: Manifest, context: JobContext) -> JobResult:
    bags = _collection_bags(manifest)
    rotted: list[str] = []

    with LinkRotHistory(context.linkrot_db) as history:
        already_bad = {row.surt for row in history.iter_latest(manifest.collection) if row.bad_since is not None}

        def note(row: object) -> None:  # newly rotted: bad now, and not bad at the URL's previous check
            if isinstance(row, ResultRow) and row.link_class in BAD_CLASSES and row.surt not in already_bad:
                rotted.append(f"{row.url}: {row.link_class} ({row.reason})")

        report = check_bags(bags, manifest.fetch, history, on_result=note)
    counts = ", ".join(f"{name} {n}" for name, n in report.counts.most_common()) or "nothing to check"
    reason = f"check {report.check_id}: {report.urls} URLs in {len(bags)} bag(s): {counts}"
    events = (_event("sources-rotted", manifest, "check", f"{len(rotted)} source(s) of {manifest.collection} "
                     f"newly rotted (check {report.check_id})", rotted),) if rotted else ()
    return JobResult("ok", reason, events)


def run_audit(manifest: Manifest, context: JobContext) -> JobResult:
    bags = _collection_bags(manifest)
    with FixityHistory(context.db) as history:
        report = audit(bags, history, older_than=None, sample=None, rng=random.Random())
    bad = [f"{bag.path}: {bag.outcome or bag.status}: {bag.detail}" for bag in report.bags
           if bag.status != "skipped" and bag.outcome != "valid"]
    incomplete = sum(1 for bag in report.bags if bag.outcome == "incomplete")
    reason = (f"{len(report.checked)} bag(s) audited, {len(bad)} not valid"
              + (f" ({incomplete} of them incomplete: not everything could be checked)" if incomplete else ""))
    if not bad:
        return JobResult("ok", reason)
    return JobResult("invalid", reason, (_event("bag-invalid", manifest, "audit", f"{len(bad)} bag(s) of "
                                                f"{manifest.collection} not valid", bad),))


def destination_of(target: DeliveryTarget) -> Destination:
    """The handoff destination a manifest's ``delivery:`` entry describes."""
    if target.kind == "directory":
        assert target.path is not None  # the manifest gives every directory destination a path
        return DirectoryDestination(target.path)
    return S3Destination(target.bucket, prefix=target.prefix, endpoint_url=target.endpoint_url, region=target.region,
                         storage_class=target.storage_class, profile=target.profile)


def newest_deliverable(manifest: Manifest) -> Path:
    """The collection's newest bag, or its archive when ``bag.serialize`` wrote one."""
    newest = _collection_bags(manifest)[-1]
    if manifest.bag.serialize is not None:
        archive = newest.with_name(newest.name + FORMATS[manifest.bag.serialize])
        if archive.is_file():
            return archive
    return newest


def run_deliver(manifest: Manifest, context: JobContext) -> JobResult:
    try:
        target = manifest.destination(manifest.schedule.deliver_to)
    except ValueError as exc:  # the manifest reader checks this; a hand-built Manifest may not
        return JobResult("failed", str(exc))
    bag = newest_deliverable(manifest)
    with FixityHistory(context.db) as history:
        receipt, _ = deliver_and_record(bag, destination_of(target), history)
    sent = sum(1 for obj in receipt.objects if obj.outcome == "sent")
    failed = [obj for obj in receipt.objects if obj.outcome == "failed"]
    if failed:
        return JobResult("failed", f"{bag.name} to {target.name}: {len(failed)} object(s) failed verification on "
                         f"arrival ({', '.join(obj.key for obj in failed[:5])}); receipt {receipt.path}")
    return JobResult("ok", f"{bag.name} to {target.name}: {sent} object(s) sent ({receipt.bytes_sent} bytes), "
                     f"{len(receipt.objects) - sent} already there; receipt {receipt.path}")


RUNNERS: Mapping[str, JobRunner] = {"crawl": run_crawl, "check": run_check, "audit": run_audit, "deliver": run_deliver}
