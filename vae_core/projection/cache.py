"""Fitted t-SNE and UMAP maps kept on disk, so a restarted app draws them without computing them again.

One file per model and map: ``cache_dir()/projections/<model fingerprint>/<method>-<params hash>.npz``
holding ``embedding`` (N, 2), ``mu`` (N, D) the encoded points it was fitted on, the resolved
``backend`` and the ``params`` as JSON. Loading never unpickles (``allow_pickle=False``).

- The model fingerprint is the SHA-256 of the checkpoint's weights file and of its stored image sample:
  a checkpoint that is retrained or replaced gets a new fingerprint, so its maps are computed again.
- A stored map is used only if its ``mu`` equals the caller's (to float tolerance) and its params match.
- A stored map comes back through its method's ``from_stored`` (vae_core.projection.base says what it can
  do then): drawing and the t-SNE inverse (the nearest encoded point) need only the two arrays; UMAP's
  transform / inverse_transform and openTSNE's transform rebuild their fitted object from ``mu`` on first use.
- Only the methods that are ``cached_on_disk`` (t-SNE, UMAP) are stored: the native latent plane and PCA
  take milliseconds.
- At most :data:`MAX_FILES` maps are kept; the least recently used ones are deleted first.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from vae_core.store.checkpoints import SAMPLE_FILE, WEIGHTS_FILE
from vae_core.store.paths import cache_dir
from .base import Projection, ProjectionError
from .registry import make_projection, projection_method

log = logging.getLogger(__name__)

FORMAT = 1
MAX_FILES = 256
MU_RTOL, MU_ATOL = 1e-4, 1e-5  # encodings recomputed on another thread count differ in the last bits

fits: Counter[str] = Counter()  # method -> maps fitted by load_or_fit in this process (the tests read it)


def projections_dir() -> Path:
    return cache_dir() / "projections"


def model_fingerprint(checkpoint_dir: str | os.PathLike) -> str:
    """SHA-256 of the checkpoint's weights and stored sample (the sample is what the maps show; a bundled
    model's shared test split counts by its pinned SHA-256, vae_core.store.test_splits)."""
    from vae_core.store.test_splits import sha256_of

    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, SAMPLE_FILE):
        path = Path(checkpoint_dir) / name
        digest.update(name.encode() + b"\0")
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            digest.update(b"missing")
        digest.update(b"\0")
    shared = sha256_of(checkpoint_dir)
    if shared is not None:
        digest.update(b"shared_sample\0" + shared.encode())
    return digest.hexdigest()


def map_params(method: str, dims: tuple[int, int] = (0, 1), **options) -> dict:
    """What makes two maps of the same encodings the same: the method, its parameters, the t-SNE backend
    (each method's ``map_params``)."""
    return make_projection(method, dims, **options).map_params()


def cache_path(fingerprint: str, params: dict) -> Path:
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    return projections_dir() / fingerprint[:32] / f"{params['method']}-{key}.npz"


def load(fingerprint: str, mu: np.ndarray, params: dict, options: dict | None = None) -> Projection | None:
    """The stored map for these encodings and params, restored as a fitted Projection (``options``: its
    ``__init__`` arguments beyond those in params, e.g. n_jobs); None if there is none (or it is damaged, or
    was fitted on other encodings)."""
    path = cache_path(fingerprint, params)
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != FORMAT or json.loads(str(f["params"])) != params:
                return None
            embedding, stored_mu, backend = f["embedding"], f["mu"], str(f["backend"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        return None  # damaged or from another version: computed again and overwritten
    mu = np.asarray(mu, dtype=np.float32)
    if (stored_mu.shape != mu.shape or embedding.shape != (len(mu), 2) or not np.isfinite(embedding).all()
            or not np.allclose(stored_mu, mu, rtol=MU_RTOL, atol=MU_ATOL)):
        return None
    try:
        os.utime(path)  # least recently used maps are pruned first
    except OSError:
        pass
    method = projection_method(params["method"])
    try:
        return method.from_stored(mu, embedding, backend=backend, **{**method.init_options(params), **(options or {})})
    except ProjectionError:  # made by another version: computed again and overwritten
        return None


def save(fingerprint: str, params: dict, proj: Projection) -> Path:
    """Write the fitted map atomically (a reader sees the old file or the new one) and prune old maps."""
    path = cache_path(fingerprint, params)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp.npz")  # unique per writer
    for attempt in range(3):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            np.savez(tmp, format=np.int64(FORMAT), params=np.array(json.dumps(params)),
                     backend=np.array(proj.backend_), embedding=np.asarray(proj.embedding_, np.float32),
                     mu=np.asarray(proj.mu_, np.float32))
            os.replace(tmp, path)  # two processes storing the same map: the last one's complete file stays
            break
        except FileNotFoundError:  # another process's prune removed the (then empty) folder: make it again
            if attempt == 2:
                raise
        finally:
            tmp.unlink(missing_ok=True)
    prune()
    return path


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by another process meanwhile
        return None


def prune(max_files: int = MAX_FILES) -> None:
    stamped = [(t, p) for p in projections_dir().glob("*/*.npz") if not p.name.startswith(".")
               and (t := _mtime(p)) is not None]
    files = [p for _, p in sorted(stamped)]
    for old in files[:max(len(files) - max_files, 0)]:
        old.unlink(missing_ok=True)
        try:
            old.parent.rmdir()  # only when it was the model's last map
        except OSError:
            pass
