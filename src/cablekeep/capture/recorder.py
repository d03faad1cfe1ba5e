"""Writing what a fetch gave and marking it done: WARC records, revisits, index lines, the crawl log.

The coordinator's one writer of the crawl state and the open WARC file. A URL's ``done`` mark and
its crawl-log entry are written with its records; :meth:`Recorder.commit` commits the WARC
offset that holds them in the same transaction, so after a crash every URL is either done with
its records in a WARC, or queued and fetched again (see :mod:`cablekeep.capture.state`).

An entry may carry a ``warning``: something a person should look at although the fetch went well
(:data:`~cablekeep.capture.progress.CABLE_WITHOUT_TEXT`: a cable page from which no rule read any text).

Crawl-log outcomes: ok, redirect, not-found, gone, soft-404, client-error, server-error, robots,
blocked-address, timeout, refused, dns, bad-response, invalid-url, error, out-of-scope,
redirect-limit, truncated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime

from .browser import RenderedPage
from .canon import InvalidUrlError, host_of, normalise_url, surt_key
from .cdxj import format_line, index_prefix
from .exchange import Exchange
from .progress import CABLE_WITHOUT_TEXT, Tally
from .state import CrawlState, QueuedUrl
from .warc import OPEN_SUFFIX, Capture, PreparedExchange, WarcWriter, WrittenRecord, sha1_label, warc_date

Entry = dict[str, object]  # one crawl-log line
INVALID_KEY_PREFIX = "invalid-url "  # the state key of a URL that has no SURT key (never one's prefix: SURTs hold no blank)


class Recorder:
    """Appends a fetch's records, indexes and logs it, and commits; the state and WARC's one writer."""

    def __init__(
        self,
        state: CrawlState,
        writer: WarcWriter,
        *,
        clock: Callable[[], datetime],
        on_entry: Callable[[Entry], None],
        tally: Tally,
    ) -> None:
        self.state = state
        self.writer = writer
        self.clock = clock
        self.on_entry = on_entry
        self.tally = tally

    # -- records -------------------------------------------------------------------------------

    def write(self, exchange: Exchange, prepared: PreparedExchange | None, index_prefix: str | None) -> WrittenRecord:
        """A fetch's request and response records (a revisit when its payload was captured
        before, in this crawl or an earlier bag), indexed; returns the response record."""
        revisit = self.earlier_capture(exchange, prepared)
        if revisit is None and prepared is not None:
            _, response = self.writer.write_prepared(exchange, prepared)
        else:
            _, response = self.writer.write_exchange(exchange, revisit_of=revisit)
        date_text = prepared.warc_date if prepared is not None else warc_date(response.date)
        if revisit is None and dedupable(exchange):
            digest = prepared.payload_digest if prepared is not None else sha1_label(exchange.body_sha1)
            self.state.add_digest(digest, exchange.url, date_text, response.record_id)
        self.index(response, date_text, index_prefix)
        return response

    def write_whole(self, exchange: Exchange, prepared: PreparedExchange | None, index_prefix: str | None) -> WrittenRecord:
        """A fetch's records as they are, never a revisit (robots.txt), indexed; returns the response."""
        if prepared is not None:
            _, response = self.writer.write_prepared(exchange, prepared)
        else:
            _, response = self.writer.write_exchange(exchange)
        self.index(response, None, index_prefix)
        return response

    def earlier_capture(self, exchange: Exchange, prepared: PreparedExchange | None = None) -> Capture | None:
        """The first capture of the same payload, in this crawl or (dedup: collection) an earlier bag."""
        if not dedupable(exchange):
            return None
        digest = prepared.payload_digest if prepared is not None else sha1_label(exchange.body_sha1)
        found = self.state.first_capture(digest)
        if found is None:
            return None
        url, date, record_id, bag = found
        if bag is not None:
            self.state.set(f"depends:{bag}", bag)
        return Capture(url, date, record_id)

    def index(self, record: WrittenRecord, date_text: str | None = None, prefix: str | None = None) -> None:
        """The record's CDXJ line (keyed as pywb keys it), kept in the state until the bag is made."""
        if prefix is None:
            prefix = index_prefix(record.target_uri, record.date)
        self.state.add_capture(format_line(prefix, index_fields(record, date_text)))

    def write_rendered(self, queued: QueuedUrl, page: RenderedPage, response: WrittenRecord) -> Entry:
        """What the browser needed and made for the page ``response`` holds: each fetch's records
        (logged as the page's requisites, marked done so they are not fetched again), each refused
        request logged, and the screenshot and rendered DOM as ``resource`` records linked to the
        response. Returns the fields the page's crawl-log entry gets."""
        for exchange in page.resources:
            record = self.write(exchange, None, None)
            verdict = "truncated" if exchange.truncated else classify(exchange.status)
            self._requisite_done(queued, exchange.url, verdict, status=exchange.status, reason=exchange.reason,
                                 size=exchange.body_length, record=record, location=exchange.location)
        for error in page.failures:
            self._requisite_done(queued, error.url, error.reason, reason=error.detail)
        moment = self.clock()
        fields: Entry = {"capture": "browser", "settled": page.settled, "render": page.note,
                         "resources": len(page.resources), "refused": len(page.failures)}
        if page.screenshot is not None:
            shot = self.writer.write_resource(f"urn:screenshot:{queued.url}", page.screenshot, "image/png",
                                              response.record_id, moment)
            self.index(shot)
            fields["screenshot_record_id"] = shot.record_id
        dom = self.writer.write_resource(f"urn:rendered-dom:{queued.url}", page.dom, "text/html; charset=utf-8",
                                         response.record_id, moment)
        self.index(dom)
        fields["rendered_dom_record_id"] = dom.record_id
        return fields

    def _requisite_done(self, page: QueuedUrl, url: str, outcome: str, **entry: object) -> None:
        try:
            url = normalise_url(url)
            key, host = surt_key(url), host_of(url)
        except InvalidUrlError:
            key, host = INVALID_KEY_PREFIX + url, ""
        self.state.add_done(key, url, host, page.depth, "requisite", page.url, outcome)
        fetched = QueuedUrl(0, key, url, host, page.depth, "requisite", page.url, 0)
        self.log(fetched, outcome, **entry)  # type: ignore[arg-type]  # the keyword arguments of log

    # -- the crawl log -------------------------------------------------------------------------

    def done(
        self, queued: QueuedUrl, outcome: str, *, status: int | None = None, reason: str = "", size: int = 0,
        record: WrittenRecord | None = None, attempts: int = 1, location: str | None = None,
        warning: str | None = None, extra: Mapping[str, object] | None = None,
    ) -> None:
        """Log ``queued``'s outcome and mark it done (committed with the next :meth:`commit`)."""
        self.log(queued, outcome, status=status, reason=reason, size=size, record=record, attempts=attempts,
                 location=location, warning=warning, extra=extra)
        self.state.mark_done(queued.id, outcome)

    def log(
        self, queued: QueuedUrl, outcome: str, *, status: int | None = None, reason: str = "", size: int = 0,
        record: WrittenRecord | None = None, attempts: int = 1, location: str | None = None,
        warning: str | None = None, extra: Mapping[str, object] | None = None,
    ) -> None:
        entry: Entry = {
            "url": queued.url, "outcome": outcome, "status": status, "reason": reason, "bytes": size,
            "time": self.now_text(), "depth": queued.depth, "hop": queued.hop, "via": queued.via,
            "attempts": attempts,
        }
        if location is not None:
            entry["location"] = location
        if warning is not None:
            entry["warning"] = warning
        if record is not None:
            entry["warc_filename"] = record.filename
            entry["warc_record_id"] = record.record_id
        if extra:
            entry.update(extra)
        self.state.add_log(entry)
        self.on_entry(entry)
        self.tally.count(queued.host, outcome, size)

    def out_of_scope(self, key: str, url: str, host: str, depth: int, hop: str, via: str, reason: str) -> None:
        """A URL left out by a follow rule: judged once, logged once (not counted as fetched)."""
        self.state.add_done(key, url, host, depth, hop, via, "out-of-scope")
        entry: Entry = {
            "url": url, "outcome": "out-of-scope", "status": None, "reason": reason, "bytes": 0,
            "time": self.now_text(), "depth": depth, "hop": hop, "via": via,
        }
        self.state.add_log(entry)
        self.on_entry(entry)

    def invalid_url(self, url: str, depth: int, hop: str, via: str, reason: str) -> None:
        """A link or redirect target that cannot be fetched as written: logged once, never fetched
        (the crawl goes on; a resume meets it as done)."""
        if not self.state.add_done(INVALID_KEY_PREFIX + url, url, "", depth, hop, via, "invalid-url"):
            return
        entry: Entry = {
            "url": url, "outcome": "invalid-url", "status": None, "reason": reason, "bytes": 0,
            "time": self.now_text(), "depth": depth, "hop": hop, "via": via,
        }
        self.state.add_log(entry)
        self.on_entry(entry)

    def now_text(self) -> str:
        return self.clock().isoformat().replace("+00:00", "Z")

    # -- commits and WARC files ----------------------------------------------------------------

    def commit(self) -> None:
        """Commit the state with the offset of the open WARC file that holds every record so far."""
        point = self.writer.commit_point()
        if point is not None:
            name, offset = point
            final_name = name[: -len(OPEN_SUFFIX)]
            if final_name not in {row[0] for row in self.state.warc_files("open")}:
                self.state.warc_opened(final_name, self.writer.serial)
            self.state.warc_committed(final_name, offset)
        self.state.commit()

    def roll(self) -> None:
        """Close the open WARC file when it is full (the next record starts a new one)."""
        if self.writer.full():
            self.commit()
            self.close_warc()

    def close_warc(self) -> None:
        if self.writer.commit_point() is None:
            return
        self.commit()
        final = self.writer.close_file()
        if final is not None:
            self.state.warc_closed(final.name)
            self.state.commit()


def index_fields(record: WrittenRecord, date_text: str | None = None) -> dict[str, str]:
    """The JSON fields of a record's CDXJ line (pywb's, plus ``warc_date`` and ``record_id``)."""
    return {
        "url": record.target_uri,
        "mime": "warc/revisit" if record.record_type == "revisit" else record.mime or "unk",
        "status": str(record.status) if record.status is not None else "-",
        "digest": record.payload_digest or "-",
        "length": str(record.length),
        "offset": str(record.offset),
        "filename": record.filename,
        "warc_date": date_text or warc_date(record.date),
        "record_id": record.record_id,
    }


def dedupable(exchange: Exchange) -> bool:
    """Only whole 200 responses with a body are compared by payload digest."""
    return exchange.status == 200 and exchange.body_length > 0 and exchange.truncated is None


def classify(status: int) -> str:
    """The crawl-log outcome of an HTTP status."""
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        return "redirect"
    if status == 404:
        return "not-found"
    if status == 410:
        return "gone"
    if 400 <= status < 500:
        return "client-error"
    return "server-error"
