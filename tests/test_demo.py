"""``cablekeep demo`` for real on loopback: free ports, only manifests for the sample site, resume;
and the bundled manifests each say how to run them, and run that way."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import cablekeep
from cablekeep.demo import DEMO_COPY, check_sample_site_manifest, run_demo
from cablekeep.errors import RunInterrupted, UsageError
from cablekeep.manifest import load_manifest, load_manifest_text
from cablekeep.run import run_manifest, work_dir
from cablekeep.sample_site import serve_mirror_site
from cablekeep.sample_site.__main__ import build_parser

from .conftest import CliResult, run_cli

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
SRC = Path(cablekeep.__file__).resolve().parents[1]
OLD_PORTS = (("127.0.0.1", 8471), ("127.0.0.2", 8472))  # where the demo used to listen


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _copy_manifest(tmp_path: Path, name: str) -> Path:
    """A bundled manifest in tmp_path/manifests, so its ``../bags`` output lands in tmp_path/bags."""
    path = tmp_path / "manifests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((MANIFESTS / name).read_bytes())
    return path


def _cablekeep(tmp_path: Path, *args: str) -> CliResult:
    """``python -m cablekeep`` in tmp_path, with HOME and XDG_DATA_HOME (the history) under tmp_path."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(SRC),
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "LANG": "C.UTF-8",
    }
    return run_cli(*args, cwd=tmp_path, env=env, timeout=300)


@pytest.fixture
def old_ports_taken() -> Iterator[None]:
    """Something listens on the demo's old fixed ports (or they are taken already)."""
    held = []
    for address in OLD_PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(address)
            sock.listen(1)
            held.append(sock)
        except OSError:
            sock.close()  # taken by someone else: taken all the same
    try:
        yield
    finally:
        for sock in held:
            sock.close()


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "xdg"


# --- free ports ----------------------------------------------------------------------------------


def test_demo_completes_when_the_old_fixed_ports_are_taken(tmp_path: Path, old_ports_taken: None) -> None:
    manifest = _copy_manifest(tmp_path, "demo.yaml")
    given = manifest.read_bytes()

    result = _cablekeep(tmp_path, "demo", "-q", "--manifest", "manifests/demo.yaml")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert manifest.read_bytes() == given  # the given manifest is not touched
    [bag] = (tmp_path / "bags").glob("andijon-2005-*")
    used = (bag / "data" / "manifest.yaml").read_text(encoding="utf-8")
    header = re.match(r"# cablekeep demo: cable site http://127\.0\.0\.1:(\d+), originals http://127\.0\.0\.2:(\d+)\n",
                      used)
    assert header is not None, used[:200]
    cable_port, original_port = (int(port) for port in header.groups())
    assert (cable_port, original_port) != (8471, 8472)
    body = used.split("\n", 3)[3]  # the copy is the given text with the cable site's port rewritten
    assert body == given.decode("utf-8").replace("127.0.0.1:8471", f"127.0.0.1:{cable_port}")
    cables = {c["cable_id"]: c for c in _jsonl(bag / "data" / "cables.jsonl")}
    assert {"05ALMATY2503", "05ALMATY2401", "06ASTANA919"} <= set(cables)
    assert all(str(c["url"]).startswith(f"http://127.0.0.1:{cable_port}/") for c in cables.values())
    log = _jsonl(bag / "data" / "crawl-log.jsonl")
    assert any(str(e["url"]).startswith(f"http://127.0.0.2:{original_port}/") and e["outcome"] == "ok" for e in log)
    assert not (tmp_path / "bags" / ".work" / "andijon-2005").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bags", "manifests"]  # nothing in HOME or XDG


def test_an_interrupted_demo_resumes_on_the_same_ports(tmp_path: Path, data_home: Path) -> None:
    manifest = _copy_manifest(tmp_path, "demo.yaml")
    stop = threading.Event()
    with pytest.raises(RunInterrupted):
        run_demo(manifest, on_entry=lambda entry: stop.set(), stop=stop)
    copy = work_dir(load_manifest(manifest)) / DEMO_COPY
    left = copy.read_text(encoding="utf-8")
    assert left.startswith("# cablekeep demo: cable site http://127.0.0.1:")

    summary = run_demo(manifest)

    assert summary.crawl.resumed and summary.report.ok
    assert (summary.bag.path / "data" / "manifest.yaml").read_text(encoding="utf-8") == left
    assert not copy.exists()


# --- only the sample site ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mirror.yaml", "example.yaml"])
def test_demo_refuses_manifests_it_cannot_run_with_a_usage_error(tmp_path: Path, name: str) -> None:
    _copy_manifest(tmp_path, name)

    result = _cablekeep(tmp_path, "demo", "--manifest", f"manifests/{name}")

    assert result.exit_code == 2, result.stdout + result.stderr
    assert "is not a manifest for the bundled sample site" in result.stderr
    assert f"cablekeep run {tmp_path / 'manifests' / name}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifests"]  # nothing crawled, nothing written


DEMO_TEXT = (MANIFESTS / "demo.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "reason"), [
    ('cable_url: "http://127.0.0.1:8471/cable/{id}"', 'cable_url: "http://127.0.0.3:8471/cable/{id}"',
     "site.cable_url http://127.0.0.3:8471/cable/{id} is not http://127.0.0.1:<port>/cable/{id}"),
    ('cable_url: "http://127.0.0.1:8471/cable/{id}"', 'cable_url: "http://127.0.0.1/cable/{id}"',
     "is not http://127.0.0.1:<port>/cable/{id}"),
    ('cable_url: "http://127.0.0.1:8471/cable/{id}"', 'cable_url: "http://127.0.0.1:8471/archive/{id}.htm"',
     "is not http://127.0.0.1:<port>/cable/{id}"),
    ("  - url: http://127.0.0.1:8471/cable/06ASTANA919", "  - url: http://192.0.2.7/cable/06ASTANA919",
     "seed demo.yaml:24 http://192.0.2.7/cable/06ASTANA919 is not on the sample site (127.0.0.1 or 127.0.0.2)"),
    ('cable_url: "http://127.0.0.1:8471/cable/{id}"',
     'cable_url: "http://127.0.0.1:8471/cable/{id}"\n  original_url: "https://example.org/{id}.html"',
     "site.original_url https://example.org/{id}.html is not on the sample site"),
    ('cable_url: "http://127.0.0.1:8471/cable/{id}"',
     'cable_url: "http://127.0.0.1:8471/cable/{id}"\n  profile: {name: other, detect: {css: "dl"}, fields: {identifier: {label: "Id"}}, text: {css: "pre"}}',
     "site.profile is a custom profile"),
    ("allow_private: true", "allow_private: false", "it does not let the crawl reach loopback"),
])
def test_sample_site_check_names_why(old: str, new: str, reason: str) -> None:
    path = MANIFESTS / "demo.yaml"
    check_sample_site_manifest(load_manifest_text(DEMO_TEXT, path))  # the demo manifest itself passes
    assert old in DEMO_TEXT
    with pytest.raises(UsageError) as caught:
        check_sample_site_manifest(load_manifest_text(DEMO_TEXT.replace(old, new), path))
    assert reason in str(caught.value)
    assert str(caught.value).endswith(f"run: cablekeep run {path}")


def test_loopback_named_in_allow_hosts_is_enough() -> None:
    text = DEMO_TEXT.replace("allow_private: true", "allow_hosts: [127.0.0.1, 127.0.0.2]")
    check_sample_site_manifest(load_manifest_text(text, MANIFESTS / "demo.yaml"))


def test_seed_lists_naming_the_old_port_are_refused(tmp_path: Path, data_home: Path) -> None:
    manifest = _copy_manifest(tmp_path, "demo.yaml")
    (manifest.parent / "seeds.txt").write_text("http://127.0.0.1:8471/cable/05ALMATY4460\n")
    manifest.write_text(DEMO_TEXT.replace("seeds:\n", "seeds:\n  - file: seeds.txt\n"))
    with pytest.raises(UsageError, match=r"these seeds name other ports: seeds.txt:1: http://127.0.0.1:8471/"):
        run_demo(manifest)
    assert not (tmp_path / "bags").exists()


# --- the bundled manifests -----------------------------------------------------------------------


def _header(name: str) -> str:
    lines = (MANIFESTS / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))])


def _serve_command(header: str) -> list[str]:
    """The arguments of the ``python -m cablekeep.sample_site`` command a header tells you to run."""
    match = re.search(r"python -m cablekeep\.sample_site(.*)", header)
    assert match is not None, header
    return shlex.split(match.group(1))


def test_every_bundled_manifest_says_how_to_run_it() -> None:
    assert sorted(p.name for p in MANIFESTS.glob("*.yaml")) == ["demo.yaml", "example.yaml", "mirror.yaml"]

    demo, demo_header = load_manifest(MANIFESTS / "demo.yaml"), _header("demo.yaml")
    check_sample_site_manifest(demo)
    assert "cablekeep demo" in demo_header and "cablekeep run manifests/demo.yaml" in demo_header
    served = build_parser().parse_args(_serve_command(demo_header))
    assert urlsplit(demo.site.cable_url or "").netloc == f"{served.cable_host}:{served.cable_port}"

    mirror, mirror_header = load_manifest(MANIFESTS / "mirror.yaml"), _header("mirror.yaml")
    assert "cablekeep run manifests/mirror.yaml" in mirror_header and "`cablekeep demo` refuses it" in mirror_header
    with pytest.raises(UsageError):
        check_sample_site_manifest(mirror)
    served = build_parser().parse_args(_serve_command(mirror_header))
    assert urlsplit(mirror.site.cable_url or "").netloc == f"{served.mirror_host}:{served.mirror_port}"

    example, example_header = load_manifest(MANIFESTS / "example.yaml"), _header("example.yaml")
    flat = " ".join(example_header.replace("#", " ").split())
    assert "logs every seed as blocked-address and archives nothing" in flat
    assert not example.fetch.allow_private
    with pytest.raises(UsageError, match="does not let the crawl reach loopback"):
        check_sample_site_manifest(example)
    # the fix the header gives makes it one the demo runs
    fixed = (MANIFESTS / "example.yaml").read_text(encoding="utf-8").replace(
        "  allow_private: false", "  allow_private: true")
    assert "`allow_private: true` under fetch" in flat and "cablekeep demo --manifest <copy>" in flat
    check_sample_site_manifest(load_manifest_text(fixed, MANIFESTS / "example.yaml"))


def test_mirror_manifest_runs_as_its_header_says(tmp_path: Path, data_home: Path) -> None:
    """Served the way the header says (on a free port rather than 8473), ``cablekeep run`` archives the mirror."""
    served = build_parser().parse_args(_serve_command(_header("mirror.yaml")))
    text = (MANIFESTS / "mirror.yaml").read_text(encoding="utf-8")
    with serve_mirror_site(served.mirror_host, 0) as mirror:
        text = text.replace(f"http://{served.mirror_host}:{served.mirror_port}", mirror.base)
        manifest = load_manifest_text(text, tmp_path / "manifests" / "mirror.yaml")
        summary = run_manifest(manifest)
    assert summary.report.ok, summary.report.problems
    assert summary.bag.path.parent == tmp_path / "bags"
    cables = {c["cable_id"] for c in _jsonl(summary.bag.path / "data" / "cables.jsonl")}
    assert {"05ALMATY2503", "05ALMATY2401", "06ASTANA919"} <= cables


def test_the_serve_command_of_the_mirror_header_serves_the_mirror(tmp_path: Path) -> None:
    args = _serve_command(_header("mirror.yaml"))
    args[args.index("--mirror-port") + 1] = "0"  # the header's port, made free
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(SRC), "HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "cablekeep.sample_site", *args], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = {}
        while "cable mirror" not in lines:
            line = process.stdout.readline()
            assert line, "the command ended before serving the mirror"
            label, _, value = line.partition(":")
            lines[label] = value.strip()
        mirror = urlsplit(lines["cable mirror"])
        assert mirror.hostname == "127.0.0.4"
        with socket.create_connection((mirror.hostname, mirror.port or 80), timeout=10) as conn:
            conn.sendall(b"GET /archive/05ALMATY2503.htm HTTP/1.0\r\n\r\n")
            reply = conn.makefile("rb").read()
        assert reply.startswith(b"HTTP/1.0 200") or reply.startswith(b"HTTP/1.1 200")
        assert lines["originals host"].split("/robots.txt")[0].encode() + b"/cable/2005/" in reply
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
