"""PCA: the best linear 2-D view of the encodings, with its exact linear inverse."""
from __future__ import annotations

import numpy as np

from .base import Projection


class PCAProjection(Projection):
    name = "pca"
    label = "PCA"
    shipped = True  # as a record: the app fits PCA again (milliseconds; its inverse needs the fitted object)
    placement_note = "PCA: the fitted linear projection applied to mu (exact)."

    def inverse_note(self, xy, latent_dim, *, has_prior):
        return "PCA's inverse: the latent point on the fitted plane that projects to this spot."

    def map_params(self) -> dict:
        return {**super().map_params(), "dims": [0, 1]}  # the principal axes shown: the first two

    def _new_pca(self, mu: np.ndarray):
        from sklearn.decomposition import PCA

        return PCA(n_components=min(2, mu.shape[1]), random_state=self.random_state).fit(mu)

    def _plane(self, mu: np.ndarray) -> np.ndarray:
        """(N, 2): the principal coordinates; a 1-d latent space has one, drawn on the horizontal axis."""
        emb = self.pca_.transform(mu).astype(np.float32)
        return emb if emb.shape[1] == 2 else np.concatenate([emb, np.zeros_like(emb)], 1)

    def _fit(self, mu, report):
        self.pca_ = self._new_pca(mu)
        return self._plane(mu), self.name

    def _restore(self) -> None:
        """PCA fitted again on mu_ (milliseconds), each axis turned to point the way the stored map's does: a
        principal axis is defined up to its sign, and the inverse must agree with the map on screen."""
        self.pca_ = self._new_pca(self.mu_)
        again = self._plane(self.mu_)
        for k in range(self.pca_.n_components_):
            if float(np.dot(again[:, k], self.embedding_[:, k])) < 0:
                self.pca_.components_[k] *= -1

    def transform(self, mu_new: np.ndarray) -> np.ndarray:
        return self._plane(self.new_encodings(mu_new))

    def inverse_transform(self, points: np.ndarray) -> np.ndarray:
        """(M, D): the latent point on the fitted plane that projects to each map point."""
        pts = self._points(points, 2, "map points")
        return self.pca_.inverse_transform(pts[:, :self.pca_.n_components_]).astype(np.float32)
