"""Generate's state: the open tab and each tab's settings. The page's own settings (temperature, counts, seeds,
steps) are kept across models; those that belong to the loaded model (image numbers, dimensions, classes)
are forgotten when another is loaded. The address bar holds the open tab and its settings (a link or a
scene reopens them): each tab ``link``s its values while it draws, and ``write_url`` writes the open tab's.
"""
from __future__ import annotations

import streamlit as st

from .. import url_state
from ..generate_ui import reset_on_model_change

PAGE = "generate_"  # this page's settings, kept across models
MODEL = "generate_m_"  # settings that belong to the loaded model (image numbers, dimensions, classes)
TAB = PAGE + "tab"
TABS = {"prior": "Prior samples", "manifold": "Latent manifold", "interpolation": "Interpolation",
        "traversal": "Traversal"}  # the link's tab= name -> the tab
LINK_PARAMS = {"prior": ("T", "n", "seed", "hold"), "manifold": ("grid", "x", "y"),
               "interpolation": ("a", "b", "steps", "fps"),
               "traversal": ("start", "start_seed", "start_image", "sweep", "row", "col", "used")}
MAX_SEED = 2**31 - 1
HOLD = PAGE + "hold"  # a model with latent levels: "free" draws, or one level held per row ("top", "bottom")
_LINKED = "_generate_linked"  # this run's values for the address bar


def start(ckpt) -> None:
    """Forget another model's settings; take the link's tab; begin this run's address."""
    reset_on_model_change(MODEL, str(ckpt.path))
    url_state.take_choice("tab", TAB, TABS, "tab")
    st.session_state[_LINKED] = {}


def bump(key: str) -> None:
    """A button's callback: the next seed."""
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def link(values: dict) -> None:
    """The open tab's settings for the address bar (None: the default, left out)."""
    st.session_state.setdefault(_LINKED, {}).update(values)


def write_url(open_tab: str) -> None:
    """The open tab and its settings; another tab's settings would not be on screen, so they are left out."""
    written = st.session_state.get(_LINKED, {})
    url_state.write("tab", None if open_tab == "prior" else open_tab)
    for tab_name, params in LINK_PARAMS.items():
        for param in params:
            value = written.get(param) if tab_name == open_tab else None
            url_state.write(param, None if value is None else f"{value:g}" if isinstance(value, float) else value)
