"""The amortization gap: optimising q(z|x) for one image raises its ELBO, log p(x) lies above both, and the
IWAE estimate from the optimised q agrees with the evaluator's from the encoder's q."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.analysis.amortization import gaps
from vae_core.store.checkpoints import load_checkpoint
from vae_core.analysis.evaluate import iwae_neg_log_likelihood


def test_the_optimised_posterior_closes_part_of_the_gap(trained):
    ckpt = load_checkpoint(trained.path)
    model = ckpt.model
    x = ckpt.sample.as_tensor()[:12]
    g = gaps(model, x, steps=200, samples=8, eval_samples=400, k=2000, seed=0)
    assert g.elbo_amortized.shape == g.elbo_optimised.shape == g.log_px.shape == (12,)
    assert np.all(g.amortization_gap > -0.05), g.amortization_gap  # same draws for both: noise cancels
    assert g.amortization_gap.mean() > 0.01
    assert np.all(g.approximation_gap > -0.3), g.approximation_gap  # log p(x) >= ELBO, up to the estimate's noise
    torch.manual_seed(5)
    with torch.inference_mode():
        reference = -iwae_neg_log_likelihood(model, x, k=5000).double().numpy()
    assert g.log_px == pytest.approx(reference, abs=0.5)
    # a model whose weights were made under inference mode (as the app's viewers build them) works too, unchanged
    with torch.inference_mode():
        viewer = load_checkpoint(trained.path).model
    before = {k: v.clone() for k, v in viewer.state_dict().items()}
    assert gaps(viewer, x[:2], steps=5, eval_samples=10, k=10).log_px.shape == (2,)
    assert all(torch.equal(v, before[k]) for k, v in viewer.state_dict().items())


def test_an_autoencoder_has_no_amortization_gap_to_compute(tmp_path, digits):
    from vae_core.training.trainer import Trainer

    from conftest import tiny_model_config, tiny_train_config

    out = tmp_path / "ae"
    Trainer(tiny_model_config(kind="ae"), tiny_train_config(epochs=1), digits, out_dir=out, sample_size=10).fit()
    ckpt = load_checkpoint(out)
    with pytest.raises(ValueError, match="amortization gap is a VAE's"):
        gaps(ckpt.model, ckpt.sample.as_tensor()[:2])


def test_the_gap_is_never_negative_on_a_well_trained_encoder():
    """digits-2d's encoder is close to the best q for many images: the search must not end below its start (a
    constant step size left it wandering by the gradient's noise, 0.03 nats below the encoder's ELBO)."""
    from conftest import REPO_ROOT

    ckpt = load_checkpoint(REPO_ROOT / "checkpoints" / "digits-2d")
    x = ckpt.sample.as_tensor()[:16]
    g = gaps(ckpt.model, x, seed=0)
    assert np.all(g.amortization_gap >= 0), g.amortization_gap
    assert np.all(g.elbo_optimised >= g.elbo_amortized)
    assert np.all(g.approximation_gap > -0.3), g.approximation_gap
