"""``cablekeep run``: a manifest, crawled into WARCs, packaged as a bag, verified.

The stages, each resumable:

1. crawl into ``<bags>/.work/<collection>/`` (state.sqlite, warc/); a stopped or killed crawl
   resumes from its state when the same manifest is run again;
2. export the index, the cable records and the crawl log from the state, and package them with
   the WARCs and the manifest as a bag, built in a staging directory and renamed into place;
3. verify the finished bag in full; only then remove the work directory.
"""

from __future__ import annotations

import json
import itertools
import os
import re
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .bagging.build import BagRef, make_bag, read_bag_info
from .bagging.staging import STAGING_PREFIX, describe, make_output_dir, remove_staging
from .capture.cdxj import write_sorted
from .capture.crawl import Crawl, CrawlProgress, CrawlResult
from .capture.export import counted, iter_cable_records, iter_citation_records, write_jsonl
from .bagging.layout import DEPENDS_FILE
from .errors import CrawlFailedError, OutputError
from .handoff.profiles import (
    BagitProfile,
    ProfileReport,
    ProfileTags,
    check_before_bagging,
    load_profile,
    profile_tags,
    refuse_violations,
    validate_bag_against_profile,
)
from .handoff.serialize import FORMATS, serialize
from .fixity.verify import verify_bag
from .manifest import Manifest
from .fixity.report import Report
from .capture.state import CrawlState
from .capture.warc import make_record_id
from .locks import LOCK_SUFFIX, exclusive

if TYPE_CHECKING:
    from .cluster.session import ClusterSession

WORK_DIR = ".work"
# A seed counts as captured when its chain ended in a response holding what was asked for.
CAPTURED_OUTCOMES = frozenset({"ok", "truncated"})
DEPENDS_LABEL = "Cablekeep-Depends-On"  # bag-info.txt: "<bag name> <External-Identifier>", repeated
# the same lines, as a tag file: DEPENDS_FILE, which verify reads to check revisits against those bags


def _external_identifier(bag: Path) -> str:
    return read_bag_info(bag).get("External-Identifier", "unknown")


def earlier_bags(manifest: Manifest) -> list[Path]:
    """Finished bags of the same collection in the output directory, oldest first."""
    output = manifest.bag.output.resolve()
    if not output.is_dir():
        return []
    prefix = manifest.collection + "-"
    return sorted(
        p for p in output.iterdir()
        if p.is_dir() and p.name.startswith(prefix) and p.name[len(prefix):][:1].isdigit() and (p / "bagit.txt").is_file()
    )


@dataclass(frozen=True)
class RunSummary:
    """What ``cablekeep run`` did."""

    bag: BagRef
    crawl: CrawlResult
    report: Report
    index_lines: int
    cleaned: tuple[Path, ...] = ()  # staging folders that interrupted runs of the collection had left, removed
    archive: Path | None = None  # bag.serialize: the verified bag as one archive
    profile_report: ProfileReport | None = None  # bag.profile: the archive (else the bag) judged by the profile


def work_dir(manifest: Manifest) -> Path:
    return manifest.bag.output.resolve() / WORK_DIR / manifest.collection


def bag_name(manifest: Manifest, started: datetime) -> str:
    return f"{manifest.collection}-{started.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"


def bag_profile(manifest: Manifest) -> BagitProfile | None:
    """The BagIt profile the manifest's bag is made for (bag.profile), or None."""
    if manifest.bag.profile is None:
        return None
    return load_profile(manifest.bag.profile, base_dir=manifest.path.parent)


def check_bag_profile(manifest: Manifest, profile: BagitProfile) -> None:
    """Refuse, before anything is crawled or written, a manifest whose bag would violate its profile."""
    tags = bag_tags(manifest, profile)
    violations = check_before_bagging(tags.info, manifest.bag.algorithms, tags.tag_files, profile,
                                      serialization=manifest.bag.serialize)
    refuse_violations(violations, profile, f"the bag of collection {manifest.collection!r}")


def bag_info(manifest: Manifest, profile: BagitProfile | None = None) -> dict[str, str | Sequence[str]]:
    """bag-info.txt as the manifest gives it, over the profile's defaults when there is a profile."""
    return bag_tags(manifest, profile).info


def bag_tags(manifest: Manifest, profile: BagitProfile | None = None) -> ProfileTags:
    """bag-info.txt as the manifest gives it and, with a profile, over its defaults, the labels of the
    profile's other tag files (aptrust-info.txt) moved into them (:func:`~cablekeep.handoff.profiles.profile_tags`)."""
    org = manifest.organization
    info: dict[str, str | Sequence[str]] = {}
    for label, value in (
        ("Source-Organization", org.name),
        ("Organization-Address", org.address),
        ("Contact-Name", org.contact.name),
        ("Contact-Email", org.contact.email),
        ("External-Description", manifest.description or manifest.title),
        ("Bag-Group-Identifier", manifest.collection),
    ):
        if value:
            info[label] = value
    for label, values in manifest.bag.info.items():
        info[label] = list(values)
    return profile_tags(profile, info) if profile is not None else ProfileTags(info, {})


def _export(state: CrawlState, table: str, out: Path) -> int:
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for line in state.iter_lines(table):
            handle.write(line + "\n")
            count += 1
    return count


def package(
    manifest: Manifest, crawl: CrawlResult, *, make_id: Callable[[], str], profile: BagitProfile | None = None
) -> tuple[BagRef, int]:
    """Export the crawl's tables and build its bag."""
    workdir = crawl.workdir
    export = workdir / "export"
    try:
        remove_staging(export)
        export.mkdir()
        started, index_lines, depends, bagged, bag_id = _export_tables(manifest, crawl, export, make_id)
    except (OSError, OutputError) as exc:
        try:
            remove_staging(export)
            removed = f"the partial export {export} was removed"
        except OSError:
            removed = f"the partial export {export} is removed by the next run"
        if isinstance(exc, OutputError):  # it says what could not be written, and why
            raise OutputError(f"{exc}; {removed}") from exc
        raise OutputError(
            f"cannot export the crawl's index and tables into {export}: {describe(exc)}; {removed}; the crawl is "
            "kept: run the same command again when there is room"
        ) from exc

    def payload() -> Iterator[tuple[Path, str]]:
        for warc in crawl.warc_files:
            yield warc, f"warc/{warc.name}"
        for name in ("index.cdxj", "cables.jsonl", "citations.jsonl", "crawl-log.jsonl", "manifest.yaml"):
            yield export / name, name

    output = manifest.bag.output.resolve()
    make_output_dir(output, f"cannot write the bag of collection {manifest.collection!r} into {output}")
    name, finished = _own_bag_name(output, bag_name(manifest, started), bagged, bag_id)
    if finished:
        # an earlier run finished this bag and stopped before it cleaned up (or before it could record it)
        return _existing_bag(output / name, manifest.bag.algorithms), index_lines
    tags = bag_tags(manifest, profile)
    info, tag_files = tags.info, dict(tags.tag_files)
    if depends:
        # Revisit records point into these bags: a replay or a verification needs them too.
        lines = [f"{name} {_external_identifier(output / name)}" for name in depends]
        info[DEPENDS_LABEL] = lines
        tag_files[DEPENDS_FILE] = "".join(line + "\n" for line in lines).encode("utf-8")
    ref = make_bag(
        output,
        name,
        payload(),
        info=info,
        tag_files=tag_files,
        algorithms=manifest.bag.algorithms,
        external_identifier=bag_id,
        bagging_date=datetime.now(timezone.utc),
    )
    state = CrawlState(workdir / "state.sqlite")
    try:
        state.set("bagged", str(ref.path))
        state.commit()
    finally:
        state.close()
    return ref, index_lines


def _own_bag_name(output: Path, base: str, bagged: str | None, bag_id: str) -> tuple[str, bool]:
    """The name of this run's bag, and whether it is already finished there.

    Bags are named by the second their run started; a finished bag of another run of the same second
    keeps its name and this one becomes ``<name>-2`` (``-3``, ...). The same folder gives the same answer
    on a resumed run, which then finds its own bag by the path it recorded or its External-Identifier."""
    for n in itertools.count(1):
        name = base if n == 1 else f"{base}-{n}"
        if not (output / name / "bagit.txt").is_file():
            return name, False
        if bagged == str(output / name) or _external_identifier(output / name) == bag_id:
            return name, True
    raise AssertionError("unreachable")


def _export_tables(
    manifest: Manifest, crawl: CrawlResult, export: Path, make_id: Callable[[], str]
) -> tuple[datetime, int, list[str], str | None, str]:
    """Write the index, the cable and citation tables, the crawl log and the manifest into ``export``."""
    state = CrawlState(crawl.workdir / "state.sqlite")
    try:
        started = datetime.fromisoformat(state.get("started") or datetime.now(timezone.utc).isoformat())
        index_lines = write_sorted(state.iter_lines("captures"), export / "index.cdxj")
        write_jsonl(iter_cable_records(state), export / "cables.jsonl")
        counts: Counter[str] = Counter()
        write_jsonl(counted(iter_citation_records(state), counts), export / "citations.jsonl")
        crawl.citations, crawl.citations_archived = counts["cited"], counts["archived"]
        crawl.citations_missing = counts["not-on-site"]
        _export(state, "log", export / "crawl-log.jsonl")
        depends = state.depended_bags()
        bagged = state.get("bagged")
        bag_id = state.get("bag_id")
        if bag_id is None:
            bag_id = make_id()
            state.set("bag_id", bag_id)
            state.commit()
    finally:
        state.close()
    (export / "manifest.yaml").write_text(manifest.source_text, encoding="utf-8")
    return started, index_lines, depends, bagged, bag_id


def _existing_bag(path: Path, algorithms: Sequence[str]) -> BagRef:
    info = read_bag_info(path)
    size, _, files = info.get("Payload-Oxum", "0.0").partition(".")
    return BagRef(path, path.name, info.get("External-Identifier", ""), int(files or 0), int(size or 0), tuple(algorithms))


def run_manifest(
    manifest: Manifest,
    *,
    clock: Callable[[], datetime] | None = None,
    make_id: Callable[[], str] = lambda: f"urn:uuid:{uuid.uuid4()}",
    make_record: Callable[[], str] = make_record_id,
    on_entry: Callable[[dict[str, object]], None] | None = None,
    stop: threading.Event | None = None,
    on_progress: Callable[[CrawlProgress], None] | None = None,
    cluster: ClusterSession | None = None,
) -> RunSummary:
    """Crawl, bag and verify one manifest; resumes an interrupted crawl of the same collection.

    With ``cluster``, the crawl is sharded by host over its workers (:mod:`cablekeep.cluster.crawl`)
    and merged here; the bag is made and verified here, once, as for a one-machine crawl. Live
    progress is not reported from the shards; ``on_entry`` sees the merged crawl log at the end."""
    profile = bag_profile(manifest)
    if profile is not None:
        check_bag_profile(manifest, profile)  # before anything is crawled or written
    workdir = work_dir(manifest)
    make_output_dir(
        workdir.parent, f"cannot write the work files of collection {manifest.collection!r} into {workdir.parent}"
    )
    with exclusive(workdir.with_name(workdir.name + LOCK_SUFFIX), f"collection {manifest.collection!r}"):
        cleaned = remove_stale_stagings(manifest)
        earlier = earlier_bags(manifest) if manifest.warc.dedup == "collection" else []
        if cluster is None:
            crawl = Crawl(
                manifest, workdir, clock=clock, make_id=make_record, on_entry=on_entry, stop=stop,
                earlier_bags=earlier, on_progress=on_progress,
            ).run()
        else:
            from .cluster.crawl import crawl_on_cluster

            crawl = crawl_on_cluster(
                manifest, workdir, cluster, clock=clock, make_id=make_record, earlier_bags=earlier, stop=stop
            )
            if on_entry is not None:
                _replay_log(workdir, on_entry)
        failures = seed_failures(workdir)
        if failures is not None:
            shutil.rmtree(workdir)  # nothing asked for was captured: the next run starts afresh
            raise CrawlFailedError(failures)
        ref, index_lines = package(manifest, crawl, make_id=make_id, profile=profile)
        report = verify_bag(ref.path)
        archive = None
        if report.ok and manifest.bag.serialize is not None:  # only a verified bag is serialized
            archive = ref.path.with_name(ref.path.name + FORMATS[manifest.bag.serialize])
            if not archive.exists():  # else written by a run stopped before it cleaned up (only finished ones are)
                serialize(ref.path, manifest.bag.serialize, ref.path.parent)
        judged = None if profile is None else validate_bag_against_profile(archive or ref.path, profile)
        if report.ok:
            shutil.rmtree(workdir)
        return RunSummary(ref, crawl, report, index_lines, (*cleaned, *ref.cleaned), archive, judged)


def _replay_log(workdir: Path, on_entry: Callable[[dict[str, object]], None]) -> None:
    """The merged crawl log of a crawl on a cluster, entry by entry, as a one-machine crawl reports it live."""
    state = CrawlState(workdir / "state.sqlite")
    try:
        for entry in state.iter_log_entries():
            on_entry(entry)
    finally:
        state.close()


def remove_stale_stagings(manifest: Manifest) -> tuple[Path, ...]:
    """Remove the staging folders of this collection's bags that killed or failed runs left in the output.

    Only the collection's own (``.staging-<collection>-<UTC time>[-<n>]``, as its bags are named);
    the caller holds the collection's lock, so no live run is building any of them.
    """
    output = manifest.bag.output.resolve()
    pattern = re.compile(re.escape(f"{STAGING_PREFIX}{manifest.collection}-") + r"\d{8}T\d{6}Z(?:-\d+)?")
    removed = []
    try:
        names = sorted(os.listdir(output))
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise OutputError(f"cannot list the bags folder {output}: {describe(exc)}") from exc
    for name in names:
        if pattern.fullmatch(name):
            try:
                remove_staging(output / name)
            except OSError as exc:
                raise OutputError(f"cannot remove {output / name}, left by an interrupted run: {describe(exc)}") from exc
            removed.append(output / name)
    return tuple(removed)


def seed_failures(workdir: Path) -> list[tuple[str, str, str]] | None:
    """Each seed's (URL, outcome, reason) when no seed was captured; None when at least one was."""
    state = CrawlState(workdir / "state.sqlite")
    try:
        failures: list[tuple[str, str, str]] = []
        for line in state.iter_lines("log"):
            entry = json.loads(line)
            if entry.get("hop") != "seed":
                continue
            if entry.get("outcome") in CAPTURED_OUTCOMES:
                return None
            status = f"HTTP {entry['status']}" if entry.get("status") else ""
            reason = "; ".join(part for part in (status, str(entry.get("reason") or "")) if part)
            failures.append((str(entry.get("url")), str(entry.get("outcome")), reason))
        return failures
    finally:
        state.close()


def summary_json(summary: RunSummary) -> dict[str, object]:
    crawl = summary.crawl
    return {
        "bag": str(summary.bag.path),
        "external_identifier": summary.bag.external_identifier,
        "payload_oxum": summary.bag.payload_oxum,
        "warc_files": [p.name for p in crawl.warc_files],
        "outcomes": dict(crawl.outcomes),
        "cables": crawl.cables,
        "citations": crawl.citations,
        "citations_archived": crawl.citations_archived,
        "citations_not_on_site": crawl.citations_missing,
        "captures_indexed": summary.index_lines,
        "bytes": crawl.bytes,
        "resumed": crawl.resumed,
        "verified": summary.report.ok,
        "problems": len(summary.report.problems),
        "cleaned": [str(path) for path in summary.cleaned],
        "archive": None if summary.archive is None else str(summary.archive),
        "profile": None if summary.profile_report is None else summary.profile_report.to_json(),
    }


def dumps(data: dict[str, object]) -> str:
    return json.dumps(data, indent=2, sort_keys=False)
