"""Generate's four tabs, each a ``*_tab(loaded)`` function: samples from the prior, the latent manifold,
interpolations between two encoded images, and traversals of one dimension at a time."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from vae_core.analysis.latent import (SLIDER_LIMIT, decode_batch, interpolate, manifold_points, normal_ppf, traversal,
                                      traversal_values)
from vae_core.model.activity import INACTIVE_KL, rank_dims
from vae_core.render.images import to_gif, to_png

from . import presenter, url_state
from .animation import animation
from .common import require_sample
from . import generate_codes
from .disentanglement_ui import dimension_factors, dimension_label
from .generate_ui import class_name, class_picker, frames, grid_frames, pick_image_ui, take_image, tiled_image
from .images import Picture, grid_image
from .inputs import number_in_range
from .latent_words import dim_label, top_level
from .levels_ui import held_samples, hold_ui
from .loaded_model import LoadedModel
from .state import generate as state

MAX_TRAVERSAL_DIMS = 16
ALL_CLASSES = -1


def _parts(loaded: LoadedModel):
    ckpt = loaded.checkpoint
    return ckpt, ckpt.config, ckpt.model, ckpt.config.variant, ckpt.prior


def dim_name(d: int) -> str:
    return f"z{d + 1}"


def download_png(img: np.ndarray | Picture, label: str, file_name: str, key: str) -> None:
    """The picture's PNG, encoded when the button is pressed (a page run does not encode a picture it does not
    show), or the shown Picture's own."""
    png = (lambda: img.png) if isinstance(img, Picture) else (lambda: to_png(img))
    st.download_button(label, png, file_name=file_name, mime="image/png", key=key, icon=":material/download:")


def _decoded(loaded: LoadedModel, view: tuple, z, y) -> np.ndarray:
    """decode_batch(model, z, y), (N, C, H, W) floats, read-only: computed once per model and ``view`` (what z and
    y are made of: the tab's settings)."""
    def decode():
        images = decode_batch(loaded.checkpoint.model, z, y)
        images.setflags(write=False)
        return images
    return loaded.recent(("generate: " + view[0], *view[1:]), decode)


def prior_tab(loaded: LoadedModel) -> None:
    if loaded.variant.discrete_latent:
        return generate_codes.prior_tab(loaded)
    ckpt, cfg, model, kind, prior = _parts(loaded)
    st.markdown(f"Draw **z ~ {prior.tempered_name}** and decode it: every image is the mean of **p(x|z)**. "
                "The temperature T scales the prior's standard deviation.")
    if not kind.has_prior:
        st.warning("This is a plain autoencoder: nothing in its training made the codes follow N(0, I), so "
                   "decoding prior draws lands where the decoder learned little. Expect blurry or broken images; "
                   "compare a VAE trained on the same data.")
    mode = None
    if kind.conditional:
        mode = st.selectbox("Class y given to the decoder", [ALL_CLASSES, *range(cfg.num_classes)],
                            key=state.MODEL + "prior_class", persist_state="session",
                            format_func=lambda c: "one row per class" if c == ALL_CLASSES else class_name(ckpt, c))
    url_state.take_number("T", state.PAGE + "temp", 0.1, 2.0, "temperature", step=0.1)
    url_state.take_number("n", state.PAGE + "count", 8, 64, "number of images", integer=True, step=8)
    url_state.take_number("seed", state.PAGE + "seed", 0, state.MAX_SEED, "seed", integer=True)
    if presenter.is_on():  # on a projector: the grid as tall as the screen allows, its controls beside it
        shown, side = st.columns([3, 1], gap="large")
        c1 = c2 = c3 = hold_row = side
    else:
        hold_row = st.container()  # for a model with levels: which level the rows hold, above the sliders
        c1, c2, c3 = st.columns([3, 3, 2], vertical_alignment="bottom")
        shown = st.container()
    temp = c1.slider("Temperature T", 0.1, 2.0, 1.0, 0.1, key=state.PAGE + "temp", persist_state="session",
                     help="z = T * eps with eps ~ N(0, I). T < 1 stays near the origin (typical, less varied), "
                          "T > 1 reaches the tails the decoder rarely saw.")
    count = c2.slider("Number of images", 8, 64, 32, 8, key=state.PAGE + "count", persist_state="session",
                      disabled=mode == ALL_CLASSES, help="With one row per class: 8 per class.")
    seed = int(number_in_range("Seed", 0, state.MAX_SEED, 0, key=state.PAGE + "seed", where=c3,
                               persist_state="session"))
    c3.button("New samples", on_click=state.bump, args=(state.PAGE + "seed",), icon=":material/casino:",
              key=state.PAGE + "new")
    hold = hold_ui(loaded, hold_row) if mode is None else None  # a model with levels: hold one per row
    state.link({"T": temp if temp != 1.0 else None, "n": count if count != 32 else None, "seed": seed or None,
                "hold": hold if hold != "free" else None})
    ncols, y = 8, None
    if hold not in (None, "free"):  # several levels: each row holds one level and draws the other again
        z, caption = held_samples(loaded, hold == "top", seed, temp, rows=count // ncols)
    elif mode == ALL_CLASSES:
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
    view = ("prior grid", temp, count, seed, mode, ncols, hold)
    with st.spinner("Decoding..."), shown, st.container(key="main_figure"):
        grid = loaded.recent(("generate: " + view[0], *view[1:]),
                             lambda: Picture(grid_image(decode_batch(model, z, y), ncols, cell=110)))
        grid.show(caption, alt=f"{len(z)} images {ckpt.name} decodes from z drawn from its prior, in rows of {ncols}: "
                               + caption)
    download_png(grid, "Download PNG", f"{ckpt.name}-prior-T{temp:.1f}-seed{seed}.png", state.PAGE + "prior_png")
    if hold not in (None, "free"):
        st.caption("Each row shares one draw of the held level; what changes along a row is what the other level "
                   "carries.")


def _manifold_dims(loaded: LoadedModel) -> tuple[int, int]:
    D, kind = loaded.config.latent_dim, loaded.variant
    if D == 2:
        return 0, 1
    level = top_level(loaded.config)
    top = (level[1], level[1] + 1) if level and level[2] - level[1] == 2 else loaded.default_axes()
    name = lambda d: dim_label(loaded.config, d)  # noqa: E731
    # a link names dimensions z1..zD; the pickers count from 0
    url_state.take_number("x", state.MODEL + "dim_x", 1, D, "horizontal axis", integer=True, to_widget=lambda v: v - 1)
    url_state.take_number("y", state.MODEL + "dim_y", 1, D, "vertical axis", integer=True, to_widget=lambda v: v - 1)
    c1, c2 = st.columns(2)
    i = c1.selectbox("Horizontal axis", list(range(D)), index=top[0], key=state.MODEL + "dim_x", format_func=name,
                      persist_state="session")
    rest = [d for d in range(D) if d != i]
    j_default = top[1] if top[1] != i else rest[0]
    if st.session_state.get(state.MODEL + "dim_y") not in rest:
        st.session_state[state.MODEL + "dim_y"] = j_default
    j = c2.selectbox("Vertical axis", rest, key=state.MODEL + "dim_y", format_func=name, persist_state="session")
    if level and top == (level[1], level[1] + 1):
        st.caption(f"The axes start on the top level {level[0]}, whose prior is N(0, I).")
    else:
        others = "The other dimension is" if D == 3 else f"The other {D - 2} dimensions are"
        st.caption(f"{others} held at 0, the prior's mean. The two axes start at the "
                   f"dimensions with the largest {kind.activity_label}, the ones the model uses most.")
    return i, j


def _below_the_top(loaded: LoadedModel, z: np.ndarray, dims: tuple[int, int]) -> tuple[np.ndarray, str | None]:
    """A grid on the top level of a model with levels: the lower level at the mean of p(z1|z2) at each point (the
    prior's own conditional), so the grid walks the top level as the model generates; else z as it is."""
    level, prior = top_level(loaded.config), loaded.checkpoint.prior
    if level is None or not hasattr(prior, "conditional") or not all(level[1] <= d < level[2] for d in dims):
        return z, None
    z = np.array(z, dtype=np.float32)
    mean, _ = prior.conditional(z[:, level[1]:level[2]])
    z[:, :level[1]] = mean
    low = loaded.variant.latent_levels(loaded.config)[0][0]
    others = f" (the other numbers of {level[0]} at 0)" if level[2] - level[1] > 2 else ""
    return z, (f"The lower level {low} is at the mean of p({low}|{level[0]}) at each point of the grid{others}: the "
               f"grid walks the top level as the model generates.")


def manifold_tab(loaded: LoadedModel) -> None:
    if loaded.variant.discrete_latent:
        return generate_codes.codebook_tab(loaded)
    ckpt, cfg, model, kind, prior = _parts(loaded)
    D = cfg.latent_dim
    st.markdown("Decode a regular grid of latent points, as in Figure 4 of Kingma & Welling (2014): "
                "the **learned manifold** shows how the decoder covers the latent space.")
    if not kind.has_prior:
        st.warning("This is a plain autoencoder: its codes do not follow N(0, I), so this grid, shaped by the "
                   "prior, may cover only part of where its codes lie, or empty space between them.")
    url_state.take_number("grid", state.PAGE + "grid_n", 10, 30, "grid size", integer=True)
    n = st.slider("Grid size n (n x n images)", 10, 30, 15, 1, key=state.PAGE + "grid_n", persist_state="session")
    y = None
    if kind.conditional:
        y = torch.tensor(class_picker(ckpt, "Class y given to the decoder", state.MODEL + "grid_class"))
    if D == 1:
        z = manifold_points(n, 1)
        st.caption("This model has a single latent dimension: the manifold is one row.")
        ncols, axes = n, f"{dim_name(0)} grows from left to right"
    else:
        i, j = _manifold_dims(loaded)
        z, below = _below_the_top(loaded, manifold_points(n, D, (i, j)), (i, j))
        if below:
            st.caption(below)
        ncols = n
        axes = (f"{dim_label(cfg, i)} grows from left to right, {dim_label(cfg, j)} from bottom to top")
    with st.spinner("Decoding the grid..."):
        images = _decoded(loaded, ("manifold", n, None if D == 1 else (i, j), None if y is None else int(y)), z, y)
    state.link({"grid": n if n != 15 else None, **({"x": i + 1, "y": j + 1} if D > 2 else {})})
    lo, hi = float(normal_ppf(np.array([0.05, 0.95]))[0]), float(normal_ppf(np.array([0.05, 0.95]))[1])
    grid = loaded.recent(("generate: manifold picture", n, None if D == 1 else (i, j), None if y is None else int(y)),
                         lambda: Picture(tiled_image(images, ncols=ncols, width=850)))
    grid.show(caption=f"{axes}, from {lo:.2f} to {hi:.2f}.",
              alt=f"the learned manifold of {ckpt.name}: {len(z)} images it decodes on a grid of z, "
                  f"{len(z) // ncols} rows of {ncols}; {axes}, from {lo:.2f} to {hi:.2f}")
    st.caption("Why the inverse Gaussian CDF: the grid points are z = Φ⁻¹(p) for p evenly spaced from 0.05 to "
               "0.95, "
               "not evenly spaced z. Each cell then holds the same probability mass under the prior N(0, 1), so the "
               "grid is dense near the origin, where most codes lie, and sparse in the tails, where few do.")
    download_png(grid, "Download PNG", f"{ckpt.name}-manifold-{n}x{n}.png", state.PAGE + "grid_png")


def interpolation_tab(loaded: LoadedModel) -> None:
    ckpt, cfg, model, kind, prior = _parts(loaded)
    if not require_sample(ckpt):
        return
    st.markdown("Encode two stored images, take the means **mu** of q(z|x), and decode the points on the way "
                "from one to the other: **linear** (lerp, a straight line) and **spherical** (slerp, a great "
                "circle that keeps the norm of z, where Gaussian samples concentrate).")
    present = sorted(int(c) for c in np.unique(ckpt.sample.labels))
    take_image("a", state.MODEL + "a", ckpt, "image A")
    take_image("b", state.MODEL + "b", ckpt, "image B")
    url_state.take_number("steps", state.PAGE + "steps", 5, 20, "number of steps", integer=True)
    url_state.take_number("fps", state.PAGE + "fps", 2, 20, "GIF speed", integer=True)
    ca, cb, cc = st.columns([2, 2, 3])
    with ca:
        ia = pick_image_ui(ckpt, state.MODEL + "a", "Image A", default_class=present[0])
    with cb:
        ib = pick_image_ui(ckpt, state.MODEL + "b", "Image B", default_class=present[min(1, len(present) - 1)])
    with cc:
        steps = st.slider("Steps", 5, 20, 10, 1, key=state.PAGE + "steps", persist_state="session")
        fps = st.slider("GIF frames per second", 2, 20, 8, 1, key=state.PAGE + "fps", persist_state="session")
        y = None
        if kind.conditional:
            y = torch.tensor(class_picker(ckpt, "Class y given to the decoder", state.MODEL + "interp_class",
                                          default=int(ckpt.sample.labels[ia])))
    state.link({"a": ia, "b": ib, "steps": steps if steps != 10 else None, "fps": fps if fps != 8 else None})
    mu, _ = loaded.encodings()
    za, zb = mu[ia], mu[ib]
    cell = min(110, 980 // steps)
    animated = {}
    y_key = None if y is None else int(y)
    with st.spinner("Decoding the paths..."):
        for method, title in (("lerp", "Linear (lerp)"), ("slerp", "Spherical (slerp)")):
            path = interpolate(za, zb, steps, method)
            view = (method, ia, ib, steps, y_key)
            images = _decoded(loaded, ("interpolation", *view), path, y)
            norms = path.norm(dim=1).numpy()
            st.markdown(f"**{title}**")
            loaded.recent(("generate: interpolation picture", *view, cell),
                          lambda: Picture(tiled_image(images, ncols=steps, width=cell * steps))).show(
                caption=f"|z| along the path: {norms[0]:.2f} → {norms[steps // 2]:.2f} (middle) → {norms[-1]:.2f}",
                alt=f"{steps} images {ckpt.name} decodes along the {title.lower()} path from the mu of "
                    f"image #{ia} to that of image #{ib}, left to right")
            animated[method] = loaded.recent(("generate: interpolation frames", *view),
                                             lambda: frames(images, 280))
    st.caption("The first and last images are reconstructions (decoded mu), not the originals shown above.")
    if kind.discrete_latent:
        st.caption("This model's latent is discrete: the path runs between the two images' encoder maps z_e, and "
                   "every point on it snaps to its nearest codes before it is decoded, so the images change in jumps "
                   "where a position's nearest code switches. Slerp's reason (the norm of Gaussian samples) does not "
                   "apply to codes.")
    cols = st.columns(2)
    for col, (method, title) in zip(cols, (("lerp", "Linear (lerp)"), ("slerp", "Spherical (slerp)"))):
        with col:
            animation(animated[method], fps=fps, key=state.PAGE + f"{method}_anim", caption=f"{title}, animated",
                      name=f"the {title.split()[0].lower()} path",
                      alt=f"{ckpt.name}'s images along the {title.lower()} path from image #{ia} to image #{ib}, "
                          "one frame per step, forward then back")
            st.download_button(f"Download {method} GIF", lambda a=animated[method]: to_gif(a, fps=fps),
                               file_name=f"{ckpt.name}-{method}-{ia}-{ib}.gif", mime="image/gif",
                               key=state.PAGE + f"{method}_gif", icon=":material/download:")


def _traversal_start(loaded: LoadedModel) -> np.ndarray:
    ckpt, prior = loaded.checkpoint, loaded.checkpoint.prior
    options = ["zero", "prior", "image"]
    labels = {"zero": "zero (the prior's mean)", "prior": "a sample from the prior", "image": "an image's mu"}
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        options.remove("image")
    url_state.take_choice("start", state.MODEL + "trav_start", {o: o for o in options}, "start of the sweep")
    start = st.radio("Start z", options, format_func=labels.get, horizontal=True, key=state.MODEL + "trav_start",
                     persist_state="session")
    if start == "prior":
        url_state.take_number("start_seed", state.PAGE + "trav_seed", 0, state.MAX_SEED, "seed of the start",
                              integer=True)
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        seed = int(number_in_range("Seed of the prior sample", 0, state.MAX_SEED, 0, key=state.PAGE + "trav_seed",
                                   where=c1, persist_state="session"))
        c2.button("New start", on_click=state.bump, args=(state.PAGE + "trav_seed",), key=state.PAGE + "trav_new",
                  icon=":material/casino:")
        state.link({"start": start, "start_seed": seed or None})
        return prior.sample(1, 1.0, seed)[0]
    if start == "image":
        take_image("start_image", state.MODEL + "trav_img", ckpt, "the start image")
        idx = pick_image_ui(ckpt, state.MODEL + "trav_img", "Start image", size=120)
        state.link({"start": start, "start_image": idx})
        return loaded.encodings()[0][idx]
    state.link({"start": None})
    return np.zeros(loaded.config.latent_dim, np.float32)


def _traversal_dims(loaded: LoadedModel, activity: np.ndarray, where) -> list[int]:
    """The swept dimensions: all (the most active MAX_TRAVERSAL_DIMS of many), or only those in use."""
    D, kind = loaded.config.latent_dim, loaded.variant
    url_state.take_number("used", state.MODEL + "trav_used", 0, 1, "only the dimensions in use", integer=True,
                          to_widget=bool)
    used_only = where.toggle("Only the dimensions in use", key=state.MODEL + "trav_used", persist_state="session",
                             disabled=kind.activity_name != "KL",
                             help=f"Leave out the dimensions whose average KL is under {INACTIVE_KL} nats: q(z|x) "
                                  "equals the prior there, and their rows do not change.")
    state.link({"used": 1 if used_only else None})
    dims = rank_dims(activity, MAX_TRAVERSAL_DIMS) if D > MAX_TRAVERSAL_DIMS else list(range(D))
    if used_only and kind.activity_name == "KL":
        kept = [d for d in dims if activity[d] >= INACTIVE_KL]
        if len(kept) < len(dims):
            where.caption(f"{len(dims) - len(kept)} unused dimension{'s' if len(dims) - len(kept) != 1 else ''} "
                          "left out.")
        dims = kept or dims[:1]
    elif D > MAX_TRAVERSAL_DIMS:
        where.caption(f"The {MAX_TRAVERSAL_DIMS} most active of {D} dimensions, by {kind.activity_label} "
                      "over the stored images, most active first.")
    return dims


def traversal_tab(loaded: LoadedModel) -> None:
    if loaded.variant.discrete_latent:
        return generate_codes.sweep_tab(loaded)
    ckpt, cfg, model, kind, prior = _parts(loaded)
    st.markdown(f"Start from one latent point and sweep **one dimension at a time** from −{SLIDER_LIMIT:g} to "
                f"+{SLIDER_LIMIT:g} prior standard deviations while the others stay fixed.")
    if presenter.is_on():  # on a projector: the rows as tall as the screen allows, the controls beside them
        shown, side = st.columns([3, 1], gap="large")
        c1 = c2 = side
    else:
        c1, c2 = st.columns([3, 2])
        shown = st.container()
    with c1:
        z0 = _traversal_start(loaded)
    with c2:
        url_state.take_number("sweep", state.PAGE + "trav_steps", 5, 15, "steps per dimension", integer=True)
        steps = st.slider("Steps per dimension", 5, 15, 9, 1, key=state.PAGE + "trav_steps", persist_state="session")
        state.link({"sweep": steps if steps != 9 else None})
        y = None
        if kind.conditional:
            y = torch.tensor(class_picker(ckpt, "Class y given to the decoder", state.MODEL + "trav_class"))
    activity, score = loaded.activity()
    dims = _traversal_dims(loaded, activity, c2)
    if not kind.has_prior:
        st.info("An autoencoder has no KL term: rows are labelled with the variance of mu over the stored images, "
                "and its codes need not lie in −3..3.")
    values = traversal_values(steps, SLIDER_LIMIT)
    factors = dimension_factors(loaded)
    z = traversal(torch.tensor(z0), dims, values)
    view = (np.asarray(z0, np.float32).tobytes(), tuple(int(d) for d in dims), steps, None if y is None else int(y))
    with st.spinner("Decoding..."):
        images = _decoded(loaded, ("traversal", *view), z, y).reshape(len(dims), steps, *cfg.image_shape)
    cell = min(100, 880 // steps) if not presenter.is_on() else min(110, 960 // steps)
    with shown, st.container(key="main_figure"):
        for r, d in enumerate(dims):
            told = dimension_label(factors, d)  # with known factors: the one this dimension tells most of
            lab, img = st.columns([2 if told else 1, 5 if presenter.is_on() else 9 - bool(told)],
                                  vertical_alignment="center")
            lab.markdown(f"**{dim_label(cfg, d)}**" + (f" · {told}" if told else "") + f"  \n{score} {activity[d]:.2f}")
            with img:
                loaded.recent(("generate: traversal row", *view, r, cell),
                              lambda r=r: Picture(tiled_image(images[r], ncols=steps, width=cell * steps))).show(
                    alt=f"{steps} images {ckpt.name} decodes as {dim_label(cfg, d)} goes from {values[0]:+.1f} to "
                        f"{values[-1]:+.1f}, the other dimensions held")
    st.caption("Columns: value of the swept dimension, " + ", ".join(f"{v:+.1f}" for v in values)
               + ". A dimension with average KL near 0 is unused: q(z|x) equals the prior there, and its row does "
               "not change.")
    if factors:
        st.caption("Beside each dimension's name: the factor of the images it tells most of, and the share of that "
                   "factor it tells (I(z_j; v_k) / H(v_k) over the stored test images, as the Trade-offs page's "
                   "Disentanglement view measures it: 1 would be all of it).")
    full = images.reshape(-1, *cfg.image_shape)  # tiled and encoded when its button is pressed
    sweep = loaded.recent(("generate: traversal frames", *view),
                          lambda: grid_frames(list(images), ncols=min(len(dims), 8), cell=160))
    gif = lambda: to_gif(sweep, fps=6)  # noqa: E731 - encoded when its button is pressed
    d1, d2 = st.columns(2)
    with d1:
        st.download_button("Download the grid (PNG)", lambda: to_png(tiled_image(full, ncols=steps, width=cell * steps)),
                           file_name=f"{ckpt.name}-traversal.png", mime="image/png", key=state.PAGE + "trav_png",
                           icon=":material/download:")
    with d2:
        st.download_button("Download the sweep (GIF)", gif, file_name=f"{ckpt.name}-traversal.gif",
                           mime="image/gif", key=state.PAGE + "trav_gif", icon=":material/download:")
    with st.expander("The sweep as an animation: all dimensions move together, one frame per value"):
        animation(sweep, fps=6, key=state.PAGE + "trav_anim", name="the sweep",
                  alt=f"{ckpt.name}'s images as every swept dimension goes from {values[0]:+.1f} to {values[-1]:+.1f} "
                      "together, one image per dimension, forward then back")


TABS = (prior_tab, manifold_tab, interpolation_tab, traversal_tab)
