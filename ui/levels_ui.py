"""A model whose z has several levels (a hierarchical VAE: z2 on top, z1 below it, p(z2) p(z1|z2)): what holding
one level and drawing the other shows. The Latent sliders' buttons redraw one level of the point on screen;
Generate's views decode rows of prior samples that share their top level, and rows that share their lower one.

Asked of the model: ``latent_levels`` (more than one), and its prior's ``sample_top_fixed`` and
``sample_bottom_fixed``.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.analysis.latent import decode_batch

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


def held_samples(loaded: LoadedModel, keep_top: bool, seed: int, temperature: float = 1.0) -> np.ndarray:
    """(ROWS * COLS, ...) prior draws z: each row shares one draw of the held level (the top level when
    ``keep_top``, else the lower one) and draws the other level again in each column."""
    prior = loaded.checkpoint.prior
    draw = prior.sample_top_fixed if keep_top else prior.sample_bottom_fixed
    return np.concatenate([draw(COLS, temperature=temperature, seed=seed * ROWS + r) for r in range(ROWS)])


def held_samples_ui(loaded: LoadedModel, seed: int, temperature: float, show_grid) -> None:
    """Generate's prior samples of a model with levels: two grids, the top level held per row, then the lower."""
    if not holds_levels(loaded):
        return
    (low, _, _), (top, _, _) = levels(loaded.config)[0], levels(loaded.config)[-1]
    model = loaded.checkpoint.model
    st.markdown(f"**One level held, the other drawn again** ({ROWS} rows of {COLS}, seed {seed}, T = {temperature:.1f})")
    left, right = st.columns(2, gap="large")
    for col, keep_top, says in ((left, True, f"each row shares one top level {top}; {low} ~ p({low}|{top}) is drawn "
                                             "again in every column"),
                                (right, False, f"each row shares one lower level {low}; {top} ~ N(0, I) is drawn "
                                               "again in every column")):
        with col:
            z = held_samples(loaded, keep_top, seed, temperature)
            show_grid(decode_batch(model, z), ncols=COLS, cell=72, caption=f"{top if keep_top else low} held: {says}.")
