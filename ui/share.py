"""A "copy link" button: the page's address, with the view in its query parameters, to the clipboard."""
from __future__ import annotations

from pathlib import Path

from .component_data import component, component_data

_HTML = """
<div class="vae-copy-link">
  <button type="button">Copy link to this view</button>
  <input type="text" readonly hidden aria-label="link to this view">
  <div class="note" aria-live="polite"></div>
</div>
"""
_CSS = """
.vae-copy-link button { width: 100%; font-size: 1rem; padding: .4rem .8rem; border-radius: .5rem;
  border: 1px solid #bbb; background: #fff; cursor: pointer; }
.vae-copy-link button:hover { border-color: var(--st-primary-color, #4f46e5); color: var(--st-primary-color, #4f46e5); }
.vae-copy-link input { width: 100%; box-sizing: border-box; margin-top: .4rem; font-size: .9rem; padding: .3rem; }
.vae-copy-link .note { font-size: .9rem; color: #555; margin-top: .25rem; min-height: 1.1em; }
"""
_component = component(
    "vae_copy_link", html=_HTML, css=_CSS, js=(Path(__file__).parent / "js" / "copy_link.js").read_text())


def copy_link_button(key: str = "copy_link", label: str = "Copy link to this view") -> None:
    _component(key=key, data=component_data({"label": label}))
