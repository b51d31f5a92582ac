"""Evaluation: test negative ELBO, KL per dimension, active units, and an
importance-weighted estimate of -log p(x) (Burda, Grosse & Salakhutdinov, 2015).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from vae_core.model.activity import active_units
from vae_core.model.losses import log_normal
from vae_core.model.torch_model import VAE


@torch.inference_mode()
def evaluate_terms(model: VAE, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000,
                   seed: int = 0) -> dict[str, float]:
    """Mean per image of the negative ELBO, the KL (every KL term summed) and each of the model's named loss
    terms ("recon", "kl" or "kl1" and "kl2", a VQ-VAE's "commitment", ...), one seeded z sample per image."""
    was_training = model.training
    model.eval()
    names: list[str] = []
    totals = None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(images), batch_size):
            out = model(images[i:i + batch_size], labels[i:i + batch_size] if model.variant.conditional else None)
            names = names or ["neg_elbo", "recon", "kl", *[k for k in out.terms if k not in ("recon", "kl")]]
            sums = [out.neg_elbo.sum(), out.recon.sum(), out.kl.sum(), *[out.terms[k].sum() for k in names[3:]]]
            batch = torch.stack(sums).double().cpu()
            totals = batch if totals is None else totals + batch
    model.train(was_training)
    if totals is None:
        return {"neg_elbo": 0.0, "recon": 0.0, "kl": 0.0}
    return dict(zip(names, (totals / max(len(images), 1)).tolist()))


def evaluate_neg_elbo(model: VAE, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean test (negative ELBO, reconstruction, KL) per image, one seeded z sample per image."""
    terms = evaluate_terms(model, images, labels, batch_size, seed)
    return terms["neg_elbo"], terms["recon"], terms["kl"]



@dataclass(frozen=True)
class LossEstimate:
    """The loss terms' means over a set of images, each a Monte-Carlo estimate with ``samples`` draws of z per
    image, and its standard error: the spread the estimate would have over repeated draws on the same images
    (its uncertainty from sampling z, not from the choice of images)."""

    terms: dict[str, float]  # the kind's own terms, and "recon", "kl" (every KL term), "neg_elbo": nats per image
    std_errors: dict[str, float]  # the same names: the standard error of each mean
    samples: int  # z draws per image
    n_images: int


@torch.inference_mode()
def loss_estimate(model: VAE, images: torch.Tensor, labels: torch.Tensor | None, samples: int = 16,
                  seed: int = 0, batch_size: int = 500) -> LossEstimate:
    """The negative ELBO's terms averaged over the images with ``samples`` z draws each (at least 2, so that
    each image's sampling variance s_i^2 is estimated). The standard error of a mean over N images is
    sqrt(sum_i s_i^2 / samples) / N. A closed-form term (the KL to N(0, I)) has a standard error of 0."""
    if samples < 2:
        raise ValueError(f"samples={samples}: at least 2 draws per image are needed to estimate a standard error")
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    variances: dict[str, float] = {}
    n = len(images)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, n, batch_size):
            x = images[i:i + batch_size].to(model.device)
            y = labels[i:i + batch_size].to(model.device) if labels is not None and model.variant.conditional else None
            draws: dict[str, list[torch.Tensor]] = {}
            for _ in range(samples):
                out = model(x, y)
                # the kind's own terms, and the ELBO's: its reconstruction, its whole KL (every level's), their sum
                for name, term in {**out.terms, "recon": out.recon, "kl": out.kl, "neg_elbo": out.neg_elbo}.items():
                    draws.setdefault(name, []).append(term.double().cpu())
            for name, values in draws.items():
                v = torch.stack(values)  # (samples, B)
                sums[name] = sums.get(name, 0.0) + float(v.mean(0).sum())
                variances[name] = variances.get(name, 0.0) + float(v.var(0, unbiased=True).sum())
    model.train(was_training)
    n = max(n, 1)
    return LossEstimate(terms={k: v / n for k, v in sums.items()},
                        std_errors={k: math.sqrt(variances[k] / samples) / n for k in sums},
                        samples=samples, n_images=n)


@torch.inference_mode()
def encode_dataset(model: VAE, images: torch.Tensor, labels: torch.Tensor | None = None,
                   batch_size: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """mu and log sigma^2 of q(z|x) for every image, as float32 arrays (N, D)."""
    model.eval()
    mus, logvars = [], []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(model.device)
        y = labels[i:i + batch_size] if (labels is not None and model.variant.conditional) else None
        mu, logvar = model.encode(x, y)
        mus.append(mu.float().cpu())
        logvars.append(logvar.float().cpu())
    if not mus:
        d = model.latent_dim
        return np.zeros((0, d), np.float32), np.zeros((0, d), np.float32)
    return torch.cat(mus).numpy(), torch.cat(logvars).numpy()


def log_joint(model: VAE, x: torch.Tensor, y: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
    """log p(x|z) + log p(z) for draws z (S, B, D) of each image of x (B, ...), shape (S, B)."""
    s, _, d = z.shape
    zf = z.reshape(-1, d)
    yf = y.repeat(s) if y is not None else None
    xf = x.unsqueeze(0).expand(s, *x.shape).reshape(-1, *x.shape[1:])
    log_px_z = -model.reconstruction_nll(model.decode_logits(zf, yf), xf).view(s, -1)
    return log_px_z + model.log_prior(zf).view(s, -1)


def log_weights(model: VAE, x: torch.Tensor, y: torch.Tensor | None, mu: torch.Tensor, logvar: torch.Tensor,
                eps: torch.Tensor) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) at z = mu + sigma * eps for draws eps (S, B, D), shape (S, B):
    q(z|x) = N(mu, sigma^2) is any Gaussian posterior (the encoder's, or one optimised for x), p(z) the model's."""
    z = mu + torch.exp(0.5 * logvar) * eps  # (S, B, D)
    return log_joint(model, x, y, z) - log_normal(z, mu, logvar)


@torch.inference_mode()
def importance_log_weights(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None, k: int = 100,
                           chunk: int = 50) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for k samples z_i ~ q(z|x) of the encoder, shape (k, B). The
    kind draws them (vae_core.model.variants: a Gaussian's reparameterization, a hierarchy's draws top-down).

    Their mean estimates the ELBO; log (1/k) sum_i w_i estimates log p(x) from below (the IWAE bound)."""
    model.eval()
    parts = []
    for start in range(0, k, chunk):
        z, log_q = model.variant.posterior_draws(model, x, y, min(chunk, k - start))
        parts.append(log_joint(model, x, y, z) - log_q)
    return torch.cat(parts, 0)


def iwae_neg_log_likelihood(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None, k: int = 100,
                            chunk: int = 50) -> torch.Tensor:
    """-log p(x) estimated with k importance samples from q(z|x), per image (B,).

    log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x); the bound tightens as k grows
    and equals the ELBO at k = 1.
    """
    lw = importance_log_weights(model, x, y, k, chunk)
    return -(torch.logsumexp(lw, 0) - math.log(k))


def evaluate_model(model: VAE, images: torch.Tensor, labels: torch.Tensor, *, iwae_k: int = 100,
                   iwae_images: int = 1000, seed: int = 0, batch_size: int = 1000) -> dict:
    """Everything ``python -m vae_core evaluate`` prints, as a plain dict."""
    device = model.device
    images, labels = images.to(device), labels.to(device)
    terms = evaluate_terms(model, images, labels, batch_size=batch_size, seed=seed)
    neg_elbo, recon, kl = terms["neg_elbo"], terms["recon"], terms["kl"]
    mu, logvar = encode_dataset(model, images, labels)
    kl_dims = model.variant.kl_per_dim(mu, logvar)
    n_active, variances = active_units(mu)
    result = {
        "n_images": int(len(images)),
        "neg_elbo": neg_elbo, "recon": recon, "kl": kl,
        # None when the KL does not split by dimension (its prior couples them: the variant says so)
        "kl_per_dim": None if kl_dims is None else [round(float(v), 6) for v in kl_dims.mean(0)],
        "active_units": n_active,
        "latent_dim": model.latent_dim,
        "activity_per_dim": [round(float(v), 6) for v in variances],
        # every named loss term beyond recon and kl (a hierarchical VAE's KL per level, a VQ-VAE's commitment)
        "terms": {k: v for k, v in terms.items() if k not in ("neg_elbo", "recon", "kl")},
        "measures": _measures(model, images, labels),
    }
    if not model.variant.has_prior:
        aux, title = model.variant.aux_terms, model.variant.title
        title = title if title[:2].isupper() else title.lower()  # "autoencoder", but "VQ-VAE"
        result["iwae_neg_log_likelihood"] = None
        result["note"] = (f"a plain {title} has no prior and so defines no p(x): the loss is the "
                          + (f"reconstruction term plus {' and '.join(aux)}" if aux else "reconstruction term alone"))
        return result
    n = min(iwae_images, len(images))
    total = 0.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.inference_mode():
            for i in range(0, n, 100):
                y = labels[i:min(i + 100, n)] if model.variant.conditional else None
                total += float(iwae_neg_log_likelihood(model, images[i:min(i + 100, n)], y, k=iwae_k).sum())
    result.update({"iwae_neg_log_likelihood": total / max(n, 1), "iwae_k": iwae_k, "iwae_images": n})
    return result


@torch.inference_mode()
def _measures(model: VAE, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The kind's own measures (vae_core.model.variants: a VQ-VAE's codebook usage) over all the images."""
    model.eval()
    y = labels if model.variant.conditional else None
    return {k: float(v) for k, v in model.variant.measures(model, images, y).items()}
