"""The aggregate posterior q(z): its density, its draws, and KL(q(z) || p(z)) by Monte Carlo against quadrature
and against closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vae_core.analysis import aggregate_posterior as agg
def test_one_component_is_a_gaussian_and_its_kl_has_a_closed_form():
    mu, logvar = np.array([[0.5, -1.0]]), np.log(np.array([[0.25, 2.0]]))
    z = np.random.default_rng(0).standard_normal((50, 2))
    want = -0.5 * (2 * math.log(2 * math.pi) + logvar.sum() + (((z - mu) ** 2) / np.exp(logvar)).sum(1))
    assert agg.log_density(z, mu, logvar) == pytest.approx(want)
    kl = 0.5 * float((np.exp(logvar) + mu**2 - 1 - logvar).sum())  # KL(N(mu, s^2) || N(0, I))
    est, se = agg.kl_to_prior(mu, logvar, n_samples=200_000, seed=1)
    assert est == pytest.approx(kl, abs=4 * se + 1e-3)
    assert agg.kl_to_prior_on_plane(mu, logvar, (0, 1)) == pytest.approx(kl, abs=1e-3)


def test_the_prior_itself_has_no_kl_to_the_prior():
    mu, logvar = np.zeros((3, 2)), np.zeros((3, 2))
    assert agg.kl_to_prior_on_plane(mu, logvar, (0, 1)) == pytest.approx(0, abs=1e-4)


def test_a_mixture_with_holes_monte_carlo_agrees_with_quadrature():
    """Four tight clusters (an autoencoder-like code): a large KL to N(0, I), the same by both estimates."""
    rng = np.random.default_rng(2)
    centres = np.array([[-2, -2], [2, -2], [-2, 2], [2, 2.0]])
    mu = centres[rng.integers(0, 4, 400)] + 0.3 * rng.standard_normal((400, 2))
    logvar = np.full((400, 2), math.log(0.05))
    mc, se = agg.kl_to_prior(mu, logvar, n_samples=40_000, seed=3)
    quad = agg.kl_to_prior_on_plane(mu, logvar, (0, 1), n=500)
    assert mc == pytest.approx(quad, abs=max(4 * se, 0.02))
    assert quad > 1.0
    # a marginal of a D-dim mixture: the same as the 2-D mixture of those coordinates
    mu4 = np.concatenate([mu, rng.standard_normal((400, 2))], 1)
    logvar4 = np.concatenate([logvar, np.zeros((400, 2))], 1)
    assert agg.kl_to_prior_on_plane(mu4, logvar4, (0, 1), n=500) == pytest.approx(quad, rel=1e-9)


def test_the_density_integrates_to_one_and_draws_follow_it():
    rng = np.random.default_rng(4)
    mu, logvar = rng.standard_normal((50, 3)), rng.normal(-1, 0.3, (50, 3))
    xs, ys, points = agg.grid((-6, 6, -6, 6), 400)
    mass = np.exp(agg.log_density(points, mu, logvar, dims=(0, 2))).sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert mass == pytest.approx(1.0, abs=1e-3)
    draws = agg.sample(mu, logvar, 100_000, dims=(0, 2), seed=5)
    assert draws.mean(0) == pytest.approx(mu[:, [0, 2]].mean(0), abs=0.02)


def test_bad_input_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="same shape"):
        agg.log_density(np.zeros((1, 2)), np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="dims=\\[0, 0\\]"):
        agg.log_density(np.zeros((1, 2)), np.zeros((3, 2)), np.zeros((3, 2)), dims=(0, 0))
    with pytest.raises(ValueError, match="extent"):
        agg.grid((1, 0, 0, 1))
