"""The bundled sample cable site, served on loopback for ``cablekeep demo``, the tests and benchmarks.

Two hosts: the cable site (``/``, ``/cable/<ID>``, ``/static/...``, ``/robots.txt``) and the
originals host standing in for Wikileaks.org (``/cable/<YYYY>/<MM>/<ID>.html``, ``/doc/...``,
``/robots.txt``). The HTML follows ``docs/sample-site-contract.md``. Which cable IDs and documents
play which role (missing, moved, soft 404, malformed, link rot, robots) is set out in
:mod:`cablekeep.sample_site.cables`.

``python -m cablekeep.sample_site`` serves it until Ctrl-C.
"""

from __future__ import annotations

from .cables import (
    DEMO_SEEDS,
    GONE_DOCUMENTS,
    MISSING_IDS,
    MOVED_IDS,
    REDIRECTED_DOCUMENTS,
    ROBOTS_DISALLOWED_PATHS,
    SAMPLE_CABLES,
    SOFT_404_IDS,
    SampleCable,
)
from .mirror import MirrorSite, serve_mirror_site
from .server import SampleSite, serve_sample_site

__all__ = [
    "DEMO_SEEDS",
    "GONE_DOCUMENTS",
    "MISSING_IDS",
    "MOVED_IDS",
    "REDIRECTED_DOCUMENTS",
    "ROBOTS_DISALLOWED_PATHS",
    "SAMPLE_CABLES",
    "SOFT_404_IDS",
    "MirrorSite",
    "SampleCable",
    "SampleSite",
    "serve_mirror_site",
    "serve_sample_site",
]
