"""The package's modules import one another without cycles, so each layer can be read, tested and changed on
its own. The one cycle allowed is Flask's blueprint registration: ``rapidreview.web`` registers its views,
which use the helpers ``rapidreview.web`` holds. Imports inside functions count too: a lazy import hides a
cycle, it does not remove it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import rapidreview

PACKAGE = Path(rapidreview.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                found = known(target) if target.startswith("rapidreview") else None
                if found and found != name:
                    graph[name].add(found)
    return graph


def _cycles(graph: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
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


def _blueprint_registration(component: list[str]) -> bool:
    return all(m == "rapidreview.web" or m.startswith("rapidreview.web.views") for m in component)


def test_no_module_imports_itself_through_others() -> None:
    modules = _modules()
    cycles = [c for c in _cycles(_graph(modules), sorted(modules)) if not _blueprint_registration(c)]
    assert cycles == []


def test_the_check_finds_a_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert _cycles(graph, ["a", "b", "c", "d"]) == [["a", "b", "c"]]


def test_the_web_layer_reaches_the_store_and_the_engine_only_through_services() -> None:
    """Views and their helpers ask services, which own transactions and translate engine and store errors:
    besides services, ``rapidreview.web`` imports only leaves that hold no data and run no step."""
    leaves = ("rapidreview.errors", "rapidreview.calendar", "rapidreview.clock", "rapidreview.config",
              "rapidreview.forms", "rapidreview.observability", "rapidreview.oidc_settings",
              "rapidreview.operator_table", "rapidreview.runtime", "rapidreview.resources",
              "rapidreview.documents.spreadsheet")  # the file formats of downloads: no data access
    modules = _modules()
    graph = _graph(modules)
    reaching = sorted(f"{name} imports {target}" for name in modules if name.startswith("rapidreview.web")
                      for target in graph[name]
                      if not target.startswith(("rapidreview.web", "rapidreview.services", *leaves))
                      and target != "rapidreview")
    assert reaching == []
