"""Latent sliders: set z one coordinate at a time and watch the decoder p(x|z) draw it."""
from __future__ import annotations

import numpy as np
import streamlit as st

from ui import presenter, url_state
from ui.common import current_model, end_page, page_header
from ui.export import point_json
from ui.images import map_with_marks, position_map_data, show_image
from ui.live_decoder import live_sliders
from vae_core.model.activity import INACTIVE_KL
from vae_core.analysis.latent import SLIDER_LIMIT, decode_batch, sanitize_z
from vae_core.analysis.sliders import clean_slider_value

STEP = 0.05
OTHERS_KEY = "sliders_others"
Z_NOW_KEY = "sliders_z_now"  # a dict whose "z" is the point on screen
HALL_MAP_FONT_PX = 26  # the position map's text in presenter mode (the picture is shown at about its size)

page_header("Latent sliders", "Each slider is one coordinate of z, in units of the prior's standard deviation: "
            "the prior N(0, I) keeps about 95% of its samples within +-2 on every axis. The image is the "
            "decoder's mean of p(x|z). Dimensions whose average KL is about 0 are ignored by the decoder.")
loaded = current_model()
if loaded is None:
    end_page()
ckpt = loaded.checkpoint

path = str(ckpt.path)
cfg = ckpt.config
D, kind, prior = cfg.latent_dim, cfg.variant, ckpt.prior
sample = ckpt.sample if ckpt.sample is not None and len(ckpt.sample.labels) else None
class_names = ckpt.class_names or [str(c) for c in range(cfg.num_classes)]
mu, logvar = loaded.encodings()

# -- what each dimension does (the variant's score: average KL for a VAE, spread of mu for an autoencoder), and
# the sliders' units (the prior's mean and standard deviation, or without a prior the codes') ------------------
activity = loaded.activity()[0] if len(mu) else None
BY_KL = kind.activity_name == "KL"  # activity is an average KL (else the variance of mu)
space = loaded.slider_space()


def slider_key(d: int) -> str:
    return f"sliders_z{d + 1}"


def _set_values(values, others: float | None = None) -> None:
    for d, v in zip(space.slider_dims, values):
        st.session_state[slider_key(d)] = clean_slider_value(v, SLIDER_LIMIT)
    if others is not None and space.other_dims:
        st.session_state[OTHERS_KEY] = clean_slider_value(others, SLIDER_LIMIT)


def _bump() -> None:
    st.session_state.sliders_version = st.session_state.get("sliders_version", 0) + 1


def _reset() -> None:
    _set_values(np.zeros(len(space.slider_dims)), 0.0)
    _bump()


def _randomize() -> None:
    z = prior.sample(1)[0]
    if not kind.has_prior:  # no prior: a standard normal draw in slider units
        z = space.offset + space.scale * z
    _set_values(space.to_sliders(z, SLIDER_LIMIT))
    _bump()


def _from_image(i: int) -> None:
    _set_values(space.to_sliders(mu[i], SLIDER_LIMIT), 0.0)
    if kind.conditional:
        st.session_state.sliders_class = int(sample.labels[i])
    _bump()


# -- session state: reset for a new model, and never trust what arrives (URL, older sessions) --------
keys = [slider_key(d) for d in space.slider_dims] + ([OTHERS_KEY] if space.other_dims else [])
if st.session_state.get("sliders_model") != path:
    st.session_state.sliders_model = path
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith("sliders_z")]:
        if k not in keys:
            del st.session_state[k]
    for k in ("sliders_class", "sliders_pick_class", "sliders_pick_index", "sliders_saved"):
        st.session_state.pop(k, None)
    _bump()
for k in keys:
    raw = st.session_state.get(k, 0.0)
    clean = clean_slider_value(raw, SLIDER_LIMIT)
    if k not in st.session_state or not (isinstance(raw, float) and raw == clean):
        st.session_state[k] = clean
# a link's ?point=12 (start from that image's mu) and ?sliders_z1=1.5&... (validated like any slider value)
url_point = url_state.link_index("point", len(mu), "one of this model's stored test images",
                                 "z stays where it was")
if url_point is not None:
    _from_image(url_point)
url_z = {k: url_state.fresh(k) for k in keys}
if any(v is not None for v in url_z.values()):
    for k, v in url_z.items():
        if v is not None:
            st.session_state[k] = clean_slider_value(v, SLIDER_LIMIT)
    _bump()


def slider_label(d: int) -> str:
    if activity is None:
        return f"z{d + 1}"
    if not BY_KL:
        return f"z{d + 1} · Var {activity[d]:.2f}"
    if activity[d] < INACTIVE_KL:
        return f":gray[z{d + 1} · KL {activity[d]:.3f} · inactive]"
    return f"z{d + 1} · KL {activity[d]:.2f}"


# -- the toolbar: live or not, start from an image, reset / randomize, save or download the point -----
def _z_from_state() -> np.ndarray:
    """The point the sliders show now (every slider's value is in session state under its key)."""
    values = [clean_slider_value(st.session_state.get(slider_key(d), 0.0), SLIDER_LIMIT)
              for d in space.slider_dims]
    others = clean_slider_value(st.session_state.get(OTHERS_KEY, 0.0), SLIDER_LIMIT)
    return sanitize_z(space.to_z(values, others), D)


def _save_point() -> None:
    st.session_state.setdefault("sliders_saved", []).append([round(float(v), 4) for v in _z_from_state()])


def _image_picker() -> None:
    """Pick a stored test image; "Use its mu" sets the sliders to the mean of q(z|x) for it."""
    with st.popover("From an image", icon=":material/image_search:", width="stretch",
                    help="Set the sliders to an image's encoding mu(x)."):
        present = sorted({int(c) for c in sample.labels})
        p1, p2 = st.columns(2)
        pick_class = p1.selectbox("Class", present, key="sliders_pick_class",
                                  format_func=lambda c: class_names[c] if c < len(class_names) else str(c))
        members = np.flatnonzero(sample.labels == pick_class)
        k = p2.number_input(f"Which one (1-{len(members)})", 1, len(members), 1, key="sliders_pick_index")
        i = int(members[int(k) - 1])
        show_image(sample.images[i], target=96)
        st.button("Use its mu", on_click=_from_image, args=(i,), key="sliders_use_image", type="primary",
                  help="Set the sliders to the mean of q(z|x) for this test image: the image then shows its "
                       "reconstruction" + (" (the other dimensions go to 0)." if space.other_dims else "."))


def _point_menu() -> None:
    """Save the current point (a star on the map) and download points as JSON. The point is read when
    the button is pressed, so the menu stays right while only the sliders' fragment reruns."""
    import json

    saved = st.session_state.get("sliders_saved", [])
    with st.popover(f"Points ({len(saved)})" if saved else "Save z",
                    icon=":material/bookmark:", width="stretch"):
        st.button("Save this point", key="sliders_save", icon=":material/bookmark_add:", on_click=_save_point,
                  help="Keep this z (a star on the map) to download with the others.", width="stretch")
        state = st.session_state.setdefault(Z_NOW_KEY, {})  # kept current by _show_point
        name = ckpt.name
        st.download_button("Download z (JSON)", lambda: point_json(name, state.get("z", np.zeros(D))),
                           file_name=f"{name}-z.json", mime="application/json", key="sliders_point_json",
                           icon=":material/data_object:", on_click="ignore", width="stretch")
        if saved:
            st.download_button(f"Download the {len(saved)} saved point(s) (JSON)",
                               json.dumps({"model": name, "points": saved}), file_name=f"{name}-points.json",
                               mime="application/json", key="sliders_saved_json", on_click="ignore",
                               width="stretch")
            st.button("Forget the saved points", key="sliders_forget", width="stretch",
                      on_click=lambda: st.session_state.pop("sliders_saved", None))


live_ok = loaded.browser_program() is not None
tools = st.columns([2.6, 1.9, 1.2, 1.5, 1.5], vertical_alignment="center")
live = tools[0].toggle("Live: decode in the browser", value=live_ok, disabled=not live_ok,
                       key="sliders_live", help="The decoder's weights are sent to your browser once; every "
                       "slider movement is decoded there, at once, while the thumb moves. Off: the server decodes "
                       "when you release a slider.")
if sample is not None:
    with tools[1]:
        _image_picker()
if not live:  # the live sliders have their own reset and randomize buttons
    tools[2].button("Reset", on_click=_reset, width="stretch", key="sliders_reset", icon=":material/restart_alt:",
                    help="Every slider to 0: the prior's mean." if kind.has_prior
                    else "Every slider to 0: the codes' mean.")
    tools[3].button("Random z", on_click=_randomize, width="stretch", key="sliders_random", icon=":material/casino:",
                    help=(f"Draw the sliders' values from the prior {prior.name}" if kind.has_prior else
                          "Draw the sliders' values from a standard normal (an autoencoder has no prior)")
                    + (" (the other dimensions keep their shared value)." if space.other_dims else "."))
with tools[4]:
    _point_menu()
if not live_ok:
    st.info("This model's decoder has a layer the in-browser decoder does not implement, so the image is "
            "decoded on the server each time you release a slider.")


def _numbers(z: np.ndarray) -> str:
    norm = float(np.linalg.norm(z))
    if not kind.has_prior:
        return f"||z|| = {norm:.2f}"
    log_prior = float(prior.log_density(z[None])[0])
    return f"||z|| = {norm:.2f} (prior samples: about {prior.typical_norm():.2f}) · log p(z) = {log_prior:.2f}"


def _show_point(z: np.ndarray) -> None:
    """Record z for the Points menu's download (read when clicked), then show it on the position map."""
    st.session_state.setdefault(Z_NOW_KEY, {})["z"] = z
    _position_map(z)


def _map_dims() -> tuple[int, int] | None:
    """The position map's latent axes: the app's default axes for this model (None without a plane to show)."""
    if len(mu) == 0 or D < 2:
        return None
    return loaded.default_axes()


def _saved_stars(dims: tuple[int, int]) -> list[tuple[float, float]]:
    return [(p[dims[0]], p[dims[1]]) for p in st.session_state.get("sliders_saved", [])]


def _map_caption(dims: tuple[int, int], moves: str) -> str:
    return (f"The ring is z among the encoded test images' means (z{dims[0] + 1}, z{dims[1] + 1}), the stars your "
            f"saved points; it {moves}. The Latent map page has the interactive map.")


def _position_map(z: np.ndarray) -> None:
    """z as a ring on the encoded test images' means (the default axes), saved points as stars."""
    dims = _map_dims()
    if dims is None:
        return
    canvas = loaded.position_canvas(dims, tuple(class_names))
    map_with_marks(canvas, (float(z[dims[0]]), float(z[dims[1]])), _saved_stars(dims),
                   alt=f"the encoded test images' means on z{dims[0] + 1} and z{dims[1] + 1}",
                   caption=_map_caption(dims, "moves when a slider is released"))


def _live_position_map(hall: bool) -> dict | None:
    """The position map for the live sliders, which move its ring themselves while a thumb is dragged."""
    dims = _map_dims()
    if dims is None:
        return None
    canvas = loaded.position_canvas(dims, tuple(class_names), font_px=HALL_MAP_FONT_PX if hall else None)
    return position_map_data(canvas, dims, _saved_stars(dims), caption=_map_caption(dims, "follows the sliders"),
                             alt=f"the encoded test images' means on z{dims[0] + 1} and z{dims[1] + 1}")


def _plain_label(d: int) -> str:
    if activity is None:
        return f"z{d + 1}"
    if not BY_KL:
        return f"z{d + 1} · Var {activity[d]:.2f}"
    return f"z{d + 1} · KL {activity[d]:.2f}" + (" (inactive)" if activity[d] < INACTIVE_KL else "")


# -- live mode: the sliders, the decoder, the readout and the ring run in the browser --------------------
if live:
    y = 0
    if kind.conditional:
        y = st.selectbox("Class y (the decoder is p(x|z, y))", range(len(class_names)),
                         format_func=lambda c: class_names[c], key="sliders_class")
    others_now = clean_slider_value(st.session_state.get(OTHERS_KEY, 0.0), SLIDER_LIMIT)
    current = np.full(D, others_now)
    current[space.slider_dims] = [clean_slider_value(st.session_state[slider_key(d)], SLIDER_LIMIT)
                                  for d in space.slider_dims]
    hall = presenter.is_on()
    with st.container(key="main_figure"):
        got = live_sliders(loaded, current, space.slider_dims, [_plain_label(d) for d in space.slider_dims],
                           offset=space.offset, scale=space.scale, label=int(y),
                           inactive=[bool(activity is not None and BY_KL
                                          and activity[d] < INACTIVE_KL) for d in space.slider_dims],
                           version=st.session_state.get("sliders_version", 0), size=420,
                           prior=prior if kind.has_prior else None, position_map=_live_position_map(hall), hall=hall,
                           key="sliders_live_decoder")
    if got is not None and len(got) == D:  # z released in the browser (for the values it was given)
        returned = np.array([clean_slider_value(v, SLIDER_LIMIT) for v in got])
        for d in space.slider_dims:
            st.session_state[slider_key(d)] = float(returned[d])
        current[space.slider_dims] = returned[space.slider_dims]
    for d in space.slider_dims:  # the link to this page keeps z (the server's sliders bind to the URL themselves)
        url_state.write(slider_key(d), f"{current[d]:g}" if current[d] != 0 else None)
    if space.other_dims:
        st.slider(f"The other {len(space.other_dims)} dimensions (shared value)", -SLIDER_LIMIT, SLIDER_LIMIT,
                  step=STEP, format="%.2f", key=OTHERS_KEY, on_change=_bump)
    # what Save and Download write: the same z as the image, the readout and the ring
    st.session_state.setdefault(Z_NOW_KEY, {})["z"] = sanitize_z(space.to_z(current[space.slider_dims], others_now), D)
    end_page()


# -- the server path ------------------------------------------------------------------------------------
# A fragment: releasing a slider reruns only this function, not the sidebar and the rest of the app.
# It holds few elements (each one costs the browser time to draw), and the image comes first:
# bench/server_path.py measures the release -> new image time (docs/benchmarks.md).
@st.fragment
def server_sliders() -> None:
    z = _z_from_state()  # every slider has a key: its value is known before the slider is drawn
    col_img, col_sliders = st.columns([2, 3], gap="large")
    with col_img:
        y = None
        if kind.conditional:
            y = st.selectbox("Class y (the decoder is p(x|z, y))", range(len(class_names)),
                             format_func=lambda c: class_names[c], key="sliders_class")
        caption = "decode(z): the mean of p(x|z). " + _numbers(z)
        if not kind.has_prior:
            caption += (". An autoencoder has no prior: sliders are in units of the spread of the encoded test "
                        "images around their mean, and points far from the codes may decode to nonsense.")
        show_image(decode_batch(ckpt.model, z[None], y)[0], target=400, caption=caption, inline=True)
    with col_sliders:
        if len(space.slider_dims) > 8:
            halves = st.columns(2)
            split = (len(space.slider_dims) + 1) // 2
            groups = [(halves[0], space.slider_dims[:split]), (halves[1], space.slider_dims[split:])]
        else:
            groups = [(st.container(), space.slider_dims)]
        for box, dims in groups:
            for d in dims:
                box.slider(
                    slider_label(d), -SLIDER_LIMIT, SLIDER_LIMIT, step=STEP, format="%.2f", key=slider_key(d),
                    bind="query-params",  # a link to the page keeps the point
                    help=None if activity is None or not BY_KL else
                    f"Average KL(q(z{d + 1}|x) || N(0, 1)) over the stored test images: {activity[d]:.3f} nats. "
                    "Near 0 means the encoder does not use this dimension.")
        if space.other_dims:
            others_kl = activity[space.other_dims] if activity is not None else np.zeros(len(space.other_dims))
            what = "KL" if BY_KL else "Var"
            st.slider(
                f"The other {len(space.other_dims)} dimensions (each {what} <= {others_kl.max():.2f})",
                -SLIDER_LIMIT, SLIDER_LIMIT, step=STEP, format="%.2f", key=OTHERS_KEY,
                help="The least active dimensions share this one value. " + (
                    "Their average KL is small: the decoder barely listens to them." if BY_KL else ""))
        if activity is not None and BY_KL:
            n_inactive = int((activity < INACTIVE_KL).sum())
            if n_inactive:
                st.caption(f"{n_inactive} of {D} dimensions are inactive (average KL < {INACTIVE_KL} nats): "
                           "the KL term pulled their q(z_i|x) onto the prior, so they carry no information and "
                           "moving them changes nothing. This is called posterior collapse.")
        _show_point(z)
    url_state.remember(keys)  # the sliders above wrote z into the URL themselves


server_sliders()
