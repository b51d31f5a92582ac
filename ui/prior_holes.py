"""The Trade-offs page's prior holes: the aggregate posterior q(z), the mixture of the stored images'
posteriors, as a density against the prior p(z); KL(q(z) || p(z)); and prior samples coloured by q's density
where they land, decoded: the ones that fall in a hole of q decode badly. An autoencoder and a VAE side by side."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core.analysis import aggregate_posterior as agg
from vae_core.analysis.latent import decode_batch
from vae_core.render.map_layout import map_extent
from vae_core.model.priors import StandardNormal
from vae_core.render.images import to_uint8

from . import presenter, url_state
from .common import explanation
from .images import show_grid
from .latent_words import dim_label
from .levels_ui import native_axes
from .loaded_model import LoadedModel, loaded_model
from .map_plot import hall_style
from .model_choices import model_choices

N_SAMPLES = 16  # prior draws decoded per model
KL_IMAGES = 2000  # stored images whose posteriors make q(z) for the KL over every dimension
DEFAULTS = ("digits-2d-autoencoder", "digits-2d")


def _sampler(loaded: LoadedModel, mu: np.ndarray) -> tuple[np.ndarray, str]:
    """The z a sampler decodes: the prior's draws; an autoencoder has none, so N(mean, spread of its codes)."""
    if loaded.variant.has_prior:
        return loaded.checkpoint.prior.sample(N_SAMPLES, seed=0), f"z ~ {loaded.checkpoint.prior.name}"
    eps = np.random.default_rng(0).standard_normal((N_SAMPLES, mu.shape[1])).astype(np.float32)
    return mu.mean(0) + mu.std(0) * eps, "z = mean + spread of its codes times eps ~ N(0, I) (it has no prior)"


def _panel(loaded: LoadedModel, key: str, chart_col, detail_col) -> None:
    """One model's plane in ``chart_col`` (the view's figure, drawn in a row with the other model's), and what
    its prior samples decode to, with the KL, in ``detail_col`` below."""
    ckpt = loaded.checkpoint
    if loaded.variant.discrete_latent:
        chart_col.info(f"{ckpt.name} is a {loaded.variant.title}: its z is a grid of codes, each one of the codebook's "
                       "vectors, so q(z) is a set of points and has no density to set against a prior, and its stand-in "
                       "prior (uniform codes) is not learned. The Latent map page shows its codebook and how often each "
                       "code is used; pick a VAE here to see holes.")
        return
    mu, logvar = loaded.encodings()
    d = loaded.latent_size
    name = lambda v: dim_label(loaded.config, v)  # noqa: E731
    if d < 2 or len(mu) == 0:
        chart_col.info(f"{ckpt.name} has {'one latent dimension' if d < 2 else 'no stored images'}: no plane to draw.")
        return
    dims = native_axes(loaded)
    if d > 2:
        a, b = chart_col.columns(2)
        i = a.selectbox("Horizontal axis", range(d), index=dims[0], key=f"{key}_x", format_func=name)
        j = b.selectbox("Vertical axis", [v for v in range(d) if v != i], key=f"{key}_y",
                        index=max(0, [v for v in range(d) if v != i].index(dims[1]) if dims[1] != i else 0),
                        format_func=name)
        dims = (int(i), int(j))
    has_prior = loaded.variant.has_prior
    spread = logvar if has_prior else agg.kernel_logvar(mu)
    prior = ckpt.prior if has_prior else StandardNormal(d)
    plane_prior = prior.marginal(dims)
    z, how = _sampler(loaded, mu)
    extent = map_extent(np.vstack([mu[:, dims], z[:, dims]]), include=plane_prior.view_box(), square=True)
    xs, ys, points = agg.grid(extent, 120)
    log_q = agg.log_density(points, mu, spread, dims).reshape(len(ys), len(xs))
    at_z = agg.log_density(z[:, dims], mu, spread, dims)
    fig = go.Figure(go.Contour(x=xs, y=ys, z=np.maximum(log_q, log_q.max() - 12), colorscale="Greys",
                               reversescale=True, showscale=False, contours=dict(coloring="heatmap"), line_width=0,
                               hovertemplate="log q(z) %{z:.1f}<extra></extra>", name="q(z)"))
    for _, px, py in plane_prior.contours():
        fig.add_trace(go.Scatter(x=px, y=py, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color="#2563eb", width=2, dash="dash")))
    order = np.argsort(at_z)
    fig.add_trace(go.Scatter(
        x=z[order, dims[0]], y=z[order, dims[1]], mode="markers+text", text=[str(k + 1) for k in range(len(z))],
        textposition="top center", textfont=dict(size=11), showlegend=False,
        marker=dict(size=12, color=at_z[order], colorscale="RdYlGn", line=dict(color="black", width=1),
                    colorbar=dict(title="log q(z)", thickness=12)),
        hovertemplate="sample %{text}: log q(z) %{marker.color:.1f}<extra></extra>"))
    fig.update_layout(height=360 if presenter.is_on() else 430, margin=dict(l=10, r=10, t=10, b=10), font=dict(size=13), showlegend=False,
                      xaxis=dict(title=name(dims[0]), range=extent[:2], constrain="domain"),
                      yaxis=dict(title=name(dims[1]), range=extent[2:], scaleanchor="x", constrain="domain"))
    chart_col.plotly_chart(hall_style(fig), key=f"{key}_chart", config={"displayModeBar": False})
    kl_plane = agg.kl_to_prior_on_plane(mu, spread, dims, plane_prior.log_density)
    line = f"KL(q(z) || p(z)) on ({name(dims[0])}, {name(dims[1])}): **{kl_plane:.2f} nats**"
    if has_prior and d > 2:
        with st.spinner("Measuring KL(q(z) || p(z))..."):
            kl, se = loaded.aggregate_kl(KL_IMAGES)
        line += f"; over all {d} dimensions: **{kl:.2f} ± {se:.2f} nats** (Monte Carlo)"
    detail_col.markdown(line)
    images = to_uint8(decode_batch(ckpt.model, z[order]))
    with detail_col:
        show_grid(images, ncols=8, cell=64,
                  alt=f"the {N_SAMPLES} draws from the prior, decoded by {ckpt.name}, in rows of 8, from the lowest "
                      "density of q(z) where they land to the highest",
                  caption=f"The {N_SAMPLES} draws ({how}), decoded, numbered as on the map "
                                                "from the lowest density of q(z) where they land to the highest.")
    if not has_prior:
        detail_col.caption("An autoencoder's q(z|x) is a point: its density is drawn as a kernel estimate of its codes, and "
                   "its KL measured against N(0, I), the prior one would sample from.")


def prior_holes_tab() -> None:
    explanation("Shaded: the **aggregate posterior** q(z) = (1/N) Σ q(z|xₙ), where the encoder puts the stored test "
                "images. Dashed: the **prior**'s densest 39%, 86% and 99%. Where the prior has mass and q(z) has "
                "little, a prior sample lands in a **hole**: the decoder saw nothing there. KL(q(z) || p(z)) "
                "measures the mismatch; the KL term of a VAE keeps it small, an autoencoder has nothing that does.")
    choices = {c.path.rstrip("/").rsplit("/", 1)[-1]: c.path for c in model_choices()}
    names = list(choices)
    picks = st.columns(2, gap="large")
    with st.container(key="main_figure"):  # the two planes side by side: the view's figure
        charts = st.columns(2, gap="large")
    details = st.columns(2, gap="large")
    for i, (key, default) in enumerate(zip(("holes_a", "holes_b"), DEFAULTS)):
        with picks[i]:
            url_state.take_choice(key.split("_")[1], key, {n: n for n in names}, "model")
            if st.session_state.get(key) not in names:
                st.session_state[key] = default if default in names else names[0]
            name = st.selectbox("Model", names, key=key)
            url_state.write(key.split("_")[1], name)
        with charts[i].container(key=f"{key}_box"):
            _panel(loaded_model(choices[name]), key, st.container(), details[i])
