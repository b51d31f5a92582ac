"""Reconstruction log-likelihoods, the analytic KL, and the Gaussian log-density.

All quantities are in nats per image, summed over pixels and latent
dimensions, as in the canonical PyTorch VAE example, so the numbers compare.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor, cfg, log_sigma: torch.Tensor | None = None) -> torch.Tensor:
    """-log p(x|z) per image, shape (B,).

    Bernoulli: binary cross-entropy between the pixels x in [0, 1] and
    sigmoid(logits). Gaussian: N(x; sigmoid(logits), sigma^2) with sigma fixed
    by the config or learned per pixel (``log_sigma``, shape (C, H, W)).
    """
    if cfg.likelihood == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        mean = torch.sigmoid(logits)
        if log_sigma is None:
            log_sigma = torch.full_like(mean, math.log(cfg.gaussian_sigma))
        nll = 0.5 * ((x - mean) * torch.exp(-log_sigma)) ** 2 + log_sigma + 0.5 * LOG_2PI
    return nll.flatten(1).sum(1)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) for each latent dimension, shape (B, D).

    Closed form from Appendix B of Kingma & Welling (2014):
    -1/2 * (1 + log sigma^2 - mu^2 - sigma^2).
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || p(z)) per image, shape (B,), summed over latent dimensions."""
    return kl_per_dim(mu, logvar).sum(1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return (-0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar))).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dimension: the prior p(z)."""
    return (-0.5 * (LOG_2PI + z**2)).sum(-1)


def kl_weight(epoch: int, beta: float, warmup_epochs: int) -> float:
    """KL weight for a (0-based) epoch: ramps linearly up to beta over warmup_epochs."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, (epoch + 1) / (warmup_epochs + 1))
