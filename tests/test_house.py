"""The house holds its shape: every import of the project's code (deferred and TYPE_CHECKING ones included)
runs down the floors, no two modules import each other through any chain, and each wing of vae_core imports
only the wings its ``__init__`` allows.

The floors, top to bottom: pages and app.py; ui; services; vae_core (its own wings in the order of
vae_core/__init__.py). bench/, serve/ and tests/ stand beside the house and are not checked here.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs"))

import house  # noqa: E402  (docs/house.py: the graph of the code's imports, and README's picture of it)

# vae_core's wings and the wings each may import (besides itself); the model, data and render wings are the
# bottom floor and import nothing else of the project.
WINGS = {
    "model": set(),
    "data": set(),
    "render": set(),
    "store": {"model", "render"},
    "analysis": {"model"},
    "projection": {"store"},
    "training": {"model", "data", "store", "analysis"},
    "__main__": {"model", "data", "store", "analysis", "render", "training"},
    "bundle": {"model", "data", "store", "analysis", "projection", "training"},
}
ALLOWED_TOP = {  # which packages a package may import
    "vae_core": {"vae_core"},
    "services": {"vae_core", "services"},
    "ui": {"vae_core", "services", "ui"},
    "pages": {"vae_core", "services", "ui"},
    "app": {"vae_core", "services", "ui"},
}
MODULES = house.MODULES
GRAPH = house.graph()


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "vae_core" and len(parts) > 1 else None


def test_the_reader_sees_the_imports_it_checks():
    """The graph is read from the code: a known deferred import and a known relative one are in it."""
    assert "vae_core.store.test_splits" in GRAPH["vae_core.store.checkpoints"]  # deferred, inside a function
    assert "vae_core.model.variants.base" in GRAPH["vae_core.model.variants.vae"]  # relative
    assert "vae_core.model.config" in GRAPH["vae_core.training.trainer"]


def test_no_module_imports_itself_through_others():
    cycles = _cycles()
    assert cycles == [], "import circles (each a set of modules that import each other):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_packages_import_only_downwards():
    wrong = []
    for name, targets in GRAPH.items():
        top = name.split(".")[0]
        for t in targets:
            if t.split(".")[0] not in ALLOWED_TOP[top]:
                wrong.append(f"{name} -> {t}")
    assert wrong == [], "imports that run up the house:\n" + "\n".join(wrong)


def test_each_wing_imports_only_the_wings_it_may():
    wrong = []
    for name, targets in GRAPH.items():
        wing = _wing(name)
        if wing is None:
            continue
        for t in targets:
            other = _wing(t)
            if other is not None and other != wing and other not in WINGS[wing]:
                wrong.append(f"{name} -> {t}")
    assert wrong == [], "a wing imports one it may not (vae_core/__init__.py lists the order):\n" + "\n".join(wrong)


@pytest.mark.parametrize("wing", sorted(w for w in WINGS if not w.startswith("__") and w != "bundle"))
def test_each_wing_says_what_it_holds_and_may_import(wing):
    doc = ast.get_docstring(ast.parse((REPO / "vae_core" / wing / "__init__.py").read_text())) or ""
    assert "Holds:" in doc and "May import:" in doc, f"vae_core/{wing}/__init__.py must say what it holds and may import"
    modules = sorted(p.stem for p in (REPO / "vae_core" / wing).glob("*.py") if p.stem != "__init__")
    missing = [m for m in modules if m not in doc]
    assert missing == [], f"vae_core/{wing}/__init__.py does not name {missing}"


def test_the_core_and_the_services_never_import_streamlit():
    for name, path in MODULES.items():
        if name.split(".")[0] not in ("vae_core", "services"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(m == "streamlit" or m.startswith("streamlit.") for m in mods), f"{path} imports streamlit"


def test_readme_shows_the_house_as_it_stands():
    text = (REPO / "README.md").read_text()
    assert house.BEGIN in text and house.END in text, "README.md lost the house's markers"
    shown = text[text.index(house.BEGIN):text.index(house.END) + len(house.END)]
    assert shown == house.readme_block(), "README's picture of the house is out of date: python docs/house.py --readme"


def test_pages_are_short_compositions_of_the_ui():
    """A page is a few lines calling ui's *_ui functions: it imports only ui/ (and Streamlit), and its state
    lives in ui/state/."""
    for page in sorted((REPO / "pages").glob("*.py")):
        name = house.module_name(page)
        lines = len(page.read_text().splitlines())
        assert lines <= 60, f"{page.name} has {lines} lines: move its parts to ui/{page.stem}_ui.py"
        assert all(t.split(".")[0] == "ui" for t in GRAPH[name]), f"{page.name} imports {sorted(GRAPH[name])}"
        assert "session_state" not in page.read_text(), f"{page.name} touches session state: use ui/state/"
