"""Draw & encode's "How typical is your picture?": the picture's -ELBO and -log p(x) (IWAE) against the
stored test images' own, as percentiles, with a plain note when it lies beyond what the model saw."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from vae_core.analysis.typicality import UNUSUAL_PERCENTILE, percentile, scores, standard_errors

from . import presenter
from .loaded_model import LoadedModel

K = 100  # importance samples per image, for the picture and the test images alike
REFERENCE_IMAGES = 1000  # at most this many stored test images are scored (the first ones)


def typicality_section(loaded: LoadedModel, x: np.ndarray, y: int | None) -> None:
    """The section for one model input ``x`` (C, H, W) in [0, 1]."""
    ckpt = loaded.checkpoint
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        return
    ae = not ckpt.config.variant.has_prior
    with st.spinner("Scoring the stored test images (-ELBO and -log p(x))..."):
        ref = loaded.typicality_scores(K, REFERENCE_IMAGES)
    picture = np.ascontiguousarray(x, np.float32)
    # the picture's scores and their spread over 10 draws (11 x K samples): once per picture, not per page run
    mine, se = loaded.recent(("typicality of a picture", picture.tobytes(), picture.shape, y),
                             lambda: _picture_scores(ckpt.model, picture, y))
    elbo, log_px = float(mine.neg_elbo[0]), float(mine.neg_log_px[0])
    elbo_se, log_px_se = float(se.neg_elbo[0]), float(se.neg_log_px[0])
    p_elbo, p_px = percentile(ref.neg_elbo, elbo), percentile(ref.neg_log_px, log_px)
    n = len(ref.neg_log_px)
    st.subheader("How typical is your picture for this model?")
    c1, c2, c3 = st.columns([1, 1, 2], gap="large")
    if ae:
        c1.metric("Reconstruction error", f"{elbo:.1f} nats", help="A plain autoencoder defines no p(x): its only "
                  "measure of an image is how well it rebuilds it.")
        c1.caption(f"Higher than for {p_elbo:.0f}% of {n:,} stored test images.")
    else:
        c1.metric("-ELBO", f"{elbo:.1f} nats", help=f"The negative ELBO, reconstruction + KL, averaged over {K} "
                  "draws z ~ q(z|x): a bound on -log p(x) from above.")
        c1.caption(f"Higher than for {p_elbo:.0f}% of {n:,} stored test images." + _error_note(elbo_se))
        c2.metric("-log p(x)", f"{log_px:.1f} nats", help=f"The importance-weighted estimate (IWAE) with {K} "
                  "samples of q(z|x): tighter than the ELBO (Burda et al., 2015).")
        c2.caption(f"Higher than for {p_px:.0f}% of them: the model finds your picture less likely than "
                   f"{p_px:.0f}% of its test images." + _error_note(log_px_se))
    with c3:
        _histogram(ref.neg_log_px, log_px, "reconstruction error (nats)" if ae else "-log p(x), nats (IWAE)")
    limit = float(np.percentile(ref.neg_log_px, UNUSUAL_PERCENTILE))
    if log_px > limit:
        what = ckpt.meta.get("dataset", "training")
        st.warning(f"Beyond what the model saw: your picture scores {log_px:.1f} nats, above the "
                   f"{UNUSUAL_PERCENTILE:g}th percentile of the test images ({limit:.1f}). By the model's own measure "
                   f"it does not look like a {what} image. Try a larger, bolder drawing in the middle of the square.",
                   icon=":material/travel_explore:")
    elif not ae:
        st.caption(f"Within what the model saw: below the {UNUSUAL_PERCENTILE:g}th percentile of its test images "
                   f"({limit:.1f} nats). A high likelihood does not prove an image typical, though: models trained on "
                   "clothing give digits higher likelihoods than their own images (Nalisnick et al., 2019).")


def _histogram(reference: np.ndarray, value: float, title: str) -> None:
    font = presenter.chart_font_px(13)
    fig = go.Figure(go.Histogram(x=reference, nbinsx=40, name="stored test images", marker_color="#9ca3af"))
    fig.add_vline(x=value, line=dict(color="#dc2626", width=presenter.line_px(3)),
                  annotation=dict(text="your picture", font=dict(color="#dc2626", size=font)))
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), showlegend=False, font=dict(size=font),
                      xaxis_title=title, yaxis_title="test images", bargap=0.05)
    st.plotly_chart(fig, key="draw_typicality_chart", config={"displayModeBar": False})


def _picture_scores(model, picture: np.ndarray, y: int | None):
    x = torch.from_numpy(picture[None])
    yt = torch.tensor([int(y)]) if y is not None else None  # a model that takes no label ignores it
    return scores(model, x, yt, k=K), standard_errors(model, x, yt, k=K)


def _error_note(se: float) -> str:
    """How much a figure of K samples moves from one draw to the next (its standard error), where over 0.1 nats."""
    return f" From {K} samples of q(z|x): standard error {se:.2f} nats (its spread over 10 draws)." if se > 0.1 else ""
