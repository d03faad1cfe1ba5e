"""``python -m cablekeep.sample_site``: serve the sample cable site until Ctrl-C, for manual use."""

from __future__ import annotations

import argparse
import time

from .cables import DEMO_SEEDS
from .server import serve_sample_site


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cablekeep.sample_site", description=__doc__)
    parser.add_argument("--cable-host", default="127.0.0.1")
    parser.add_argument("--cable-port", type=int, default=0, help="0 lets the OS choose (default)")
    parser.add_argument("--original-host", default="127.0.0.2")
    parser.add_argument("--original-port", type=int, default=0, help="0 lets the OS choose (default)")
    args = parser.parse_args(argv)
    with serve_sample_site(args.cable_host, args.cable_port, args.original_host, args.original_port) as site:
        print(f"cable site:     {site.cable_base}/")
        print(f"originals host: {site.original_base}/robots.txt")
        for cable_id in DEMO_SEEDS:
            print(f"seed:           {site.cable_url(cable_id)}")
        print("Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped.")


if __name__ == "__main__":
    main()
