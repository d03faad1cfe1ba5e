"""``cablekeep demo``: the main job end to end against the bundled sample cable site on loopback.

Takes a manifest aimed at the sample site, serves the site, runs a copy of the manifest that names
the ports it got, and stops the site; gives the :class:`~cablekeep.run.RunSummary`. The caller
renders it.

The demo runs only manifests aimed at the bundled sample site (:func:`check_sample_site_manifest`):
``site.cable_url`` is ``http://127.0.0.1:<port>/cable/{id}`` read with the built-in cablebrowser
profile, every seed URL and ``site.original_url`` is on the site's two hosts (127.0.0.1, the cable
site; 127.0.0.2, its originals), and the manifest lets the crawl reach loopback. Anything else is a
:class:`~cablekeep.errors.UsageError`: other sites are archived with ``cablekeep run``.

Both hosts listen on ports the OS picks (port 0), so a port already taken cannot stop the demo. The
manifest used is the given one with every ``http://127.0.0.1:<port>`` and ``http://127.0.0.2:<port>``
rewritten to the running site; that copy is what the bag stores, and it is written, with a header
saying where it came from, to ``demo-manifest.yaml`` in the crawl's work directory
(``<bags>/.work/<collection>/``), never over the given file. Relative paths in it (bag output, seed
lists) still resolve against the given manifest's folder. A demo stopped midway leaves that copy
behind; the next demo asks for the same ports first, so the crawl resumes as ``cablekeep run`` does.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from .capture.crawl import CrawlProgress
from .errors import UsageError
from .manifest import Manifest, load_manifest, load_manifest_text
from .run import RunSummary, run_manifest, work_dir
from .sample_site import SampleSite, serve_sample_site

CABLE_HOST = "127.0.0.1"  # the sample cable site
ORIGINAL_HOST = "127.0.0.2"  # its originals host
SAMPLE_HOSTS = (CABLE_HOST, ORIGINAL_HOST)
CABLE_PATH = "/cable/{id}"
DEMO_COPY = "demo-manifest.yaml"  # the manifest used, in the crawl's work directory
_HOST_ORIGIN = {host: re.compile(rf"http://{re.escape(host)}:\d+(?!\d)") for host in SAMPLE_HOSTS}
_HEADER_RE = re.compile(r"# cablekeep demo: cable site (http://\S+), originals (http://\S+)\n")


def check_sample_site_manifest(manifest: Manifest) -> None:
    """Raise UsageError, listing every reason, unless ``manifest`` is aimed at the bundled sample site."""
    problems: list[str] = []
    site = manifest.site
    cable = urlsplit(site.cable_url or "")
    if not site.cable_url:
        problems.append("it has no site.cable_url")
    elif (cable.scheme, cable.hostname, cable.path, cable.query) != ("http", CABLE_HOST, CABLE_PATH, "") or not cable.port:
        problems.append(f"site.cable_url {site.cable_url} is not http://{CABLE_HOST}:<port>{CABLE_PATH}")
    if site.profile != "cablebrowser":
        problems.append("site.profile is a custom profile, not the sample site's cablebrowser layout")
    urls = [("site.original_url", site.original_url)] if site.original_url else []
    urls += [(f"seed {seed.origin}", seed.url) for seed in manifest.seeds if seed.kind == "url"]
    for where, url in urls:
        if urlsplit(url).scheme != "http" or urlsplit(url).hostname not in SAMPLE_HOSTS:
            problems.append(f"{where} {url} is not on the sample site ({' or '.join(SAMPLE_HOSTS)})")
    fetch = manifest.fetch
    if not fetch.allow_private and not set(SAMPLE_HOSTS) <= set(fetch.allow_hosts):
        problems.append("it does not let the crawl reach loopback (set fetch.allow_private: true)")
    if problems:
        raise UsageError(
            f"{manifest.path} is not a manifest for the bundled sample site: {'; '.join(problems)}. "
            f"The demo only archives the sample site; to archive another site run: cablekeep run {manifest.path}"
        )


def demo_manifest_text(manifest: Manifest, site: SampleSite) -> str:
    """The manifest's text with the sample site's origins rewritten to the running ``site``, under a
    header saying where it came from."""
    text = manifest.source_text
    for host, base in ((CABLE_HOST, site.cable_base), (ORIGINAL_HOST, site.original_base)):
        text = _HOST_ORIGIN[host].sub(base, text)
    header = (
        f"# cablekeep demo: cable site {site.cable_base}, originals {site.original_base}\n"
        f"# A copy of {manifest.path} with the ports of the sample site it ran against; its relative\n"
        f"# paths are relative to {manifest.path.parent}.\n"
    )
    return header + text


def _check_rewritten(used: Manifest, site: SampleSite) -> None:
    """Seeds read from seed lists are not rewritten: each must name the running site."""
    bases = (site.cable_base + "/", site.original_base + "/")
    stale = [f"{seed.origin}: {seed.url}" for seed in used.seeds if not seed.url.startswith(bases)]
    if stale:
        raise UsageError(
            f"{used.path}: the demo serves the sample site on ports of its own, and these seeds name other "
            f"ports: {', '.join(stale[:3])}; give them as cable IDs, or write them in the manifest itself"
        )


def _earlier_ports(copy: Path) -> tuple[int, int] | None:
    """The ports an interrupted demo of the same collection used, from the copy it left."""
    try:
        with open(copy, encoding="utf-8") as handle:
            match = _HEADER_RE.fullmatch(handle.readline())
    except (OSError, UnicodeDecodeError):
        return None
    if match is None:
        return None
    ports = urlsplit(match.group(1)).port, urlsplit(match.group(2)).port
    return (ports[0], ports[1]) if ports[0] and ports[1] else None


@contextmanager
def _serve(preferred: tuple[int, int] | None) -> Iterator[SampleSite]:
    """Serve the sample site on the preferred ports when they are free, else on ports the OS picks."""
    with ExitStack() as stack:
        running = None
        if preferred is not None:
            try:
                running = stack.enter_context(serve_sample_site(CABLE_HOST, preferred[0], ORIGINAL_HOST, preferred[1]))
            except OSError:
                running = None  # taken since: a fresh crawl on new ports, or the crawl says what to do
        if running is None:
            try:
                running = stack.enter_context(serve_sample_site(CABLE_HOST, 0, ORIGINAL_HOST, 0))
            except OSError as exc:
                raise UsageError(
                    f"cannot start the sample site on {CABLE_HOST} and {ORIGINAL_HOST}: {exc}; "
                    f"the demo needs both loopback addresses ({ORIGINAL_HOST} is missing on some systems)"
                ) from exc
        yield running


def _write_copy(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name, so a copy is never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".open")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def run_demo(
    manifest_path: Path,
    *,
    on_entry: Callable[[dict[str, object]], None] | None = None,
    on_progress: Callable[[CrawlProgress], None] | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Serve the sample site on free ports, run a copy of the manifest aimed at it, stop the site."""
    manifest = load_manifest(manifest_path)
    check_sample_site_manifest(manifest)
    copy = work_dir(manifest) / DEMO_COPY
    with _serve(_earlier_ports(copy)) as site:
        text = demo_manifest_text(manifest, site)
        used = load_manifest_text(text, manifest.path)
        _check_rewritten(used, site)
        _write_copy(copy, text)
        return run_manifest(used, on_entry=on_entry, on_progress=on_progress, stop=stop)
