"""The layers import only downwards, and no module imports itself back through a loop.

    model  <-  data  <-  evaluation  <-  training  <-  cli
       ^        ^                                    |
       +--------+----------  serve  <----------------+
       +--------+----------  batch  <----------------+

Every `netralitas.*` import of every module counts, including imports inside functions (they are
still dependencies); imports under `if TYPE_CHECKING:` do not (they never run). Run this file as a
script to print the package graph: `python -m tests.test_layers`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "data", "evaluation", "training", "serve", "batch", "cli")
# What each layer may import (itself included); serve never sees training or evaluation.
ALLOWED = {
    "model": {"model"},
    "data": {"model", "data"},
    "evaluation": {"model", "data", "evaluation"},
    "training": {"model", "data", "evaluation", "training"},
    "serve": {"model", "data", "serve"},
    "batch": {"model", "data", "batch"},
    "cli": set(PACKAGES),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return "netralitas." + ".".join(parts)


def _runtime_imports(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Absolute names of the netralitas modules imported, skipping `if TYPE_CHECKING:` blocks."""
    found: set[str] = set()
    package = module if is_package else module.rsplit(".", 1)[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("netralitas."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.startswith("netralitas."):
                found.add(name)
                # `from netralitas.x import y` may import the submodule y.
                found.update(f"{name}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def module_graph() -> dict[str, set[str]]:
    """Every module of the packages -> the netralitas modules it imports."""
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _runtime_imports(
            ast.parse(path.read_text("utf-8")), name, path.stem == "__init__"
        )
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _layer(module: str) -> str:
    return module.split(".")[1]


def package_graph() -> dict[str, set[str]]:
    """Each package -> the other packages it imports."""
    out: dict[str, set[str]] = defaultdict(set)
    for module, imported in module_graph().items():
        out[_layer(module)] |= {_layer(m) for m in imported} - {_layer(module)}
    return {pkg: out[pkg] for pkg in PACKAGES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_package_imports_only_below_it():
    graph = module_graph()
    assert len(graph) > 50, "the scan found too few modules: is ROOT right?"
    wrong = sorted(
        f"{module} imports {target}"
        for module, imported in graph.items()
        for target in imported
        if _layer(target) not in ALLOWED[_layer(module)]
    )
    assert wrong == []


def test_no_import_loop_between_modules():
    assert _find_cycle(module_graph()) is None


def test_the_checks_can_fail():
    """The two checks above catch what they are for (a layer breach, a loop)."""
    tree = ast.parse("from netralitas.training.train import train\nimport netralitas.cli.main")
    assert _runtime_imports(tree, "netralitas.serve.app", False) >= {
        "netralitas.training.train",
        "netralitas.cli.main",
    }
    guarded = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import netralitas.cli"
    )
    assert _runtime_imports(guarded, "netralitas.model.x", False) == set()
    relative = ast.parse("from ..text.normalize import TextNormalizer")
    assert "netralitas.model.text.normalize" in _runtime_imports(
        relative, "netralitas.model.backends.tfidf", False
    )
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


if __name__ == "__main__":
    for package, imported in package_graph().items():
        print(f"{package:<11} imports {', '.join(sorted(imported)) or '(nothing)'}")
    print("module loop:", _find_cycle(module_graph()) or "none")
