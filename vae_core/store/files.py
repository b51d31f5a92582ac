"""What a checkpoint folder holds, by file name; the error every part of the store raises; and a sample of
stored test images, read without unpickling. The bottom of the store wing: vae_core.store.checkpoints (a
whole folder) and vae_core.store.test_splits (a test split shared by several folders) both build on it.
"""
from __future__ import annotations

import hashlib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

FORMAT = "vae-latent-explorer/checkpoint-1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
SAMPLE_FILE = "sample.npz"
OPTIMIZER_FILE = "optimizer.safetensors"
MAPS_FILE = "maps.npz"
HISTORY_FILE = "history.safetensors"  # the training's snapshots (vae_core.store.history)
HASHED_FILES = (CONFIG_FILE, WEIGHTS_FILE, SAMPLE_FILE, OPTIMIZER_FILE, HISTORY_FILE)
ARCHIVE_FILES = (CONFIG_FILE, WEIGHTS_FILE, META_FILE, SAMPLE_FILE, OPTIMIZER_FILE, HISTORY_FILE, MAPS_FILE)


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged or does not match its config; the message says which file and what to do."""


@dataclass
class Sample:
    """A few test images stored with a model so maps can be drawn without the dataset; for a dataset made from
    known factors (sprites), each image's factors too, so a map can be coloured by any of them."""

    images: np.ndarray  # (N, H, W) or (N, H, W, C) uint8
    labels: np.ndarray  # (N,) int64
    class_names: list[str]
    factors: np.ndarray | None = None  # (N, F) int64 indices into each factor's values; None when not known
    factor_names: list[str] = field(default_factory=list)  # (F,) the factors' names, in the columns' order

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of its ``.npz`` file: images, labels, class_names, and factors with factor_names if known."""
        out = {"images": np.ascontiguousarray(self.images, np.uint8), "labels": np.asarray(self.labels, np.int64),
               "class_names": np.array(self.class_names, dtype=str)}
        if self.factors is not None:
            out["factors"] = np.ascontiguousarray(self.factors, np.int64)
            out["factor_names"] = np.array(self.factor_names, dtype=str)
        return out

    def as_array(self) -> np.ndarray:
        """(N, C, H, W) float32 in [0, 1]."""
        x = self.images.astype(np.float32) / 255.0
        return x[:, None] if x.ndim == 3 else np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def as_tensor(self) -> torch.Tensor:
        """(N, C, H, W) float32 in [0, 1]."""
        import torch

        return torch.from_numpy(self.as_array())


def read_sample(f: Path) -> Sample:
    """A ``sample.npz`` file, read without unpickling and checked. ``factors`` and ``factor_names`` are optional
    (files written before they existed, and datasets without known factors, have neither)."""
    try:
        with np.load(f, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"].astype(np.int64)
            names = [str(n) for n in data["class_names"]]
            factors = data["factors"] if "factors" in data.files else None
            factor_names = [str(n) for n in data["factor_names"]] if "factor_names" in data.files else []
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{f} is not a valid image sample ({e})") from e
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or len(labels) != len(images):
        raise CheckpointError(f"{f}: expected uint8 images (N, H, W[, C]) with N labels")
    if factors is not None and (factors.dtype.kind not in "iu" or factors.shape != (len(images), len(factor_names))):
        raise CheckpointError(f"{f}: factors must be integers of shape (N, F) for N images and F factor_names, got "
                              f"{factors.dtype} {factors.shape} with {len(factor_names)} names; write the sample again")
    if factors is None and factor_names:
        raise CheckpointError(f"{f}: factor_names without factors; write the sample again")
    return Sample(images=images, labels=labels, class_names=names,
                  factors=None if factors is None else factors.astype(np.int64), factor_names=factor_names)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read 1 MiB at a time (meta.json pins its files and shared test splits by it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
