"""The prior as the app uses it (vae_core.model.priors): N(0, I)'s draws are the seeded ones, and the contours any
prior gets enclose the mass N(0, I) holds within 1, 2 and 3 sigma."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_core.model.priors import PRIOR_SIGMAS, Prior, StandardNormal, mass_within, prior_z


class TwoBlobs(Prior):
    """A test prior that is not N(0, I): two Gaussians far apart, one three times as likely."""

    latent_dim = 2
    centres, weights, sigma = np.array([[-3.0, 0.0], [3.0, 1.0]]), np.array([0.25, 0.75]), 0.7

    def sample(self, n, temperature=1.0, seed=None, generator=None):
        rng = np.random.default_rng(seed)
        k = rng.choice(2, size=n, p=self.weights)
        return (self.centres[k] + temperature * self.sigma * rng.standard_normal((n, 2))).astype(np.float32)

    def log_density(self, z):
        z = np.asarray(z, np.float64)[:, None, :]
        log_k = -((z - self.centres) ** 2).sum(-1) / (2 * self.sigma**2) - math.log(2 * math.pi * self.sigma**2)
        return np.log((np.exp(log_k) * self.weights).sum(1))

    def marginal(self, dims):
        return self


def _inside(outline: tuple, points: np.ndarray) -> np.ndarray:
    """Which points lie inside the outline (closed pieces separated by NaN): a ray cast to the right crosses
    its edges an odd number of times."""
    _, x, y = outline
    px, py = points[:, :1], points[:, 1:]
    crossings = np.zeros(len(points), int)
    for piece in np.split(np.stack([x, y], 1), np.flatnonzero(np.isnan(x))):
        piece = piece[~np.isnan(piece).any(1)]
        (x0, y0), (x1, y1) = piece[:-1].T[:, None], piece[1:].T[:, None]
        spans = (y0 > py) != (y1 > py)
        at = x0 + (py - y0) * (x1 - x0) / np.where(y1 == y0, 1, y1 - y0)
        crossings += (spans & (px < at)).sum(1)
    return crossings % 2 == 1


def test_standard_normal_draws_are_the_seeded_torch_draws():
    prior = StandardNormal(3)
    np.testing.assert_array_equal(prior.sample(5, 0.5, seed=7), (torch.randn(5, 3, generator=torch.Generator().manual_seed(7)) * 0.5).numpy())
    assert torch.equal(prior_z(5, 3, seed=1), prior_z(5, 3, seed=1))
    z = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    np.testing.assert_allclose(prior.log_density(z), [-1.5 * math.log(2 * math.pi), -1.5 * math.log(2 * math.pi) - 4.5])


def test_the_contours_of_any_prior_are_n01s_circles_for_n01():
    """The general rule (the densest region holding the mass N(0, I) holds within sigma), traced on a grid,
    gives N(0, I)'s own circles of radius 1, 2, 3."""
    traced = Prior.contours(StandardNormal(2))
    for (sigma, x, y), (exact, *_) in zip(traced, StandardNormal(2).contours()):
        r = np.hypot(x[~np.isnan(x)], y[~np.isnan(y)])
        assert sigma == exact and np.abs(r - sigma).max() < 0.06 * sigma, (sigma, r.min(), r.max())
    assert [mass_within(s) for s in PRIOR_SIGMAS] == pytest.approx([0.3935, 0.8647, 0.9889], abs=1e-4)


def test_the_contours_of_another_prior_hold_the_same_mass():
    prior = TwoBlobs()
    draws = prior.sample(40_000, seed=11)
    for outline in prior.contours():
        share = _inside(outline, draws).mean()
        assert share == pytest.approx(mass_within(outline[0]), abs=0.02), outline[0]
    one_sigma = prior.contours()[0]
    assert not _inside(one_sigma, np.array([[0.0, 0.5]]))[0]  # between the blobs: not among the densest 39%
    box = prior.view_box()
    assert box[0] < -3.5 and box[1] > 3.5  # the view keeps both blobs' outer contours
