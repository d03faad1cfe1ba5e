"""The layout rules of STYLE.md, enforced: one adapter module per library, a thin CLI on top."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cablekeep"

ALLOWED = {
    "yaml": {"manifest"},
    "requests": {"fetch"},
    "urllib3": {"fetch"},
    "warcio": {"warc"},
    "lxml": {"extract", "profiles"},  # the extraction adapter: parsing pages, compiling selectors
    "cssselect": {"profiles"},
    "protego": {"robots"},
    "click": {"cli"},
    "rich": {"cli"},
    "bagit": set(),  # the independent checker of the tests, never used at run time
}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in SRC.rglob("*.py"):
        name = path.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
        out[name] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
            found.add("." + node.module.split(".")[0])
    return found


def test_each_library_is_imported_by_its_adapter_only() -> None:
    for name, tree in _modules().items():
        for library in _imports(tree) & set(ALLOWED):
            assert name in ALLOWED[library], f"{name} imports {library}; only {ALLOWED[library] or 'no module'} may"


def test_nothing_imports_the_cli() -> None:
    for name, tree in _modules().items():
        if name not in {"cli", "__main__"}:
            assert ".cli" not in _imports(tree), f"{name} imports the CLI"


def test_only_the_cli_prints_or_exits() -> None:
    for name, tree in _modules().items():
        if name in {"cli", "__main__", "sample_site.__main__"}:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "exit"}, f"{name} calls {node.func.id}()"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "exit":
                value = node.func.value
                assert not (isinstance(value, ast.Name) and value.id == "sys"), f"{name} calls sys.exit()"
