"""A payload opener for the kill test, run on the cluster's workers: it leaves a marker naming the
worker's process beside the bag (so the test knows which worker is hashing) and takes its time."""

from __future__ import annotations

import os
import time

from cablekeep.bagging.layout import open_nofollow

MARKERS = "markers"  # a folder beside the bag
DELAY = 0.01  # seconds a file


def slow_open(path: str) -> int:
    bag = os.path.dirname(os.path.dirname(path))
    while os.path.basename(bag) != "bag":
        bag = os.path.dirname(bag)
    marker = os.path.join(os.path.dirname(bag), MARKERS, str(os.getpid()))
    if not os.path.exists(marker):
        open(marker, "w").close()
    time.sleep(DELAY)
    return open_nofollow(path)


def meet(folder: str, name: str, everyone: int, timeout: float) -> bool:
    """Leave a marker in ``folder`` and wait until ``everyone`` markers are there: True when all were
    there together before ``timeout`` seconds (the tasks ran at the same time)."""
    open(os.path.join(folder, name), "w").close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(os.listdir(folder)) >= everyone:
            return True
        time.sleep(0.02)
    return False
