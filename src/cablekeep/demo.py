"""``cablekeep demo``: the main job end to end against the bundled sample cable site on loopback.

Starts the sample cable site on 127.0.0.1 and its "originals" site on 127.0.0.2 (the ports the
demo manifest names), runs the manifest, and stops the sites. The caller renders the summary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from .capture.crawl import CrawlProgress
from .errors import UsageError
from .manifest import Manifest, load_manifest
from .run import RunSummary, run_manifest
from .sample_site import serve_sample_site

ORIGINAL_PORT_OFFSET = 1  # the originals site listens on the cable site's port + 1


def demo_ports(manifest: Manifest) -> tuple[str, int]:
    """Host and port of the cable site, from the manifest's ``site.cable_url``."""
    if not manifest.site.cable_url:
        raise UsageError(f"{manifest.path}: the demo manifest needs site.cable_url")
    parts = urlsplit(manifest.site.cable_url)
    if parts.hostname is None or parts.port is None:
        raise UsageError(f"{manifest.path}: site.cable_url must name a loopback host and a port")
    return parts.hostname, parts.port


def run_demo(
    manifest_path: Path,
    *,
    on_entry: Callable[[dict[str, object]], None] | None = None,
    on_progress: Callable[[CrawlProgress], None] | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    manifest = load_manifest(manifest_path)
    host, port = demo_ports(manifest)
    try:
        site = serve_sample_site(
            cable_host=host, cable_port=port, original_host="127.0.0.2", original_port=port + ORIGINAL_PORT_OFFSET
        )
        with site:
            return run_manifest(manifest, on_entry=on_entry, on_progress=on_progress, stop=stop)
    except OSError as exc:
        raise UsageError(
            f"cannot start the sample site on {host}:{port} and 127.0.0.2:{port + 1}: {exc}; "
            "free those ports or change site.cable_url in the demo manifest"
        ) from exc
