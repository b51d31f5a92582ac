"""AE vs VAE's state: the one test image chosen in any of the three maps (a link's ``point=`` sets it; the
address bar follows it)."""
from __future__ import annotations

import streamlit as st

from .. import url_state
from ..map_plot import parse_selection

SELECTED = "compare_selected"


def start(n_images: int) -> int | None:
    """The chosen image (None: none), after a link's choice; invalid values are forgotten."""
    chosen = url_state.link_index("point", n_images, "one of the stored test images", "no image is selected")
    if chosen is not None:
        st.session_state[SELECTED] = chosen
    selected = st.session_state.get(SELECTED)
    if not isinstance(selected, int) or not 0 <= selected < n_images:
        selected = st.session_state[SELECTED] = None
    url_state.write("point", selected)
    return selected


def on_select(chart_key: str) -> None:
    """A map's callback: the point clicked in it is the chosen image in all three."""
    state = st.session_state.get(chart_key)
    target = parse_selection(state.get("selection") if state else None)
    if target is not None and target.kind == "point":
        st.session_state[SELECTED] = target.index
