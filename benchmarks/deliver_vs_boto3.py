"""cablekeep deliver against boto3's own upload_file (TransferConfig alone), to a local S3 server.

Builds a bag of ``--size`` MiB (default 1024) of random payload in 4 files, starts moto's server
(``python -m moto.server``) on 127.0.0.1 in its own process, and times, each in a fresh process
(interpreter start and the boto3 import counted for both), alternating which goes first:

  tool                     what it does
  cablekeep deliver        every file with its SHA-256 (multipart past 8 MiB, 4 parts in flight),
                           each object verified on arrival, a receipt written
  boto3 upload_file        every file with TransferConfig(multipart_chunksize=8 MiB, max_concurrency=10),
                           as ``aws s3 cp`` does; nothing verified afterwards

For each it reports the median wall seconds and MiB/s, the client's CPU seconds (user+sys, from
os.wait4), the server's CPU seconds during the run (from /proc), and the client's peak RSS (VmHWM).
It also serializes the bag as a tar in a fresh process and reports that process's peak RSS.
After each run the objects are listed: all there, at their sizes, or the run does not count.

Targets: cablekeep's speed at least 0.8 of boto3's (ratio of median wall times); peak RSS of
cablekeep's delivery and serialization under 100 MB (10^8 bytes). Exit 0 when both are met, 1 when
not, 2 when a run did not do what the benchmark needs (a tool failed, objects missing).

    .venv/bin/python benchmarks/deliver_vs_boto3.py --repeat 3     # 1 GiB, 3 rounds
    .venv/bin/python benchmarks/deliver_vs_boto3.py --size 256     # quicker
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEED_TARGET = 0.8
MEMORY_TARGET = 100 * 1000 * 1000  # bytes

_CABLEKEEP = """
import sys
from pathlib import Path
from cablekeep.handoff.deliver import S3Destination, deliver
receipt = deliver(Path(sys.argv[1]), S3Destination(sys.argv[2], prefix=sys.argv[4], endpoint_url=sys.argv[3],
                                                   region="us-east-1"))
if not receipt.ok:
    sys.exit(f"delivery not verified: {receipt.to_json()}")
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""

_BOTO3 = """
import sys
from pathlib import Path
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
bag = Path(sys.argv[1])
client = boto3.session.Session(region_name="us-east-1").client(
    "s3", endpoint_url=sys.argv[3], config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=10)
for path in sorted(p for p in bag.rglob("*") if p.is_file()):
    client.upload_file(str(path), sys.argv[2], f"{sys.argv[4]}/{bag.name}/{path.relative_to(bag)}", Config=config)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""

_SERIALIZE = """
import sys
from pathlib import Path
from cablekeep.handoff.serialize import serialize
serialize(Path(sys.argv[1]), "tar", Path(sys.argv[2]))
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""

TOOLS = {"cablekeep deliver": _CABLEKEEP, "boto3 upload_file": _BOTO3}


class RunFailed(Exception):
    """A run did not do what the benchmark needs: exit 2."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds user+sys, stdout) of one child process, reaped here so that its
    rusage is its own; RunFailed unless it exits 0."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=err)
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.stdout.close()
        child.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise RunFailed(f"a run exited {code}: {err.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, out.decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="payload MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each tool once a round (default 3)")
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
    env.pop("AWS_PROFILE", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    os.environ.pop("AWS_PROFILE", None)
    sys.path.insert(0, str(REPO / "src"))
    import boto3
    from botocore.config import Config

    from cablekeep.bagging.build import bag_directory

    load_before = os.getloadavg()
    results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in TOOLS}
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
        expected = {p.relative_to(bag).as_posix(): p.stat().st_size for p in bag.rglob("*") if p.is_file()}
        size_mib = sum(expected.values()) / (1 << 20)
        _, _, out = run_child([sys.executable, "-c", _SERIALIZE, str(bag), str(work / "tar")], env)
        serialize_peak = int(out.split()[-1]) * 1024
        (work / "tar" / "bench-bag.tar").unlink()
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            endpoint = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            client = boto3.session.Session(region_name="us-east-1").client(
                "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
            client.create_bucket(Bucket="bench")
            for round_ in range(args.repeat):
                order = list(TOOLS) if round_ % 2 == 0 else list(reversed(TOOLS))
                for name in order:
                    prefix = f"r{round_}-{name.split()[0]}"
                    server_cpu = cpu_seconds_of(server.pid)
                    wall, cpu, out = run_child(
                        [sys.executable, "-c", TOOLS[name], str(bag), "bench", endpoint, prefix], env)
                    server_cpu = cpu_seconds_of(server.pid) - server_cpu
                    arrived = {}
                    for page in client.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix=prefix):
                        for item in page.get("Contents", []):
                            arrived[item["Key"].removeprefix(f"{prefix}/bench-bag/")] = int(item["Size"])
                            client.delete_object(Bucket="bench", Key=item["Key"])
                    if arrived != expected:
                        raise RunFailed(f"{name}: the objects at the server are not the bag's files: {arrived}")
                    results[name].append((wall, cpu, server_cpu, int(out.split()[-1]) * 1024))
        finally:
            server.terminate()
            server.wait()
    load_after = os.getloadavg()
    print(f"{args.size} MiB payload in 4 files, {args.repeat} alternating round(s), medians; moto server on 127.0.0.1")
    print(f"  load average before {load_before[0]:.2f} {load_before[1]:.2f}, after {load_after[0]:.2f} "
          f"{load_after[1]:.2f} (on {os.cpu_count()} cores)")
    walls = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        server_cpu = statistics.median(r[2] for r in runs)
        peak = max(r[3] for r in runs)
        walls[name] = wall
        print(f"  {name:18s} {wall:6.2f} s wall {size_mib / wall:6.1f} MiB/s | CPU client {cpu:5.2f} s, "
              f"server {server_cpu:5.2f} s | peak RSS {peak / 1e6:5.1f} MB | walls {' '.join(f'{r[0]:.2f}' for r in runs)}")
    print(f"  cablekeep serialize (tar)  peak RSS {serialize_peak / 1e6:5.1f} MB")
    ratio = walls["boto3 upload_file"] / walls["cablekeep deliver"]
    deliver_peak = max(r[3] for r in results["cablekeep deliver"])
    print(f"  ratio (cablekeep speed / boto3 speed): {ratio:.2f} (target >= {SPEED_TARGET}); "
          f"memory: deliver {deliver_peak / 1e6:.1f} MB, serialize {serialize_peak / 1e6:.1f} MB (target < 100 MB)")
    passed = ratio >= SPEED_TARGET and deliver_peak < MEMORY_TARGET and serialize_peak < MEMORY_TARGET
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunFailed as exc:
        print(f"a run did not do what the benchmark needs: {exc}", file=sys.stderr)
        sys.exit(2)
