"""The Train page's pieces: settings parsed from widgets, the uploaded .npz, the live loss curves."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from services.jobs import JobRegistry
from vae_core.store.paths import UnsafeNameError, safe_name, uploads_dir
from vae_core.training.trainer import EpochStats

TRAIN_COLOR, TEST_COLOR, LOSS_COLOR = "#4f46e5", "#ea580c", "#94a3b8"
TITLES = ("Negative ELBO<br>= recon + KL", "Reconstruction<br>−log p(x|z)", "KL<br>q(z|x) ‖ N(0, I)")


@st.cache_resource
def job_registry() -> JobRegistry:
    """The server's one registry of training jobs. Kept by st.cache_resource, so it survives the
    module reloads Streamlit does when a source file changes (a module-level object would not)."""
    return JobRegistry()


def save_uploaded_npz(data: bytes, file_name: str, session_id: str) -> Path:
    """Store an uploaded .npz in this session's own folder and return its path (same bytes, same file)."""
    stem = file_name.rsplit(".", 1)[0]
    try:
        stem = safe_name(stem, max_len=40)
    except UnsafeNameError:
        stem = "dataset"
    folder = uploads_dir(session_id) / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.npz"
    if not path.is_file():  # a unique temporary name: processes storing the same file at once never mix bytes
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def loss_figure(history: tuple[EpochStats, ...] | list[EpochStats], epochs: int, weighted: bool) -> go.Figure:
    """Three panels per epoch: negative ELBO, reconstruction and KL, for the training and the test set.

    weighted: also draw the training loss recon + beta_t * KL that the optimiser really minimised."""
    # two short lines each: one-line titles ran into each other when the three panels were narrow
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.08,
                        subplot_titles=TITLES)
    ep = [h.epoch for h in history]
    panels = [
        ([h.train_recon + h.train_kl for h in history], [h.test_neg_elbo for h in history]),
        ([h.train_recon for h in history], [h.test_recon for h in history]),
        ([h.train_kl for h in history], [h.test_kl for h in history]),
    ]
    mode = "lines+markers" if len(ep) <= 40 else "lines"
    for col, (train, test) in enumerate(panels, start=1):
        first = col == 1
        fig.add_trace(go.Scatter(x=ep, y=train, name="train", mode=mode, legendgroup="train", showlegend=first,
                                 line=dict(color=TRAIN_COLOR, width=3)), row=1, col=col)
        fig.add_trace(go.Scatter(x=ep, y=test, name="test", mode=mode, legendgroup="test", showlegend=first,
                                 line=dict(color=TEST_COLOR, width=3, dash="dash")), row=1, col=col)
    if weighted:
        fig.add_trace(go.Scatter(x=ep, y=[h.train_loss for h in history], name="train loss (recon + beta*KL)",
                                 mode="lines", line=dict(color=LOSS_COLOR, width=2, dash="dot")), row=1, col=1)
    fig.update_xaxes(title_text="epoch", range=[0.5, max(epochs, 1) + 0.5])
    fig.update_yaxes(title_text="nats per image", row=1, col=1)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=70, b=10), font=dict(size=15),
                      legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0), uirevision="curves")
    fig.update_annotations(font_size=16)
    return fig


def forming_map_figure(frame, has_prior: bool) -> go.Figure:
    """The stored test images' means mu(x) as the training left them at its latest snapshot (services.jobs.MapFrame),
    on the two latent dimensions whose means spread most now (the plane itself for a 2-D latent)."""
    from vae_core.model.activity import rank_dims
    from vae_core.model.priors import StandardNormal

    from .palette import class_colours

    mu, labels, names = frame.mu, frame.labels, list(frame.class_names)
    d = mu.shape[1]
    dx, dy = (0, 1) if d == 2 else (tuple(int(i) for i in rank_dims(mu.var(0), 2)) if d > 2 else (0, 0))
    colours = class_colours(max(len(names), int(labels.max()) + 1 if len(labels) else 1))
    fig = go.Figure()
    if has_prior and d >= 2:
        for sigma, xs, ys in StandardNormal(2).contours():
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#555", width=1.5, dash="dot"),
                                     hoverinfo="skip", showlegend=sigma == 1.0, name="prior N(0, I): 1, 2, 3 sigma"))
    for c in np.unique(labels):
        pick = labels == c
        fig.add_trace(go.Scattergl(x=mu[pick, dx], y=mu[pick, dy] if d > 1 else np.zeros(pick.sum()),
                                   mode="markers", name=names[c] if c < len(names) else str(c),
                                   marker=dict(size=5, color=colours[int(c) % len(colours)], opacity=0.8)))
    spread = float(np.abs(mu[:, [dx, dy]]).max()) if len(mu) else 1.0
    lim = max(spread, 3.2 if has_prior else 0.0) * 1.05 or 1.0
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"),
                      title=dict(text=f"step {frame.step:,} (epoch {frame.epoch:.2f})", font=dict(size=14)),
                      xaxis=dict(title=f"z{dx + 1}", range=[-lim, lim], zeroline=False),
                      yaxis=dict(title=f"z{dy + 1}" if d > 1 else "", range=[-lim, lim], zeroline=False,
                                 scaleanchor="x", scaleratio=1))
    return fig
