"""The Trade-offs page's amortization gap (Cremer et al., 2018): for a chosen image, the ELBO with the encoder's
q(z|x), the ELBO after optimising q's mu and sigma for that image alone, and log p(x); and the mean gaps over the
stored images."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
import torch

from vae_core.analysis.amortization import Gaps, gaps

from .common import explanation
from .generate_ui import image_tensor, pick_image_ui, take_image
from .amortization_levels import levels_gap_ui
from .latent_words import has_levels
from .loaded_model import LoadedModel
from .map_plot import hall_style

MEAN_IMAGES = 64  # stored images the mean gaps are taken over (optimised together, in one batch)


def _ladder(g: Gaps, i: int) -> go.Figure:
    values = [("ELBO, the encoder's q(z|x)", g.elbo_amortized[i], "#9ca3af"),
              ("ELBO, q(z|x) optimised for this image", g.elbo_optimised[i], "#4f46e5"),
              ("log p(x) (IWAE)", g.log_px[i], "#16a34a")]
    fig = go.Figure(go.Bar(x=[v for _, v, _ in values], y=[n for n, _, _ in values], orientation="h",
                           marker_color=[c for _, _, c in values], text=[f"{v:.2f}" for _, v, _ in values],
                           textposition="outside", cliponaxis=False))
    lo = min(v for _, v, _ in values)
    hi = max(v for _, v, _ in values)
    fig.update_layout(height=260, margin=dict(l=10, r=60, t=10, b=10), font=dict(size=14),
                      xaxis=dict(title="nats (higher is better)", range=[lo - 0.6 * (hi - lo) - 0.5, hi + 0.2 * (hi - lo) + 0.5]),
                      yaxis=dict(autorange="reversed"))
    return hall_style(fig)


def amortization_tab(loaded: LoadedModel | None) -> None:
    if loaded is None:
        return
    ckpt = loaded.checkpoint
    kind = loaded.variant
    if not (kind.has_prior and kind.gaussian_posterior):
        st.info(f"{ckpt.name} is a {kind.title}: it has no ELBO to optimise. Pick a VAE in the sidebar.")
        return
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        st.info(f"{ckpt.name} stores no test images.")
        return
    if has_levels(ckpt.config):  # a top-down q: the factorised Gaussian optimised below is another family
        return levels_gap_ui(loaded)
    explanation("The ELBO of an image depends on the posterior it is computed with. The encoder computes every "
                "image's q(z|x) with one network (**amortized**); the best Gaussian for one image alone is found by "
                "gradient ascent on its ELBO (**optimised**). log p(x) lies above both. The **amortization gap** is "
                "what one network costs; the **approximation gap**, what a diagonal Gaussian costs.")
    pick, show = st.columns([1, 3], gap="large")
    with pick:
        take_image("point", "amort_img", ckpt, "the image")
        index = pick_image_ui(ckpt, "amort_img", "Image", size=160)
    y = torch.tensor([int(ckpt.sample.labels[index])])  # a model that takes no label ignores it
    with st.spinner("Optimising q(z|x) for this image..."):
        one = _one(loaded, index, y)
    with show, st.container(key="main_figure"):
        st.plotly_chart(_ladder(one, 0), key="tradeoffs_amort_chart", config={"displayModeBar": False})
        c1, c2, c3 = st.columns(3)
        c1.metric("amortization gap", f"{one.amortization_gap[0]:.2f} nats")
        c2.metric("approximation gap", f"{one.approximation_gap[0]:.2f} nats")
        c3.metric("log p(x) - amortized ELBO", f"{one.log_px[0] - one.elbo_amortized[0]:.2f} nats")
    bar = st.progress(0.0, text="Optimising q(z|x) for each of the stored images...")
    try:
        mean = loaded.amortization_gaps(MEAN_IMAGES, progress=lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
    finally:
        bar.empty()
    n = len(mean.log_px)
    st.markdown(f"**Over the first {n} stored images**: amortization gap {mean.amortization_gap.mean():.2f} nats, "
                f"approximation gap {mean.approximation_gap.mean():.2f} nats (means), of a total gap "
                f"log p(x) - ELBO of {(mean.log_px - mean.elbo_amortized).mean():.2f} nats.")
    st.caption("Each q is optimised with Adam for 300 steps of 16 draws, starting from the encoder's; both ELBOs are "
               "measured on the same 500 draws, and log p(x) with 2,000 importance samples from the optimised q.")


def _one(loaded: LoadedModel, index: int, y) -> Gaps:
    key = ("amort_one", loaded.path, loaded.stamp, index)
    store = st.session_state.setdefault("_amortization_gaps", {})
    if key not in store:
        if len(store) > 16:
            store.clear()
        x = image_tensor(loaded.checkpoint, index)[None]
        store[key] = gaps(loaded.checkpoint.model, x, y, seed=index)
    return store[key]
