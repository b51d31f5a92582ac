"""A bundled model's PCA, t-SNE and UMAP maps, shipped in its folder so that no map is computed in a lecture.

``maps.npz`` in a checkpoint folder (written by ``python -m vae_core.bundle``, which
checkpoints/rebuild.sh runs) holds, for each of ``pca``, ``tsne`` and ``umap``, the embedding of the
model's stored test images (N, 2) float32, the parameters it was made with (JSON, those of
vae_core.projection.cache.map_params) and the backend that made it; and the model's fingerprint
(vae_core.projection.cache.model_fingerprint: its weights and its test images). A map is used only when
the fingerprint is the model's and the embedding has one row per encoded image.

Reading needs NumPy only: the maps are there without openTSNE or umap-learn installed. A restored map
draws, and goes back to latent space as any map restored from the disk cache does (its method's
``from_stored``, vae_core.projection.base). Which methods ship, and which of them the app restores, are their
``shipped`` and ``cached_on_disk``: PCA is fitted again when the app needs it (milliseconds; its inverse needs
the fitted object); its shipped embedding is the record the tests hold the app's fit to.
"""
from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from vae_core.store.files import MAPS_FILE
from .base import Projection
from .cache import map_params, model_fingerprint
from .registry import METHODS, make_projection, projection_method

FORMAT = 1
SHIPPED_METHODS = tuple(name for name, method in METHODS.items() if method.shipped)  # in maps.npz

_fingerprints: dict[tuple, str] = {}
_lock = threading.Lock()


def _fingerprint(folder: Path) -> str:
    """model_fingerprint, computed once per version of the folder's files."""
    stamp = []
    for name in ("model.safetensors", "meta.json", "sample.npz"):
        try:
            st = (folder / name).stat()
            stamp.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append((name, None, None))
    key = (str(folder.resolve()), tuple(stamp))
    with _lock:
        if key not in _fingerprints:
            _fingerprints[key] = model_fingerprint(folder)
        return _fingerprints[key]


def _read(folder: Path) -> dict | None:
    path = folder / MAPS_FILE
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != FORMAT:
                return None
            return {k: f[k] for k in f.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # damaged or from another version: the app computes the map instead


def shipped(folder: str | os.PathLike | None) -> tuple[str, ...]:
    """The methods whose maps ship with this model and fit it (its weights and images are those they were
    made from)."""
    if folder is None:
        return ()
    folder = Path(folder)
    data = _read(folder)
    if data is None or str(data["fingerprint"]) != _fingerprint(folder):
        return ()
    return tuple(m for m in SHIPPED_METHODS if m in data)


def load(folder: str | os.PathLike | None, mu: np.ndarray, method: str) -> Projection | None:
    """The shipped map of ``method`` as a fitted Projection (mu_ the caller's encodings), or None when it
    does not ship, is fitted again instead (not ``cached_on_disk``), was made for other weights or images, or
    does not have one row per encoded image."""
    kind = projection_method(method)
    if folder is None or not (kind.shipped and kind.cached_on_disk):
        return None
    folder = Path(folder)
    data = _read(folder)
    if data is None or method not in data or str(data["fingerprint"]) != _fingerprint(folder):
        return None
    embedding = np.ascontiguousarray(data[method], dtype=np.float32)
    mu = np.asarray(mu, dtype=np.float32)
    if embedding.shape != (len(mu), 2) or not np.isfinite(embedding).all():
        return None
    try:
        options = kind.init_options(json.loads(str(data[f"{method}_params"])))
        return kind.from_stored(mu, embedding, backend=str(data[f"{method}_backend"]), **options)
    except (KeyError, ValueError):  # damaged or from another version (ProjectionError is a ValueError)
        return None


def build(folder: str | os.PathLike, mu: np.ndarray, progress: Callable[[str, float, str], None] | None = None,
          methods: tuple[str, ...] = SHIPPED_METHODS) -> Path:
    """Fit the maps of ``mu`` (the model's encoded test images) and write ``maps.npz`` into ``folder``.
    t-SNE is openTSNE's, with its default (full) schedule, and UMAP needs umap-learn: the rebuild step needs
    requirements-extras.txt."""
    folder = Path(folder)
    report = progress or (lambda method, frac, text: None)
    for kind in map(projection_method, methods):
        if not kind.available().ok:
            raise RuntimeError(f"shipping a {kind.label} map: {kind.available().reason} (the rebuild step needs "
                               "pip install -r requirements-extras.txt)")
    arrays: dict[str, np.ndarray] = {"format": np.int64(FORMAT), "fingerprint": np.array(_fingerprint(folder))}
    for method in methods:
        options = projection_method(method).shipped_options()  # made once, offline: t-SNE's full schedule
        proj = make_projection(method, **options).fit(mu, progress=lambda f, t, m=method: report(m, f, t))
        arrays[method] = np.asarray(proj.embedding_, np.float32)
        arrays[f"{method}_params"] = np.array(json.dumps(map_params(method, **options), sort_keys=True))
        arrays[f"{method}_backend"] = np.array(proj.backend_)
    path = folder / MAPS_FILE
    tmp = folder / f".{MAPS_FILE}.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return path
