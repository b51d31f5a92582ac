"""The encoder's posterior q(z|x) = N(mu, diag(sigma^2)) of one image: sigma from log sigma^2, samples
drawn from it, and those samples decoded."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vae_core.model.torch_model import VAE


def sigma_from_logvar(logvar) -> np.ndarray:
    """sigma = exp(0.5 * log sigma^2), elementwise."""
    return np.exp(0.5 * np.asarray(logvar, dtype=np.float64)).astype(np.float32)


def posterior_samples(mu, logvar, n: int, seed: int = 0) -> np.ndarray:
    """n draws z = mu + sigma * eps, eps ~ N(0, I) (the reparameterization), (n, D) float32."""
    mu = np.asarray(mu, dtype=np.float32).reshape(-1)
    sigma = sigma_from_logvar(logvar).reshape(-1)
    eps = np.random.default_rng(seed).standard_normal((n, len(mu))).astype(np.float32)
    return mu[None, :] + sigma[None, :] * eps


def decode_posterior(model: VAE, mu, logvar, n: int, seed: int = 0, y=None) -> tuple[np.ndarray, np.ndarray]:
    """The mean image decode(mu) (C, H, W) and n images decoded from samples of q(z|x), (n, C, H, W)."""
    from .latent import decode_batch

    z = np.concatenate([np.asarray(mu, np.float32).reshape(1, -1), posterior_samples(mu, logvar, n, seed)])
    images = decode_batch(model, z, y)
    return images[0], images[1:]
