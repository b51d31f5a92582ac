"""How much each latent dimension is used, and which dimensions to show first.

A model's variant scores a dimension's activity (vae_core.model.variants): a VAE by its average KL to the prior,
an autoencoder by the variance of its codes. One rule then picks what every page shows: the two most
active dimensions are the default axes of a latent map, in index order; the most active ones get sliders.
"""
from __future__ import annotations

import numpy as np

INACTIVE_KL = 0.01  # nats: a dimension whose average KL is below this carries no information
ACTIVE_THRESHOLD = 0.01  # Burda et al.: dimension i is active when Cov_x(E_q[z_i]) > 0.01


def kl_per_dim(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, sigma^2) || N(0, 1)) per image and dimension, (N, D), in float64: the closed form of
    Appendix B of Kingma & Welling (2014), -1/2 (1 + log sigma^2 - mu^2 - sigma^2)."""
    mu = np.asarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    return -0.5 * (1 + logvar - mu**2 - np.exp(logvar))


def mean_kl_per_dim(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """(D,) the average over images of KL(q(z_i|x) || N(0, 1)), in nats: how much each dimension is used."""
    mu = np.asarray(mu)
    if len(mu) == 0:
        return np.zeros(mu.shape[1], np.float64)
    return kl_per_dim(mu, logvar).mean(0)


def variance_of_mu(mu: np.ndarray) -> np.ndarray:
    """(D,) Cov_x(E_q[z_i]), the spread of the codes over the images (zeros for fewer than two images)."""
    mu = np.asarray(mu, dtype=np.float64)
    return mu.var(axis=0) if len(mu) > 1 else np.zeros(mu.shape[1])


def active_units(mu: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> tuple[int, np.ndarray]:
    """(number of active dimensions, Cov_x(E_q[z_i]) for each i)."""
    variances = variance_of_mu(mu)
    return int((variances > threshold).sum()), variances


def rank_dims(scores: np.ndarray, k: int | None = None) -> list[int]:
    """Indices of the k highest scores, highest first (ties keep the lower index first)."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    order = np.argsort(-s, kind="stable")
    return [int(i) for i in order[: (len(order) if k is None else k)]]


def default_axes(scores: np.ndarray) -> tuple[int, int]:
    """The two dimensions every page shows first: the two most active, the lower index horizontal.
    (0, 1) for two dimensions or fewer (a one-dimensional map uses only the first)."""
    if len(scores) <= 2:
        return 0, 1
    i, j = sorted(rank_dims(scores, 2))
    return i, j
