"""A model's map by the cheapest way there is: shipped with a bundled model, else from the disk cache, else
fitted (and then kept in the cache)."""
from __future__ import annotations

import logging
import os
from typing import Callable

import numpy as np

from . import cache
from .base import Projection
from .registry import make_projection, projection_method
from .shipped import load as load_shipped

log = logging.getLogger(__name__)


def load_or_fit(checkpoint_dir: str | os.PathLike | None, mu: np.ndarray, method: str,
                dims: tuple[int, int] = (0, 1), progress: Callable[[float, str], None] | None = None,
                **options) -> Projection:
    """The fitted map of a model's encodings: from the disk cache when stored there, else fitted and stored.

    checkpoint_dir None: fit without the cache. dims: a native map's two latent dimensions. options: the
    method's keyword arguments (vae_core.projection.registry.make_projection)."""
    report = progress or (lambda frac, text: None)
    dims = tuple(int(d) for d in dims)
    kept = checkpoint_dir is not None and projection_method(method).cached_on_disk
    if kept and not options:
        shipped = load_shipped(checkpoint_dir, mu, method)  # a bundled model's own map (vae_core.projection.shipped)
        if shipped is not None:
            report(1.0, "shipped with the model")
            return shipped
    if kept:
        fingerprint = cache.model_fingerprint(checkpoint_dir)
        params = cache.map_params(method, dims, **options)
        found = cache.load(fingerprint, mu, params, options)
        if found is not None:
            report(1.0, "loaded from the disk cache")
            return found
    cache.fits[method] += 1
    proj = make_projection(method, dims, **options).fit(mu, progress=report)
    if kept:
        try:
            cache.save(fingerprint, params, proj)
        except OSError as e:  # a read-only or full disk: the map is still drawn, only not kept
            log.warning("could not store the %s map in %s: %s", method, cache.projections_dir(), e)
    return proj
