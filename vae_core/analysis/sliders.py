"""Latent sliders: which dimensions get a slider, slider units <-> latent values, and what a slider may hold."""
from __future__ import annotations

import numpy as np

from vae_core.model.activity import rank_dims


MAX_SLIDERS = 16  # beyond this many latent dimensions, the rest share one "others" slider


class SliderSpace:
    """Latent sliders: which dimensions get a slider, and slider units <-> latent values.

    A VAE's sliders are in units of the prior's standard deviation, so a slider value is z itself.
    An autoencoder has no prior; its sliders are in units of the encoded sample's spread:
    z_i = mean_i + v * std_i. The ``activity`` of a dimension (average KL for a VAE, variance of mu
    for an autoencoder) picks the dimensions that get their own slider when there are more than
    ``max_sliders``; the rest are held at one shared value."""

    def __init__(self, latent_dim: int, activity: np.ndarray | None = None, *, offset: np.ndarray | None = None,
                 scale: np.ndarray | None = None, max_sliders: int = MAX_SLIDERS):
        self.latent_dim = latent_dim
        self.activity = None if activity is None else np.asarray(activity, dtype=np.float64)
        self.offset = np.zeros(latent_dim) if offset is None else np.asarray(offset, dtype=np.float64)
        self.scale = np.ones(latent_dim) if scale is None else np.maximum(np.asarray(scale, dtype=np.float64), 1e-6)
        if latent_dim <= max_sliders:
            self.slider_dims = list(range(latent_dim))
        else:
            ranked = rank_dims(self.activity if self.activity is not None else np.zeros(latent_dim))
            self.slider_dims = ranked[:max_sliders]
        self.other_dims = [d for d in range(latent_dim) if d not in set(self.slider_dims)]

    def to_z(self, slider_values, others: float = 0.0) -> np.ndarray:
        """(D,) latent point from the slider values (in slider_dims order) and the shared value of the rest."""
        v = np.full(self.latent_dim, float(others))
        v[self.slider_dims] = np.asarray(slider_values, dtype=np.float64).reshape(-1)
        return (self.offset + self.scale * v).astype(np.float32)

    def to_sliders(self, z, limit: float) -> np.ndarray:
        """Slider values (in slider_dims order) that show the latent point z, clipped to +-limit."""
        v = (np.asarray(z, dtype=np.float64).reshape(-1) - self.offset) / self.scale
        return np.clip(v[self.slider_dims], -limit, limit)


def clean_slider_value(value, limit: float) -> float:
    """Whatever arrived for a slider (a number, a string, NaN, None) as a finite float in [-limit, limit]."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if v != v:  # NaN
        return 0.0
    return float(min(max(v, -limit), limit))  # +-inf and beyond -> +-limit, a plain float64
