"""Cached model loading and encoding, shared by every page and session.

Models are cached with ``st.cache_resource`` (one copy per server, never mutated:
pages only call encode/decode under inference mode), loaded lazily: the weights as NumPy arrays,
the torch model built on first use, so the first screen needs no torch; arrays with
``st.cache_data``. The cache key includes the folder's modification stamp, so a
checkpoint rewritten on disk is loaded again.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from vae_core import numpy_model
from vae_core.checkpoints import Checkpoint, list_checkpoints, load_checkpoint
from vae_core.map_image import MapCanvas
from vae_core.paths import BUNDLED_DIR, runs_dir, session_runs_dir, share_trained, uploads_dir
from vae_core.projection import Projection
from vae_core.projection_cache import load_or_fit

DEFAULT_MODEL = "mnist5k-2d"


@dataclass(frozen=True)
class ModelChoice:
    path: str
    label: str  # shown in the picker
    origin: str  # "bundled", "saved" (every session), "trained" (in this session) or "uploaded"


def stamp(path: str | Path) -> str:
    """Changes whenever the checkpoint folder is rewritten (an atomic save replaces the folder)."""
    p = Path(path)
    try:
        st_ = (p / "model.safetensors").stat()
        return f"{st_.st_mtime_ns}-{st_.st_size}-{p.stat().st_ino}"
    except OSError:
        return "missing"


def session_id() -> str:
    if "session_uid" not in st.session_state:
        st.session_state.session_uid = os.urandom(8).hex()
    return st.session_state.session_uid


def model_choices() -> list[ModelChoice]:
    choices = [ModelChoice(str(p), p.name, "bundled") for p in list_checkpoints(BUNDLED_DIR)]
    choices += [ModelChoice(str(p), f"{p.name} (saved)", "saved") for p in list_checkpoints(runs_dir())]
    if not share_trained():  # then this session's trainings are in its own folder
        choices += [ModelChoice(str(p), f"{p.name} (trained)", "trained")
                    for p in list_checkpoints(session_runs_dir(session_id()))]
    choices += [ModelChoice(str(p), f"{p.name} (uploaded)", "uploaded")
                for p in list_checkpoints(uploads_dir(session_id()))]
    return choices


@st.cache_resource(max_entries=16, show_spinner="Loading the model...")
def _load(path: str, _stamp: str) -> Checkpoint:
    # lazy: the torch model is built when a page first needs it; the first screen needs only the arrays
    return load_checkpoint(path, "cpu", lazy=True)


def load_model(path: str) -> Checkpoint:
    return _load(path, stamp(path))


_WARM_UP_DELAY = 1.0  # seconds after the first screen's script run, so its messages and files go out first
_warm_up_started = threading.Event()


def warm_up(path: str | None) -> None:
    """Once per server, in the background: import torch (about 1.6 s) and pandas, and build the model
    of ``path``, so the first click that needs them does not wait. The first screen needs neither
    (checkpoints load lazily; the map's encodings are computed in NumPy), so it is on screen sooner."""
    if _warm_up_started.is_set():
        return
    _warm_up_started.set()
    ckpt = None
    if path:
        try:
            ckpt = load_model(path)
        except Exception:  # noqa: BLE001  (the page has said what is wrong with it)
            ckpt = None

    def work() -> None:
        import importlib
        import time

        time.sleep(_WARM_UP_DELAY)
        for module in ("pandas", "torch", "vae_core.latent", "vae_core.evaluate"):
            importlib.import_module(module)
        if ckpt is not None:
            ckpt.model  # noqa: B018  (builds it)

    threading.Thread(target=work, name="vae-warm-up", daemon=True).start()


@st.cache_data(max_entries=32, show_spinner="Encoding the images...")
def _encode(path: str, _stamp: str) -> tuple[np.ndarray, np.ndarray]:
    ckpt = _load(path, _stamp)
    if ckpt.sample is None:
        d = ckpt.config.latent_dim
        return np.zeros((0, d), np.float32), np.zeros((0, d), np.float32)
    if "torch" in sys.modules:  # imported already (warm_up does it soon after the first screen): torch is
        import torch            # faster on convolutions (0.14 s against 0.41 s for 2,000 images)

        from vae_core.evaluate import encode_dataset

        with torch.inference_mode():
            return encode_dataset(ckpt.model, ckpt.sample.as_tensor(), torch.from_numpy(ckpt.sample.labels))
    # the first screen: NumPy, the same numbers within 1e-4 (tests/test_numpy_model.py), no torch import
    return numpy_model.encode(ckpt.config, ckpt.arrays, ckpt.sample.as_array(), ckpt.sample.labels)


def encoded_sample(path: str) -> tuple[np.ndarray, np.ndarray]:
    """mu and log sigma^2 of every stored image, (N, D) each."""
    return _encode(path, stamp(path))


@st.cache_resource
def _projection_store() -> dict:
    """One dict per server: projection_key(...) -> fitted Projection."""
    return {}


def projection_key(path: str, method: str, dims: tuple[int, int] = (0, 1), points: str = "stored") -> tuple:
    return (path, stamp(path), method, tuple(int(d) for d in dims)) + ((points,) if points != "stored" else ())


def projection_points(path: str, points: str = "stored") -> tuple[np.ndarray, str | None]:
    """The encodings a map is fitted on, and the checkpoint folder whose disk cache keeps it: the stored
    sample's, or every image of the dataset's (ui.map_points; not kept on disk)."""
    if points == "stored":
        return encoded_sample(path)[0], path
    from .map_points import all_points_mu

    return all_points_mu(path), None


def projection(path: str, method: str, dims: tuple[int, int] = (0, 1), points: str = "stored") -> Projection:
    """The fitted 2-D map of a model's encoded sample, computed once per model, method and dims,
    with a progress bar while it computes. t-SNE and UMAP maps are kept on disk
    (vae_core.projection_cache), so a restarted server loads them instead of computing them; a bundled
    model's ship with it (vae_core.shipped_maps). ui.projection_jobs computes them in the background instead."""
    key = projection_key(path, method, dims, points)
    store = _projection_store()
    if key not in store:
        mu, cache_dir = projection_points(path, points)
        bar = st.progress(0.0, text=f"Computing the {method} map of {len(mu):,} points...")
        try:
            store[key] = load_or_fit(cache_dir, mu, method, dims=key[3],
                                     progress=lambda f, t: bar.progress(float(min(max(f, 0), 1)), text=t))
        finally:
            bar.empty()
    return store[key]


@st.cache_resource(max_entries=16)
def _position_canvas(path: str, _stamp: str, dims: tuple[int, int], class_names: tuple[str, ...]) -> MapCanvas:
    from .map_plot import class_colours

    ckpt = _load(path, _stamp)
    mu, _ = _encode(path, _stamp)
    labels = ckpt.sample.labels
    show = np.arange(min(len(mu), 1000))
    n_colours = max(len(class_names), int(labels.max()) + 1 if len(labels) else 1)
    emb = mu[show][:, list(dims)]
    return MapCanvas(emb, labels[show], list(class_names), class_colours(n_colours), size=460, dot=4,
                     axis_titles=(f"z{dims[0] + 1}", f"z{dims[1] + 1}"), extent=_square_extent(emb))


def _square_extent(emb: np.ndarray) -> tuple[float, float, float, float]:
    """Equal units on both axes (distances in z look like distances), with a margin."""
    if len(emb) == 0:
        return -3.0, 3.0, -3.0, 3.0
    lo, hi = emb.min(0), emb.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.08, 1e-3)
    return centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half


def position_canvas(path: str, dims: tuple[int, int], class_names: tuple[str, ...]) -> MapCanvas:
    """The encoded sample's means on the latent axes ``dims``, drawn once per model: pages add a ring."""
    return _position_canvas(path, stamp(path), tuple(int(d) for d in dims), tuple(class_names))
