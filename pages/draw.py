"""Draw & encode: draw a digit or upload a picture; the encoder's q(z|x) of it, its reconstruction,
and its place on the latent map among the test images."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import presenter, url_state
from ui.common import current_model, end_page, page_header
from ui.draw_component import draw_canvas
from ui.draw_ui import dataset_style, encode_one, nearest_images, place
from ui.export import PLOTLY_CONFIG, map_png_button, point_json_button
from ui.images import show_grid, show_image
from ui.map_plot import latent_map_figure
from ui.model_choices import model_choices
from ui.projection_jobs import projection
from ui.projection_ui import chosen_method, label_of, usable_methods
from ui.typicality import typicality_section
from vae_core.render import map_layout
from vae_core.data.preprocess import MAX_UPLOAD_BYTES, PreprocessError, decode_data_url, prepare, read_picture
from vae_core.projection import DEFAULT_METHOD, projection_method
from vae_core.render.images import to_png, to_uint8
from vae_core.analysis.sliders import MAX_SLIDERS

SOURCES = {"draw": "Draw", "upload": "Upload a picture"}
MAP_POINTS = 2000  # at most this many test images drawn around the new point
N_NEAREST = 8

page_header("Draw & encode", "Draw a digit (or upload a picture): it is framed like the training images, then "
            "the encoder gives its posterior q(z|x) = N(mu, sigma^2), the decoder p(x|z) redraws it from mu, "
            "and the map shows where it lands among the encoded test images.")
loaded = current_model()
if loaded is None:
    end_page()
ckpt = loaded.checkpoint

path = str(ckpt.path)
cfg = ckpt.config
C, H, W = cfg.image_shape
D = cfg.latent_dim
kind = cfg.variant
sample = ckpt.sample if ckpt.sample is not None and len(ckpt.sample.labels) else None
class_names = ckpt.class_names or [str(c) for c in range(cfg.num_classes)]
if st.session_state.get("draw_model") != path:
    st.session_state.draw_model = path
    st.session_state.pop("draw_class", None)
for k, v in (("draw_image", None), ("draw_source", "draw")):
    if k not in st.session_state:
        st.session_state[k] = v
style, measured = dataset_style(loaded)
# the map's projection is part of the view from the start (a link's value is checked even before a drawing)
map_options = usable_methods()  # those that can be fitted here
chosen = url_state.link_choice("projection", map_options, "the map stays as it was")
if chosen is not None:
    st.session_state.draw_projection = chosen
url_state.write("projection", chosen_method("draw_projection"))

# -- the picture ------------------------------------------------------------------------------------
col_in, col_x, col_rec = st.columns([3, 2, 2], gap="large")
grey = None
with col_in:
    source = st.segmented_control("Input", list(SOURCES), format_func=SOURCES.get, key="draw_source",
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
                show_image((grey * 255 + 0.5).astype(np.uint8), caption="the uploaded picture", target=200)
    else:
        drawn = draw_canvas("draw_canvas", "draw_image", display=320, hall=presenter.is_on())
        if drawn:
            try:
                grey = read_picture(decode_data_url(drawn))
            except PreprocessError as e:
                st.error(f"The drawing could not be read: {e}")
    y = None
    if kind.conditional:
        y = st.selectbox("Class y (a conditional VAE encodes q(z|x, y))", range(len(class_names)),
                         format_func=lambda c: class_names[c], key="draw_class")

x = None
if grey is not None:
    try:
        x = prepare(grey, style, C)
    except PreprocessError as e:
        col_in.warning(str(e).capitalize() + ".")

if x is None:
    with col_x:
        st.markdown("### Model input")
        st.caption(f"Your picture, framed like the {ckpt.meta.get('dataset', 'training')} images: {H}x{W} pixels, "
                   "grey values in [0, 1], centred by its centre of mass.")
    with col_rec:
        st.markdown("### Reconstruction")
        st.caption("decode(mu): the decoder's mean of p(x|z) at the encoder's mean.")
    st.info("Draw on the black square (white strokes), or choose **Upload a picture**.")
    end_page()

enc = encode_one(ckpt, x, y)
with col_x:
    st.markdown("### Model input")
    show_image(x, target=280, caption=f"{H}x{W} input x, values in [0, 1]")
    what = (f"box {style.box:.0%} of the frame, centre of mass at ({style.centre[1]:.1f}, {style.centre[0]:.1f}) "
            "as measured on this model's test images" if measured else "MNIST's rule: a 20/28 box, centred")
    st.caption(f"Cropped to the ink, scaled so its longest side is {style.box_pixels()} px ({what}).")
    st.download_button("Download x (PNG)", to_png(to_uint8(x)[0]), file_name=f"{ckpt.name}-input.png",
                       mime="image/png", key="draw_x_png", icon=":material/download:", on_click="ignore")
with col_rec:
    st.markdown("### Reconstruction")
    show_image(enc.recon, target=280, caption="decode(mu): the mean of p(x|z) at z = mu")
    err = float(np.abs(enc.recon - x).mean())
    st.metric("Mean |x - decode(mu)| per pixel", f"{err:.3f}")

# -- q(z|x) -------------------------------------------------------------------------------------------
st.subheader("The encoder's answer" + (": q(z|x) = N(mu, sigma^2)" if kind.gaussian_posterior else ": the code z"))
table = {"mu" if kind.gaussian_posterior else "z": enc.mu}
kl_dims = kind.kl_per_dim(enc.mu[None], enc.logvar[None]) if kind.has_prior else None  # None: it does not split
if kind.gaussian_posterior:
    table["sigma"] = enc.sigma
if kl_dims is not None:
    table["KL (nats)"] = kl_dims[0]
st.dataframe(pd.DataFrame(table, index=[f"z{d + 1}" for d in range(D)]).T.style.format("{:.3f}"), width="stretch")
m1, m2, m3 = st.columns(3)
m1.metric("||mu||", f"{np.linalg.norm(enc.mu):.2f}")
if not kind.gaussian_posterior:
    m2.caption("An autoencoder's code is one point, z = mu: no sigma, no KL, nothing to sample.")
else:
    if kl_dims is not None:
        m2.metric(f"KL(q(z|x) || {ckpt.prior.name})", f"{float(kl_dims.sum()):.2f} nats")
    m3.metric("mean sigma", f"{float(enc.sigma.mean()):.3f}")

mu_all = logvar_all = None
if sample is not None:
    mu_all, logvar_all = loaded.encodings()
    near = nearest_images(mu_all, enc.mu, N_NEAREST)
    names = [class_names[int(c)] if int(c) < len(class_names) else str(int(c)) for c in sample.labels[near]]
    st.markdown(f"**The {N_NEAREST} test images whose mu is nearest** (classes: {', '.join(names)})")
    show_grid(sample.images[near], ncols=N_NEAREST, cell=96)

b1, b2 = st.columns(2)
with b1:
    extra = {"sigma": enc.sigma, "log_sigma2": enc.logvar} if kind.gaussian_posterior else {}
    point_json_button(ckpt.name, enc.mu, file_name=f"{ckpt.name}-drawing-point.json", key="draw_point_json",
                      source="upload" if source == "upload" else "drawing", **extra)
with b2:
    if kind.has_prior and D <= MAX_SLIDERS:
        space = loaded.slider_space()  # the link sets the sliders, in their units, to this z
        query = {f"sliders_z{d + 1}": f"{v:.3f}" for d, v in zip(space.slider_dims, space.to_sliders(enc.mu, 3))}
        if st.button("Open this z on the Latent sliders", key="draw_to_sliders", icon=":material/tune:"):
            url_state.forget_all()
            name = next((url_state.model_url_name(c) for c in model_choices() if c.path == path), None)
            st.switch_page("pages/sliders.py", query_params={**query, **({"model": name} if name else {})})

if sample is None:
    st.info("This checkpoint stores no test images, so there is no map to place the point on.")
    end_page()

# -- the point on the latent map ---------------------------------------------------------------------
st.subheader("Where it lands on the latent map")
method = st.segmented_control("Map", map_options, format_func=label_of, required=True, key="draw_projection",
                              default=None if "draw_projection" in st.session_state else DEFAULT_METHOD)
url_state.write("projection", method)
map_kind = projection_method(method)  # what the map can do (vae_core.projection.base)
dims = (0, 1)
if map_kind.needs_axes(D):
    dims = loaded.default_axes()
proj = None
try:
    proj = projection(loaded, method, dims, background=False)
except ValueError as e:
    st.error(f"The {map_kind.label} map failed: {e}")
    end_page()
key = (path, method, dims, enc.mu.tobytes())
try:
    where = place(proj, enc.mu, key)
except (ValueError, RuntimeError) as e:
    st.error(f"Placing the point on the {map_kind.label} map failed: {e}")
    end_page()

native = map_kind.is_native and D >= 2
shown = map_layout.subsample(len(mu_all), MAP_POINTS)
emb = proj.embedding_[shown]
extent = map_layout.map_extent(np.vstack([emb, where[None]]), square=native,
                              include=ckpt.prior.view_box(dims) if native and kind.has_prior else None)
axis_titles = map_kind.axis_titles(dims, D)
fig = latent_map_figure(emb, sample.labels[shown], shown, class_names, axis_titles=axis_titles, extent=extent,
                        equal_axes=native, prior=ckpt.prior.contours(dims) if native and kind.has_prior else None,
                        prior_name=ckpt.prior.name,
                        height=620)
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
    st.markdown(f"**{map_kind.label}**")
    st.caption(proj.placement_note)
    if native and kind.gaussian_posterior:
        st.caption("The black ellipse is your picture's posterior: centre mu, half-axes sigma "
                   f"(z{dims[0] + 1}: {ellipse[0]:.2f}, z{dims[1] + 1}: {ellipse[1]:.2f}). "
                   + ckpt.prior.contours_caption)
    elif not native:
        st.caption("The 1-sigma ellipse is drawn on the native latent plane only: the other maps bend distances.")
    if map_kind.needs_axes(D):
        st.caption(f"Shown: z{dims[0] + 1} and z{dims[1] + 1}, the two most active dimensions (largest "
                   f"{kind.activity_label}).")
    st.caption(f"{len(shown):,} of {len(mu_all):,} test images shown.")
    map_png_button(emb, sample.labels[shown], class_names, file_name=f"{ckpt.name}-drawing-{method}.png",
                   key="draw_map_png", extent=extent, axis_titles=axis_titles,
                   title=f"{ckpt.name}: your picture on the {map_kind.label} map",
                   highlight=(float(where[0]), float(where[1])), ellipse=ellipse,
                   prior=ckpt.prior.contours(dims) if native and kind.has_prior else ())

# -- how typical the picture is, in the model's own measure --------------------------------------------
typicality_section(loaded, x, y)
