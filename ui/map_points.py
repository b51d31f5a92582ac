"""The points of the latent map: the model's stored test images, or, on demand, every image of its
dataset (train and test, up to ui.scatter_map.MAX_POINTS), encoded once per model and server.

"stored" needs nothing but the checkpoint (and no torch: the first screen). "all" reads the dataset the
model was trained on, as its meta.json's train_config names it, from this machine (never downloaded),
and encodes it with a progress bar.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from vae_core.data.names import DATASETS
from vae_core.store.checkpoints import Checkpoint

from .loaded_model import LoadedModel, MapPoints
from .scatter_map import MAX_POINTS

POINT_SETS = {"stored": "stored test images", "all": "images of the dataset (train and test)"}


def _dataset_size(ckpt: Checkpoint) -> int:
    meta = ckpt.meta
    tc = meta.get("train_config") or {}
    name = tc.get("dataset") or meta.get("dataset")
    if not name or not (name in DATASETS or Path(str(name)).exists()):
        return 0
    try:
        return int(meta.get("n_train", 0)) + int(meta.get("n_test", 0))
    except (TypeError, ValueError):
        return 0


def points_available(ckpt: Checkpoint) -> dict[str, str]:
    """The point sets this model's map can show: key -> the label of the choice."""
    n_stored = len(ckpt.sample.labels) if ckpt.sample is not None else 0
    sets = {"stored": f"Test images ({n_stored:,})"}
    total = _dataset_size(ckpt)
    if n_stored < total <= MAX_POINTS:
        sets["all"] = f"All {total:,}"
    return sets


def _encode_every_image(loaded: LoadedModel) -> MapPoints:
    """Every image of the model's dataset, encoded once per loaded model, with a progress bar the first time."""
    ckpt = loaded.checkpoint
    name = (ckpt.meta.get("train_config") or {}).get("dataset") or ckpt.meta.get("dataset")
    bar = st.progress(0.0, text=f"Reading every image of {name}...")
    try:
        return loaded.every_image(lambda frac, text: bar.progress(frac, text=text))
    finally:
        bar.empty()


def map_points(loaded: LoadedModel, which: str) -> MapPoints:
    """The map's points; for "all", the stored ones (after an error message) when the dataset cannot be read here."""
    ckpt = loaded.checkpoint
    if which == "all":
        try:
            return _encode_every_image(loaded)
        except (OSError, ValueError) as e:  # DatasetError is a ValueError: the files are not on this machine
            st.error(f"Every image of the dataset cannot be shown: {e}. The map shows the stored test images.")
            st.session_state.latent_map_points = "stored"
    mu, logvar = loaded.encodings()
    return MapPoints(ckpt.sample.images, ckpt.sample.labels, mu, logvar)
