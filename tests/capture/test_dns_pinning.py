"""A fetch connects to the address the guard checked: a resolver whose answers alternate between an
allowed address and a forbidden one never gets a forbidden page fetched.

The scenario (dns_pinning_scenario.py) runs in its own network and mount namespace: loopback only,
its own /etc/resolv.conf pointing at a DNS server it runs on 127.0.0.53.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).with_name("dns_pinning_scenario.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _namespaces_allowed() -> str | None:
    """Why the scenario cannot run here, or None."""
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs Linux with unshare and ip"
    probe = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", "ip link set lo up"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare --net --mount is not permitted here: {probe.stderr.strip()}"
    return None


def test_fetch_connects_to_the_checked_address(tmp_path: Path) -> None:
    reason = _namespaces_allowed()
    if reason is not None:
        pytest.skip(reason)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.53\noptions attempts:1 timeout:2\n", encoding="ascii")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n", encoding="ascii")
    nsswitch = tmp_path / "nsswitch.conf"
    nsswitch.write_text("hosts: files dns\n", encoding="ascii")
    script = (
        "set -e; ip link set lo up; "
        f"mount --bind {resolv} /etc/resolv.conf; mount --bind {hosts} /etc/hosts; "
        f"mount --bind {nsswitch} /etc/nsswitch.conf; "
        f'exec "{sys.executable}" {SCENARIO}'
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script],
                            capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # the resolver really alternates, and the old double resolution would have reached 127.0.0.1
    assert report["dns_answers"][:4] == ["127.0.0.2", "127.0.0.1", "127.0.0.2", "127.0.0.1"]
    assert report["control_hits"]["127.0.0.1"] > 0, report
    # the fetcher: never 127.0.0.1; each fetch reached 127.0.0.2 or was refused as blocked-address
    assert report["pinned_hits"]["127.0.0.1"] == 0, report
    assert set(report["outcomes"]) <= {"ok", "blocked-address"}, report
    assert sum(report["outcomes"].values()) == 50
    assert report["outcomes"]["ok"] == report["pinned_hits"]["127.0.0.2"] > 0
    # sent with the name it was asked for, not the address it went to
    assert report["bodies"] == [f"served by 127.0.0.2 for pinned.test:{report['port']}"]
