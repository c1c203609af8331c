"""The house rules: the library never imports streamlit, the app never imports the CLI, no module imports
another that (directly or through others) imports it back, and modules stay small enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
APP = ROOT / "app"
MAX_LIBRARY_LINES = 600
MAX_PAGE_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


LIBRARY = {module_name(p): p for p in SRC.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function (a lazy import is still a dependency)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def library_graph() -> dict[str, set[str]]:
    return {name: {m for m in imports(path) if m in LIBRARY and m != name} for name, path in LIBRARY.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_in_the_library():
    assert cycles(library_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_the_library_never_imports_streamlit(name):
    assert not any(m == "streamlit" or m.startswith("streamlit.") for m in imports(LIBRARY[name]))


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=lambda p: str(p.relative_to(APP)))
def test_the_app_never_imports_the_cli(path):
    assert not any(m == "mlorg.cli" or m.startswith("mlorg.cli.") for m in imports(path))


def test_modules_stay_small():
    long = {str(p.relative_to(ROOT)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LIBRARY_LINES}
    long |= {str(p.relative_to(ROOT)): n for p in APP.rglob("*.py")
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES}
    assert long == {}


def test_the_workshops_first_page_loads_neither_scikit_learn_nor_altair():
    """On a freshly started server every session waits for the modules the page's first run imports: the workshop
    reads kept results (no scikit-learn), its first answer draws no chart (Altair comes later), and reading its
    scenario, uncertain inputs and all, needs no SciPy."""
    script = ("import sys; sys.path.insert(0, 'app'); import views.workshop.steps, views.workshop.story, "
              "views.shared.forms, mlorg.pipeline.scale; from mlorg.scenario import load; "
              "load('scenarios/fraud_drift.toml'); "
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'altair', 'duckdb', 'scipy'}))")
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
