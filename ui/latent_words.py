"""How the app names a model's latent and its score, asked of the model's variant (its capabilities), never of
its kind's name.

- z's true size: ``describe(cfg).latent_size`` (a VQ-VAE's ``cfg.latent_dim`` is the size of one code, and z
  is a map of them: 8 x 7 x 7 = 392 numbers);
- its levels: a hierarchical model's z = (z1, z2) is labelled by level ("z1[3]", "z2[1]"), so a dimension's
  name never clashes with a level's;
- its score: a model with a prior and KL terms is scored by the negative ELBO; one without (an autoencoder, a
  VQ-VAE) by its reconstruction, which is no bound on -log p(x).
"""
from __future__ import annotations

from vae_core.model.architecture import describe


def latent_shape(cfg) -> tuple[int, ...]:
    """One image's z as the decoder takes it: (D,), or (D, h, w) for a map of codes."""
    return tuple(describe(cfg).latent_shape)


def latent_size(cfg) -> int:
    """How many numbers one image's z holds (the width of mu and z on every page)."""
    return describe(cfg).latent_size


def levels(cfg) -> tuple[tuple[str, int, int], ...]:
    """The latent's levels as (name, first, last + 1), top level last."""
    return tuple(cfg.variant.latent_levels(cfg))


def has_levels(cfg) -> bool:
    """z is made of more than one level (a hierarchical model)."""
    return len(levels(cfg)) > 1


def code_grid(cfg) -> tuple[int, int]:
    """(h, w): the positions of a map of codes (one code each)."""
    shape = latent_shape(cfg)
    return (int(shape[1]), int(shape[2])) if len(shape) == 3 else (1, 1)


def dim_label(cfg, d: int) -> str:
    """The name of dimension d of z: "z4" for one level; "z1[3]" (level z1, its third) for several."""
    found = levels(cfg)
    if len(found) == 1:
        return f"z{d + 1}"
    for name, first, last in found:
        if first <= d < last:
            return f"{name}[{d - first + 1}]"
    return f"z{d + 1}"


def dim_labels(cfg) -> list[str]:
    return [dim_label(cfg, d) for d in range(latent_size(cfg))]


def top_level(cfg) -> tuple[str, int, int] | None:
    """The top level (name, first, last + 1) of a model with several, else None."""
    found = levels(cfg)
    return found[-1] if len(found) > 1 else None


def latent_summary(cfg) -> str:
    """z in a few words: "latent dim 2"; "z: a 7x7 grid of codes, each one of 64 vectors of 8 numbers";
    "latent dim 10: z1 8 + z2 2"."""
    kind = cfg.variant
    if kind.discrete_latent:
        h, w = code_grid(cfg)
        return (f"z: a {h}x{w} grid of codes, each one of {codebook_size(cfg)} vectors of {cfg.latent_dim} numbers "
                f"({latent_size(cfg)} numbers in all)")
    found = levels(cfg)
    if len(found) > 1:
        parts = " + ".join(f"{name} {last - first}" for name, first, last in found)
        return f"latent dim {latent_size(cfg)}: {parts}"
    return f"latent dim {latent_size(cfg)}"


def codebook_size(cfg) -> int:
    """K, the codes in a discrete model's codebook (its tensor's first size)."""
    return int(describe(cfg).tensors["codebook"].shape[0])


def scored_by_elbo(kind) -> bool:
    """The model has a prior and a KL term: its loss is the negative ELBO, a bound on -log p(x)."""
    return bool(kind.has_prior and kind.kl_terms)


def score_name(kind) -> str:
    """What a model's test score is called: "-ELBO", or "reconstruction" for a model without a prior."""
    return "-ELBO" if scored_by_elbo(kind) else "reconstruction"


def score_line(kind, metrics: dict) -> str | None:
    """The test score in words, from a checkpoint's recorded metrics; None when none is recorded."""
    if scored_by_elbo(kind):
        value = metrics.get("test_neg_elbo")
        return None if value is None else f"test -ELBO {value:.1f} nats"
    value = metrics.get("test_recon", metrics.get("test_neg_elbo"))
    if value is None:
        return None
    extra = "".join(f", {name} {metrics[f'test_{name}']:.2f}" for name in kind.aux_terms if f"test_{name}" in metrics)
    return f"test reconstruction {value:.1f} nats{extra} (no prior: no ELBO)"


def a_kind(kind) -> str:
    """The kind's title with its article, as a sentence says it: "an autoencoder", "a VQ-VAE"."""
    first = kind.title.split()[0]
    title = kind.title if any(c.isupper() for c in first[1:]) else kind.title[:1].lower() + kind.title[1:]
    return ("an " if title[:1].lower() in "aeio" else "a ") + title
