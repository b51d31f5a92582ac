"""The prior p(z) as the app uses it: draws to decode, the density, the mean and spread that set the
sliders' units, and the contours drawn on a latent map.

A model's variant gives its prior (vae_core.model.variants); this module holds N(0, I) and what every prior
shares: contours that enclose as much probability as N(0, I) does within 1, 2 and 3 standard deviations.
Only drawing uses torch (its seeded generator, so a seed gives the same z as ever), and imports it then.
"""
from __future__ import annotations

import math

import numpy as np

PRIOR_SIGMAS = (1.0, 2.0, 3.0)  # the contours drawn on a latent map: N(0, I)'s 1-, 2- and 3-sigma circles
CONTOUR_DRAWS = 20_000  # draws that measure a prior's density levels
CONTOUR_GRID = 160  # points per side of the grid a contour is traced on


def prior_z(n: int, latent_dim: int, temperature: float = 1.0, seed: int | None = None, generator=None):
    """n draws from N(0, temperature^2 I), (n, D), a torch tensor; seeded, or from the given torch generator."""
    import torch

    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(seed if seed is not None else torch.seed())
    return torch.randn(n, latent_dim, generator=generator) * temperature


def mass_within(sigma: float) -> float:
    """The share of a 2-D N(0, I) within radius sigma: 1 - exp(-sigma^2 / 2) (39%, 86%, 99% at 1, 2, 3)."""
    return 1.0 - math.exp(-sigma**2 / 2)


Outline = tuple[float, np.ndarray, np.ndarray]  # (sigma, x, y): a polyline, NaN between separate pieces


class Prior:
    """p(z) over ``latent_dim`` dimensions."""

    name = "p(z)"  # how texts write it
    tempered_name = "p(z) with its spread times T"  # the prior at temperature T, as texts write it
    contours_caption = ("Dashed lines: the prior's densest regions holding 39%, 86% and 99% of it, as much as "
                        "N(0, I) holds within 1, 2 and 3 sigma.")
    latent_dim: int

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None, generator=None) -> np.ndarray:
        """n draws, (n, D) float32; temperature scales the spread. Seeded, or from a torch generator."""
        raise NotImplementedError

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """log p(z) of each row of z (N, D), in nats, (N,)."""
        raise NotImplementedError

    def mean(self) -> np.ndarray:
        raise NotImplementedError

    def std(self) -> np.ndarray:
        """(D,) the standard deviation of each coordinate."""
        raise NotImplementedError

    def marginal(self, dims: tuple[int, ...]) -> Prior:
        """The prior of the coordinates ``dims`` alone."""
        raise NotImplementedError

    def as_mixture(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mu, logvar), each (K, D): the prior as an equal-weight mixture of diagonal Gaussians, for code that
        evaluates log p(z) outside Python (the browser's readout); None when it is not one."""
        return None

    def typical_norm(self) -> float:
        """sqrt(E ||z||^2) under the prior: how long a prior sample's z is (sqrt(D) for N(0, I))."""
        return float(np.sqrt(np.sum(self.mean() ** 2 + self.std() ** 2)))

    def contours(self, dims: tuple[int, int] = (0, 1), sigmas=PRIOR_SIGMAS) -> list[Outline]:
        """For each sigma, the outline of the densest region of the 2-D marginal on ``dims`` that holds
        mass_within(sigma) of it: N(0, I)'s circle of radius sigma, and the same share for any other prior."""
        import contourpy

        plane = self.marginal(tuple(dims))
        draws = plane.sample(CONTOUR_DRAWS, seed=0)
        levels = np.quantile(plane.log_density(draws), [1.0 - mass_within(s) for s in sigmas])
        lo, hi = draws.min(0), draws.max(0)
        pad = 0.1 * (hi - lo)
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], CONTOUR_GRID)
        ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], CONTOUR_GRID)
        gx, gy = np.meshgrid(xs, ys)
        density = plane.log_density(np.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
        tracer = contourpy.contour_generator(xs, ys, density, line_type=contourpy.LineType.Separate)
        out = []
        for sigma, level in zip(sigmas, levels):
            pieces = [np.vstack([p, [np.nan, np.nan]]) for p in tracer.lines(float(level))]
            joined = np.vstack(pieces)[:-1] if pieces else np.zeros((0, 2))
            out.append((float(sigma), joined[:, 0], joined[:, 1]))
        return out


    def view_box(self, dims: tuple[int, int] = (0, 1)) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) a map keeps in view so that the outermost contour shows, with a margin."""
        _, xs, ys = self.contours(dims)[-1]
        (x0, x1), (y0, y1) = (np.nanmin(xs), np.nanmax(xs)), (np.nanmin(ys), np.nanmax(ys))
        mx, my = (x1 - x0) / 30, (y1 - y0) / 30
        return float(x0 - mx), float(x1 + mx), float(y0 - my), float(y1 + my)


class StandardNormal(Prior):
    """The VAE's prior N(0, I)."""

    name = "N(0, I)"
    tempered_name = "N(0, T² I)"
    contours_caption = "Dashed circles: the prior N(0, I) at 1, 2 and 3 sigma."

    def __init__(self, latent_dim: int):
        self.latent_dim = latent_dim

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None, generator=None) -> np.ndarray:
        return prior_z(n, self.latent_dim, temperature, seed, generator).numpy()

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return -0.5 * (z.shape[-1] * math.log(2 * math.pi) + (z**2).sum(-1))

    def mean(self) -> np.ndarray:
        return np.zeros(self.latent_dim)

    def std(self) -> np.ndarray:
        return np.ones(self.latent_dim)

    def marginal(self, dims: tuple[int, ...]) -> StandardNormal:
        return StandardNormal(len(dims))

    def as_mixture(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((1, self.latent_dim)), np.zeros((1, self.latent_dim))

    def contours(self, dims: tuple[int, int] = (0, 1), sigmas=PRIOR_SIGMAS, vertices: int = 96) -> list[Outline]:
        """The circles of radius 1, 2 and 3 around the origin."""
        t = np.linspace(0.0, 2 * np.pi, vertices + 1)
        return [(float(s), float(s) * np.cos(t), float(s) * np.sin(t)) for s in sigmas]
