"""t-SNE: a non-linear map that keeps neighbours together, by openTSNE when installed, else scikit-learn's.

t-SNE has no inverse: a map location goes back to the mu of the nearest encoded point. openTSNE can place new
points (its transform optimises them against the fitted map); with scikit-learn's, a new point goes to the
average position of its nearest encoded neighbours.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from .base import REBUILD_LOCK, Projection, ProjectionError, has_module

OPENTSNE_HINT = "for a faster t-SNE that can also place new points: pip install openTSNE"
BACKENDS = ("opentsne", "sklearn")

# openTSNE's optimisation: (early-exaggeration iterations, then the rest), and how the repulsive forces are
# computed. "fast" (the app's, for a new model): a third of openTSNE's default iterations, FFT interpolation
# and exact neighbours, as good a map at 10,000 points (bench/projections.py) in about a seventh of the time;
# "full": openTSNE's defaults, for the maps that ship with the bundled models (made once, offline).
TSNE_SCHEDULES = {"fast": {"early_exaggeration_iter": 75, "n_iter": 175, "negative_gradient_method": "fft"},
                  "full": {"early_exaggeration_iter": 250, "n_iter": 500}}
EXACT_NEIGHBOURS_UP_TO = 20_000  # points: below this, exact nearest neighbours are faster than Annoy here


def opentsne_module():
    """openTSNE, imported so that its OpenMP threads sleep when idle instead of spinning.

    openTSNE brings its own OpenMP runtime, which reads OMP_WAIT_POLICY once, when it loads. On an idle
    2-core machine the policy makes no difference; on a busy one, spinning threads took up to 3x the CPU
    time of a 2-thread fit and up to 4x its wall time (docs/benchmarks.md). A value the user set is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import openTSNE

    return openTSNE


def tsne_backend(requested: str = "auto") -> str:
    """The t-SNE implementation: openTSNE when installed (faster here, see docs/benchmarks.md, and it can
    place new points), else scikit-learn's."""
    if requested == "auto":
        return "opentsne" if has_module("openTSNE") else "sklearn"
    if requested not in BACKENDS:
        raise ProjectionError(f"tsne_backend={requested!r} is not one of auto, opentsne, sklearn")
    if requested == "opentsne" and not has_module("openTSNE"):
        raise ProjectionError(OPENTSNE_HINT)
    return requested


class TSNEProjection(Projection):
    name = "tsne"
    label = "t-SNE"
    has_inverse = False
    nonlinear = True
    cached_on_disk = True
    shipped = True

    def __init__(self, *, random_state: int = 0, perplexity: float = 30.0, tsne_backend: str = "auto",
                 n_jobs: int = -1, tsne_schedule: str = "fast"):
        super().__init__(random_state=random_state)
        self.perplexity = perplexity
        self.tsne_backend = tsne_backend  # "auto" (openTSNE when installed), "opentsne" or "sklearn"
        self.n_jobs = n_jobs  # openTSNE's threads (-1: every core)
        self.tsne_schedule = tsne_schedule  # a key of TSNE_SCHEDULES

    # ------------------------------------------------------------------ capabilities of this map

    @property
    def places_new_points(self) -> bool:
        """openTSNE's map places new points when openTSNE is here to do it; scikit-learn's cannot."""
        backend = self.backend_ if hasattr(self, "backend_") else f"tsne-{tsne_backend(self.tsne_backend)}"
        return backend == "tsne-opentsne" and (hasattr(self, "tsne_") or has_module("openTSNE"))

    @property
    def placement_note(self) -> str:
        if self.places_new_points:
            return ("t-SNE (openTSNE): its transform optimises the new point's position against the fitted map, "
                    "the other points held fixed.")
        if getattr(self, "backend_", "") == "tsne-opentsne":
            return ("t-SNE (openTSNE) cannot place new points without openTSNE installed: the point is the average "
                    "map position of the 5 encoded images nearest to mu (pip install openTSNE).")
        return ("t-SNE (scikit-learn) cannot place new points: the point is the average map position of the "
                "5 encoded images nearest to mu (install openTSNE for a real t-SNE transform).")

    def map_params(self) -> dict:
        params = {**super().map_params(), "perplexity": float(self.perplexity),
                  "backend": tsne_backend(self.tsne_backend)}
        if params["backend"] == "opentsne":
            params["schedule"] = self.tsne_schedule
        return params

    @classmethod
    def init_options(cls, params: dict) -> dict:
        return {**super().init_options(params), "perplexity": float(params.get("perplexity", 30.0)),
                "tsne_schedule": str(params.get("schedule", "fast"))}

    @classmethod
    def shipped_options(cls) -> dict:
        """openTSNE's full schedule (the app's own, "fast", is shorter): made once, offline."""
        return {"tsne_backend": "opentsne", "tsne_schedule": "full"}

    def _default_backend(self) -> str:
        return f"tsne-{tsne_backend(self.tsne_backend)}"

    def _backends(self) -> tuple[str, ...]:
        return tuple(f"tsne-{b}" for b in BACKENDS)

    # ------------------------------------------------------------------ fitting

    def _perplexity(self, n: int) -> float:
        return float(min(self.perplexity, max(2.0, (n - 1) / 3)))

    def _schedule(self) -> dict:
        if self.tsne_schedule not in TSNE_SCHEDULES:
            raise ProjectionError(f"tsne_schedule={self.tsne_schedule!r} is not one of {', '.join(TSNE_SCHEDULES)}")
        return TSNE_SCHEDULES[self.tsne_schedule]

    def _opentsne(self, n: int, callbacks=None):
        neighbours = "exact" if self.tsne_schedule == "fast" and n <= EXACT_NEIGHBOURS_UP_TO else "auto"
        return opentsne_module().TSNE(perplexity=self._perplexity(n), random_state=self.random_state,
                                      n_jobs=self.n_jobs, callbacks=callbacks, callbacks_every_iters=25, verbose=False,
                                      neighbors=neighbours, **self._schedule())

    def _fit(self, mu, report):
        backend = tsne_backend(self.tsne_backend)
        if backend == "opentsne":
            self.tsne_ = self._opentsne(len(mu), callbacks=self._iterations(report)).fit(mu)
            embedding = np.asarray(self.tsne_, dtype=np.float32)
        else:
            from sklearn.manifold import TSNE

            embedding = TSNE(n_components=2, perplexity=self._perplexity(len(mu)), init="pca",
                             random_state=self.random_state).fit_transform(mu).astype(np.float32)
        return embedding, f"tsne-{backend}"

    def _iterations(self, report):
        """openTSNE's callback, reporting the iterations of both phases as one count."""
        schedule = self._schedule()
        total = schedule.get("early_exaggeration_iter", 250) + schedule.get("n_iter", 500)
        count = {"offset": 0, "last": 0}

        def callback(iteration, error, embedding):
            if iteration < count["last"]:  # the second phase counts from 1 again
                count["offset"] += count["last"]
            count["last"] = iteration
            done = count["offset"] + iteration
            report(min(done / total, 0.99), f"t-SNE iteration {done}/{total}")
            return False

        return callback

    def _opentsne_model(self):
        """openTSNE's fitted embedding, for transform; None for scikit-learn's t-SNE. A map restored from its
        arrays rebuilds it from mu_ (the same affinities) at the positions on screen."""
        if self.backend_ != "tsne-opentsne":
            return None
        with REBUILD_LOCK:
            if not hasattr(self, "tsne_"):
                if not has_module("openTSNE"):
                    return None
                log = logging.getLogger("openTSNE.tsne")
                level = log.level
                log.setLevel(logging.ERROR)  # it warns that a spread-out initial layout may converge poorly
                try:
                    self.tsne_ = self._opentsne(len(self.mu_)).prepare_initial(
                        self.mu_, initialization=self.embedding_.astype(np.float64))
                finally:
                    log.setLevel(level)
        return self.tsne_

    # ------------------------------------------------------------------ using the map

    def transform(self, mu_new: np.ndarray) -> np.ndarray:
        """(M, 2): openTSNE's transform; with scikit-learn's t-SNE, the average position of the 5 nearest
        encoded points (places_new_points says which)."""
        mu_new = self.new_encodings(mu_new)
        model = self._opentsne_model()
        if model is not None:
            return np.asarray(model.transform(mu_new), dtype=np.float32)
        return self.neighbour_average(mu_new)

    def inverse_transform(self, points: np.ndarray) -> np.ndarray:
        """(M, D): t-SNE has no inverse, so the mu of the encoded point nearest to each map point."""
        nearest = self.nearest(points)
        return self.mu_[nearest]
