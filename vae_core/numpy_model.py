"""The VAE's layers read straight from a checkpoint's arrays, and its encoder run in NumPy.

torch takes about 1.6 s to import; the app's first screen (the latent map of the bundled model)
needs none of it. What it needs is here: the names and shapes every tensor of a checkpoint must
have (``state_shapes``, checked on load without building the model), the order of the decoder's
layers (``decoder_layers``, from which vae_core.decoder_program builds the browser's program), and
q(z|x) for the stored test images (``encode``). vae_core.torch_model builds the same layers in torch;
tests hold the two to the same names, shapes and outputs.
"""
from __future__ import annotations

import math

import numpy as np

from .config import AE_LOGVAR, ModelConfig

KERNEL, STRIDE, PADDING = 4, 2, 1  # every conv block: a 4x4 kernel with stride 2 and padding 1 halves H and W


def _start_shape(cfg: ModelConfig) -> tuple[int, int, int]:
    """The conv decoder's first feature map (and the conv encoder's last): channels, H / 2^k, W / 2^k."""
    _, h, w = cfg.image_shape
    factor = 2 ** len(cfg.hidden)
    return cfg.hidden[-1], h // factor, w // factor


def _labels_width(cfg: ModelConfig) -> int:
    return cfg.num_classes if cfg.conditional else 0


def encoder_layers(cfg: ModelConfig) -> list[tuple[str, str]]:
    """(kind, tensor prefix) of the encoder's feature layers in order, each followed by a ReLU:
    kind "linear" (MLP) or "conv" (4x4, stride 2, padding 1)."""
    kind = "linear" if cfg.arch == "mlp" else "conv"
    return [(kind, f"encoder.body.{2 * i}") for i in range(len(cfg.hidden))]


def decoder_layers(cfg: ModelConfig) -> list[dict]:
    """The decoder as operations: {"op": "linear" | "convT", "name": tensor prefix}, {"op": "relu"},
    {"op": "reshape", "shape": [C, H, W]}; the output is logits (the sigmoid is not included)."""
    ops: list[dict] = []
    if cfg.arch == "mlp":
        n = len(cfg.hidden) + 1
        for i in range(n):
            ops.append({"op": "linear", "name": f"decoder.net.{2 * i}"})
            if i < n - 1:
                ops.append({"op": "relu"})
        return ops
    ops += [{"op": "linear", "name": "decoder.fc"}, {"op": "relu"}, {"op": "reshape", "shape": list(_start_shape(cfg))}]
    n = len(cfg.hidden)
    for i in range(n):
        ops.append({"op": "convT", "name": f"decoder.body.{2 * i}"})
        if i < n - 1:
            ops.append({"op": "relu"})
    return ops


def state_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of this architecture holds, with its shape (torch's state_dict names)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def add(prefix: str, weight: tuple[int, ...], n_out: int) -> None:
        shapes[f"{prefix}.weight"] = weight
        shapes[f"{prefix}.bias"] = (n_out,)

    c = cfg.image_shape[0]
    extra = _labels_width(cfg)
    if cfg.arch == "mlp":
        sizes = [cfg.num_pixels + extra, *cfg.hidden]
        for (_, name), n_in, n_out in zip(encoder_layers(cfg), sizes[:-1], sizes[1:]):
            add(name, (n_out, n_in), n_out)
        n_feat = cfg.hidden[-1]
        sizes = [cfg.latent_dim + extra, *reversed(cfg.hidden), cfg.num_pixels]
        linears = [op["name"] for op in decoder_layers(cfg) if op["op"] == "linear"]
        for name, n_in, n_out in zip(linears, sizes[:-1], sizes[1:]):
            add(name, (n_out, n_in), n_out)
    else:
        chans = [c, *cfg.hidden]
        for (_, name), c_in, c_out in zip(encoder_layers(cfg), chans[:-1], chans[1:]):
            add(name, (c_out, c_in, KERNEL, KERNEL), c_out)
        n_flat = math.prod(_start_shape(cfg))
        n_feat = n_flat + extra
        add("decoder.fc", (n_flat, cfg.latent_dim + extra), n_flat)
        chans = [*reversed(cfg.hidden), c]
        convs = [op["name"] for op in decoder_layers(cfg) if op["op"] == "convT"]
        for name, c_in, c_out in zip(convs, chans[:-1], chans[1:]):
            add(name, (c_in, c_out, KERNEL, KERNEL), c_out)
    add("encoder.fc_mu", (cfg.latent_dim, n_feat), cfg.latent_dim)
    if not cfg.autoencoder:
        add("encoder.fc_logvar", (cfg.latent_dim, n_feat), cfg.latent_dim)
    if cfg.likelihood == "gaussian" and cfg.gaussian_variance == "learned":
        shapes["log_sigma"] = tuple(cfg.image_shape)
    shapes["pixel_mean"] = tuple(cfg.image_shape)
    return shapes


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, O, H/2, W/2): the 4x4 stride-2 padding-1 convolution, as one matrix product."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (PADDING, PADDING), (PADDING, PADDING)))
    ho, wo = (h + 2 * PADDING - KERNEL) // STRIDE + 1, (w + 2 * PADDING - KERNEL) // STRIDE + 1
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
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    onehot = _onehot(cfg, y, n) if cfg.conditional else None
    mus, logvars = [], []
    for start in range(0, n, batch):
        h = x[start:start + batch] - arrays["pixel_mean"]
        if cfg.arch == "mlp":
            h = h.reshape(len(h), -1)
            if onehot is not None:
                h = np.concatenate([h, onehot[start:start + batch]], 1)
        for kind, name in encoder_layers(cfg):
            w, b = arrays[f"{name}.weight"], arrays[f"{name}.bias"]
            h = np.maximum(h @ w.T + b if kind == "linear" else _conv2d(h, w, b), 0)
        if cfg.arch == "conv":
            h = h.reshape(len(h), -1)
            if onehot is not None:
                h = np.concatenate([h, onehot[start:start + batch]], 1)
        mu = h @ arrays["encoder.fc_mu.weight"].T + arrays["encoder.fc_mu.bias"]
        if cfg.autoencoder:
            logvar = np.full_like(mu, AE_LOGVAR)
        else:
            logvar = h @ arrays["encoder.fc_logvar.weight"].T + arrays["encoder.fc_logvar.bias"]
        mus.append(mu.astype(np.float32))
        logvars.append(logvar.astype(np.float32))
    d = cfg.latent_dim
    if not mus:
        return np.zeros((0, d), np.float32), np.zeros((0, d), np.float32)
    return np.concatenate(mus), np.concatenate(logvars)
