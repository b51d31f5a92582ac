"""What every kind of model answers: the Variant base class, whose defaults are the VAE's.

A variant is data about a kind of model and a few functions of it. Its attributes say what the model takes
and has (a label, a Gaussian posterior, a prior); its methods add tensors to the architecture, give the
loss as named terms, the prior and how active each latent dimension is. The methods that compute with torch
import it when called, so the app can ask a variant anything else before torch is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import numpy as np

from ..activity import kl_per_dim, mean_kl_per_dim
from ..priors import Prior, StandardNormal
from ..shapes import TensorSpec

if TYPE_CHECKING:
    import torch


class ModelConfig(Protocol):
    """What a variant reads of a model's configuration. vae_core.model.config.ModelConfig is one; the variants
    sit below it (the config asks them to check its kind), so they name it by what they read."""

    image_shape: tuple[int, int, int]
    latent_dim: int
    num_classes: int
    options: Any


Posterior = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # images (N, C, H, W) -> mu, log sigma^2 (N, D)


@dataclass(frozen=True)
class NoOptions:
    """A kind without settings of its own."""


class Variant:
    kind = "vae"  # ModelConfig.kind, as written in config.json
    title = "VAE"  # shown in the sidebar, the Models table and the Train page
    help = "q(z|x) = N(mu, sigma^2), a sample z by reparameterization, p(x|z), prior N(0, I)."
    run_name_suffix = ""  # added to the Train page's suggested run name
    conditional = False  # the one-hot class label y goes to the encoder and the decoder
    gaussian_posterior = True  # q(z|x) = N(mu, sigma^2) and z = mu + sigma * eps; False: z = mu, a point
    has_prior = True  # a prior p(z): a KL term, samples, a likelihood p(x); False: none of these
    activity_name = "KL"  # what activity() measures, short: "KL" (average nats) or "var" (variance of mu)
    activity_label = "average KL"  # the same in words
    # How it works writes the prior and the KL term of this kind so (LaTeX, and the sentence under it):
    prior_formula = r"p(z) = \mathcal{N}(0, I)"
    kl_formula = (r"\mathrm{KL}\!\left(\mathcal{N}(\mu, \sigma^2)\,\|\,\mathcal{N}(0, I)\right) = "
                  r"-\tfrac12 \sum_{i=1}^{D}\left(1 + \log\sigma_i^2 - \mu_i^2 - \sigma_i^2\right)")
    kl_caption = ("The KL has a closed form (Kingma & Welling, Appendix B): it does not depend on eps. The "
                  "reconstruction term is estimated with the one z drawn above, so it changes with eps.")
    kl_help = "nats, closed form, summed over latent dimensions"
    Options = NoOptions  # the dataclass of this kind's own settings (ModelConfig.options)

    # ------------------------------------------------------------------ the description (no torch)

    def extra_tensors(self, cfg: ModelConfig) -> dict[str, TensorSpec]:
        """Tensors this kind adds to the architecture's, by state_dict name."""
        return {}

    def prior(self, cfg: ModelConfig, tensors: Mapping[str, np.ndarray], posterior: Posterior) -> Prior:
        """p(z) of a model with these tensors (``posterior`` encodes images, for priors made of encodings).
        A kind without a prior gives N(0, I) as the stand-in that pages draw random z from."""
        return StandardNormal(cfg.latent_dim)

    def kl_per_dim(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray | None:
        """(N, D) the KL term split by dimension, or None when it does not split (its prior couples them)."""
        return kl_per_dim(mu, logvar)

    def activity(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        """(D,) how much each latent dimension is used, over the encodings of a set of images."""
        return mean_kl_per_dim(mu, logvar)

    # ------------------------------------------------------------------ the loss (torch, imported when called)

    def loss_terms(self, model: torch.nn.Module, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor,
                   logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """The negative ELBO's terms per image (B,): reconstruction -log p(x|z) and KL(q(z|x) || p(z))."""
        from ..losses import kl_divergence

        return {"recon": model.reconstruction_nll(logits, x), "kl": kl_divergence(mu, logvar)}

    def log_prior(self, model: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
        """log p(z) of each row of z, (B,)."""
        from ..losses import log_standard_normal

        return log_standard_normal(z)

    def init_from_data(self, model: torch.nn.Module, images: torch.Tensor) -> None:
        """Start this kind's own tensors from the training images (after the architecture's data start)."""
