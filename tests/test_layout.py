"""The layout rules of STYLE.md, enforced: wings that depend one way, one adapter module per library, a thin CLI.

The allowed directions between wings are written here once. A wing is a sub-package of ``cablekeep``
(``capture``, ``cables``, ``bagging``, ``fixity``); a top-level module (``manifest``, ``errors``, ``run``,
``demo``, ``cli``) is a wing of its own. Imports are read two ways: from the source (every spelling:
relative, absolute, ``from . import x``) and by importing every module in a fresh interpreter that records
which module really imported which (as click's tests/test_imports.py does), so neither can be fooled by the
spelling of an import.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "cablekeep"

# Which wings each wing may import. Later stages use earlier ones, never the reverse; nothing imports the CLI.
WINGS: dict[str, set[str]] = {
    "__init__": set(),
    "errors": set(),
    "locks": {"errors"},  # one writer per collection or bag: spans the stages that write
    "children": set(),  # worker processes that die with their owner: the hashing pool and the fetch processes
    "scratch": set(),  # temporary folders named by pid: the ones a killed process left are removed by the next
    "sample_site": set(),  # the bundled demo site stands alone: it is what cablekeep archives
    "cables": {"__init__", "errors"},  # pure: understanding pages
    "bagging": {"__init__", "errors", "locks", "children"},
    "manifest": {"__init__", "errors", "cables", "bagging"},
    "capture": {"__init__", "errors", "cables", "manifest", "children", "scratch"},
    "fixity": {"__init__", "errors", "locks", "bagging", "capture"},
    "handoff": {"__init__", "errors", "locks", "bagging", "fixity"},
    "cluster": {"__init__", "errors", "locks", "cables", "bagging", "manifest", "capture", "fixity"},  # Dask
    "run": {"__init__", "errors", "locks", "cables", "bagging", "manifest", "capture", "fixity", "handoff", "cluster"},
    "access": {"__init__", "errors", "children", "scratch", "bagging", "capture", "fixity"},  # children: pywb dies with replay
    "watch": {"__init__", "errors", "locks", "cables", "bagging", "manifest", "capture", "fixity", "run"},  # run: --rearchive is a run of the collection
    "schedule": {"__init__", "errors", "locks", "manifest", "capture", "fixity", "watch", "run", "handoff"},  # a use case above run
    "demo": {"__init__", "errors", "manifest", "capture", "run", "sample_site"},
    "cli": {"__init__", "errors", "locks", "cables", "bagging", "manifest", "capture", "fixity", "run", "demo", "access", "handoff", "watch", "schedule", "cluster"},
    "__main__": {"cli"},
}

# Each third-party library and the one module (dotted, below cablekeep) that adapts it. Every runtime import
# of something outside the standard library must be listed, so a new dependency is a decision made here.
ADAPTERS: dict[str, set[str]] = {
    "yaml": {"manifest.reader"},
    "requests": {"capture.fetch"},
    "urllib3": {"capture.fetch"},
    "warcio": {"capture.warc"},
    "isal": {"capture.warc", "fixity.warcgzip"},  # ISA-L gzip for the WARC hot paths (writing; checking)
    "lxml": {"cables.extract", "cables.profiles"},  # parsing pages, compiling selectors
    "cssselect": {"cables.profiles"},
    "protego": {"capture.robots"},
    "websocket": {"capture.cdp"},  # websocket-client: the DevTools protocol to the headless browser
    "click": {"cli.*"},  # the cli package: the group and its command modules
    "rich": {"cli.*"},
    "bagit": set(),  # the independent checker of the tests, never used at run time
    "cronsim": {"manifest.cron"},  # cron expressions of schedule:, checked when the manifest is read
    "surt": {"capture.canon"},  # the Internet Archive's SURT: pywb's keys, the CDXJ index's first column
    "aiosmtpd": set(),  # the SMTP server of the notification tests, never used at run time
    "boto3": {"handoff.s3"},
    "botocore": {"handoff.s3"},
    "dask": {"cluster.dask"},  # optional (the cluster extra), imported only with --cluster
    "distributed": {"cluster.dask"},
}
PRINTING = {"__main__", "sample_site.__main__"}  # and the cli package


def adapts(module: str, allowed: set[str]) -> bool:
    """``module`` is one of ``allowed`` ("x.*" allows the package x and every module in it)."""
    return module in allowed or any(
        entry.endswith(".*") and (module == entry[:-2] or module.startswith(entry[:-1])) for entry in allowed
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))}


def _package_of(name: str, path: Path) -> list[str]:
    parts = name.split(".") if name != "__init__" else []
    return parts if path.name == "__init__.py" else parts[:-1]


def _imports(name: str, path: Path, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, target) for every import; targets inside cablekeep are given as 'cablekeep.x.y'."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(name, path)
                base = ["cablekeep", *package[: len(package) - node.level + 1]]
                if node.module:
                    base += node.module.split(".")
                base_name = ".".join(base)
            else:
                base_name = node.module or ""
            for alias in node.names:
                sub = f"{base_name}.{alias.name}"
                found.append((node.lineno, sub if _is_cablekeep_module(sub) else base_name))
    return found


def _is_cablekeep_module(dotted: str) -> bool:
    if not dotted.startswith("cablekeep."):
        return False
    rel = Path(*dotted.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def wing_of(module: str) -> str:
    """The wing of a module given below cablekeep ('capture.crawl' -> 'capture', '' -> '__init__')."""
    return module.split(".")[0] if module else "__init__"


def _own(target: str) -> str | None:
    if target == "cablekeep":
        return ""
    return target[len("cablekeep.") :] if target.startswith("cablekeep.") else None


def test_every_module_belongs_to_a_known_wing() -> None:
    for name in _modules():
        assert wing_of(name) in WINGS, f"{name} is in no wing of WINGS: add the wing and its directions"


def test_wings_import_only_in_the_allowed_directions() -> None:
    bad = []
    for name, (path, tree) in _modules().items():
        wing = wing_of(name)
        for line, target in _imports(name, path, tree):
            own = _own(target)
            if own is None:
                continue
            other = wing_of(own)
            if other != wing and other not in WINGS[wing]:
                bad.append(f"{path.relative_to(REPO)}:{line}: {name} imports {target} ({wing} -> {other})")
    assert not bad, "\n".join(bad)


def test_each_library_is_imported_by_its_adapter_only() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = []
    for name, (path, tree) in _modules().items():
        for line, target in _imports(name, path, tree):
            top = target.split(".")[0]
            if top == "cablekeep" or top in stdlib:
                continue
            if top not in ADAPTERS:
                bad.append(f"{path.relative_to(REPO)}:{line}: {name} imports {top}, which ADAPTERS does not know")
            elif not adapts(name, ADAPTERS[top]):
                bad.append(f"{path.relative_to(REPO)}:{line}: {name} imports {top}; only {ADAPTERS[top] or 'none'} may")
    assert not bad, "\n".join(bad)


def test_every_runtime_dependency_is_known() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    import re

    deps = project["dependencies"] + project["optional-dependencies"]["cluster"]  # the cluster extra: Dask
    names = {re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower() for dep in deps}
    distribution = {"yaml": "pyyaml", "distributed": "dask", "websocket": "websocket-client"}
    known = {distribution.get(lib, lib) for lib, users in ADAPTERS.items() if users}
    assert known <= names | {"urllib3"}, f"ADAPTERS names libraries pyproject does not depend on: {known - names}"
    assert names <= known, f"pyproject depends on libraries no module adapts: {names - known}"


# Record real imports: which cablekeep module imported which, in a fresh interpreter.
_RECORDER = r"""
import builtins, importlib.util, json, pkgutil, sys
seen = set()
real = builtins.__import__
def record(name, globals=None, locals=None, fromlist=(), level=0):
    module = real(name, globals, locals, fromlist, level)
    importer = (globals or {}).get("__name__", "")
    if importer.startswith("cablekeep"):
        target = importlib.util.resolve_name("." * level + name, globals.get("__package__")) if level else name
        seen.add((importer, target))
        for item in fromlist or ():
            if f"{target}.{item}" in sys.modules:
                seen.add((importer, f"{target}.{item}"))
    return module
builtins.__import__ = record
import cablekeep
for info in pkgutil.walk_packages(cablekeep.__path__, "cablekeep."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
print(json.dumps(sorted(seen)))
"""


def test_real_imports_follow_the_wings() -> None:
    out = subprocess.run([sys.executable, "-c", _RECORDER], capture_output=True, text=True, check=True).stdout
    bad = []
    for importer, target in json.loads(out):
        wing, own = wing_of(_own(importer) or ""), _own(target)
        if own is None:
            top = target.split(".")[0]
            if top in ADAPTERS and not adapts(_own(importer) or "", ADAPTERS[top]):
                bad.append(f"{importer} imports {target} at run time")
            continue
        other = wing_of(own)
        if other != wing and other not in WINGS[wing]:
            bad.append(f"{importer} imports {target} at run time ({wing} -> {other})")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_cli() -> None:
    for name, (path, tree) in _modules().items():
        if wing_of(name) == "cli" or name == "__main__":
            continue
        for line, target in _imports(name, path, tree):
            assert target != "cablekeep.cli" and not target.startswith("cablekeep.cli."), (
                f"{path.relative_to(REPO)}:{line}: {name} imports the CLI"
            )


def test_only_the_cli_prints_or_exits() -> None:
    for name, (path, tree) in _modules().items():
        if name in PRINTING or wing_of(name) == "cli":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "exit"}, f"{name} calls {node.func.id}()"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "exit":
                value = node.func.value
                assert not (isinstance(value, ast.Name) and value.id == "sys"), f"{name} calls sys.exit()"


def test_the_layout_checker_sees_every_spelling(tmp_path: Path) -> None:
    """An absolute import, ``from . import x`` and a relative import all resolve to the same module."""
    tree = ast.parse("from cablekeep.cli import CablekeepGroup\nfrom .. import cli\nfrom ..cli import CablekeepGroup\n")
    path = SRC / "capture" / "crawl.py"
    assert [t for _, t in _imports("capture.crawl", path, tree)] == ["cablekeep.cli"] * 3
