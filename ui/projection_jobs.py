"""t-SNE and UMAP maps computed in the background, so the page never blocks while they compute.

One thread per (model, stamp, method, dims), shared by every session of the server (a registry kept with
``st.cache_resource``). The thread fits the map on the loaded model (ui.loaded_model, which keeps it and
stores it on disk through vae_core.projection.cache) and writes its progress under a lock; the page draws a
progress bar in a fragment that reruns every half second and reruns the whole page when the map is ready.
Meanwhile the rest of the page (the map picker, the sidebar, the other pages) stays usable.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import streamlit as st

from vae_core.projection import Projection, projection_method

from .loaded_model import LoadedModel

GRACE_SECONDS = 1.0  # a map that is ready this fast is drawn at once, without a progress bar
POLL_SECONDS = 0.5


@dataclass
class ProjectionJob:
    what: str  # "the t-SNE map of 2,000 points", for the progress text
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    text: str = "starting"
    result: Projection | None = None
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, fraction: float, text: str) -> None:
        with self.lock:
            self.fraction, self.text = float(min(max(fraction, 0.0), 1.0)), text

    def progress(self) -> tuple[float, str, float]:
        """(fraction, text, seconds since it started)"""
        with self.lock:
            return self.fraction, self.text, time.monotonic() - self.started


class ProjectionJobs:
    """The running and finished-but-not-collected jobs of this server, by projection key."""

    def __init__(self):
        self._jobs: dict[tuple, ProjectionJob] = {}
        self._lock = threading.Lock()

    def start(self, key: tuple, what: str, compute: Callable[[Callable[[float, str], None]], Projection]) -> ProjectionJob:
        """The job for key: the running one if there is one, else a new thread running compute(report)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                return job
            job = self._jobs[key] = ProjectionJob(what)

        def run() -> None:
            try:
                job.result = compute(job.report)
            except Exception as e:  # handed to the page, which shows it
                job.error = e
            finally:
                job.done.set()

        threading.Thread(target=run, name=f"projection {what}", daemon=True).start()
        return job

    def get(self, key: tuple) -> ProjectionJob | None:
        with self._lock:
            return self._jobs.get(key)

    def collect(self, key: tuple) -> ProjectionJob | None:
        """Remove and return the job if it has finished."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None or not job.done.is_set():
                return None
            return self._jobs.pop(key)

    def running(self) -> int:
        with self._lock:
            return sum(not j.done.is_set() for j in self._jobs.values())


@st.cache_resource
def projection_jobs() -> ProjectionJobs:
    """The server's one registry (st.cache_resource keeps it across Streamlit's module reloads)."""
    return ProjectionJobs()


def projection(loaded: LoadedModel, method: str, dims: tuple[int, int] = (0, 1), *, points: str = "stored",
               background: bool = True) -> Projection | None:
    """A model's map by ``method`` (on latent ``dims`` for the native plane): the one way pages ask for one.

    A map fitted before is on the model (ui.loaded_model), a t-SNE or UMAP map also on disk
    (vae_core.projection.cache). The native plane and PCA (milliseconds) are computed right here. Any other
    map is computed with a progress bar: in the background (returns None meanwhile, or the map if it is
    ready within GRACE_SECONDS; the bar follows the computation and reruns the page when it ends), or, with
    ``background=False``, here while the page waits. A failed computation raises its error here, once, for
    the page to show; asking again starts a new one. ``points``: the stored test images' map ("stored", which
    a bundled model ships), or every image of the dataset's ("all", ui.map_points)."""
    dims = tuple(int(d) for d in dims)
    found = loaded.fitted_projection(method, dims, points)
    if found is not None:
        return found
    kind = projection_method(method)
    if not kind.cached_on_disk or not background:  # the fast ones (milliseconds), or asked to wait
        n = len(loaded.map_points_mu(points)[0])
        bar = st.progress(0.0, text=f"Computing the {kind.label} map of {n:,} points...")
        try:
            return loaded.fit_projection(method, dims, points=points,
                                         progress=lambda f, t: bar.progress(float(min(max(f, 0), 1)), text=t))
        finally:
            bar.empty()
    key = (loaded.path, loaded.stamp, method, dims, points)
    jobs = projection_jobs()
    if jobs.get(key) is None:
        found = loaded.stored_projection(method, dims) if points == "stored" else None
        if found is not None:
            return found
        what = f"the {kind.label} map of {len(loaded.map_points_mu(points)[0]):,} points"
        job = jobs.start(key, what, lambda report: loaded.fit_projection(method, dims, progress=report, points=points))
        job.done.wait(GRACE_SECONDS)  # only when just started: later reruns of the page are not held up
    finished = jobs.collect(key)
    if finished is not None:
        if finished.error is not None:
            raise finished.error
        return finished.result
    _follow(key)
    return None


@st.fragment(run_every=POLL_SECONDS)
def _follow(key: tuple) -> None:
    job = projection_jobs().get(key)
    if job is None or job.done.is_set():
        st.rerun()  # the whole page: it collects the result and draws the map
    fraction, text, seconds = job.progress()
    st.progress(fraction, text=f"Computing {job.what} in the background: {text} ({seconds:.0f} s)")
    st.caption("The page stays usable meanwhile: pick another map, or come back later. The map is kept on "
               "disk, so it appears at once the next time, even after a restart.")
