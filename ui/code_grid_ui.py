"""A discrete latent, edited by hand (the Latent sliders page of a model whose z is a grid of codes, such as a
VQ-VAE): an image as its grid of code indices, where a click on a cell changes that code and the decoder redraws
the image from the new grid. There are no sliders: z takes only the K codebook vectors at each position, so
there is no continuous axis to slide along.

The model is asked its capabilities only: ``discrete_latent``, ``codes_of`` (the stored images' codes, through
ui.loaded_model), ``decode_codes`` and ``codebook_vectors``.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from . import presenter
from .code_grid import clicked_cell, code_grid
from .generate_ui import class_name, pick_image_ui
from .images import show_image
from .latent_words import code_grid as grid_shape
from .latent_words import codebook_size
from .loaded_model import LoadedModel
from .state import code_grid as state
from .state.code_grid import CodeGrid

INTRO = ("This model's latent is **discrete**: the encoder's map of vectors z_e is replaced, at each position, by "
         "the nearest of K codebook vectors, so an image is its grid of code indices. There is nothing to slide: "
         "click a cell to change its code, and the decoder p(x|z_q) redraws the image from the new grid.")


def intro(loaded: LoadedModel | None, continuous: str) -> str:
    """The Latent sliders page's paragraph: ``continuous`` for a model with sliders, INTRO for a grid of codes."""
    return INTRO if loaded is not None and loaded.variant.discrete_latent else continuous


def decode_grid(loaded: LoadedModel, grids: np.ndarray) -> np.ndarray:
    """(B, C, H, W) the mean images of grids of code indices (B, h, w), decoded by the model."""
    grids = np.array(grids, np.int64)  # a writable copy: torch takes it as it is
    return loaded.variant.decode_codes(loaded.checkpoint.model, grids).cpu().numpy()


def code_grid_state(loaded: LoadedModel) -> CodeGrid:
    """The grid's state for this model, started (a new model, a link's point=)."""
    ckpt = loaded.checkpoint
    has_sample = ckpt.sample is not None and len(ckpt.sample.labels) > 0
    codes = loaded.codes() if has_sample else np.zeros((0, *grid_shape(ckpt.config)), np.int64)
    grid = CodeGrid(codes, codebook_size(ckpt.config), grid_shape(ckpt.config), str(ckpt.path))
    grid.start()
    return grid


def _on_click(grid: CodeGrid) -> None:
    cell = clicked_cell(state.CHART)
    if cell is not None:
        grid.change(*cell)


def _start_picker(loaded: LoadedModel, grid: CodeGrid) -> None:
    """Start from a stored image's codes (or from uniform random codes)."""
    ckpt = loaded.checkpoint
    with st.popover("From an image", icon=":material/image_search:", width="stretch",
                    help="Start the grid from a stored test image's codes."):
        index = pick_image_ui(ckpt, "codes_img", "Image", size=96)
        st.button("Use its codes", on_click=grid.from_image, args=(index,), key="codes_use_image", type="primary")


def _controls_ui(loaded: LoadedModel, grid: CodeGrid) -> None:
    ckpt = loaded.checkpoint
    has_sample = len(grid.codes) > 0
    start = grid.start_image()
    picture, buttons = st.columns([2, 3], gap="small")
    with picture:
        if start is not None:
            show_image(ckpt.sample.images[start], target=112,
                       caption=f"#{start}, class {class_name(ckpt, int(ckpt.sample.labels[start]))}: the start",
                       alt=f"stored test image #{start}, class {class_name(ckpt, int(ckpt.sample.labels[start]))}, "
                           "where the grid of codes started")
        else:
            st.caption("Started from uniform random codes: the stand-in prior of a model whose prior over codes is "
                       "not learned. They decode to noise-like images.")
    with buttons:
        if has_sample:
            _start_picker(loaded, grid)
            st.button("Back to its codes", on_click=grid.reset, key="codes_reset", icon=":material/restart_alt:",
                      width="stretch", disabled=start is None, help="Every cell back to the start image's own code.")
        st.button("Random codes", on_click=grid.random, key="codes_random", icon=":material/casino:",
                  width="stretch", help="A uniformly random code at every position (no prior over codes is "
                  "learned here, so this is what a 'prior sample' is).")
    st.segmented_control("A click puts in the cell", list(state.MODES), format_func=state.MODES.get, key=state.MODE,
                         required=True)
    k = codebook_size(ckpt.config)
    st.number_input(f"Chosen code (0 to {k - 1})", 0, k - 1, step=1, key=state.PICK,
                    disabled=grid.mode() != "pick")
    _code_preview(loaded, grid.pick())
    with st.expander("Change a cell by its row and column"):
        h, w = grid.shape
        a, b = st.columns(2)
        a.number_input(f"Row (1 to {h})", 1, h, step=1, key=state.CELL_ROW)
        b.number_input(f"Column (1 to {w})", 1, w, step=1, key=state.CELL_COL)
        st.button("Change this cell", on_click=grid.change_named_cell, key="codes_change_cell",
                  icon=":material/edit:")


def _code_preview(loaded: LoadedModel, k: int) -> None:
    """What code k is on its own: the image decoded from a grid of it everywhere, and how often it is used."""
    h, w = grid_shape(loaded.config)
    image = decode_grid(loaded, np.full((1, h, w), k))[0]
    codes = loaded.codes() if len(loaded.encodings()[0]) else np.zeros((0,), np.int64)
    share = f"; code {k} is used at {float((codes == k).mean()):.1%} of the stored images' positions" \
        if codes.size else ""
    picture, words = st.columns([1, 2], vertical_alignment="center")
    with picture:
        show_image(image, target=84, alt=f"the image {loaded.checkpoint.name} decodes from code {k} at every position")
    words.caption(f"Code {k} at every position, decoded{share}.")


def code_grid_ui(loaded: LoadedModel) -> None:
    """The grid of codes over its decoded image (a click changes a code), and its controls beside it."""
    grid = code_grid_state(loaded)
    hall = presenter.is_on()
    codes = grid.grid()
    image = decode_grid(loaded, codes[None])[0]
    changed = grid.changed()
    n_changed = 0 if changed is None else int(changed.sum())
    h, w = grid.shape
    col_grid, col_side = st.columns([3, 2], gap="large")
    with col_grid, st.container(key="main_figure"):
        action = ("Click to put the next code here" if grid.mode() != "pick"
                  else f"Click to put code {grid.pick()} here")
        code_grid(state.CHART, image, codes, changed=changed, size=440, hall=hall, action=action,
                  alt=f"the image decoded from this {h}x{w} grid of codes", on_click=lambda: _on_click(grid))
    with col_grid:
        st.caption(f"decode(z_q): the mean of p(x|z_q) for this {h}x{w} grid of codes"
                   + (f"; {n_changed} of {h * w} cells changed (outlined, with a dot)" if changed is not None else "")
                   + ". One code reaches only the pixels its position's part of the decoder draws.")
    with col_side:
        _controls_ui(loaded, grid)
