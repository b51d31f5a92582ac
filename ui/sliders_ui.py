"""The Latent sliders page's parts: the toolbar (live or not, start from an image, reset, randomize, save and
download z), the live sliders (decoded in the browser while a thumb moves) and the server's sliders (decoded
on release, in a fragment)."""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

from vae_core.analysis.latent import SLIDER_LIMIT, decode_batch, sanitize_z
from vae_core.model.activity import INACTIVE_KL

from . import presenter, url_state
from .export import point_json
from .images import decoded_alt, map_with_marks, position_map_data, show_image
from .latent_words import dim_labels, levels
from .live_decoder import live_sliders
from .state import sliders as state
from .state.sliders import Sliders, clean, slider_key

STEP = 0.05
HALL_MAP_FONT_PX = 26  # the position map's text in presenter mode (the picture is shown at about its size)


class View:
    """What the page's parts share: the sliders' state and the model's numbers."""

    def __init__(self, sliders: Sliders):
        self.sliders = sliders
        self.loaded = sliders.loaded
        self.ckpt = self.loaded.checkpoint
        self.kind, self.prior, self.space, self.dims = sliders.kind, sliders.prior, sliders.space, sliders.dims
        cfg = self.ckpt.config
        self.names = dim_labels(cfg)  # "z3", or by level ("z1[3]") for a model with several
        self.levels = levels(cfg)
        self.class_names = self.ckpt.class_names or [str(c) for c in range(cfg.num_classes)]
        self.mu = self.loaded.encodings()[0]
        self.activity = self.loaded.activity()[0] if len(self.mu) else None
        self.by_kl = self.kind.activity_name == "KL"  # activity is an average KL (else the variance of mu)
        sample = self.ckpt.sample
        self.sample = sample if sample is not None and len(sample.labels) else None

    def ordered(self, dims: list[int]) -> list[int]:
        """The sliders' order: the top level first for a model with several (p(z) is drawn from the top down)."""
        rank = {d: -i for i, (_, first, last) in enumerate(self.levels) for d in range(first, last)}
        return sorted(dims, key=lambda d: (rank.get(d, 0), dims.index(d)))

    def inactive(self, d: int) -> bool:
        return bool(self.activity is not None and self.by_kl and self.activity[d] < INACTIVE_KL)

    def slider_label(self, d: int) -> str:
        """Streamlit's slider label (markdown: an inactive dimension in grey)."""
        name = self.names[d]
        if self.activity is None:
            return name
        if not self.by_kl:
            return f"{name} · Var {self.activity[d]:.2f}"
        if self.activity[d] < INACTIVE_KL:
            return f":gray[{name} · KL {self.activity[d]:.3f} · inactive]"
        return f"{name} · KL {self.activity[d]:.2f}"

    def plain_label(self, d: int) -> str:
        """The live sliders' label (plain text)."""
        name = self.names[d]
        if self.activity is None:
            return name
        if not self.by_kl:
            return f"{name} · Var {self.activity[d]:.2f}"
        return f"{name} · KL {self.activity[d]:.2f}" + (" (inactive)" if self.activity[d] < INACTIVE_KL else "")

    def class_ui(self) -> int | None:
        """y for a conditional decoder, else None."""
        if not self.kind.conditional:
            return None
        return st.selectbox("Class y (the decoder is p(x|z, y))", range(len(self.class_names)),
                            format_func=lambda c: self.class_names[c], key=state.CLASS)


# ---------------------------------------------------------------- the toolbar

def _image_picker(view: View) -> None:
    """Pick a stored test image; "Use its mu" sets the sliders to the mean of q(z|x) for it."""
    names, labels = view.class_names, view.sample.labels
    with st.popover("From an image", icon=":material/image_search:",
                    help="Set the sliders to an image's encoding mu(x)."):
        present = sorted({int(c) for c in labels})
        p1, p2 = st.columns(2)
        pick_class = p1.selectbox("Class", present, key=state.PICK_CLASS,
                                  format_func=lambda c: names[c] if c < len(names) else str(c))
        members = np.flatnonzero(labels == pick_class)
        k = p2.number_input(f"Which one (1-{len(members)})", 1, len(members), 1, key=state.PICK_INDEX)
        i = int(members[int(k) - 1])
        show_image(view.sample.images[i], target=96,
                   alt=f"stored test image #{i}, class {names[pick_class] if pick_class < len(names) else pick_class}")
        st.button("Use its mu", on_click=view.sliders.from_image, args=(i,), key="sliders_use_image", type="primary",
                  help="Set the sliders to the mean of q(z|x) for this test image: the image then shows its "
                       "reconstruction" + (" (the other dimensions go to 0)." if view.space.other_dims else "."))


def _point_menu(view: View) -> None:
    """Save the current point (a star on the map) and download points as JSON. The point is read when the
    button is pressed, so the menu stays right while only the sliders' fragment reruns."""
    saved, name, dims = view.sliders.saved(), view.ckpt.name, view.dims
    with st.popover(f"Points ({len(saved)})" if saved else "Save z", icon=":material/bookmark:"):
        st.button("Save this point", key="sliders_save", icon=":material/bookmark_add:",
                  on_click=view.sliders.save_point, width="stretch",
                  help="Keep this z (a star on the map) to download with the others.")
        now = view.sliders.z_now()  # kept current by the page
        st.download_button("Download z (JSON)", lambda: point_json(name, now.get("z", np.zeros(dims))),
                           file_name=f"{name}-z.json", mime="application/json", key="sliders_point_json",
                           icon=":material/data_object:", on_click="ignore", width="stretch")
        if saved:
            st.download_button(f"Download the {len(saved)} saved point(s) (JSON)",
                               json.dumps({"model": name, "points": saved}), file_name=f"{name}-points.json",
                               mime="application/json", key="sliders_saved_json", on_click="ignore",
                               width="stretch")
            st.button("Forget the saved points", key="sliders_forget", width="stretch",
                      on_click=view.sliders.forget_saved)


def toolbar_ui(view: View) -> bool:
    """The row above the image; returns whether the sliders decode live in the browser."""
    live_ok = view.loaded.browser_program() is not None
    kind, prior, sliders = view.kind, view.prior, view.sliders
    # one row that wraps where the window is narrow (a phone, a tablet beside the sidebar): columns of fixed
    # shares had cut the labels short ("Live: dec...", "Save z" one letter a line)
    tools = st.container(horizontal=True, vertical_alignment="center", gap="medium", key="sliders_toolbar")
    live = tools.toggle("Live: decode in the browser", value=live_ok, disabled=not live_ok, key=state.LIVE,
                        help="The decoder's weights are sent to your browser once; every slider movement is "
                        "decoded there, at once, while the thumb moves. Off: the server decodes when you "
                        "release a slider.")
    if view.sample is not None:
        with tools:
            _image_picker(view)
    if not live:  # the live sliders have their own reset and randomize buttons
        tools.button("Reset", on_click=sliders.reset, key="sliders_reset",
                     icon=":material/restart_alt:", help="Every slider to 0: the prior's mean."
                     if kind.has_prior else "Every slider to 0: the codes' mean.")
        tools.button("Random z", on_click=sliders.randomize, key="sliders_random",
                     icon=":material/casino:",
                     help=(f"Draw the sliders' values from the prior {prior.name}" if kind.has_prior else
                           "Draw the sliders' values from a standard normal (an autoencoder has no prior)")
                     + (" (the other dimensions keep their shared value)." if view.space.other_dims else "."))
    with tools:
        _point_menu(view)
    if not live_ok:
        st.info("This model's decoder has a layer the in-browser decoder does not implement, so the image is "
                "decoded on the server each time you release a slider.")
    return live


# ---------------------------------------------------------------- the position map

def _map_dims(view: View) -> tuple[int, int] | None:
    """The position map's latent axes: the app's default axes for this model (None without a plane to show)."""
    if len(view.mu) == 0 or view.dims < 2:
        return None
    return view.loaded.default_axes()


def _saved_stars(view: View, dims: tuple[int, int]) -> list[tuple[float, float]]:
    return [(p[dims[0]], p[dims[1]]) for p in view.sliders.saved()]


def _map_caption(view: View, dims: tuple[int, int], moves: str) -> str:
    return (f"The ring is z among the encoded test images' means ({view.names[dims[0]]}, {view.names[dims[1]]}), the "
            f"stars your saved points; it {moves}. The Latent map page has the interactive map.")


def _map_alt(view: View, dims: tuple[int, int]) -> str:
    return f"the encoded test images' means on {view.names[dims[0]]} and {view.names[dims[1]]}"


def _position_map(view: View, z: np.ndarray) -> None:
    """z as a ring on the encoded test images' means (the default axes), saved points as stars."""
    dims = _map_dims(view)
    if dims is None:
        return
    canvas = view.loaded.position_canvas(dims, tuple(view.class_names))
    map_with_marks(canvas, (float(z[dims[0]]), float(z[dims[1]])), _saved_stars(view, dims), alt=_map_alt(view, dims),
                   caption=_map_caption(view, dims, "moves when a slider is released"))


def _live_position_map(view: View, hall: bool) -> dict | None:
    """The position map for the live sliders, which move its ring themselves while a thumb is dragged."""
    dims = _map_dims(view)
    if dims is None:
        return None
    canvas = view.loaded.position_canvas(dims, tuple(view.class_names), font_px=HALL_MAP_FONT_PX if hall else None)
    return position_map_data(canvas, dims, _saved_stars(view, dims), caption=_map_caption(view, dims, "follows the sliders"),
                             alt=_map_alt(view, dims))


# ---------------------------------------------------------------- the page's body


# A fragment: the Live toggle and the toolbar's buttons rerun the toolbar and the sliders, not the app's sidebar and
# the rest of the page (nothing outside depends on them). The server's sliders are a fragment of their own inside it.
@st.fragment
def sliders_ui(view: View) -> None:
    """The toolbar, then the live sliders (decoded in the browser) or the server's."""
    if toolbar_ui(view):
        live_ui(view)
    else:
        server_sliders_ui(view)


# ---------------------------------------------------------------- live: decoded in the browser

def live_ui(view: View) -> None:
    """The sliders, the decoder, the readout and the ring, all running in the browser."""
    space, sliders = view.space, view.sliders
    y = view.class_ui() or 0
    others_now = sliders.others()
    current = np.full(view.dims, others_now)
    current[space.slider_dims] = [clean(st.session_state[slider_key(d)]) for d in space.slider_dims]
    hall = presenter.is_on()
    with st.container(key="main_figure"):
        shown = view.ordered(space.slider_dims)
        got = live_sliders(view.loaded, current, shown, [view.plain_label(d) for d in shown],
                           offset=space.offset, scale=space.scale, label=int(y),
                           inactive=[view.inactive(d) for d in shown], version=sliders.version(),
                           size=420, prior=view.prior if view.kind.has_prior else None,
                           position_map=_live_position_map(view, hall), hall=hall, key="sliders_live_decoder")
    if got is not None and len(got) == view.dims:  # z released in the browser (for the values it was given)
        returned = np.array([clean(v) for v in got])
        for d in space.slider_dims:
            st.session_state[slider_key(d)] = float(returned[d])
        current[space.slider_dims] = returned[space.slider_dims]
    for d in space.slider_dims:  # the link to this page keeps z (the server's sliders bind to the URL themselves)
        url_state.write(slider_key(d), f"{current[d]:g}" if current[d] != 0 else None)
    if space.other_dims:
        st.slider(f"The other {len(space.other_dims)} dimensions (shared value)", -SLIDER_LIMIT, SLIDER_LIMIT,
                  step=STEP, format="%.2f", key=state.OTHERS, on_change=sliders.bump)
    # what Save and Download write: the same z as the image, the readout and the ring
    sliders.z_now()["z"] = sanitize_z(space.to_z(current[space.slider_dims], others_now), view.dims)


# ---------------------------------------------------------------- the server path

def _numbers(view: View, z: np.ndarray) -> str:
    norm = float(np.linalg.norm(z))
    if not view.kind.has_prior:
        return f"||z|| = {norm:.2f}"
    log_prior = float(view.prior.log_density(z[None])[0])
    return f"||z|| = {norm:.2f} (prior samples: about {view.prior.typical_norm():.2f}) · log p(z) = {log_prior:.2f}"


def _slider_column(view: View) -> None:
    space, activity = view.space, view.activity
    if len(view.levels) > 1:  # one column per level, the top level first (p(z) is drawn from the top down)
        boxes = st.columns(len(view.levels))
        groups = [(box, [d for d in space.slider_dims if first <= d < last], name)
                  for box, (name, first, last) in zip(boxes, reversed(view.levels))]
    elif len(space.slider_dims) > 8:
        halves = st.columns(2)
        split = (len(space.slider_dims) + 1) // 2
        groups = [(halves[0], space.slider_dims[:split], None), (halves[1], space.slider_dims[split:], None)]
    else:
        groups = [(st, space.slider_dims, None)]  # straight into the column: a container would be one more element per release
    for box, dims, level in groups:
        if level is not None:
            box.markdown(f"**Level {level}**" + (" (top)" if level == view.levels[-1][0] else ""))
        for d in dims:
            box.slider(view.slider_label(d), -SLIDER_LIMIT, SLIDER_LIMIT, step=STEP, format="%.2f", key=slider_key(d),
                       bind="query-params",  # a link to the page keeps the point
                       help=None if activity is None or not view.by_kl else
                       f"Average KL(q({view.names[d]}|x) || N(0, 1)) over the stored test images: {activity[d]:.3f} nats. "
                       "Near 0 means the encoder does not use this dimension.")
    if space.other_dims:
        others_kl = activity[space.other_dims] if activity is not None else np.zeros(len(space.other_dims))
        st.slider(f"The other {len(space.other_dims)} dimensions (each {'KL' if view.by_kl else 'Var'} <= "
                  f"{others_kl.max():.2f})", -SLIDER_LIMIT, SLIDER_LIMIT, step=STEP, format="%.2f", key=state.OTHERS,
                  help="The least active dimensions share this one value. " + (
                      "Their average KL is small: the decoder barely listens to them." if view.by_kl else ""))
    if activity is not None and view.by_kl:
        n_inactive = int((activity < INACTIVE_KL).sum())
        if n_inactive:
            st.caption(f"{n_inactive} of {view.dims} dimensions are inactive (average KL < {INACTIVE_KL} nats): "
                       "the KL term pulled their q(z_i|x) onto the prior, so they carry no information and "
                       "moving them changes nothing. This is called posterior collapse.")


# A fragment: releasing a slider reruns only this function, not the sidebar and the rest of the app. It holds
# few elements (each one costs the browser time to draw), and the image comes first: bench/server_path.py
# measures the release -> new image time (docs/benchmarks.md).
@st.fragment
def server_sliders_ui(view: View) -> None:
    z = view.sliders.z_from_state()  # every slider has a key: its value is known before the slider is drawn
    col_img, col_sliders = st.columns([2, 3], gap="large")
    with col_img:
        y = view.class_ui()
        caption = "decode(z): the mean of p(x|z). " + _numbers(view, z)
        if not view.kind.has_prior:
            caption += (". An autoencoder has no prior: sliders are in units of the spread of the encoded test "
                        "images around their mean, and points far from the codes may decode to nonsense.")
        show_image(decode_batch(view.ckpt.model, z[None], y)[0], target=400, caption=caption, inline=True,
                   alt=decoded_alt(view.ckpt.name, z, None if y is None else view.class_names[y]))
    with col_sliders:
        _slider_column(view)
        view.sliders.z_now()["z"] = z  # what the Points menu's download reads when clicked
        _position_map(view, z)
    url_state.remember(view.sliders.keys)  # the sliders above wrote z into the URL themselves
