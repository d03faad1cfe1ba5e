"""The CDXJ index of a crawl, as pywb reads it: ``<key> <timestamp> <json>``, sorted.

Keys: :func:`index_prefix` keys a capture as pywb does (:func:`~cablekeep.capture.canon.index_key`, the
Internet Archive's SURT of its WARC-Target-URI) with its WARC-Date to the second, so pywb and
ReplayWeb.page find captures through the bag's own index. Bags made before cablekeep keyed its index so
carry cablekeep's own :func:`~cablekeep.capture.canon.surt_key` instead; the reader takes both.

Writing: :func:`write_sorted` sorts lines with a bounded-memory external merge sort (runs of
``run_lines`` lines sorted in memory, spilled to temporary files, merged), so a 250,000-capture
index never sits in memory whole.

Reading: :func:`iter_index` streams an index file one :class:`CdxjLine` at a time (its ``key`` as
written, whichever form; ``surt``, cablekeep's canonical key of its URL, the same in either form; the
timestamp, and the JSON fields ``url``, ``digest``, ``filename``, ``offset``, ``length``,
``status``, ``mime``, ``warc_date``, ``record_id`` as present; every field as written stays in
``fields``). A line it cannot read is a :class:`MalformedLine` (path, line number, why). By default
the first one raises :class:`CdxjError`; a caller that collects every problem (the fixity
verifier) passes ``on_malformed=problems.append`` instead, and the reader reports each malformed
line there, skips it and goes on::

    problems: list[MalformedLine] = []
    record_ids = {line.record_id for line in iter_index(path, on_malformed=problems.append)}
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from ..errors import OutputError

# .canon (surt, tldextract, requests) and .warc (warcio) are imported where a key is made, not here:
# `cablekeep verify` reads indexes through this module and makes no key, and those imports are
# about 0.1 s of its start-up.

RUN_LINES = 10_000  # index lines sorted in memory at a time (a few MB); more are merged from files


def _spill(lines: list[str], directory: Path) -> Path:
    lines.sort()
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False, suffix=".run") as handle:
        for line in lines:
            handle.write(line + "\n")
    return Path(handle.name)


def _read_run(handle: IO[str]) -> Iterator[str]:
    for line in handle:
        yield line.rstrip("\n")


def index_prefix(url: str, date: datetime) -> str:
    """``"<key> <timestamp14>"`` of a capture's index line: pywb's key of ``url`` and ``date`` to the second.
    Raises :class:`~cablekeep.capture.canon.InvalidUrlError`."""
    from .canon import index_key
    from .warc import timestamp14

    return f"{index_key(url)} {timestamp14(date)}"


def format_line(prefix: str, fields: Mapping[str, object]) -> str:
    """One index line: ``prefix`` is :func:`index_prefix`'s ``"<key> <timestamp14>"``, ``fields`` its JSON block."""
    return f"{prefix} {json.dumps(fields)}"


def write_sorted(lines: Iterable[str], out: Path, *, run_lines: int = RUN_LINES) -> int:
    """Write ``lines`` sorted to ``out`` (one per line); returns how many were written.

    When writing fails (a full disk, a folder that cannot be written) the half-written ``out`` and
    the sort's temporary runs are removed and :class:`OutputError` names the file and why.
    """
    try:
        return _write_sorted(lines, out, run_lines)
    except OSError as exc:
        try:
            out.unlink(missing_ok=True)
        except OSError:
            pass  # the message still says the index is not whole
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write the index {out}: {reason}; the partial index was removed") from exc


def _write_sorted(lines: Iterable[str], out: Path, run_lines: int) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cdxj-sort-") as tmp:
        runs: list[Path] = []
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= run_lines:
                runs.append(_spill(batch, Path(tmp)))
                batch = []
        batch.sort()
        count = 0
        with ExitStack() as stack, open(out, "w", encoding="utf-8") as target:
            streams: list[Iterable[str]] = [batch]
            for run in runs:
                streams.append(_read_run(stack.enter_context(open(run, encoding="utf-8"))))
            for line in heapq.merge(*streams):
                target.write(line + "\n")
                count += 1
    return count


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CdxjLine:
    """One capture of a CDXJ index. ``None`` where the line has no such field (or ``"-"``).

    ``key`` is the line's first column as written: pywb's key (:func:`index_prefix`), or, in a bag made
    before cablekeep keyed its index as pywb does, cablekeep's own. ``surt`` is cablekeep's canonical key
    of the capture's URL (:func:`~cablekeep.capture.canon.surt_key`) whichever form was written, so
    captures from old and new bags compare; the written key when the line has no URL it can read."""

    key: str
    timestamp: str
    url: str | None
    digest: str | None
    filename: str | None
    offset: int | None
    length: int | None
    status: int | None
    mime: str | None
    warc_date: str | None
    record_id: str | None
    fields: Mapping[str, object]  # the JSON block as written, all of it
    line_number: int  # 1-based

    @property
    def surt(self) -> str:
        from .canon import InvalidUrlError, surt_key

        if self.url is None:
            return self.key
        try:
            return surt_key(self.url)
        except InvalidUrlError:
            return self.key


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """A line of an index that could not be read, and why."""

    path: Path
    line_number: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}: {self.reason}"


class CdxjError(ValueError):
    """An index line could not be read (raised by :func:`iter_index` without ``on_malformed``)."""

    def __init__(self, problem: MalformedLine) -> None:
        self.problem = problem
        super().__init__(str(problem))


def iter_index(path: Path, *, on_malformed: Callable[[MalformedLine], None] | None = None) -> Iterator[CdxjLine]:
    """The captures of the index file at ``path``, in file order, read one line at a time.

    A malformed line raises :class:`CdxjError`, or, with ``on_malformed``, is reported to it and
    skipped. An unreadable file raises ``OSError`` as ``open`` does."""
    with open(path, encoding="utf-8", newline="\n") as handle:
        for number, text in enumerate(handle, 1):
            parsed = parse_line(text.rstrip("\n"), number)
            if isinstance(parsed, CdxjLine):
                yield parsed
                continue
            problem = MalformedLine(path, number, parsed)
            if on_malformed is None:
                raise CdxjError(problem)
            on_malformed(problem)


def parse_line(text: str, line_number: int = 1) -> CdxjLine | str:
    """One index line read, or the reason it cannot be."""
    parts = text.split(" ", 2)
    if len(parts) != 3:
        return "not '<key> <timestamp> <json>'"
    key, timestamp, block = parts
    if not key or not timestamp.isdigit() or len(timestamp) > 14:
        return f"timestamp {timestamp!r} is not 1 to 14 digits" if key else "empty key"
    try:
        fields = json.loads(block)
    except ValueError as exc:
        return f"the JSON block does not parse: {exc}"
    if not isinstance(fields, dict):
        return "the JSON block is not an object"
    try:
        return CdxjLine(
            key=key, timestamp=timestamp, url=_text(fields, "url"), digest=_text(fields, "digest"),
            filename=_text(fields, "filename"), offset=_number(fields, "offset"), length=_number(fields, "length"),
            status=_number(fields, "status"), mime=_text(fields, "mime"), warc_date=_text(fields, "warc_date"),
            record_id=_text(fields, "record_id"), fields=fields, line_number=line_number,
        )
    except ValueError as exc:
        return str(exc)


def _text(fields: Mapping[str, object], key: str) -> str | None:
    value = fields.get(key)
    if value is None or value == "-":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: {value!r} is not a string")
    return value


def _number(fields: Mapping[str, object], key: str) -> int | None:
    value = fields.get(key)
    if value is None or value == "-":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():  # pywb writes numbers as strings
        return int(value)
    raise ValueError(f"{key}: {value!r} is not a whole number")
