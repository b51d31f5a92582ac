"""The loss terms against torch.distributions and torch.nn.functional."""
from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence as torch_kl
from torch.nn import functional as F

from vae_core.model.config import ModelConfig
from vae_core.model.losses import (
    kl_divergence,
    kl_per_dim,
    kl_weight,
    log_normal,
    log_standard_normal,
    reconstruction_nll,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_kl_divergence_matches_torch_distributions():
    g = _gen(1)
    mu = torch.randn(64, 8, generator=g, dtype=torch.float64) * 2
    logvar = torch.randn(64, 8, generator=g, dtype=torch.float64) * 1.5
    sigma = torch.exp(0.5 * logvar)
    expected = torch_kl(Normal(mu, sigma), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    got = kl_divergence(mu, logvar)
    assert got.shape == (64,)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_kl_divergence_float32_matches_torch_distributions():
    g = _gen(2)
    mu = torch.randn(32, 5, generator=g)
    logvar = torch.randn(32, 5, generator=g)
    expected = torch_kl(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(kl_divergence(mu, logvar), expected, atol=1e-5, rtol=1e-5)


def test_kl_per_dim_sums_to_kl_and_is_nonnegative():
    g = _gen(3)
    mu = torch.randn(16, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(16, 6, generator=g, dtype=torch.float64)
    per_dim = kl_per_dim(mu, logvar)
    assert per_dim.shape == (16, 6)
    assert (per_dim >= 0).all()
    torch.testing.assert_close(per_dim.sum(1), kl_divergence(mu, logvar), atol=1e-12, rtol=0)


def test_kl_is_zero_exactly_at_the_prior():
    mu = torch.zeros(3, 4)
    logvar = torch.zeros(3, 4)
    assert torch.equal(kl_divergence(mu, logvar), torch.zeros(3))
    # and positive as soon as q moves away from N(0, I)
    assert (kl_divergence(mu + 0.1, logvar) > 0).all()
    assert (kl_divergence(mu, logvar - 0.1) > 0).all()


def test_bernoulli_nll_equals_binary_cross_entropy_per_image():
    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,), likelihood="bernoulli")
    g = _gen(4)
    logits = torch.randn(5, 1, 8, 8, generator=g, dtype=torch.float64) * 3
    x = torch.rand(5, 1, 8, 8, generator=g, dtype=torch.float64)  # grey levels, not just 0/1
    got = reconstruction_nll(logits, x, cfg)
    assert got.shape == (5,)
    for i in range(5):
        expected = F.binary_cross_entropy(torch.sigmoid(logits[i]), x[i], reduction="sum")
        torch.testing.assert_close(got[i], expected, atol=1e-8, rtol=1e-10)


def test_gaussian_fixed_variance_nll_equals_normal_log_prob():
    cfg = ModelConfig(image_shape=(3, 4, 4), latent_dim=2, hidden=(8,), likelihood="gaussian",
                      gaussian_variance="fixed", gaussian_sigma=0.3)
    g = _gen(5)
    logits = torch.randn(4, 3, 4, 4, generator=g, dtype=torch.float64)
    x = torch.rand(4, 3, 4, 4, generator=g, dtype=torch.float64)
    mean = torch.sigmoid(logits)
    expected = -Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(reconstruction_nll(logits, x, cfg), expected, atol=1e-9, rtol=1e-10)


def test_gaussian_learned_variance_nll_equals_normal_log_prob():
    cfg = ModelConfig(image_shape=(1, 4, 4), latent_dim=2, hidden=(8,), likelihood="gaussian",
                      gaussian_variance="learned")
    g = _gen(6)
    logits = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    x = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64)
    log_sigma = torch.randn(1, 4, 4, generator=g, dtype=torch.float64) * 0.5 - 1
    expected = -Normal(torch.sigmoid(logits), torch.exp(log_sigma)).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(reconstruction_nll(logits, x, cfg, log_sigma), expected, atol=1e-9, rtol=1e-10)


def test_log_normal_matches_torch_distributions():
    g = _gen(7)
    z = torch.randn(10, 6, generator=g, dtype=torch.float64) * 2
    mu = torch.randn(10, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(10, 6, generator=g, dtype=torch.float64)
    expected = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1).log_prob(z)
    torch.testing.assert_close(log_normal(z, mu, logvar), expected, atol=1e-10, rtol=1e-10)


def test_log_standard_normal_matches_torch_distributions():
    g = _gen(8)
    z = torch.randn(7, 3, 5, generator=g, dtype=torch.float64) * 3  # extra leading dims, as in IWAE
    expected = Normal(0.0, 1.0).log_prob(z).sum(-1)
    got = log_standard_normal(z)
    assert got.shape == (7, 3)
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-10)
    assert log_standard_normal(torch.zeros(1, 4)).item() == pytest.approx(-2 * math.log(2 * math.pi))


def test_kl_weight_warmup_ramps_then_equals_beta():
    beta, warmup = 2.0, 4
    weights = [kl_weight(e, beta, warmup) for e in range(10)]
    ramp, after = weights[:warmup], weights[warmup:]
    assert all(0 < w < beta for w in ramp), weights
    assert all(a < b for a, b in zip(ramp, ramp[1:])), f"not strictly increasing: {weights}"
    assert all(w == beta for w in after), weights


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 4.0])
def test_kl_weight_without_warmup_is_beta_from_the_first_epoch(beta):
    assert kl_weight(0, beta, 0) == beta
    assert kl_weight(7, beta, 0) == beta
