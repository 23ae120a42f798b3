"""The shape of the code base, read from the source with `ast`: no import cycle among
generator/ and runtime/ modules counting every import (inside functions and under
TYPE_CHECKING too), runtime/ never imports generator/, an import inside a function
says why, and runtime/ stays grouped by purpose (at most 8 modules directly in it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("generator", "runtime")
MAX_TOP_LEVEL_RUNTIME_MODULES = 8


def modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the packages under `root`."""
    out = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _targets(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolved against the importing module's package
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports, wherever the import statement sits.
    `from a.b import c` counts as importing `a.b.c` when that is a module, else
    `a.b`."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, package):
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def unexplained_inner_imports(root: Path) -> list[str]:
    """Imports inside a function with no comment on their line or the two above."""
    out = []
    for path in modules(root).values():
        lines = path.read_text().splitlines()
        for func in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    near = lines[max(0, node.lineno - 3) : node.lineno]
                    if not any("#" in line for line in near):
                        out.append(
                            f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
                        )
    return out


def test_no_import_cycle_among_generator_and_runtime_modules():
    assert cycles(import_graph(ROOT)) == []


def test_runtime_never_imports_generator():
    graph = import_graph(ROOT)
    wrong = {
        m: sorted(t for t in graph[m] if t.split(".")[0] == "generator")
        for m in graph
        if m.split(".")[0] == "runtime"
    }
    assert {m: t for m, t in wrong.items() if t} == {}


def test_an_import_inside_a_function_says_why():
    assert unexplained_inner_imports(ROOT) == []


def test_runtime_is_grouped_by_purpose():
    top = sorted(p.name for p in (ROOT / "runtime").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_RUNTIME_MODULES, top


def test_the_checks_find_what_they_look_for(tmp_path):
    """A cycle through a function-level import and a TYPE_CHECKING import is found, and
    so is an inner import without a comment; a package importing its own modules is no
    cycle."""
    (tmp_path / "runtime" / "sub").mkdir(parents=True)
    (tmp_path / "generator").mkdir()
    files = {
        "runtime/__init__.py": "",
        "runtime/sub/__init__.py": "from . import b\n",
        "runtime/a.py": "def f():\n    from runtime.sub.b import g\n",
        "runtime/sub/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import f\n",
        "runtime/c.py": "def h():\n    # needed late: measured\n    import runtime.a\n",
        "generator/__init__.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    graph = import_graph(tmp_path)
    assert graph["runtime.a"] == {"runtime.sub.b"} and graph["runtime.sub.b"] == {
        "runtime.a"
    }
    assert graph["runtime.sub"] == {"runtime.sub.b"}
    assert cycles(graph) == [["runtime.a", "runtime.sub.b"]]
    assert unexplained_inner_imports(tmp_path) == [
        "runtime/a.py:2: from runtime.sub.b import g"
    ]
