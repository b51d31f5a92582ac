"""Latent sliders' state: one value per slider (in units of the prior's sigma), the shared value of the least
active dimensions, the saved points, the class of a conditional model, and a version that tells the live
sliders to take the server's values.

``Sliders(loaded)`` binds the state to the loaded model (its slider space, prior and stored images); its
methods are the buttons' callbacks. Values are never trusted as they arrive (URL, older sessions): every one
is cleaned to a finite number within +-SLIDER_LIMIT.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.analysis.latent import SLIDER_LIMIT, sanitize_z
from vae_core.analysis.sliders import clean_slider_value

from .. import url_state
from ..latent_words import levels
from ..loaded_model import LoadedModel

OTHERS = "sliders_others"  # the shared value of the dimensions without a slider of their own
Z_NOW = "sliders_z_now"  # a dict whose "z" is the point on screen (what Save and Download write)
VERSION = "sliders_version"  # bumped when the server sets the values (the live sliders then take them)
SAVED = "sliders_saved"  # saved points: a list of z lists
MODEL = "sliders_model"  # the model the values belong to
CLASS = "sliders_class"  # y of a conditional decoder
LIVE = "sliders_live"
PICK_CLASS, PICK_INDEX = "sliders_pick_class", "sliders_pick_index"
HOLD_SEED = "sliders_hold_seed"  # the draws of "hold one level" (a model with latent levels), counted


def slider_key(d: int) -> str:
    return f"sliders_z{d + 1}"


def clean(value) -> float:
    return clean_slider_value(value, SLIDER_LIMIT)


class Sliders:
    """The sliders of one loaded model."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.space = loaded.slider_space()
        self.kind = loaded.variant
        self.prior = loaded.checkpoint.prior
        self.dims = loaded.config.latent_dim
        self.keys = [slider_key(d) for d in self.space.slider_dims] + ([OTHERS] if self.space.other_dims else [])

    # ---------------------------------------------------------------- setting values (callbacks)

    def set_values(self, values, others: float | None = None) -> None:
        for d, v in zip(self.space.slider_dims, values):
            st.session_state[slider_key(d)] = clean(v)
        if others is not None and self.space.other_dims:
            st.session_state[OTHERS] = clean(others)

    @staticmethod
    def bump() -> None:
        st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1

    def reset(self) -> None:
        self.set_values(np.zeros(len(self.space.slider_dims)), 0.0)
        self.bump()

    def randomize(self) -> None:
        z = self.prior.sample(1)[0]
        if not self.kind.has_prior:  # no prior: a standard normal draw in slider units
            z = self.space.offset + self.space.scale * z
        self.set_values(self.space.to_sliders(z, SLIDER_LIMIT))
        self.bump()

    def from_image(self, i: int) -> None:
        mu, _ = self.loaded.encodings()
        self.set_values(self.space.to_sliders(mu[i], SLIDER_LIMIT), 0.0)
        if self.kind.conditional:
            st.session_state[CLASS] = int(self.loaded.checkpoint.sample.labels[i])
        self.bump()

    def set_z(self, z) -> None:
        """Every slider to show the latent point z (clipped to the sliders' range)."""
        self.set_values(self.space.to_sliders(z, SLIDER_LIMIT))
        self.bump()

    def hold_level(self, keep_top: bool) -> int:
        """Draw the other level of a two-level prior again while this z's top level (``keep_top``) or its lower
        level is held: p(z1|z2) below the held z2, or z2 ~ N(0, I) over the held z1. Returns the draw's seed."""
        seed = int(st.session_state.get(HOLD_SEED, 0)) + 1
        st.session_state[HOLD_SEED] = seed
        z = self.z_from_state()
        bottom = levels(self.loaded.config)[0][2]  # z = (z1, z2): the lower level's numbers come first
        if keep_top:
            new = self.prior.sample_top_fixed(1, z2=z[bottom:], seed=seed)[0]
        else:
            new = self.prior.sample_bottom_fixed(1, z1=z[:bottom], seed=seed)[0]
        self.set_z(new)
        return seed

    def save_point(self) -> None:
        st.session_state.setdefault(SAVED, []).append([round(float(v), 4) for v in self.z_from_state()])

    @staticmethod
    def forget_saved() -> None:
        st.session_state.pop(SAVED, None)

    # ---------------------------------------------------------------- reading

    def z_from_state(self) -> np.ndarray:
        """The point the sliders show now (every slider's value is in session state under its key)."""
        values = [clean(st.session_state.get(slider_key(d), 0.0)) for d in self.space.slider_dims]
        return sanitize_z(self.space.to_z(values, self.others()), self.dims)

    @staticmethod
    def others() -> float:
        return clean(st.session_state.get(OTHERS, 0.0))

    @staticmethod
    def saved() -> list[list[float]]:
        return st.session_state.get(SAVED, [])

    @staticmethod
    def version() -> int:
        return st.session_state.get(VERSION, 0)

    @staticmethod
    def z_now() -> dict:
        """The dict whose "z" is the point on screen, kept current by the page (read when Download is clicked)."""
        return st.session_state.setdefault(Z_NOW, {})

    # ---------------------------------------------------------------- the start of a run

    def start(self) -> None:
        """Reset for a new model, clean what arrived, and take a link's ?point=12 (that image's mu) and
        ?sliders_z1=1.5&... (validated like any slider value)."""
        path = self.loaded.path
        if st.session_state.get(MODEL) != path:
            st.session_state[MODEL] = path
            for k in [k for k in st.session_state if isinstance(k, str) and k.startswith("sliders_z")]:
                if k not in self.keys:
                    del st.session_state[k]
            for k in (CLASS, PICK_CLASS, PICK_INDEX, SAVED):
                st.session_state.pop(k, None)
            self.bump()
        for k in self.keys:
            raw = st.session_state.get(k, 0.0)
            if k not in st.session_state or not (isinstance(raw, float) and raw == clean(raw)):
                st.session_state[k] = clean(raw)
        n = len(self.loaded.encodings()[0])
        url_point = url_state.link_index("point", n, "one of this model's stored test images", "z stays where it was")
        if url_point is not None:
            self.from_image(url_point)
        url_z = {k: url_state.fresh(k) for k in self.keys}
        if any(v is not None for v in url_z.values()):
            for k, v in url_z.items():
                if v is not None:
                    st.session_state[k] = clean(v)
            self.bump()
