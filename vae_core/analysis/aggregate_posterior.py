"""The aggregate posterior q(z) = (1/N) sum_n q(z|x_n): where the encoder puts the data, as one density.

A VAE's KL term pulls every q(z|x) towards the prior; the aggregate posterior is what the decoder actually
learns to decode from. Where the prior p(z) has mass and q(z) has little (a "hole"), prior samples land
where the decoder saw almost nothing, and decode badly. KL(q(z) || p(z)) measures the mismatch.

Everything here is NumPy on the stored images' encodings (mu and log sigma^2 of each q(z|x_n)); the prior
comes in as a function giving log p(z) of each row, so any prior serves.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

LOG_2PI = math.log(2 * math.pi)
_CHUNK_ELEMENTS = 4_000_000  # query points x components per block of the mixture's density

LogDensity = Callable[[np.ndarray], np.ndarray]  # (M, d) -> (M,) log density, nats


def standard_normal_log_density(z: np.ndarray) -> np.ndarray:
    """log N(z; 0, I) of each row: the VAE's prior (and any of its marginals)."""
    z = np.asarray(z, np.float64)
    return -0.5 * (z.shape[1] * LOG_2PI + (z**2).sum(1))


def _select(mu: np.ndarray, logvar: np.ndarray, dims) -> tuple[np.ndarray, np.ndarray]:
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    if mu.ndim != 2 or mu.shape != logvar.shape or len(mu) == 0:
        raise ValueError(f"mu and logvar must be (N, D) arrays of the same shape with N >= 1, "
                         f"got {mu.shape} and {logvar.shape}")
    if dims is None:
        return mu, logvar
    dims = list(dims)
    if any(not 0 <= d < mu.shape[1] for d in dims) or len(set(dims)) != len(dims):
        raise ValueError(f"dims={dims} must be distinct latent dimensions from 0 to {mu.shape[1] - 1}")
    return mu[:, dims], logvar[:, dims]


def log_density(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray, dims=None) -> np.ndarray:
    """log q(z) of each row of z (M, d): the mixture (1/N) sum_n N(z; mu_n, diag(exp(logvar_n))), restricted to
    the coordinates ``dims`` (a marginal of a diagonal Gaussian mixture is the mixture of the marginals)."""
    mu, logvar = _select(mu, logvar, dims)
    z = np.asarray(z, np.float64).reshape(-1, mu.shape[1])
    inv_var = np.exp(-logvar)  # (N, d)
    norm = -0.5 * (mu.shape[1] * LOG_2PI + logvar.sum(1))  # (N,)
    out = np.empty(len(z))
    block = max(1, _CHUNK_ELEMENTS // max(1, len(mu) * mu.shape[1]))
    for start in range(0, len(z), block):
        q = z[start:start + block]
        sq = (((q[:, None, :] - mu[None]) ** 2) * inv_var[None]).sum(2)  # (m, N)
        comp = norm[None] - 0.5 * sq
        top = comp.max(1, keepdims=True)
        out[start:start + block] = top[:, 0] + np.log(np.exp(comp - top).sum(1)) - math.log(len(mu))
    return out


def sample(mu: np.ndarray, logvar: np.ndarray, n: int, dims=None, seed: int = 0) -> np.ndarray:
    """n draws from q(z): pick an image at random, then z ~ q(z|x) of that image; (n, d)."""
    mu, logvar = _select(mu, logvar, dims)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(mu), n)
    return mu[pick] + np.exp(0.5 * logvar[pick]) * rng.standard_normal((n, mu.shape[1]))


def kl_to_prior(mu: np.ndarray, logvar: np.ndarray, log_prior: LogDensity = standard_normal_log_density, *,
                dims=None, n_samples: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """KL(q(z) || p(z)) in nats, a Monte-Carlo estimate over ``n_samples`` draws of q(z), and its standard error.
    ``log_prior`` gives log p(z) on the same coordinates (the marginal on ``dims`` when they are given)."""
    z = sample(mu, logvar, n_samples, dims, seed)
    terms = log_density(z, mu, logvar, dims) - np.asarray(log_prior(z), np.float64)
    return float(terms.mean()), float(terms.std(ddof=1) / math.sqrt(len(terms)))


def grid(extent: tuple[float, float, float, float], n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, points): an n x n grid over extent (x0, x1, y0, y1) and its points (n*n, 2), rows of ys first."""
    x0, x1, y0, y1 = map(float, extent)
    if not (x1 > x0 and y1 > y0 and n >= 2):
        raise ValueError(f"extent={extent} must have x1 > x0 and y1 > y0, and n={n} at least 2")
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], 1)


def kl_to_prior_on_plane(mu: np.ndarray, logvar: np.ndarray, dims: tuple[int, int],
                         log_prior: LogDensity = standard_normal_log_density, *,
                         extent: tuple[float, float, float, float] | None = None, n: int = 300) -> float:
    """KL(q(z) || p(z)) of the 2-D marginals on ``dims``, by quadrature on an n x n grid (no sampling): the
    integral of q log(q / p) over a box that holds all but a negligible part of q."""
    m, lv = _select(mu, logvar, dims)
    if extent is None:
        s = np.exp(0.5 * lv)
        lo, hi = (m - 6 * s).min(0), (m + 6 * s).max(0)
        extent = (lo[0], hi[0], lo[1], hi[1])
    xs, ys, points = grid(extent, n)
    log_q = log_density(points, mu, logvar, dims)
    q = np.exp(log_q)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    return float((q * (log_q - np.asarray(log_prior(points), np.float64))).sum() * cell)


def kernel_logvar(mu: np.ndarray) -> np.ndarray:
    """For codes without a posterior spread (an autoencoder's q(z|x) is a point): a kernel density's bandwidth
    as a log-variance per dimension, Scott's rule h = std * N^(-1 / (D + 4)), so the codes' density can be drawn."""
    mu = np.asarray(mu, np.float64)
    n, d = mu.shape
    h = np.maximum(mu.std(0), 1e-6) * n ** (-1.0 / (d + 4))
    return np.broadcast_to(2 * np.log(h), mu.shape).copy()
