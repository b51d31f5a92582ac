"""Where things go on a 2-D map of the latent space: the box it shows, the points it draws, a grid of clickable
places, and the outlines of ellipses (q(z|x)'s 1-sigma) as one polyline."""
from __future__ import annotations

import numpy as np


def ellipse_outlines(centres: np.ndarray, radii: np.ndarray, vertices: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned ellipses as one polyline: x and y with NaN between shapes.

    centres (N, 2), radii (N, 2) -> two arrays of length N * (vertices + 2): each outline is closed
    (its first vertex repeated) and followed by a NaN gap, so one plot trace draws them all."""
    c = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    r = np.asarray(radii, dtype=np.float64).reshape(-1, 2)
    if len(c) != len(r):
        raise ValueError(f"{len(c)} centres but {len(r)} radii: give one (rx, ry) per centre")
    t = np.linspace(0.0, 2 * np.pi, vertices + 1)  # closed: the last angle repeats the first vertex
    xs = c[:, :1] + r[:, :1] * np.cos(t)[None, :]
    ys = c[:, 1:] + r[:, 1:] * np.sin(t)[None, :]
    gap = np.full((len(c), 1), np.nan)
    return np.hstack([xs, gap]).ravel(), np.hstack([ys, gap]).ravel()


def subsample(n: int, k: int, seed: int = 0) -> np.ndarray:
    """k of the indices 0..n-1 in a fixed random order (sorted), or all of them when k >= n."""
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])


def square_grid(xmin: float, xmax: float, ymin: float, ymax: float, n: int) -> np.ndarray:
    """(n*n, 2) evenly spaced points covering the box, row by row."""
    xs = np.linspace(xmin, xmax, n)
    ys = np.linspace(ymin, ymax, n)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


def map_extent(points: np.ndarray, margin: float = 0.08, include: tuple[float, float, float, float] | None = None,
               square: bool = False) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) around the points with a margin; ``include`` is a box that must fit too;
    ``square`` widens the shorter side so one unit has the same length on both axes."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(1)]
    if len(p):
        xmin, ymin = p.min(0)
        xmax, ymax = p.max(0)
    else:
        xmin, xmax, ymin, ymax = -1.0, 1.0, -1.0, 1.0
    if include is not None:
        xmin, xmax = min(xmin, include[0]), max(xmax, include[1])
        ymin, ymax = min(ymin, include[2]), max(ymax, include[3])
    w, h = max(xmax - xmin, 1e-6), max(ymax - ymin, 1e-6)
    if square:
        side = max(w, h)
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        xmin, xmax, ymin, ymax = cx - side / 2, cx + side / 2, cy - side / 2, cy + side / 2
        w = h = side
    return (float(xmin - margin * w), float(xmax + margin * w), float(ymin - margin * h), float(ymax + margin * h))


def square_extent(emb: np.ndarray) -> tuple[float, float, float, float]:
    """Equal units on both axes (distances in z look like distances), with a margin."""
    if len(emb) == 0:
        return -3.0, 3.0, -3.0, 3.0
    lo, hi = emb.min(0), emb.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.08, 1e-3)
    return centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half
