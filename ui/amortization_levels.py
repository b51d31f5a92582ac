"""The amortization gap's view for a model whose z has levels (a hierarchical VAE), whose q(z|x) is top-down:
q(z2|x) q(z1|x, z2), the lower level's Gaussian depending on the upper level drawn.

Cremer et al.'s split (ui.amortization_ui) optimises a factorised Gaussian N(mu, sigma^2) for one image: for this
model that would be another family of q than the one it was trained with, so the split does not apply here.
What does: the ELBO with the model's own top-down q, and log p(x) with importance samples drawn from it (the
kind's ``posterior_draws``, vae_core.analysis.evaluate.importance_log_weights); their difference is the whole
gap, amortization and approximation together.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st
import torch

from vae_core.analysis.evaluate import importance_log_weights

from .common import explanation
from .generate_ui import pick_image_ui, take_image
from .latent_words import levels
from .loaded_model import LoadedModel
from .map_plot import hall_style

SAMPLES = 2000  # importance samples per image for log p(x); their mean log-weight is the ELBO
MEAN_IMAGES = 64


def elbo_and_log_px(loaded: LoadedModel, first: int, n: int, k: int = SAMPLES, seed: int = 0):
    """(ELBO, log p(x)) of the stored images first..first+n, each (n,), with k draws from the model's own
    top-down q(z|x) (seeded)."""
    sample = loaded.checkpoint.sample
    x = sample.as_tensor()[first:first + n]
    y = torch.from_numpy(sample.labels[first:first + n])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        log_w = importance_log_weights(loaded.checkpoint.model, x, y if loaded.variant.conditional else None, k=k)
    return log_w.mean(0).double().numpy(), (torch.logsumexp(log_w, 0) - math.log(k)).double().numpy()


def _remembered(loaded: LoadedModel, first: int, n: int, k: int):
    store = st.session_state.setdefault("_amortization_levels", {})
    key = (loaded.path, loaded.stamp, first, n, k)
    if key not in store:
        if len(store) > 16:
            store.clear()
        store[key] = elbo_and_log_px(loaded, first, n, k, seed=first)
    return store[key]


def _bars(elbo: float, log_px: float) -> go.Figure:
    values = [("ELBO, the model's own top-down q(z|x)", elbo, "#9ca3af"), ("log p(x) (IWAE)", log_px, "#16a34a")]
    lo, hi = min(elbo, log_px), max(elbo, log_px)
    fig = go.Figure(go.Bar(x=[v for _, v, _ in values], y=[n for n, _, _ in values], orientation="h",
                           marker_color=[c for _, _, c in values], text=[f"{v:.2f}" for _, v, _ in values],
                           textposition="outside", cliponaxis=False))
    fig.update_layout(height=200, margin=dict(l=10, r=60, t=10, b=10), font=dict(size=14),
                      xaxis=dict(title="nats (higher is better)",
                                 range=[lo - 0.6 * (hi - lo) - 0.5, hi + 0.2 * (hi - lo) + 0.5]),
                      yaxis=dict(autorange="reversed"))
    return hall_style(fig)


def levels_gap_ui(loaded: LoadedModel) -> None:
    ckpt = loaded.checkpoint
    names = [name for name, _, _ in levels(ckpt.config)]
    low, top = names[0], names[-1]
    explanation(f"{ckpt.name}'s q(z|x) is **top-down**: q({top}|x), then q({low}|x, {top}) at the {top} drawn, whose "
                f"mean and spread depend on it. The split into an amortization and an approximation gap optimises a "
                "factorised Gaussian for one image: for this model that is another family of q than the one it was "
                "trained with, so the split does not apply. Shown instead: the ELBO with the model's own q, and "
                f"log p(x) with {SAMPLES:,} importance samples drawn from it; the difference is the whole gap.")
    pick, show = st.columns([1, 3], gap="large")
    with pick:
        take_image("point", "amort_img", ckpt, "the image")
        index = pick_image_ui(ckpt, "amort_img", "Image", size=160)
    with st.spinner("Drawing from q(z|x) for this image..."):
        elbo, log_px = (float(v[0]) for v in _remembered(loaded, index, 1, SAMPLES))
    with show, st.container(key="main_figure"):
        st.plotly_chart(_bars(elbo, log_px), key="tradeoffs_amort_levels_chart", config={"displayModeBar": False})
        c1, c2 = st.columns(2)
        c1.metric("log p(x) - ELBO", f"{log_px - elbo:.2f} nats", help="amortization and approximation gaps together")
        c2.metric("split into two gaps", "does not apply", help="it needs the best q of the model's own top-down "
                  "family for this image alone, which this view does not search")
    n = min(MEAN_IMAGES, len(ckpt.sample.labels))
    with st.spinner(f"Drawing from q(z|x) for {n} stored images..."):
        elbos, log_pxs = _remembered(loaded, 0, n, 500)
    st.markdown(f"**Over the first {n} stored images**: log p(x) - ELBO = {(log_pxs - elbos).mean():.2f} nats (mean), "
                "with 500 importance samples each.")
