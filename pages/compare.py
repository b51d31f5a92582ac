"""AE vs VAE: the latent maps of an autoencoder, a VAE and a beta-VAE of the same digits, side by side on the
same test images, with one selection for all three; and what each one decodes from random z."""
from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from ui import presenter, url_state
from ui.common import end_page, page_header
from ui.compare_ui import (REFERENCE, decode_uint8, encode_reference, load_trio, reconstruct, sampling_z,
                             thumbnails)
from ui.export import PLOTLY_CONFIG, map_png_button
from ui.images import show_grid, show_image
from ui.map_plot import class_colours, class_legend, hall_style, hover_previews, latent_map_figure, parse_selection
from vae_core.render import map_layout
SELECTED = "compare_selected"
CHARTS = "compare_maps"  # the container of the three charts (hover previews look inside it)

WHY = ("**Why a VAE?** The autoencoder's codes are scattered, with gaps between clusters and no known "
       "distribution, so a random z often decodes to nonsense. The VAE's KL term pulls q(z|x) towards the prior "
       "N(0, I): the codes fill it without holes, so z ~ N(0, I) decodes to a digit. beta > 1 pulls harder.")
hall = presenter.is_on()
page_header("AE vs VAE", "Three models of the same 8x8 digits with a 2-D latent space, on the same test images: "
            "a plain autoencoder, a VAE and a beta-VAE. Click a dot in any map: the same image is marked in all three."
            + ("\n\n" + WHY if hall else ""))
if not hall:  # on a projector the maps need the room; the bar's About has this
    st.info(WHY, icon=":material/lightbulb:")
    st.caption("This page always shows the three bundled digits models; the sidebar's model is not used here.")

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
n_images = len(sample.labels)
class_names = reference.ckpt.class_names or [str(c) for c in range(10)]
codes = {m.name: encode_reference(m, reference) for m in members}

chosen = url_state.link_index("point", n_images, "one of the stored test images", "no image is selected")
if chosen is not None:
    st.session_state[SELECTED] = chosen
selected = st.session_state.get(SELECTED)
if not isinstance(selected, int) or not 0 <= selected < n_images:
    selected = st.session_state[SELECTED] = None
url_state.write("point", selected)


def _on_select(chart_key: str) -> None:
    state = st.session_state.get(chart_key)
    target = parse_selection(state.get("selection") if state else None)
    if target is not None and target.kind == "point":
        st.session_state[SELECTED] = target.index


def _label(i: int) -> str:
    c = int(sample.labels[i])
    return class_names[c] if c < len(class_names) else str(c)


# -- the three maps -----------------------------------------------------------------------------------
indices = np.arange(n_images)
colours = class_colours(max(len(class_names), int(sample.labels.max()) + 1))
class_legend(class_names, colours, sorted({int(c) for c in sample.labels}))
with st.container(key=CHARTS):
    if hall:  # each map square, as large as its third of the screen allows under the bar and the titles
        st.html(f"<style>.st-key-{CHARTS} [data-testid=stPlotlyChart]"
                f"{{height:min(calc((100vw - 4rem) / 3), calc(100vh - 13rem)) !important}}</style>")
    cols = st.columns(len(members), gap="medium")
    for col, m in zip(cols, members):
        mu = codes[m.name]
        with col:
            st.markdown(f"### {m.title}" if not hall else f"#### {m.title}")
            metrics = m.ckpt.meta.get("metrics") or {}
            if not m.has_prior:
                line = f"recon {metrics.get('test_recon', float('nan')):.1f} nats, no KL, no prior"
            else:
                line = (f"-ELBO {metrics.get('test_neg_elbo', float('nan')):.1f} = recon "
                        f"{metrics.get('test_recon', float('nan')):.1f} + KL {metrics.get('test_kl', float('nan')):.2f}")
            st.caption(f"`{m.name}` · {line}")
            extent = map_layout.map_extent(mu, square=True, include=m.ckpt.prior.view_box() if m.has_prior else None)
            highlight = None if selected is None else (float(mu[selected, 0]), float(mu[selected, 1]))
            fig = latent_map_figure(mu, sample.labels, indices, class_names, axis_titles=("z1", "z2"), extent=extent,
                                    equal_axes=True, prior=m.ckpt.prior.contours() if m.has_prior else None,
                                    highlight=highlight, height=470)
            fig.update_layout(showlegend=False, margin=dict(l=10, r=10, t=10, b=40))
            hall_style(fig)
            key = f"compare_map_{m.name}"
            st.plotly_chart(fig, key=key, on_select=functools.partial(_on_select, key), selection_mode=("points",),
                            config=PLOTLY_CONFIG, height="stretch" if hall else "content")
            if not hall:
                map_png_button(mu, sample.labels, class_names, file_name=f"{m.name}-map.png", key=f"{key}_png",
                               extent=extent, axis_titles=("z1", "z2"), title=f"{m.title} ({m.name})",
                               highlight=highlight, prior=m.ckpt.prior.contours() if m.has_prior else ())
    hover_previews(CHARTS, thumbnails(reference))
st.caption("Colours are the digit classes 0-9 (hover a dot to see its image); dashed circles: the prior N(0, I) "
           "at 1, 2 and 3 sigma. The autoencoder's axes have their own scale: nothing ties its codes to N(0, I).")

# -- one image through all three ------------------------------------------------------------------------
if selected is None:
    st.markdown("#### Click a dot in any map to follow that image through all three models.")
else:
    st.subheader(f"Image #{selected} (class {_label(selected)}) through each model")
    cols = st.columns(len(members) + 1)
    with cols[0]:
        show_image(sample.images[selected], caption="the test image x", target=200)
    for col, m in zip(cols[1:], members):
        with col:
            mu = codes[m.name][selected]
            show_image(reconstruct(m, sample.images[selected]), target=200,
                       caption=f"{m.title}: decode(mu), mu = ({mu[0]:.2f}, {mu[1]:.2f})")

# -- sampling -----------------------------------------------------------------------------------------------
st.subheader("Decoding random z: what each model generates")
st.caption("The same 16 draws eps ~ N(0, I) for every model. For the VAEs, z = eps is a sample of their prior. The "
           "autoencoder has no prior: its z = mean + std * eps uses the mean and spread of its own codes, the "
           "best one can do without one, and still lands in the gaps between clusters.")
cols = st.columns(len(members), gap="medium")
for col, m in zip(cols, members):
    with col:
        z = sampling_z(m, codes[m.name])
        show_grid(decode_uint8(m, z), ncols=4, cell=100, caption=m.title)
