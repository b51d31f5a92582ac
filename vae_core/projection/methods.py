"""2-D maps of the encoded means mu(x): the native latent plane, PCA, t-SNE and UMAP.

Each method follows scikit-learn's estimator shape: ``__init__`` stores
parameters, ``fit`` learns attributes ending in ``_`` and returns self, and
``transform`` before ``fit`` raises a clear error.

Going back from the map to latent space (``inverse_transform``):
- latent: exact (the map is two latent coordinates; the others stay at ``base``);
- pca: PCA's linear inverse (the point in latent space closest to the plane's preimage);
- umap: UMAP's own ``inverse_transform`` when umap-learn is installed;
- tsne: t-SNE has no inverse, so the nearest encoded point's mu is used.

A fitted map can be kept on disk as its ``mu_`` and ``embedding_`` alone (vae_core.projection.cache).
Restored, it draws and goes back to latent space (PCA and the latent plane are simply fitted again, in
milliseconds; t-SNE's nearest-point inverse needs nothing more) at once. The fitted objects that
UMAP's transform / inverse_transform and openTSNE's transform need are rebuilt from ``mu_`` the first
time one is called (seconds), with the embedding on screen kept.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import Callable

import numpy as np

METHODS = ("latent", "pca", "tsne", "umap")
LABELS = {"latent": "Native latent", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
INSTALL_HINT = {
    "umap": "UMAP needs the optional package umap-learn: pip install umap-learn",
    "opentsne": "for a faster t-SNE that can also place new points: pip install openTSNE",
}


_REBUILD_LOCK = threading.Lock()  # one rebuild of a fitted UMAP / openTSNE object at a time


class ProjectionError(ValueError):
    """A projection cannot be computed; the message says why and what to do."""


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def available_methods() -> dict[str, str | None]:
    """method -> None when usable, else the reason (with the install command)."""
    return {"latent": None, "pca": None, "tsne": None,
            "umap": None if has_module("umap") else INSTALL_HINT["umap"]}


def opentsne_module():
    """openTSNE, imported so that its OpenMP threads sleep when idle instead of spinning.

    openTSNE brings its own OpenMP runtime, which reads OMP_WAIT_POLICY once, when it loads. On an idle
    2-core machine the policy makes no difference; on a busy one, spinning threads took up to 3x the CPU
    time of a 2-thread fit and up to 4x its wall time (docs/benchmarks.md). A value the user set is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import openTSNE

    return openTSNE


def tsne_backend(requested: str = "auto") -> str:
    """The t-SNE implementation: openTSNE when installed (faster here, see docs/benchmarks.md, and it can
    place new points), else scikit-learn's."""
    if requested == "auto":
        return "opentsne" if has_module("openTSNE") else "sklearn"
    if requested not in ("opentsne", "sklearn"):
        raise ProjectionError(f"tsne_backend={requested!r} is not one of auto, opentsne, sklearn")
    if requested == "opentsne" and not has_module("openTSNE"):
        raise ProjectionError(INSTALL_HINT["opentsne"])
    return requested


# openTSNE's optimisation: (early-exaggeration iterations, then the rest), and how the repulsive forces are
# computed. "fast" (the app's, for a new model): a third of openTSNE's default iterations, FFT interpolation
# and exact neighbours, as good a map at 10,000 points (bench/projections.py) in about a seventh of the time;
# "full": openTSNE's defaults, for the maps that ship with the bundled models (made once, offline).
TSNE_SCHEDULES = {"fast": {"early_exaggeration_iter": 75, "n_iter": 175, "negative_gradient_method": "fft"},
                  "full": {"early_exaggeration_iter": 250, "n_iter": 500}}
EXACT_NEIGHBOURS_UP_TO = 20_000  # points: below this, exact nearest neighbours are faster than Annoy here


class Projection:
    def __init__(self, method: str = "pca", *, dims: tuple[int, int] = (0, 1), random_state: int = 0,
                 perplexity: float = 30.0, n_neighbors: int = 15, tsne_backend: str = "auto", n_jobs: int = -1,
                 tsne_schedule: str = "fast"):
        self.method = method
        self.dims = dims
        self.random_state = random_state
        self.perplexity = perplexity
        self.n_neighbors = n_neighbors
        self.tsne_backend = tsne_backend  # "auto" (openTSNE when installed), "opentsne" or "sklearn"
        self.n_jobs = n_jobs  # openTSNE's threads (-1: every core)
        self.tsne_schedule = tsne_schedule  # a key of TSNE_SCHEDULES

    # -- fitting -------------------------------------------------------------------------
    def fit(self, mu: np.ndarray, progress: Callable[[float, str], None] | None = None) -> "Projection":
        if self.method not in METHODS:
            raise ProjectionError(f"method={self.method!r} is not one of {', '.join(METHODS)}")
        mu = np.asarray(mu, dtype=np.float32)
        if mu.ndim != 2 or len(mu) < 2:
            raise ProjectionError(f"need at least 2 encoded points of shape (N, D); got {mu.shape}")
        if not np.isfinite(mu).all():
            raise ProjectionError("the encoded means contain NaN or infinite values")
        report = progress or (lambda frac, text: None)
        self.mu_ = mu
        self.backend_ = self.method
        report(0.0, f"computing {LABELS[self.method]} of {len(mu):,} points")
        getattr(self, f"_fit_{self.method}")(mu, report)
        report(1.0, "done")
        return self

    def _fit_latent(self, mu, report) -> None:
        d = mu.shape[1]
        if d == 1:
            self.embedding_ = np.stack([mu[:, 0], np.zeros(len(mu), np.float32)], 1)
            return
        i, j = self.dims
        if not (0 <= i < d and 0 <= j < d and i != j):
            raise ProjectionError(f"dims={self.dims} must be two different latent dimensions in 0..{d - 1}")
        self.embedding_ = mu[:, [i, j]].copy()

    def _fit_pca(self, mu, report) -> None:
        from sklearn.decomposition import PCA

        n = min(2, mu.shape[1])
        self.pca_ = PCA(n_components=n, random_state=self.random_state).fit(mu)
        emb = self.pca_.transform(mu).astype(np.float32)
        self.embedding_ = emb if n == 2 else np.concatenate([emb, np.zeros_like(emb)], 1)

    def _perplexity(self, n: int) -> float:
        return float(min(self.perplexity, max(2.0, (n - 1) / 3)))

    def _opentsne(self, n: int, callbacks=None):
        if self.tsne_schedule not in TSNE_SCHEDULES:
            raise ProjectionError(f"tsne_schedule={self.tsne_schedule!r} is not one of {', '.join(TSNE_SCHEDULES)}")
        schedule = TSNE_SCHEDULES[self.tsne_schedule]
        neighbours = "exact" if self.tsne_schedule == "fast" and n <= EXACT_NEIGHBOURS_UP_TO else "auto"
        return opentsne_module().TSNE(perplexity=self._perplexity(n), random_state=self.random_state,
                                      n_jobs=self.n_jobs, callbacks=callbacks, callbacks_every_iters=25, verbose=False,
                                      neighbors=neighbours, **schedule)

    def _fit_tsne(self, mu, report) -> None:
        backend = tsne_backend(self.tsne_backend)
        if backend == "opentsne":
            schedule = TSNE_SCHEDULES.get(self.tsne_schedule, {})
            total = schedule.get("early_exaggeration_iter", 250) + schedule.get("n_iter", 500)
            count = {"offset": 0, "last": 0}

            def cb(iteration, error, embedding):
                if iteration < count["last"]:  # the second phase counts from 1 again
                    count["offset"] += count["last"]
                count["last"] = iteration
                done = count["offset"] + iteration
                report(min(done / total, 0.99), f"t-SNE iteration {done}/{total}")
                return False

            emb = self._opentsne(len(mu), callbacks=cb).fit(mu)
            self.tsne_ = emb
            self.embedding_ = np.asarray(emb, dtype=np.float32)
        else:
            from sklearn.manifold import TSNE

            self.embedding_ = TSNE(n_components=2, perplexity=self._perplexity(len(mu)), init="pca",
                                   random_state=self.random_state).fit_transform(mu).astype(np.float32)
        self.backend_ = f"tsne-{backend}"

    def _new_umap(self, n: int):
        import umap

        return umap.UMAP(n_neighbors=min(self.n_neighbors, n - 1), random_state=self.random_state, n_jobs=1)

    def _fit_umap(self, mu, report) -> None:
        if not has_module("umap"):
            raise ProjectionError(INSTALL_HINT["umap"])
        self.umap_ = self._new_umap(len(mu))
        self.embedding_ = self.umap_.fit_transform(mu).astype(np.float32)

    # -- fitted objects that a projection restored from its embedding alone rebuilds when needed ----
    def _umap_model(self):
        """UMAP's fitted object (transform and inverse_transform need it). A projection restored from the
        disk cache has only mu_ and embedding_: UMAP is fitted again on mu_ (seconds), and its embedding is
        set to the one on screen, so both transforms agree with the drawn map."""
        with _REBUILD_LOCK:
            if not hasattr(self, "umap_"):
                if not has_module("umap"):
                    raise ProjectionError(INSTALL_HINT["umap"])
                model = self._new_umap(len(self.mu_)).fit(self.mu_)
                model.embedding_ = self.embedding_.copy()
                self.umap_ = model
        return self.umap_

    def _opentsne_model(self):
        """openTSNE's fitted embedding, for transform; None for scikit-learn's t-SNE. A projection restored
        from the disk cache rebuilds it from mu_ (the same affinities) at the positions on screen."""
        if self.backend_ != "tsne-opentsne":
            return None
        with _REBUILD_LOCK:
            if not hasattr(self, "tsne_"):
                if not has_module("openTSNE"):
                    return None
                log = logging.getLogger("openTSNE.tsne")
                level = log.level
                log.setLevel(logging.ERROR)  # it warns that a spread-out initial layout may converge poorly
                try:
                    self.tsne_ = self._opentsne(len(self.mu_)).prepare_initial(
                        self.mu_, initialization=self.embedding_.astype(np.float64))
                finally:
                    log.setLevel(level)
        return self.tsne_

    # -- using a fitted projection -------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "embedding_"):
            raise ProjectionError("this Projection is not fitted yet: call fit(mu) first")

    def transform(self, mu_new: np.ndarray) -> np.ndarray:
        """Place new encoded points on the map, (M, 2)."""
        self._check_fitted()
        mu_new = np.atleast_2d(np.asarray(mu_new, dtype=np.float32))
        if mu_new.shape[1] != self.mu_.shape[1]:
            raise ProjectionError(f"points have {mu_new.shape[1]} dimensions; the map was fitted on {self.mu_.shape[1]}")
        if self.method == "latent":
            if mu_new.shape[1] == 1:
                return np.stack([mu_new[:, 0], np.zeros(len(mu_new), np.float32)], 1)
            return mu_new[:, list(self.dims)]
        if self.method == "pca":
            emb = self.pca_.transform(mu_new).astype(np.float32)
            return emb if emb.shape[1] == 2 else np.concatenate([emb, np.zeros_like(emb)], 1)
        if self.method == "umap":
            return self._umap_model().transform(mu_new).astype(np.float32)
        model = self._opentsne_model()
        if model is not None:
            return np.asarray(model.transform(mu_new), dtype=np.float32)
        return self._neighbour_average(mu_new)

    def _neighbour_average(self, mu_new: np.ndarray, k: int = 5) -> np.ndarray:
        d2 = ((mu_new[:, None, :] - self.mu_[None, :, :]) ** 2).sum(-1)
        idx = np.argsort(d2, axis=1)[:, :k]
        return self.embedding_[idx].mean(1)

    @property
    def inverse_kind(self) -> str:
        return {"latent": "exact", "pca": "pca-inverse", "umap": "umap-inverse", "tsne": "nearest"}[self.method]

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """Index of the encoded point nearest to each map point."""
        self._check_fitted()
        pts = np.atleast_2d(np.asarray(points, dtype=np.float32))
        d2 = ((pts[:, None, :] - self.embedding_[None, :, :]) ** 2).sum(-1)
        return d2.argmin(1)

    def inverse_transform(self, points: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Latent points (M, D) for map points (M, 2); see the module docstring for each method."""
        self._check_fitted()
        pts = np.atleast_2d(np.asarray(points, dtype=np.float32))
        d = self.mu_.shape[1]
        if self.method == "latent":
            out = np.tile(np.zeros(d, np.float32) if base is None else np.asarray(base, np.float32), (len(pts), 1))
            if d == 1:
                out[:, 0] = pts[:, 0]
            else:
                out[:, list(self.dims)] = pts
            return out
        if self.method == "pca":
            return self.pca_.inverse_transform(pts[:, :self.pca_.n_components_]).astype(np.float32)
        if self.method == "umap":
            return np.asarray(self._umap_model().inverse_transform(pts), dtype=np.float32)
        return self.mu_[self.nearest(pts)]
