"""Every image the app shows says what it shows: each call that puts a picture on a page (st.image and a
column's .image, show_image, show_grid, show_tiled, a Picture's .show, the animation and code grid components,
a map with marks) passes a text alternative ``alt``, and the ones that build an <img> by hand give it one. A
screen reader reads the alt; the caption, shown to all, is not read in its place. The browser test
(tests/test_accessibility_browser.py) checks the pages as drawn; this one reaches the branches a browser test
does not open (a VQ-VAE's codebook, the class room, a model with levels)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(REPO / "ui").rglob("*.py"), *(REPO / "pages").rglob("*.py"), REPO / "app.py"])
# the calls that show a picture, by the name called (a function or a method)
SHOWS = {"image", "show_image", "show_grid", "show_tiled", "show", "animation", "map_with_marks"}
# .show( of something that is not a picture: none in ui/ or pages/ today; a new one is named here with its reason
NOT_PICTURES: set[tuple[str, int]] = set()


def picture_calls(path: Path) -> list[tuple[int, str, bool]]:
    """(line, the call's text, whether it passes alt=) for every call in ``path`` whose name shows a picture."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if name in SHOWS:
            has_alt = any(k.arg == "alt" for k in node.keywords) or any(k.arg is None for k in node.keywords)
            found.append((node.lineno, ast.unparse(node)[:100], has_alt))
    return found


def test_the_check_sees_the_calls_it_looks_for(tmp_path):
    """The reader finds a call without alt and one with it (so an empty result below means something)."""
    src = tmp_path / "page.py"
    src.write_text("import streamlit as st\ncol = st\ncol.image(b'', caption='x')\nshow_grid(g, 3, alt='a grid')\n"
                   "pic.show('caption')\n")
    assert [(line, has) for line, _, has in picture_calls(src)] == [(3, False), (4, True), (5, False)]


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_every_picture_shown_has_a_text_alternative(path):
    rel = str(path.relative_to(REPO))
    missing = [f"{rel}:{line}: {text}" for line, text, has in picture_calls(path)
               if not has and (rel, line) not in NOT_PICTURES]
    assert not missing, "pass alt= (what the picture shows: for a decoded image its model and z, " \
                        "images.decoded_alt):\n" + "\n".join(missing)


def test_every_img_built_by_hand_has_an_alt():
    missing = []
    for path in SOURCES:
        for k, line in enumerate(path.read_text().splitlines(), 1):
            for tag in re.findall(r"<img\b[^>]*>?", line):
                if "alt=" not in tag:
                    missing.append(f"{path.relative_to(REPO)}:{k}: {tag}")
    assert not missing, "give each <img> an alt that says what it shows:\n" + "\n".join(missing)
