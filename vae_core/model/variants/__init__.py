"""The kinds of model, as data. ``ModelConfig.kind`` names one; the trainer, the evaluator, the command line
and the app's pages ask its Variant (vae_core.model.variants.base) instead of branching on the kind.

A new kind is a module in this package with a Variant subclass, and its line in VARIANTS.
"""
from __future__ import annotations

from .autoencoder import Autoencoder
from .base import NoOptions, Variant
from .hierarchical import LadderVAE
from .vae import ConditionalVAE, StandardVAE
from .vamp import VampPriorVAE
from .vq import VQVAE

VARIANTS: dict[str, Variant] = {v.kind: v for v in (StandardVAE(), ConditionalVAE(), Autoencoder(), VampPriorVAE(),
                                                    VQVAE(), LadderVAE())}
KINDS = tuple(VARIANTS)


def variant(kind: str) -> Variant:
    """The registered variant of a kind; ValueError naming the kinds there are."""
    try:
        return VARIANTS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"kind={kind!r} is not one of {', '.join(map(repr, KINDS))}") from None


def kind_from_flags(conditional: bool = False, autoencoder: bool = False) -> str:
    """The kind of a config written before kinds existed, from its two flags."""
    if conditional and autoencoder:
        raise ValueError("autoencoder=True and conditional=True: choose one (the conditional model is a VAE)")
    return "ae" if autoencoder else "cvae" if conditional else "vae"


__all__ = ["KINDS", "VARIANTS", "NoOptions", "Variant", "kind_from_flags", "variant"]
