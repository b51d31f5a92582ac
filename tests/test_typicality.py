"""Typicality: each image's -ELBO and -log p(x) estimate, checked against the analytic KL and the IWAE
bound, and ranked among the test images."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.store.checkpoints import load_checkpoint
from vae_core.model.losses import kl_divergence, reconstruction_nll
from vae_core.analysis.evaluate import importance_log_weights
from vae_core.analysis.typicality import percentile, scores, standard_errors


def test_the_elbo_estimate_matches_reconstruction_plus_the_analytic_kl(trained):
    ckpt = load_checkpoint(trained.path)
    model = ckpt.model
    x = ckpt.sample.as_tensor()[:20]
    got = scores(model, x, k=4000, seed=1)
    with torch.inference_mode():
        mu, logvar = model.encode(x)
        torch.manual_seed(2)
        eps = torch.randn(4000, *mu.shape)
        z = (mu + torch.exp(0.5 * logvar) * eps).reshape(-1, mu.shape[1])
        recon = reconstruction_nll(model.decode_logits(z), x.repeat(4000, 1, 1, 1), model.cfg).view(4000, -1).mean(0)
        reference = (recon + kl_divergence(mu, logvar)).double().numpy()
    assert got.neg_elbo == pytest.approx(reference, rel=0.02, abs=0.2)
    assert np.all(got.neg_log_px <= got.neg_elbo + 1e-6)  # IWAE: a tighter bound on -log p(x)
    assert np.all(got.neg_log_px > 0)


def test_scores_are_repeatable_with_a_seed(trained):
    ckpt = load_checkpoint(trained.path)
    x = ckpt.sample.as_tensor()[:5]
    a, b = scores(ckpt.model, x, k=50, seed=3), scores(ckpt.model, x, k=50, seed=3)
    assert np.array_equal(a.neg_log_px, b.neg_log_px) and np.array_equal(a.neg_elbo, b.neg_elbo)


def test_percentile():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    assert percentile(ref, 0.5) == 0 and percentile(ref, 10) == 100 and percentile(ref, 2.5) == 50
    assert percentile(ref, 2.0) == 37.5  # ties count half
    with pytest.raises(ValueError, match="no reference"):
        percentile(np.array([]), 1.0)


def test_the_standard_errors_are_the_spread_over_draws():
    """The -ELBO's spread over draws is what its k samples predict (sd / sqrt(k)); with a sharp Gaussian
    likelihood both figures move by more than 0.1 nats (what the page then says), with a Bernoulli one less."""
    sharp = load_checkpoint("checkpoints/digits-2d-sigma0.1")
    x = sharp.sample.as_tensor()[:4]
    got = standard_errors(sharp.model, x, k=100, repeats=20)
    with torch.inference_mode():
        lw = importance_log_weights(sharp.model, x, None, 100)
    predicted = lw.double().std(0).numpy() / 10
    ratio = got.neg_elbo / predicted
    assert np.all((ratio > 0.55) & (ratio < 1.6)), (got.neg_elbo, predicted)
    assert np.all(got.neg_elbo > 0.1) and np.mean(got.neg_log_px > 0.1) >= 0.5
    plain = load_checkpoint("checkpoints/digits-2d")
    calm = standard_errors(plain.model, plain.sample.as_tensor()[:4], k=100, repeats=5)
    assert np.all(calm.neg_log_px < got.neg_log_px.max())
    with pytest.raises(ValueError, match="at least 2"):
        standard_errors(plain.model, x, repeats=1)
