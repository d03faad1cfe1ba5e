"""The plain sections of a manifest: the collection's name, organization, follow, fetch, warc and bag.
Each key is read with its default; a wrong value is reported and the next key read all the same."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..bagging.layout import WRITABLE_ALGORITHMS
from .keys import Section
from .model import (
    CAPTURE_MODES,
    COLLECTION_RE,
    COMPUTED_BAG_INFO,
    SERIALIZATIONS,
    BagOptions,
    CaptureMode,
    CaptureModes,
    Contact,
    FetchOptions,
    Follow,
    Organization,
    WarcOptions,
)
from .reader import Node, Skip, is_null, is_sequence, join
from .values import ValueReader, control_characters


def read_collection(reader: ValueReader, root: Section) -> str:
    node = root.node("collection")
    if node is None:
        return ""  # required: its absence is reported with the other keys
    name = reader.attempt(lambda: reader.text(node, "collection"), "")
    if name and not COLLECTION_RE.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].rstrip("-")
        hint = f"; e.g. {suggestion!r}" if suggestion else ""
        reader.report(node, "collection", f"{name!r} cannot name a bag: use 1 to 64 lower-case letters, "
                      f"digits and hyphens, starting with a letter or digit{hint}")
    return name


def read_organization(section: Section) -> Organization:
    one_line = section.reader.line_of_text
    contact = section.section("contact")
    return Organization(
        name=section.get("name", "", one_line),
        address=section.get("address", "", section.reader.text),
        contact=Contact(name=contact.get("name", "", one_line), email=contact.get("email", "", one_line)),
    )


def read_follow(section: Section) -> Follow:
    reader, default = section.reader, Follow()
    return Follow(
        references=section.get("references", default.references, reader.boolean),
        sources=section.get("sources", default.sources, reader.boolean),
        requisites=section.get("requisites", default.requisites, reader.boolean),
        depth=section.get("depth", default.depth, lambda n, k: reader.integer(n, k, low=0)),
        include=section.get("include", default.include, reader.pattern_list),
        exclude=section.get("exclude", default.exclude, reader.pattern_list),
        hosts=section.get("hosts", default.hosts, reader.host_list),
        capture=read_capture_modes(section.section("capture")),
    )


def read_capture_mode(reader: ValueReader, node: Node, key: str) -> CaptureMode:
    """http, browser or auto (a follow rule's or a seed's ``capture``)."""
    mode = reader.choice(node, key, CAPTURE_MODES)
    return "browser" if mode == "browser" else "auto" if mode == "auto" else "http"


def read_capture_modes(section: Section) -> CaptureModes:
    reader, default = section.reader, CaptureModes()
    return CaptureModes(
        references=section.get("references", default.references, lambda n, k: read_capture_mode(reader, n, k)),
        sources=section.get("sources", default.sources, lambda n, k: read_capture_mode(reader, n, k)),
    )


def renders(seed_captures: Iterable[CaptureMode | None], follow: Follow) -> bool:
    """Whether a crawl may render pages in a browser: a seed (or seed list) captured with ``browser`` or
    ``auto``, or a followed rule (references, sources) whose ``follow.capture`` is one of them."""
    rules = ((follow.references, follow.capture.references), (follow.sources, follow.capture.sources))
    return any(mode in ("browser", "auto") for mode in seed_captures) or any(
        followed and mode != "http" for followed, mode in rules)


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity where the system tells it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_processes(concurrency: int, browser: bool, cores: int | None = None) -> int:
    """``fetch.processes`` when the manifest sets none: one per usable core, at most one per request
    in flight (``concurrency``), so every worker process has a thread; 1 when the crawl may render
    pages in a browser (``capture: browser`` or ``auto`` on a seed or a followed rule), which runs
    in the crawl's own process. ``fetch.threads`` then defaults to concurrency / processes."""
    if browser:
        return 1
    return max(1, min(cores if cores is not None else usable_cores(), concurrency))


def read_fetch(section: Section, browser: bool = False) -> FetchOptions:
    """The ``fetch`` section; ``browser``: the manifest may render pages (see :func:`default_processes`)."""
    reader, default = section.reader, FetchOptions()
    concurrency: int = section.get("concurrency", default.concurrency,
                                   lambda n, k: reader.integer(n, k, low=1, high=256))
    default_robots: str = default.robots
    robots = section.get("robots", default_robots, lambda n, k: reader.choice(n, k, ("obey", "ignore")))
    return FetchOptions(
        user_agent=section.get("user_agent", default.user_agent, reader.non_empty_line),
        concurrency=concurrency,
        processes=section.get("processes", default_processes(concurrency, browser),
                              lambda n, k: reader.integer(n, k, low=1, high=64)),
        threads=section.get("threads", default.threads, lambda n, k: reader.integer(n, k, low=1, high=256)),
        per_host_concurrency=section.get("per_host_concurrency", default.per_host_concurrency,
                                         lambda n, k: reader.integer(n, k, low=1, high=256)),
        per_host_delay=section.get("per_host_delay", default.per_host_delay,
                                   lambda n, k: reader.number(n, k, low=0)),
        timeout=section.get("timeout", default.timeout, lambda n, k: reader.number(n, k, low=0, strict=True)),
        max_bytes=section.get("max_bytes", default.max_bytes, reader.size),
        retries=section.get("retries", default.retries, lambda n, k: reader.integer(n, k, low=0, high=20)),
        robots="ignore" if robots == "ignore" else "obey",
        allow_private=section.get("allow_private", default.allow_private, reader.boolean),
        allow_hosts=section.get("allow_hosts", default.allow_hosts, reader.host_list),
        allow_networks=section.get("allow_networks", default.allow_networks, lambda n, k: _networks(reader, n, k)),
    )


def _network(reader: ValueReader, node: Node, key: str) -> str:
    text = reader.text(node, key).strip()
    try:
        return str(ipaddress.ip_network(text))
    except ValueError as error:
        reader.fail(node, key, f"{text!r} is not a network: {error}; write an address and prefix length, "
                    "e.g. 127.0.0.2/32 or 10.0.0.0/8")


def _networks(reader: ValueReader, node: Node, key: str) -> tuple[str, ...]:
    """fetch.allow_networks: CIDR networks whose addresses the address guard allows."""
    networks = [reader.attempt(lambda: _network(reader, item, item_key), "") for item, item_key in reader.items(node, key)]
    return tuple(network for network in networks if network)


def read_warc(section: Section) -> WarcOptions:
    reader, default = section.reader, WarcOptions()
    default_dedup: str = default.dedup
    dedup = section.get("dedup", default_dedup, lambda n, k: reader.choice(n, k, ("none", "collection")))
    return WarcOptions(
        max_size=section.get("max_size", default.max_size, reader.size),
        dedup="collection" if dedup == "collection" else "none",
    )


def read_bag(reader: ValueReader, section: Section) -> BagOptions:
    default = BagOptions(output=Path("bags"))
    output = section.get("output", "bags", reader.non_empty_line)
    return BagOptions(
        output=reader.base_dir / output,
        algorithms=section.get("algorithms", default.algorithms, _read_algorithms(reader)),
        info=section.get("info", default.info, _read_bag_info(reader)),
        profile=section.get("profile", default.profile, reader.non_empty_line),
        serialize=section.get("serialize", default.serialize, lambda n, k: reader.choice(n, k, SERIALIZATIONS)),
    )


def _read_algorithms(reader: ValueReader) -> Callable[[Node, str], tuple[str, ...]]:
    def read(node: Node, key: str) -> tuple[str, ...]:
        items = reader.items(node, key)
        if not items:
            reader.fail(node, key, f"list at least one checksum algorithm: {', '.join(WRITABLE_ALGORITHMS)}")
        names: list[str] = []
        for item, item_key in items:
            name = reader.attempt(lambda: reader.choice(item, item_key, WRITABLE_ALGORITHMS), "")
            if name and name in names:
                reader.report(item, item_key, f"{name} is listed twice (items {names.index(name)} and "
                              f"{len(names)}); list each algorithm once")
            names.append(name)
        return tuple(name for name in names if name)

    return read


def _read_bag_info(reader: ValueReader) -> Callable[[Node, str], Mapping[str, tuple[str, ...]]]:
    def read(node: Node, key: str) -> Mapping[str, tuple[str, ...]]:
        if is_null(node):
            return {}
        info: dict[str, tuple[str, ...]] = {}
        for label, (label_node, value_node) in reader.fields(node, key).items():
            try:
                info[label] = _read_bag_info_value(reader, label, label_node, value_node, join(key, label))
            except Skip:
                continue
        return info

    return read


def _read_bag_info_value(reader: ValueReader, label: str, label_node: Node, value_node: Node,
                         key: str) -> tuple[str, ...]:
    """The values of one bag-info.txt label: one, or a list of them."""
    if not label or ":" in label or label != label.strip() or control_characters(label):
        reader.fail(label_node, key, f"{label!r} is not a bag-info.txt label: labels "
                    "are one line, without colons or leading or trailing spaces")
    if label.lower() in (computed.lower() for computed in COMPUTED_BAG_INFO):
        reader.fail(label_node, key, f"{label} is computed when the bag is made; remove it")
    if not is_sequence(value_node):
        return (reader.text(value_node, key),)
    items = reader.items(value_node, key)
    if not items:
        reader.fail(value_node, key, "give at least one value, or remove the label")
    return tuple(reader.text(item, item_key) for item, item_key in items)
