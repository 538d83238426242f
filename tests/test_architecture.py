"""The house stays in order: no import circles, rooms of a size one can hold in mind.

DESIGN.md and docs/architecture.md say which package may import which; these
tests hold the whole tree to it. An import anywhere in a module counts, at
the top or inside a function: a circle deferred into a function is still a
circle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geoenergy", "detectors", "layers", "webmap", "bench")
MAX_LINES = 1000


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts or "migrations" in path.parts:
                continue
            out[_module_name(path)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of this tree it imports (anywhere in its body)."""
    modules = _sources()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # ``from pkg import sub`` imports the module pkg.sub when it is one.
                for alias in node.names:
                    targets.add(f"{module}.{alias.name}")
        edges = {_resolve(t, modules) for t in targets} - {None, name}
        graph[name] = edges
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_library_never_imports_the_cli():
    graph = import_graph()
    offenders = {
        m: sorted(t for t in targets if t == "geoenergy.cli" or t.startswith("geoenergy.cli."))
        for m, targets in graph.items()
        if not (m == "geoenergy.cli" or m.startswith("geoenergy.cli."))
        and not m.startswith("bench")
    }
    offenders = {m: t for m, t in offenders.items() if t}
    assert not offenders, f"library modules import the CLI: {offenders}"


def test_the_cli_lives_in_one_folder():
    loose = sorted(p.name for p in (ROOT / "geoenergy").glob("cli*.py"))
    assert not loose, f"CLI modules outside geoenergy/cli/: {loose}"
    assert (ROOT / "geoenergy" / "cli" / "__init__.py").exists()


@pytest.mark.parametrize("package", PACKAGES)
def test_no_room_too_big_to_hold_in_mind(package):
    big = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / package).rglob("*.py")
        if "node_modules" not in p.parts
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"source files over {MAX_LINES} lines: {big}"


@pytest.mark.parametrize("package", PACKAGES[:4])
def test_every_module_says_what_it_is_for(package):
    silent = [
        str(p.relative_to(ROOT))
        for p in (ROOT / package).rglob("*.py")
        if "node_modules" not in p.parts
        and "migrations" not in p.parts
        and p.stat().st_size > 0
        and not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert not silent, f"modules without an opening docstring: {silent}"
