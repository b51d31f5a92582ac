"""The VAE's encoder q(z|x) run in NumPy on a checkpoint's arrays.

torch takes about 1.6 s to import; the app's first screen (the latent map of the bundled model)
needs none of it, only q(z|x) of the stored test images: ``encode`` runs the encoder's operations
as vae_core.model.architecture describes them. vae_core.model.torch_model runs the same operations in torch;
tests hold the two to the same outputs.
"""
from __future__ import annotations

import numpy as np

from .architecture import describe
from .shapes import KERNEL, PADDING, STRIDE, conv_out
from .config import AE_LOGVAR, ModelConfig


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, O, H', W'): the convolution block (KERNEL, STRIDE, PADDING), as one matrix product."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (PADDING, PADDING), (PADDING, PADDING)))
    ho, wo = conv_out(h), conv_out(w)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KERNEL, KERNEL), axis=(2, 3))[:, :, ::STRIDE, ::STRIDE]
    cols = windows[:, :, :ho, :wo].transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * KERNEL * KERNEL)
    out = cols @ weight.reshape(o, -1).T + bias
    return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)


def _onehot(cfg: ModelConfig, y, n: int) -> np.ndarray:
    if y is None:
        raise ValueError("this is a conditional VAE: pass the class labels y with x")
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if len(y) != n or (n and (y.min() < 0 or y.max() >= cfg.num_classes)):
        raise ValueError(f"labels must be {n} integers in 0..{cfg.num_classes - 1}")
    out = np.zeros((n, cfg.num_classes), np.float32)
    out[np.arange(n), y] = 1
    return out


def encode(cfg: ModelConfig, arrays: dict[str, np.ndarray], x: np.ndarray, y=None,
           batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """q(z|x) in NumPy: mu and log sigma^2, (N, D) float32 each, for images x (N, C, H, W) in [0, 1].
    The same computation as VAE.encode, in float32."""
    arch = describe(cfg)
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    takes_labels = any(op.kind == "label" for op in arch.encoder)
    onehot = _onehot(cfg, y, n) if takes_labels else None
    mus, logvars = [], []
    for start in range(0, n, batch):
        h = _run(arch.encoder, arrays, x[start:start + batch] - arrays["pixel_mean"],
                 None if onehot is None else onehot[start:start + batch])
        mu = _run((arch.mu,), arrays, h, None)
        logvar = np.full_like(mu, AE_LOGVAR) if arch.logvar is None else _run((arch.logvar,), arrays, h, None)
        mus.append(mu.astype(np.float32))
        logvars.append(logvar.astype(np.float32))
    d = cfg.latent_dim
    if not mus:
        return np.zeros((0, d), np.float32), np.zeros((0, d), np.float32)
    return np.concatenate(mus), np.concatenate(logvars)


def _run(ops, arrays: dict[str, np.ndarray], h: np.ndarray, onehot: np.ndarray | None) -> np.ndarray:
    """A batch (N, ...) through the operations, as VAE._run does in torch."""
    for op in ops:
        if op.kind == "linear":
            h = h @ arrays[f"{op.name}.weight"].T + arrays[f"{op.name}.bias"]
        elif op.kind == "conv":
            h = _conv2d(h, arrays[f"{op.name}.weight"], arrays[f"{op.name}.bias"])
        elif op.kind == "relu":
            h = np.maximum(h, 0)
        elif op.kind == "flatten":
            h = h.reshape(len(h), -1)
        elif op.kind == "label":
            h = np.concatenate([h, onehot], 1)
        else:
            raise ValueError(f"the encoder's {op.kind!r} operation has no NumPy implementation")
    return h
