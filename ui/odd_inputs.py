"""The Trade-offs page's odd inputs: a Fashion-MNIST model's estimate of log p(x) for its own test images and for
handwritten digits it never saw. The digits get the higher likelihoods (Nalisnick et al., 2019): a likelihood
is no detector of what a model has not seen."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from . import url_state
from .images import show_grid
from .loaded_model import loaded_model
from .map_plot import hall_style
from .model_choices import model_choices
from .models_ui import model_rows

K = 100  # importance samples per image (IWAE)
N_IMAGES = 500  # images of each kind scored
DIGITS_MODEL = "mnist5k-2d"  # whose stored test images are the digits (real MNIST, 28x28)


def _scores(model_path: str, digits_path: str) -> dict:
    """log p(x) of the model's own test images and of the digits, each computed once per loaded model."""
    model, digits = loaded_model(model_path), loaded_model(digits_path)
    with st.spinner(f"Estimating log p(x) of {N_IMAGES} clothing images and {N_IMAGES} digits (IWAE)..."):
        return {"own": model.log_px_of(model, K, N_IMAGES), "digits": model.log_px_of(digits, K, N_IMAGES)}


def odd_inputs_tab() -> None:
    choices = model_choices()
    paths = {c.path.rstrip("/").rsplit("/", 1)[-1]: c.path for c in choices}
    fashion = [row["model"] for row in model_rows(choices)  # read from the JSON files alone
               if row["dataset"] == "fashion-mnist" and row["beta"] != "-" and row["model"] in paths]
    if not fashion or DIGITS_MODEL not in paths:
        st.info("This view needs a Fashion-MNIST VAE and the bundled mnist5k-2d (for its digits): "
                "bash checkpoints/rebuild.sh builds them.")
        return
    url_state.take_choice("model_ood", "ood_model", {n: n for n in fashion}, "model")
    if st.session_state.get("ood_model") not in fashion:
        st.session_state.ood_model = "fashion-mnist-20d" if "fashion-mnist-20d" in fashion else fashion[0]
    name = st.selectbox("A model trained on Fashion-MNIST", fashion, key="ood_model")
    url_state.write("model_ood", name)
    got = _scores(paths[name], paths[DIGITS_MODEL])
    own, digits = got["own"], got["digits"]
    left, right = st.columns([3, 2], gap="large")
    with left, st.container(key="main_figure"):
        fig = go.Figure()
        for values, label, colour in ((own, "its own test images (clothing)", "#4f46e5"),
                                      (digits, "handwritten digits (MNIST), never seen", "#dc2626")):
            fig.add_trace(go.Histogram(x=values, name=label, opacity=0.6, nbinsx=50, marker_color=colour))
        fig.update_layout(barmode="overlay", height=420, margin=dict(l=10, r=10, t=30, b=10), font=dict(size=14),
                          xaxis_title="log p(x), nats<br>(IWAE, higher = more likely)", yaxis_title="images",
                          legend=dict(orientation="h", y=1.1))
        st.plotly_chart(hall_style(fig), key="tradeoffs_ood_chart", config={"displayModeBar": False})
    with right:
        share = float((digits > np.median(own)).mean())
        c1, c2 = st.columns(2)
        c1.metric("mean log p(x), clothing", f"{own.mean():.1f}")
        c2.metric("mean log p(x), digits", f"{digits.mean():.1f}", delta=f"{digits.mean() - own.mean():+.1f}")
        verdict = ("The digits, which the model never saw, get the **higher** likelihood" if digits.mean() > own.mean()
                   else "Here the model gives its own images the higher likelihood")
        st.markdown(f"{verdict}: {share:.0%} of them are more likely than the median clothing image.")
        st.caption("Why (Nalisnick et al., 2019, \"Do deep generative models know what they don't know?\"): a "
                   "likelihood rewards images that are easy to describe pixel by pixel. A digit is mostly black "
                   "background with a few strokes, simpler than a garment's texture, so p(x) is high although it is "
                   "nothing like the training data. A likelihood ranks how compressible an image is, not how typical "
                   "it is: it is no detector of odd inputs on its own.")
    ckpt = loaded_model(paths[name]).checkpoint
    digits_images = loaded_model(paths[DIGITS_MODEL]).checkpoint.sample.images
    a, b = st.columns(2, gap="large")
    with a:
        order = np.argsort(-own)[:8]
        show_grid(ckpt.sample.images[order], ncols=8, cell=64, caption="Its own test images with the highest log p(x)",
                  alt=f"the 8 of {ckpt.name}'s own test images to which it gives the highest log p(x)")
    with b:
        order = np.argsort(-digits)[:8]
        show_grid(digits_images[order], ncols=8, cell=64, caption="Digits with the highest log p(x) under it",
                  alt=f"the 8 handwritten digits to which {ckpt.name} gives the highest log p(x)")
