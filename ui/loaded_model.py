"""One object per loaded model, shared by every page and session of the server: the checkpoint and every
value the app derives from it, each computed once.

``loaded_model(path)`` keeps a LoadedModel per checkpoint folder and stamp (st.cache_resource). The stamp
changes whenever the folder is rewritten (a training saving an epoch, a re-upload under the same name), so a
rewritten checkpoint gets a new object and every value below is computed again from the new files.

Values are computed on first use, under a lock (sessions share the object), and kept; arrays come back
read-only. The torch model is built on first use too (``checkpoint.model``): the first screen needs none of it.
"""
from __future__ import annotations

import functools
import hashlib
import math
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from vae_core.model import numpy_model
from vae_core.model.architecture import describe
from vae_core.model.activity import default_axes
from vae_core.store.checkpoints import Checkpoint, load_checkpoint
from vae_core.model.decoder_program import UnsupportedDecoder, program_from_arrays, run_program
from vae_core.render.map_image import MapCanvas
from vae_core.render.map_layout import square_extent
from vae_core.projection import Projection
from vae_core.projection.cache import load, map_params, model_fingerprint
from vae_core.projection.fitted import load_or_fit
from vae_core.render.images import thumbnail_sprite, to_png, to_uint8
from vae_core.projection.shipped import load as load_shipped
from vae_core.analysis.sliders import SliderSpace

from .component_data import Deflated, deflate
from .model_choices import stamp
from .scatter_map import MAX_POINTS, HoverImages


@dataclass(frozen=True)
class MapPoints:
    """Images and their encodings, as a latent map shows them."""

    images: np.ndarray  # (N, H, W[, C]) uint8
    labels: np.ndarray  # (N,) int64
    mu: np.ndarray  # (N, D) float32
    logvar: np.ndarray  # (N, D) float32


def _read_only(*arrays: np.ndarray):
    for a in arrays:
        a.setflags(write=False)
    return arrays if len(arrays) > 1 else arrays[0]


RECENT_VIEWS = 256  # values of views kept per loaded model (LoadedModel.recent): figures, tables, small images


class LoadedModel:
    """A checkpoint and what the app shows of it: encodings, the activity of each latent dimension, the
    default axes, the sliders' units, projections, the browser's decoder program and the hover thumbnails."""

    def __init__(self, path: str, stamp: str):
        self.path, self.stamp = str(path), stamp
        self.checkpoint: Checkpoint = load_checkpoint(path, "cpu", lazy=True)
        self._lock = threading.RLock()
        self._values: dict = {}
        self._views: OrderedDict = OrderedDict()  # recent(): key -> value, least recently used first
        self.decoded_png_uri = functools.lru_cache(maxsize=32)(self._decoded_png_uri)

    def _once(self, key, compute: Callable):
        with self._lock:
            if key not in self._values:
                self._values[key] = compute()
            return self._values[key]

    def recent(self, key: tuple, compute: Callable):
        """A value for one view of this model (an image, a seed, a choice of the page's widgets: ``key`` names the
        value and everything it depends on besides the model), computed on first use and kept among the
        RECENT_VIEWS most recently used. A page run that shows the same view again, as every page switch and
        every click elsewhere on the page does, reuses it instead of building it again. Sessions share the
        values: they are never changed after they are made (figures, tables, read-only arrays)."""
        with self._lock:
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
            value = compute()
            self._views[key] = value
            while len(self._views) > RECENT_VIEWS:
                self._views.popitem(last=False)
            return value

    @property
    def config(self):
        return self.checkpoint.config

    @property
    def variant(self):
        return self.checkpoint.config.variant

    @property
    def latent_size(self) -> int:
        """How many numbers one image's z holds (a VQ-VAE's latent_dim is one code's size, z a map of them)."""
        return describe(self.config).latent_size

    # ------------------------------------------------------------------ q(z|x) of the stored images

    def encodings(self) -> tuple[np.ndarray, np.ndarray]:
        """mu and log sigma^2 of every stored test image, (N, D) each, read-only."""
        return self._once("encodings", self._encode)

    def _encode(self) -> tuple[np.ndarray, np.ndarray]:
        ckpt = self.checkpoint
        if ckpt.sample is None:
            d = self.latent_size
            return _read_only(np.zeros((0, d), np.float32), np.zeros((0, d), np.float32))
        if "torch" in sys.modules:  # imported already (the warm-up does it soon after the first screen): torch is
            import torch            # faster on convolutions (0.14 s against 0.41 s for 2,000 images)

            from vae_core.analysis.evaluate import encode_dataset

            with torch.inference_mode():
                return _read_only(*encode_dataset(ckpt.model, ckpt.sample.as_tensor(),
                                                  torch.from_numpy(ckpt.sample.labels)))
        # the first screen: NumPy, the same numbers within 1e-4 (tests/test_numpy_model.py), no torch import
        return _read_only(*numpy_model.encode(ckpt.config, ckpt.arrays, ckpt.sample.as_array(), ckpt.sample.labels))

    def encodings_of(self, other: LoadedModel) -> np.ndarray:
        """mu (N, D) of another model's stored test images under this model's encoder (both without labels)."""
        def compute():
            from vae_core.analysis.evaluate import encode_dataset

            return _read_only(encode_dataset(self.checkpoint.model, other.checkpoint.sample.as_tensor())[0])
        return self._once(("encodings_of", other.path, other.stamp), compute)

    # ------------------------------------------------------------------ which dimensions to show

    def activity(self) -> tuple[np.ndarray, str]:
        """How much each latent dimension is used over the stored images, as the variant scores it (a VAE: the
        average KL to the prior; an autoencoder: the variance of mu), and the score's short name ("KL", "var")."""
        def compute():
            mu, logvar = self.encodings()
            scores = self.variant.activity(mu, logvar) if len(mu) else np.zeros(self.latent_size)
            return _read_only(np.asarray(scores, np.float64))
        return self._once("activity", compute), self.variant.activity_name

    def default_axes(self) -> tuple[int, int]:
        """The two latent dimensions every page shows first: the two most active, the lower index horizontal."""
        return default_axes(self.activity()[0])

    def slider_space(self) -> SliderSpace:
        """Which dimensions get a slider (the most active) and the sliders' units: the prior's mean and standard
        deviation, or, for a model without a prior, the codes' own."""
        def compute():
            mu, _ = self.encodings()
            scores = self.activity()[0] if len(mu) else None
            if self.variant.has_prior:
                prior = self.checkpoint.prior
                return SliderSpace(self.latent_size, scores, offset=prior.mean(), scale=prior.std())
            return SliderSpace(self.latent_size, scores, offset=mu.mean(0) if len(mu) else None,
                               scale=mu.std(0) if len(mu) > 1 else None)
        return self._once("slider_space", compute)

    def codes(self) -> np.ndarray:
        """(N, h, w) the grid of code indices of every stored test image, for a model with a discrete latent (its
        encodings' nearest codes, in NumPy), read-only."""
        def compute():
            mu, _ = self.encodings()
            return _read_only(np.asarray(self.variant.codes_of(self.config, self.checkpoint.arrays, mu), np.int64))
        return self._once("codes", compute)

    # ------------------------------------------------------------------ maps

    def map_points_mu(self, points: str) -> tuple[np.ndarray, str | None]:
        """The encodings a map is fitted on, and the checkpoint folder whose disk cache keeps it: the stored
        sample's, or every image of the dataset's (ui.map_points; not kept on disk)."""
        if points == "stored":
            return self.encodings()[0], self.path
        return self.every_image().mu, None

    def every_image(self, progress: Callable[[float, str], None] | None = None) -> MapPoints:
        """Every image of the dataset the model was trained on (train and test, the test images first, as on the
        stored map), read from this machine (never downloaded) and encoded once; ``progress(fraction, text)``
        follows the first computation. OSError or ValueError (DatasetError) when the files are not here."""
        return self._once("every_image", lambda: self._encode_every_image(progress or (lambda f, t: None)))

    def _encode_every_image(self, progress: Callable[[float, str], None]) -> MapPoints:
        import torch

        from vae_core.analysis.evaluate import encode_dataset
        from vae_core.data.datasets import load_dataset

        ckpt = self.checkpoint
        tc = ckpt.meta.get("train_config") or {}
        name = tc.get("dataset") or ckpt.meta.get("dataset")
        split = load_dataset(name, data_dir=tc.get("data_dir"), download=False,
                             test_fraction=tc.get("test_fraction", 0.2), seed=tc.get("seed", 0))
        images = torch.cat([split.test.images, split.train.images])
        labels = torch.cat([split.test.labels, split.train.labels])
        if len(images) > MAX_POINTS:
            raise ValueError(f"{len(images):,} images: the map draws at most {MAX_POINTS:,}")
        # as stored images are: 8-bit, so the test images land where they do on the stored map
        images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
        mus, logvars, step = [], [], 5000
        with torch.inference_mode():
            for start in range(0, len(images), step):
                progress(start / len(images), f"Encoding every image of {name}: {start:,} of {len(images):,}")
                mu, logvar = encode_dataset(ckpt.model, images[start:start + step].float() / 255.0,
                                            labels[start:start + step])
                mus.append(mu)
                logvars.append(logvar)
        pixels = images.numpy()
        pixels = pixels[:, 0] if pixels.shape[1] == 1 else np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))
        return MapPoints(*_read_only(pixels, labels.numpy().astype(np.int64), np.concatenate(mus),
                                     np.concatenate(logvars)))

    def fitted_projection(self, method: str, dims: tuple[int, int], points: str = "stored") -> Projection | None:
        """The map of this model's encodings by method on dims, if it has been fitted here."""
        with self._lock:
            return self._values.get(("projection", method, tuple(int(d) for d in dims), points))

    def stored_projection(self, method: str, dims: tuple[int, int]) -> Projection | None:
        """The stored images' map as it shipped with the model (vae_core.projection.shipped) or as stored on disk by an
        earlier fit of these weights and images, kept; None if there is none."""
        dims = tuple(int(d) for d in dims)
        mu = self.encodings()[0]
        found = load_shipped(self.path, mu, method)
        if found is None:
            fingerprint = self._once("fingerprint", lambda: model_fingerprint(self.path))
            found = load(fingerprint, mu, map_params(method, dims))
        if found is None:
            return None
        with self._lock:
            return self._values.setdefault(("projection", method, dims, "stored"), found)

    def fit_projection(self, method: str, dims: tuple[int, int],
                       progress: Callable[[float, str], None] | None = None, points: str = "stored") -> Projection:
        """The map fitted (or read from the model's shipped maps or the disk cache, vae_core.projection.cache)
        and kept. It blocks: pages go through ui.projection_jobs.projection, which computes the slow ones in
        the background. ``points``: "stored" (the stored test images) or "all" (ui.map_points)."""
        key = ("projection", method, tuple(int(d) for d in dims), points)
        found = self.fitted_projection(method, dims, points)
        if found is not None:
            return found
        mu, cache_dir = self.map_points_mu(points)
        proj = load_or_fit(cache_dir, mu, method, dims=key[2], progress=progress)
        with self._lock:
            return self._values.setdefault(key, proj)

    def position_canvas(self, dims: tuple[int, int], class_names: tuple[str, ...],
                        font_px: int | None = None) -> MapCanvas:
        """The encoded sample's means on the latent axes ``dims``, drawn once (per text size: ``font_px`` for a
        projector): pages add a ring and stars."""
        def compute():
            from .latent_words import dim_label  # by level for a model with several ("z1[3]")
            from .palette import class_colours

            mu, _ = self.encodings()
            labels = self.checkpoint.sample.labels
            show = np.arange(min(len(mu), 1000))
            n_colours = max(len(class_names), int(labels.max()) + 1 if len(labels) else 1)
            emb = mu[show][:, list(dims)]
            return MapCanvas(emb, labels[show], list(class_names), class_colours(n_colours), size=460, dot=4,
                             axis_titles=(dim_label(self.config, dims[0]), dim_label(self.config, dims[1])),
                             extent=square_extent(emb),
                             font_px=font_px)
        return self._once(("position_canvas", tuple(dims), tuple(class_names), font_px), compute)

    def hover_images(self, points: str, images: np.ndarray) -> HoverImages:
        """The latent map's hover images: ``images`` ((N, H, W[, C]) uint8, the map's points' images), which
        ``points`` names among this model's point sets ("stored", "all", the stored ones a history follows: a
        name always means the same images). Their sheet is deflated on first use and kept, keyed on the
        model and ``points``: the images are never hashed (70,000 of them would be hashed at every run)."""
        shape = tuple(int(s) for s in np.shape(images))

        def sheet() -> Deflated:
            made = self._once(("hover_sheet", points), lambda: deflate(np.asarray(images, np.uint8)))
            if made.shape != shape:
                raise ValueError(f"the hover images named {points!r} were {made.shape} and are now {shape}: give "
                                 "each point set a name of its own")
            return made

        key = hashlib.sha256(repr((self.path, self.stamp, points)).encode()).hexdigest()[:16]
        return HoverImages(key, shape, sheet)

    def thumbnails(self) -> dict:
        """The stored images on one PNG sheet, for the hover previews."""
        return self._once("thumbnails", lambda: thumbnail_sprite(self.checkpoint.sample.images))

    # ------------------------------------------------------------------ the browser, and numbers of the model

    def browser_program(self) -> tuple[dict, bytes] | None:
        """(spec, float32 weights) of the decoder for the browser, or None when it cannot run there."""
        def compute():
            try:
                return program_from_arrays(self.config, self.checkpoint.arrays)
            except UnsupportedDecoder:
                return None
        return self._once("browser_program", compute)

    def _decoded_png_uri(self, z: tuple[float, ...], label: int) -> str:
        """decoded_png_uri(z, label): the browser program's image of z as a PNG data URI (computed in NumPy, no
        torch: the first screen shows it before the browser's decoder draws)."""
        import base64

        spec, blob = self.browser_program()
        image = to_uint8(run_program(spec, blob, np.asarray(z, np.float32), label)[None])[0]
        return "data:image/png;base64," + base64.b64encode(to_png(image)).decode("ascii")

    def sample_loss(self) -> dict:
        """Mean reconstruction, KL and negative ELBO over the stored test images (one z per image, seed 0)."""
        def compute():
            import torch

            from vae_core.analysis.explain import sample_loss

            ckpt = self.checkpoint
            return sample_loss(ckpt.model, ckpt.sample.as_tensor(), torch.from_numpy(ckpt.sample.labels), seed=0)
        return self._once("sample_loss", compute)

    def loss_estimate(self, samples: int):
        """The loss terms over the stored test images with ``samples`` z draws each, and their standard errors
        (vae_core.analysis.evaluate.loss_estimate), computed once per number of draws."""
        def compute():
            import torch

            from vae_core.analysis.evaluate import loss_estimate

            sample = self.checkpoint.sample
            return loss_estimate(self.checkpoint.model, sample.as_tensor(), torch.from_numpy(sample.labels),
                                 samples=samples, seed=0)
        return self._once(("loss_estimate", samples), compute)

    def precise_loss(self, max_se: float = 0.1, max_samples: int = 256):
        """The loss terms estimated with as many z draws per image as bring the reconstruction's standard error
        to at most ``max_se`` nats (at most ``max_samples``): two draws per image measure the spread, then enough
        are taken. None when one draw per image already is that precise (the recorded metrics then hold)."""
        probe = self.loss_estimate(2)
        one_draw = probe.std_errors["recon"] * math.sqrt(2)
        if one_draw <= max_se:
            return None
        return self.loss_estimate(min(max_samples, max(4, math.ceil((one_draw / max_se) ** 2))))

    def aggregate_kl(self, n_images: int, n_samples: int = 5000) -> tuple[float, float]:
        """KL(q(z) || p(z)) over every latent dimension, q(z) the mixture of the first ``n_images`` stored images'
        posteriors (vae_core.analysis.aggregate_posterior.kl_to_prior: the estimate and its standard error)."""
        def compute():
            from vae_core.analysis import aggregate_posterior

            mu, logvar = self.encodings()
            return aggregate_posterior.kl_to_prior(mu[:n_images], logvar[:n_images], self.checkpoint.prior.log_density,
                                                   n_samples=n_samples, seed=0)
        return self._once(("aggregate_kl", n_images, n_samples), compute)

    def log_px_of(self, other: LoadedModel, k: int, n: int) -> np.ndarray:
        """log p(x) under this model (IWAE, ``k`` samples) of the first ``n`` stored test images of ``other``
        (itself for its own), read-only: the odd inputs' likelihoods."""
        def compute():
            from vae_core.analysis.typicality import scores

            images = other.checkpoint.sample.as_tensor()[:n]
            return _read_only(np.asarray(-scores(self.checkpoint.model, images, k=k, seed=0).neg_log_px))
        return self._once(("log_px_of", other.path, other.stamp, k, n), compute)

    def typicality_scores(self, k: int, n: int):
        """-ELBO and -log p(x) (IWAE, ``k`` samples) of the first ``n`` stored test images (vae_core.analysis.typicality),
        the reference a new picture is ranked against."""
        def compute():
            import torch

            from vae_core.analysis.typicality import scores

            sample = self.checkpoint.sample
            m = min(n, len(sample.labels))
            return scores(self.checkpoint.model, sample.as_tensor()[:m], torch.from_numpy(sample.labels[:m]), k=k)
        return self._once(("typicality", k, n), compute)

    def amortization_gaps(self, n: int, progress=None):
        """The amortization and approximation gaps (vae_core.analysis.amortization) of the first ``n`` stored images,
        computed once; ``progress(fraction, text)`` follows the first computation."""
        def compute():
            import torch

            from vae_core.analysis.amortization import gaps

            sample = self.checkpoint.sample
            m = min(n, len(sample.labels))
            y = torch.from_numpy(sample.labels[:m])  # a model that takes no label ignores it
            return gaps(self.checkpoint.model, sample.as_tensor()[:m], y, progress=progress)
        return self._once(("amortization", n), compute)

    def _factors(self):
        """The stored test images' means mu, their factors (N, K) and which factors are categorical."""
        from vae_core.data.sprites import CATEGORICAL_FACTORS

        sample = self.checkpoint.sample
        if sample is None or getattr(sample, "factors", None) is None:
            raise ValueError(f"{self.checkpoint.name}'s stored test images carry no factors to score against")
        return self.encodings()[0], sample.factors, [name in CATEGORICAL_FACTORS for name in sample.factor_names]

    def factor_mig(self):
        """MIG and each dimension's mutual information with each factor of the stored test images
        (vae_core.analysis.disentanglement.mig; milliseconds), computed once. ValueError without factors."""
        def compute():
            from vae_core.analysis.disentanglement import mig

            mu, factors, _ = self._factors()
            return mig(mu, factors)
        return self._once("factor_mig", compute)

    def factor_dci(self, progress: Callable[[float, str], None] | None = None):
        """DCI of the stored test images' mu against their factors (vae_core.analysis.disentanglement.dci with its
        defaults: gradient-boosted trees, seconds per model), computed once; ``progress(fraction, text)`` follows
        its predictors. ValueError without factors."""
        def compute():
            from vae_core.analysis.disentanglement import dci

            mu, factors, categorical = self._factors()
            return dci(mu, factors, categorical, progress=progress)
        return self._once("factor_dci", compute)

    def dataset_style(self):
        """How this model's dataset frames its images, measured on its stored test images (None without them)."""
        def compute():
            from vae_core.data.preprocess import DatasetStyle, PreprocessError

            sample = self.checkpoint.sample
            if sample is None or len(sample.labels) == 0:
                return None
            try:
                return DatasetStyle.from_images(sample.images)
            except PreprocessError:
                return None
        return self._once("dataset_style", compute)


@st.cache_resource(max_entries=16, show_spinner="Loading the model...")
def _loaded(path: str, stamp: str) -> LoadedModel:
    return LoadedModel(path, stamp)


def loaded_model(path: str | Path) -> LoadedModel:
    """The loaded model of a checkpoint folder as it is on disk now (a rewritten folder is loaded again)."""
    return _loaded(str(path), stamp(path))


_WARM_UP_DELAY = 1.0  # seconds after the first screen's script run, so its messages and files go out first
_warm_up_started = threading.Event()


def warm_up(path: str | None) -> None:
    """Once per server, in the background: import torch (about 1.6 s) and build the model of ``path``, so
    the first click that needs them does not wait. The first screen needs neither (checkpoints load lazily;
    the map's encodings are computed in NumPy), so it is on screen sooner.

    Not pandas: Plotly looks for a dataframe in every chart's data through ``sys.modules["pandas"]``, and a
    pandas still being imported in this thread is half a module there ("partially initialized module
    'pandas' has no attribute 'Series'" on a chart drawn meanwhile). Pages import it when they need it."""
    if _warm_up_started.is_set():
        return
    _warm_up_started.set()
    ckpt = None
    if path:
        try:
            ckpt = loaded_model(path).checkpoint
        except Exception:  # noqa: BLE001  (the page has said what is wrong with it)
            ckpt = None

    def work() -> None:
        import importlib
        import time

        time.sleep(_WARM_UP_DELAY)
        for module in ("torch", "vae_core.analysis.latent", "vae_core.analysis.evaluate"):
            importlib.import_module(module)
        if ckpt is not None:
            ckpt.model  # noqa: B018  (builds it)

    threading.Thread(target=work, name="vae-warm-up", daemon=True).start()
