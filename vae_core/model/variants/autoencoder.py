"""A plain autoencoder, to compare against: z = mu(x), trained on the reconstruction alone."""
from __future__ import annotations

import numpy as np

from ..activity import variance_of_mu
from .base import Variant


class Autoencoder(Variant):
    kind = "ae"
    title = "Autoencoder"
    help = "z = mu, no KL term and no prior to sample from (for comparison)."
    run_name_suffix = "-autoencoder"
    gaussian_posterior = False
    has_prior = False
    activity_name = "var"
    activity_label = "variance of mu"

    def kl_per_dim(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        """No KL term: no dimension carries any."""
        return np.zeros(np.shape(mu))

    def activity(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        return variance_of_mu(mu)

    def loss_terms(self, model, x, mu, logvar, z, logits):
        return {"recon": model.reconstruction_nll(logits, x)}

    def log_prior(self, model, z):
        raise ValueError("an autoencoder has no prior p(z)")
