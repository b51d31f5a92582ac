"""The house as it stands: the project's folders and which folders each one imports, read from the code's own
imports (deferred and TYPE_CHECKING ones included), floor by floor from the top. README's "For contributors"
shows this picture; tests/test_house.py holds README to it, so a change of the house shows in the README.

    python docs/house.py            # print the picture
    python docs/house.py --readme   # write it into README.md between its markers
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("vae_core", "services", "ui", "pages")
BEGIN, END = "<!-- house: begin (python docs/house.py --readme) -->", "<!-- house: end -->"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    files = {"app": REPO / "app.py"}
    for pkg in PACKAGES:
        for f in sorted((REPO / pkg).rglob("*.py")):
            files[module_name(f)] = f
    return files


MODULES = project_modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The project modules a ``from ... import`` names (a name that is a submodule counts as it)."""
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in MODULES:
            found.append(sub)
        elif target in MODULES:
            found.append(target)
    return found


def imports_of(name: str) -> set[str]:
    """Every project module ``name`` imports, at any depth of its code."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES:
                    out.add(a.name)
                elif a.name.rsplit(".", 1)[0] in MODULES:
                    out.add(a.name.rsplit(".", 1)[0])
        elif isinstance(node, ast.ImportFrom):
            out.update(_resolve(name, path.name == "__init__.py", node))
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in MODULES}


def folder_of(module: str) -> str:
    """The room a module lives in: a wing of vae_core, a package, or app.py."""
    parts = module.split(".")
    if parts[0] == "app":
        return "app.py"
    if parts[0] == "vae_core":
        if len(parts) == 1:
            return "vae_core/__init__.py"  # the package's face: its version and the picture of its wings
        if not (REPO / "vae_core" / parts[1]).is_dir():
            return "vae_core/"  # __main__ and bundle: the command line
        return f"vae_core/{parts[1]}/"
    return f"{parts[0]}/"


def folder_graph() -> dict[str, set[str]]:
    rooms: dict[str, set[str]] = {}
    for name, targets in graph().items():
        here = folder_of(name)
        rooms.setdefault(here, set()).update(folder_of(t) for t in targets if folder_of(t) != here)
    return rooms


def floors(rooms: dict[str, set[str]]) -> dict[str, int]:
    """Each room's floor: 0 for a room that imports none, else one above the highest room it imports."""
    level: dict[str, int] = {}

    def visit(room: str, seen: tuple[str, ...] = ()) -> int:
        if room in level:
            return level[room]
        if room in seen:
            raise ValueError(f"the folders import each other: {' -> '.join(seen + (room,))}")
        below = [visit(t, seen + (room,)) for t in rooms.get(room, ())]
        level[room] = 1 + max(below) if below else 0
        return level[room]

    for room in rooms:
        visit(room)
    return level


def picture() -> str:
    rooms = folder_graph()
    level = floors(rooms)
    width = max(len(r) for r in rooms) + 2
    lines = []
    for floor in sorted(set(level.values()), reverse=True):
        for room in sorted(r for r in rooms if level[r] == floor):
            targets = ", ".join(sorted(rooms[room], key=lambda t: (-level[t], t))) or "(nothing of the project)"
            lines.append(f"floor {floor}  {room:<{width}}-> {targets}")
    return "\n".join(lines)


def readme_block() -> str:
    return f"{BEGIN}\n```text\n{picture()}\n```\n{END}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", action="store_true", help="write the picture into README.md")
    args = parser.parse_args(argv)
    if not args.readme:
        print(picture())
        return 0
    readme = REPO / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"README.md has no {BEGIN} ... {END} markers: add them where the picture goes", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + readme_block() + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
