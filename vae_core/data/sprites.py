"""Sprites: a dSprites-style dataset with known generative factors, drawn here by seeded NumPy code.

Each image is one white shape on black, made from five independent factors, each drawn uniformly from a grid of
values (dSprites' grid, Matthey et al. 2017, without its single colour):

    shape         square, ellipse, heart                          (categorical: the dataset's labels)
    scale         6 values from 0.5 to 1
    orientation   40 angles in [0, 2 pi), counter-clockwise        (a square looks the same every 90 degrees and
                                                                    an ellipse every 180: only the heart shows all)
    x position    32 values from 0 to 1, left to right
    y position    32 values from 0 to 1, top to bottom

Images are 32x32 (not dSprites' 64x64): a shape at scale 1 spans at most 14 pixels, which keeps squares, ellipses
and hearts apart, and an MLP on 1,024 pixels is a quarter of one on 4,096, so the bundled models stay small (about
1 MB of weights each) and train in minutes on a CPU. Edges are anti-aliased by supersampling: each pixel is the
share of 4x4 points inside the shape, so a step of half a pixel in position still changes the image.

The factors of every image are kept, (N, 5) integer indices into FACTORS' values, so a model's codes can be
scored against them (vae_core.analysis.disentanglement).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIDE = 32  # images are SIDE x SIDE pixels
SUPERSAMPLE = 4  # points per pixel side for anti-aliasing
RADIUS = 7.0  # pixels from a shape's centre to its farthest point at scale 1 (any orientation)
MARGIN = 8.0  # the centre's distance from the border at position 0 and 1: the whole shape always fits
WINDOW = 16  # pixels drawn around each shape (2 * RADIUS and the edge of the pixel grid)
N_IMAGES = 40_000  # images of the built-in dataset "sprites"
SEED = 0  # the built-in dataset's images; the train/test split has its own seed
CLASS_NAMES = ["square", "ellipse", "heart"]
# the heart (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 has its centroid at y = 0.2935 and reaches 1.2935 from it
HEART_CENTROID, HEART_RADIUS = 0.2935, 1.2935
ELLIPSE_MINOR = 0.5  # the ellipse's semi-axes are 1 and this, in units of its radius


@dataclass(frozen=True)
class Factor:
    name: str
    values: tuple  # the value of each index: a name for a categorical factor, a number otherwise
    categorical: bool = False  # True: the values have no order (a classifier predicts it, not a regressor)


FACTORS: tuple[Factor, ...] = (
    Factor("shape", tuple(CLASS_NAMES), categorical=True),
    Factor("scale", tuple(float(v) for v in np.linspace(0.5, 1.0, 6))),
    Factor("orientation", tuple(float(v) for v in np.linspace(0.0, 2 * math.pi, 40, endpoint=False))),
    Factor("x position", tuple(float(v) for v in np.linspace(0.0, 1.0, 32))),
    Factor("y position", tuple(float(v) for v in np.linspace(0.0, 1.0, 32))),
)
FACTOR_NAMES = [f.name for f in FACTORS]
CATEGORICAL_FACTORS = frozenset(f.name for f in FACTORS if f.categorical)


def sample_factors(n: int, seed: int = SEED) -> np.ndarray:
    """(n, 5) int64 factor indices, each factor drawn uniformly and independently of the others."""
    if n < 1:
        raise ValueError(f"n={n}: a sprites set needs at least 1 image")
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, len(f.values), n) for f in FACTORS], axis=1).astype(np.int64)


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether points (u, v) of the shape's own frame (radius 1, centre 0, v up) lie inside it; same shape as u."""
    if shape == 0:  # square
        return (np.abs(u) <= math.sqrt(0.5)) & (np.abs(v) <= math.sqrt(0.5))
    if shape == 1:  # ellipse
        return u * u + (v / ELLIPSE_MINOR) ** 2 <= 1.0
    hx, hy = u * HEART_RADIUS, v * HEART_RADIUS + HEART_CENTROID
    r = hx * hx + hy * hy - 1.0
    return r * r * r <= hx * hx * hy * hy * hy


def centres(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each shape's centre in pixels, (column, row), from its x and y position indices. (N,) each."""
    x = np.asarray(FACTORS[3].values)[factors[:, 3]]
    y = np.asarray(FACTORS[4].values)[factors[:, 4]]
    span = SIDE - 2 * MARGIN
    return MARGIN + span * x, MARGIN + span * y


def render(factors: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """(N, SIDE, SIDE) uint8 images of the shapes the (N, 5) factor indices describe."""
    factors = np.asarray(factors, dtype=np.int64)
    if factors.ndim != 2 or factors.shape[1] != len(FACTORS):
        raise ValueError(f"factors must have shape (N, {len(FACTORS)}), got {factors.shape}")
    for j, f in enumerate(FACTORS):
        if factors[:, j].min(initial=0) < 0 or factors[:, j].max(initial=0) >= len(f.values):
            raise ValueError(f"factor {f.name!r} indices must lie in 0..{len(f.values) - 1}")
    out = np.zeros((len(factors), SIDE, SIDE), np.uint8)
    for start in range(0, len(factors), chunk):
        part = factors[start:start + chunk]
        _render_chunk(part, out[start:start + len(part)])
    return out


def _render_chunk(factors: np.ndarray, out: np.ndarray) -> None:
    """Draw each shape into a WINDOW x WINDOW patch around its centre (supersampled), then paste it into out."""
    cx, cy = centres(factors)
    left = np.clip(np.floor(cx).astype(int) - WINDOW // 2 + 1, 0, SIDE - WINDOW)
    top = np.clip(np.floor(cy).astype(int) - WINDOW // 2 + 1, 0, SIDE - WINDOW)
    k = SUPERSAMPLE
    offsets = (np.arange(WINDOW * k) + 0.5) / k  # the sub-pixel points of the window, in pixels from its corner
    col = left[:, None, None] + offsets[None, None, :]  # (B, 1, P)
    row = top[:, None, None] + offsets[None, :, None]  # (B, P, 1)
    dx, dy = col - cx[:, None, None], cy[:, None, None] - row  # (B, P, P) after broadcasting; dy points up
    theta = np.asarray(FACTORS[2].values)[factors[:, 2]][:, None, None]
    size = RADIUS * np.asarray(FACTORS[1].values)[factors[:, 1]][:, None, None]
    # float32 from here: half the time of float64, and far finer than a sub-pixel point
    dx, dy, size = dx.astype(np.float32), dy.astype(np.float32), size.astype(np.float32)
    cos, sin = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    u = (cos * dx + sin * dy) / size  # the point in the shape's own frame: rotated back by theta, unit radius
    v = (cos * dy - sin * dx) / size
    inside = np.empty(u.shape, bool)  # (B, P, P)
    for shape in range(len(CLASS_NAMES)):
        mine = factors[:, 0] == shape
        inside[mine] = _inside(shape, u[mine], v[mine])
    coverage = inside.reshape(len(factors), WINDOW, k, WINDOW, k).mean(axis=(2, 4))  # share of points inside
    patch = np.round(coverage * 255).astype(np.uint8)
    rows = top[:, None, None] + np.arange(WINDOW)[None, :, None]
    cols = left[:, None, None] + np.arange(WINDOW)[None, None, :]
    out[np.arange(len(factors))[:, None, None], rows, cols] = patch


@dataclass(frozen=True)
class Sprites:
    """Images with the factors that made them."""

    images: np.ndarray  # (N, SIDE, SIDE) uint8
    factors: np.ndarray  # (N, 5) int64 indices into FACTORS' values

    @property
    def labels(self) -> np.ndarray:
        """(N,) the shape index: 0 square, 1 ellipse, 2 heart."""
        return self.factors[:, 0]


def generate(n: int = N_IMAGES, seed: int = SEED) -> Sprites:
    """n images with factors drawn with ``seed``: the same n and seed always give the same images."""
    factors = sample_factors(n, seed)
    return Sprites(render(factors), factors)


def factor_values(name: str) -> tuple:
    """The values of the factor called ``name`` (KeyError naming the factors otherwise)."""
    for f in FACTORS:
        if f.name == name:
            return f.values
    raise KeyError(f"no sprites factor {name!r}; the factors are {', '.join(FACTOR_NAMES)}")
