"""What every projection method answers: the Projection base class, ProjectionError, and Availability.

A method is an estimator in scikit-learn's shape: ``__init__`` only stores parameters; ``fit(mu)`` validates the
encoded means, learns attributes ending in ``_`` (``mu_`` (N, D), ``embedding_`` (N, 2), ``backend_``) and
returns self; ``transform`` / ``inverse_transform`` / ``nearest`` before that raise ProjectionError. Fitted
state is set by ``fit`` or by the ``from_stored(mu, embedding, ...)`` constructor only, which rebuilds a map kept
on disk (vae_core.projection.cache) or shipped with a bundled model (vae_core.projection.shipped) from its two
arrays: it draws and goes back to latent space at once; the fitted objects that UMAP's transform /
inverse_transform and openTSNE's transform need are rebuilt from ``mu_`` the first time one is called
(seconds), with the embedding on screen kept.

The app asks a method's capabilities instead of branching on its name:

- ``name``: its key in the registry (vae_core.projection.registry) and its value in a link, ``?projection=pca``.
- ``label``: how the app names it ("PCA").
- ``is_native``: the map is two latent coordinates themselves (``dims``): the page can offer the axes, draw the
  prior's contours and q(z|x)'s ellipses, and keep the plane square. ``needs_axes(latent_dim)``: there are
  more than two latent dimensions to choose the axes from.
- ``has_inverse``: ``inverse_transform`` is a map of its own back to latent space (exact for the native plane
  and PCA, UMAP's interpolation); False: it gives the nearest encoded point's mu (t-SNE has no inverse).
- ``places_new_points``: ``transform`` places a new encoded point by the method itself (the native plane and
  PCA exactly, UMAP and openTSNE by their transform); False: at the average position of its nearest encoded
  neighbours (scikit-learn's t-SNE cannot place new points). An instance's answer: it can depend on the
  fitted backend.
- ``nonlinear``: the map bends latent space: neighbours stay together, distances and densities do not.
- ``cached_on_disk``: fitting takes seconds to minutes, so the app fits it in the background and keeps it on
  disk (the disk cache, a bundled model's maps); the fast ones are fitted again each time (milliseconds).
- ``shipped``: a bundled model's ``maps.npz`` holds its map (vae_core.projection.shipped).
- ``available()``: Availability(ok, reason, install): whether it can be fitted here, and if not why and the
  command that installs what it needs.
- ``inverse_note`` / ``nearest_note(i)`` / ``placement_note``: one sentence each on how a map location was
  taken back to latent space and how a new point was placed, for the pages to show.
"""
from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

Progress = Callable[[float, str], None]  # (fraction done in [0, 1], what is being done)
REBUILD_LOCK = threading.Lock()  # one rebuild of a fitted UMAP / openTSNE object at a time


class ProjectionError(ValueError):
    """A projection cannot be computed; the message says why and what to do."""


@dataclass(frozen=True)
class Availability:
    """Whether a method can be fitted here; if not, why (a sentence) and the command that fixes it."""

    ok: bool
    reason: str = ""
    install: str = ""  # a shell command, e.g. "pip install umap-learn"


AVAILABLE = Availability(True)


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def as_encodings(mu: np.ndarray) -> np.ndarray:
    """mu as (N, D) float32 with N >= 2, all finite; ProjectionError otherwise."""
    mu = np.asarray(mu, dtype=np.float32)
    if mu.ndim != 2 or len(mu) < 2:
        raise ProjectionError(f"need at least 2 encoded points of shape (N, D); got {mu.shape}")
    if not np.isfinite(mu).all():
        raise ProjectionError("the encoded means contain NaN or infinite values")
    return mu


class Projection:
    """A 2-D map of encoded means; a subclass per method (see the module docstring for the capabilities)."""

    name = ""
    label = ""
    is_native = False
    has_inverse = True
    places_new_points = True
    nonlinear = False
    cached_on_disk = False
    shipped = False
    placement_note = ""  # how transform places a new point, one sentence

    def __init__(self, *, random_state: int = 0):
        self.random_state = random_state

    # ------------------------------------------------------------------ what the app asks of a method

    @classmethod
    def available(cls) -> Availability:
        return AVAILABLE

    @classmethod
    def needs_axes(cls, latent_dim: int) -> bool:
        """The map shows two latent dimensions, and there are more than two to choose them from."""
        return cls.is_native and latent_dim > 2

    @classmethod
    def axis_titles(cls, dims: tuple[int, int], latent_dim: int) -> tuple[str, str]:
        return f"{cls.label} 1", f"{cls.label} 2"

    def inverse_note(self, xy: tuple[float, float], latent_dim: int, *, has_prior: bool) -> str:
        """How inverse_transform found the latent point of the map location xy (a method with has_inverse)."""
        return ""

    def nearest_note(self, nearest: int) -> str:
        """How a clicked spot was decoded when it was taken to the nearest encoded image #nearest."""
        return f"{self.label} has no inverse map: this is the mu of the nearest encoded image (#{nearest}), decoded."

    def map_params(self) -> dict:
        """What makes two maps of the same encodings the same (stored beside a map on disk, compared on load)."""
        return {"method": self.name, "random_state": self.random_state}

    @classmethod
    def shipped_options(cls) -> dict:
        """The ``__init__`` arguments a bundled model's shipped map is made with (once, offline)."""
        return {}

    @classmethod
    def init_options(cls, params: dict) -> dict:
        """The ``__init__`` arguments of a map stored with these ``map_params``."""
        return {"random_state": int(params.get("random_state", 0))}

    # ------------------------------------------------------------------ fitting, and restoring a fitted map

    def fit(self, mu: np.ndarray, progress: Progress | None = None) -> "Projection":
        """Fit the map of ``mu`` (N, D); ``progress(fraction, text)`` hears how far it got."""
        mu = as_encodings(mu)
        report = progress or (lambda frac, text: None)
        self._forget()
        report(0.0, f"computing {self.label} of {len(mu):,} points")
        embedding, backend = self._fit(mu, report)
        self.mu_, self.embedding_, self.backend_ = mu, np.ascontiguousarray(embedding, np.float32), backend
        report(1.0, "done")
        return self

    @classmethod
    def from_stored(cls, mu: np.ndarray, embedding: np.ndarray, *, backend: str | None = None,
                    **options) -> "Projection":
        """A fitted map rebuilt from the encodings it was fitted on (N, D), its embedding (N, 2) and the backend
        that made it (``backend_``; None: this method's own). ``options``: the ``__init__`` arguments."""
        proj = cls(**options)
        mu = as_encodings(mu)
        embedding = np.ascontiguousarray(embedding, dtype=np.float32)
        if embedding.shape != (len(mu), 2) or not np.isfinite(embedding).all():
            raise ProjectionError(f"a stored {cls.label} map must be {len(mu)} finite rows of 2 (one per encoded "
                                  f"point); got {embedding.shape}: fit it again")
        backend = proj._default_backend() if backend is None else str(backend)
        if backend not in proj._backends():
            raise ProjectionError(f"a stored {cls.label} map made by backend={backend!r} (not one of "
                                  f"{', '.join(proj._backends())}) cannot be restored: fit it again")
        proj.mu_, proj.embedding_, proj.backend_ = mu, embedding, backend
        proj._restore()
        return proj

    def _fit(self, mu: np.ndarray, report: Progress) -> tuple[np.ndarray, str]:
        """The embedding (N, 2) of mu and the backend that made it; the method's own fitted objects set."""
        raise NotImplementedError

    def _restore(self) -> None:
        """After from_stored set mu_, embedding_ and backend_: what the method needs at once (PCA refits)."""

    def _default_backend(self) -> str:
        return self.name

    def _backends(self) -> tuple[str, ...]:
        return (self.name,)

    def _forget(self) -> None:
        """A new fit starts from nothing: every fitted attribute (ending in ``_``) of an earlier one goes."""
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)

    # ------------------------------------------------------------------ using a fitted map

    def _check_fitted(self) -> None:
        if not hasattr(self, "embedding_"):
            raise ProjectionError(f"this {type(self).__name__} is not fitted yet: call fit(mu) first "
                                  "(or restore a stored map with from_stored)")

    def _points(self, points: np.ndarray, width: int, what: str) -> np.ndarray:
        self._check_fitted()
        pts = np.atleast_2d(np.asarray(points, dtype=np.float32))
        if pts.ndim != 2 or pts.shape[1] != width:
            raise ProjectionError(f"{what} must have {width} columns; got shape {pts.shape}")
        return pts

    def new_encodings(self, mu_new: np.ndarray) -> np.ndarray:
        """New encoded points (M, D) checked against the fitted ones."""
        self._check_fitted()
        mu_new = np.atleast_2d(np.asarray(mu_new, dtype=np.float32))
        if mu_new.ndim != 2 or mu_new.shape[1] != self.mu_.shape[1]:
            raise ProjectionError(f"points have {mu_new.shape[-1]} dimensions; the map was fitted on "
                                  f"{self.mu_.shape[1]}")
        return mu_new

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """Index of the encoded point nearest to each map point (M, 2) -> (M,)."""
        pts = self._points(points, 2, "map points")
        d2 = ((pts[:, None, :] - self.embedding_[None, :, :]) ** 2).sum(-1)
        return d2.argmin(1)

    def neighbour_average(self, mu_new: np.ndarray, k: int = 5) -> np.ndarray:
        """(M, 2): the average map position of the k encoded points nearest to each new one (in latent space)."""
        mu_new = self.new_encodings(mu_new)
        d2 = ((mu_new[:, None, :] - self.mu_[None, :, :]) ** 2).sum(-1)
        idx = np.argsort(d2, axis=1)[:, :k]
        return self.embedding_[idx].mean(1)

    def transform(self, mu_new: np.ndarray) -> np.ndarray:
        """Place new encoded points (M, D) on the map: (M, 2)."""
        raise NotImplementedError

    def inverse_transform(self, points: np.ndarray) -> np.ndarray:
        """Latent points (M, D) for map points (M, 2)."""
        raise NotImplementedError
