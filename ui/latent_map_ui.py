"""The Latent map page's parts: the decoder under the pointer, the map's controls, the WebGL map itself and what
is shown of the chosen images.

They are drawn in the order a visitor should see them: the decoder's first image, the map's points, then the
sidebar and the controls (on a first visit the browser shows nothing that follows a kind of widget whose code
it has not fetched yet), then the chosen images. What the controls say is read from the session before they
are drawn, so the map goes out before them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import streamlit as st

from vae_core.analysis import posterior
from vae_core.projection import DEFAULT_METHOD, METHODS, projection_method
from vae_core.projection.base import Projection
from vae_core.projection.shipped import shipped
from vae_core.render import map_layout
from vae_core.store.history import sample_positions

from . import presenter, url_state
from .common import end_page, friendly_errors
from .export import map_png_button
from .images import decoded_alt, show_image
from .latent_words import dim_label, dim_labels, top_level
from .levels_ui import native_axes as default_axes
from .factor_colours import CLASS, colour_options, colouring
from .live_decoder import pointer_decoder
from .loaded_model import LoadedModel
from .map_choice import N_POSTERIOR, ChosenImages, location_latent
from .map_points import POINT_SETS, map_points, points_available
from .palette import class_colours
from .projection_jobs import projection
from .projection_ui import chosen_method, label_of
from .scatter_map import ELLIPSE_LIMIT, MapChoice, MapLayers, Timeline, latent_scatter
from .state import latent_map as state

ELLIPSE_SAMPLE = 300  # with "ellipses" on and nothing chosen, ellipses of this many points
INTRO = ("Each dot is a test image x at the mean mu(x) of its posterior q(z|x) = N(mu, sigma^2), coloured by a "
         "class the VAE never saw. Point at a dot (mouse, finger or arrow keys) to see it, click or tap it for "
         "q(z|x), select many with a box or a lasso, and decode empty space with p(x|z).")
KEYS = ("Without a mouse: Tab to the map, then the arrow keys move a cursor (Shift: further), Enter picks the "
        "nearest image, Shift+Enter decodes the place, + and - zoom, 0 shows it all, L names the classes. On a touch "
        "screen one finger decodes under it, a tap picks, two fingers pan and pinch to zoom.")


def intro(loaded: LoadedModel | None) -> str:
    """The page's paragraph; a model with levels hears which plane its native map starts on, one with a discrete
    latent what its codebook's map shows."""
    if loaded is not None and loaded.variant.discrete_latent:
        from .codebook_map_ui import INTRO as CODES_INTRO

        return CODES_INTRO
    level = top_level(loaded.config) if loaded is not None else None
    if level is None or level[2] - level[1] != 2:
        return INTRO
    return INTRO + (f" This model's z has levels; its native map starts on the top level {level[0]}, whose prior is "
                    "N(0, I).")


@dataclass
class MapView:
    """What this run's map shows: the model, its points and the map the session chose."""

    loaded: LoadedModel
    point_set: str
    images: np.ndarray
    labels: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    method: str
    dims: tuple[int, int]
    watch_asked: bool
    col_map: object = None
    col_img: object = None
    controls: object = None
    proj: Projection | None = None

    @property
    def ckpt(self):
        return self.loaded.checkpoint

    @property
    def kind(self):
        return self.ckpt.config.variant

    @property
    def map_kind(self):
        return projection_method(self.method)  # what the map can do (vae_core.projection.base)

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]

    @property
    def class_names(self) -> list[str]:
        return self.ckpt.class_names or [str(c) for c in range(self.ckpt.config.num_classes)]

    @property
    def native_2d(self) -> bool:
        return self.map_kind.is_native and self.latent_dim >= 2

    @property
    def show_prior(self) -> bool:
        return self.native_2d and self.kind.has_prior and state.flag(state.PRIOR, True)

    @property
    def history(self):
        """The training's snapshots, when the map can replay them (the native plane of the stored images)."""
        return self.ckpt.history if self.native_2d and self.point_set == "stored" else None

    @property
    def watch(self) -> bool:
        return self.history is not None and state.flag(state.WATCH, False)


def start_ui(loaded: LoadedModel) -> MapView:
    """The map's points (every image of the dataset is encoded once, with a progress bar), a link's view, and
    the page's two columns, with the decoder under the pointer drawn first."""
    ckpt = loaded.checkpoint
    state.start(str(ckpt.path))
    point_set = state.point_set(points_available(ckpt))
    points = map_points(loaded, point_set)
    watch_asked = state.take_link(len(points.mu))
    method = chosen_method(state.METHOD)
    view = MapView(loaded, point_set, points.images, points.labels, points.mu, points.logvar, method, (0, 1),
                   watch_asked)
    if view.map_kind.needs_axes(view.latent_dim):
        view.dims = state.axes(default_axes(loaded))
    view.col_map, view.col_img = st.columns([2, 1], gap="medium")
    _pointer_ui(view)
    view.controls = view.col_img.container()
    if watch_asked and not view.watch:
        from . import url_state

        url_state.notice(f"The link asks to replay the training, but {ckpt.name} has no recorded history on this map "
                         "(the native latent plane of the stored test images): the map shows the trained model.")
    return view


def _pointer_ui(view: MapView) -> None:
    """The decoder under the pointer (native plane, a model the browser can decode)."""
    if not (view.map_kind.is_native and view.loaded.browser_program() is not None):
        return
    default = default_axes(view.loaded)
    axes = (state.axes(default)[0], state.axes(default)[1] if view.latent_dim > 1 else None)
    hall = presenter.is_on()
    with view.col_img:
        st.markdown("### Under the pointer")
        pointer_decoder(view.loaded, state.CHART, np.zeros(view.latent_dim, np.float32), axes,
                        size=200 if not hall else 180, key="latent_map_pointer", presenter=hall,
                        label=state.decode_class() if view.kind.conditional else 0,
                        names=(dim_label(view.ckpt.config, axes[0]),
                               dim_label(view.ckpt.config, axes[1]) if axes[1] is not None else ""))
        st.caption("Decoded in your browser wherever you point on the map (mouse, finger or arrow keys)"
                   + (", every other dimension at 0." if view.latent_dim > 2 else "."))


def controls_ui(view: MapView) -> None:
    """The map's controls beside it; their values are those the map was drawn with (the same session state)."""
    kind, map_kind, latent_dim, ckpt = view.kind, view.map_kind, view.latent_dim, view.ckpt
    with view.controls:
        if presenter.is_on():
            with st.expander("What the map shows"):
                st.markdown(INTRO)
        st.segmented_control(
            "Map", list(METHODS), format_func=label_of, required=True, key=state.METHOD,
            default=None if state.METHOD in st.session_state else DEFAULT_METHOD,  # a link may have set it
            help="Native latent: the encoder's own coordinates. PCA: the best linear 2-D view. "
                 "t-SNE and UMAP: non-linear maps that keep neighbours together but bend distances.")
        if map_kind.needs_axes(latent_dim):
            scores, _ = view.loaded.activity()
            default = default_axes(view.loaded)
            cfg = view.ckpt.config
            fmt = lambda d: f"{dim_label(cfg, d)}  ({kind.activity_name} {scores[d]:.2f})"  # noqa: E731
            a1, a2 = st.columns(2)
            why = f"Defaults: the two most active dimensions (largest {kind.activity_label} over the stored images)."
            a1.selectbox("Horizontal axis", range(latent_dim), index=default[0], format_func=fmt, key=state.DIM_X,
                         help=why)
            a2.selectbox("Vertical axis", range(latent_dim), index=default[1], format_func=fmt, key=state.DIM_Y,
                         help=why)
        elif map_kind.is_native and latent_dim == 1:
            st.caption("This model has one latent dimension: the map shows z1 on the horizontal axis.")
        if view.method in _ships(view):
            st.caption(f"The {map_kind.label} map of these {len(view.mu):,} images ships with the model.")
        options = _colour_options(view)
        if len(options) > 1:
            st.selectbox("Colour by", options, key=state.COLOUR, format_func=lambda o: o.capitalize(),
                         help="The images' class, or one of the factors that made them (a factor of many values "
                              "in ranges of its values, lowest first).")
        sets = points_available(ckpt)
        if len(sets) > 1:
            st.segmented_control("Points", list(sets), format_func=sets.get, key=state.POINTS, default=view.point_set,
                                 required=True, help="Every image of the dataset is encoded when first asked for "
                                 "(seconds).")
        _layer_toggles(view)


def _layer_toggles(view: MapView) -> None:
    kind, ckpt = view.kind, view.ckpt
    if view.native_2d and kind.has_prior:
        st.toggle(f"Prior {ckpt.prior.name} contours", value=True, key=state.PRIOR, help=ckpt.prior.contours_caption)
    if view.native_2d and kind.gaussian_posterior:
        st.toggle(f"1-sigma ellipses of q(z|x) for {ELLIPSE_SAMPLE} images", value=False, key=state.ELLIPSES,
                  help="Each image's posterior: centre mu, half-axes sigma_i = exp(0.5 log sigma_i^2). The chosen "
                       "images' ellipses are always drawn.")
    if view.native_2d and not kind.has_prior:
        st.caption("An autoencoder has no prior and no posterior spread: each image is a single point z = mu.")
    history = view.history
    if history is not None:
        st.toggle("Watch it learn", value=False, key=state.WATCH,
                  help=f"Replay the training: the map at {len(history)} snapshots, log-spaced over its "
                       f"{int(history.step[-1]):,} steps (many early, when the map changes fast), with the loss "
                       "curve; play it or drag the scrubber under the map.")
    st.toggle("Density contours", value=False, key=state.DENSITY,
              help="Where the points are dense: contours of a kernel density estimate.")


def _colour_options(view: MapView) -> list[str]:
    """Class, and the factors of the stored images when they carry them (not for every image of the dataset, nor
    for the training's replay, whose points are others)."""
    return colour_options(view.ckpt.sample) if view.point_set == "stored" and not view.watch else [CLASS]


def colour_of(view: MapView) -> str:
    return state.colour(_colour_options(view))


def _ships(view: MapView) -> tuple:
    return shipped(str(view.ckpt.path)) if view.point_set == "stored" else ()


def projection_ui(view: MapView) -> Projection:
    """The fitted map; ends the page (controls drawn) while it cannot be shown or is being computed."""
    map_kind = view.map_kind
    if map_kind.needs_axes(view.latent_dim) and view.dims[0] == view.dims[1]:
        controls_ui(view)
        st.warning("Pick two different latent dimensions for the two axes.")
        end_page()
    availability = map_kind.available()
    if not availability.ok and view.method not in _ships(view):  # a shipped map draws without what fitting needs
        controls_ui(view)
        st.info(f"{map_kind.label} is not available here. {availability.reason}")
        st.code(availability.install, language="bash")
        end_page()
    with view.col_map, friendly_errors(f"Computing the {map_kind.label} map"):
        view.proj = projection(view.loaded, view.method, view.dims, points=view.point_set)  # None while computing
    if view.proj is None:
        controls_ui(view)
        end_page()
    return view.proj


def _replayed(view: MapView, emb: np.ndarray) -> np.ndarray:
    """The images the training's history follows, at the model's final means (the browser replays the rest)."""
    keep = None
    with friendly_errors("Reading the training's history"):
        keep = sample_positions(view.history, len(view.mu), shared_split="shared_sample" in view.ckpt.meta)
    if keep is None:
        controls_ui(view)
        end_page()
    view.images, view.labels, view.mu, view.logvar = view.images[keep], view.labels[keep], view.mu[keep], view.logvar[keep]
    return emb[keep]


def _layers(view: MapView, emb: np.ndarray) -> tuple[MapLayers, tuple]:
    """What is drawn over the points, and the map's box."""
    ckpt, dims, history, watch = view.ckpt, view.dims, view.history, view.watch
    timeline = frames = None
    if watch:
        frames = history.mu[:, :, list(dims)].astype(np.float32)
        timeline = Timeline(frames=frames, step=history.step.tolist(), epoch=history.epoch.tolist(),
                            curves={"-ELBO": history.neg_elbo.tolist(), "reconstruction": history.recon.tolist(),
                                    "KL": history.kl.tolist()})
    prior_lines = ckpt.prior.contours(dims) if view.show_prior else []
    extent = map_layout.map_extent(frames.reshape(-1, 2) if watch else emb,
                                   include=ckpt.prior.view_box(dims) if view.show_prior else None,
                                   square=view.native_2d)
    layers = MapLayers(prior=prior_lines, prior_name=ckpt.prior.name, density=state.flag(state.DENSITY, False),
                       zero_lines=view.native_2d, timeline=timeline)
    if view.native_2d and view.kind.gaussian_posterior:  # the chosen images' posteriors, and a sample's when asked
        layers.sigma = posterior.sigma_from_logvar(view.logvar[:, list(dims)])
        if state.flag(state.ELLIPSES, False):
            layers.ellipse_sample = map_layout.subsample(len(view.mu), ELLIPSE_SAMPLE, seed=1).tolist()
    return layers, extent


def map_ui(view: MapView) -> tuple[MapChoice | None, MapLayers]:
    """The WebGL map of every point, its caption and PNG button; returns what is chosen on it."""
    ckpt, map_kind, method, watch = view.ckpt, view.map_kind, view.method, view.watch
    emb = view.proj.embedding_
    if watch:
        emb = _replayed(view, emb)
    n_images = len(view.mu)
    view_key = (method, view.dims, view.point_set, watch)
    view_id = f"{view.loaded.path}|{view.loaded.stamp}|{method}|{view.dims}|{view.point_set}|" \
              f"{'history' if watch else 'now'}"
    chosen = state.target(view_key, n_images, watch)
    state.write_url(method, watch, chosen)
    layers, extent = _layers(view, emb)
    names, labels = view.class_names, view.labels
    colour = colour_of(view)
    url_state.write("colour", None if colour == CLASS else colour)
    if colour != CLASS:  # a factor of the stored images, its values as labels
        labels, names = colouring(ckpt.sample, colour, labels, names)
        view_id += f"|{colour}"
    axis_titles = map_kind.axis_titles(view.dims, view.latent_dim)
    if map_kind.is_native:  # the dimensions by their own names (a model with levels: "z2[1]")
        axis_titles = tuple(dim_label(ckpt.config, d) if t else "" for d, t in zip(view.dims, axis_titles))
    colours = class_colours(max(len(names), int(labels.max()) + 1 if n_images else 1))
    with view.col_map:
        latent_scatter(key=state.CHART, view_id=view_id, xy=emb, labels=labels, class_names=names, colours=colours,
                       images=view.loaded.hover_images(f"{view.point_set}, history" if watch else view.point_set,
                                                       view.images),
                       axis_titles=axis_titles, extent=extent, layers=layers, presenter=presenter.is_on(),
                       select=state.selection_to_send(),
                       on_change=functools.partial(state.on_change, view_key, n_images),
                       file_stem=f"{ckpt.name}-{method}", grouped_by=colour)
        st.caption(_map_note(view, n_images) + " " + KEYS + ("" if colour == CLASS else f" Coloured by {colour}: the values of "
                   "that factor of each image (in ranges of its values, lowest first, when it has many)."))
        chosen_xy = None if chosen is None or chosen.kind == "points" else (
            tuple(map(float, emb[chosen.index])) if chosen.kind == "point" else chosen.location)
        map_png_button(emb, labels, names, file_name=f"{ckpt.name}-{method}-map.png", key="latent_map_png",
                       extent=extent, axis_titles=axis_titles, highlight=chosen_xy,
                       title=f"{ckpt.name}: {map_kind.label} map of q(z|x) means", prior=layers.prior)
    return chosen, layers


def _map_note(view: MapView, n_images: int) -> str:
    history = view.history
    notes = [f"All {n_images:,} {POINT_SETS[view.point_set]}." if not view.watch else
             f"The {n_images:,} stored test images the training's history follows, at {len(history)} snapshots "
             f"from step 0 to {int(history.step[-1]):,} ({float(history.epoch[-1]):.0f} epochs): mu(x) as the "
             "encoder placed them then."]
    if view.map_kind.nonlinear:
        notes.append(f"{view.map_kind.label} keeps neighbours together but distances and densities on it are not "
                     "latent distances.")
    return " ".join(notes)


def chosen_ui(view: MapView, chosen: MapChoice | None, layers: MapLayers) -> None:
    """Beside the map, the chosen image's reconstruction (or their mean's, or the clicked place decoded); below
    it, q(z|x) of the image or the selection's classes and images."""
    ckpt, kind, mu, logvar, labels = view.ckpt, view.kind, view.mu, view.logvar, view.labels
    details = ChosenImages(view.images, labels, view.class_names, mu, logvar, kind, dim_labels(ckpt.config))
    size = 320 if not presenter.is_on() else 240
    recon = samples = None
    with view.col_img:
        if chosen is None:
            st.markdown("### Click the map")
            st.caption("A dot shows that image's posterior q(z|x) below the map; a box or a lasso (the buttons "
                       "beside the map, or Shift-drag) selects many; empty space is decoded here.")
        elif chosen.kind == "point":
            i = chosen.index
            recon, samples = posterior.decode_posterior(ckpt.model, mu[i], logvar[i], N_POSTERIOR, seed=i,
                                                        y=int(labels[i]))
            st.markdown(f"### decode(mu) of image #{i}")
            show_image(recon, target=size, alt=f"image #{i}, class {details.label_of(i)}, as {ckpt.name} "
                       "reconstructs it: " + decoded_alt(ckpt.name, mu[i]),
                       caption=f"class {details.label_of(i)}; mu = ("
                       f"{', '.join(f'{v:.2f}' for v in mu[i][:4])}{', ...' if view.latent_dim > 4 else ''})")
        elif chosen.kind == "points":
            _selection_mean_ui(view, chosen, size)
        else:
            _place_ui(view, chosen)
    if chosen is not None and chosen.kind == "point":
        details.point_details(chosen.index, recon, samples)
    elif chosen is not None and chosen.kind == "points":
        details.selection_details(chosen.points, chosen.how)
    if len(chosen.points if chosen else ()) > ELLIPSE_LIMIT and layers.sigma is not None:
        st.caption(f"On the map, 1-sigma ellipses are drawn for {ELLIPSE_LIMIT} of the selected images (an even "
                   "share).")


def _selection_mean_ui(view: MapView, chosen: MapChoice, size: int) -> None:
    from vae_core.analysis.latent import decode_batch

    picked = list(chosen.points)
    centre = view.mu[picked].mean(0)
    y = np.array([int(np.bincount(view.labels[picked]).argmax())])  # ignored by a model that takes no label
    st.markdown(f"### decode of their mean mu ({len(picked):,} images)")
    show_image(decode_batch(view.ckpt.model, centre[None], y)[0], target=size,
               alt=f"the mean of the {len(picked):,} selected images' mu, " + decoded_alt(view.ckpt.name, centre),
               caption="the average of the selected images' means, decoded")


def _place_ui(view: MapView, chosen: MapChoice) -> None:
    from vae_core.analysis.latent import decode_batch

    st.markdown("### Decoded at the clicked spot")
    z_loc = note = None
    with friendly_errors("Going back from the map to latent space"):
        z_loc, note = location_latent(view.proj, chosen.location, view.mu, has_prior=view.kind.has_prior)
    if z_loc is None:
        return
    y = None
    if view.kind.conditional:
        names = view.class_names
        y = st.selectbox("Decode as class", range(len(names)), format_func=lambda c: names[c], key=state.CLASS,
                         help="A conditional VAE's decoder p(x|z, y) also needs y.")
    show_image(decode_batch(view.ckpt.model, z_loc[None], y)[0], target=320, caption=note,
               alt=decoded_alt(view.ckpt.name, z_loc, None if y is None else view.class_names[y]))
