"""2-D maps of the encoded means mu(x): the native latent plane, PCA, t-SNE and UMAP.

Each method follows scikit-learn's estimator shape: ``__init__`` stores
parameters, ``fit`` learns attributes ending in ``_`` and returns self, and
``transform`` before ``fit`` raises a clear error.

Going back from the map to latent space (``inverse_transform``):
- latent: exact (the map is two latent coordinates; the others stay at ``base``);
- pca: PCA's linear inverse (the point in latent space closest to the plane's preimage);
- umap: UMAP's own ``inverse_transform`` when umap-learn is installed;
- tsne: t-SNE has no inverse, so the nearest encoded point's mu is used.
"""
from __future__ import annotations

import importlib.util
from typing import Callable

import numpy as np

METHODS = ("latent", "pca", "tsne", "umap")
LABELS = {"latent": "Native latent", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
INSTALL_HINT = {
    "umap": "UMAP needs the optional package umap-learn: pip install umap-learn",
    "opentsne": "for a faster t-SNE that can also place new points: pip install openTSNE",
}


class ProjectionError(ValueError):
    """A projection cannot be computed; the message says why and what to do."""


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def available_methods() -> dict[str, str | None]:
    """method -> None when usable, else the reason (with the install command)."""
    return {"latent": None, "pca": None, "tsne": None,
            "umap": None if has_module("umap") else INSTALL_HINT["umap"]}


class Projection:
    def __init__(self, method: str = "pca", *, dims: tuple[int, int] = (0, 1), random_state: int = 0,
                 perplexity: float = 30.0, n_neighbors: int = 15, tsne_backend: str = "auto"):
        self.method = method
        self.dims = dims
        self.random_state = random_state
        self.perplexity = perplexity
        self.n_neighbors = n_neighbors
        self.tsne_backend = tsne_backend

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

    def _fit_tsne(self, mu, report) -> None:
        perplexity = float(min(self.perplexity, max(2.0, (len(mu) - 1) / 3)))
        backend = self.tsne_backend
        if backend == "auto":
            backend = "opentsne" if has_module("openTSNE") else "sklearn"
        if backend == "opentsne":
            from openTSNE import TSNE as OpenTSNE

            total = 750  # openTSNE's default: 250 early-exaggeration + 500 iterations

            def cb(iteration, error, embedding):
                report(min(iteration / total, 0.99), f"t-SNE iteration {iteration}/{total}")
                return False

            emb = OpenTSNE(perplexity=perplexity, random_state=self.random_state, n_jobs=-1, callbacks=cb,
                           callbacks_every_iters=25, verbose=False).fit(mu)
            self.tsne_ = emb
            self.embedding_ = np.asarray(emb, dtype=np.float32)
        else:
            from sklearn.manifold import TSNE

            self.embedding_ = TSNE(n_components=2, perplexity=perplexity, init="pca",
                                   random_state=self.random_state).fit_transform(mu).astype(np.float32)
        self.backend_ = f"tsne-{backend}"

    def _fit_umap(self, mu, report) -> None:
        if not has_module("umap"):
            raise ProjectionError(INSTALL_HINT["umap"])
        import umap

        self.umap_ = umap.UMAP(n_neighbors=min(self.n_neighbors, len(mu) - 1), random_state=self.random_state,
                               n_jobs=1)
        self.embedding_ = self.umap_.fit_transform(mu).astype(np.float32)

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
            return self.umap_.transform(mu_new).astype(np.float32)
        if hasattr(self, "tsne_"):
            return np.asarray(self.tsne_.transform(mu_new), dtype=np.float32)
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
            return np.asarray(self.umap_.inverse_transform(pts), dtype=np.float32)
        return self.mu_[self.nearest(pts)]
