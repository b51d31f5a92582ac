"""The VAE's encoder q(z|x) run in NumPy on a checkpoint's arrays.

torch takes about 1.6 s to import; the app's first screen (the latent map of the bundled model)
needs none of it, only q(z|x) of the stored test images: ``encode`` runs the encoder's operations
as vae_core.model.architecture describes them, and the kind's own step from the encoder's features to
q(z|x) (vae_core.model.variants: the same function torch_model runs). vae_core.model.torch_model runs the
same operations in torch; tests hold the two to the same outputs. A kind that says NumPy cannot run its
encoder (``numpy_encoder = False``) is encoded by its torch model here instead, so callers need not ask.
"""
from __future__ import annotations

import numpy as np

from . import numpy_ops
from .architecture import describe
from .config import AE_LOGVAR, ModelConfig


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
    """q(z|x) in NumPy: mu and log sigma^2, (N, latent_size) float32 each, for images x (N, C, H, W) in [0, 1].
    The same computation as VAE.encode, in float32."""
    if not cfg.variant.numpy_encoder:
        return _encode_in_torch(cfg, arrays, x, y)
    arch = describe(cfg)
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    takes_labels = any(op.kind == "label" for op in arch.encoder)
    onehot = _onehot(cfg, y, n) if takes_labels else None

    def run(part: str, h: np.ndarray) -> np.ndarray:
        return numpy_ops.run(arch.chain(part), arrays, h)

    mus, logvars = [], []
    for start in range(0, n, batch):
        h = numpy_ops.run(arch.encoder, arrays, x[start:start + batch] - arrays["pixel_mean"],
                          None if onehot is None else onehot[start:start + batch])
        mu, logvar = cfg.variant.encode_features(np, run, h)
        mus.append(mu.astype(np.float32))
        logvars.append(np.full_like(mus[-1], AE_LOGVAR) if logvar is None else logvar.astype(np.float32))
    d = arch.latent_size
    if not mus:
        return np.zeros((0, d), np.float32), np.zeros((0, d), np.float32)
    return np.concatenate(mus), np.concatenate(logvars)


def _encode_in_torch(cfg: ModelConfig, arrays: dict[str, np.ndarray], x, y) -> tuple[np.ndarray, np.ndarray]:
    """The same numbers from the torch model (it imports torch): for a kind whose encoder NumPy cannot run."""
    import torch

    from .torch_model import VAE

    model = VAE(cfg)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}, strict=True)
    with torch.inference_mode():
        yy = None if y is None or not cfg.variant.conditional else torch.as_tensor(np.asarray(y)).long()
        mu, logvar = model.eval().encode(torch.as_tensor(np.asarray(x, np.float32)), yy)
    return mu.numpy(), logvar.numpy()
