"""The Latent map of a model whose latent is discrete (a VQ-VAE): what is discrete, shown instead of two of its
hundreds of z_e numbers.

- The codebook's map: its K vectors by PCA, each sized by how often the stored images' positions use it, dead
  codes (used nowhere) marked with a cross; the encoder's vectors z_e of the stored images behind them, which
  snap to the nearest code.
- The codebook's usage over training: perplexity and dead codes at each snapshot (the training's history).
- An image as its grid of code indices.

Asked of the model: ``discrete_latent``, ``codebook_vectors`` and the stored images' codes.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from . import presenter, url_state
from .code_grid import code_grid
from .inputs import number_in_range
from .latent_words import code_grid as grid_shape
from .loaded_model import LoadedModel
from .map_plot import hall_style

INTRO = ("This model's latent is **discrete**: each of an image's positions holds one of K codebook vectors. The map "
         "shows the codebook itself (its vectors by PCA, each dot sized by how often the stored images use it, dead "
         "codes crossed out), with the encoder's vectors z_e behind it, which snap to their nearest code.")
Z_E_SHOWN = 6000  # encoder vectors drawn behind the codes
IMAGE_KEY = "codes_map_image"


def codebook_plane(codebook: np.ndarray, z_e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The codebook (K, D) and vectors z_e (N, D) on the codebook's first two principal axes, and the share of
    the codebook's variance each axis holds (2,)."""
    centre = codebook.mean(0)
    _, s, vt = np.linalg.svd(codebook - centre, full_matrices=False)
    axes = vt[:2]
    share = (s[:2] ** 2) / max(float((s**2).sum()), 1e-12)
    return (codebook - centre) @ axes.T, (z_e - centre) @ axes.T, share


def _z_e_vectors(loaded: LoadedModel) -> np.ndarray:
    """(N * h * w, D) every stored image's encoder vectors, one per position (mu is flattened (D, h, w))."""
    mu, _ = loaded.encodings()
    d = loaded.config.latent_dim
    return np.asarray(mu).reshape(len(mu), d, -1).transpose(0, 2, 1).reshape(-1, d)


def codebook_figure(loaded: LoadedModel, ringed: np.ndarray | None = None) -> tuple[go.Figure, np.ndarray]:
    """The codebook's map and the usage counts (K,) it is sized by; ``ringed``: codes to ring (one image's)."""
    codebook = np.asarray(loaded.variant.codebook_vectors(loaded.checkpoint.arrays), np.float64)
    k = len(codebook)
    counts = np.bincount(loaded.codes().ravel(), minlength=k)
    z_e = _z_e_vectors(loaded)
    shown = np.random.default_rng(0).choice(len(z_e), size=min(Z_E_SHOWN, len(z_e)), replace=False)
    xy, z_xy, share = codebook_plane(codebook, z_e[shown])
    used = counts > 0
    size = 10 + 40 * np.sqrt(counts / max(counts.max(), 1))
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=z_xy[:, 0], y=z_xy[:, 1], mode="markers", name="z_e of the stored images",
                               marker=dict(size=3, color="rgba(120,120,120,0.25)"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=xy[used, 0], y=xy[used, 1], mode="markers+text", name="codes (size: use)",
        text=[str(i) for i in np.flatnonzero(used)], textposition="middle center",
        textfont=dict(color="white") if presenter.is_on() else dict(size=11, color="white"),
        marker=dict(size=size[used], color="#4f46e5", line=dict(color="white", width=1)),
        customdata=np.stack([np.flatnonzero(used), counts[used] / max(counts.sum(), 1)], 1),
        hovertemplate="code %{customdata[0]}: %{customdata[1]:.1%} of positions<extra></extra>"))
    if (~used).any():
        fig.add_trace(go.Scatter(
            x=xy[~used, 0], y=xy[~used, 1], mode="markers+text", name="dead codes (used nowhere)",
            text=[str(i) for i in np.flatnonzero(~used)], textposition="top center",
            marker=dict(size=14, symbol="x", color="#dc2626", line=dict(width=1)),
            hovertemplate="code %{text}: dead, used at no position<extra></extra>"))
    if ringed is not None and len(ringed):
        ring = np.unique(ringed)
        fig.add_trace(go.Scatter(x=xy[ring, 0], y=xy[ring, 1], mode="markers", name="the image's codes",
                                 marker=dict(size=size[ring] + 10, symbol="circle-open", color="#f59e0b",
                                             line=dict(width=3)), hoverinfo="skip"))
    fig.update_layout(height=600 if not presenter.is_on() else 520, margin=dict(l=10, r=10, t=10, b=10),
                      font=dict(size=14), legend=dict(orientation="h", y=1.06),
                      xaxis=dict(title=f"codebook PC1 ({share[0]:.0%} of its variance)"),
                      yaxis=dict(title=f"codebook PC2 ({share[1]:.0%})", scaleanchor="x"))
    return hall_style(fig), counts


def codebook_map_ui(loaded: LoadedModel) -> None:
    """The codebook's map beside one image's grid of codes, and the usage over training below."""
    ckpt = loaded.checkpoint
    k = len(loaded.variant.codebook_vectors(ckpt.arrays))
    col_map, col_img = st.columns([2, 1], gap="medium")
    with col_img:
        index = _image_codes_ui(loaded)
    with col_map, st.container(key="main_figure"):
        fig, counts = codebook_figure(loaded, loaded.codes()[index])
        st.plotly_chart(fig, key="codes_map_chart", config={"displayModeBar": False})
    dead = int((counts == 0).sum())
    col_map.caption(f"The {k} codebook vectors on the codebook's first two principal axes; grey, the encoder's "
                    f"vectors z_e at every position of the stored images ({min(Z_E_SHOWN, counts.sum()):,} of "
                    f"{int(counts.sum()):,}). Each z_e is replaced by its nearest code. "
                    + (f"{dead} code{'s are' if dead != 1 else ' is'} dead: no position chose {'them' if dead != 1 else 'it'}."
                       if dead else "Every code is used somewhere.")
                    + f" Ringed: the codes of image #{index}.")
    st.markdown("**The codebook's usage over training**")
    from .how_codes_ui import usage_over_training_ui  # here: the latent map's first screen imports no torch

    usage_over_training_ui(ckpt, key="codes_map_usage_chart")


def _image_codes_ui(loaded: LoadedModel) -> int:
    """One stored image with its grid of code indices; returns which."""
    ckpt = loaded.checkpoint
    n = len(ckpt.sample.labels)
    h, w = grid_shape(ckpt.config)
    url_index = url_state.link_index("point", n, "one of this model's stored test images", "the image stays as it was")
    if url_index is not None:
        st.session_state[IMAGE_KEY] = url_index
    i = int(number_in_range(f"Stored test image (0 to {n - 1})", 0, n - 1, 0, key=IMAGE_KEY))
    url_state.write("point", i or None)
    st.markdown(f"### Image #{i} as its {h}x{w} codes")
    code_grid("codes_map_grid", ckpt.sample.images[i], loaded.codes()[i], size=300, still=True,
              alt=f"stored image #{i} with its grid of code indices")
    names = ckpt.class_names
    label = int(ckpt.sample.labels[i])
    st.caption(f"Class {names[label] if label < len(names) else label}. Each number is the code at that position; the "
               "Latent sliders page changes them by a click.")
    return i
