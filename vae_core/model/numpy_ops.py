"""The architecture's operations in NumPy, on a checkpoint's arrays: what vae_core.model.numpy_model runs the
encoder with, and what a kind's own networks run with outside torch (a hierarchical VAE's prior). It imports
only the shapes, so every module of the model wing can use it.
"""
from __future__ import annotations

import numpy as np

from .shapes import KERNEL, PADDING, STRIDE, Op, conv_out


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, O, H', W'): the convolution block (KERNEL, STRIDE, PADDING), as one matrix product."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (PADDING, PADDING), (PADDING, PADDING)))
    ho, wo = conv_out(h), conv_out(w)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KERNEL, KERNEL), axis=(2, 3))[:, :, ::STRIDE, ::STRIDE]
    cols = windows[:, :, :ho, :wo].transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * KERNEL * KERNEL)
    out = cols @ weight.reshape(o, -1).T + bias
    return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)


def pointwise(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, C, h, w) -> (N, O, h, w): the same linear map of the C channels at every position (a 1x1 convolution)."""
    return np.einsum("nchw,oc->nohw", x, weight.reshape(weight.shape[0], -1)) + bias[None, :, None, None]


def run(ops: tuple[Op, ...], arrays: dict[str, np.ndarray], h: np.ndarray, onehot: np.ndarray | None = None) -> np.ndarray:
    """A batch (N, ...) through the operations, as vae_core.model.torch_model.VAE runs them in torch."""
    for op in ops:
        if op.kind == "linear":
            h = h @ arrays[f"{op.name}.weight"].T + arrays[f"{op.name}.bias"]
        elif op.kind == "conv":
            h = conv2d(h, arrays[f"{op.name}.weight"], arrays[f"{op.name}.bias"])
        elif op.kind == "pointwise":
            h = pointwise(h, arrays[f"{op.name}.weight"], arrays[f"{op.name}.bias"])
        elif op.kind == "relu":
            h = np.maximum(h, 0)
        elif op.kind == "flatten":
            h = h.reshape(len(h), -1)
        elif op.kind == "label":
            h = np.concatenate([h, onehot], 1)
        elif op.kind == "reshape":
            h = h.reshape(len(h), *op.out_shape)
        else:
            raise ValueError(f"the {op.kind!r} operation has no NumPy implementation")
    return h
