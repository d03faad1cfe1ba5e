"""cablekeep deliver against boto3's own upload_file (TransferConfig alone), to a local S3 server.

Builds a bag of ``--size`` MiB (default 1024) of random payload in 4 files, starts moto's server
(``python -m moto.server``) on 127.0.0.1 in its own process, and times, each in a fresh process:

  tool                     what it does
  cablekeep deliver        every file with its SHA-256 (multipart past 8 MiB, 4 parts in flight),
                           each object verified on arrival, a receipt written
  boto3 upload_file        every file with TransferConfig(multipart_chunksize=8 MiB, max_concurrency=10),
                           as ``aws s3 cp`` does; nothing verified afterwards

and prints seconds, MiB/s, the ratio (cablekeep's speed / boto3's; the target is >= 0.8) and each
process's peak RSS (VmHWM; the target for cablekeep is < 100 MB). Objects are deleted between runs.

    .venv/bin/python benchmarks/deliver_vs_boto3.py               # 1 GiB
    .venv/bin/python benchmarks/deliver_vs_boto3.py --size 256    # quicker
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CABLEKEEP = """
import sys, time
from pathlib import Path
from cablekeep.handoff.deliver import S3Destination, deliver
start = time.perf_counter()
receipt = deliver(Path(sys.argv[1]), S3Destination(sys.argv[2], prefix="cablekeep", endpoint_url=sys.argv[3], region="us-east-1"))
elapsed = time.perf_counter() - start
assert receipt.ok, receipt.to_json()
hwm = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(elapsed, hwm)
"""

_BOTO3 = """
import os, sys, time
from pathlib import Path
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
bag = Path(sys.argv[1])
client = boto3.session.Session(region_name="us-east-1").client(
    "s3", endpoint_url=sys.argv[3], config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=10)
start = time.perf_counter()
for path in sorted(p for p in bag.rglob("*") if p.is_file()):
    client.upload_file(str(path), sys.argv[2], f"boto3/{bag.name}/{path.relative_to(bag)}", Config=config)
elapsed = time.perf_counter() - start
hwm = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(elapsed, hwm)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="payload MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "AWS_ACCESS_KEY_ID": "benchmark",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    sys.path.insert(0, str(REPO / "src"))
    import boto3
    from botocore.config import Config

    from cablekeep.bagging.build import bag_directory

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        source = work / "payload" / "bench-bag"
        source.mkdir(parents=True)
        per_file = (args.size << 20) // 4
        block = os.urandom(1 << 20)
        for index in range(4):
            with open(source / f"crawl-{index}.warc.gz", "wb") as out:
                for n in range(per_file >> 20):
                    out.write(block[n % 7 :] + block[: n % 7])
        bag_directory(source, dest_parent=work / "bags", in_place=False, algorithms=("sha256",), processes=2)
        bag = work / "bags" / "bench-bag"
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            endpoint = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
            client = boto3.session.Session(region_name="us-east-1").client(
                "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
            client.create_bucket(Bucket="bench")
            results: dict[str, list[tuple[float, int]]] = {"cablekeep deliver": [], "boto3 upload_file": []}
            for _ in range(args.repeat):
                for name, code in (("cablekeep deliver", _CABLEKEEP), ("boto3 upload_file", _BOTO3)):
                    out = subprocess.run(
                        [sys.executable, "-c", code, str(bag), "bench", endpoint],
                        env=env, capture_output=True, text=True, check=True,
                    ).stdout.split()
                    results[name].append((float(out[0]), int(out[1])))
                    for page in client.get_paginator("list_objects_v2").paginate(Bucket="bench"):
                        for item in page.get("Contents", []):
                            client.delete_object(Bucket="bench", Key=item["Key"])
        finally:
            server.terminate()
            server.wait()
    size_mib = sum(p.stat().st_size for p in bag.rglob("*") if p.is_file()) / (1 << 20) if bag.exists() else args.size
    print(f"{args.size} MiB payload, {args.repeat} run(s) each, medians; moto server on 127.0.0.1")
    medians = {}
    for name, runs in results.items():
        seconds = sorted(r[0] for r in runs)[len(runs) // 2]
        peak = max(r[1] for r in runs)
        medians[name] = seconds
        print(f"  {name:20s} {seconds:7.2f} s  {size_mib / seconds:7.1f} MiB/s  peak RSS {peak / 1024:6.1f} MB")
    ratio = medians["boto3 upload_file"] / medians["cablekeep deliver"]
    print(f"  ratio (cablekeep speed / boto3 speed): {ratio:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
