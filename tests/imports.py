"""What a cablekeep command imports: the command run in a fresh interpreter, then which of some
modules it had loaded (a start-up kept light is kept light by a test, not by a comment)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

_PROBE = r"""
import json, runpy, sys
watched = json.loads(sys.argv[1])
sys.argv = ["cablekeep", *sys.argv[2:]]
code = None
try:
    runpy.run_module("cablekeep", run_name="__main__")
except SystemExit as stop:
    code = stop.code
print("LOADED", json.dumps([code, sorted(m for m in watched if m in sys.modules)]), file=sys.stderr)
"""


def modules_loaded(args: Sequence[str], watched: Sequence[str]) -> tuple[object, list[str], str]:
    """Run ``cablekeep ARGS`` in a fresh interpreter: its exit code, which of ``watched`` it had
    imported by the end, and its standard error."""
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(watched)), *args],
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.startswith("LOADED ")]
    if len(lines) != 1:
        raise AssertionError(f"the command did not report what it loaded:\n{done.stderr}")
    code, loaded = json.loads(lines[0][len("LOADED "):])
    return code, loaded, done.stderr
