"""The AE vs VAE page's pieces: three bundled 2-D models of the same digits, encoded on the same images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import functools

import numpy as np
import streamlit as st
import torch

from vae_core.store.checkpoints import Checkpoint, CheckpointError
from vae_core.analysis.latent import decode_batch
from vae_core.store.paths import BUNDLED_DIR
from vae_core.render.images import to_uint8

from vae_core.render import map_layout

from . import presenter
from .common import end_page
from .export import PLOTLY_CONFIG, map_png_button
from .images import describe_z, show_grid, show_image
from .loaded_model import LoadedModel, loaded_model
from .map_plot import class_legend, hall_style, hover_previews, latent_map_figure
from .palette import class_colours
from .state import compare as state

TRIO = ("digits-2d-autoencoder", "digits-2d", "digits-2d-beta2")  # same data, same 2-D latent, same test images
REFERENCE = "digits-2d"  # whose stored test images all three encode
N_PRIOR = 16
PRIOR_SEED = 0


@dataclass(frozen=True)
class Member:
    name: str
    loaded: LoadedModel

    @property
    def ckpt(self) -> Checkpoint:
        return self.loaded.checkpoint

    @property
    def title(self) -> str:
        kind = self.ckpt.config.variant
        if not kind.has_prior:  # no KL term for beta to weight
            return kind.title
        beta = float((self.ckpt.meta.get("train_config") or {}).get("beta", 1.0))
        return f"{kind.title} (beta = 1)" if beta == 1.0 else f"beta-{kind.title} (beta = {beta:g})"

    @property
    def has_prior(self) -> bool:
        return self.ckpt.config.variant.has_prior


def load_trio(folder: Path = BUNDLED_DIR) -> tuple[list[Member], list[str]]:
    """The three models that exist and can be loaded, and a message for each one that cannot."""
    members, problems = [], []
    for name in TRIO:
        path = folder / name
        if not (path / "model.safetensors").is_file():
            problems.append(f"{name} is not built (bash checkpoints/rebuild.sh)")
            continue
        try:
            members.append(Member(name, loaded_model(path)))
        except CheckpointError as e:
            problems.append(f"{name} cannot be loaded: {e}")
    return members, problems


def encode_reference(member: Member, reference: Member) -> np.ndarray:
    """mu (N, 2) of the reference model's stored test images under this model's encoder."""
    return member.loaded.encodings_of(reference.loaded)


@torch.inference_mode()
def reconstruct(member: Member, image: np.ndarray) -> np.ndarray:
    """decode(mu(x)) of one uint8 image (H, W), as (C, H, W) floats."""
    x = torch.from_numpy(np.asarray(image, np.float32) / 255.0)[None, None]
    mu, _ = member.ckpt.model.encode(x)
    return decode_batch(member.ckpt.model, mu)[0]


def sampling_z(member: Member, codes: np.ndarray, n: int = N_PRIOR, seed: int = PRIOR_SEED) -> np.ndarray:
    """The z a sampler would decode, from the same eps ~ N(0, I) for every model: z = eps for a VAE (its
    prior); for an autoencoder, which has no prior, z = mean + std * eps with the mean and spread of its codes."""
    eps = np.random.default_rng(seed).standard_normal((n, codes.shape[1])).astype(np.float32)
    if not member.has_prior:
        return codes.mean(0) + codes.std(0) * eps
    return eps


def decode_uint8(member: Member, z: np.ndarray) -> np.ndarray:
    return to_uint8(decode_batch(member.ckpt.model, z))


def thumbnails(member: Member) -> dict:
    """The member's stored test images on one PNG sheet, for the hover previews."""
    return member.loaded.thumbnails()


# ---------------------------------------------------------------- the page's parts

CHARTS = "compare_maps"  # the container of the three charts (hover previews look inside it)
WHY = ("**Why a VAE?** The autoencoder's codes are scattered, with gaps between clusters and no known "
       "distribution, so a random z often decodes to nonsense. The VAE's KL term pulls q(z|x) towards the prior "
       "N(0, I): the codes fill it without holes, so z ~ N(0, I) decodes to a digit. beta > 1 pulls harder.")


@dataclass
class Trio:
    """The three models, their codes of the reference's stored test images, and the chosen image."""

    members: list[Member]
    reference: Member
    codes: dict[str, np.ndarray]
    selected: int | None

    @property
    def sample(self):
        return self.reference.ckpt.sample

    @property
    def class_names(self) -> list[str]:
        return self.reference.ckpt.class_names or [str(c) for c in range(10)]

    def label(self, i: int) -> str:
        c = int(self.sample.labels[i])
        return self.class_names[c] if c < len(self.class_names) else str(c)


def trio_ui() -> Trio:
    """Load the three models (saying what is missing); ends the page when fewer than two can be shown."""
    members, problems = load_trio()
    for p in problems:
        st.warning(f"{p}.")
    if len(members) < 2:
        end_page()
    reference = next((m for m in members if m.name == REFERENCE), members[0])
    sample = reference.ckpt.sample
    if sample is None or len(sample.labels) == 0:
        st.warning(f"{reference.name} stores no test images to compare on.")
        end_page()
    codes = {m.name: encode_reference(m, reference) for m in members}
    return Trio(members, reference, codes, state.start(len(sample.labels)))


def _metrics_line(m: Member) -> str:
    metrics = m.ckpt.meta.get("metrics") or {}
    nan = float("nan")
    if not m.has_prior:
        return f"recon {metrics.get('test_recon', nan):.1f} nats, no KL, no prior"
    return (f"-ELBO {metrics.get('test_neg_elbo', nan):.1f} = recon {metrics.get('test_recon', nan):.1f} + KL "
            f"{metrics.get('test_kl', nan):.2f}")


def _one_map(trio: Trio, m: Member, hall: bool) -> None:
    sample, selected, mu = trio.sample, trio.selected, trio.codes[m.name]
    st.markdown(f"### {m.title}" if not hall else f"#### {m.title}")
    st.caption(f"`{m.name}` · {_metrics_line(m)}")
    prior = m.ckpt.prior.contours() if m.has_prior else None
    extent = map_layout.map_extent(mu, square=True, include=m.ckpt.prior.view_box() if m.has_prior else None)
    highlight = None if selected is None else (float(mu[selected, 0]), float(mu[selected, 1]))
    fig = latent_map_figure(mu, sample.labels, np.arange(len(sample.labels)), trio.class_names,
                            axis_titles=("z1", "z2"), extent=extent, equal_axes=True, prior=prior,
                            highlight=highlight, height=470)
    fig.update_layout(showlegend=False, margin=dict(l=10, r=10, t=10, b=40))
    hall_style(fig)
    key = f"compare_map_{m.name}"
    st.plotly_chart(fig, key=key, on_select=functools.partial(state.on_select, key), selection_mode=("points",),
                    config=PLOTLY_CONFIG, height="stretch" if hall else "content")
    if not hall:
        map_png_button(mu, sample.labels, trio.class_names, file_name=f"{m.name}-map.png", key=f"{key}_png",
                       extent=extent, axis_titles=("z1", "z2"), title=f"{m.title} ({m.name})",
                       highlight=highlight, prior=prior or ())


def maps_ui(trio: Trio) -> None:
    """The three latent maps side by side, one legend for all, hover previews of the images."""
    hall = presenter.is_on()
    colours = class_colours(max(len(trio.class_names), int(trio.sample.labels.max()) + 1))
    class_legend(trio.class_names, colours, sorted({int(c) for c in trio.sample.labels}))
    with st.container(key=CHARTS):
        if hall:  # each map square, as large as its third of the screen allows under the bar and the titles
            st.html(f"<style>.st-key-{CHARTS} [data-testid=stPlotlyChart]"
                    f"{{height:min(calc((100vw - 4rem) / 3), calc(100vh - 13rem)) !important}}</style>")
        for col, m in zip(st.columns(len(trio.members), gap="medium"), trio.members):
            with col:
                _one_map(trio, m, hall)
        hover_previews(CHARTS, thumbnails(trio.reference))
    st.caption("Colours are the digit classes 0-9 (point at a dot with the mouse to see its image); dashed circles: "
               "the prior N(0, I) at 1, 2 and 3 sigma. The autoencoder's axes have their own scale: nothing ties its codes "
               "to N(0, I).")


def why_ui() -> None:
    """Why a VAE, in a sentence or three (on a projector the scene bar's About holds it)."""
    if not presenter.is_on():
        st.info(WHY, icon=":material/lightbulb:")


def follow_ui(trio: Trio) -> None:
    """The chosen image and its reconstruction by each model."""
    selected = trio.selected
    if selected is None:
        st.markdown("#### Click a dot in any map to follow that image through all three models.")
        return
    st.subheader(f"Image #{selected} (class {trio.label(selected)}) through each model")
    cols = st.columns(len(trio.members) + 1)
    with cols[0]:
        show_image(trio.sample.images[selected], caption="the test image x", target=200,
                   alt=f"test image #{selected}, class {trio.label(selected)}")
    for col, m in zip(cols[1:], trio.members):
        with col:
            mu = trio.codes[m.name][selected]
            show_image(reconstruct(m, trio.sample.images[selected]), target=200,
                       alt=f"image #{selected} as the {m.title} ({m.name}) reconstructs it, decoded at its "
                           f"{describe_z(mu)}",
                       caption=f"{m.title}: decode(mu), mu = ({mu[0]:.2f}, {mu[1]:.2f})")


def sampling_ui(trio: Trio) -> None:
    """What each model decodes from the same random draws."""
    st.subheader("Decoding random z: what each model generates")
    st.caption("The same 16 draws eps ~ N(0, I) for every model. For the VAEs, z = eps is a sample of their prior. "
               "The autoencoder has no prior: its z = mean + std * eps uses the mean and spread of its own codes, "
               "the best one can do without one, and still lands in the gaps between clusters.")
    for col, m in zip(st.columns(len(trio.members), gap="medium"), trio.members):
        with col:
            show_grid(decode_uint8(m, sampling_z(m, trio.codes[m.name])), ncols=4, cell=100, caption=m.title,
                      alt=f"16 images the {m.title} ({m.name}) decodes from the same 16 random draws, in rows of 4")
