"""The amortization gap (Cremer, Li & Duvenaud, 2018): how much of the ELBO's gap to log p(x) is the
encoder's fault.

For one image x the ELBO depends on the posterior q(z|x) = N(mu, sigma^2) it is computed with:
- the encoder's own (mu(x), sigma(x)): the amortized ELBO, what training optimised;
- the best (mu, sigma) for this x alone, found by gradient ascent on its ELBO: the optimised ELBO;
and log p(x) itself is estimated with many importance samples (IWAE). Then

    log p(x) - ELBO_amortized = (log p(x) - ELBO_optimised) + (ELBO_optimised - ELBO_amortized)
                                 approximation gap              amortization gap

the first because a diagonal Gaussian cannot match the true posterior, the second because one network
computes every image's posterior instead of the best one for each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .evaluate import log_weights
from vae_core.model.torch_model import VAE, build_model


@dataclass(frozen=True)
class Gaps:
    """Per image, nats (N,)."""
    elbo_amortized: np.ndarray  # the ELBO with the encoder's q(z|x)
    elbo_optimised: np.ndarray  # the ELBO with (mu, sigma) optimised for the image alone
    log_px: np.ndarray  # log p(x), the IWAE estimate

    @property
    def amortization_gap(self) -> np.ndarray:
        return self.elbo_optimised - self.elbo_amortized

    @property
    def approximation_gap(self) -> np.ndarray:
        return self.log_px - self.elbo_optimised


def _elbo(model: VAE, x: torch.Tensor, y, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The ELBO of each image (B,): the mean of log w over the draws eps (S, B, D), any prior."""
    return log_weights(model, x, y, mu, logvar, eps).mean(0)


def gaps(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None, *, steps: int = 300, lr: float = 0.05,
         samples: int = 16, eval_samples: int = 500, k: int = 2000, seed: int = 0, progress=None) -> Gaps:
    """The three numbers for each image of x (B, C, H, W). The optimisation starts at the encoder's (mu, sigma)
    and runs Adam for ``steps`` on the ELBO with ``samples`` fresh draws a step, its step size decaying to 0 (a
    constant one leaves (mu, sigma) wandering around the optimum by the gradient's noise); both ELBOs are then
    measured with the same ``eval_samples`` draws (common random numbers). Where the encoder's q is already as
    good as the search found (a well-trained encoder, a small gap), the optimised q is the encoder's: the best q
    for the image is at least as good as the one it started from. log p(x) uses ``k`` importance samples from
    the optimised q. ``progress(fraction, text)`` is called as the optimisation goes."""
    if not model.variant.has_prior or not model.variant.gaussian_posterior:
        raise ValueError(f"a {model.variant.title} has no ELBO (no prior or no Gaussian q(z|x)): "
                         "the amortization gap is a VAE's")
    # A copy whose weights can take part in a backward pass (a model built under torch.inference_mode cannot), with
    # its weights frozen: only q's (mu, sigma) move, and the model itself is left as it was found.
    copy = build_model(model.cfg).to(model.device)
    copy.load_state_dict({k: v.detach().clone() for k, v in model.state_dict().items()})
    copy.eval().requires_grad_(False)
    return _gaps(copy, x, y, steps, lr, samples, eval_samples, k, seed, progress)


def _gaps(model: VAE, x, y, steps, lr, samples, eval_samples, k, seed, progress) -> Gaps:
    device = model.device
    x = x.to(device)
    y = y.to(device) if y is not None and model.variant.conditional else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.no_grad():
            mu0, logvar0 = model.encode(x, y)
        mu, logvar = mu0.clone().requires_grad_(True), logvar0.clone().requires_grad_(True)
        opt = torch.optim.Adam([mu, logvar], lr=lr)
        decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        for step in range(steps):
            eps = torch.randn(samples, *mu.shape, device=device)
            loss = -_elbo(model, x, y, mu, logvar, eps).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            decay.step()
            if progress is not None and (step % 20 == 0 or step == steps - 1):
                progress((step + 1) / steps, f"Optimising q(z|x) for each image: step {step + 1} of {steps}")
        with torch.no_grad():
            eps = torch.randn(eval_samples, *mu.shape, device=device)
            amortized = _elbo(model, x, y, mu0, logvar0, eps)
            optimised = _elbo(model, x, y, mu.detach(), logvar.detach(), eps)
            worse = optimised < amortized  # the search ended below its start: the start is the best q found
            mu = torch.where(worse[:, None], mu0, mu.detach())
            logvar = torch.where(worse[:, None], logvar0, logvar.detach())
            optimised = torch.maximum(optimised, amortized)
            log_w = torch.cat([log_weights(model, x, y, mu.detach(), logvar.detach(),
                                           torch.randn(min(500, k - i), *mu.shape, device=device))
                               for i in range(0, k, 500)])
            log_px = torch.logsumexp(log_w, 0) - math.log(k)
    as_np = lambda t: t.double().cpu().numpy()  # noqa: E731
    return Gaps(as_np(amortized), as_np(optimised), as_np(log_px))
