"""The VAE's computations spelled out for How it works: one image's path through q(z|x), the
reparameterization and p(x|z) with its loss terms, and the loss averaged over a set of images.

Every function returns plain numbers and arrays, computed with the model's own ``encode``, ``forward``
(its named loss terms) and ``decode_logits``.
"""
from __future__ import annotations

import numpy as np
import torch

from vae_core.model.torch_model import VAE
from .evaluate import evaluate_neg_elbo


def _label(model: VAE, y) -> torch.Tensor | None:
    if not model.variant.conditional:
        return None
    if y is None:
        raise ValueError("this is a conditional VAE: give the image's class label")
    return torch.as_tensor(y).long().reshape(1)


@torch.inference_mode()
def explain_image(model: VAE, x, y=None, eps=None) -> dict:
    """One image through the VAE, every intermediate value as numpy.

    x: (C, H, W) floats in [0, 1]; eps: (D,) the noise of the reparameterization
    (drawn from N(0, I) when None). For the autoencoder z = mu and there is no
    sigma, eps or KL: those entries are None (a VQ-VAE too: z is its nearest codes).
    "kl" is the sum of the kind's KL terms; "terms" holds each named term.
    """
    model.eval()
    x = torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(1, *model.cfg.image_shape)
    yy = _label(model, y)
    eps_t = model.draw_eps(1) if eps is None else torch.as_tensor(np.asarray(eps, np.float32)).reshape(1, -1)
    out = model(x, yy, eps=eps_t)  # the loss terms, as training computes them
    logits_mu = model.decode_logits(out.mu, yy)
    recon_mu = float(model.reconstruction_nll(logits_mu, x)[0])
    result = {
        "mu": out.mu[0].numpy(), "z": out.z[0].numpy(),
        "decoded_z": torch.sigmoid(out.logits)[0].numpy(),  # mean of p(x|z), (C, H, W)
        "decoded_mu": torch.sigmoid(logits_mu)[0].numpy(),  # mean of p(x|z = mu)
        "recon": float(out.recon[0]),  # -log p(x|z) in nats
        "recon_at_mu": recon_mu,
        "logvar": None, "sigma": None, "eps": None, "sigma_eps": None,
        "kl_per_dim": None, "kl": None, "neg_elbo": float(out.neg_elbo[0]),
    }
    kl_names = [k for k in model.variant.kl_terms if k in out.terms]
    if kl_names:
        sigma = torch.exp(0.5 * out.logvar)
        kl_dims = model.variant.kl_per_dim(out.mu.numpy(), out.logvar.numpy())  # None: the KL does not split
        result.update(logvar=out.logvar[0].numpy(), sigma=sigma[0].numpy(), eps=eps_t[0].numpy(),
                      sigma_eps=(sigma * eps_t)[0].numpy(), kl_per_dim=None if kl_dims is None else kl_dims[0],
                      kl=float(out.kl[0]))
    # every named term of this image's loss: a hierarchical VAE's KL per level, a VQ-VAE's commitment
    result["terms"] = {k: float(v[0]) for k, v in out.terms.items()}
    return result


def sample_loss(model: VAE, images: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> dict:
    """Mean reconstruction, KL and negative ELBO per image over a set of images (one seeded z each)."""
    if len(images) == 0:
        raise ValueError("no images to average the loss over")
    neg_elbo, recon, kl = evaluate_neg_elbo(model, images, labels, seed=seed)
    return {"neg_elbo": neg_elbo, "recon": recon, "kl": kl, "n": int(len(images)), "seed": seed}
