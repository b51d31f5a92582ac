"""Evaluation: the IWAE bound against the ELBO, active units, and evaluate_model's report."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_core.model.activity import ACTIVE_THRESHOLD, active_units
from vae_core.analysis.evaluate import encode_dataset, evaluate_model, iwae_neg_log_likelihood
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.training.trainer import Trainer

from conftest import tiny_model_config, tiny_train_config


def _seeded_neg_elbo(model, images, labels, seeds) -> float:
    """The negative ELBO averaged over images and over several z draws (it is a one-sample estimate)."""
    return float(np.mean([evaluate_neg_elbo(model, images, labels, seed=s)[0] for s in seeds]))


def test_iwae_with_one_sample_is_the_elbo(trained_model, digits):
    x, y = digits.test.images, digits.test.labels
    neg_elbo = _seeded_neg_elbo(trained_model, x, y, seeds=range(5))
    torch.manual_seed(0)
    iwae1 = torch.stack([iwae_neg_log_likelihood(trained_model, x, k=1) for _ in range(5)]).mean().item()
    assert math.isfinite(iwae1)
    # k = 1 uses a sampled KL where the ELBO uses the analytic one: equal in expectation
    assert abs(iwae1 - neg_elbo) < 1.0, (iwae1, neg_elbo)


def test_iwae_with_many_samples_is_a_tighter_bound(trained_model, digits):
    x, y = digits.test.images, digits.test.labels
    neg_elbo = _seeded_neg_elbo(trained_model, x, y, seeds=range(5))
    torch.manual_seed(1)
    per_image = iwae_neg_log_likelihood(trained_model, x, k=200)
    assert per_image.shape == (len(x),)
    assert torch.isfinite(per_image).all()
    iwae200 = per_image.mean().item()
    assert iwae200 <= neg_elbo + 0.5, (iwae200, neg_elbo)
    torch.manual_seed(2)
    iwae1 = iwae_neg_log_likelihood(trained_model, x, k=1).mean().item()
    assert iwae200 < iwae1, (iwae200, iwae1)
    # and -log p(x) of an 8x8 image with grey levels is a positive number of nats
    assert iwae200 > 0


def test_iwae_chunking_does_not_change_the_estimate(trained_model, digits):
    x = digits.test.images[:20]
    torch.manual_seed(7)
    a = iwae_neg_log_likelihood(trained_model, x, k=60, chunk=60)
    torch.manual_seed(7)
    b = iwae_neg_log_likelihood(trained_model, x, k=60, chunk=60)
    torch.manual_seed(7)
    c = iwae_neg_log_likelihood(trained_model, x, k=60, chunk=7)
    assert torch.equal(a, b)
    assert c.shape == a.shape and torch.isfinite(c).all()
    assert abs(c.mean().item() - a.mean().item()) < 1.0  # other draws, same quantity


def test_iwae_for_a_conditional_model_pairs_each_image_with_its_label(digits):
    torch.manual_seed(0)
    trainer = Trainer(tiny_model_config(kind="cvae"), tiny_train_config(epochs=3), digits)
    trainer.fit()
    model = trainer.model
    x, y = digits.test.images[:100], digits.test.labels[:100]
    torch.manual_seed(0)
    right = iwae_neg_log_likelihood(model, x, y, k=50, chunk=20)
    torch.manual_seed(0)
    wrong = iwae_neg_log_likelihood(model, x, (y + 5) % 10, k=50, chunk=20)
    assert right.shape == (100,) and torch.isfinite(right).all()
    # the right labels explain the images better than shifted ones
    assert right.mean() < wrong.mean()
    # per image, the chunked estimate agrees with the unchunked one up to sampling noise
    torch.manual_seed(1)
    single = iwae_neg_log_likelihood(model, x, y, k=50, chunk=50)
    assert (single - right).abs().mean() < 1.5


def test_active_units_on_constructed_means():
    n = 1000
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    mu = np.stack([
        signs * math.sqrt(0.02),   # variance 0.02 > 0.01: active
        signs * math.sqrt(0.005),  # variance 0.005: inactive
        np.full(n, 3.0),           # constant: inactive however far from 0
        signs * 2.0,               # variance 4: active
    ], axis=1).astype(np.float32)
    count, variances = active_units(mu)
    assert count == 2
    np.testing.assert_allclose(variances, [0.02, 0.005, 0.0, 4.0], rtol=1e-5, atol=1e-7)
    assert active_units(mu, threshold=0.001)[0] == 3
    assert ACTIVE_THRESHOLD == 0.01


def test_active_units_with_one_image_is_zero():
    count, variances = active_units(np.array([[5.0, -3.0]], dtype=np.float32))
    assert count == 0 and variances.shape == (2,)


def test_encode_dataset_matches_the_model_and_handles_empty_input(trained_model, digits):
    x = digits.test.images[:37]
    mu, logvar = encode_dataset(trained_model, x, batch_size=10)
    assert mu.shape == (37, 2) and logvar.shape == (37, 2) and mu.dtype == np.float32
    with torch.no_grad():
        ref_mu, ref_logvar = trained_model.encode(x)
    np.testing.assert_allclose(mu, ref_mu.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logvar, ref_logvar.numpy(), rtol=1e-5, atol=1e-6)
    e_mu, e_logvar = encode_dataset(trained_model, x[:0])
    assert e_mu.shape == (0, 2) and e_logvar.shape == (0, 2)


def test_evaluate_model_report(trained_model, digits):
    x, y = digits.test.images, digits.test.labels
    r = evaluate_model(trained_model, x, y, iwae_k=50, iwae_images=200, seed=0)
    for key in ("n_images", "neg_elbo", "recon", "kl", "kl_per_dim", "active_units", "latent_dim",
                "activity_per_dim", "iwae_neg_log_likelihood", "iwae_k", "iwae_images"):
        assert key in r, key
    assert r["n_images"] == len(x) and r["latent_dim"] == 2 and r["iwae_k"] == 50 and r["iwae_images"] == 200
    assert len(r["kl_per_dim"]) == 2 and len(r["activity_per_dim"]) == 2
    assert sum(r["kl_per_dim"]) == pytest.approx(r["kl"], abs=1e-3)
    assert r["neg_elbo"] == pytest.approx(r["recon"] + r["kl"], rel=1e-6)
    assert 0 <= r["active_units"] <= 2
    assert r["active_units"] == sum(v > ACTIVE_THRESHOLD for v in r["activity_per_dim"])
    assert r["iwae_neg_log_likelihood"] <= r["neg_elbo"] + 1.0
    # the ELBO agrees with the Trainer's own evaluation with the same seed
    assert r["neg_elbo"] == pytest.approx(evaluate_neg_elbo(trained_model, x, y, seed=0)[0], rel=1e-6)
    # seeded: the same call gives the same numbers, and it leaves the global RNG alone
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    r2 = evaluate_model(trained_model, x, y, iwae_k=50, iwae_images=200, seed=0)
    assert torch.equal(torch.rand(1), expected_next)
    assert r2 == r


def test_evaluate_model_iwae_images_is_capped_by_the_data(trained_model, digits):
    x, y = digits.test.images[:30], digits.test.labels[:30]
    r = evaluate_model(trained_model, x, y, iwae_k=5, iwae_images=1000)
    assert r["iwae_images"] == 30 and math.isfinite(r["iwae_neg_log_likelihood"])


def test_evaluate_model_for_an_autoencoder_has_no_likelihood_and_no_kl(digits):
    trainer = Trainer(tiny_model_config(kind="ae"), tiny_train_config(epochs=2), digits)
    trainer.fit()
    r = evaluate_model(trainer.model, digits.test.images, digits.test.labels, iwae_k=5)
    assert r["iwae_neg_log_likelihood"] is None and "autoencoder" in r["note"]
    assert r["kl"] == 0.0
    # an autoencoder has no KL term at all, so no dimension can carry any
    assert sum(r["kl_per_dim"]) == pytest.approx(r["kl"], abs=1e-6), r["kl_per_dim"]
    assert r["active_units"] >= 1
