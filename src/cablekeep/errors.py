"""The one exception tree of cablekeep, and the exit code each error maps to.

::

    CablekeepError                  exit 1   anything expected that went wrong
    ├── UsageError                  exit 2   a command was called the wrong way
    │   └── ProfileError            exit 2   a BagIt profile is malformed or unknown (every fault listed)
    ├── ManifestError               exit 3   a manifest is malformed (every problem: file, line, key)
    ├── BagUnreadableError          exit 4   a bag or WARC could not be read at all
    ├── FetchError                  exit 5   a URL got no HTTP response (refused, DNS, timeout)
    │   └── CrawlFailedError        exit 5   a run captured none of its seeds (each one's reason named)
    ├── OutputError                 exit 6   an output could not be written (disk full, permissions)
    ├── LockedError                 exit 7   another process is writing the same collection or bag
    ├── ReplayError                 exit 1   pywb could not be installed, started or reached (replay)
    ├── BagInvalidError             exit 1   a bag to hand on failed verification (deliver): nothing was sent
    └── RunInterrupted              exit 130 a run was stopped by a signal; it can be resumed

A verification that finds problems is not an error: it returns a report and the CLI exits 1
(:data:`EXIT_INVALID`); one that found nothing wrong but could not check everything exits 8
(:data:`EXIT_INCOMPLETE`: "not checked" is never "passed") unless ``--allow-unchecked`` is given. When stdout is closed early (``cablekeep ... | head``) the CLI stops
quietly with :data:`EXIT_PIPE_CLOSED`, 128 + SIGPIPE, as a command killed by SIGPIPE would.
The CLI turns each of these errors into one line that says what to do next; anything else is a
crash (a bug in cablekeep, never a verdict): it keeps its traceback, says so in a last line and
exits :data:`EXIT_INTERNAL` (70, BSD's EX_SOFTWARE), so that no script reads a crash as "invalid".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_INVALID = 1  # a bag or WARC was read and found invalid
EXIT_INCOMPLETE = 8  # nothing failed, but something could not be checked (unless --allow-unchecked)
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: whoever read stdout stopped reading
EXIT_INTERNAL = 70  # a crash: a bug in cablekeep, not a verdict on anything (EX_SOFTWARE of sysexits.h)


class CablekeepError(Exception):
    """Base of every expected cablekeep error."""

    exit_code = 1


class UsageError(CablekeepError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


@dataclass(frozen=True)
class ManifestProblem:
    """One thing wrong in a manifest: the file, the line (1-based) and the key path."""

    path: Path
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else f"{self.path}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ManifestError(CablekeepError):
    """A manifest is malformed. ``path``, ``line``, ``key`` and ``message`` name the first problem;
    ``problems`` holds every problem found, and str() lists each on its own line."""

    exit_code = 3

    def __init__(self, path: Path | str, line: int | None, key: str, message: str,
                 *, more: Sequence[ManifestProblem] = ()) -> None:
        self.path = Path(path)
        self.line = line
        self.key = key
        self.message = message
        self.problems = (ManifestProblem(self.path, line, key, message), *more)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def from_problems(cls, problems: Sequence[ManifestProblem]) -> ManifestError:
        """One error for every problem found (at least one), the first named first."""
        first, *more = problems
        return cls(first.path, first.line, first.key, first.message, more=more)


class BagUnreadableError(CablekeepError):
    """A bag, a serialized bag or a WARC could not be read at all (not found, not a bag)."""

    exit_code = 4


class FetchError(CablekeepError):
    """A request got no HTTP response. ``reason`` is one of the crawl-log outcomes."""

    exit_code = 5

    def __init__(self, url: str, reason: str, detail: str) -> None:
        self.url = url
        self.reason = reason
        self.detail = detail
        super().__init__(f"{url}: {reason}: {detail}")


class CrawlFailedError(FetchError):
    """A run captured none of the seeds it was asked for. ``failures``: (seed URL, outcome, reason) each."""

    def __init__(self, failures: list[tuple[str, str, str]]) -> None:
        self.failures = failures
        lines = [f"  {url}: {outcome}" + (f" ({reason})" if reason else "") for url, outcome, reason in failures]
        CablekeepError.__init__(
            self, "no seed was captured, so no bag was made:\n" + "\n".join(lines or ["  (the manifest has no seeds)"])
        )
        self.url = failures[0][0] if failures else ""
        self.reason = failures[0][1] if failures else "no-seed"
        self.detail = str(self)


class OutputError(CablekeepError):
    """An output could not be written; what was finished before stays valid."""

    exit_code = 6


class LockedError(CablekeepError):
    """Another process holds the lock of a collection or a bag; the message names it."""

    exit_code = 7


class ReplayError(CablekeepError):
    """pywb, which replay runs in a virtualenv of its own, could not be installed, started or reached;
    the message says which step failed and pywb's last words."""

    exit_code = 1


class BagInvalidError(CablekeepError):
    """A bag about to be handed on (delivered) failed its full verification; nothing was sent. The
    message names every problem found."""

    exit_code = 1


class RunInterrupted(CablekeepError):
    """A run was stopped by a signal after closing its outputs; running it again resumes it."""

    exit_code = 130


class ProfileError(UsageError):
    """A BagIt profile (JSON) is malformed or unknown. ``faults`` lists every thing wrong with it."""

    def __init__(self, source: str, faults: list[str]) -> None:
        self.source = source
        self.faults = list(faults)
        lines = "\n".join(f"  {fault}" for fault in self.faults)
        super().__init__(f"{source} is not a usable BagIt profile:\n{lines}")


def documented_exit_codes() -> set[int]:
    """Every exit code cablekeep can end with: the tree's, plus done, invalid, incomplete, a crash and a closed pipe."""
    codes = {EXIT_OK, EXIT_INVALID, EXIT_INCOMPLETE, EXIT_PIPE_CLOSED, EXIT_INTERNAL}
    pending: list[type[CablekeepError]] = [CablekeepError]
    while pending:
        cls = pending.pop()
        codes.add(cls.exit_code)
        pending.extend(cls.__subclasses__())
    return codes
