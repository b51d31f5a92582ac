"""The VQ-VAE of van den Oord, Vinyals & Kavukcuoglu (2017, "Neural Discrete Representation Learning").

The conv encoder ends at a map of h x w positions, each a D-dim vector z_e (D = latent_dim). Each vector is
replaced by the nearest of K codebook vectors e_k, and the decoder sees that map of codes z_q. The latent is
discrete: an image is its h x w grid of code indices.

    z_q = e_k,  k = argmin_j ||z_e - e_j||            (at every position)
    loss = -log p(x | z_q) + beta ||z_e - sg(e_k)||^2  (reconstruction + commitment, sg = stop gradient)

The decoder's gradient reaches the encoder straight through the lookup (z_e + sg(z_q - z_e)). The codebook
follows the encodings by moving averages, and codes no encoding uses restart at encodings of the batch
(vae_core.model.variants.codebook). No prior over codes is learned here (the paper fits a PixelCNN to them
afterwards): against a uniform prior the KL is log K at each position, a constant left out of the loss, and
"prior samples" are uniform random codes, which look like noise. Pages show what is discrete instead: the
codebook's usage, its vectors, an image's grid of codes, and a grid decoded after changing one code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..activity import variance_of_mu
from ..priors import Prior
from ..shapes import TensorSpec, conv_out
from .base import Variant


@dataclass(frozen=True)
class VQOptions:
    codebook_size: int = field(default=64, metadata={"help": "codes in the codebook (K)"})
    commitment: float = field(default=0.25, metadata={"help": "weight beta of the commitment term ||z_e - sg(e)||^2"})
    codebook_decay: float = field(default=0.99, metadata={"help": "decay of the codebook's moving averages"})
    dead_code_threshold: float = field(default=2.0, metadata={
        "help": "a code chosen fewer times per batch than this (on average) restarts at an encoding of the batch"})

    def __post_init__(self) -> None:
        if isinstance(self.codebook_size, bool) or not isinstance(self.codebook_size, int) \
                or not 2 <= self.codebook_size <= 4096:
            raise ValueError(f"codebook_size={self.codebook_size!r} must be an integer between 2 and 4096")
        if not 0 < self.commitment <= 100:
            raise ValueError(f"commitment={self.commitment!r} must be above 0 and at most 100")
        if not 0 < self.codebook_decay < 1:
            raise ValueError(f"codebook_decay={self.codebook_decay!r} must be between 0 and 1 (exclusive)")
        if not 0 < self.dead_code_threshold <= 1e6:
            raise ValueError(f"dead_code_threshold={self.dead_code_threshold!r} must be above 0 (every code starts "
                             "dead, below it, and the first batch starts them from its encodings)")


def grid(cfg) -> tuple[int, int]:
    """(h, w): the positions of the conv encoder's last map, one code each."""
    _, h, w = cfg.image_shape
    for _ in cfg.hidden:
        h, w = conv_out(h), conv_out(w)
    return h, w


def nearest_codes(vectors: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """(N,) the nearest code (K, D) to each vector (N, D), in NumPy."""
    vectors = np.asarray(vectors, np.float64)
    codebook = np.asarray(codebook, np.float64)
    distances = (vectors**2).sum(1, keepdims=True) - 2 * vectors @ codebook.T + (codebook**2).sum(1)
    return distances.argmin(1)


def usage(codes: np.ndarray, codebook_size: int) -> dict:
    """How a set of code indices (any shape) uses the K codes: counts (K,), perplexity exp(H) of the codes'
    frequencies (K when every code is used equally, 1 when one code is used) and dead codes (used by none)."""
    counts = np.bincount(np.asarray(codes).ravel().astype(np.int64), minlength=codebook_size).astype(np.float64)
    return {"counts": counts, "perplexity": perplexity(counts), "dead_codes": int((counts == 0).sum())}


def perplexity(counts: np.ndarray) -> float:
    """exp of the entropy (nats) of the frequencies counts / sum(counts); 0 counts add nothing."""
    counts = np.asarray(counts, np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum())) if len(p) else 0.0


class UniformPoints(Prior):
    """A uniform choice among finitely many points (M, D): the values a few coordinates of z take under uniform
    codes. A choice among points has no density, so ``log_density`` is the log-probability of the point nearest
    to z, the same for every z, and there are no contours to draw."""

    name = "uniform over the codes"
    tempered_name = "uniform over the codes (temperature does not apply)"
    contours_caption = "Dots: the values these coordinates take; a uniform choice of codes has no density to outline."

    def __init__(self, points: np.ndarray):
        self.points = np.asarray(points, np.float64)
        self.latent_dim = self.points.shape[1]

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None, generator=None) -> np.ndarray:
        pick = _randint(len(self.points), (n,), seed, generator)
        return self.points[pick].astype(np.float32)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        return np.full(len(np.asarray(z)), -math.log(len(self.points)))

    def mean(self) -> np.ndarray:
        return self.points.mean(0)

    def std(self) -> np.ndarray:
        return self.points.std(0)

    def marginal(self, dims: tuple[int, ...]) -> UniformPoints:
        return UniformPoints(self.points[:, list(dims)])

    def contours(self, dims=(0, 1), sigmas=None) -> list:
        return []

    def view_box(self, dims: tuple[int, int] = (0, 1)) -> tuple[float, float, float, float]:
        xy = self.points[:, list(dims)]
        lo, hi = xy.min(0), xy.max(0)
        margin = (hi - lo) / 30 + 1e-6
        return float(lo[0] - margin[0]), float(hi[0] + margin[0]), float(lo[1] - margin[1]), float(hi[1] + margin[1])


class UniformCodes(UniformPoints):
    """The stand-in prior of a VQ-VAE whose prior over codes is not learned: at each of the h x w positions, one
    of the K codes, uniformly and independently. z is the map of code vectors flattened in (D, h, w) order."""

    name = "uniform codes (not learned)"
    tempered_name = "uniform codes (temperature does not apply)"

    def __init__(self, codebook: np.ndarray, grid_hw: tuple[int, int]):
        self.codebook = np.asarray(codebook, np.float64)  # (K, D)
        self.grid = tuple(grid_hw)
        k, d = self.codebook.shape
        self.latent_dim = d * self.grid[0] * self.grid[1]

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None, generator=None) -> np.ndarray:
        positions = self.grid[0] * self.grid[1]
        codes = _randint(len(self.codebook), (n, positions), seed, generator)  # (n, h*w)
        return self.codebook[codes].transpose(0, 2, 1).reshape(n, -1).astype(np.float32)  # (n, D, h*w) flattened

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """log P(the grid of codes z falls on) = -h w log K, the same for every grid."""
        return np.full(len(np.asarray(z)), -self.grid[0] * self.grid[1] * math.log(len(self.codebook)))

    def mean(self) -> np.ndarray:
        return np.repeat(self.codebook.mean(0), self.grid[0] * self.grid[1])

    def std(self) -> np.ndarray:
        return np.repeat(self.codebook.std(0), self.grid[0] * self.grid[1])

    def marginal(self, dims: tuple[int, ...]) -> UniformPoints:
        """The values the coordinates ``dims`` take together: K points when they share a position, all
        combinations of codes when they do not."""
        positions = self.grid[0] * self.grid[1]
        channel, where = np.divmod(np.asarray(dims), positions)  # flattened (D, h*w): index = d * h*w + position
        places = sorted(set(where.tolist()))
        k = len(self.codebook)
        combos = np.stack(np.meshgrid(*[np.arange(k)] * len(places), indexing="ij"), -1).reshape(-1, len(places))
        column = {p: i for i, p in enumerate(places)}
        points = np.stack([self.codebook[combos[:, column[p]], c] for c, p in zip(channel, where)], 1)
        return UniformPoints(points)

    def view_box(self, dims: tuple[int, int] = (0, 1)) -> tuple[float, float, float, float]:
        return self.marginal(tuple(dims)).view_box((0, 1))


def _randint(high: int, shape: tuple[int, ...], seed: int | None, generator) -> np.ndarray:
    """Uniform integers in [0, high), from torch's seeded generator as every prior draws (vae_core.model.priors)."""
    import torch

    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(seed if seed is not None else torch.seed())
    return torch.randint(high, shape, generator=generator).numpy()


class VQVAE(Variant):
    kind = "vq"
    title = "VQ-VAE"
    help = ("a discrete latent: a map of codes, each position the nearest of K learned vectors (van den Oord et "
            "al., 2017); reconstruction + commitment, no prior learned here.")
    run_name_suffix = "-vq"
    gaussian_posterior = False
    has_prior = False
    discrete_latent = True
    latent_map = True
    browser_decoder = False
    browser_decoder_reason = "it looks up each position's code in the codebook, which the browser program does not do"
    kl_terms = ()
    aux_terms = ("commitment",)
    activity_name = "var"
    activity_label = "variance of z_e"
    prior_formula = r"p(k_{ij}) = \tfrac{1}{K} \quad \text{at every position } (i, j) \text{ (uniform, not learned here)}"
    kl_formula = (r"\mathrm{KL}\!\left(q(k \mid x)\,\|\,p(k)\right) = h\,w\,\log K, \qquad "
                  r"\mathcal{L} = -\log p(x \mid z_q) + \beta\,\lVert z_e - \mathrm{sg}(e_k) \rVert^2")
    kl_caption = ("q(k|x) puts all its mass on the nearest code at each position, so against a uniform prior the KL "
                  "is log K per position: the same for every image, and left out of training (van den Oord et al. "
                  "2017). The loss is the reconstruction plus the commitment term, which keeps the encoder's z_e near "
                  "its code; the codebook follows the encodings by moving averages.")
    kl_help = "no KL term: a constant log K per position, left out"
    Options = VQOptions

    # ------------------------------------------------------------------ the description (no torch)

    def config_error(self, cfg) -> str | None:
        if cfg.arch != "conv":
            return ("kind='vq' quantizes the conv encoder's last map, one code per position: use --arch conv "
                    "(e.g. --hidden 32,64 for a 7x7 map of 28x28 images)")
        return None

    def latent_levels(self, cfg) -> tuple[tuple[str, int, int], ...]:
        h, w = grid(cfg)
        return (("z_e", 0, cfg.latent_dim * h * w),)

    def extra_tensors(self, cfg) -> dict[str, TensorSpec]:
        k, d = cfg.options.codebook_size, cfg.latent_dim
        # Every code starts at 0 with a count of 1, below the restart threshold: the first training batch starts
        # each at one of its encodings (a start from the data, as a k-means start would be).
        return {"codebook": TensorSpec((k, d), learned=False),  # e_k, (K, D)
                "codebook_count": TensorSpec((k,), learned=False, start=1.0),  # N_k, the moving average of counts
                "codebook_sum": TensorSpec((k, d), learned=False)}  # m_k, the moving average of the vectors' sums

    def prior(self, cfg, tensors, posterior) -> UniformCodes:
        return UniformCodes(tensors["codebook"], grid(cfg))

    def kl_per_dim(self, mu, logvar) -> np.ndarray:
        """No KL term: no dimension carries any."""
        return np.zeros(np.shape(mu))

    def activity(self, mu, logvar) -> np.ndarray:
        return variance_of_mu(mu)

    def codebook_vectors(self, tensors) -> np.ndarray:
        """(K, D) the codebook of a model's tensors (a checkpoint's arrays or a state_dict), for a map of it."""
        return np.asarray(tensors["codebook"], np.float32)

    def codes_of(self, cfg, tensors, mu: np.ndarray) -> np.ndarray:
        """(N, h, w) the grid of code indices of encodings mu (N, D*h*w) (numpy_model.encode's), without torch."""
        h, w = grid(cfg)
        vectors = np.asarray(mu).reshape(len(mu), cfg.latent_dim, h * w).transpose(0, 2, 1).reshape(-1, cfg.latent_dim)
        return nearest_codes(vectors, tensors["codebook"]).reshape(len(mu), h, w)

    # ------------------------------------------------------------------ torch

    def forward(self, model, x, y, eps):
        """z_e, its nearest codes z_q, the decoder on z_q with the gradient passed straight through to z_e, and the
        loss terms. In training mode the codebook then takes its moving-average step and restarts its dead codes."""
        from . import codebook as cb

        z_e, logvar = model.encode(x, y)
        d, opts = model.cfg.latent_dim, model.cfg.options
        vectors = cb.to_vectors(z_e, d)
        index = cb.nearest(vectors.detach(), model.codebook)
        z_q = cb.from_vectors(model.codebook[index], len(x))  # a copy: the update below does not change it
        if model.training:
            cb.ema_update_(model.codebook, model.codebook_count, model.codebook_sum, vectors.detach(), index,
                           opts.codebook_decay)
            cb.restart_dead_(model.codebook, model.codebook_count, model.codebook_sum, vectors.detach(),
                             opts.dead_code_threshold)
        z = z_e + (z_q - z_e).detach()  # the straight-through estimator: z_q forward, the identity backward
        logits = model.run_decoder(z)
        terms = {"recon": model.reconstruction_nll(logits, x),
                 "commitment": opts.commitment * (z_e - z_q).pow(2).sum(1)}
        return model.output(terms, z_e, logvar, z, logits)

    def decoder_input(self, model, z):
        """Any map z (B, D*h*w) decodes as its nearest codes: the decoder only ever sees codebook vectors."""
        from . import codebook as cb

        index = cb.nearest(cb.to_vectors(z, model.cfg.latent_dim), model.codebook)
        return cb.from_vectors(model.codebook[index], len(z))

    def codes(self, model, x, y=None):
        """(B, h, w) the grid of code indices of images x (B, C, H, W)."""
        import torch

        from . import codebook as cb

        parts = []
        with torch.no_grad():
            for i in range(0, len(x), 1000):  # in chunks: the conv maps of 10,000 images would take gigabytes
                z_e, _ = model.encode(x[i:i + 1000], None if y is None else y[i:i + 1000])
                parts.append(cb.nearest(cb.to_vectors(z_e, model.cfg.latent_dim), model.codebook))
        index = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
        return index.reshape(len(x), *grid(model.cfg))

    def decode_codes(self, model, codes):
        """(B, C, H, W) the mean images of grids of code indices (B, h, w), e.g. an image's grid after changing one
        code."""
        import torch

        from . import codebook as cb

        codes = torch.as_tensor(codes, device=model.codebook.device).long()
        if codes.ndim != 3 or tuple(codes.shape[1:]) != grid(model.cfg):
            raise ValueError(f"codes of shape {tuple(codes.shape)}: give grids of {grid(model.cfg)} code indices")
        k = model.codebook.shape[0]
        if codes.numel() and (codes.min() < 0 or codes.max() >= k):
            raise ValueError(f"code indices must be between 0 and {k - 1}")
        with torch.no_grad():
            z_q = cb.from_vectors(model.codebook[codes.reshape(-1)], len(codes))
            return torch.sigmoid(model.run_decoder(z_q))

    def measures(self, model, x, y):
        """The codebook's usage over the images x (its perplexity, and how many codes no position uses) and the
        reconstructions' mean squared error per pixel."""
        codes = self.codes(model, x, y)
        found = usage(codes.cpu().numpy(), model.codebook.shape[0])
        squared = sum(float((self.decode_codes(model, codes[i:i + 1000]) - x[i:i + 1000].to(codes.device)).pow(2).sum())
                      for i in range(0, len(x), 1000))
        return {"perplexity": found["perplexity"], "dead_codes": float(found["dead_codes"]),
                "mse": squared / max(x.numel(), 1)}

    def log_prior(self, model, z):
        raise ValueError("a VQ-VAE here has no learned prior over its codes, so no log p(z)")

    def posterior_draws(self, model, x, y, n):
        raise ValueError("a VQ-VAE's q(k|x) is one-hot: there is nothing to draw, and no p(x) without a prior")
