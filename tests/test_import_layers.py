"""Imports point down: the layers below the window import nothing above them, and no module of
models/, data/, sampling/, analysis/, studies/, trainers/ or bench/ takes part in an import cycle.

Read from the source with `ast` (every import, also those inside functions), so nothing is imported
to check it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("latentlab.models", "latentlab.data", "latentlab.sampling", "latentlab.analysis", "latentlab.studies",
           "trainers", "latentlab.bench")

# package -> the packages it must never import (directly or lazily)
FORBIDDEN = {
    "latentlab.models": ("latentlab.data", "latentlab.sampling", "latentlab.analysis", "latentlab.studies",
                         "latentlab.explorer", "latentlab.services", "latentlab.ui", "latentlab.bench", "trainers"),
    "latentlab.data": ("latentlab.models", "latentlab.sampling", "latentlab.analysis", "latentlab.studies",
                       "latentlab.explorer", "latentlab.services", "latentlab.ui", "latentlab.bench", "trainers"),
    "latentlab.sampling": ("latentlab.studies", "latentlab.explorer", "latentlab.services", "latentlab.ui",
                           "latentlab.bench", "trainers"),
    "latentlab.analysis": ("latentlab.studies", "latentlab.explorer", "latentlab.services", "latentlab.ui",
                           "latentlab.bench", "trainers"),
    "latentlab.studies": ("latentlab.explorer", "latentlab.services", "latentlab.ui", "latentlab.bench"),
    "trainers": ("latentlab.studies", "latentlab.explorer", "latentlab.services", "latentlab.ui", "latentlab.bench"),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for package in ("latentlab", "trainers"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _import_graph() -> dict[str, set[str]]:
    """module -> the latentlab/trainers modules it imports (`from pkg import name` counts as pkg.name
    when that is a module, else as pkg)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            targets.update(t for t in map(resolve, names) if t is not None and t != module)
        graph[module] = targets
    return graph


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


GRAPH = _import_graph()


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    wrong = sorted(f"{module} -> {target}" for module, targets in GRAPH.items() if _in(module, package)
                   for target in targets if any(_in(target, above) for above in FORBIDDEN[package]))
    assert not wrong, "imports pointing up:\n" + "\n".join(wrong)


def test_no_import_cycles_through_the_checked_packages():
    checked = {m for m in GRAPH if any(_in(m, p) for p in CHECKED)}
    cycles = []
    # a cycle through module m exists iff m is reachable from one of its own imports
    for start in sorted(checked):
        seen, frontier = set(), [t for t in GRAPH[start] if t in checked]
        while frontier:
            module = frontier.pop()
            if module == start:
                cycles.append(start)
                break
            if module not in seen:
                seen.add(module)
                frontier.extend(t for t in GRAPH[module] if t in checked)
    assert not cycles, f"modules in an import cycle: {', '.join(cycles)}"


def test_the_graph_sees_lazy_imports():
    """The check would miss nothing: an import inside a function counts (the chain bench's lazy one)."""
    assert "latentlab.studies.chain_study" in GRAPH["latentlab.bench.chain"]
    assert "latentlab.sampling.pixels" in GRAPH["latentlab.evaluate"]
