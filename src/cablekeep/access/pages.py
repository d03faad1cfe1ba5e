"""The page list of a WACZ (``pages/pages.jsonl``), one entry per cable page of a bag.

A header line (``{"format": "json-pages-1.0", "id": "pages", "title": ...}``), then for each line of
the bag's ``data/cables.jsonl``: the page's ``url``, its capture time as ``ts`` (RFC 3339), a ``title``
built from the cable's ID and subject ("05ALMATY2503: DETAINED UZBEK REFUGEE FACING DEPORTATION"),
an ``id`` (the WARC-Record-ID of the capture, without its ``urn:uuid:`` wrapping) and the ``cable_id``.
Pure functions over lines: the caller reads and writes the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import BagUnreadableError
from .datapackage import PAGES_FORMAT

PAGES_ID = "pages"


def header_line(title: str) -> str:
    """The first line of ``pages.jsonl``, with its newline."""
    return json.dumps({"format": PAGES_FORMAT, "id": PAGES_ID, "title": title}, ensure_ascii=False) + "\n"


def page_title(cable_id: str | None, subject: str | None, url: str) -> str:
    """"<ID>: <subject>", or whichever of the two is known, or the URL when neither is."""
    parts = [part.strip() for part in (cable_id, subject) if part and part.strip()]
    return ": ".join(parts) if parts else url


def page_entry(record: dict[str, Any]) -> dict[str, Any]:
    """The ``pages.jsonl`` entry for one cable record; ``ValueError`` when it has no URL or capture time."""
    url, captured = record.get("url"), record.get("captured")
    if not isinstance(url, str) or not url:
        raise ValueError("the record has no url")
    if not isinstance(captured, str) or not captured:
        raise ValueError("the record has no capture time (captured)")
    fields = record.get("fields")
    if not isinstance(fields, dict):
        fields = {}
    cable_id = record.get("cable_id") if isinstance(record.get("cable_id"), str) else None
    subject = fields.get("subject") if isinstance(fields.get("subject"), str) else None
    entry: dict[str, Any] = {"url": url, "ts": captured, "title": page_title(cable_id, subject, url)}
    record_id = record.get("warc_record_id")
    if isinstance(record_id, str) and record_id:
        entry["id"] = record_id.strip("<>").removeprefix("urn:uuid:")
    if cable_id:
        entry["cable_id"] = cable_id
    return entry


def iter_page_lines(cable_lines: Iterable[str], *, where: str = "data/cables.jsonl") -> Iterator[str]:
    """One ``pages.jsonl`` line (with its newline) per non-blank line of ``cables.jsonl``.

    A line that is not a JSON object with a URL and a capture time raises :class:`BagUnreadableError`
    naming ``where`` and the line number: a page list that silently lost a cable would look complete.
    """
    for number, line in enumerate(cable_lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            entry = page_entry(record)
        except ValueError as exc:
            raise BagUnreadableError(f"{where}:{number}: not a cable record ({exc}); verify the bag") from exc
        yield json.dumps(entry, ensure_ascii=False) + "\n"
