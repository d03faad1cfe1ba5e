"""``python -m cablekeep.sample_site``: serve the sample cable site until Ctrl-C, for manual use.

With ``--mirror-port`` the cable mirror (:mod:`cablekeep.sample_site.mirror`) is served too, its
pages linking their originals on the sample site's originals host; ``manifests/mirror.yaml`` archives
it from ``--mirror-port 8473``.
"""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack

from .cables import DEMO_SEEDS
from .mirror import serve_mirror_site
from .server import serve_sample_site


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cablekeep.sample_site", description=__doc__)
    parser.add_argument("--cable-host", default="127.0.0.1")
    parser.add_argument("--cable-port", type=int, default=0, help="0 lets the OS choose (default)")
    parser.add_argument("--original-host", default="127.0.0.2")
    parser.add_argument("--original-port", type=int, default=0, help="0 lets the OS choose (default)")
    parser.add_argument("--mirror-host", default="127.0.0.4")
    parser.add_argument("--mirror-port", type=int, default=None,
                        help="serve the cable mirror on this port too (0 lets the OS choose); default: no mirror")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    with ExitStack() as stack:
        site = stack.enter_context(
            serve_sample_site(args.cable_host, args.cable_port, args.original_host, args.original_port)
        )
        print(f"cable site:     {site.cable_base}/")
        print(f"originals host: {site.original_base}/robots.txt")
        for cable_id in DEMO_SEEDS:
            print(f"seed:           {site.cable_url(cable_id)}")
        if args.mirror_port is not None:
            mirror = stack.enter_context(
                serve_mirror_site(args.mirror_host, args.mirror_port, original_base=site.original_base)
            )
            print(f"cable mirror:   {mirror.base}/")
        print("Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped.")


if __name__ == "__main__":
    main()
