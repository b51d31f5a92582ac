"""A discrete latent's picture: an image with its grid of code indices over it, one cell per position of the
encoder's map (components v2: inline HTML, CSS and JavaScript in ui/js/code_grid.js, no build step).

Each cell is a button labelled with its code (a screen reader reads "row 3, column 4: code 17"); a click, or
Enter on a focused cell, sends the cell back, and the page changes that code and redraws. ``still=True`` shows
the grid without buttons (a drawing's codes, an image's codes beside a lesson).
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from vae_core.render.images import to_png, to_uint8

from .component_data import component, component_data

_JS = Path(__file__).parent / "js"
_HTML = '<div class="vae-codes"><div class="frame"><img alt=""><div class="cells"></div></div></div>'
_CSS = """
.vae-codes .frame { position: relative; width: var(--size); height: var(--size); max-width: 100%;
  aspect-ratio: 1 / 1; container-type: inline-size; }
.vae-codes img { position: absolute; inset: 0; width: 100%; height: 100%; image-rendering: pixelated;
  border-radius: 6px; }
.vae-codes .cells { position: absolute; inset: 0; display: grid;
  grid-template-columns: repeat(var(--cols), 1fr); grid-template-rows: repeat(var(--rows), 1fr); }
.vae-codes .cell { display: flex; align-items: center; justify-content: center; margin: 0; padding: 0;
  font: 600 calc(100cqw / var(--cols) / 3) / 1 ui-monospace, monospace; color: #fff;
  background: transparent; border: 1px solid rgba(255, 255, 255, .35);
  text-shadow: 0 0 3px #000, 0 0 2px #000, 0 0 1px #000; }
.vae-codes button.cell { cursor: pointer; }
.vae-codes button.cell:hover { background: rgba(79, 70, 229, .35); }
.vae-codes button.cell:focus-visible { outline: 3px solid #facc15; outline-offset: -3px; z-index: 1; }
.vae-codes .cell.changed { border: 3px solid #facc15; text-decoration: underline; }
.vae-codes .cell.changed::after { content: "•"; margin-left: .15em; color: #facc15; }
.vae-codes.hall .frame { width: min(calc(100vh - 14rem), 40vw); height: auto; }
"""
_component = component("vae_code_grid", html=_HTML, css=_CSS, js=(_JS / "code_grid.js").read_text())


def png_uri(image: np.ndarray) -> str:
    """One image (C, H, W) floats in [0, 1] or (H, W[, C]) uint8 as a PNG data URI."""
    arr = np.asarray(image)
    pixels = arr if arr.dtype == np.uint8 else to_uint8(arr[None])[0]
    return "data:image/png;base64," + base64.b64encode(to_png(pixels)).decode("ascii")


def code_grid(key: str, image: np.ndarray, codes: np.ndarray, *, changed: np.ndarray | None = None,
              size: int = 420, hall: bool = False, still: bool = False, action: str | None = None,
              alt: str | None = None, on_click: Callable[[], None] | None = None) -> None:
    """Show ``image`` (the decoded grid) with the code indices ``codes`` (h, w) over it. A click calls
    ``on_click``; the clicked cell is then ``clicked_cell(key)``. ``changed`` (h, w) marks cells whose code is
    not the image's own. ``action`` says what a click does (read out with each cell)."""
    codes = np.asarray(codes, np.int64)
    data = {"grid": [int(codes.shape[0]), int(codes.shape[1])], "codes": codes.ravel().tolist(),
            "changed": None if changed is None else np.asarray(changed, bool).ravel().astype(int).tolist(),
            "image": png_uri(image), "size": int(size), "hall": bool(hall), "still": bool(still),
            "action": action, "alt": alt}
    kwargs = {} if still or on_click is None else {"on_click_change": on_click}
    _component(key=key, data=component_data(data), **kwargs)


def clicked_cell(key: str) -> tuple[int, int] | None:
    """The cell (row, col) the grid ``key`` sent last, or None; anything malformed is None."""
    value = st.session_state.get(key) or {}
    click = value.get("click") if hasattr(value, "get") else None
    if not isinstance(click, dict):
        return None
    try:
        return int(click["row"]), int(click["col"])
    except (KeyError, TypeError, ValueError):
        return None
