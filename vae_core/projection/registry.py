"""The projection methods, as data: a name (the value of ``?projection=`` in a link) and its class, in the
order the app offers them. The pages ask a method's capabilities (vae_core.projection.base) instead of
branching on its name; a new method is a module in this package and its line here."""
from __future__ import annotations

from .base import Projection, ProjectionError
from .native import NativeLatent
from .pca import PCAProjection
from .tsne import TSNEProjection
from .umap import UMAPProjection

METHODS: dict[str, type[Projection]] = {m.name: m for m in (NativeLatent, PCAProjection, TSNEProjection,
                                                            UMAPProjection)}
METHOD_NAMES = tuple(METHODS)
DEFAULT_METHOD = NativeLatent.name  # the map a page opens on: the latent plane itself


def projection_method(name: str) -> type[Projection]:
    """The registered method called ``name``; ProjectionError naming the methods there are."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ProjectionError(f"method={name!r} is not one of {', '.join(METHOD_NAMES)}") from None


def make_projection(name: str, dims: tuple[int, int] = (0, 1), **options) -> Projection:
    """An unfitted map of method ``name``; ``dims``: the two latent dimensions of a native map (the others use
    every dimension); ``options``: the method's ``__init__`` arguments."""
    method = projection_method(name)
    if method.is_native:
        options["dims"] = tuple(int(d) for d in dims)
    return method(**options)
