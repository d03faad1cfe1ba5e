"""A delivery as the command runs it: one delivery of a bag at a time, and its event in the fixity history.

:func:`deliver_and_record` takes the bag's lock (the one repair takes, :func:`~cablekeep.fixity.repair.bag_lock_path`:
a bag being repaired is not delivered half-repaired, and two deliveries of one bag never race), verifies the bag
in full (a folder with :func:`~cablekeep.fixity.verify.verify_bag`, an archive without unpacking it): a bag that fails
BagIt fixity (a changed, missing or unexpected file, a wrong Payload-Oxum, a broken structure, or a file that could
not be checked) is never sent; its verification is recorded in the history and :class:`~cablekeep.errors.BagInvalidError`
names every problem. Findings inside WARC records (kind ``warc``) are about the payload's content, not the bag's
fixity: the bag the library receives is the one its manifests describe, so they do not stop a delivery. Then it delivers
(:func:`~cablekeep.handoff.deliver.deliver`), and records what happened as a PREMIS ``replication`` event:
outcome ``valid`` when every object was verified where it arrived, ``invalid`` otherwise, each failed object
named as a problem. A delivery stopped by an error records nothing: it resumes when run again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..errors import BagInvalidError, BagUnreadableError
from ..fixity.audit import record_verification
from ..fixity.events import FixityEvent, new_event_id, utc_now
from ..fixity.history import FixityHistory
from ..fixity.identity import BagIdentity, bag_identity
from ..fixity.repair import bag_lock_path
from ..fixity.report import Problem, Report
from ..fixity.serialized import verify_serialized
from ..fixity.verify import verify_bag
from ..locks import exclusive
from .deliver import DEFAULT_PART_SIZE, Destination, Receipt, check_deliverable, deliver

EVENT_TYPE = "replication"
NOT_BLOCKING = frozenset({"warc", "warning"})  # problem kinds that do not stop a delivery (module docstring)


def delivery_event(receipt: Receipt, identity: BagIdentity, *, event_id: str) -> FixityEvent:
    """The ``replication`` event of a finished delivery (its time is when the delivery finished)."""
    where = receipt.destination.get("path") or "s3://{}/{}".format(
        receipt.destination.get("bucket", ""), receipt.destination.get("prefix", "").strip("/")
    ).rstrip("/")
    sent = sum(1 for obj in receipt.objects if obj.outcome == "sent")
    there = sum(1 for obj in receipt.objects if obj.outcome == "already-there")
    failed = [obj for obj in receipt.objects if obj.outcome == "failed"]
    return FixityEvent(
        event_id=event_id,
        time=receipt.finished,
        event_type=EVENT_TYPE,
        bag=identity,
        outcome="invalid" if failed else "valid",
        mode="full",
        algorithms=("sha256",),
        files_checked=len(receipt.objects),
        bytes_checked=sum(obj.size for obj in receipt.objects),
        problems=tuple(
            Problem("changed", obj.path, obj.detail or f"not verified on arrival at {obj.key}", algorithm="sha256",
                    expected=obj.sha256)
            for obj in failed
        ),
        paths=tuple(obj.path for obj in failed),
        detail=(
            f"delivered to {where}: {sent} object(s) sent, {there} already there and intact, {len(failed)} failed "
            f"verification on arrival; receipt {receipt.path}"
        ),
    )


def verify_before_delivery(bag: Path) -> Report:
    """The full verification of ``bag`` (a folder, or a serialized bag read without unpacking it); a path that
    is neither is a :class:`~cablekeep.errors.UsageError`."""
    check_deliverable(bag)
    return verify_serialized(bag) if bag.is_file() else verify_bag(bag)


def _refusal(bag: Path, report: Report, blocking: list[Problem]) -> str:
    shown = [f"  {problem.kind}: {problem.path}: {problem.detail}" for problem in blocking[:20]]
    more = len(blocking) - len(shown)
    counts = Counter(problem.kind for problem in blocking)
    return (
        f"{bag} is {report.verdict.upper()} ({', '.join(f'{n} {kind}' for kind, n in sorted(counts.items()))}); "
        "nothing was sent. Repair it (cablekeep repair BAG --from COPY) or deliver a valid copy:\n"
        + "\n".join(shown) + (f"\n  and {more} more" if more > 0 else "")
    )


def deliver_and_record(
    bag: Path,
    destination: Destination,
    history: FixityHistory,
    *,
    part_size: int = DEFAULT_PART_SIZE,
    concurrency: int = 4,
    clock: Callable[[], datetime] = utc_now,
    make_id: Callable[[], str] = new_event_id,
    on_part: Callable[[str, int], None] | None = None,
) -> tuple[Receipt, FixityEvent]:
    """Deliver ``bag`` (a bag folder or a serialized bag) to ``destination`` under the bag's lock, and
    record the delivery in ``history``. Raises :class:`BagUnreadableError` when the bag is not there or
    cannot be read, :class:`~cablekeep.errors.LockedError` while another delivery or repair holds it,
    and what :func:`deliver` raises."""
    bag = Path(os.path.abspath(bag))
    if not os.path.lexists(bag):
        raise BagUnreadableError(f"{bag} not found; give a bag folder or a .tar, .tar.gz, .tgz or .zip bag")
    with exclusive(bag_lock_path(bag), f"bag {bag}", remove=True):  # nothing left beside the bag
        report = verify_before_delivery(bag)
        blocking = [problem for problem in report.problems if problem.kind not in NOT_BLOCKING]
        identity = bag_identity(bag) if bag.is_dir() else BagIdentity(str(bag), None, None)
        if blocking:
            record_verification(history, bag, report, clock=clock, make_id=make_id, identity=identity)
            raise BagInvalidError(_refusal(bag, report, blocking))
        try:
            receipt = deliver(bag, destination, part_size=part_size, concurrency=concurrency, clock=clock,
                              on_part=on_part)
        except OSError as exc:  # a file of the bag unreadable, swapped for a link (ELOOP), or a read error (EIO)
            raise BagUnreadableError(f"{exc.filename or bag}: {exc.strerror or exc}; nothing more was sent, deliver "
                                     "again once it can be read") from exc
        event = delivery_event(receipt, identity, event_id=make_id())
        history.record(event)
    return receipt, event
