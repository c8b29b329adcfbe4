"""The shape of the code, read from its source with ``ast`` (nothing is imported): no import circle, modules
under 400 lines, the packages' layering (docs/architecture.md), and imports inside functions only where they
defer TensorFlow, Keras or another heavy optional dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)  # an import in one of these runs when it is called
# Third-party packages slow to import (seconds) or optional: an import inside a function may put them off.
HEAVY = {"tensorflow", "keras", "jax", "torch", "mtcnn", "cleanlab", "sklearn"}
# Layers of fer_core, lowest first: a module imports its own package or a lower layer, never a higher or equal one.
# The top-level modules (errors, labels, paths, quiet, config) are the foundation; cli and the dashboard sit on top.
LAYERS = {
    "foundation": 0,
    "runs": 1,
    "data": 2, "models": 2,
    "evaluation": 3, "vis": 3,
    "training": 4, "report": 4,
    "cli": 5,
    "dashboard": 6,
}
FOUNDATION = {"errors", "labels", "paths", "quiet", "config", "__init__"}


def _module_name(path: Path) -> str:
    """``fer_core.data.images`` for fer_core/data/images.py; a dashboard file by its import name (``state``,
    ``app_pages.model``), as Streamlit puts dashboard/ on ``sys.path``."""
    parts = list(path.relative_to(ROOT / "dashboard" if path.is_relative_to(ROOT / "dashboard") else ROOT)
                 .with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {_module_name(p): p for folder in ("fer_core", "dashboard") for p in sorted((ROOT / folder).rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in SOURCES.items()}


def _is_dashboard(name: str) -> bool:
    return SOURCES[name].is_relative_to(ROOT / "dashboard")


def _layer(name: str) -> str:
    if _is_dashboard(name):
        return "dashboard"
    parts = name.split(".")
    return "foundation" if len(parts) == 1 or (len(parts) == 2 and parts[1] in FOUNDATION) else parts[1]


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, runs_on_import: bool = False):
    """``(node, target names, inside a function)`` of every import statement in ``tree``; a ``from P import n``
    names ``P.n`` too, in case ``n`` is a submodule. With ``runs_on_import``, only the imports that run when the
    module is imported (not in a function, not under ``if TYPE_CHECKING``)."""

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if runs_on_import and (in_function or _type_checking(child)):
                continue
            if isinstance(child, ast.Import):
                yield child, [alias.name for alias in child.names], in_function
            elif isinstance(child, ast.ImportFrom) and child.module:
                yield child, [child.module, *(f"{child.module}.{alias.name}" for alias in child.names)], in_function
            yield from walk(child, in_function or isinstance(child, FUNCTIONS))

    yield from walk(tree, False)


def _resolve(target: str) -> str | None:
    """The module of ours that ``target`` names, or None for a third-party or standard one."""
    return target if target in SOURCES else None


def _edges(name: str, runs_on_import: bool = False) -> set[str]:
    """The modules of ours that ``name`` imports (see :func:`_imports`)."""
    found = {t for _, targets, _ in _imports(TREES[name], runs_on_import) for t in map(_resolve, targets)}
    return found - {None, name}


def _heavy(name: str, seen: set[str] | None = None) -> set[str]:
    """The heavy packages that importing ``name`` loads: through its top-level imports and theirs, and its
    packages' ``__init__``."""
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    found = {t.split(".")[0] for _, targets, _ in _imports(TREES[name], True) for t in targets} & HEAVY
    parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)} & set(SOURCES)
    for other in _edges(name, runs_on_import=True) | parents:
        found |= _heavy(other, seen)
    return found


def _cycle() -> list[str] | None:
    """One import circle among our modules (every import counts, in a function or under TYPE_CHECKING too)."""
    graph = {name: sorted(_edges(name)) for name in SOURCES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name):
        state[name] = 1
        path.append(name)
        for other in graph[name]:
            if state.get(other) == 1:
                return path[path.index(other):] + [other]
            if other not in state and (found := visit(other)):
                return found
        path.pop()
        state[name] = 2
        return None

    return next((found for name in graph if name not in state and (found := visit(name))), None)


def test_no_import_circle():
    assert _cycle() is None, " -> ".join(_cycle())


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_module_is_under_the_line_limit(name):
    lines = len(SOURCES[name].read_text().splitlines())
    assert lines < MAX_LINES, f"{SOURCES[name].relative_to(ROOT)}: {lines} lines; split it by idea"


def test_packages_import_only_lower_layers():
    wrong = []
    for name in SOURCES:
        for other in _edges(name):
            same = _layer(other) == _layer(name)
            if not same and LAYERS[_layer(other)] >= LAYERS[_layer(name)]:
                wrong.append(f"{name} ({_layer(name)}) imports {other} ({_layer(other)})")
    assert not wrong, "\n".join(wrong)


def test_imports_in_functions_only_defer_heavy_packages():
    """An import inside a function is allowed only when it puts off a heavy package that the module does not
    load already: a name in HEAVY, or a module of ours whose import loads one."""
    wrong = []
    for name in SOURCES:
        loaded = _heavy(name)
        for node, targets, in_function in _imports(TREES[name]):
            if not in_function:
                continue
            module = targets[0]
            deferred = {module.split(".")[0]} & HEAVY or set().union(*(_heavy(t) for t in map(_resolve, targets) if t))
            if not deferred - loaded:
                wrong.append(f"{SOURCES[name].relative_to(ROOT)}:{node.lineno}: {module} (defers nothing heavy)")
    assert not wrong, "move these imports to the top of their modules:\n" + "\n".join(wrong)


def test_the_checks_see_every_package():
    """The layers above name every package there is, so a new one is placed deliberately."""
    packages = {_layer(name) for name in SOURCES}
    assert packages == set(LAYERS), packages ^ set(LAYERS)
