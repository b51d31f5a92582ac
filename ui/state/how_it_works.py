"""How it works' state: the chosen image, its eps draw and the prior samples' draw.

The image and the eps draw belong to the loaded model (forgotten when another is loaded); the prior samples'
draw is the page's. The address bar sets all three (``point=``, ``eps=``, ``prior=``) and follows them.
"""
from __future__ import annotations

import streamlit as st

from .. import url_state
from ..generate_ui import reset_on_model_change, take_image

PAGE = "how_"  # the page's keys
MODEL = "how_m_"  # the keys that belong to the loaded model
IMAGE = MODEL + "img"  # the image picker's prefix: IMAGE + "_class", IMAGE + "_index"
EPS_SEED = MODEL + "eps_seed"
PRIOR_SEED = PAGE + "prior_seed"
MAX_SEED = 2**31 - 1


def start(ckpt) -> None:
    """Forget another model's image and eps; take the view in the address bar."""
    reset_on_model_change(MODEL, str(ckpt.path))
    take_image("point", IMAGE, ckpt, "the image")
    url_state.take_number("eps", EPS_SEED, 0, MAX_SEED, "eps draw", integer=True)
    url_state.take_number("prior", PRIOR_SEED, 0, MAX_SEED, "prior samples' draw", integer=True)


def eps_seed() -> int:
    return int(st.session_state.setdefault(EPS_SEED, 0))


def prior_seed() -> int:
    return int(st.session_state.setdefault(PRIOR_SEED, 0))


def _bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def new_eps() -> None:
    """A button's callback: the next eps draw."""
    _bump(EPS_SEED)


def new_prior_samples() -> None:
    """A button's callback: the next prior samples."""
    _bump(PRIOR_SEED)


def write_url(index: int) -> None:
    """The address bar follows the image and the draws (a draw of 0 is left out)."""
    url_state.write("point", index)
    url_state.write("eps", eps_seed() or None)
    url_state.write("prior", prior_seed() or None)
