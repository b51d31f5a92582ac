"""The sidebar, drawn after the page's first image.

On a first visit the browser shows nothing that follows a kind of widget whose code it has not
fetched yet, so the sidebar's widgets, drawn first, would hold back the page's first image by about
half a second (docs/benchmarks.md). app.py therefore settles the model and the presenter state
before the page and draws the sidebar after it; a page with an early image (the latent map) draws it
right after that image with ``draw_sidebar()``, so it does not wait for the page's slower parts."""
from __future__ import annotations

import contextlib

import streamlit as st

from .access import access_helpers
from .common import model_sidebar
from .identity import identity_component
from .model_choices import ModelChoice
from .presenter import presenter_toggle
from .scenes import scenes_sidebar, share_sidebar

_CHOICE = "_sidebar_model_choice"
_DRAWN = "_sidebar_drawn"


def begin_run(choice: ModelChoice | None) -> None:
    """Called by app.py before the page: the sidebar of this run is still to be drawn."""
    st.session_state[_CHOICE] = choice
    st.session_state[_DRAWN] = False


def draw_sidebar() -> None:
    """Draw this run's sidebar, once (later calls in the same run do nothing)."""
    if st.session_state.get(_DRAWN, True):
        return
    st.session_state[_DRAWN] = True
    with _as_app_widgets():
        st.sidebar.subheader("VAE Latent Explorer")
        model_sidebar(st.session_state.get(_CHOICE))
        presenter_toggle()
        scenes_sidebar()
        share_sidebar()
        identity_component()
        access_helpers()


def _as_app_widgets():
    """Draw as app.py, not as the page that is running: Streamlit scopes a widget to the script that draws
    it, and a widget of a page is a new widget (with its value reset) on every other page. A Streamlit
    internal, checked with Streamlit 1.67.0 (tests/test_streamlit_internals.py; tests/test_browser.py follows
    the picker's choice across pages)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return contextlib.nullcontext()
    return ctx.run_with_active_hash(ctx.pages_manager.main_script_hash)
