"""The projection wing: 2-D maps of the encoded means mu(x).

Holds: base (the Projection base class every method extends, in scikit-learn's estimator shape, with the
capabilities the app asks; ProjectionError, Availability), one module per method: native (the latent plane
itself), pca, tsne (openTSNE or scikit-learn's), umap; registry (name -> method, in the app's order), cache
(fitted maps kept on disk per model), shipped (a bundled model's own maps), fitted (a model's map by the
cheapest way: shipped, cached or fitted).

May import: vae_core.store (file names, the app's cache folder).
"""
from .base import Availability, Projection, ProjectionError
from .registry import DEFAULT_METHOD, METHOD_NAMES, METHODS, make_projection, projection_method

__all__ = ["Availability", "DEFAULT_METHOD", "METHODS", "METHOD_NAMES", "Projection", "ProjectionError",
           "make_projection", "projection_method"]
