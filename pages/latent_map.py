"""Latent map: every stored test image at its encoder mean mu(x), on the latent plane itself or on a
PCA / t-SNE / UMAP map. Click a dot to see q(z|x); click empty space to decode that location."""
from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from ui import url_state
from ui.common import current_model, end_page, friendly_errors, page_header, require_sample
from ui.export import PLOTLY_CONFIG, map_png_button
from ui.images import show_grid, show_image
from ui.live_decoder import pointer_decoder
from ui.map_plot import MapTarget, hover_previews, latent_map_figure, parse_selection
from ui.projection_jobs import projection
from ui.sidebar import draw_sidebar
from vae_core import map_layout, posterior
from vae_core.projection import LABELS, available_methods

CHART_KEY = "latent_map_chart"
GRID_N = 60  # the invisible grid of clickable points is GRID_N x GRID_N
ELLIPSE_LIMIT = 300  # posterior ellipses are drawn for at most this many points
N_POSTERIOR = 8  # images decoded from samples of q(z|x) for a clicked point
INVERSE_NOTE = {
    "latent": "The map is the latent plane itself, so this is exactly z = ({x:.2f}, {y:.2f}){rest}.",
    "pca": "PCA's inverse: the latent point on the fitted plane that projects to this spot.",
    "umap": "UMAP's inverse_transform: a latent point interpolated from the encoded neighbours of this spot.",
    "tsne": "t-SNE has no inverse map: this is the mu of the nearest encoded image (#{nearest}), decoded.",
}

page_header("Latent map", "Each dot is one test image x, placed at the mean mu(x) of its posterior "
            "q(z|x) = N(mu, sigma^2). Colours are classes the VAE never saw. Hover a dot to see its image, "
            "click a dot to see q(z|x), click empty space to decode that location with p(x|z).")
loaded = current_model()
if loaded is None or not require_sample(loaded.checkpoint):
    end_page()
ckpt = loaded.checkpoint

path = str(ckpt.path)
cfg = ckpt.config
kind = cfg.variant
sample = ckpt.sample
class_names = ckpt.class_names or [str(c) for c in range(cfg.num_classes)]
if st.session_state.get("latent_map_model") != path:
    st.session_state.latent_map_model = path
    st.session_state.latent_map_target = None
    for k in ("latent_map_dim_x", "latent_map_dim_y", "latent_map_shown", "latent_map_class"):
        st.session_state.pop(k, None)
if "latent_map_target" not in st.session_state:
    st.session_state.latent_map_target = None
# a link's ?projection=pca&point=12 (validated; anything else gets a notice)
url_method = url_state.link_choice("projection", LABELS, "the map stays as it was")
if url_method is not None:
    st.session_state.latent_map_method = url_method
url_point = url_state.link_index("point", len(sample.labels), "one of this model's stored test images",
                                 "no image is selected")
if url_point is not None:
    st.session_state.latent_map_target = {"target": MapTarget("point", index=url_point), "view": None, "sig": None}

mu, logvar = loaded.encodings()
n_images, latent_dim = mu.shape


# -- layout -------------------------------------------------------------------------------
# The controls' row is on top but is drawn after the decoder under the pointer: on a first visit the
# browser shows nothing that follows a kind of widget whose code it has not fetched yet, and the
# decoded image is what a visitor should see first.
controls = st.container()
col_map, col_img = st.columns([5, 3], gap="large")
scores, _ = loaded.activity()
latent_dims = loaded.default_axes()
if (st.session_state.get("latent_map_method") or "latent") == "latent" and loaded.browser_program() is not None:
    axes = (int(st.session_state.get("latent_map_dim_x", latent_dims[0])),
            int(st.session_state.get("latent_map_dim_y", latent_dims[1])) if latent_dim > 1 else None)
    with col_img:
        st.markdown("### Under the pointer")
        pointer_decoder(loaded, CHART_KEY, np.zeros(latent_dim, np.float32), axes, size=240,
                        key="latent_map_pointer",
                        label=int(st.session_state.get("latent_map_class") or 0) if kind.conditional else 0)
        st.caption("Decoded in your browser while the mouse moves over the map"
                   + (", every other dimension at 0." if latent_dim > 2 else "."))
draw_sidebar()  # after the first image, before the slower chart

# -- controls -----------------------------------------------------------------------------
with controls:
    reasons = available_methods()
    c_method, c_axes, c_opts = st.columns([3, 3, 2])
    method = c_method.segmented_control(
        "Map", list(LABELS), format_func=LABELS.get, required=True, key="latent_map_method",
        default=None if "latent_map_method" in st.session_state else "latent",  # a link may have set it
        help="Native latent: the encoder's own coordinates. PCA: the best linear 2-D view. "
             "t-SNE and UMAP: non-linear maps that keep neighbours together but bend distances.")
    dims: tuple[int, int] = (0, 1)
    if method == "latent" and latent_dim > 2:
        fmt = lambda d: f"z{d + 1}  ({kind.activity_name} {scores[d]:.2f})"  # noqa: E731
        a1, a2 = c_axes.columns(2)
        dx = a1.selectbox("Horizontal axis", range(latent_dim), index=latent_dims[0], format_func=fmt,
                          key="latent_map_dim_x")
        dy = a2.selectbox("Vertical axis", range(latent_dim), index=latent_dims[1], format_func=fmt,
                          key="latent_map_dim_y")
        if dx == dy:
            st.warning("Pick two different latent dimensions for the two axes.")
            end_page()
        dims = (int(dx), int(dy))
        c_axes.caption(f"Defaults: the two most active dimensions (largest {kind.activity_label} over the images).")
    elif method == "latent" and latent_dim == 1:
        c_axes.caption("This model has one latent dimension: the map shows z1 on the horizontal axis.")

    shown_n = n_images
    if n_images > 500:
        options = [v for v in (250, 500, 1000, 2000, 5000) if v < n_images] + [n_images]
        shown_n = c_opts.select_slider("Points shown", options=options,
                                       value=min(n_images, 2000) if 2000 in options else n_images,
                                       key="latent_map_shown",
                                       help="Fewer points draw faster; the map is always computed from all images.")
    native_2d = method == "latent" and latent_dim >= 2
    show_prior = show_ellipses = False
    if native_2d and kind.has_prior:
        show_prior = c_opts.toggle(f"Prior {ckpt.prior.name} contours", value=True, key="latent_map_prior",
                                   help=ckpt.prior.contours_caption)
        show_ellipses = c_opts.toggle(
            "1-sigma ellipses of q(z|x)", value=False, key="latent_map_ellipses",
            help="Each image's posterior: centre mu, half-axes sigma_i = exp(0.5 log sigma_i^2).")
    elif native_2d:
        c_opts.caption("An autoencoder has no prior and no posterior spread: "
                       "each image is a single point z = mu.")

    if reasons.get(method):
        st.info(f"{LABELS[method]} is not available here. {reasons[method]}")
        st.code("pip install umap-learn", language="bash")
        end_page()

    proj = None
    with friendly_errors(f"Computing the {LABELS[method]} map"):
        proj = projection(loaded, method, dims)  # None while t-SNE / UMAP compute in the background
    if proj is None:
        end_page()


view = (method, dims)
chart_sig = (view, shown_n, show_prior, show_ellipses)  # what the chart shows, apart from the chosen spot
shown = map_layout.subsample(n_images, shown_n)
emb_all = proj.embedding_
stored = st.session_state.latent_map_target
if stored is not None and stored["target"].kind == "location" and stored["view"] != view:
    stored = st.session_state.latent_map_target = None  # a map location means nothing on another map
target: MapTarget | None = stored["target"] if stored else None
if target is not None and target.kind == "point" and not 0 <= target.index < n_images:
    target = st.session_state.latent_map_target = None
url_state.write("projection", method)
url_state.write("point", target.index if target is not None and target.kind == "point" else None)


def _on_select(view_when_drawn, sig_when_drawn) -> None:
    state = st.session_state.get(CHART_KEY)
    chosen = parse_selection(state.get("selection") if state else None)
    if chosen is not None:
        st.session_state.latent_map_target = {"target": chosen, "view": view_when_drawn, "sig": sig_when_drawn}


# -- the map --------------------------------------------------------------------------------
if method == "latent":
    axis_titles = (f"z{dims[0] + 1}", f"z{dims[1] + 1}" if latent_dim > 1 else "")
else:
    axis_titles = (f"{LABELS[method]} 1", f"{LABELS[method]} 2")
emb = emb_all[shown]
extent = map_layout.map_extent(emb, include=ckpt.prior.view_box(dims) if show_prior else None, square=native_2d)
ellipses = None
if show_ellipses:
    pick = shown[map_layout.subsample(len(shown), ELLIPSE_LIMIT, seed=1)]
    sig = posterior.sigma_from_logvar(logvar[pick][:, list(dims)])
    ellipses = map_layout.ellipse_outlines(mu[pick][:, list(dims)], sig)
highlight = None
if target is not None and stored.get("sig") != chart_sig:
    # A spot clicked on this very chart is already marked by Plotly's selection style; a marker trace is
    # added only on a redrawn chart, because changing the figure resets the chart's zoom.
    highlight = tuple(emb_all[target.index]) if target.kind == "point" else (target.x, target.y)
fig = latent_map_figure(
    emb, sample.labels[shown], shown, class_names, axis_titles=axis_titles,
    grid=map_layout.square_grid(*extent, GRID_N), extent=extent, equal_axes=native_2d,
    prior=ckpt.prior.contours(dims) if show_prior else None, prior_name=ckpt.prior.name, ellipses=ellipses,
    highlight=highlight)

with col_map:
    st.plotly_chart(fig, key=CHART_KEY, on_select=functools.partial(_on_select, view, chart_sig),
                    selection_mode=("points",), config=PLOTLY_CONFIG)
    hover_previews(CHART_KEY, loaded.thumbnails())
    notes = [f"{len(shown):,} of {n_images:,} test images."]
    if show_ellipses and len(shown) > ELLIPSE_LIMIT:
        notes.append(f"Ellipses drawn for {ELLIPSE_LIMIT} of them.")
    if method in ("tsne", "umap"):
        notes.append(f"{LABELS[method]} keeps neighbours together but distances and densities on it are not "
                     "latent distances.")
    st.caption(" ".join(notes))
    chosen_xy = None if target is None else (
        tuple(map(float, emb_all[target.index])) if target.kind == "point" else (target.x, target.y))
    map_png_button(emb, sample.labels[shown], class_names, file_name=f"{ckpt.name}-{method}-map.png",
                   key="latent_map_png", extent=extent, axis_titles=axis_titles, highlight=chosen_xy,
                   title=f"{ckpt.name}: {LABELS[method]} map of q(z|x) means",
                   prior=ckpt.prior.contours(dims) if show_prior else ())


# -- what was clicked -------------------------------------------------------------------------
def _label_of(i: int) -> str:
    c = int(sample.labels[i])
    return class_names[c] if c < len(class_names) else str(c)


def _location_latent(t: MapTarget) -> tuple[np.ndarray, str]:
    """The latent point for a clicked map location and a sentence saying how it was found."""
    if method == "tsne":
        nearest = int(proj.nearest([[t.x, t.y]])[0])
        return mu[nearest], INVERSE_NOTE["tsne"].format(nearest=nearest)
    if method == "umap":
        with st.spinner("UMAP inverse_transform..."):
            z = proj.inverse_transform([[t.x, t.y]])[0]
        return z, INVERSE_NOTE["umap"]
    z = proj.inverse_transform([[t.x, t.y]], base=np.zeros(latent_dim, np.float32))[0]
    if method == "pca":
        return z, INVERSE_NOTE["pca"]
    if latent_dim == 1:
        return z, f"The map is the latent line itself, so this is exactly z = {t.x:.2f}."
    rest = ""
    if latent_dim > 2:
        rest = ", every other dimension held at 0" + (" (the prior mean)" if kind.has_prior else "")
    return z, INVERSE_NOTE["latent"].format(x=t.x, y=t.y, rest=rest)


def _point_details(i: int, recon: np.ndarray, samples: np.ndarray) -> None:
    import pandas as pd  # not imported before it is needed: the first screen draws sooner

    st.subheader(f"Image #{i} · class {_label_of(i)}")
    c1, c2, c3 = st.columns([1, 1, 2])
    with c1:
        show_image(sample.images[i], caption="the test image x", target=200)
    with c2:
        show_image(recon, caption="reconstruction: decode(mu)", target=200)
    with c3:
        if not kind.gaussian_posterior:
            st.info("An autoencoder has no q(z|x) to sample from: its code is the single point z = mu.")
        else:
            show_grid(samples, ncols=4, cell=96,
                      caption=f"{N_POSTERIOR} samples z = mu + sigma * eps, eps ~ N(0, I), each decoded")
    sigma = posterior.sigma_from_logvar(logvar[i])
    table = {"mu": mu[i], "sigma": sigma}
    kl_dims = kind.kl_per_dim(mu[i:i + 1], logvar[i:i + 1]) if kind.has_prior else None
    if kl_dims is not None:
        table["KL (nats)"] = kl_dims[0]
    st.dataframe(pd.DataFrame(table, index=[f"z{d + 1}" for d in range(latent_dim)]).T.style.format("{:.3f}"),
                 width="stretch")


with col_img:
    if target is None:
        st.markdown("### Click the map")
        st.caption("A dot shows that image's posterior q(z|x) below the map; empty space is decoded here.")
    elif target.kind == "point":
        i = target.index
        y = int(sample.labels[i]) if kind.conditional else None
        recon, samples = posterior.decode_posterior(ckpt.model, mu[i], logvar[i], N_POSTERIOR, seed=i, y=y)
        st.markdown(f"### decode(mu) of image #{i}")
        show_image(recon, target=320,
                   caption=f"class {_label_of(i)}; mu = ({', '.join(f'{v:.2f}' for v in mu[i][:4])}"
                           f"{', ...' if latent_dim > 4 else ''})")
    else:
        st.markdown("### Decoded at the clicked spot")
        z_loc = note = None
        with friendly_errors("Going back from the map to latent space"):
            z_loc, note = _location_latent(target)
        if z_loc is not None:
            y = None
            if kind.conditional:
                y = st.selectbox("Decode as class", range(len(class_names)), format_func=lambda c: class_names[c],
                                 key="latent_map_class", help="A conditional VAE's decoder p(x|z, y) also needs y.")
            from vae_core.latent import decode_batch

            show_image(decode_batch(ckpt.model, z_loc[None], y)[0], target=320, caption=note)

if target is not None and target.kind == "point":
    _point_details(target.index, recon, samples)
