"""The Draw & encode page's pieces: the dataset's framing, encoding one image, placing it on a map."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from vae_core.store.checkpoints import Checkpoint
from vae_core.data.preprocess import DatasetStyle
from vae_core.projection import Projection

from .loaded_model import LoadedModel


def dataset_style(loaded: LoadedModel) -> tuple[DatasetStyle, bool]:
    """How this model's dataset frames its images, measured on its stored test images; (style, measured).

    Without stored images, MNIST's rule scaled to the model's frame (measured False)."""
    style = loaded.dataset_style()
    if style is not None:
        return style, True
    _, h, w = loaded.config.image_shape
    return DatasetStyle.mnist(h, w), False


@dataclass(frozen=True)
class Encoding:
    x: np.ndarray  # (C, H, W) the model's input
    mu: np.ndarray  # (D,)
    logvar: np.ndarray  # (D,)
    recon: np.ndarray  # (C, H, W) decode(mu): the mean of p(x|z) at the mean of q(z|x)

    @property
    def sigma(self) -> np.ndarray:
        return np.exp(0.5 * self.logvar.astype(np.float64)).astype(np.float32)


@torch.inference_mode()
def encode_one(ckpt: Checkpoint, x: np.ndarray, y: int | None = None) -> Encoding:
    model = ckpt.model
    model.eval()
    xt = torch.from_numpy(np.asarray(x, np.float32)[None]).to(model.device)
    yt = torch.tensor([int(y)], device=model.device) if (y is not None and ckpt.config.variant.conditional) else None
    mu, logvar = model.encode(xt, yt)
    recon = model.decode(mu, yt)
    return Encoding(np.asarray(x, np.float32), mu[0].float().cpu().numpy(), logvar[0].float().cpu().numpy(),
                    recon[0].float().cpu().numpy())


def place(proj: Projection, mu: np.ndarray, key: tuple) -> np.ndarray:
    """The map position (2,) of one latent point; remembered per map and point (a transform can be slow)."""
    store = st.session_state.setdefault("draw_placed", {})
    if key not in store:
        if len(store) > 32:
            store.clear()
        with st.spinner(f"Placing the point on the {proj.label} map..."):
            store[key] = np.asarray(proj.transform(mu[None]), dtype=np.float32)[0]
    return store[key]


def nearest_images(mu_all: np.ndarray, mu: np.ndarray, k: int = 8) -> np.ndarray:
    """Indices of the k encoded test images whose mu is nearest to mu (Euclidean, in latent space)."""
    d = ((np.asarray(mu_all, np.float64) - np.asarray(mu, np.float64)[None]) ** 2).sum(1)
    return np.argsort(d, kind="stable")[:k]
