"""Draw & encode's state: the picture (the canvas's drawing, or an upload), where it came from, the class of a
conditional model and the map's projection. The class belongs to the loaded model; the projection comes from
a link (``projection=``) and the address bar follows it."""
from __future__ import annotations

import streamlit as st

from vae_core.projection import METHODS

from .. import url_state
from ..projection_ui import chosen_method

MODEL, CLASS, IMAGE, SOURCE, PROJECTION = "draw_model", "draw_class", "draw_image", "draw_source", "draw_projection"
SOURCES = {"draw": "Draw", "upload": "Upload a picture"}


def start(path: str) -> None:
    """Forget another model's class; take a link's projection (checked even before there is a drawing)."""
    ss = st.session_state
    if ss.get(MODEL) != path:
        ss[MODEL] = path
        ss.pop(CLASS, None)
    ss.setdefault(IMAGE, None)
    ss.setdefault(SOURCE, "draw")
    chosen = url_state.link_choice("projection", list(METHODS), "the map stays as it was")
    if chosen is not None:
        ss[PROJECTION] = chosen
    url_state.write("projection", projection())


def projection() -> str:
    return chosen_method(PROJECTION)
