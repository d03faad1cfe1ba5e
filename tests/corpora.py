"""Where the shared external test suites are: ``shared/corpora`` beside this checkout (or beside one
of its parent folders, for a worktree kept below the project's folder)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _find_corpora() -> Path:
    for folder in REPO.parents:
        candidate = folder / "shared" / "corpora"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "corpora"  # absent: the tests that need it say so when they fail


CORPORA = _find_corpora()
