"""Which projection a page shows: the method chosen in the session, and the ones that can be offered.
Pages ask the method's capabilities (vae_core.projection.base), never its name."""
from __future__ import annotations

import streamlit as st

from vae_core.projection import DEFAULT_METHOD, METHODS


def chosen_method(key: str) -> str:
    """The registered method the session's widget ``key`` holds; the default map (the latent plane itself)
    while none is chosen."""
    name = st.session_state.get(key) or DEFAULT_METHOD
    return name if name in METHODS else DEFAULT_METHOD


def usable_methods() -> list[str]:
    """The methods that can be fitted here, in the registry's order."""
    return [name for name, kind in METHODS.items() if kind.available().ok]


def label_of(name: str) -> str:
    """A method's label, for a widget's format_func."""
    return METHODS[name].label
