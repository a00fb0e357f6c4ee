"""The package layout holds: rooms import downwards only, and each outside library lives in one room.

Reads every module's imports with `ast` (imports inside functions count; `if TYPE_CHECKING:`
blocks do not, as they never run), so a cycle or a leak fails here before anyone has to find it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bouncewatch"

# Rooms from the bottom up: a room may import rooms on its own floor or below, never above.
# Single modules directly in bouncewatch/ are rooms of their own.
FLOORS: list[set[str]] = [
    {"__init__", "records", "logs"},
    {"config"},
    {"parse", "rules"},
    {"store", "imap", "providers"},
    {"publish", "testing"},
    {"service"},
    {"web"},
    {"cli", "__main__"},
]
FLOOR_OF = {room: floor for floor, rooms in enumerate(FLOORS) for room in rooms}

# Each outside library is imported from one room only.
LIBRARY_ROOMS = {
    "imapclient": "imap",
    "peewee": "store",
    "playhouse": "store",
    "psycopg2": "store",
    "apscheduler": "service",
    "flask": "web",
    "flask_wtf": "web",
    "werkzeug": "web",
    "hypercorn": "web",
    "prometheus_client": "web",
    "click": "cli",
    "cryptography": "providers",
    "ahocorasick": "parse",
    "dnslib": "testing",
}

MAX_TOP_LEVEL_MODULES = 12


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@functools.cache
def _imports(module: str, path: Path) -> tuple[str, ...]:
    """Every module name `path` imports when it runs (read once per session)."""
    return tuple(_read_imports(module, path))


def _read_imports(module: str, path: Path) -> Iterator[str]:
    """Every module name `path` imports when it runs (TYPE_CHECKING blocks left out)."""
    is_package = path.name == "__init__.py"
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        todo.extend(ast.iter_child_nodes(node))


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "bouncewatch":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _room_edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    known = {name for name, _ in _modules()}
    for module, path in _modules():
        source_room = _room(module)
        for imported in _imports(module, path):
            if imported not in known:
                continue  # a name imported from a module, not a module
            target_room = _room(imported)
            if target_room and target_room != source_room and target_room != "__init__":
                edges.setdefault((source_room, target_room), []).append(module)
    return edges


def test_every_room_has_a_floor() -> None:
    """A new room must be placed on a floor (and so in the import order) before it can land."""
    rooms = {_room(module) for module, _ in _modules()}
    assert rooms - FLOOR_OF.keys() == set()


def test_rooms_import_only_downwards() -> None:
    """No room imports a room above it, so there can be no cycle between rooms."""
    upward = {
        f"{source} → {target} (in {', '.join(sorted(set(modules)))})"
        for (source, target), modules in _room_edges().items()
        if FLOOR_OF[target] > FLOOR_OF[source]
    }
    assert upward == set()


def test_no_cycle_between_rooms() -> None:
    """Rooms on the same floor may import each other one way only."""
    edges = _room_edges()
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = {room for room in graph if reaches(room, room, {room})}
    assert cycles == set()


@pytest.mark.parametrize("library", sorted(LIBRARY_ROOMS))
def test_library_lives_in_one_room(library: str) -> None:
    """An outside library is imported from its room only; the rest of the code goes through it."""
    rooms = {
        _room(module)
        for module, path in _modules()
        for imported in _imports(module, path)
        if imported.split(".")[0] == library
    }
    assert rooms <= {LIBRARY_ROOMS[library]}


def test_few_modules_at_the_top() -> None:
    """The package's top level holds rooms, not a heap of modules."""
    top = [path.name for path in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_the_guard_sees_imports() -> None:
    """The reader finds relative imports inside functions and skips TYPE_CHECKING blocks."""
    edges = _room_edges()
    assert ("cli", "service") in edges  # commands load the service lazily, inside functions
    assert ("service", "store") in edges
