"""Generate: new images from the prior, the latent manifold, interpolations and traversals."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from ui import presenter, url_state
from ui.common import current_model, end_page, friendly_errors, page_header, require_sample
from ui.generate_ui import (class_name, class_picker, frames, grid_frames, pick_image_ui,
                            reset_on_model_change, show_tiled, take_image, tiled_image)
from ui.images import show_grid
from ui.inputs import number_in_range
from vae_core.model.activity import rank_dims
from vae_core.analysis.latent import (SLIDER_LIMIT, decode_batch, interpolate, manifold_points, normal_ppf, traversal,
                             traversal_values)
from vae_core.render.images import to_gif, to_png

P = "generate_"  # this page's settings, kept across models
M = "generate_m_"  # settings that belong to the loaded model (image numbers, dimensions, classes)
TABS = {"prior": "Prior samples", "manifold": "Latent manifold", "interpolation": "Interpolation",
        "traversal": "Traversal"}  # the link's tab= name -> the tab
MAX_SEED = 2**31 - 1
MAX_TRAVERSAL_DIMS = 16
ALL_CLASSES = -1

page_header("Generate", "New images from the decoder p(x|z): samples from the prior N(0, I), the latent "
            "manifold, paths between two encoded images, and one latent dimension at a time.")
loaded = current_model()
if loaded is None:
    end_page()
ckpt = loaded.checkpoint
reset_on_model_change(M, str(ckpt.path))
cfg, model = ckpt.config, ckpt.model
D, kind, prior = cfg.latent_dim, cfg.variant, ckpt.prior
stem = ckpt.name


def dim_name(d: int) -> str:
    return f"z{d + 1}"


def bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def download_png(img: np.ndarray, label: str, file_name: str, key: str) -> None:
    st.download_button(label, to_png(img), file_name=file_name, mime="image/png", key=key,
                       icon=":material/download:")


def prior_tab() -> None:
    st.markdown(f"Draw **z ~ {prior.tempered_name}** and decode it: every image is the mean of **p(x|z)**. "
                "The temperature T scales the prior's standard deviation.")
    if not kind.has_prior:
        st.warning("This is a plain autoencoder: nothing in its training made the codes follow N(0, I), so "
                   "decoding prior draws lands where the decoder learned little. Expect blurry or broken images; "
                   "compare a VAE trained on the same data.")
    mode = None
    if kind.conditional:
        mode = st.selectbox("Class y given to the decoder", [ALL_CLASSES, *range(cfg.num_classes)],
                            key=M + "prior_class", persist_state="session",
                            format_func=lambda c: "one row per class" if c == ALL_CLASSES else class_name(ckpt, c))
    url_state.take_number("T", P + "temp", 0.1, 2.0, "temperature", step=0.1)
    url_state.take_number("n", P + "count", 8, 64, "number of images", integer=True, step=8)
    url_state.take_number("seed", P + "seed", 0, MAX_SEED, "seed", integer=True)
    if presenter.is_on():  # on a projector: the grid as tall as the screen allows, its controls beside it
        shown, side = st.columns([3, 1], gap="large")
        c1 = c2 = c3 = side
    else:
        c1, c2, c3 = st.columns([3, 3, 2], vertical_alignment="bottom")
        shown = st.container()
    temp = c1.slider("Temperature T", 0.1, 2.0, 1.0, 0.1, key=P + "temp", persist_state="session",
                     help="z = T * eps with eps ~ N(0, I). T < 1 stays near the origin (typical, less varied), "
                          "T > 1 reaches the tails the decoder rarely saw.")
    count = c2.slider("Number of images", 8, 64, 32, 8, key=P + "count", persist_state="session",
                      disabled=mode == ALL_CLASSES, help="With one row per class: 8 per class.")
    seed = int(number_in_range("Seed", 0, MAX_SEED, 0, key=P + "seed", where=c3, persist_state="session"))
    c3.button("New samples", on_click=bump, args=(P + "seed",), icon=":material/casino:", key=P + "new")
    link({"T": temp if temp != 1.0 else None, "n": count if count != 32 else None, "seed": seed or None})
    ncols, y = 8, None
    if mode == ALL_CLASSES:
        z = np.tile(prior.sample(ncols, temp, seed), (cfg.num_classes, 1))
        y = torch.arange(cfg.num_classes).repeat_interleave(ncols)
        order = ", ".join(class_name(ckpt, c) for c in range(cfg.num_classes))
        caption = (f"One row per class (top to bottom: {order}), T = {temp:.1f}, seed {seed}. Each column uses "
                   "the same z: the class y sets the identity, z the style.")
    elif mode is not None:
        z, y = prior.sample(count, temp, seed), torch.tensor(mode)
        caption = f"{count} samples of class {class_name(ckpt, mode)}, T = {temp:.1f}, seed {seed}"
    else:
        z = prior.sample(count, temp, seed)
        caption = f"{count} samples from {prior.tempered_name.replace('T', f'{temp:.1f}')}, seed {seed}"
    with st.spinner("Decoding..."), shown, st.container(key="main_figure"):
        grid = show_grid(decode_batch(model, z, y), ncols=ncols, caption=caption, cell=110)
    download_png(grid, "Download PNG", f"{stem}-prior-T{temp:.1f}-seed{seed}.png", P + "prior_png")


def manifold_dims() -> tuple[int, int]:
    if D == 2:
        return 0, 1
    top = loaded.default_axes()
    # a link names dimensions z1..zD; the pickers count from 0
    url_state.take_number("x", M + "dim_x", 1, D, "horizontal axis", integer=True, to_widget=lambda v: v - 1)
    url_state.take_number("y", M + "dim_y", 1, D, "vertical axis", integer=True, to_widget=lambda v: v - 1)
    c1, c2 = st.columns(2)
    i = c1.selectbox("Horizontal axis", list(range(D)), index=top[0], key=M + "dim_x", format_func=dim_name,
                      persist_state="session")
    rest = [d for d in range(D) if d != i]
    j_default = top[1] if top[1] != i else rest[0]
    if st.session_state.get(M + "dim_y") not in rest:
        st.session_state[M + "dim_y"] = j_default
    j = c2.selectbox("Vertical axis", rest, key=M + "dim_y", format_func=dim_name, persist_state="session")
    others = "The other dimension is" if D == 3 else f"The other {D - 2} dimensions are"
    st.caption(f"{others} held at 0, the prior's mean. The two axes start at the "
               f"dimensions with the largest {kind.activity_label}, the ones the model uses most.")
    return i, j


def manifold_tab() -> None:
    st.markdown("Decode a regular grid of latent points, as in Figure 4 of Kingma & Welling (2014): "
                "the **learned manifold** shows how the decoder covers the latent space.")
    if not kind.has_prior:
        st.warning("This is a plain autoencoder: its codes do not follow N(0, I), so this grid, shaped by the "
                   "prior, may cover only part of where its codes lie, or empty space between them.")
    url_state.take_number("grid", P + "grid_n", 10, 30, "grid size", integer=True)
    n = st.slider("Grid size n (n x n images)", 10, 30, 15, 1, key=P + "grid_n", persist_state="session")
    y = torch.tensor(class_picker(ckpt, "Class y given to the decoder", M + "grid_class")) if kind.conditional else None
    if D == 1:
        z = manifold_points(n, 1)
        st.caption("This model has a single latent dimension: the manifold is one row.")
        ncols, axes = n, f"{dim_name(0)} grows from left to right"
    else:
        i, j = manifold_dims()
        z = manifold_points(n, D, (i, j))
        ncols = n
        axes = f"{dim_name(i)} grows from left to right, {dim_name(j)} from bottom to top"
    with st.spinner("Decoding the grid..."):
        images = decode_batch(model, z, y)
    link({"grid": n if n != 15 else None, **({"x": i + 1, "y": j + 1} if D > 2 else {})})
    lo, hi = float(normal_ppf(np.array([0.05, 0.95]))[0]), float(normal_ppf(np.array([0.05, 0.95]))[1])
    grid = show_tiled(images, ncols=ncols, width=850, caption=f"{axes}, from {lo:.2f} to {hi:.2f}.")
    st.caption("Why the inverse Gaussian CDF: the grid points are z = Φ⁻¹(p) for p evenly spaced from 0.05 to "
               "0.95, "
               "not evenly spaced z. Each cell then holds the same probability mass under the prior N(0, 1), so the "
               "grid is dense near the origin, where most codes lie, and sparse in the tails, where few do.")
    download_png(grid, "Download PNG", f"{stem}-manifold-{n}x{n}.png", P + "grid_png")


def interpolation_tab() -> None:
    if not require_sample(ckpt):
        return
    st.markdown("Encode two stored images, take the means **mu** of q(z|x), and decode the points on the way "
                "from one to the other: **linear** (lerp, a straight line) and **spherical** (slerp, a great "
                "circle that keeps the norm of z, where Gaussian samples concentrate).")
    present = sorted(int(c) for c in np.unique(ckpt.sample.labels))
    take_image("a", M + "a", ckpt, "image A")
    take_image("b", M + "b", ckpt, "image B")
    url_state.take_number("steps", P + "steps", 5, 20, "number of steps", integer=True)
    url_state.take_number("fps", P + "fps", 2, 20, "GIF speed", integer=True)
    ca, cb, cc = st.columns([2, 2, 3])
    with ca:
        ia = pick_image_ui(ckpt, M + "a", "Image A", default_class=present[0])
    with cb:
        ib = pick_image_ui(ckpt, M + "b", "Image B", default_class=present[min(1, len(present) - 1)])
    with cc:
        steps = st.slider("Steps", 5, 20, 10, 1, key=P + "steps", persist_state="session")
        fps = st.slider("GIF frames per second", 2, 20, 8, 1, key=P + "fps", persist_state="session")
        y = None
        if kind.conditional:
            y = torch.tensor(class_picker(ckpt, "Class y given to the decoder", M + "interp_class",
                                          default=int(ckpt.sample.labels[ia])))
    link({"a": ia, "b": ib, "steps": steps if steps != 10 else None, "fps": fps if fps != 8 else None})
    mu, _ = loaded.encodings()
    za, zb = mu[ia], mu[ib]
    cell = min(110, 980 // steps)
    gifs = {}
    with st.spinner("Decoding the paths..."):
        for method, title in (("lerp", "Linear (lerp)"), ("slerp", "Spherical (slerp)")):
            path = interpolate(za, zb, steps, method)
            images = decode_batch(model, path, y)
            norms = path.norm(dim=1).numpy()
            st.markdown(f"**{title}**")
            show_tiled(images, ncols=steps, width=cell * steps,
                       caption=f"|z| along the path: {norms[0]:.2f} → {norms[steps // 2]:.2f} (middle) "
                               f"→ {norms[-1]:.2f}")
            gifs[method] = to_gif(frames(images, 280), fps=fps)
    st.caption("The first and last images are reconstructions (decoded mu), not the originals shown above.")
    cols = st.columns(2)
    for col, (method, title) in zip(cols, (("lerp", "Linear (lerp)"), ("slerp", "Spherical (slerp)"))):
        with col:
            st.image(gifs[method], caption=f"{title}, animated")
            st.download_button(f"Download {method} GIF", gifs[method], file_name=f"{stem}-{method}-{ia}-{ib}.gif",
                               mime="image/gif", key=P + f"{method}_gif", icon=":material/download:")


def traversal_start() -> np.ndarray:
    options = ["zero", "prior", "image"]
    labels = {"zero": "zero (the prior's mean)", "prior": "a sample from the prior", "image": "an image's mu"}
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        options.remove("image")
    url_state.take_choice("start", M + "trav_start", {o: o for o in options}, "start of the sweep")
    start = st.radio("Start z", options, format_func=labels.get, horizontal=True, key=M + "trav_start",
                     persist_state="session")
    if start == "prior":
        url_state.take_number("start_seed", P + "trav_seed", 0, MAX_SEED, "seed of the start", integer=True)
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        seed = int(number_in_range("Seed of the prior sample", 0, MAX_SEED, 0, key=P + "trav_seed", where=c1,
                                   persist_state="session"))
        c2.button("New start", on_click=bump, args=(P + "trav_seed",), key=P + "trav_new", icon=":material/casino:")
        link({"start": start, "start_seed": seed or None})
        return prior.sample(1, 1.0, seed)[0]
    if start == "image":
        take_image("start_image", M + "trav_img", ckpt, "the start image")
        idx = pick_image_ui(ckpt, M + "trav_img", "Start image", size=120)
        link({"start": start, "start_image": idx})
        return loaded.encodings()[0][idx]
    link({"start": None})
    return np.zeros(D, np.float32)


def traversal_tab() -> None:
    st.markdown(f"Start from one latent point and sweep **one dimension at a time** from −{SLIDER_LIMIT:g} to "
                f"+{SLIDER_LIMIT:g} prior standard deviations while the others stay fixed.")
    c1, c2 = st.columns([3, 2])
    with c1:
        z0 = traversal_start()
    with c2:
        url_state.take_number("sweep", P + "trav_steps", 5, 15, "steps per dimension", integer=True)
        steps = st.slider("Steps per dimension", 5, 15, 9, 1, key=P + "trav_steps", persist_state="session")
        link({"sweep": steps if steps != 9 else None})
        y = None
        if kind.conditional:
            y = torch.tensor(class_picker(ckpt, "Class y given to the decoder", M + "trav_class"))
    activity, score = loaded.activity()
    if D > MAX_TRAVERSAL_DIMS:
        dims = rank_dims(activity, MAX_TRAVERSAL_DIMS)
        st.caption(f"The {MAX_TRAVERSAL_DIMS} most active of {D} dimensions, by {kind.activity_label} "
                   "over the stored images, most active first.")
    else:
        dims = list(range(D))
    if not kind.has_prior:
        st.info("An autoencoder has no KL term: rows are labelled with the variance of mu over the stored images, "
                "and its codes need not lie in −3..3.")
    values = traversal_values(steps, SLIDER_LIMIT)
    z = traversal(torch.tensor(z0), dims, values)
    with st.spinner("Decoding..."):
        images = decode_batch(model, z, y).reshape(len(dims), steps, *cfg.image_shape)
    st.caption("Columns: value of the swept dimension, " + ", ".join(f"{v:+.1f}" for v in values)
               + ". A dimension with average KL near 0 is unused: q(z|x) equals the prior there, and its row does "
               "not change.")
    cell = min(100, 880 // steps)
    for r, d in enumerate(dims):
        lab, img = st.columns([1, 9], vertical_alignment="center")
        lab.markdown(f"**{dim_name(d)}**  \n{score} {activity[d]:.2f}")
        with img:
            show_tiled(images[r], ncols=steps, width=cell * steps)
    full = tiled_image(images.reshape(-1, *cfg.image_shape), ncols=steps, width=cell * steps)
    gif = to_gif(grid_frames(list(images), ncols=min(len(dims), 8), cell=160), fps=6)
    d1, d2 = st.columns(2)
    with d1:
        download_png(full, "Download the grid (PNG)", f"{stem}-traversal.png", P + "trav_png")
    with d2:
        st.download_button("Download the sweep (GIF)", gif, file_name=f"{stem}-traversal.gif", mime="image/gif",
                           key=P + "trav_gif", icon=":material/download:")
    with st.expander("The sweep as an animation: all dimensions move together, one frame per value"):
        st.image(gif)


# -- the view in the address bar: the open tab and its settings (a link or a scene reopens them) ----------
LINK_PARAMS = {"prior": ("T", "n", "seed"), "manifold": ("grid", "x", "y"),
               "interpolation": ("a", "b", "steps", "fps"), "traversal": ("start", "start_seed", "start_image", "sweep")}
_written: dict[str, object] = {}


def link(values: dict) -> None:
    """The open tab's settings for the URL (None: the default, left out)."""
    _written.update(values)


url_state.take_choice("tab", P + "tab", TABS, "tab")
tabs = st.tabs(list(TABS.values()), key=P + "tab", on_change="rerun")
for (name, _), tab, draw, what in zip(TABS.items(), tabs, (prior_tab, manifold_tab, interpolation_tab, traversal_tab),
                                      ("Sampling", "The manifold", "The interpolation", "The traversal")):
    if tab.open:
        with tab, friendly_errors(what):
            draw()
        url_state.write("tab", None if name == "prior" else name)
        for tab_name, params in LINK_PARAMS.items():
            for param in params:  # the open tab's settings; another tab's would not be on screen
                value = _written.get(param) if tab_name == name else None
                url_state.write(param, None if value is None else f"{value:g}" if isinstance(value, float) else value)
