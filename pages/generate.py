"""Generate: new images from the prior, the latent manifold, interpolations and traversals."""
from __future__ import annotations

import streamlit as st

from ui.common import friendly_errors, page_header, page_model
from ui.generate_tabs import TABS as DRAW
from ui.state import generate as state

page_header("Generate", "New images from the decoder p(x|z): samples from the prior N(0, I), the latent "
            "manifold, paths between two encoded images, and one latent dimension at a time.")
loaded = page_model(needs_sample=False)
state.start(loaded.checkpoint)
tabs = st.tabs(list(state.TABS.values()), key=state.TAB, on_change="rerun")
for name, tab, draw, what in zip(state.TABS, tabs, DRAW,
                                 ("Sampling", "The manifold", "The interpolation", "The traversal")):
    if tab.open:
        with tab, friendly_errors(what):
            draw(loaded)
        state.write_url(name)
