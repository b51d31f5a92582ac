"""A training's history, recorded as it learns: at log-spaced steps (many early, when the map changes fast; few
late), the stored test images' encodings (mu and log sigma^2 of q(z|x)), the loss terms on them, and a few
decodes (the same prior draws, and the same images reconstructed, at every step). The app replays it: the latent
map forming, the loss falling, the samples sharpening.

It lives in the checkpoint as ``history.safetensors`` (arrays only, no code): recording draws its noise from
generators of its own, so a training with a history is the same training as without one.

Beside the columns every history has, a kind's own numbers per snapshot are ``series``, stored as
``series.<name>`` arrays of one value per snapshot: each named loss term other than recon and kl (a hierarchical
VAE's kl1 and kl2, a VQ-VAE's commitment) and the kind's measures (a VQ-VAE's codebook perplexity and dead
codes, vae_core.model.variants). A history written before series existed has none; a reader that does not know
them skips them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import HISTORY_FILE
RECORDS = 24  # snapshots at most, log-spaced over the training's steps (the first before any step)
VALUES_BUDGET = 400_000  # float16 values of mu and log sigma^2 kept in all; fewer images for a wider latent
N_DECODES = 8  # prior draws and images whose decodes are kept at every snapshot
SERIES_PREFIX = "series."  # a kind's own per-snapshot values in history.safetensors
COLUMN_TERMS = ("recon", "kl")  # loss terms every history holds as columns; a kind's other terms are series


def record_steps(total_steps: int, records: int = RECORDS) -> list[int]:
    """The steps (0 = before training) after which a snapshot is taken: 0, then log-spaced up to total_steps."""
    if total_steps <= 0:
        return [0]
    steps = np.unique(np.round(np.logspace(0, math.log10(total_steps), records - 1)).astype(int))
    return [0, *[int(s) for s in steps if 1 <= s <= total_steps]]


def images_kept(n_images: int, latent_dim: int, records: int = RECORDS) -> int:
    """How many of the stored images have their encodings kept at every snapshot (the first ones)."""
    return int(max(1, min(n_images, VALUES_BUDGET // (2 * records * max(latent_dim, 1)))))


@dataclass
class History:
    """Snapshots of one training, oldest first. T snapshots, H images, latent dimension D."""
    step: np.ndarray  # (T,) optimiser steps done
    epoch: np.ndarray  # (T,) epochs done, fractional
    neg_elbo: np.ndarray  # (T,) mean over the H images, nats: recon + KL (one seeded z each)
    recon: np.ndarray  # (T,)
    kl: np.ndarray  # (T,)
    mu: np.ndarray  # (T, H, D) float16
    logvar: np.ndarray  # (T, H, D) float16
    test_index: np.ndarray  # (H,) each image's index in the dataset's test split
    prior_decodes: np.ndarray  # (T, N_DECODES, H', W'[, C]) uint8: the same prior draws decoded at each snapshot
    recon_decodes: np.ndarray  # (T, N_DECODES, ...) uint8: decode(mu(x)) of the first N_DECODES images
    series: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (T,) float32: the kind's own values

    def __len__(self) -> int:
        return len(self.step)

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """The arrays every history holds (its series aside)."""
        return tuple(k for k in cls.__dataclass_fields__ if k != "series")

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.ascontiguousarray(getattr(self, k)) for k in self.columns()}
        out.update({SERIES_PREFIX + k: np.ascontiguousarray(v, np.float32) for k, v in self.series.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> History:
        missing = [k for k in cls.columns() if k not in arrays]
        if missing:
            raise ValueError(f"{HISTORY_FILE} lacks {', '.join(missing)}: it was written by another version")
        series = {k[len(SERIES_PREFIX):]: v for k, v in arrays.items() if k.startswith(SERIES_PREFIX)}
        h = cls(**{k: arrays[k] for k in cls.columns()}, series=series)
        t, n = len(h.step), len(h.test_index)
        if h.mu.shape[:2] != (t, n) or h.logvar.shape != h.mu.shape or any(
                len(getattr(h, k)) != t for k in ("epoch", "neg_elbo", "recon", "kl", "prior_decodes", "recon_decodes")) \
                or any(v.shape != (t,) for v in series.values()):
            raise ValueError(f"{HISTORY_FILE} holds arrays of mismatched lengths: {t} snapshots, {n} images")
        return h

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        save_file(self.arrays(), str(Path(folder) / HISTORY_FILE))


def sample_positions(history: History, n_sample: int, shared_split: bool) -> np.ndarray:
    """Where the history's images are in the checkpoint's stored images: a shared test split holds the whole
    split in order (its index is the image's index in the split); a checkpoint's own sample holds the recorded
    images first, in the same order. Raises ValueError when the stored images cannot hold them."""
    idx = np.asarray(history.test_index, np.int64) if shared_split else np.arange(len(history.test_index))
    if len(idx) and (idx.min() < 0 or idx.max() >= n_sample):
        raise ValueError(f"the training's history follows test images up to #{int(idx.max())}, but the checkpoint "
                         f"stores {n_sample:,}: the two were written by different trainings")
    return idx


def load_history(folder: Path) -> History | None:
    """The history a checkpoint folder holds, or None; ValueError when the file is there but unusable."""
    f = Path(folder) / HISTORY_FILE
    if not f.is_file():
        return None
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return History.from_arrays(load_file(str(f)))
    except (SafetensorError, OSError) as e:
        raise ValueError(f"{f} is not a readable safetensors file ({e})") from e


class Recorder:
    """Takes the snapshots during a training (vae_core.training.trainer.Trainer calls it after each optimiser step).
    ``latent_dim`` is the width of z (the model's latent_dim); the kind's measures are taken on all the images,
    the encodings kept for the first ones."""

    def __init__(self, images, labels, test_index: np.ndarray, latent_dim: int, total_steps: int,
                 seed: int = 0, previous: History | None = None):
        import torch

        n = images_kept(len(images), latent_dim)
        self.all_x, self.all_y = images, labels
        self.x, self.y = images[:n], labels[:n]
        self.test_index = np.asarray(test_index[:n], np.int64)
        self.steps = set(record_steps(total_steps))
        self.seed = seed
        self._gen = torch.Generator().manual_seed(seed + 7919)  # the snapshots' own noise: training's is untouched
        self.rows: dict[str, list] = {k: [] for k in History.columns() if k != "test_index"}
        self.series: dict[str, list[float]] = {}
        if previous is not None and len(previous) and np.array_equal(previous.test_index, self.test_index):
            for k in self.rows:  # a resumed training continues its history
                self.rows[k] = list(getattr(previous, k))
            self.series = {k: [float(v) for v in values] for k, values in previous.series.items()}

    def due(self, step: int) -> bool:
        return step in self.steps and (not self.rows["step"] or self.rows["step"][-1] < step)

    def take(self, model, step: int, epoch: float) -> None:
        import torch

        from vae_core.render.images import to_uint8

        was_training = model.training
        model.eval()
        with torch.inference_mode():
            device = model.device
            x = self.x.to(device)
            y = self.y.to(device) if model.variant.conditional else None
            eps = torch.randn(len(x), model.latent_dim, generator=self._gen).to(device)
            out = model(x, y, eps=eps if model.variant.gaussian_posterior else None)
            # the same draws at every snapshot (one seed), of the prior as it is then; a kind without a prior
            # gives the stand-in pages draw from (vae_core.model.variants)
            prior_z = torch.from_numpy(model.prior().sample(N_DECODES, seed=self.seed)).to(device)
            y8 = y[:N_DECODES] if y is not None else None
            prior_images = to_uint8(model.decode(prior_z, y8[:len(prior_z)] if y8 is not None else None).cpu())
            recon_images = to_uint8(model.decode(out.mu[:N_DECODES], y8).cpu())
            all_y = self.all_y.to(device) if model.variant.conditional else None
            values = {k: float(v.mean()) for k, v in out.terms.items() if k not in COLUMN_TERMS}
            values.update(model.variant.measures(model, self.all_x.to(device), all_y))
        model.train(was_training)
        for key, value in (("step", step), ("epoch", epoch), ("neg_elbo", float(out.neg_elbo.mean())),
                           ("recon", float(out.recon.mean())), ("kl", float(out.kl.mean())),
                           ("mu", out.mu.float().cpu().numpy().astype(np.float16)),
                           ("logvar", out.logvar.float().cpu().numpy().astype(np.float16)),
                           ("prior_decodes", prior_images), ("recon_decodes", recon_images)):
            self.rows[key].append(value)
        taken = len(self.rows["step"])
        for name, value in values.items():  # a series new in a resumed history starts with NaN before it existed
            self.series.setdefault(name, [math.nan] * (taken - 1)).append(float(value))
        for name, values_so_far in self.series.items():
            if len(values_so_far) < taken:  # a series the kind no longer reports
                values_so_far.append(math.nan)

    def history(self) -> History | None:
        if not self.rows["step"]:
            return None
        r = self.rows
        return History(step=np.asarray(r["step"], np.int64), epoch=np.asarray(r["epoch"], np.float32),
                       neg_elbo=np.asarray(r["neg_elbo"], np.float32), recon=np.asarray(r["recon"], np.float32),
                       kl=np.asarray(r["kl"], np.float32), mu=np.stack(r["mu"]), logvar=np.stack(r["logvar"]),
                       test_index=self.test_index, prior_decodes=np.stack(r["prior_decodes"]),
                       recon_decodes=np.stack(r["recon_decodes"]),
                       series={k: np.asarray(v, np.float32) for k, v in self.series.items()})
