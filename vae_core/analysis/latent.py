"""Walks through latent space: the 2-D manifold grid, interpolation (linear and spherical) and
per-dimension traversals, and latent points decoded in batches."""
from __future__ import annotations

import math

import numpy as np
import torch

from vae_core.model.config import SLIDER_LIMIT  # noqa: F401  (re-exported: pages import it from here)
from vae_core.model.torch_model import VAE

ABSURD_LIMIT = 1e3  # anything beyond this is refused rather than decoded
INTERPOLATIONS = ("lerp", "slerp")


def sanitize_z(z, latent_dim: int, limit: float = ABSURD_LIMIT) -> np.ndarray:
    """A latent point as float32 (latent_dim,): NaN becomes 0, values are clamped to +-limit.

    Raises ValueError when the length is wrong."""
    arr = np.asarray(z, dtype=np.float64).reshape(-1)
    if arr.shape[0] != latent_dim:
        raise ValueError(f"z has {arr.shape[0]} values but the model's latent_dim is {latent_dim}")
    arr = np.nan_to_num(arr, nan=0.0, posinf=limit, neginf=-limit)
    return np.clip(arr, -limit, limit).astype(np.float32)


def normal_ppf(p: np.ndarray) -> np.ndarray:
    """Inverse CDF of N(0, 1): sqrt(2) * erfinv(2p - 1)."""
    return math.sqrt(2.0) * torch.erfinv(torch.as_tensor(2 * np.asarray(p) - 1, dtype=torch.float64)).numpy()


def manifold_grid(n: int, eps: float = 0.05) -> np.ndarray:
    """(n*n, 2) points of a 2-D latent grid spaced by the inverse Gaussian CDF (Kingma & Welling, Fig. 4).

    Rows go from high z2 (top) to low z2 (bottom), columns from low z1 to high z1."""
    ticks = normal_ppf(np.linspace(eps, 1 - eps, n))
    zz1, zz2 = np.meshgrid(ticks, ticks[::-1])
    return np.stack([zz1.ravel(), zz2.ravel()], axis=1).astype(np.float32)


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return (1 - t) * z0.reshape(1, -1) + t * z1.reshape(1, -1)


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation: follows the shell where Gaussian samples concentrate."""
    a, b = z0.reshape(-1).double(), z1.reshape(-1).double()
    na, nb = a.norm(), b.norm()
    if na < 1e-12 or nb < 1e-12:
        return lerp(z0, z1, steps)
    ua, ub = a / na, b / nb
    omega = torch.arccos(torch.dot(ua, ub).clamp(-1, 1))
    if omega < 1e-6:
        return lerp(z0, z1, steps)
    t = torch.linspace(0, 1, steps, dtype=torch.float64).unsqueeze(1)
    if math.pi - omega < 1e-6:  # opposite directions: every great circle works; turn through a perpendicular
        if a.numel() == 1:
            return lerp(z0, z1, steps)
        e = torch.zeros_like(ua)
        e[ua.abs().argmin()] = 1.0
        perp = e - torch.dot(e, ua) * ua
        perp = perp / perp.norm()
        dirs = torch.cos(t * math.pi) * ua + torch.sin(t * math.pi) * perp
    else:
        dirs = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    out = ((1 - t) * na + t * nb) * dirs
    out[0], out[-1] = a, b
    return out.float()


def traversal(z: torch.Tensor, dims: list[int], values: np.ndarray | list[float]) -> torch.Tensor:
    """(len(dims) * len(values), D): for each dimension, z with that coordinate swept over values."""
    base = z.reshape(1, -1).float()
    rows = []
    for d in dims:
        block = base.repeat(len(values), 1)
        block[:, d] = torch.as_tensor(values, dtype=torch.float32)
        rows.append(block)
    return torch.cat(rows, 0)


def manifold_points(n: int, latent_dim: int, dims: tuple[int, int] = (0, 1)) -> np.ndarray:
    """(n*n, D) the inverse-CDF grid of Kingma & Welling's Fig. 4 placed on two dimensions, the others 0.

    For latent_dim == 1, (n, 1): the inverse-CDF ticks along the only axis."""
    if latent_dim == 1:
        return normal_ppf(np.linspace(0.05, 0.95, n)).astype(np.float32).reshape(-1, 1)
    i, j = (int(d) for d in dims)
    if i == j or not (0 <= i < latent_dim and 0 <= j < latent_dim):
        raise ValueError(f"dims={dims} must be two different dimensions in 0..{latent_dim - 1}")
    grid = manifold_grid(n)
    z = np.zeros((len(grid), latent_dim), np.float32)
    z[:, i], z[:, j] = grid[:, 0], grid[:, 1]
    return z


def interpolate(z0, z1, steps: int, method: str = "lerp") -> torch.Tensor:
    """(steps, D) from z0 to z1, both ends included; "lerp" (straight line) or "slerp" (great circle)."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"method={method!r} is not one of {INTERPOLATIONS}")
    if steps < 2:
        raise ValueError(f"steps={steps} must be at least 2")
    a = torch.tensor(np.asarray(z0, np.float32)).reshape(-1)
    b = torch.tensor(np.asarray(z1, np.float32)).reshape(-1)
    return (lerp if method == "lerp" else slerp)(a, b, steps).float()


def traversal_values(steps: int, limit: float = 3.0) -> np.ndarray:
    """The values one coordinate takes in a traversal: steps points evenly spaced in [-limit, limit]."""
    return np.linspace(-limit, limit, steps).astype(np.float32)


def _labels_for(y, n: int) -> torch.Tensor:
    yy = torch.as_tensor(y).reshape(-1)
    return yy.expand(n) if yy.numel() == 1 else yy


@torch.inference_mode()
def decode_batch(model: VAE, z, y=None, batch_size: int = 1024) -> np.ndarray:
    """Decode latent points to mean images, (N, C, H, W) float32 in [0, 1] as numpy."""
    if model.training:
        model.eval()
    z = torch.tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.latent_dim).to(model.device)  # a copy
    yy = _labels_for(y, len(z)) if model.variant.conditional else None
    if len(z) == 0:
        return np.zeros((0, *model.cfg.image_shape), np.float32)
    if len(z) <= batch_size:
        return model.decode(z, yy).float().cpu().numpy()
    out = [model.decode(z[i:i + batch_size], None if yy is None else yy[i:i + batch_size]).float().cpu()
           for i in range(0, len(z), batch_size)]
    return torch.cat(out).numpy()
