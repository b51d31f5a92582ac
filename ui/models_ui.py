"""The Models page's pieces: a row of metrics per checkpoint, zip downloads, two models on the same images."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vae_core.store.checkpoints import Checkpoint, export_zip
from vae_core.model.config import ConfigError, ModelConfig
from vae_core.analysis.latent import decode_batch
from vae_core.render.images import to_uint8
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.model.variants import Variant

from .model_choices import ModelChoice, stamp

# Pairs that each show one idea: beta trades reconstruction for KL; an autoencoder has no KL; more latent
# dimensions reconstruct better. Only the pairs whose checkpoints exist are offered.
PRESETS = (("digits-2d", "digits-2d-beta4"), ("digits-2d", "digits-2d-beta2"), ("digits-2d", "digits-2d-autoencoder"),
           ("digits-2d", "digits-8d"), ("fashion-mnist-2d", "fashion-mnist-20d"))
N_PRIOR = 16
PRIOR_SEED = 0


def _kind(cfg: dict) -> Variant | None:
    """The variant a config.json names (by kind, or by the flags of older ones); None if it names none."""
    try:
        return ModelConfig.from_dict(cfg).variant
    except (ConfigError, TypeError, ValueError):
        return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


@st.cache_data(max_entries=512, show_spinner=False)
def _row(path: str, folder_stamp: str) -> dict:
    """The table's row of a checkpoint folder as it is now: the stamp is part of the key (a rewritten folder is
    read again), so it has no leading underscore."""
    folder = Path(path)
    cfg = _read_json(folder / "config.json").get("model") or {}
    meta = _read_json(folder / "meta.json")
    metrics = meta.get("metrics") or {}
    tc = meta.get("train_config") or {}
    shape = cfg.get("image_shape") or [None, None, None]
    hidden = "-".join(map(str, cfg.get("hidden") or []))
    kind = _kind(cfg)
    return {
        "dataset": meta.get("dataset"),
        "image": f"{shape[1]}x{shape[2]}" + ("" if shape[0] in (1, None) else f"x{shape[0]}"),
        "kind": kind.title if kind else "?",
        "arch": f"{cfg.get('arch', '?')} {hidden}".strip(),
        "latent_dim": cfg.get("latent_dim"),
        "beta": "-" if (kind and not kind.has_prior) or tc.get("beta") is None else f"{tc['beta']:g}",
        "likelihood": cfg.get("likelihood"),
        "epochs": meta.get("epochs"),
        "test_neg_elbo": metrics.get("test_neg_elbo"),
        "test_recon": metrics.get("test_recon"),
        "test_kl": metrics.get("test_kl"),
        "created": (meta.get("created") or "")[:16].replace("T", " "),
    }


def model_rows(choices: list[ModelChoice]) -> list[dict]:
    """One row per checkpoint for the table, read from its JSON files only (no weights are loaded)."""
    return [{"model": c.label.removesuffix(f" ({c.origin})"), "origin": c.origin, **_row(c.path, stamp(c.path))}
            for c in choices]


@st.cache_data(max_entries=8, show_spinner="Packing the checkpoint...")
def _zip(path: str, folder_stamp: str) -> bytes:
    return export_zip(path)


def zip_bytes(path: str) -> bytes:
    """The checkpoint folder as a .zip that the sidebar's uploader (import_zip) accepts."""
    return _zip(path, stamp(path))


def image_shape(ckpt: Checkpoint) -> tuple[int, int, int]:
    return tuple(ckpt.config.image_shape)


def pick_images(ckpt: Checkpoint, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n of the checkpoint's stored test images (N, C, H, W) in [0, 1] and their labels, chosen with a seed."""
    total = len(ckpt.sample.labels)
    idx = np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
    x = ckpt.sample.as_tensor()[torch.from_numpy(idx)]
    return x, torch.from_numpy(ckpt.sample.labels[idx])


@dataclass(frozen=True)
class OnImages:
    recon: np.ndarray  # uint8 (N, H, W[, C]): decode(mu(x)), the mean of p(x|z) at the mean of q(z|x)
    neg_elbo: float  # mean per image, nats: recon + kl, one seeded z sample per image
    recon_nll: float
    kl: float


@torch.inference_mode()
def on_images(ckpt: Checkpoint, x: torch.Tensor, y: torch.Tensor) -> OnImages:
    """What one model does with the given images; ValueError if its labels do not fit a conditional model."""
    model = ckpt.model
    y_in = y if model.variant.conditional else None
    if y_in is not None and int(y_in.max()) >= model.cfg.num_classes:
        raise ValueError(f"{ckpt.name} is conditional on {model.cfg.num_classes} classes, "
                         f"but these images have label {int(y_in.max())}")
    mu, _ = model.encode(x.to(model.device), None if y_in is None else y_in.to(model.device))
    recon = to_uint8(decode_batch(model, mu.cpu(), y_in))
    neg_elbo, recon_nll, kl = evaluate_neg_elbo(model, x, y, seed=0)
    return OnImages(recon, neg_elbo, recon_nll, kl)


def prior_samples(ckpt: Checkpoint, n: int = N_PRIOR, seed: int = PRIOR_SEED) -> np.ndarray | None:
    """n images decoded from z drawn from the prior (the same z for N(0, I) models of equal latent_dim); None for
    a model without a prior."""
    cfg = ckpt.config
    if not cfg.variant.has_prior:
        return None
    y = torch.arange(n) % cfg.num_classes if cfg.variant.conditional else None
    return to_uint8(decode_batch(ckpt.model, ckpt.prior.sample(n, seed=seed), y))
