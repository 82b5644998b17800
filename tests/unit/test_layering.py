"""The layering of the packages: the pure ones never reach the edges.

``pipeline.contract``, ``pipeline.records``, ``pipeline.screening``, ``pipeline.rules``,
``pipeline.reference`` and ``pipeline.notices`` hold the screening logic. They must not import
the worker, the Kafka clients, the workbench or the command line, nor Faust, a Kafka client or
a database driver, neither directly nor through another module of the project they import.
The tooling (``pipeline.samples``: the sample generator and converters; ``pipeline.ops``:
dashboards, alert and settings documents built from code) stays out of what a worker or the
workbench runs: nothing there reaches it, so it may change without touching the runtime.
The imports are read with ``ast``, so that nothing is imported to check them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = (
    "pipeline.contract",
    "pipeline.records",
    "pipeline.screening",
    "pipeline.rules",
    "pipeline.reference",
    "pipeline.notices",
)
FORBIDDEN = (
    "pipeline.worker",
    "pipeline.kafka",
    "pipeline.workbench",
    "pipeline.cli",
    "faust",
    "confluent_kafka",
    "aiokafka",
    "psycopg",
)
RUNTIME = (
    *PURE,
    "pipeline.worker",
    "pipeline.kafka",
    "pipeline.workbench",
    "pipeline.feedback",
    "pipeline.c2c",
    "pipeline.targeting",
    "pipeline.archive",
)
TOOLING = ("pipeline.samples", "pipeline.ops")
# Modules of the pure packages allowed at the edge, each with the reason (none today).
ALLOWED: dict[str, set[str]] = {}


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _modules(package: str) -> Iterator[str]:
    path = _path_of(package)
    assert path is not None, package
    if path.name != "__init__.py":
        yield package
        return
    for file in sorted(path.parent.rglob("*.py")):
        parts = file.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imports(module: str) -> frozenset[str]:
    """Every module named by an import statement of the module, wherever the statement is."""
    path = _path_of(module)
    if path is None:
        return frozenset()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # ``from pipeline.kafka import mirror`` imports the module pipeline.kafka.mirror
            found.update(f"{base}.{a.name}" for a in node.names if _path_of(f"{base}.{a.name}"))
    return frozenset(found)


def _is_under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _violations(module: str, forbidden: tuple[str, ...] = FORBIDDEN) -> list[str]:
    """The forbidden imports reached from the module, each with the chain that reaches it."""
    found: list[str] = []
    seen = {module}
    todo = [(module, (module,))]
    while todo:
        current, chain = todo.pop()
        for imported in sorted(_imports(current)):
            if imported in ALLOWED.get(current, set()):
                continue
            if _is_under(imported, forbidden):
                found.append(" -> ".join([*chain, imported]))
            elif imported.startswith("pipeline.") and imported not in seen:
                seen.add(imported)
                todo.append((imported, (*chain, imported)))
    return found


def test_the_check_sees_a_forbidden_import() -> None:
    assert _is_under("pipeline.kafka.reader", FORBIDDEN)
    assert "pipeline.kafka.reader" in _imports("pipeline.kafka.mirror")
    assert not _is_under("pipeline.kafkaesque", FORBIDDEN)


@pytest.mark.parametrize("package", PURE)
def test_a_pure_package_reaches_no_edge(package: str) -> None:
    modules = list(_modules(package))
    assert modules
    assert [v for m in modules for v in _violations(m)] == []


def test_every_allowed_exception_is_still_needed() -> None:
    for module, allowed in ALLOWED.items():
        assert allowed <= _imports(module), module


@pytest.mark.parametrize("package", RUNTIME)
def test_the_runtime_reaches_no_tooling(package: str) -> None:
    modules = list(_modules(package))
    assert modules
    assert [v for m in modules for v in _violations(m, TOOLING)] == []
