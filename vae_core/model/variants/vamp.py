"""A VAE with a learned prior: the VampPrior of Tomczak & Welling (2018, "VAE with a VampPrior").

The prior is the mixture of the encoder's own posteriors at K pseudo-inputs u_k, images that are learned
with the rest of the model:

    p(z) = (1/K) sum_k q(z | u_k)

A KL divergence to a mixture has no closed form, so the KL term is a Monte-Carlo estimate with the one z
drawn from q(z|x) for the reconstruction: log q(z|x) - log p(z), whose mean over z is the KL itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..activity import variance_of_mu
from ..shapes import TensorSpec
from ..priors import Prior
from .base import Variant


@dataclass(frozen=True)
class VampOptions:
    components: int = field(default=50, metadata={"help": "pseudo-inputs of the mixture prior (K)"})

    def __post_init__(self) -> None:
        if isinstance(self.components, bool) or not isinstance(self.components, int) or not 1 <= self.components <= 1000:
            raise ValueError(f"components={self.components!r} must be an integer between 1 and 1000")


class GaussianMixture(Prior):
    """(1/K) sum_k N(mu_k, diag sigma_k^2): the components with equal weights."""

    def __init__(self, mu: np.ndarray, logvar: np.ndarray):
        self.mu = np.asarray(mu, dtype=np.float64)  # (K, D)
        self.logvar = np.asarray(logvar, dtype=np.float64)
        self.latent_dim = self.mu.shape[1]
        self.name = f"(1/{len(self.mu)}) Σₖ q(z|uₖ)"
        self.tempered_name = f"{self.name}, each component's spread times T"

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None, generator=None) -> np.ndarray:
        """Draws from the mixture: a component each (uniformly), then z = mu_k + T sigma_k eps."""
        import torch

        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(seed if seed is not None else torch.seed())
        k = torch.randint(len(self.mu), (n,), generator=generator).numpy()
        eps = torch.randn(n, self.latent_dim, generator=generator, dtype=torch.float64).numpy()
        return (self.mu[k] + temperature * np.exp(0.5 * self.logvar[k]) * eps).astype(np.float32)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)[:, None, :]  # (N, 1, D) against (K, D)
        per_component = -0.5 * (math.log(2 * math.pi) + self.logvar + (z - self.mu) ** 2 * np.exp(-self.logvar))
        log_k = per_component.sum(-1)  # (N, K)
        top = log_k.max(1, keepdims=True)
        return (top + np.log(np.exp(log_k - top).sum(1, keepdims=True)))[:, 0] - math.log(len(self.mu))

    def mean(self) -> np.ndarray:
        return self.mu.mean(0)

    def std(self) -> np.ndarray:
        second = (np.exp(self.logvar) + self.mu**2).mean(0)
        return np.sqrt(np.maximum(second - self.mean() ** 2, 0.0))

    def marginal(self, dims: tuple[int, ...]) -> GaussianMixture:
        return GaussianMixture(self.mu[:, list(dims)], self.logvar[:, list(dims)])

    def as_mixture(self) -> tuple[np.ndarray, np.ndarray]:
        return self.mu, self.logvar


class VampPriorVAE(Variant):
    kind = "vamp"
    title = "VampPrior VAE"
    help = ("a VAE whose prior is learned: the mixture of the encoder's posteriors at K learned pseudo-inputs "
            "(Tomczak & Welling, 2018).")
    run_name_suffix = "-vamp"
    activity_name = "var"  # a KL to a mixture does not split by dimension: the spread of mu says what is used
    activity_label = "variance of mu"
    prior_formula = r"p(z) = \frac{1}{K}\sum_{k=1}^{K} q(z \mid u_k)"
    kl_formula = (r"\mathrm{KL}\!\left(q(z \mid x)\,\|\,p(z)\right) \approx \log q(z \mid x) - \log p(z), "
                  r"\qquad z \sim q(z \mid x)")
    kl_caption = ("The prior is a mixture (a VampPrior, Tomczak & Welling 2018), so the KL has no closed form: it is "
                  "a Monte-Carlo estimate, log q(z|x) - log p(z) at the one z drawn above. It changes with eps, like "
                  "the reconstruction term; its average over z is the KL itself.")
    kl_help = "nats, a one-sample Monte-Carlo estimate at the z drawn above"
    Options = VampOptions

    def extra_tensors(self, cfg) -> dict[str, TensorSpec]:
        return {"pseudo_inputs": TensorSpec((cfg.options.components, *cfg.image_shape), learned=True,
                                                  start="uniform")}

    def prior(self, cfg, tensors, posterior) -> GaussianMixture:
        return GaussianMixture(*posterior(tensors["pseudo_inputs"]))

    def kl_per_dim(self, mu, logvar) -> None:
        return None

    def activity(self, mu, logvar) -> np.ndarray:
        return variance_of_mu(mu)

    def loss_terms(self, model, x, mu, logvar, z, logits):
        from ..losses import log_normal

        return {"recon": model.reconstruction_nll(logits, x), "kl": log_normal(z, mu, logvar) - self.log_prior(model, z)}

    def log_prior(self, model, z):
        """log (1/K) sum_k N(z; mu(u_k), sigma^2(u_k)), (B,)."""
        from ..losses import log_normal

        mu_k, logvar_k = model.encode(model.pseudo_inputs)  # (K, D)
        per_component = log_normal(z[:, None, :], mu_k[None], logvar_k[None])  # (B, K)
        return per_component.logsumexp(1) - math.log(len(mu_k))

    def init_from_data(self, model, images) -> None:
        """The pseudo-inputs start as K training images chosen at random (Tomczak & Welling's data start)."""
        import torch

        pick = torch.randperm(len(images))[:model.pseudo_inputs.shape[0]]
        chosen = images[pick].float().to(model.pseudo_inputs.device)
        model.pseudo_inputs[:len(chosen)] = chosen
