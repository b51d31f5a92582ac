"""Generate for a model whose latent is discrete (a VQ-VAE): what its tabs show instead of a continuous latent's.

- Prior samples: its "prior" is uniform random codes (no prior over codes is learned), and they decode to
  noise; said so, with a grid of them beside real images' codes.
- Latent manifold: there is no plane of z to lay a grid over; the codebook instead, each code decoded alone
  (the same code at every position).
- Traversal: one position's code swept through all K codes, the rest of an image's grid held.

Asked of the model: ``discrete_latent``, ``decode_codes`` and the stored images' codes (ui.loaded_model.codes).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.analysis.latent import decode_batch

from . import presenter, url_state
from .code_grid import code_grid
from .code_grid_ui import decode_grid
from .common import require_sample
from .generate_ui import class_name, pick_image_ui, show_tiled, take_image
from .images import show_grid
from .inputs import number_in_range
from .latent_words import code_grid as grid_shape
from .latent_words import codebook_size
from .loaded_model import LoadedModel
from .state import generate as state


def prior_tab(loaded: LoadedModel) -> None:
    ckpt, prior = loaded.checkpoint, loaded.checkpoint.prior
    h, w = grid_shape(ckpt.config)
    k = codebook_size(ckpt.config)
    st.markdown(f"This model has **no learned prior**: its stand-in p(z) is **{prior.name}**, one of the {k} codes "
                f"drawn uniformly and independently at each of the {h}x{w} positions. Such grids are nothing like an "
                "image's (whose codes are few and agree with their neighbours), so they decode to noise. There is "
                "no temperature: a choice among codes has no spread to scale.")
    url_state.take_number("seed", state.PAGE + "seed", 0, state.MAX_SEED, "seed", integer=True)
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    seed = int(number_in_range("Seed", 0, state.MAX_SEED, 0, key=state.PAGE + "seed", where=c1,
                               persist_state="session"))
    c1.button("New samples", on_click=state.bump, args=(state.PAGE + "seed",), icon=":material/casino:",
              key=state.PAGE + "new")
    state.link({"seed": seed or None})
    with c2, st.container(key="main_figure"):
        show_grid(decode_batch(ckpt.model, prior.sample(16, seed=seed)), ncols=8, cell=96,
                  caption=f"16 grids of uniformly random codes, decoded (seed {seed})",
                  alt=f"16 images {ckpt.name} decodes from grids of codes drawn uniformly at random (seed {seed}), "
                      "in rows of 8")
        if ckpt.sample is not None and len(ckpt.sample.labels):
            every = np.linspace(0, len(ckpt.sample.labels) - 1, 16).round().astype(int)  # across the classes
            show_grid(decode_grid(loaded, loaded.codes()[every]), ncols=8, cell=96,
                      caption="For comparison: the grids of codes of 16 stored test images, decoded",
                      alt=f"16 stored test images, across the classes, as {ckpt.name} decodes their grids of codes, "
                          "in rows of 8")
    st.caption("New images from a VQ-VAE need a prior over grids of codes that knows which codes go together "
               "(the paper fits a PixelCNN over them, after training). The Latent sliders page edits an image's "
               "grid by hand; the Traversal tab sweeps one position through every code.")


def codebook_tab(loaded: LoadedModel) -> None:
    """The manifold's place: each code of the codebook decoded on its own (at every position)."""
    ckpt = loaded.checkpoint
    h, w = grid_shape(ckpt.config)
    k = codebook_size(ckpt.config)
    st.markdown("A discrete latent has no plane to lay a grid over: z takes only the codebook's vectors at each "
                f"position. Shown instead: the **codebook**, each of the {k} codes decoded alone (the same code "
                f"at all {h}x{w} positions), numbered from 0 left to right.")
    grids = np.repeat(np.arange(k)[:, None, None], h, 1).repeat(w, 2)
    with st.spinner("Decoding the codebook..."), st.container(key="main_figure"):
        show_tiled(decode_grid(loaded, grids), ncols=min(k, 16), width=900,
                   caption=f"Codes 0 to {k - 1}, each at every position, decoded",
                   alt=f"the codebook of {ckpt.name}: {k} images, each decoded from one code at every position, "
                       f"codes 0 to {k - 1} left to right in rows of {min(k, 16)}")
    if ckpt.sample is not None and len(ckpt.sample.labels):
        counts = np.bincount(loaded.codes().ravel(), minlength=k)
        dead = np.flatnonzero(counts == 0)
        st.caption(f"Over the stored images' positions the most used code is {int(counts.argmax())} "
                   f"({counts.max() / counts.sum():.1%}); "
                   + (f"codes {', '.join(map(str, dead))} are used nowhere." if len(dead) else "every code is used."))


def sweep_tab(loaded: LoadedModel) -> None:
    """One position of an image's grid swept through every code, the others held."""
    ckpt = loaded.checkpoint
    if not require_sample(ckpt):
        return
    h, w = grid_shape(ckpt.config)
    k = codebook_size(ckpt.config)
    st.markdown(f"A discrete latent's traversal: hold an image's grid of codes and **sweep one position** through "
                f"all {k} codes; every image below differs from the others at that position only.")
    take_image("start_image", state.MODEL + "sweep_img", ckpt, "the image")
    url_state.take_number("row", state.MODEL + "sweep_row", 1, h, "row", integer=True)
    url_state.take_number("col", state.MODEL + "sweep_col", 1, w, "column", integer=True)
    left, right = st.columns([2, 3], gap="large")
    with left:
        index = pick_image_ui(ckpt, state.MODEL + "sweep_img", "Image", size=96, show=False)
        a, b = st.columns(2)
        row = int(number_in_range(f"Row (1 to {h})", 1, h, (h + 1) // 2, key=state.MODEL + "sweep_row", where=a,
                                  persist_state="session"))
        col = int(number_in_range(f"Column (1 to {w})", 1, w, (w + 1) // 2, key=state.MODEL + "sweep_col", where=b,
                                  persist_state="session"))
        codes = loaded.codes()[index]
        marked = np.zeros((h, w), bool)
        marked[row - 1, col - 1] = True
        code_grid("generate_sweep_grid", ckpt.sample.images[index], codes, changed=marked, size=300, still=True,
                  alt=f"stored image #{index} with its codes; the swept cell outlined")
        st.caption(f"Stored image #{index}, class {class_name(ckpt, int(ckpt.sample.labels[index]))}, with its codes; "
                   f"the swept cell (row {row}, column {col}, code {int(codes[row - 1, col - 1])}) is outlined.")
    state.link({"start_image": index, "row": row, "col": col})
    grids = np.repeat(codes[None], k, 0)
    grids[:, row - 1, col - 1] = np.arange(k)
    with right, st.spinner("Decoding the sweep..."), st.container(key="main_figure"):
        wide = 16 if presenter.is_on() else 8  # on a projector: wider than tall, under the scene bar
        show_tiled(decode_grid(loaded, grids), ncols=min(k, wide), width=640 if wide == 8 else 800,
                   caption=f"Code 0 to {k - 1} at row {row}, column {col} (left to right, top to bottom); the "
                           "other positions keep the image's codes",
                   alt=f"{k} images {ckpt.name} decodes from stored image #{index}'s codes with code 0 to {k - 1} "
                       f"at row {row}, column {col}, left to right in rows of {min(k, wide)}")
