"""How typical an image is for a model, in the model's own measure: its negative ELBO and its estimate of
-log p(x), ranked among the model's stored test images.

A VAE assigns every image a likelihood p(x). An image far below what the test images get lies beyond what
the model saw; a plain autoencoder defines no p(x), so its measure is the reconstruction error alone.
(A high likelihood does not make an image typical, though: see Nalisnick et al., 2019.)"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .evaluate import importance_log_weights
from vae_core.model.torch_model import VAE

UNUSUAL_PERCENTILE = 99.0  # above this percentile of the test images' -log p(x), an image is called unusual


@dataclass(frozen=True)
class Scores:
    """Per image, nats. For an autoencoder both are the reconstruction error (it has no p(x))."""
    neg_elbo: np.ndarray  # (N,) the negative ELBO, a Monte-Carlo estimate over k samples of q(z|x)
    neg_log_px: np.ndarray  # (N,) -log p(x) by the importance-weighted bound with k samples (IWAE)


@torch.inference_mode()
def scores(model: VAE, images: torch.Tensor, labels: torch.Tensor | None = None, *, k: int = 100,
           seed: int = 0, batch_size: int = 100) -> Scores:
    """-ELBO and -log p(x) of each image (images (N, C, H, W) in [0, 1]), with a fixed seed."""
    model.eval()
    device = model.device
    neg_elbo, neg_log_px = [], []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device)
            y = labels[i:i + batch_size].to(device) if labels is not None and model.variant.conditional else None
            if not model.variant.has_prior:  # an autoencoder: no p(x), its reconstruction error alone
                mu, _ = model.encode(x, y)
                err = model.reconstruction_nll(model.decode_logits(mu, y), x)
                neg_elbo.append(err)
                neg_log_px.append(err)
                continue
            lw = importance_log_weights(model, x, y, k)
            neg_elbo.append(-lw.mean(0))
            neg_log_px.append(-(torch.logsumexp(lw, 0) - math.log(k)))
    as_array = lambda parts: torch.cat(parts).double().cpu().numpy() if parts else np.zeros(0)  # noqa: E731
    return Scores(as_array(neg_elbo), as_array(neg_log_px))


def standard_errors(model: VAE, images: torch.Tensor, labels: torch.Tensor | None = None, *, k: int = 100,
                    repeats: int = 10) -> Scores:
    """How much each image's -ELBO and -log p(x) with ``k`` samples move from one draw of the samples to the next:
    their standard deviation over ``repeats`` seeds (1, 2, ...; ``scores`` uses seed 0 by default). Measured, not
    derived: with a sharp likelihood the importance weights are heavy-tailed, and the delta method's error of the
    IWAE figure (sd(w) / (sqrt(k) mean(w))) falls 2-4 times short of the spread seen over seeds."""
    if repeats < 2:
        raise ValueError(f"repeats must be at least 2 to measure a spread, got {repeats}")
    runs = [scores(model, images, labels, k=k, seed=seed) for seed in range(1, repeats + 1)]
    return Scores(np.std([r.neg_elbo for r in runs], axis=0, ddof=1),
                  np.std([r.neg_log_px for r in runs], axis=0, ddof=1))


def percentile(reference: np.ndarray, value: float) -> float:
    """The share of ``reference`` (in %) strictly below ``value``, plus half of the ties."""
    reference = np.asarray(reference, dtype=np.float64)
    if len(reference) == 0:
        raise ValueError("no reference scores to rank against: the model stores no test images")
    below = float(np.sum(reference < value)) + 0.5 * float(np.sum(reference == value))
    return 100.0 * below / len(reference)
