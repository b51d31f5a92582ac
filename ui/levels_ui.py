"""A model whose z has several levels (a hierarchical VAE: z2 on top, z1 below it, p(z2) p(z1|z2)): what holding
one level and drawing the other shows. The Latent sliders' buttons redraw one level of the point on screen;
Generate's prior samples come in rows that share their top level, or rows that share their lower one.

Asked of the model: ``latent_levels`` (more than one), and its prior's ``sample_top_fixed`` and
``sample_bottom_fixed``.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from . import url_state
from .latent_words import has_levels, levels, top_level
from .loaded_model import LoadedModel

ROWS, COLS = 4, 8  # rows of held draws, draws per row


def native_axes(loaded: LoadedModel) -> tuple[int, int]:
    """A native map's first axes: a model's two most active dimensions, or the top level of a model with levels
    when that level is a plane (its prior N(0, I), the level the model generates from)."""
    level = top_level(loaded.config)
    if level is not None and level[2] - level[1] == 2:
        return level[1], level[1] + 1
    return loaded.default_axes()


def holds_levels(loaded: LoadedModel) -> bool:
    """The model has several latent levels and its prior can hold one while drawing the other."""
    prior = loaded.checkpoint.prior
    return has_levels(loaded.config) and hasattr(prior, "sample_top_fixed") and hasattr(prior, "sample_bottom_fixed")


def levels_ui(view) -> None:
    """Latent sliders (ui.sliders_ui.View): redraw the lower level under this z's top level, or the reverse."""
    if not holds_levels(view.loaded):
        return
    (low, _, _), (top, _, _) = levels(view.loaded.config)[0], levels(view.loaded.config)[-1]
    st.markdown(f"**Hold one level, draw the other** (z = ({low}, {top}), drawn {top} first, then {low} given it)")
    a, b = st.columns(2)
    a.button(f"New {low} under this {top}", key="sliders_hold_top", icon=":material/vertical_align_top:",
             on_click=view.sliders.hold_level, args=(True,), width="stretch",
             help=f"Keep the top level {top} and draw {low} ~ p({low}|{top}) again: what the lower level adds.")
    b.button(f"New {top} over this {low}", key="sliders_hold_bottom", icon=":material/vertical_align_bottom:",
             on_click=view.sliders.hold_level, args=(False,), width="stretch",
             help=f"Keep the lower level {low} and draw {top} ~ N(0, I) again: what the top level changes in "
                  f"p(x|{low}, {top}) with {low} held.")
    st.caption(f"What each level carries is the model's own: compare what changes when {low} is drawn again under "
               f"one {top} with what changes when {top} is drawn again over one {low}.")


HOLDS = {"free": "both levels free", "top": "the top level held per row", "bottom": "the lower level held per row"}


def hold_ui(loaded: LoadedModel, where=st) -> str | None:
    """Generate's choice for a model with levels: free draws, or rows that hold one level (None: no levels)."""
    from .state import generate as generate_state  # here: the latent map, which asks native_axes, imports no torch

    if not holds_levels(loaded):
        return None
    url_state.take_choice("hold", generate_state.HOLD, {k: k for k in HOLDS}, "draws")
    (low, _, _), (top, _, _) = levels(loaded.config)[0], levels(loaded.config)[-1]
    words = {"free": "Free", "top": f"Hold {top}", "bottom": f"Hold {low}"}
    return where.segmented_control(
        "Rows of draws", list(HOLDS), format_func=words.get, key=generate_state.HOLD, default="free", required=True,
        help=f"z = ({low}, {top}) is drawn {top} first, then {low} ~ p({low}|{top}). Top level held: each row shares "
             f"one {top} and draws {low} again in every column; lower level held: each row shares one {low} and "
             f"draws {top} again.")


def held_samples(loaded: LoadedModel, keep_top: bool, seed: int, temperature: float = 1.0,
                 rows: int = ROWS) -> tuple[np.ndarray, str]:
    """(rows * COLS, D) prior draws z, each row sharing one draw of the held level (the top level when
    ``keep_top``, else the lower one) and drawing the other level again in each column; and their caption."""
    prior = loaded.checkpoint.prior
    draw = prior.sample_top_fixed if keep_top else prior.sample_bottom_fixed
    z = np.concatenate([draw(COLS, temperature=temperature, seed=seed * rows + r) for r in range(rows)])
    (low, _, _), (top, _, _) = levels(loaded.config)[0], levels(loaded.config)[-1]
    held = top if keep_top else low
    how = f"{low} ~ p({low}|{top})" if keep_top else f"{top} ~ N(0, T² I)"
    return z, f"{held} held per row, {how} drawn again per column (T = {temperature:.1f}, seed {seed})"
