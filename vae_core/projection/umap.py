"""UMAP: a non-linear map that keeps neighbours together, with a transform and an inverse of its own.
It needs the optional package umap-learn; a bundled model's shipped UMAP map draws without it."""
from __future__ import annotations

import numpy as np

from .base import REBUILD_LOCK, Availability, Projection, ProjectionError, has_module

INSTALL = "pip install umap-learn"
INSTALL_HINT = f"UMAP needs the optional package umap-learn: {INSTALL}"


class UMAPProjection(Projection):
    name = "umap"
    label = "UMAP"
    nonlinear = True
    cached_on_disk = True
    shipped = True
    placement_note = "UMAP: umap-learn's transform places mu among its nearest encoded neighbours on the fitted map."

    def __init__(self, *, random_state: int = 0, n_neighbors: int = 15):
        super().__init__(random_state=random_state)
        self.n_neighbors = n_neighbors

    @classmethod
    def available(cls) -> Availability:
        return Availability(True) if has_module("umap") else Availability(False, INSTALL_HINT, INSTALL)

    def inverse_note(self, xy, latent_dim, *, has_prior):
        return "UMAP's inverse_transform: a latent point interpolated from the encoded neighbours of this spot."

    def nearest_note(self, nearest: int) -> str:
        return (f"UMAP's inverse needs umap-learn ({INSTALL}): this is the mu of the nearest encoded image "
                f"(#{nearest}), decoded.")

    def map_params(self) -> dict:
        return {**super().map_params(), "n_neighbors": int(self.n_neighbors)}

    @classmethod
    def init_options(cls, params: dict) -> dict:
        return {**super().init_options(params), "n_neighbors": int(params.get("n_neighbors", 15))}

    def _new_umap(self, n: int):
        if not has_module("umap"):
            raise ProjectionError(INSTALL_HINT)
        import umap

        return umap.UMAP(n_neighbors=min(self.n_neighbors, n - 1), random_state=self.random_state, n_jobs=1)

    def _fit(self, mu, report):
        self.umap_ = self._new_umap(len(mu))
        return self.umap_.fit_transform(mu).astype(np.float32), self.name

    def _umap_model(self):
        """UMAP's fitted object (transform and inverse_transform need it). A map restored from its arrays has
        only mu_ and embedding_: UMAP is fitted again on mu_ (seconds), and its embedding is set to the one on
        screen, so both transforms agree with the drawn map."""
        with REBUILD_LOCK:
            if not hasattr(self, "umap_"):
                model = self._new_umap(len(self.mu_)).fit(self.mu_)
                model.embedding_ = self.embedding_.copy()
                self.umap_ = model
        return self.umap_

    def transform(self, mu_new: np.ndarray) -> np.ndarray:
        mu_new = self.new_encodings(mu_new)
        return self._umap_model().transform(mu_new).astype(np.float32)

    def inverse_transform(self, points: np.ndarray) -> np.ndarray:
        """(M, D): UMAP's inverse_transform, a latent point interpolated from the encoded neighbours."""
        pts = self._points(points, 2, "map points")
        return np.asarray(self._umap_model().inverse_transform(pts), dtype=np.float32)
