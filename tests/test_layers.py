"""The package's layers run one way, and no module imports itself back through others.

Every import counts: at the top, inside functions (lazy) and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import airflow_provider_metrika

PACKAGE = Path(airflow_provider_metrika.__file__).parent
NAME = "airflow_provider_metrika"

#: Each top-level name of the package, by layer: a module imports only from its layer or below.
LAYERS: dict[str, int] = {
    # the base: values, arguments, errors, paths; nothing of Metrika's calls
    "__init__": 0,
    "_compat": 0,
    "constants": 0,
    "exceptions": 0,
    "arguments": 0,
    "extras": 0,
    "progress": 0,
    "storage": 0,
    "parts": 0,
    "links": 0,
    "get_provider_info": 0,
    "javascript_goals": 0,
    "examples": 0,
    # the cores (no Airflow) and the emulator
    "simple_orders": 1,
    "offline_conversions": 1,
    "expenses": 1,
    "emulator": 1,
    # one method per Metrika call
    "hooks": 2,
    # the flows
    "delivery": 3,
    "waiting": 3,
    "sync": 3,
    # what Airflow runs
    "triggers": 4,
    "sensors": 5,
    "operators": 5,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Yield the package modules ``module`` imports, wherever the import statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith(NAME) and name != module:
                yield name


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: set(_imports(module, path, known)) for module, path in known.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    assert top in LAYERS, f"{module}: give its package a layer in tests/test_layers.py"
    return LAYERS[top]


def test_every_import_goes_to_the_same_layer_or_below() -> None:
    upward = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if _layer(target) > _layer(module) and target != NAME
    ]
    assert upward == []


def test_no_import_circle_anywhere_in_the_package() -> None:
    graph = _graph()
    circles: list[list[str]] = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert circles == []


def test_the_check_sees_lazy_and_type_only_imports() -> None:
    graph = _graph()
    # Imported inside a function (the core loads when a task runs) and under TYPE_CHECKING.
    assert f"{NAME}.simple_orders" in graph[f"{NAME}.operators.simple_orders"]
    assert f"{NAME}.hooks.metrika" in graph[f"{NAME}.delivery.simple_orders"]


def test_every_public_module_in_operators_defines_an_operator() -> None:
    import importlib

    from airflow_provider_metrika._compat import BaseOperator

    for path in sorted((PACKAGE / "operators").glob("[!_]*.py")):
        module = importlib.import_module(f"{NAME}.operators.{path.stem}")
        own = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseOperator)
            and value.__module__ == module.__name__
        ]
        assert own, (
            f"operators/{path.name} defines no operator: helpers go with their flow or in private modules"
        )
