"""The Draw & encode page's pieces: the dataset's framing, encoding one image, placing it on a map."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from vae_core.analysis.sliders import MAX_SLIDERS
from vae_core.data.preprocess import (MAX_UPLOAD_BYTES, DatasetStyle, PreprocessError, decode_data_url, prepare,
                                      read_picture)
from vae_core.projection import DEFAULT_METHOD, METHODS, Projection, projection_method
from vae_core.render import map_layout
from vae_core.render.images import to_png, to_uint8
from vae_core.store.checkpoints import Checkpoint

from . import presenter, url_state
from .common import end_page
from .draw_component import draw_canvas
from .export import PLOTLY_CONFIG, map_png_button, point_json_button
from .images import decoded_alt, show_grid, show_image
from .latent_words import dim_labels
from .levels_ui import native_axes
from .loaded_model import LoadedModel
from .map_plot import latent_map_figure
from .model_choices import model_choices
from .projection_jobs import projection
from .projection_ui import label_of
from .state import draw as state

MAP_POINTS = 2000  # at most this many test images drawn around the new point
N_NEAREST = 8


def dataset_style(loaded: LoadedModel) -> tuple[DatasetStyle, bool]:
    """How this model's dataset frames its images, measured on its stored test images; (style, measured).

    Without stored images, MNIST's rule scaled to the model's frame (measured False)."""
    style = loaded.dataset_style()
    if style is not None:
        return style, True
    _, h, w = loaded.config.image_shape
    return DatasetStyle.mnist(h, w), False


@dataclass(frozen=True)
class Encoding:
    x: np.ndarray  # (C, H, W) the model's input
    mu: np.ndarray  # (D,)
    logvar: np.ndarray  # (D,)
    recon: np.ndarray  # (C, H, W) decode(mu): the mean of p(x|z) at the mean of q(z|x)

    @property
    def sigma(self) -> np.ndarray:
        return np.exp(0.5 * self.logvar.astype(np.float64)).astype(np.float32)


@torch.inference_mode()
def encode_one(ckpt: Checkpoint, x: np.ndarray, y: int | None = None) -> Encoding:
    model = ckpt.model
    model.eval()
    xt = torch.from_numpy(np.asarray(x, np.float32)[None]).to(model.device)
    yt = torch.tensor([int(y)], device=model.device) if (y is not None and ckpt.config.variant.conditional) else None
    mu, logvar = model.encode(xt, yt)
    recon = model.decode(mu, yt)
    return Encoding(np.asarray(x, np.float32), mu[0].float().cpu().numpy(), logvar[0].float().cpu().numpy(),
                    recon[0].float().cpu().numpy())


def place(proj: Projection, mu: np.ndarray, key: tuple) -> np.ndarray:
    """The map position (2,) of one latent point; remembered per map and point (a transform can be slow)."""
    store = st.session_state.setdefault("draw_placed", {})
    if key not in store:
        if len(store) > 32:
            store.clear()
        with st.spinner(f"Placing the point on the {proj.label} map..."):
            store[key] = np.asarray(proj.transform(mu[None]), dtype=np.float32)[0]
    return store[key]


def nearest_images(mu_all: np.ndarray, mu: np.ndarray, k: int = 8) -> np.ndarray:
    """Indices of the k encoded test images whose mu is nearest to mu (Euclidean, in latent space)."""
    d = ((np.asarray(mu_all, np.float64) - np.asarray(mu, np.float64)[None]) ** 2).sum(1)
    return np.argsort(d, kind="stable")[:k]


# ---------------------------------------------------------------- the page's parts

@dataclass
class Picture:
    """The picture as the model sees it, and what the encoder made of it."""

    loaded: LoadedModel
    x: np.ndarray  # (C, H, W) in [0, 1]
    y: int | None  # the class given to a conditional model
    source: str  # "draw" or "upload"
    enc: Encoding

    @property
    def ckpt(self) -> Checkpoint:
        return self.loaded.checkpoint


def _class_names(ckpt: Checkpoint) -> list[str]:
    return ckpt.class_names or [str(c) for c in range(ckpt.config.num_classes)]


def _input_ui(ckpt: Checkpoint) -> tuple[np.ndarray | None, int | None, str]:
    """The canvas or the upload, and a conditional model's class: (grey picture or None, y, source)."""
    grey = None
    source = st.segmented_control("Input", list(state.SOURCES), format_func=state.SOURCES.get, key=state.SOURCE,
                                  required=True, label_visibility="collapsed")
    if source == "upload":
        up = st.file_uploader("A picture of one digit or object (PNG, JPEG, GIF, BMP, WebP)",
                              type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key="draw_upload",
                              max_upload_size=MAX_UPLOAD_BYTES // 2**20,
                              help="Dark on light paper or light on dark: either works (a light border is "
                                   "taken as paper and inverted).")
        if up is not None:
            try:
                grey = read_picture(up.getvalue())
            except PreprocessError as e:
                st.error(f"That picture cannot be used: {e}")
            else:
                show_image((grey * 255 + 0.5).astype(np.uint8), caption="the uploaded picture", target=200,
                           alt=f"the uploaded picture {up.name}, in grey")
    else:
        drawn = draw_canvas("draw_canvas", state.IMAGE, display=320, hall=presenter.is_on())
        if drawn:
            try:
                grey = read_picture(decode_data_url(drawn))
            except PreprocessError as e:
                st.error(f"The drawing could not be read: {e}")
    y = None
    if ckpt.config.variant.conditional:
        names = _class_names(ckpt)
        y = st.selectbox("Class y (a conditional VAE encodes q(z|x, y))", range(len(names)),
                         format_func=lambda c: names[c], key=state.CLASS)
    return grey, y, source


def picture_ui(loaded: LoadedModel) -> Picture:
    """The input beside the model's input and its reconstruction; ends the page while there is no picture."""
    ckpt = loaded.checkpoint
    _, h, w = ckpt.config.image_shape
    state.start(str(ckpt.path))
    style, measured = dataset_style(loaded)
    col_in, col_x, col_rec = st.columns([3, 2, 2], gap="large")
    with col_in:
        grey, y, source = _input_ui(ckpt)
    x = None
    if grey is not None:
        try:
            x = prepare(grey, style, ckpt.config.image_shape[0])
        except PreprocessError as e:
            col_in.warning(str(e).capitalize() + ".")
    with col_x:
        st.markdown("### Model input")
    with col_rec:
        st.markdown("### Reconstruction")
    if x is None:
        col_x.caption(f"Your picture, framed like the {ckpt.meta.get('dataset', 'training')} images: {h}x{w} pixels, "
                      "grey values in [0, 1], centred by its centre of mass.")
        col_rec.caption("decode(mu): the decoder's mean of p(x|z) at the encoder's mean.")
        st.info("Draw on the black square (white strokes), or choose **Upload a picture**.")
        end_page()
    enc = encode_one(ckpt, x, y)
    with col_x:
        show_image(x, target=280, caption=f"{h}x{w} input x, values in [0, 1]",
                   alt=f"the model's input x: your {'picture' if source == 'upload' else 'drawing'}, framed as "
                       f"{h}x{w} pixels")
        what = (f"box {style.box:.0%} of the frame, centre of mass at ({style.centre[1]:.1f}, {style.centre[0]:.1f}) "
                "as measured on this model's test images" if measured else "MNIST's rule: a 20/28 box, centred")
        st.caption(f"Cropped to the ink, scaled so its longest side is {style.box_pixels()} px ({what}).")
        st.download_button("Download x (PNG)", to_png(to_uint8(x)[0]), file_name=f"{ckpt.name}-input.png",
                           mime="image/png", key="draw_x_png", icon=":material/download:", on_click="ignore")
    with col_rec:
        show_image(enc.recon, target=280, caption="decode(mu): the mean of p(x|z) at z = mu",
                   alt="its reconstruction: " + decoded_alt(ckpt.name, enc.mu))
        st.metric("Mean |x - decode(mu)| per pixel", f"{float(np.abs(enc.recon - x).mean()):.3f}")
    return Picture(loaded, x, y, source, enc)


def _kl_of(pic: Picture) -> dict | None:
    """The picture's KL and its named terms, computed as How it works does (vae_core.analysis.explain), with the
    noise at 0 (z at q's means): for a model whose KL does not split by dimension (its prior couples them, or
    it has levels). None for a model without a KL term."""
    from vae_core.analysis.explain import explain_image

    kind = pic.ckpt.config.variant
    if not (kind.has_prior and kind.kl_terms):
        return None
    ex = explain_image(pic.ckpt.model, pic.x, pic.y, eps=np.zeros(len(pic.enc.mu), np.float32))
    return {"kl": ex["kl"], "terms": {k: ex["terms"][k] for k in kind.kl_terms if k in ex["terms"]}}


def encoder_ui(pic: Picture) -> None:
    """q(z|x) of the picture per dimension, its size and KL, and the nearest stored test images."""
    ckpt, enc, kind = pic.ckpt, pic.enc, pic.ckpt.config.variant
    if kind.discrete_latent:
        return draw_codes_ui(pic)
    st.subheader("The encoder's answer" + (": q(z|x) = N(mu, sigma^2)" if kind.gaussian_posterior else ": the code z"))
    table = {"mu" if kind.gaussian_posterior else "z": enc.mu}
    kl_dims = kind.kl_per_dim(enc.mu[None], enc.logvar[None]) if kind.has_prior else None  # None: it does not split
    if kind.gaussian_posterior:
        table["sigma"] = enc.sigma
    if kl_dims is not None:
        table["KL (nats)"] = kl_dims[0]
    st.dataframe(pd.DataFrame(table, index=dim_labels(ckpt.config)).T.style.format("{:.3f}"), width="stretch")
    m1, m2, m3 = st.columns(3)
    m1.metric("||mu||", f"{np.linalg.norm(enc.mu):.2f}")
    if not kind.gaussian_posterior:
        m2.caption("An autoencoder's code is one point, z = mu: no sigma, no KL, nothing to sample.")
    else:
        if kl_dims is not None:
            m2.metric(f"KL(q(z|x) || {ckpt.prior.name})", f"{float(kl_dims.sum()):.2f} nats")
        elif (kl := _kl_of(pic)) is not None:
            parts = " + ".join(f"{name} {value:.2f}" for name, value in kl["terms"].items())
            m2.metric(f"KL(q(z|x) || {ckpt.prior.name})", f"{kl['kl']:.2f} nats",
                      help=f"{parts}, with z at q's means (the KL of this prior does not split by dimension)"
                      if len(kl["terms"]) > 1 else "with z at q's means (this prior's KL does not split by dimension)")
            if len(kl["terms"]) > 1:
                m2.caption(f"{parts} (nats, with z at q's means)")
        m3.metric("mean sigma", f"{float(enc.sigma.mean()):.3f}")
    _nearest_ui(pic, pic.loaded.encodings()[0] if len(pic.loaded.encodings()[0]) else None, enc.mu,
                "whose mu is nearest")


def _nearest_ui(pic: Picture, reference, point, how: str, near=None) -> None:
    """The N_NEAREST stored test images nearest to the picture (by ``near``, else Euclidean in latent space)."""
    ckpt = pic.ckpt
    sample = ckpt.sample
    if sample is None or len(sample.labels) == 0 or reference is None:
        return
    names = _class_names(ckpt)
    near = nearest_images(reference, point, N_NEAREST) if near is None else near
    shown = [names[int(c)] if int(c) < len(names) else str(int(c)) for c in sample.labels[near]]
    st.markdown(f"**The {N_NEAREST} test images {how}** (classes: {', '.join(shown)})")
    show_grid(sample.images[near], ncols=N_NEAREST, cell=96,
              alt=f"the {N_NEAREST} stored test images {how}, nearest first, of the classes " + ", ".join(shown))


def draw_codes_ui(pic: Picture) -> None:
    """A model whose latent is discrete: the picture's grid of code indices, and the stored images whose grids
    share the most codes with it."""
    from .code_grid import code_grid

    ckpt, kind = pic.ckpt, pic.ckpt.config.variant
    codes = np.asarray(kind.codes_of(ckpt.config, ckpt.arrays, pic.enc.mu[None]))[0]
    h, w = codes.shape
    st.subheader(f"The encoder's answer: a {h}x{w} grid of codes")
    left, right = st.columns([2, 3], gap="large")
    with left:
        code_grid("draw_codes_grid", pic.x, codes, size=300, still=True,
                  alt=f"your picture with its {h}x{w} grid of code indices")
    with right:
        st.markdown(f"At each of the {h}x{w} positions the encoder's vector z_e is replaced by the nearest codebook "
                    "vector; the number is that code. The reconstruction above is these codes, decoded. There is no "
                    "sigma and no KL: the answer is one grid, the same every time.")
        st.metric("Different codes in your picture", f"{len(np.unique(codes))} of {h * w} positions")
    if ckpt.sample is not None and len(ckpt.sample.labels):
        same = (pic.loaded.codes().reshape(len(ckpt.sample.labels), -1) == codes.ravel()).sum(1)
        near = np.argsort(-same, kind="stable")[:N_NEAREST]
        _nearest_ui(pic, pic.loaded.codes(), codes, f"whose grids share the most codes with yours "
                    f"({int(same[near[0]])} to {int(same[near[-1]])} of {h * w} positions)", near=near)


def actions_ui(pic: Picture) -> None:
    """Download the point; open it on the Latent sliders."""
    ckpt, enc, kind = pic.ckpt, pic.enc, pic.ckpt.config.variant
    b1, b2 = st.columns(2)
    with b1:
        extra = {"sigma": enc.sigma, "log_sigma2": enc.logvar} if kind.gaussian_posterior else {}
        point_json_button(ckpt.name, enc.mu, file_name=f"{ckpt.name}-drawing-point.json", key="draw_point_json",
                          source="upload" if pic.source == "upload" else "drawing", **extra)
    with b2:
        if kind.has_prior and len(enc.mu) <= MAX_SLIDERS:
            space = pic.loaded.slider_space()  # the link sets the sliders, in their units, to this z
            query = {f"sliders_z{d + 1}": f"{v:.3f}" for d, v in zip(space.slider_dims, space.to_sliders(enc.mu, 3))}
            if st.button("Open this z on the Latent sliders", key="draw_to_sliders", icon=":material/tune:"):
                url_state.forget_all()
                path = str(ckpt.path)
                name = next((url_state.model_url_name(c) for c in model_choices() if c.path == path), None)
                st.switch_page("pages/sliders.py", query_params={**query, **({"model": name} if name else {})})


def _map_side_ui(pic: Picture, proj: Projection, dims: tuple[int, int], ellipse, shown, emb, extent, axis_titles,
                 where) -> None:
    ckpt, kind = pic.ckpt, pic.ckpt.config.variant
    map_kind = projection_method(proj.name)
    native = map_kind.is_native and len(pic.enc.mu) >= 2
    names = dim_labels(ckpt.config)
    st.markdown(f"**{map_kind.label}**")
    st.caption(proj.placement_note)
    if native and kind.gaussian_posterior:
        st.caption("The black ellipse is your picture's posterior: centre mu, half-axes sigma "
                   f"({names[dims[0]]}: {ellipse[0]:.2f}, {names[dims[1]]}: {ellipse[1]:.2f}). "
                   + ckpt.prior.contours_caption)
    elif not native:
        st.caption("The 1-sigma ellipse is drawn on the native latent plane only: the other maps bend distances.")
    if map_kind.needs_axes(len(pic.enc.mu)):
        st.caption(f"Shown: {names[dims[0]]} and {names[dims[1]]}" + (
            f", the two most active dimensions (largest {kind.activity_label})." if dims == pic.loaded.default_axes()
            else ", the top level of this model's latent."))
    st.caption(f"{len(shown):,} of {len(ckpt.sample.labels):,} test images shown.")
    map_png_button(emb, ckpt.sample.labels[shown], _class_names(ckpt), file_name=f"{ckpt.name}-drawing-{proj.name}.png",
                   key="draw_map_png", extent=extent, axis_titles=axis_titles,
                   title=f"{ckpt.name}: your picture on the {map_kind.label} map",
                   highlight=(float(where[0]), float(where[1])), ellipse=ellipse,
                   prior=ckpt.prior.contours(dims) if native and kind.has_prior else ())


def map_ui(pic: Picture) -> None:
    """Where the picture lands among the encoded test images, on any map; a map that cannot be fitted here
    says why and what to install."""
    ckpt, enc, kind = pic.ckpt, pic.enc, pic.ckpt.config.variant
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        st.info("This checkpoint stores no test images, so there is no map to place the point on.")
        end_page()
    if kind.discrete_latent:  # no plane of z: the grid above is where the picture lands
        st.info("A grid of codes has no latent plane to place it on: where your picture lands is its grid of codes "
                "above. The Latent map page maps this model's codebook.")
        end_page()
    st.subheader("Where it lands on the latent map")
    method = st.segmented_control("Map", list(METHODS), format_func=label_of, required=True, key=state.PROJECTION,
                                  default=None if state.PROJECTION in st.session_state else DEFAULT_METHOD)
    url_state.write("projection", method)
    map_kind = projection_method(method)  # what the map can do (vae_core.projection.base)
    availability = map_kind.available()
    if not availability.ok:
        st.info(f"{map_kind.label} is not available here. {availability.reason}")
        st.code(availability.install, language="bash")
        end_page()
    D = len(enc.mu)
    dims = native_axes(pic.loaded) if map_kind.needs_axes(D) else (0, 1)
    try:
        proj = projection(pic.loaded, method, dims, background=False)
        where = place(proj, enc.mu, (str(ckpt.path), method, dims, enc.mu.tobytes()))
    except (ValueError, RuntimeError) as e:
        st.error(f"Placing the point on the {map_kind.label} map failed: {e}")
        end_page()
    native = map_kind.is_native and D >= 2
    shown = map_layout.subsample(len(ckpt.sample.labels), MAP_POINTS)
    emb = proj.embedding_[shown]
    prior = ckpt.prior.contours(dims) if native and kind.has_prior else None
    extent = map_layout.map_extent(np.vstack([emb, where[None]]), square=native,
                                   include=ckpt.prior.view_box(dims) if prior is not None else None)
    axis_titles = map_kind.axis_titles(dims, D)
    if map_kind.is_native:  # by their own names (a model with levels: "z2[1]")
        axis_titles = tuple(dim_labels(ckpt.config)[d] if t else "" for d, t in zip(dims, axis_titles))
    fig = latent_map_figure(emb, ckpt.sample.labels[shown], shown, _class_names(ckpt), axis_titles=axis_titles,
                            extent=extent, equal_axes=native, prior=prior, prior_name=ckpt.prior.name, height=620)
    ellipse = None
    if native and kind.gaussian_posterior:
        ellipse = (float(enc.sigma[dims[0]]), float(enc.sigma[dims[1]]))
        ex, ey = map_layout.ellipse_outlines(where[None], np.array([ellipse]), 64)
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", name="your q(z|x): 1 sigma", hoverinfo="skip",
                                 line=dict(color="black", width=3)))
    fig.add_trace(go.Scatter(x=[where[0]], y=[where[1]], mode="markers", name="your picture", hoverinfo="skip",
                             marker=dict(symbol="star", size=20, color="gold", line=dict(color="black", width=1.5))))
    c_map, c_side = st.columns([5, 2], gap="large")
    with c_map:
        st.plotly_chart(fig, key="draw_map", config=PLOTLY_CONFIG)
    with c_side:
        _map_side_ui(pic, proj, dims, ellipse, shown, emb, extent, axis_titles, where)
