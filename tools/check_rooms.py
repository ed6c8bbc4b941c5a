"""Check model/'s import graph: no module circles, no room circles, and no room importing one
above it, counting every import (top-level, inside functions, under TYPE_CHECKING) and every
module named in a string (importlib, monkeypatch targets), which import-linter cannot see.

The room order is the layers contract in pyproject.toml, read from there.

    python -m tools.check_rooms        # exits 1 and names each circle or back arrow
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "model"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports, by any route."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = _named_module(node.value, known)
        found |= {name for name in names if name in known}
    return found


def _named_module(text: str, known: set[str]) -> list[str]:
    """The module a string names when the whole string is a dotted name (an importlib or
    monkeypatch target: "model.x.y" or "model.x.y.attribute"); prose never counts."""
    if not re.fullmatch(rf"{PACKAGE}(?:\.[A-Za-z_]+)+", text):
        return []
    parts = text.split(".")
    prefixes = (".".join(parts[:end]) for end in range(len(parts), 0, -1))
    return [next((prefix for prefix in prefixes if prefix in known), PACKAGE)]


def graph() -> dict[str, set[str]]:
    table = modules()
    known = set(table)
    return {name: imports_of(path, known) - {name} for name, path in table.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def room_order() -> list[list[str]]:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for contract in settings["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "layers" and not contract.get("containers"):
            return [[room.strip() for room in layer.split("|")] for layer in contract["layers"]]
    raise SystemExit("pyproject.toml has no layers contract for the engine's rooms")


def room_of(module: str, rooms: list[str]) -> str | None:
    return next((room for room in rooms if module == room or module.startswith(room + ".")), None)


def problems() -> list[str]:
    edges = graph()
    found = [f"circle: {' <-> '.join(group)}" for group in circles(edges)]
    order = room_order()
    rank = {room: height for height, layer in enumerate(order) for room in layer}
    every_room = list(rank)
    room_edges: dict[str, set[str]] = {}
    for source, targets in edges.items():
        source_room = room_of(source, every_room)
        if source_room is None and source != PACKAGE:
            found.append(f"{source} is in no room")
            continue
        for target in targets:
            target_room = room_of(target, every_room)
            if source_room is None or target_room is None or target_room == source_room:
                continue
            room_edges.setdefault(source_room, set()).add(target_room)
            if rank[target_room] <= rank[source_room]:
                found.append(f"back arrow: {source} ({source_room}) imports {target} ({target_room})")
    found += [f"room circle: {' <-> '.join(group)}" for group in circles(room_edges)]
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    edges = graph()
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports: {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
