"""The latent map as a WebGL scatter: a components v2 component over regl.

The browser code is ui/js/component_data.js (the data's reader), ui/vendor/map_libs.js (regl, d3-scale,
d3-contour from npm, pinned and bundled by ui/vendor/build/build.sh), then ui/js/map_gl.js (the points on
WebGL) and the files of ui/js/map/ in the order of ``MAP_JS`` (the figure around them, a file per concern);
the app sends it with the component, so nothing is fetched from elsewhere. Every point is drawn, up to
MAX_POINTS.

What goes to the browser (ui/component_data.py): a JSON header, then binary parts: the map coordinates
(float32), the class labels (uint16), the posterior's sigma on the two axes (float32, native plane only) and
the training's snapshots (float32, when replayed). What comes back: the state ``selection`` = {seq, kind,
points, location}, read by :func:`parse_state`.

The images of the hover preview travel apart, in a component of their own under the map
(ui/js/map_images.js; uint8, one deflated sheet), sent at the end of the same run (``send_hover_images``,
called by app.py once the page is drawn): the points and the page's controls go out first, and no request
from the browser is needed, once per session (the browser keeps them in its window, by key). A window that
lacks them all the same asks (state ``need`` = {key, n}): the images' component is in a fragment, so the ask
reruns that fragment alone, never the page (a page's rerun while it is drawn can leave the browser holding
stale widget values).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from .component_data import READER_JS, Deflated, component, component_data

MAX_POINTS = 70_000
ELLIPSE_LIMIT = 60  # posterior ellipses drawn for at most this many selected points (an even share)
FONT_PX = 15  # tick labels and legend text
FONT_PX_PRESENTER = 22  # at least 20 px for the back of a lecture hall
SENT_KEY = "_map_images_sent"  # image key -> the browser's ask last answered (None: sent unasked), this session
PENDING_KEY = "_map_images_pending"  # (container, component key, HoverImages) of this run's map, sent at its end

_JS = Path(__file__).parent / "js"
# the figure's code, a file per concern: the class first, the methods of each concern, the entry last
MAP_JS = ("base.js", "timeline.js", "view.js", "tools.js", "hover.js", "legend.js", "layout.js", "overlays.js",
          "class_layer.js", "keyboard.js", "touch.js", "describe.js", "main.js")
_MAP_CODE = "\n".join([(Path(__file__).parent / "vendor" / "map_libs.js").read_text(), (_JS / "map_gl.js").read_text(),
                       *((_JS / "map" / name).read_text() for name in MAP_JS)])
JS = READER_JS + "\n" + _MAP_CODE  # what the browser runs
CSS = (_JS / "scatter_map.css").read_text()
_component = component("vae_latent_map", html='<div class="vae-map"></div>', css=CSS, js=_MAP_CODE)
_images_component = component("vae_latent_map_images", js=(_JS / "map_images.js").read_text())


@dataclass(frozen=True)
class MapChoice:
    """What the browser chose on the map: one image, several (box, lasso, a class from the legend), or
    a location to decode. ``points`` are indices into the map's points."""

    kind: str  # "point", "points" or "location"
    points: tuple[int, ...] = ()
    location: tuple[float, float] | None = None
    how: str = ""  # click, box, lasso, class (as the browser said), or "link" when set by the page

    @property
    def index(self) -> int:
        return self.points[0] if self.points else -1


def parse_state(state, n_points: int) -> MapChoice | None:
    """The browser's ``selection`` state as a MapChoice; None for no selection or anything malformed.
    Indices outside 0..n_points-1 are dropped."""
    sel = state.get("selection") if isinstance(state, dict) else getattr(state, "selection", None)
    if not isinstance(sel, dict):
        return None
    kind = sel.get("kind")
    if kind == "location":
        loc = sel.get("location")
        try:
            x, y = float(loc[0]), float(loc[1])
        except (TypeError, ValueError, IndexError, KeyError):
            return None
        return MapChoice("location", location=(x, y), how="click") if np.isfinite([x, y]).all() else None
    if kind not in ("click", "box", "lasso", "class"):
        return None
    points = []
    for p in sel.get("points") or []:
        try:
            i = int(p)
        except (TypeError, ValueError):
            continue
        if 0 <= i < n_points:
            points.append(i)
    points = sorted(set(points))
    if not points:
        return None
    if kind == "click" and len(points) == 1:
        return MapChoice("point", points=(points[0],), how="click")
    return MapChoice("points", points=tuple(points), how=kind)


@dataclass(frozen=True)
class HoverImages:
    """The images a latent map previews on hover, one per point (ui.loaded_model.LoadedModel.hover_images)."""

    key: str  # names them in the browser, which keeps them by it: the model's path and stamp and the point set
    shape: tuple[int, ...]  # (N, H, W) or (N, H, W, C)
    sheet: Callable[[], Deflated]  # every image row after row, uint8, deflated once per model and point set

    def info(self) -> dict:
        """What the map needs to cut one image out of the sheet."""
        c = self.shape[3] if len(self.shape) == 4 else 1
        return {"key": self.key, "h": int(self.shape[1]), "w": int(self.shape[2]), "c": int(c)}


@dataclass
class MapLayers:
    """What is drawn on top of the points."""

    prior: list = field(default_factory=list)  # the prior's contours (vae_core.model.priors.Outline: sigma, x, y)
    prior_name: str = "N(0, I)"
    sigma: np.ndarray | None = None  # (N, 2) posterior sigma on the map's axes: 1-sigma ellipses of the chosen
    ellipse_sample: list[int] = field(default_factory=list)  # ellipses drawn while nothing is chosen
    density: bool = False
    zero_lines: bool = False
    timeline: "Timeline | None" = None  # the training's snapshots: the map replayed as it learned


@dataclass
class Timeline:
    """A training's history on the map (vae_core.store.history): the points' positions at each snapshot and the loss
    terms then. The browser plays them (a play button, a scrubber, the loss curve with the snapshot marked)."""

    frames: np.ndarray  # (T, N, 2) map coordinates of the N points at each of T snapshots
    step: list[int]
    epoch: list[float]
    curves: dict[str, list[float]]  # name -> one value per snapshot (nats): the -ELBO and its two terms


def latent_scatter(*, key: str, view_id: str, xy: np.ndarray, labels: np.ndarray, class_names: list[str],
                   colours: list[str], images: HoverImages | None, axis_titles: tuple[str, str],
                   extent: tuple[float, float, float, float], layers: MapLayers, presenter: bool,
                   select: dict | None, on_change: Callable[[], None], file_stem: str = "latent-map",
                   grouped_by: str = "class"):
    """Draw the map; returns the component's result (its ``selection`` state, see parse_state). Its hover
    ``images`` go out under it at the end of the run (send_hover_images).

    ``view_id`` changes when the points mean something else (model, map, axes, point set): the browser
    then resets its view. ``select`` ({"token", "points"} or {"token", "location"}) is a choice made by the
    page (a link, a scene); the browser applies each token once."""
    n = len(xy)
    if n > MAX_POINTS:
        raise ValueError(f"{n:,} points: the map draws at most {MAX_POINTS:,}")
    if images is not None and images.shape[0] != n:
        images = None  # no preview rather than another point's image
    header, parts = _map_data(key, view_id, xy, np.asarray(labels), class_names, colours, layers)
    point_size = float(np.clip(9.0 - 2.2 * np.log10(max(n, 1) / 300), 3.0, 9.0))
    header.update({
        "axis_titles": list(axis_titles), "extent": [float(v) for v in extent], "presenter": bool(presenter),
        "images": images.info() if images is not None else None, "select": select,
        "point_size": point_size * (1.35 if presenter else 1.0), "font_px": FONT_PX,
        "font_px_presenter": FONT_PX_PRESENTER, "file_stem": file_stem,
        "grouped_by": grouped_by,  # what the colours stand for: "class", or a factor of the images ("scale")
    })
    box = st.container(gap=None)  # the images' component goes under the map, with no gap: it shows nothing
    with box:
        result = _component(key=key, data=component_data(header, parts), on_selection_change=on_change)
    st.session_state[PENDING_KEY] = (box, f"{key}_images", images) if images is not None else None
    return result


def send_hover_images() -> None:
    """The hover images of the map drawn in this run, under it. app.py calls it when the page is drawn: a sheet of
    10,000 images sent right after the points held the page's controls back (by 0.6 s: docs/benchmarks.md)."""
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending is not None:
        box, key, images = pending
        with box:
            _hover_images(key, images)


def _map_data(key: str, view_id: str, xy: np.ndarray, labels: np.ndarray, class_names: list[str],
              colours: list[str], layers: MapLayers) -> tuple[dict, dict[str, np.ndarray]]:
    """The points, their classes and the layers drawn over them: the map's header and parts."""
    n = len(xy)
    n_classes = max(len(class_names), int(labels.max()) + 1 if n else 1)
    counts = np.bincount(labels, minlength=n_classes) if n else np.zeros(n_classes, int)
    classes = [{"name": class_names[c] if c < len(class_names) else str(c), "colour": colours[c % len(colours)]}
               for c in range(n_classes)]
    parts = {"xy": np.asarray(xy, np.float32).reshape(n, 2), "labels": labels.astype(np.uint16)}
    if layers.sigma is not None:
        parts["sigma"] = np.asarray(layers.sigma, np.float32).reshape(n, 2)
    timeline = None
    if layers.timeline is not None:
        t = layers.timeline
        frames = np.asarray(t.frames, np.float32)
        if frames.shape[1:] != (n, 2):
            raise ValueError(f"the timeline's frames are {frames.shape}, not (T, {n}, 2)")
        parts["frames"] = frames
        timeline = {"step": [int(v) for v in t.step], "epoch": [round(float(v), 4) for v in t.epoch],
                    "curves": {k: [float(v) for v in vals] for k, vals in t.curves.items()}}
    header = {
        "key": key, "view_id": view_id, "n": n, "classes": classes, "counts": counts.tolist(),
        "prior": [prior_line(*outline) for outline in layers.prior], "prior_name": layers.prior_name,
        "ellipses": layers.sigma is not None,
        "ellipse_sample": [int(i) for i in layers.ellipse_sample], "ellipse_limit": ELLIPSE_LIMIT,
        "density": bool(layers.density), "zero_lines": bool(layers.zero_lines), "timeline": timeline,
    }
    return header, parts


@st.fragment
def _hover_images(key: str, images: HoverImages) -> None:
    """The hover images' component: the sheet once per session and key (the browser window keeps it), and again
    for each ask of a window that lacks it (state ``need`` = {key, n}), which reruns this fragment, not the page."""
    sent = st.session_state.setdefault(SENT_KEY, {})
    need = (st.session_state.get(key) or {}).get("need")
    asked = isinstance(need, dict) and need.get("key") == images.key and need.get("n") != sent.get(images.key)
    parts = {}
    if images.key not in sent or asked:
        sent[images.key] = need.get("n") if asked else None
        parts["images"] = images.sheet()
    _images_component(key=key, data=component_data({"key": images.key}, parts), on_need_change=lambda: None)


def prior_line(sigma: float, xs: np.ndarray, ys: np.ndarray) -> dict:
    """One contour of the prior for the browser: an SVG path in map coordinates (NaN separates pieces) and
    where its label goes (the contour's point furthest to the upper right, as at 45 degrees on a circle)."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    parts, pen_up = [], True
    for x, y in zip(xs, ys):
        if not (np.isfinite(x) and np.isfinite(y)):
            pen_up = True
            continue
        parts.append(f"{'M' if pen_up else 'L'}{x:.4g} {y:.4g}")
        pen_up = False
    ok = np.isfinite(xs) & np.isfinite(ys)
    k = int(np.argmax(np.where(ok, xs + ys, -np.inf))) if ok.any() else 0
    label = [float(xs[k]), float(ys[k])] if ok.any() else [0.0, 0.0]
    return {"sigma": float(sigma), "d": "".join(parts), "label": label}
