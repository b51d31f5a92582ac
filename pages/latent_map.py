"""Latent map: every stored test image at its encoder mean mu(x), on the latent plane itself or on a
PCA / t-SNE / UMAP map, drawn with WebGL (ui/scatter_map.py). Click a dot to see q(z|x), select several
with a box or a lasso, click empty space to decode that location."""
from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from ui import url_state
from ui.common import current_model, end_page, friendly_errors, page_header, require_sample
from ui.export import map_png_button
from ui.images import show_image
from ui.live_decoder import pointer_decoder
from ui.map_choice import N_POSTERIOR, ChosenImages, location_latent
from ui.map_plot import class_colours
from ui.map_points import POINT_SETS, map_points, points_available
from ui.projection_jobs import projection
from ui.scatter_map import ELLIPSE_LIMIT, MapChoice, MapLayers, Timeline, latent_scatter, parse_state
from ui.sidebar import draw_sidebar
from vae_core.render import map_layout
from vae_core.analysis import posterior
from vae_core.store.history import sample_positions
from vae_core.projection.methods import LABELS, available_methods
from vae_core.projection.shipped import shipped

CHART_KEY = "latent_map_chart"
ELLIPSE_SAMPLE = 300  # with "ellipses" on and nothing chosen, ellipses of this many points
INTRO = ("Each dot is a test image x at the mean mu(x) of its posterior q(z|x) = N(mu, sigma^2), coloured by a "
         "class the VAE never saw. Hover a dot to see it, click it for q(z|x), drag a box or a lasso to select many, "
         "click empty space to decode that spot with p(x|z).")
presenter = bool(st.session_state.get("presenter", False))
page_header("Latent map", None if presenter else INTRO)  # on a projector the map takes the height
loaded = current_model()
if loaded is None or not require_sample(loaded.checkpoint):
    end_page()
ckpt = loaded.checkpoint

path = str(ckpt.path)
cfg = ckpt.config
kind = cfg.variant
class_names = ckpt.class_names or [str(c) for c in range(cfg.num_classes)]
if st.session_state.get("latent_map_model") != path:
    st.session_state.latent_map_model = path
    st.session_state.latent_map_target = None
    for k in ("latent_map_dim_x", "latent_map_dim_y", "latent_map_class", "latent_map_points"):
        st.session_state.pop(k, None)
if "latent_map_target" not in st.session_state:
    st.session_state.latent_map_target = None
point_set = st.session_state.get("latent_map_points", "stored")
if point_set not in points_available(ckpt):
    point_set = "stored"
points = map_points(loaded, point_set)  # every image of the dataset is encoded once, with a progress bar
images, labels, mu, logvar = points.images, points.labels, points.mu, points.logvar
n_images, latent_dim = mu.shape


def _select_by_page(choice: MapChoice | None) -> None:
    """A choice made here (a link, a scene, a new map), which the browser then shows."""
    token = int(st.session_state.get("latent_map_token", 0)) + 1
    st.session_state.latent_map_token = token
    st.session_state.latent_map_select = {
        "token": token, "points": list(choice.points) if choice and choice.kind != "location" else [],
        "location": list(choice.location) if choice and choice.kind == "location" else None}


# a link's ?projection=pca&point=12 (validated; anything else gets a notice)
url_method = url_state.link_choice("projection", LABELS, "the map stays as it was")
if url_method is not None:
    st.session_state.latent_map_method = url_method
url_watch = url_state.fresh("watch")  # ?watch=1: the training replayed (a model with a recorded history)
watch_asked = url_state.parse_flag(url_watch) is True
if url_watch is not None:
    if url_state.parse_flag(url_watch) is None:
        url_state.notice(f"The link's watch={url_watch!r} is not 1 or 0: the map shows the trained model.")
    else:
        st.session_state.latent_map_watch = url_state.parse_flag(url_watch)
url_point = url_state.link_index("point", n_images, f"one of the map's {n_images:,} images", "no image is selected")
if url_point is not None:
    link_choice = MapChoice("point", points=(url_point,), how="link")
    st.session_state.latent_map_target = {"target": link_choice, "view": None}
    _select_by_page(link_choice)

scores, _ = loaded.activity()
latent_dims = loaded.default_axes()

# -- layout -------------------------------------------------------------------------------
# The map starts right below the title, as large as the window allows; beside it, the decoder under the
# pointer, then the controls. They are drawn in that order in time too: the decoder's first image, the map's
# points, then the controls (on a first visit the browser shows nothing that follows a kind of widget whose
# code it has not fetched yet: what a visitor should see first goes first).
col_map, col_img = st.columns([2, 1], gap="medium")
if (st.session_state.get("latent_map_method") or "latent") == "latent" and loaded.browser_program() is not None:
    axes = (int(st.session_state.get("latent_map_dim_x", latent_dims[0])),
            int(st.session_state.get("latent_map_dim_y", latent_dims[1])) if latent_dim > 1 else None)
    with col_img:
        st.markdown("### Under the pointer")
        pointer_decoder(loaded, CHART_KEY, np.zeros(latent_dim, np.float32), axes, size=200 if not presenter else 180,
                        key="latent_map_pointer", presenter=presenter,
                        label=int(st.session_state.get("latent_map_class") or 0) if kind.conditional else 0)
        st.caption("Decoded in your browser while the mouse moves over the map"
                   + (", every other dimension at 0." if latent_dim > 2 else "."))
controls = col_img.container()

# -- controls -----------------------------------------------------------------------------
# What the controls say, read from the session before they are drawn: the map goes out before them.
ships = shipped(path) if point_set == "stored" else ()
reasons = {m: (None if m in ships else r) for m, r in available_methods().items()}
method = st.session_state.get("latent_map_method") or "latent"
if method not in LABELS:
    method = "latent"
dims: tuple[int, int] = (0, 1)
if method == "latent" and latent_dim > 2:
    dims = (int(st.session_state.get("latent_map_dim_x", latent_dims[0])),
            int(st.session_state.get("latent_map_dim_y", latent_dims[1])))
native_2d = method == "latent" and latent_dim >= 2
show_prior = native_2d and kind.has_prior and bool(st.session_state.get("latent_map_prior", True))
show_ellipses = native_2d and kind.gaussian_posterior and bool(st.session_state.get("latent_map_ellipses", False))
show_density = bool(st.session_state.get("latent_map_density", False))
history = ckpt.history if native_2d and point_set == "stored" else None  # the training's snapshots, if recorded
watch = history is not None and bool(st.session_state.get("latent_map_watch", False))
if watch_asked and not watch:
    url_state.notice(f"The link asks to replay the training, but {ckpt.name} has no recorded history on this map "
                     "(the native latent plane of the stored test images): the map shows the trained model.")


def draw_controls() -> None:
    """The map's controls, beside it; their values are those read above (the same session state)."""
    with controls:
        if presenter:
            with st.expander("What the map shows"):
                st.markdown(INTRO)
        st.segmented_control(
            "Map", list(LABELS), format_func=LABELS.get, required=True, key="latent_map_method",
            default=None if "latent_map_method" in st.session_state else "latent",  # a link may have set it
            help="Native latent: the encoder's own coordinates. PCA: the best linear 2-D view. "
                 "t-SNE and UMAP: non-linear maps that keep neighbours together but bend distances.")
        if method == "latent" and latent_dim > 2:
            fmt = lambda d: f"z{d + 1}  ({kind.activity_name} {scores[d]:.2f})"  # noqa: E731
            a1, a2 = st.columns(2)
            why = f"Defaults: the two most active dimensions (largest {kind.activity_label} over the stored images)."
            a1.selectbox("Horizontal axis", range(latent_dim), index=latent_dims[0], format_func=fmt,
                         key="latent_map_dim_x", help=why)
            a2.selectbox("Vertical axis", range(latent_dim), index=latent_dims[1], format_func=fmt,
                         key="latent_map_dim_y", help=why)
        elif method == "latent" and latent_dim == 1:
            st.caption("This model has one latent dimension: the map shows z1 on the horizontal axis.")
        if method != "latent" and method in ships:
            st.caption(f"The {LABELS[method]} map of these {n_images:,} images ships with the model.")
        sets = points_available(ckpt)
        if len(sets) > 1:
            st.segmented_control("Points", list(sets), format_func=sets.get, key="latent_map_points",
                                 default=point_set, required=True,
                                 help="Every image of the dataset is encoded when first asked for (seconds).")
        if native_2d and kind.has_prior:
            st.toggle(f"Prior {ckpt.prior.name} contours", value=True, key="latent_map_prior",
                      help=ckpt.prior.contours_caption)
        if native_2d and kind.gaussian_posterior:
            st.toggle(f"1-sigma ellipses of q(z|x) for {ELLIPSE_SAMPLE} images", value=False,
                      key="latent_map_ellipses",
                      help="Each image's posterior: centre mu, half-axes sigma_i = exp(0.5 log sigma_i^2). The chosen "
                           "images' ellipses are always drawn.")
        if native_2d and not kind.has_prior:
            st.caption("An autoencoder has no prior and no posterior spread: each image is a single point z = mu.")
        if history is not None:
            st.toggle("Watch it learn", value=False, key="latent_map_watch",
                      help=f"Replay the training: the map at {len(history)} snapshots, log-spaced over its "
                           f"{int(history.step[-1]):,} steps (many early, when the map changes fast), with the loss "
                           "curve; play it or drag the scrubber under the map.")
        st.toggle("Density contours", value=False, key="latent_map_density",
                  help="Where the points are dense: contours of a kernel density estimate.")


if method == "latent" and latent_dim > 2 and dims[0] == dims[1]:
    draw_controls()
    st.warning("Pick two different latent dimensions for the two axes.")
    end_page()
if reasons.get(method):
    draw_controls()
    st.info(f"{LABELS[method]} is not available here. {reasons[method]}")
    st.code("pip install umap-learn", language="bash")
    end_page()
proj = None
with col_map, friendly_errors(f"Computing the {LABELS[method]} map"):
    proj = projection(loaded, method, dims, points=point_set)  # None while t-SNE / UMAP compute
if proj is None:
    draw_controls()
    end_page()


emb = proj.embedding_
if watch:  # the images the history follows, at the model's final means; the browser replays the rest
    keep = None
    with friendly_errors("Reading the training's history"):
        keep = sample_positions(history, n_images, shared_split="shared_sample" in ckpt.meta)
    if keep is None:
        draw_controls()
        end_page()
    images, labels, mu, logvar, emb = images[keep], labels[keep], mu[keep], logvar[keep], emb[keep]
    n_images = len(keep)
if st.session_state.setdefault("latent_map_watch_drawn", watch) != watch:  # other points: a choice made on the
    st.session_state.latent_map_watch_drawn = watch                         # other map is void
    st.session_state.latent_map_target = None
view = (method, dims, point_set, watch)
view_id = f"{path}|{loaded.stamp}|{method}|{dims}|{point_set}|{'history' if watch else 'now'}"
stored = st.session_state.latent_map_target
target: MapChoice | None = stored["target"] if stored else None
if target is not None and target.kind == "location" and stored["view"] != view:
    target = st.session_state.latent_map_target = None  # a map location means nothing on another map
if target is not None and any(not 0 <= i < n_images for i in target.points):
    target = st.session_state.latent_map_target = None
if st.session_state.get("latent_map_drawn_view") != view:  # a new map: the browser shows the chosen images again
    st.session_state.latent_map_drawn_view = view
    _select_by_page(target)
url_state.write("projection", method)
url_state.write("watch", 1 if watch else None)
url_state.write("point", target.index if target is not None and target.kind == "point" and not watch else None)


def _on_change(view_when_drawn, n_points: int) -> None:
    choice = parse_state(st.session_state.get(CHART_KEY), n_points)
    st.session_state.latent_map_target = None if choice is None else {"target": choice, "view": view_when_drawn}


# -- the map --------------------------------------------------------------------------------
if method == "latent":
    axis_titles = (f"z{dims[0] + 1}", f"z{dims[1] + 1}" if latent_dim > 1 else "")
else:
    axis_titles = (f"{LABELS[method]} 1", f"{LABELS[method]} 2")
prior_lines = ckpt.prior.contours(dims) if show_prior else []
timeline = None
if watch:
    frames = history.mu[:, :, list(dims)].astype(np.float32)
    timeline = Timeline(frames=frames, step=history.step.tolist(), epoch=history.epoch.tolist(),
                        curves={"-ELBO": history.neg_elbo.tolist(), "reconstruction": history.recon.tolist(),
                                "KL": history.kl.tolist()})
extent = map_layout.map_extent(frames.reshape(-1, 2) if watch else emb,
                               include=ckpt.prior.view_box(dims) if show_prior else None, square=native_2d)
layers = MapLayers(prior=prior_lines, prior_name=ckpt.prior.name, density=show_density, zero_lines=native_2d,
                   timeline=timeline)
if native_2d and kind.gaussian_posterior:  # the chosen images' posteriors, and a sample's when asked for
    layers.sigma = posterior.sigma_from_logvar(logvar[:, list(dims)])
    if show_ellipses:
        layers.ellipse_sample = map_layout.subsample(n_images, ELLIPSE_SAMPLE, seed=1).tolist()
colours = class_colours(max(len(class_names), int(labels.max()) + 1 if n_images else 1))

with col_map:
    latent_scatter(key=CHART_KEY, view_id=view_id, xy=emb, labels=labels, class_names=class_names, colours=colours,
                   images=loaded.hover_images(f"{point_set}, history" if watch else point_set, images),
                   axis_titles=axis_titles,
                   extent=extent, layers=layers, presenter=presenter,
                   select=st.session_state.get("latent_map_select"),
                   on_change=functools.partial(_on_change, view, n_images), file_stem=f"{ckpt.name}-{method}")
    notes = [f"All {n_images:,} {POINT_SETS[point_set]}." if not watch else
             f"The {n_images:,} stored test images the training's history follows, at {len(history)} snapshots "
             f"from step 0 to {int(history.step[-1]):,} ({float(history.epoch[-1]):.0f} epochs): mu(x) as the "
             "encoder placed them then."]
    if method in ("tsne", "umap"):
        notes.append(f"{LABELS[method]} keeps neighbours together but distances and densities on it are not "
                     "latent distances.")
    st.caption(" ".join(notes))
    chosen_xy = None if target is None or target.kind == "points" else (
        tuple(map(float, emb[target.index])) if target.kind == "point" else target.location)
    map_png_button(emb, labels, class_names, file_name=f"{ckpt.name}-{method}-map.png",
                   key="latent_map_png", extent=extent, axis_titles=axis_titles, highlight=chosen_xy,
                   title=f"{ckpt.name}: {LABELS[method]} map of q(z|x) means",
                   prior=prior_lines)
draw_sidebar()  # after the first image and the map's points
draw_controls()


# -- what was chosen -------------------------------------------------------------------------
chosen = ChosenImages(images, labels, class_names, mu, logvar, kind)
recon = samples = None
with col_img:
    if target is None:
        st.markdown("### Click the map")
        st.caption("A dot shows that image's posterior q(z|x) below the map; a box or a lasso (the buttons "
                   "beside the map, or Shift-drag) selects many; empty space is decoded here.")
    elif target.kind == "point":
        i = target.index
        y = int(labels[i]) if kind.conditional else None
        recon, samples = posterior.decode_posterior(ckpt.model, mu[i], logvar[i], N_POSTERIOR, seed=i, y=y)
        st.markdown(f"### decode(mu) of image #{i}")
        show_image(recon, target=320 if not presenter else 240,
                   caption=f"class {chosen.label_of(i)}; mu = ({', '.join(f'{v:.2f}' for v in mu[i][:4])}"
                           f"{', ...' if latent_dim > 4 else ''})")
    elif target.kind == "points":
        from vae_core.analysis.latent import decode_batch

        centre = mu[list(target.points)].mean(0)
        st.markdown(f"### decode of their mean mu ({len(target.points):,} images)")
        show_image(decode_batch(ckpt.model, centre[None], None if not kind.conditional else
                                np.array([int(np.bincount(labels[list(target.points)]).argmax())]))[0],
                   target=320 if not presenter else 240,
                   caption="the average of the selected images' means, decoded")
    else:
        st.markdown("### Decoded at the clicked spot")
        z_loc = note = None
        with friendly_errors("Going back from the map to latent space"):
            z_loc, note = location_latent(proj, method, target.location, mu, has_prior=kind.has_prior)
        if z_loc is not None:
            y = None
            if kind.conditional:
                y = st.selectbox("Decode as class", range(len(class_names)), format_func=lambda c: class_names[c],
                                 key="latent_map_class", help="A conditional VAE's decoder p(x|z, y) also needs y.")
            from vae_core.analysis.latent import decode_batch

            show_image(decode_batch(ckpt.model, z_loc[None], y)[0], target=320, caption=note)

if target is not None and target.kind == "point":
    chosen.point_details(target.index, recon, samples)
elif target is not None and target.kind == "points":
    chosen.selection_details(target.points, target.how)
if len(target.points if target else ()) > ELLIPSE_LIMIT and layers.sigma is not None:
    st.caption(f"On the map, 1-sigma ellipses are drawn for {ELLIPSE_LIMIT} of the selected images (an even share).")
