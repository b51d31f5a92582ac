"""The drawing canvas (components v2: inline HTML, CSS and JavaScript, no build step)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from .component_data import component, component_data

_JS = Path(__file__).parent / "js"
_HTML = """
<div class="vae-draw">
  <canvas width="280" height="280" aria-label="drawing canvas: draw with the mouse, a pen or a finger"></canvas>
  <div class="row"><button class="clear" type="button">Clear</button>
  <span class="hint">Draw one digit, large, in the middle.</span></div>
</div>
"""
_CSS = """
.vae-draw canvas { display: block; background: #000; border-radius: 8px; border: 2px solid #555;
  touch-action: none; cursor: crosshair; max-width: 100%; height: auto !important; box-sizing: border-box; }
.vae-draw .row { display: flex; align-items: center; gap: .8rem; margin-top: .5rem; }
.vae-draw button { font-size: 1.05rem; padding: .35rem 1.1rem; border-radius: .5rem; border: 1px solid #bbb;
  background: #fff; cursor: pointer; }
.vae-draw button:hover { border-color: var(--st-primary-color, #4f46e5); color: var(--st-primary-color, #4f46e5); }
.vae-draw .hint { color: #666; font-size: .95rem; }
.vae-draw.hall canvas { width: min(calc(100vh - 10rem), 38vw) !important; height: auto !important; }
"""
_component = component("vae_draw_canvas", html=_HTML, css=_CSS, js=(_JS / "draw.js").read_text())


def draw_canvas(key: str, store: str, *, display: int = 320, brush: int = 22, hall: bool = False) -> str | None:
    """Show the canvas and keep its drawing in ``st.session_state[store]`` (a PNG data URL, white on
    black; None when cleared), which is returned. The kept drawing outlives a visit to another page:
    a new canvas paints it back. ``hall``: as large as a projector's screen allows (presenter mode)."""
    def copy() -> None:
        image = (st.session_state.get(key) or {}).get("image")
        st.session_state[store] = image if isinstance(image, str) else None

    _component(key=key, data=component_data({"size": 280, "display": display, "brush": brush, "hall": hall,
                                             "restore": st.session_state.get(store)}), on_image_change=copy)
    return st.session_state.get(store)
