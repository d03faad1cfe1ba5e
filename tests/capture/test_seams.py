"""The capture wing's seams: which of its modules may load which, checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out))


def test_the_warc_writer_does_not_load_the_fetcher() -> None:
    loaded = _loaded_after_import("cablekeep.capture.warc")
    assert "cablekeep.capture.exchange" in loaded
    assert "cablekeep.capture.fetch" not in loaded
    assert "requests" not in loaded
