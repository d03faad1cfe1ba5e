"""The link-rot history as a report people open: one self-contained HTML file, CSV, JSON, Robust Links.

The HTML needs no network: an inline SVG chart of the sources alive (unchanged), changed, moved, gone
(gone and soft-404) and failing (server-error, unreachable, blocked) at each check; the latest state per
host and per cable (which of a cable's sources rotted); and a table of every source not found as
archived, with its live URL, the archived capture (time, WARC file and offset, replay URL when a replay
base is given: ``--replay-base``, or the manifest's ``access.replay_base``), its class, why, and since
when. CSV and JSON hold the same rows. Rows are streamed from the history; only per-host, per-cable and
per-check counts are held.

Every output is written under a temporary name beside the target and renamed into place, so an
interrupted report never leaves something that looks finished.
"""

from __future__ import annotations

import csv
import html
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import OutputError, UsageError
from .archive import ArchiveIndex
from .store import LinkRotHistory, ResultRow

SERIES = (("alive", ("unchanged",), "#2e7d32"), ("changed", ("changed",), "#f9a825"),
          ("moved", ("moved",), "#1565c0"), ("gone", ("gone", "soft-404"), "#c62828"),
          ("failing", ("server-error", "unreachable", "blocked"), "#757575"))
CSV_COLUMNS = ("url", "class", "reason", "since", "bad_since", "final_url", "status", "similarity", "cable_id",
               "host", "archived_time", "bag", "warc_file", "warc_offset", "replay_url", "checked")


def replay_url(base: str | None, row: ResultRow) -> str | None:
    """The archived capture in a wayback-style replay (``<base>/<14-digit time>/<url>``), when a base is given."""
    return f"{base.rstrip('/')}/{row.archived_time}/{row.url}" if base else None


def row_fields(row: ResultRow, base: str | None) -> dict[str, object]:
    return {
        "url": row.url, "class": row.link_class, "reason": row.reason, "since": row.class_since,
        "bad_since": row.bad_since, "final_url": row.final_url, "status": row.status,
        "similarity": None if row.similarity is None else round(row.similarity, 4), "cable_id": row.cable_id,
        "host": row.host, "archived_time": row.archived_time, "bag": row.bag, "warc_file": row.warc_file,
        "warc_offset": row.warc_offset, "replay_url": replay_url(base, row), "checked": row.time,
        "field_changes": list(row.field_changes),
    }


def _rotted(history: LinkRotHistory, collection: str | None) -> Iterator[ResultRow]:
    return (row for row in history.iter_latest(collection) if row.link_class != "unchanged")


@contextmanager
def _atomic(out: Path, newline: str | None = None) -> Iterator[IO[str]]:
    temporary = out.with_name(f".{out.name}.open")
    try:
        with open(temporary, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"{out}: cannot write the report: {exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_csv(history: LinkRotHistory, out: Path, *, collection: str | None = None,
              replay_base: str | None = None) -> int:
    count = 0
    with _atomic(out, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in _rotted(history, collection):
            fields = row_fields(row, replay_base)
            writer.writerow(["" if fields[c] is None else fields[c] for c in CSV_COLUMNS])
            count += 1
    return count


def latest_counts(history: LinkRotHistory, collection: str | None) -> tuple[dict[str, Counter[str]],
                                                                             dict[str, Counter[str]]]:
    """URLs per class at their latest check, per host and per cable (a cable's page and the sources it led to)."""
    per_host: dict[str, Counter[str]] = {}
    per_cable: dict[str, Counter[str]] = {}
    for row in history.iter_latest(collection):
        per_host.setdefault(row.host, Counter())[row.link_class] += 1
        if row.cable_id:
            per_cable.setdefault(row.cable_id, Counter())[row.link_class] += 1
    return per_host, per_cable


def write_json(history: LinkRotHistory, out: Path, *, collection: str | None = None,
               replay_base: str | None = None) -> int:
    """The rows of the HTML table as JSON, with the counts of its chart (per check) and of its per-host and
    per-cable tables (latest check)."""
    count = 0
    per_host, per_cable = latest_counts(history, collection)
    with _atomic(out) as handle:
        checks = [{"check": check_id, "started": started, "classes": counts}
                  for check_id, started, counts in history.class_counts(collection)]
        handle.write('{"schema": "cablekeep.linkrot-report/1", "collection": ' + json.dumps(collection)
                     + ', "checks": ' + json.dumps(checks)
                     + ', "hosts": ' + json.dumps({host: dict(c) for host, c in sorted(per_host.items())})
                     + ', "cables": ' + json.dumps({cable: dict(c) for cable, c in sorted(per_cable.items())})
                     + ', "rows": [')
        for row in _rotted(history, collection):
            handle.write(("," if count else "") + "\n  " + json.dumps(row_fields(row, replay_base), ensure_ascii=False))
            count += 1
        handle.write("\n]}\n")
    return count


def _chart(points: list[tuple[int, str, dict[str, int]]]) -> str:
    """Stacked bars, one per check, as inline SVG."""
    if not points:
        return "<p>No check recorded yet.</p>"
    width, height, bar, gap, top = 640, 240, 36, 18, 10
    most = max(sum(counts.values()) for _, _, counts in points) or 1
    width = max(width, 60 + len(points) * (bar + gap))
    parts = [f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 60}" '
             f'role="img" aria-label="sources per class at each check">']
    for index, (check_id, started, counts) in enumerate(points):
        x, y = 50 + index * (bar + gap), float(top + height)
        for name, classes, colour in SERIES:
            n = sum(counts.get(c, 0) for c in classes)
            if not n:
                continue
            h = height * n / most
            y -= h
            parts.append(f'<rect class="bar {name}" x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{colour}">'
                         f'<title>check {check_id} ({html.escape(started)}): {n} {name}</title></rect>')
        parts.append(f'<text x="{x + bar / 2}" y="{top + height + 16}" font-size="10" text-anchor="middle">'
                     f'{html.escape(started[:10])}</text>')
    parts.append(f'<text x="4" y="{top + 10}" font-size="10">{most}</text>')
    for index, (name, _, colour) in enumerate(SERIES):
        parts.append(f'<rect x="{50 + index * 100}" y="{top + height + 30}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{64 + index * 100}" y="{top + height + 39}" font-size="11">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _counts_table(title: str, key: str, counts: dict[str, Counter[str]]) -> str:
    names = [name for name, _, _ in SERIES]
    rows = [f"<h2>{title}</h2><table class=\"counts\"><tr><th>{key}</th>"
            + "".join(f"<th>{n}</th>" for n in names) + "</tr>"]
    for name in sorted(counts):
        counter = counts[name]
        cells = "".join(f"<td>{sum(counter.get(c, 0) for c in classes)}</td>" for _, classes, _ in SERIES)
        rows.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    rows.append("</table>")
    return "".join(rows)


_STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}"
          "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left;vertical-align:top}"
          "th{background:#eee}.gone,.soft-404{color:#c62828}.moved{color:#1565c0}.changed{color:#a17500}")


def write_html(history: LinkRotHistory, out: Path, *, collection: str | None = None,
               replay_base: str | None = None) -> int:
    """The report as one self-contained HTML file; returns the number of rows in its table."""
    per_host, per_cable = latest_counts(history, collection)
    title = f"Link rot: {collection}" if collection else "Link rot"
    count = 0
    with _atomic(out) as handle:
        handle.write(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
                     f"</title><style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
                     "<h2>Sources at each check</h2>\n" + _chart(list(history.class_counts(collection))) + "\n")
        handle.write(_counts_table("Per host (latest check)", "host", per_host) + "\n")
        handle.write(_counts_table("Per cable (its page and the sources it led to)", "cable", per_cable) + "\n")
        handle.write('<h2>Sources not found as archived</h2>\n<table id="rotted"><tr><th>live URL</th><th>class</th>'
                     "<th>why</th><th>since</th><th>bad since</th><th>cable</th><th>archived capture</th></tr>\n")
        for row in _rotted(history, collection):
            replay = replay_url(replay_base, row)
            capture = f"{html.escape(row.archived_time)} {html.escape(row.warc_file)} @{row.warc_offset}"
            if replay:
                capture += f' <a href="{html.escape(replay)}">replay</a>'
            changes = "".join(f"<br>{html.escape(str(c.get('field')))}: {html.escape(str(c.get('old')))} &rarr; "
                              f"{html.escape(str(c.get('new')))}" for c in row.field_changes)
            now_at = ""
            if row.link_class == "moved" and row.final_url:  # where it answers now
                now_at = f'<br>now at <a class="final" href="{html.escape(row.final_url)}">{html.escape(row.final_url)}</a>'
            handle.write(
                f'<tr class="{row.link_class}"><td><a href="{html.escape(row.url)}">{html.escape(row.url)}</a>{now_at}</td>'
                f"<td>{row.link_class}</td><td>{html.escape(row.reason)}{changes}</td>"
                f"<td>{html.escape(row.class_since)}</td><td>{html.escape(row.bad_since or '')}</td>"
                f"<td>{html.escape(row.cable_id or '')}</td><td>{capture}</td></tr>\n")
            count += 1
        handle.write("</table>\n</body></html>\n")
    return count


def version_date(row: ResultRow) -> str:
    return _date(row.archived_time)


def _date(timestamp: str) -> str:
    return f"{timestamp[0:4]}-{timestamp[4:6]}-{timestamp[6:8]}"


def _need_replay_base(replay_base: str | None) -> str:
    if not replay_base:
        raise UsageError("Robust Links need the archived version's URL: give --replay-base (a wayback, or the "
                         "address cablekeep replay prints), or set access.replay_base in the collection's manifest")
    return replay_base


def _write_links(sources: Iterator[tuple[str, str]], out: Path, replay_base: str) -> tuple[Path, Path, int]:
    """(original URL, 14-digit capture time) pairs as Robust Links: an HTML snippet and JSON beside it."""
    json_out = out.with_suffix(".json")
    count = 0
    with _atomic(out) as snippet, _atomic(json_out) as data:
        data.write("[")
        for url, timestamp in sources:
            version = f"{replay_base.rstrip('/')}/{timestamp}/{url}"
            date = _date(timestamp)
            snippet.write(f'<a href="{html.escape(url)}" data-originalurl="{html.escape(url)}" '
                          f'data-versionurl="{html.escape(version)}" data-versiondate="{date}">'
                          f"{html.escape(url)}</a>\n")
            data.write(("," if count else "") + "\n  " + json.dumps(
                {"data-originalurl": url, "data-versionurl": version, "data-versiondate": date}))
            count += 1
        data.write("\n]\n")
    return out, json_out, count


def write_robust_links(history: LinkRotHistory, out: Path, *, replay_base: str | None,
                       collection: str | None = None) -> tuple[Path, Path, int]:
    """Robust Links for every source the history has checked: an HTML snippet at ``out`` and JSON beside it."""
    base = _need_replay_base(replay_base)
    return _write_links(((row.url, row.archived_time) for row in history.iter_latest(collection)), out, base)


def write_robust_links_of_bags(bags: Sequence[Path], out: Path, *, replay_base: str | None) -> tuple[Path, Path, int]:
    """Robust Links for every source the bags archived, checked or not, each at its latest capture; the bags
    are read into a scratch index as a check reads them (nothing held in memory)."""
    base = _need_replay_base(replay_base)
    with tempfile.TemporaryDirectory(prefix="cablekeep-links-") as scratch:
        index = ArchiveIndex(Path(scratch) / "archive.sqlite")
        try:
            for bag in bags:
                index.add_bag(bag)

            def sources() -> Iterator[tuple[str, str]]:
                for surt, _, _ in index.iter_urls():
                    capture = index.latest(surt)
                    if capture is not None:
                        yield capture.url, capture.timestamp

            return _write_links(sources(), out, base)
        finally:
            index.close()
