"""Showing decoded images: crisp nearest-neighbour upscaling, exact PNG pixels."""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.render import tile, to_uint8, upscale


def scale_for(height: int, target: int) -> int:
    """Integer upscaling factor that brings an image of this height near target pixels."""
    return max(1, round(target / max(height, 1)))


def show_image(image, caption: str | None = None, target: int = 320) -> None:
    """One image, (C, H, W) float in [0, 1] or (H, W[, C]) uint8, shown about target px tall."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)[0]
    st.image(upscale(arr, scale_for(arr.shape[0], target)), caption=caption, output_format="PNG")


def show_grid(images, ncols: int, caption: str | None = None, cell: int = 96) -> np.ndarray:
    """Tile (N, C, H, W) floats (or uint8 (N, H, W[, C])) into a grid image, show it, and return it."""
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)
    grid = upscale(tile(arr, ncols, pad=1), scale_for(arr.shape[1] + 1, cell))
    st.image(grid, caption=caption, output_format="PNG")
    return grid
