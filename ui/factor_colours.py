"""Colouring a map by a factor of the images, not only by their class: for stored test images that carry the factors
that made them (the sprites: shape, scale, orientation, x, y). The map component takes labels and their names, so a
factor becomes labels: a factor of few values one label each, a factor of many values cut into CUTS ranges of its
values, lowest first."""
from __future__ import annotations

import numpy as np

CUTS = 8  # ranges a factor of many values is cut into (the map's palette tells 10 labels apart)
FEW = 10  # a factor of at most this many values keeps one label per value
CLASS = "class"  # the option that colours by the images' class, as the map always has


def factor_values(name: str, n_values: int) -> list:
    """The values of a factor's indices 0..n_values - 1, as the dataset defines them (the indices themselves for a
    factor it does not name)."""
    try:
        from vae_core.data.sprites import FACTORS
    except ImportError:
        return list(range(n_values))
    found = next((f for f in FACTORS if f.name == name), None)
    return list(found.values) if found is not None and len(found.values) >= n_values else list(range(n_values))


def _shown(v) -> str:
    return v if isinstance(v, str) else f"{v:.2g}"


def factor_labels(indices: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """(N,) labels and their names for one factor's indices (N,)."""
    indices = np.asarray(indices, np.int64)
    values = factor_values(name, int(indices.max()) + 1 if len(indices) else 1)
    if len(values) <= FEW:
        return indices, [f"{name} {_shown(v)}" for v in values]
    edges = np.linspace(0, len(values), CUTS + 1).round().astype(int)  # index ranges [edges[c], edges[c + 1])
    labels = np.searchsorted(edges, indices, side="right") - 1
    names = [f"{name} {_shown(values[edges[c]])} to {_shown(values[edges[c + 1] - 1])}" for c in range(CUTS)]
    return np.clip(labels, 0, CUTS - 1), names


def colour_options(sample) -> list[str]:
    """What a map of these stored images can be coloured by: the class, and each factor they carry."""
    if sample is None or getattr(sample, "factors", None) is None:
        return [CLASS]
    return [CLASS, *[str(n) for n in sample.factor_names]]


def colouring(sample, option: str, labels: np.ndarray, class_names: list[str]) -> tuple[np.ndarray, list[str]]:
    """The labels and names a map colours by for ``option`` (CLASS: the images' own)."""
    if option == CLASS or option not in colour_options(sample):
        return labels, class_names
    k = list(sample.factor_names).index(option)
    return factor_labels(sample.factors[:, k], option)
