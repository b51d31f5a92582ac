"""What the latent map's chosen images are: a map location taken back to latent space, one image's
posterior q(z|x), and a selection of many images, shown beside and below the map (pages/latent_map.py)."""
from __future__ import annotations

import contextlib

import numpy as np
import streamlit as st

from vae_core.analysis import posterior
from vae_core.model.variants.base import Variant
from vae_core.projection import Projection

from .images import describe_z, show_grid, show_image

N_POSTERIOR = 8  # images decoded from samples of q(z|x) for a clicked point
N_SHOWN = 48  # selected images shown below the map


def location_latent(proj: Projection, xy: tuple[float, float], mu: np.ndarray, *,
                    has_prior: bool) -> tuple[np.ndarray, str]:
    """The latent point for a clicked map location and a sentence saying how it was found: the map's own
    inverse where it has one that can run here, else the mu of the nearest encoded image."""
    x, y = xy
    if not (proj.has_inverse and proj.available().ok):
        nearest = int(proj.nearest([[x, y]])[0])
        return mu[nearest], proj.nearest_note(nearest)
    # a slow map restored from disk fits its inverse's object again first (seconds)
    with st.spinner(f"{proj.label} inverse_transform...") if proj.cached_on_disk else contextlib.nullcontext():
        z = proj.inverse_transform([[x, y]])[0]
    return z, proj.inverse_note((x, y), mu.shape[1], has_prior=has_prior)


class ChosenImages:
    """The map's images with their encodings, for what is shown of the chosen ones."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, class_names: list[str], mu: np.ndarray,
                 logvar: np.ndarray, kind: Variant, dim_names: list[str] | None = None):
        self.images, self.labels, self.class_names = images, labels, class_names
        self.mu, self.logvar, self.kind = mu, logvar, kind
        self.dim_names = dim_names  # each dimension's name (by level for a model with several)

    def label_of(self, i: int) -> str:
        c = int(self.labels[i])
        return self.class_names[c] if c < len(self.class_names) else str(c)

    def point_details(self, i: int, recon: np.ndarray, samples: np.ndarray) -> None:
        """One image: x, its reconstruction, samples from q(z|x), and mu, sigma and KL per dimension."""
        import pandas as pd  # not imported before it is needed: the first screen draws sooner

        mu, logvar, kind = self.mu, self.logvar, self.kind
        st.subheader(f"Image #{i} · class {self.label_of(i)}")
        c1, c2, c3 = st.columns([1, 1, 2])
        with c1:
            show_image(self.images[i], caption="the test image x", target=200,
                       alt=f"test image #{i}, class {self.label_of(i)}")
        with c2:
            show_image(recon, caption="reconstruction: decode(mu)", target=200,
                       alt=f"its reconstruction, decoded at its mean {describe_z(mu[i])}")
        with c3:
            if not kind.gaussian_posterior:
                st.info("An autoencoder has no q(z|x) to sample from: its code is the single point z = mu.")
            else:
                show_grid(samples, ncols=4, cell=96,
                          alt=f"{N_POSTERIOR} images decoded from draws of z from q(z|x) around {describe_z(mu[i])}",
                          caption=f"{N_POSTERIOR} samples z = mu + sigma * eps, eps ~ N(0, I), each decoded")
        table = {"mu": mu[i], "sigma": posterior.sigma_from_logvar(logvar[i])}
        kl_dims = kind.kl_per_dim(mu[i:i + 1], logvar[i:i + 1]) if kind.has_prior else None
        if kl_dims is not None:
            table["KL (nats)"] = kl_dims[0]
        st.dataframe(pd.DataFrame(table, index=self.dim_names or [f"z{d + 1}" for d in range(mu.shape[1])]).T.style.format("{:.3f}"),
                     width="stretch")

    def selection_details(self, points: tuple[int, ...], how: str) -> None:
        """Many images (a box, a lasso, a class): how many of each class, and the first N_SHOWN of them."""
        idx = np.asarray(points)
        counts = np.bincount(self.labels[idx], minlength=len(self.class_names))
        by_class = ", ".join(f"{self.label_of(int(np.flatnonzero(self.labels == c)[0]))} {k:,}"
                             for c, k in enumerate(counts) if k)
        where = {"box": "in the box", "lasso": "in the lasso", "class": "of one class (legend)"}.get(how, "")
        st.subheader(f"{len(idx):,} images selected {where}".strip())
        st.caption(f"By class: {by_class}. The others are greyed on the map.")
        shown = idx[:N_SHOWN]
        which = f"The first {len(shown)} of them" if len(idx) > N_SHOWN else "All of them"
        show_grid(self.images[shown], ncols=12, cell=64,
                  alt=f"{len(shown)} of the selected test images, of the classes "
                      + ", ".join(self.label_of(int(i)) for i in shown),
                  caption=f"{which}: images #{', #'.join(str(int(i)) for i in shown[:6])}"
                          f"{', ...' if len(shown) > 6 else ''}")
