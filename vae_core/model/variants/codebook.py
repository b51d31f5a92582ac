"""A VQ-VAE's codebook in torch: the nearest code of each vector, the codebook's updates by exponential moving
averages, and the restart of codes no vector uses.

The updates are those of van den Oord et al. (2017), Appendix A.1, as maintained practice runs them
(vector-quantize-pytorch's Codebook, which tests/test_vqvae.py holds these functions to): per batch,

    N_k <- g N_k + (1 - g) n_k              n_k: how many vectors chose code k
    m_k <- g m_k + (1 - g) sum of those vectors
    e_k  = m_k / N~_k                        N~: N with Laplace smoothing, (N_k + eps) / (sum N + K eps) * sum N

and a code whose count N_k has fallen below a threshold (it is "dead": almost no vector chooses it) starts again
at a vector of the batch, chosen at random, with N_k at the threshold (Dhariwal et al. 2020, "Jukebox"). Every
function changes the tensors it is given in place and is run without gradients.
"""
from __future__ import annotations

import torch

LAPLACE_EPS = 1e-5  # the counts' additive smoothing, so that a code's vector is defined when its count is 0


def nearest(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """(N,) the index of the nearest code (K, D) to each vector (N, D), by Euclidean distance."""
    distances = (vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codebook.T + codebook.pow(2).sum(1))
    return distances.argmin(1)


@torch.no_grad()
def ema_update_(codebook: torch.Tensor, count: torch.Tensor, total: torch.Tensor, vectors: torch.Tensor,
                index: torch.Tensor, decay: float) -> None:
    """One moving-average step: count (K,) and total (K, D) move towards this batch's assignments of vectors
    (N, D) to codes ``index`` (N,), and each code becomes its smoothed mean."""
    k = len(codebook)
    assigned = torch.bincount(index, minlength=k).to(count.dtype)
    sums = torch.zeros_like(total).index_add_(0, index, vectors.to(total.dtype))
    count.lerp_(assigned, 1.0 - decay)
    total.lerp_(sums, 1.0 - decay)
    n = count.sum()
    smoothed = (count + LAPLACE_EPS) / (n + k * LAPLACE_EPS) * n
    codebook.copy_(total / smoothed[:, None])


@torch.no_grad()
def restart_dead_(codebook: torch.Tensor, count: torch.Tensor, total: torch.Tensor, vectors: torch.Tensor,
                  threshold: float) -> int:
    """Codes whose count is below ``threshold`` start again at vectors of the batch (N, D), chosen at random
    without repeats (with repeats only when the batch holds fewer vectors than there are dead codes, and then
    only as many codes as vectors restart now, the others at a later batch). Returns how many restarted."""
    dead = count < threshold
    n_dead, n = int(dead.sum()), len(vectors)
    if n_dead == 0 or n == 0:
        return 0
    if n_dead > n:  # fewer vectors than dead codes: restart a random n of them now
        chosen = dead.nonzero(as_tuple=True)[0][torch.randperm(n_dead, device=dead.device)[:n]]
        dead = torch.zeros_like(dead)
        dead[chosen] = True
        n_dead = n
    sampled = vectors[torch.randperm(n, device=vectors.device)[:n_dead]].to(codebook.dtype)
    codebook[dead] = sampled
    count[dead] = threshold
    total[dead] = sampled * threshold
    return n_dead


def to_vectors(z: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, D*h*w) latent maps, flattened in (D, h, w) order -> (B*h*w, D): one vector per position."""
    return z.reshape(len(z), dim, -1).transpose(1, 2).reshape(-1, dim)


def from_vectors(vectors: torch.Tensor, batch: int) -> torch.Tensor:
    """(B*h*w, D) -> (B, D*h*w): the inverse of to_vectors."""
    dim = vectors.shape[1]
    return vectors.reshape(batch, -1, dim).transpose(1, 2).reshape(batch, -1)
