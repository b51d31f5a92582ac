"""A VAE with two latent levels, inferred top-down: the Ladder VAE of Sønderby et al. (2016).

z = (z1, z2): z2 on top (``top_dim`` numbers), z1 below it (the rest of ``latent_dim``). The generative model
runs down the levels, and its decoder sees both:

    p(z2) = N(0, I),   p(z1 | z2) = N(mu_p(z2), sigma_p^2(z2)),   p(x | z1, z2)

Inference runs up, then down the same generative path. A bottom-up pass of the encoder gives q(z2|x) and an
estimate N(mu^(x), sigma^^2(x)) for z1; z1's posterior then combines that estimate with the prior p(z1|z2) at
the z2 drawn, by precision (a product of the two Gaussians, Sønderby et al. eq. 17-19):

    q(z1 | x, z2) = N(mu_q, sigma_q^2),  1/sigma_q^2 = 1/sigma^^2 + 1/sigma_p^2,
                                       mu_q = sigma_q^2 (mu^ / sigma^^2 + mu_p / sigma_p^2)

so the top-down network mu_p, sigma_p is shared by the prior and the posterior. Each level has its own KL term,
both closed forms of two Gaussians; KL1 is taken at the one z2 drawn for the reconstruction:

    kl2 = KL(q(z2|x) || N(0, I)),   kl1 = KL(q(z1|x, z2) || p(z1|z2))

The model's z, as every page sees it, is (z1, z2) in that order; its encodings mu, log sigma^2 are q's at
z2 = mu(z2), and its prior is the joint p(z1, z2) (TopDownPrior).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import numpy_ops
from ..activity import variance_of_mu
from ..priors import PRIOR_SIGMAS, Prior, StandardNormal, prior_z
from ..shapes import Chain
from .base import Variant
from .vamp import GaussianMixture

MOMENT_DRAWS = 20_000  # draws the prior's mean and spread are measured with (seeded)
MARGINAL_DRAWS = 500  # draws of z2 whose p(z1|z2) make a 2-D marginal of the prior, for its contours


@dataclass(frozen=True)
class LadderOptions:
    top_dim: int = field(default=2, metadata={"help": "size of the top level z2 (z1 has the rest of latent_dim)"})
    ladder_hidden: int = field(default=64, metadata={
        "help": "width of the top level's networks (up to q(z2|x), down to p(z1|z2))"})

    def __post_init__(self) -> None:
        for name in ("top_dim", "ladder_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
                raise ValueError(f"{name}={value!r} must be an integer between 1 and 4096")


def split(z, bottom: int):
    """(z1, z2) of z (..., D): the first ``bottom`` numbers and the rest."""
    return z[..., :bottom], z[..., bottom:]


def top_posterior(run, h):
    """mu and log sigma^2 of q(z2|x), from the encoder's features h (bottom-up)."""
    u = run("up", h)
    return run("q2_mu", u), run("q2_logvar", u)


def bottom_prior(run, z2):
    """mu_p and log sigma_p^2 of p(z1|z2) (top-down): the path the prior and the posterior share."""
    t = run("down", z2)
    return run("p1_mu", t), run("p1_logvar", t)


def combine(xp, mu_hat, logvar_hat, mu_p, logvar_p):
    """q(z1|x, z2): the precision-weighted product of the bottom-up estimate and p(z1|z2). The weights are
    sigma_q^2 / sigma^2 of each, exp(logvar_q - logvar) <= 1, so nothing overflows."""
    logvar = -xp.logaddexp(-logvar_hat, -logvar_p)
    return xp.exp(logvar - logvar_hat) * mu_hat + xp.exp(logvar - logvar_p) * mu_p, logvar


def gaussian_kl(mu_q, logvar_q, mu_p, logvar_p):
    """KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)) per dimension, elementwise (torch)."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p).pow(2)) * (-logvar_p).exp() - 1)


class TopDownPrior(Prior):
    """p(z1, z2) = N(z2; 0, I) N(z1; mu_p(z2), sigma_p^2(z2)) over z = (z1, z2), run in NumPy on the model's
    arrays. Draws are ancestral (z2, then z1 given it), the density is exact; the mean and spread are measured
    on MOMENT_DRAWS seeded draws, and a 2-D marginal for contours is a mixture over MARGINAL_DRAWS draws of z2."""

    name = "N(z₂; 0, I) p(z₁|z₂)"
    tempered_name = "N(z₂; 0, T² I) p(z₁|z₂) with its spread times T"
    contours_caption = ("Dashed lines: the prior's densest regions holding 39%, 86% and 99% of it (a mixture over "
                        "draws of the top level z₂ where z₁'s coordinates are shown).")

    def __init__(self, ops: dict, arrays, bottom: int, top: int):
        self.ops, self.arrays = ops, arrays
        self.bottom, self.top = bottom, top
        self.latent_dim = bottom + top
        self._moments: tuple[np.ndarray, np.ndarray] | None = None

    def _run(self, part: str, h: np.ndarray) -> np.ndarray:
        return numpy_ops.run(self.ops[part], self.arrays, np.asarray(h, np.float32))

    def conditional(self, z2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mu_p and log sigma_p^2 of p(z1|z2), each (N, bottom), for top-level points z2 (N, top)."""
        mu, logvar = bottom_prior(self._run, z2)
        return mu.astype(np.float64), logvar.astype(np.float64)

    def _noise(self, n: int, temperature: float, seed, generator) -> tuple[np.ndarray, np.ndarray]:
        eps = prior_z(n, self.latent_dim, temperature, seed, generator).numpy().astype(np.float64)
        return split(eps, self.bottom)

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None, generator=None) -> np.ndarray:
        """Ancestral draws: z2 ~ N(0, T^2 I), then z1 = mu_p(z2) + T sigma_p(z2) eps."""
        eps1, z2 = self._noise(n, temperature, seed, generator)
        mu, logvar = self.conditional(z2)
        return np.concatenate([mu + np.exp(0.5 * logvar) * eps1, z2], 1).astype(np.float32)

    def sample_top_fixed(self, n: int, z2=None, temperature: float = 1.0, seed: int | None = None) -> np.ndarray:
        """n draws (n, D) sharing one top level z2 (the given one, else a draw of it) with z1 ~ p(z1|z2) drawn
        again for each: what the lower level adds below one choice of the upper."""
        eps1, first = self._noise(n, temperature, seed, None)
        z2 = first[:1] if z2 is None else np.asarray(z2, np.float64).reshape(1, self.top)
        mu, logvar = self.conditional(z2)
        z1 = mu + np.exp(0.5 * logvar) * eps1
        return np.concatenate([z1, np.repeat(z2, n, 0)], 1).astype(np.float32)

    def sample_bottom_fixed(self, n: int, z1=None, temperature: float = 1.0, seed: int | None = None) -> np.ndarray:
        """n draws (n, D) sharing one lower level z1 (the given one, else an ancestral draw of it) with the top
        level z2 ~ N(0, T^2 I) drawn again for each: what z2 changes in p(x|z1, z2) with z1 held."""
        z = self.sample(n, temperature, seed)
        z1 = z[:1, :self.bottom] if z1 is None else np.asarray(z1, np.float32).reshape(1, self.bottom)
        z[:, :self.bottom] = z1
        return z

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z1, z2 = split(np.asarray(z, np.float64), self.bottom)
        mu, logvar = self.conditional(z2)
        log_top = -0.5 * (math.log(2 * math.pi) + z2**2).sum(1)
        log_bottom = -0.5 * (math.log(2 * math.pi) + logvar + (z1 - mu) ** 2 * np.exp(-logvar)).sum(1)
        return log_top + log_bottom

    def _measured(self) -> tuple[np.ndarray, np.ndarray]:
        if self._moments is None:
            draws = self.sample(MOMENT_DRAWS, seed=0).astype(np.float64)
            self._moments = draws.mean(0), draws.std(0)
        return self._moments

    def mean(self) -> np.ndarray:
        return self._measured()[0]

    def std(self) -> np.ndarray:
        return self._measured()[1]

    def contours(self, dims: tuple[int, int] = (0, 1), sigmas=PRIOR_SIGMAS):
        """The 2-D marginal's own contours: N(0, I)'s circles on the top level, the mixture's elsewhere."""
        return self.marginal(dims).contours((0, 1), sigmas)

    def marginal(self, dims: tuple[int, ...]) -> Prior:
        """The top level alone is N(0, I). With z1's coordinates it is the mixture over seeded draws z2_m of
        p(z1|z2_m) (exact as the draws grow), z2's own coordinates in it as narrow Gaussians around z2_m (width
        by Scott's rule)."""
        dims = [int(d) for d in dims]
        if all(d >= self.bottom for d in dims):
            return StandardNormal(len(dims))
        _, z2 = self._noise(MARGINAL_DRAWS, 1.0, 0, None)
        mu_p, logvar_p = self.conditional(z2)
        width = MARGINAL_DRAWS ** (-1.0 / (len(dims) + 4))
        mu = np.stack([mu_p[:, d] if d < self.bottom else z2[:, d - self.bottom] for d in dims], 1)
        logvar = np.stack([logvar_p[:, d] if d < self.bottom else np.full(MARGINAL_DRAWS, 2 * math.log(width))
                           for d in dims], 1)
        return GaussianMixture(mu, logvar)


class LadderVAE(Variant):
    kind = "hvae"
    title = "Hierarchical VAE (two levels)"
    help = ("two latent levels, z2 above z1: p(z2) p(z1|z2) p(x|z1, z2), inferred top-down along the generative "
            "path (a Ladder VAE, Sønderby et al. 2016); a KL term per level.")
    run_name_suffix = "-hvae"
    kl_terms = ("kl1", "kl2")
    activity_name = "var"  # KL1 is to p(z1|z2), not to N(0, 1): the spread of mu says what is used
    activity_label = "variance of mu"
    prior_formula = (r"p(z_1, z_2) = \mathcal{N}(z_2;\, 0, I)\;"
                     r"\mathcal{N}\!\left(z_1;\, \mu_p(z_2), \sigma_p^2(z_2)\right)")
    kl_formula = (r"\mathrm{KL}_2 = \mathrm{KL}\!\left(q(z_2 \mid x)\,\|\,\mathcal{N}(0, I)\right), \qquad "
                  r"\mathrm{KL}_1 = \mathrm{KL}\!\left(q(z_1 \mid x, z_2)\,\|\,p(z_1 \mid z_2)\right) = "
                  r"\tfrac12 \sum_{i}\left(\log\frac{\sigma_{p,i}^2}{\sigma_{q,i}^2} + "
                  r"\frac{\sigma_{q,i}^2 + (\mu_{q,i} - \mu_{p,i})^2}{\sigma_{p,i}^2} - 1\right)")
    kl_caption = ("Two levels, two KL terms, each in closed form. KL2 compares q(z2|x) with N(0, I); KL1 compares "
                  "q(z1|x, z2) with the prior p(z1|z2) at the z2 drawn above, so it changes with eps like the "
                  "reconstruction term. q(z1|x, z2) is the precision-weighted product of the encoder's estimate "
                  "and p(z1|z2): the posterior shares the top-down path of the generative model (Sønderby et al. "
                  "2016). The KL of the ELBO is KL1 + KL2.")
    kl_help = "nats: KL1 + KL2, KL1 at the z2 drawn above"
    Options = LadderOptions

    # ------------------------------------------------------------------ the description (no torch)

    def config_error(self, cfg) -> str | None:
        if cfg.options.top_dim >= cfg.latent_dim:
            return (f"kind='hvae': top_dim={cfg.options.top_dim} leaves no dimension for z1 in latent_dim="
                    f"{cfg.latent_dim}: z = (z1, z2) has latent_dim numbers, give more than top_dim")
        return None

    def head_dim(self, cfg) -> int:
        return cfg.latent_dim - cfg.options.top_dim

    def latent_shape(self, cfg, head_shape) -> tuple[int, ...]:
        return (cfg.latent_dim,)

    def latent_levels(self, cfg) -> tuple[tuple[str, int, int], ...]:
        bottom = self.head_dim(cfg)
        return (("z1", 0, bottom), ("z2", bottom, cfg.latent_dim))

    def extra_nets(self, cfg, features) -> dict[str, list]:
        bottom, top, width = self.head_dim(cfg), cfg.options.top_dim, cfg.options.ladder_hidden
        nets = {"up": Chain(features).mlp([width], "ladder.up").ops,
                "down": Chain((top,)).mlp([width], "ladder.down").ops}
        for name, size in (("q2_mu", top), ("q2_logvar", top), ("p1_mu", bottom), ("p1_logvar", bottom)):
            source = nets["up" if name.startswith("q") else "down"][-1].out_shape
            nets[name] = Chain(source).add("linear", (size,), f"ladder.{name}").ops
        return nets

    def encode_features(self, xp, run, h):
        """q at z2 = its mean: (mu(z1), mu(z2)) and their log sigma^2, the same in torch and NumPy."""
        mu2, logvar2 = top_posterior(run, h)
        mu1, logvar1 = combine(xp, run("mu", h), run("logvar", h), *bottom_prior(run, mu2))
        return xp.concatenate([mu1, mu2], axis=-1), xp.concatenate([logvar1, logvar2], axis=-1)

    def prior(self, cfg, tensors, posterior) -> TopDownPrior:
        nets = self.extra_nets(cfg, (1,))  # the top-down parts do not depend on the encoder's width
        return TopDownPrior({k: tuple(v) for k, v in nets.items() if k in ("down", "p1_mu", "p1_logvar")}, tensors,
                            self.head_dim(cfg), cfg.options.top_dim)

    def kl_per_dim(self, mu, logvar) -> None:
        """KL1 is to p(z1|z2), which mu and log sigma^2 alone do not give: the KL does not split this way."""
        return None

    def activity(self, mu, logvar) -> np.ndarray:
        return variance_of_mu(mu)

    # ------------------------------------------------------------------ torch

    def _posterior(self, model, h, eps):
        """z = (z1, z2) drawn top-down with the noise eps (..., D) and q's parameters at it."""
        import torch

        eps1, eps2 = split(eps, self.head_dim(model.cfg))
        mu2, logvar2 = top_posterior(model.run, h)
        z2 = mu2 + torch.exp(0.5 * logvar2) * eps2
        mu_p, logvar_p = bottom_prior(model.run, z2)
        mu1, logvar1 = combine(torch, model.run("mu", h), model.run("logvar", h), mu_p, logvar_p)
        z1 = mu1 + torch.exp(0.5 * logvar1) * eps1
        return z1, z2, (mu1, logvar1, mu_p, logvar_p), (mu2, logvar2)

    def forward(self, model, x, y, eps):
        import torch

        from ..losses import kl_divergence

        h = model.features(x, y)
        eps = model.draw_eps(len(x)) if eps is None else eps
        z1, z2, (mu1, logvar1, mu_p, logvar_p), (mu2, logvar2) = self._posterior(model, h, eps)
        z = torch.cat([z1, z2], 1)
        logits = model.decode_logits(z, y)
        terms = {"recon": model.reconstruction_nll(logits, x),
                 "kl1": gaussian_kl(mu1, logvar1, mu_p, logvar_p).sum(1),
                 "kl2": kl_divergence(mu2, logvar2)}
        return model.output(terms, torch.cat([mu1, mu2], 1), torch.cat([logvar1, logvar2], 1), z, logits)

    def log_prior(self, model, z):
        """log p(z1, z2) = log N(z2; 0, I) + log p(z1|z2), (...)."""
        from ..losses import log_normal, log_standard_normal

        z1, z2 = split(z, self.head_dim(model.cfg))
        return log_standard_normal(z2) + log_normal(z1, *bottom_prior(model.run, z2))

    def posterior_draws(self, model, x, y, n):
        """n top-down draws of (z1, z2) per image and log q(z1, z2|x) = log q(z2|x) + log q(z1|x, z2)."""
        import torch

        from ..losses import log_normal

        h = model.features(x, y)
        eps = torch.randn(n, len(x), model.latent_dim, device=h.device)
        z1, z2, (mu1, logvar1, _, _), (mu2, logvar2) = self._posterior(model, h, eps)
        return torch.cat([z1, z2], -1), log_normal(z2, mu2, logvar2) + log_normal(z1, mu1, logvar1)
