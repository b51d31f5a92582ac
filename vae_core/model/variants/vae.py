"""The VAE of Kingma & Welling (2014), and the conditional VAE of Sohn et al. (2015)."""
from __future__ import annotations

from .base import Variant


class StandardVAE(Variant):
    """q(z|x) = N(mu(x), sigma^2(x)), p(x|z), p(z) = N(0, I): the base class's defaults."""


class ConditionalVAE(Variant):
    kind = "cvae"
    title = "Conditional VAE"
    help = "the label y is given to encoder and decoder, so z only keeps the style."
    run_name_suffix = "-cvae"
    conditional = True
