"""Widgets and cached values shared by the Generate and How-it-works pages."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from vae_core.store.checkpoints import Checkpoint
from vae_core.render.images import tile, to_uint8, upscale

from . import url_state
from .images import scale_for, show_image
from .inputs import number_in_range

ANY_CLASS = -1


def reset_on_model_change(prefix: str, path: str) -> None:
    """Forget the session-state keys that start with prefix when another model is loaded:
    image indices, dimensions and classes of one model mean nothing for the next."""
    marker = f"{prefix}path"
    if st.session_state.get(marker) == path:
        return
    for key in [k for k in st.session_state if str(k).startswith(prefix) and k != marker]:
        del st.session_state[key]
    st.session_state[marker] = path


def class_name(ckpt: Checkpoint, c: int) -> str:
    names = ckpt.class_names
    return str(names[c]) if 0 <= c < len(names) else str(c)


def class_picker(ckpt: Checkpoint, label: str, key: str, default: int = 0) -> int:
    """A class for the conditional decoder p(x|z, y)."""
    n = ckpt.config.num_classes
    if key not in st.session_state or not (0 <= st.session_state[key] < n):
        st.session_state[key] = default if 0 <= default < n else 0
    return int(st.selectbox(label, list(range(n)), key=key, format_func=lambda c: class_name(ckpt, c),
                            persist_state="session"))


def _members(ckpt: Checkpoint, c: int) -> np.ndarray:
    labels = ckpt.sample.labels
    return np.arange(len(labels)) if c == ANY_CLASS else np.flatnonzero(labels == c)


def pick_image_ui(ckpt: Checkpoint, key: str, label: str = "Image", default_class: int = ANY_CLASS,
                  default_index: int = 0, size: int = 140, show: bool = True) -> int:
    """Choose one stored test image by class and number; returns its index in ckpt.sample."""
    cls_key, idx_key = f"{key}_class", f"{key}_index"
    present = sorted(int(c) for c in np.unique(ckpt.sample.labels))
    options = [ANY_CLASS, *present]
    if st.session_state.get(cls_key) not in options:
        st.session_state[cls_key] = default_class if default_class in options else ANY_CLASS
    c = st.selectbox(f"{label}: class", options, key=cls_key,
                     format_func=lambda v: "any class" if v == ANY_CLASS else class_name(ckpt, v),
                     on_change=lambda: st.session_state.__setitem__(idx_key, 0), persist_state="session")
    members = _members(ckpt, c)
    if not (0 <= st.session_state.get(idx_key, -1) < len(members)):
        st.session_state[idx_key] = min(max(default_index, 0), len(members) - 1)
    within = "" if c == ANY_CLASS else f" in class {class_name(ckpt, c)}"
    k = number_in_range(f"{label}: number{within} (0-{len(members) - 1})", 0, len(members) - 1, 0, key=idx_key,
                        persist_state="session")
    index = int(members[int(k)])
    if show:  # the caption names the image by its number among all stored images (what links and scenes use)
        where = "" if c == ANY_CLASS else f", number {int(k)} in its class"
        name = class_name(ckpt, int(ckpt.sample.labels[index]))
        show_image(ckpt.sample.images[index], caption=f"{label}: stored test image #{index}, class {name}{where}",
                   target=size, alt=f"{label}: stored test image #{index} of {ckpt.name}, class {name}")
    return index


def take_image(param: str, key: str, ckpt: Checkpoint, label: str) -> None:
    """Before pick_image_ui(ckpt, key): a link's ``param`` names a stored image by its number (any class)."""
    index = url_state.link_index(param, len(ckpt.sample.labels), "a stored test image", f"{label} stays as it was")
    if index is not None:
        st.session_state[f"{key}_class"] = ANY_CLASS
        st.session_state[f"{key}_index"] = index


def pick_random_image(ckpt: Checkpoint, key: str, rng: np.random.Generator | None = None) -> None:
    """Button callback: any class, a random number."""
    rng = rng or np.random.default_rng()
    st.session_state[f"{key}_class"] = ANY_CLASS
    st.session_state[f"{key}_index"] = int(rng.integers(len(ckpt.sample.labels)))


def image_tensor(ckpt: Checkpoint, index: int) -> torch.Tensor:
    """(C, H, W) float in [0, 1]: the stored image the model sees."""
    return ckpt.sample.as_tensor()[index]


def tiled_image(images: np.ndarray, ncols: int, width: int = 800, gap: int = 2, max_width: int = 1000) -> np.ndarray:
    """Tile (N, C, H, W) floats into one uint8 picture with thin gaps of `gap` screen pixels (gaps of
    whole image pixels would swamp 8x8 images). Each image is upscaled by the integer factor that
    brings a row near width pixels without passing max_width."""
    arr = to_uint8(images)
    row = max(1, min(ncols, len(arr))) * arr.shape[2]
    factor = max(1, min(round(width / row), int(max_width // row)))
    return tile(np.stack([upscale(a, factor) for a in arr]), ncols, pad=gap)


def show_tiled(images: np.ndarray, ncols: int, width: int = 800, caption: str | None = None, *,
               alt: str) -> np.ndarray:
    """Show tiled_image(images) with exact pixels and the text alternative ``alt``, and return it."""
    grid = tiled_image(images, ncols, width)
    st.image(grid, caption=caption, output_format="PNG", alt=alt)
    return grid


def frames(images: np.ndarray, target: int = 280) -> np.ndarray:
    """(N, C, H, W) floats -> (N, h, w[, 3]) uint8 frames upscaled to about target px, for a GIF."""
    arr = to_uint8(images)
    factor = scale_for(arr.shape[1], target)
    return np.stack([upscale(a, factor) for a in arr])


def grid_frames(blocks: list[np.ndarray], ncols: int, cell: int = 96) -> np.ndarray:
    """One frame per step: frame t tiles the t-th image of every block (each block (T, C, H, W))."""
    steps = len(blocks[0])
    out = []
    for t in range(steps):
        arr = to_uint8(np.stack([b[t] for b in blocks]))
        out.append(upscale(tile(arr, ncols, pad=1), scale_for(arr.shape[1] + 1, cell)))
    return np.stack(out)
