"""The native latent plane: the map is two latent coordinates of mu itself, so every way there and back is exact."""
from __future__ import annotations

import numpy as np

from .base import Projection, ProjectionError


class NativeLatent(Projection):
    name = "latent"
    label = "Native latent"
    is_native = True
    placement_note = "Native latent plane: the point is the encoder's mu itself (exact)."

    def __init__(self, *, dims: tuple[int, int] = (0, 1), random_state: int = 0):
        super().__init__(random_state=random_state)
        self.dims = dims  # the two latent dimensions on the horizontal and vertical axes

    @classmethod
    def axis_titles(cls, dims: tuple[int, int], latent_dim: int) -> tuple[str, str]:
        return f"z{dims[0] + 1}", f"z{dims[1] + 1}" if latent_dim > 1 else ""

    def inverse_note(self, xy: tuple[float, float], latent_dim: int, *, has_prior: bool) -> str:
        x, y = xy
        if latent_dim == 1:
            return f"The map is the latent line itself, so this is exactly z = {x:.2f}."
        rest = ""
        if latent_dim > 2:
            rest = ", every other dimension held at 0" + (" (the prior mean)" if has_prior else "")
        return f"The map is the latent plane itself, so this is exactly z = ({x:.2f}, {y:.2f}){rest}."

    def map_params(self) -> dict:
        return {**super().map_params(), "dims": [int(d) for d in self.dims]}

    @classmethod
    def init_options(cls, params: dict) -> dict:
        return {**super().init_options(params), "dims": tuple(int(d) for d in params.get("dims", (0, 1)))}

    def _axes(self, d: int) -> list[int]:
        """The latent dimensions the map shows, checked against D = d."""
        if d == 1:
            return [0]
        i, j = (int(k) for k in self.dims)
        if not (0 <= i < d and 0 <= j < d and i != j):
            raise ProjectionError(f"dims={tuple(self.dims)} must be two different latent dimensions in 0..{d - 1}")
        return [i, j]

    def _plane(self, mu: np.ndarray) -> np.ndarray:
        """(N, 2): the chosen coordinates of mu; a 1-d latent space is drawn on the horizontal axis."""
        axes = self._axes(mu.shape[1])
        if len(axes) == 1:
            return np.stack([mu[:, 0], np.zeros(len(mu), np.float32)], 1)
        return mu[:, axes].copy()

    def _fit(self, mu, report):
        return self._plane(mu), self.name

    def _restore(self) -> None:
        self._axes(self.mu_.shape[1])  # the stored map's dims fit its encodings

    def transform(self, mu_new: np.ndarray) -> np.ndarray:
        return self._plane(self.new_encodings(mu_new))

    def inverse_transform(self, points: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """(M, D): the map's two coordinates, every other latent dimension at ``base`` (D,) (default 0)."""
        pts = self._points(points, 2, "map points")
        d = self.mu_.shape[1]
        out = np.tile(np.zeros(d, np.float32) if base is None else np.asarray(base, np.float32), (len(pts), 1))
        axes = self._axes(d)
        out[:, axes] = pts[:, :len(axes)]
        return out
