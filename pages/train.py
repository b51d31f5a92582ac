"""Train: pick data and settings, watch the loss curves and samples improve epoch by epoch."""
from __future__ import annotations

import streamlit as st

from ui.common import page_header
from ui.state import train as state
from ui.train_ui import run_ui, settings_ui, start_ui

page_header(
    "Train a VAE",
    "Training minimises the negative ELBO = reconstruction -log p(x|z) + beta * KL(q(z|x) || N(0, I)), "
    "averaged over images. The model trains in the background: the curves and samples below update "
    "after every epoch, and the finished model appears in the sidebar's model list.",
)
job = state.job()
snap = job.snapshot() if job is not None else None
running = snap is not None and snap.active
with st.expander("Settings", expanded=snap is None or snap.state == "failed", icon=":material/settings:"):
    spec = settings_ui(disabled=running)
    if running:
        st.caption("Your training is running: stop it or wait for it to finish to start another.")
if spec is not None:
    start_ui(spec)
elif snap is not None:
    run_ui(snap)
