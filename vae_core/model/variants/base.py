"""What every kind of model answers: the Variant base class, whose defaults are the VAE's.

A variant is data about a kind of model and a few functions of it. Its attributes say what the model takes
and has (a label, a Gaussian posterior, a prior, a discrete latent, which loss terms are KL terms, whether the
browser and NumPy can run it); its methods shape the architecture (the heads' size, z's shape, tensors and
networks of its own), run one pass over a batch and give the loss as named terms, the prior, how active each
latent dimension is and the measures it records. The methods that compute with torch import it when called,
so the app can ask a variant anything else before torch is loaded.

The hooks that compute take the array module ``xp`` (numpy or torch) and ``run(part, h)``, which runs a named
part of the architecture (vae_core.model.architecture.Architecture.chain) in that module: one function of the
kind serves torch_model and numpy_model alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import numpy as np

from ..activity import kl_per_dim, mean_kl_per_dim
from ..priors import Prior, StandardNormal
from ..shapes import Op, TensorSpec

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
Run = Callable[[str, Any], Any]  # run(part, h): a named part of the architecture on a batch h, in numpy or torch


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
    discrete_latent = False  # z is made of codes from a codebook (each position of z one of K vectors)
    latent_map = False  # z is a (D, h, w) map of vectors, one per position of the conv encoder's last map
    numpy_encoder = True  # vae_core.model.numpy_model can run q(z|x) without torch (else it builds the torch model)
    browser_decoder = True  # vae_core.model.decoder_program can write p(x|z) for the browser (else the server decodes)
    browser_decoder_reason = ""  # when it cannot: why, in a sentence the app can show
    kl_terms: tuple[str, ...] = ("kl",)  # the loss terms that are KL terms: summed as the KL, weighted by beta
    aux_terms: tuple[str, ...] = ()  # terms training minimises that are not part of the negative ELBO
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

    def config_error(self, cfg: ModelConfig) -> str | None:
        """Why this kind cannot be built with this config (a setting that does not fit another), or None."""
        return None

    def head_dim(self, cfg: ModelConfig) -> int:
        """The size of the encoder's heads mu and log sigma^2 (at every position, for a map)."""
        return cfg.latent_dim

    def latent_shape(self, cfg: ModelConfig, head_shape: tuple[int, ...]) -> tuple[int, ...]:
        """One image's z as the decoder takes it, given the shape of the mu head's output."""
        return tuple(head_shape)

    def latent_levels(self, cfg: ModelConfig) -> tuple[tuple[str, int, int], ...]:
        """The latent's levels as (name, first, last + 1) dimensions of z, top level last: one, "z", for most."""
        return (("z", 0, cfg.latent_dim),)

    def extra_tensors(self, cfg: ModelConfig) -> dict[str, TensorSpec]:
        """Tensors this kind adds to the architecture's, by state_dict name."""
        return {}

    def extra_nets(self, cfg: ModelConfig, features: tuple[int, ...]) -> dict[str, list[Op]]:
        """Networks this kind adds, by the name its code runs them with (``run(name, h)``); ``features`` is the
        shape of the encoder's output. Their layers' state_dict names are the Ops' names."""
        return {}

    def encode_features(self, xp, run: Run, h):
        """mu and log sigma^2 of q(z|x), each (B, latent_size), from the encoder's features h; log sigma^2 is None
        when q(z|x) is a point. ``xp`` is numpy or torch, ``run`` runs a part of the architecture in it."""
        mu = run("mu", h)
        mu = mu.reshape(len(mu), -1)
        return mu, (run("logvar", h).reshape(len(mu), -1) if self.gaussian_posterior else None)

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

    # ------------------------------------------------------------------ one pass and the loss (torch, imported when called)

    def forward(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None, eps: torch.Tensor | None):
        """One pass over a batch (vae_core.model.torch_model.VAE.forward): q(z|x), one z per image drawn with the
        noise eps, p(x|z) and the loss terms, as the model's VAEOutput (``model.output``)."""
        mu, logvar = model.encode(x, y)
        z = model.reparameterize(mu, logvar, eps)
        logits = model.decode_logits(z, y)
        return model.output(self.loss_terms(model, x, mu, logvar, z, logits), mu, logvar, z, logits)

    def decoder_input(self, model: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
        """What the decoder's layers get for the latent points z (B, latent_size): z itself for most kinds."""
        return z

    def posterior_draws(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None,
                        n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """n draws of z ~ q(z|x) for each image, (n, B, latent_size), and log q(z|x) of each, (n, B): what an
        importance-weighted estimate of log p(x) needs (vae_core.analysis.evaluate)."""
        import torch

        from ..losses import log_normal

        mu, logvar = model.encode(x, y)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(n, *mu.shape, device=mu.device)
        return z, log_normal(z, mu, logvar)

    def measures(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, float]:
        """Numbers of this kind beyond the loss, measured on the images x: recorded in the training's history at
        each snapshot and printed by ``python -m vae_core evaluate`` (a VQ-VAE: its codebook's usage)."""
        return {}

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
