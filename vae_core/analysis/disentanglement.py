"""Disentanglement: how well a model's latent dimensions line up with the factors that made the data.

Everything here reads two arrays of the same images: ``codes`` (N, D), the mean of q(z|x) of each image (the
representation scored in common practice, Locatello et al. 2019), and ``factors`` (N, K), each image's index into
each factor's values (vae_core.data.sprites). Three measures:

- the mutual information I(z_j; v_k) of every dimension with every factor, (D, K) nats, each dimension discretised
  into 20 equal-width bins over its range (Locatello et al.'s histogram discretisation). Divided by the factor's
  entropy H(v_k) it is the share of the factor a dimension tells: what names a traversal's rows ("z3 is
  orientation": the factor dimension 3 tells most of);
- MIG, the mutual information gap (Chen et al. 2018): for each factor, the gap between the two dimensions that tell
  most about it, over its entropy, averaged over factors. 1: each factor is told by one dimension alone; 0: by none,
  or by two equally;
- DCI (Eastwood & Williams 2018): a predictor per factor from all dimensions gives an importance matrix R (D, K);
  disentanglement D is 1 minus each dimension's entropy over factors (base K), weighted by the dimension's share of
  all importance; completeness C is 1 minus each factor's entropy over dimensions (base D), averaged over factors;
  informativeness I is how well the predictors predict the factors on codes they were not fitted on.

The DCI predictor is gradient-boosted trees (scikit-learn's defaults: 100 trees of depth 3), as Locatello et al.
use: trees capture relations Eastwood & Williams' Lasso cannot (a position told by two dimensions on a curve, an
angle on a circle), and their impurity importances are non-negative and sum to 1 per factor. A categorical factor
(the shape) gets a classifier and its informativeness is held-out accuracy; an ordered factor (scale, orientation,
position) gets a regressor on its index and its informativeness is held-out R^2 (clipped at 0). A classifier over
an ordered factor's 32 or 40 values would fit that many trees per stage: 52 s per factor here against 0.8 s, and
it spreads importance onto dimensions that carry only noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

BINS = 20  # equal-width bins per latent dimension for the mutual information (Locatello et al. 2019)
DCI_POINTS = 6000  # codes DCI fits and tests its predictors on at most (a seeded choice)
DCI_TRAIN_SHARE = 2 / 3  # of those, the share the predictors are fitted on; the rest measures informativeness


class DisentanglementError(ValueError):
    """The codes and factors cannot be scored; the message says what is wrong with them."""


def _check(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise DisentanglementError(f"codes (N, D) and factors (N, K) of the same N images are needed, got "
                                   f"{codes.shape} and {factors.shape}")
    if len(codes) < 2:
        raise DisentanglementError(f"{len(codes)} images: at least 2 are needed")
    if factors.dtype.kind not in "iu" or factors.min() < 0:
        raise DisentanglementError("factors must be non-negative integer indices into each factor's values")
    if not np.isfinite(codes).all():
        raise DisentanglementError("the codes hold NaN or infinite values")
    return codes, factors.astype(np.int64)


def discretize(codes: np.ndarray, bins: int = BINS) -> np.ndarray:
    """(N, D) int bin index of each code in its dimension's ``bins`` equal-width bins over its range; a dimension
    that does not vary is all in bin 0."""
    codes = np.asarray(codes, dtype=np.float64)
    low, high = codes.min(0), codes.max(0)
    width = np.where(high > low, high - low, 1.0)
    return np.clip(np.floor((codes - low) / width * bins), 0, bins - 1).astype(np.int64)


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats of two (N,) non-negative int arrays, from their joint counts."""
    nb = int(b.max()) + 1
    joint = np.bincount(a * nb + b, minlength=(int(a.max()) + 1) * nb).reshape(-1, nb) / len(a)
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def factor_entropy(factors: np.ndarray) -> np.ndarray:
    """(K,) H(v_k) in nats of each factor's values over the images."""
    factors = np.asarray(factors, dtype=np.int64)
    return np.array([_mutual_information(f, f) for f in factors.T])


def mutual_information(codes: np.ndarray, factors: np.ndarray, bins: int = BINS) -> np.ndarray:
    """(D, K) I(z_j; v_k) in nats, each dimension discretised into ``bins`` equal-width bins."""
    codes, factors = _check(codes, factors)
    z = discretize(codes, bins)
    return np.array([[_mutual_information(z[:, j], factors[:, k]) for k in range(factors.shape[1])]
                     for j in range(codes.shape[1])])


@dataclass(frozen=True)
class MIG:
    score: float  # the mean over factors of the per-factor gaps
    per_factor: np.ndarray  # (K,) (I_first - I_second) / H(v_k)
    mutual_information: np.ndarray  # (D, K) nats
    entropy: np.ndarray  # (K,) nats
    ceiling: float  # the score of a perfect code with these bins: a factor of more values than bins loses some

    @property
    def normalized(self) -> np.ndarray:
        """(D, K) I(z_j; v_k) / H(v_k): the share of each factor each dimension tells, in [0, 1]."""
        return self.mutual_information / self.entropy[None, :]


def mig(codes: np.ndarray, factors: np.ndarray, bins: int = BINS) -> MIG:
    """The mutual information gap of Chen et al. (2018) on discretised codes."""
    codes, factors = _check(codes, factors)
    if codes.shape[1] < 2:
        raise DisentanglementError("MIG compares the two most informative dimensions: the codes need at least 2")
    entropy = factor_entropy(factors)
    if (entropy <= 0).any():
        k = int(np.argmin(entropy))
        raise DisentanglementError(f"factor {k} takes a single value in these images: it has no information to "
                                   "find, so leave it out or give images in which it varies")
    mi = mutual_information(codes, factors, bins)
    top2 = -np.sort(-mi, axis=0)[:2]  # (2, K): the largest and second largest over dimensions
    per_factor = (top2[0] - top2[1]) / entropy
    # a perfect code is the factor itself: binned, it keeps H(bin(v_k)) of H(v_k) (0.81 of the 40 orientations)
    ceiling = float((factor_entropy(discretize(factors, bins)) / entropy).mean())
    return MIG(float(per_factor.mean()), per_factor, mi, entropy, ceiling)


def dimension_factors(result: MIG) -> list[tuple[int, float]]:
    """For each dimension j: (the factor it tells most of, the share of that factor it tells, I / H)."""
    share = result.normalized
    best = share.argmax(1)
    return [(int(k), float(share[j, k])) for j, k in enumerate(best)]


# ---------------------------------------------------------------- DCI


def _entropy_base(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy in base ``base`` of each column of p (rows: outcomes), each column normalised to sum to 1; a column
    of zeros counts as uniform (entropy 1)."""
    total = p.sum(0, keepdims=True)
    q = np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / p.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(q), 0.0)
    return -terms.sum(0) / np.log(base)


def disentanglement_scores(importance: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(D, C, per-dimension D_j, per-factor C_k) of a (D, K) importance matrix (Eastwood & Williams 2018)."""
    r = np.abs(np.asarray(importance, dtype=np.float64))
    n_dims, n_factors = r.shape
    per_dim = 1.0 - _entropy_base(r.T, n_factors) if n_factors > 1 else np.ones(n_dims)
    per_factor = 1.0 - _entropy_base(r, n_dims) if n_dims > 1 else np.ones(n_factors)
    total = r.sum()
    weight = r.sum(1) / total if total > 0 else np.full(n_dims, 1.0 / n_dims)  # rho_j: a dimension's share
    return float((weight * per_dim).sum()), float(per_factor.mean()), per_dim, per_factor


@dataclass(frozen=True)
class DCI:
    disentanglement: float
    completeness: float
    informativeness: float  # the mean over factors of informativeness_per_factor
    importance: np.ndarray  # (D, K) R: the predictor of factor k's importance of dimension j
    disentanglement_per_dim: np.ndarray  # (D,)
    completeness_per_factor: np.ndarray  # (K,)
    informativeness_per_factor: np.ndarray  # (K,) held-out accuracy (categorical) or R^2 (ordered), in [0, 1]
    fit_index: np.ndarray  # the codes the predictors were fitted on
    held_index: np.ndarray  # the codes informativeness was measured on


def _predictor(categorical: bool, seed: int):
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    return (GradientBoostingClassifier if categorical else GradientBoostingRegressor)(random_state=seed)


def _split(n: int, max_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded choice of at most max_points of n indices, cut into the fitted part and the held-out part."""
    picked = np.random.default_rng(seed).permutation(n)[:min(n, max_points)]
    cut = int(round(len(picked) * DCI_TRAIN_SHARE))
    if cut < 2 or len(picked) - cut < 1:
        raise DisentanglementError(f"{n} images are too few for DCI: it fits predictors on some and tests on others")
    return np.sort(picked[:cut]), np.sort(picked[cut:])


def dci(codes: np.ndarray, factors: np.ndarray, categorical: Sequence[bool] | None = None, *,
        max_points: int = DCI_POINTS, seed: int = 0,
        progress: Callable[[float, str], None] | None = None) -> DCI:
    """Disentanglement, completeness and informativeness (Eastwood & Williams 2018) from gradient-boosted trees.
    ``categorical[k]``: factor k has no order (a classifier predicts it); default: every factor is ordered."""
    codes, factors = _check(codes, factors)
    n_factors = factors.shape[1]
    categorical = [False] * n_factors if categorical is None else [bool(c) for c in categorical]
    if len(categorical) != n_factors:
        raise DisentanglementError(f"categorical has {len(categorical)} entries for {n_factors} factors")
    fit, held = _split(len(codes), max_points, seed)
    importance = np.zeros((codes.shape[1], n_factors))
    informativeness = np.zeros(n_factors)
    for k in range(n_factors):
        if progress is not None:
            progress(k / n_factors, f"DCI: the predictor of factor {k + 1} of {n_factors}")
        try:
            model = _predictor(categorical[k], seed).fit(codes[fit], factors[fit, k])
        except ValueError as e:  # e.g. a classifier whose fitted codes hold a single class
            raise DisentanglementError(f"the predictor of factor {k} cannot be fitted on these {len(fit)} codes "
                                       f"({e}); give more images") from e
        importance[:, k] = model.feature_importances_
        score = model.score(codes[held], factors[held, k])  # accuracy, or R^2 for a regressor
        informativeness[k] = min(max(score, 0.0), 1.0)
    if progress is not None:
        progress(1.0, "DCI: done")
    d, c, per_dim, per_factor = disentanglement_scores(importance)
    return DCI(d, c, float(informativeness.mean()), importance, per_dim, per_factor, informativeness, fit, held)


def summary(codes: np.ndarray, factors: np.ndarray, factor_names: Sequence[str],
            categorical: Sequence[bool] | None = None, *, active: Sequence[bool] | None = None, seed: int = 0,
            progress: Callable[[float, str], None] | None = None) -> dict:
    """MIG, DCI and each dimension's factor as plain JSON values (what ``python -m vae_core evaluate`` prints).
    ``active[j]``: whether dimension j is used (vae_core.model.activity); an unused dimension's mean still moves a
    little with the image, and so can tell a factor, but a traversal of it changes nothing: its label says so."""
    names = [str(n) for n in factor_names]
    if len(names) != np.asarray(factors).shape[1]:
        raise DisentanglementError(f"{len(names)} factor names for {np.asarray(factors).shape[1]} factors")
    active = [True] * np.asarray(codes).shape[1] if active is None else [bool(a) for a in active]
    m = mig(codes, factors)
    d = dci(codes, factors, categorical, seed=seed, progress=progress)
    return {
        "factor_names": names,
        "n_images": int(len(codes)),
        "mig": m.score,
        "mig_ceiling": m.ceiling,
        "mig_bins": BINS,
        "mig_per_factor": dict(zip(names, m.per_factor.round(6).tolist())),
        "dci_disentanglement": d.disentanglement,
        "dci_completeness": d.completeness,
        "dci_informativeness": d.informativeness,
        "dci_informativeness_per_factor": dict(zip(names, d.informativeness_per_factor.round(6).tolist())),
        # dim: the index into z (0-based; the app and the printout call it z{dim + 1})
        "dimension_factor": [{"dim": j, "factor": names[k], "share": round(share, 6), "active": active[j]}
                             for j, (k, share) in enumerate(dimension_factors(m))],
        "mutual_information": m.mutual_information.round(6).tolist(),  # (D, K) nats
        "factor_entropy": m.entropy.round(6).tolist(),
        "dci_importance": d.importance.round(6).tolist(),  # (D, K)
    }
