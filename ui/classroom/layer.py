"""The class's points on the projected latent map, as a layer of its own: a fragment reads the room's events
every half second and sends a small component the class's points in map coordinates (a few kB), which its
JavaScript hands to the map instance of the same page (ui/js/class_layer.js -> ui/js/map/class_layer.js).
The map's own points are never sent again for it. A click on a glyph picks that drawing: the strip under
the scene bar shows it beside its reconstruction, with Remove."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from services.room.held import held_room

from ..component_data import component, component_data
from ..identity import browser_key
from ..presenter import is_on as presenter_on
from ..state import classroom as state
from ..state.latent_map import CHART
from .room import held_follower, model_by_name

EVERY = 0.5  # seconds
PLACED = "class_layer_placed"  # (map id, submission id) -> (x, y): a projection's transform is done once
_component = component("vae_class_layer", html='<div class="vae-class-layer" aria-live="polite"></div>',
                       css=".vae-class-layer { font-size: 0.9rem; color: #333; min-height: 1.2em; }",
                       js=(Path(__file__).parent.parent / "js" / "class_layer.js").read_text())


def map_coordinates(subs, proj, dims: tuple[int, int], native: bool, map_id: str) -> list[dict]:
    """Each submission's place on the map (and its 1-sigma half-axes on the native plane)."""
    placed = st.session_state.setdefault(PLACED, {})
    if len(placed) > 5000:
        placed.clear()
    out = []
    for s in subs:
        latent = np.asarray(s.mu if s.kind == "draw" else s.z, np.float32)
        rx = ry = 0.0
        if native:
            x, y = float(latent[dims[0]]), float(latent[dims[1]])
            if s.kind == "draw":
                sigma = np.exp(0.5 * np.asarray(s.logvar, np.float64))
                rx, ry = float(sigma[dims[0]]), float(sigma[dims[1]])
        else:
            key = (map_id, s.id)
            if key not in placed:
                placed[key] = tuple(float(v) for v in np.asarray(proj.transform(latent[None]))[0][:2])
            x, y = placed[key]
        if np.isfinite([x, y, rx, ry]).all():
            out.append({"id": s.id, "kind": s.kind, "x": x, "y": y, "rx": rx, "ry": ry, "alias": s.alias})
    return out


def _picked(key: str) -> None:
    got = (st.session_state.get(key) or {}).get("pick")
    if isinstance(got, dict) and isinstance(got.get("id"), int):
        st.session_state[state.PICKED] = got["id"]


@st.fragment(run_every=EVERY)
def _layer(map_key: str, model_path: str, proj, dims: tuple[int, int], native: bool, map_id: str) -> None:
    held = held_follower()
    f = None if held is None else held[1]
    act = None if f is None else f.activity
    if act is None or act.kind not in ("draw", "place"):
        return
    loaded = model_by_name(act.spec.get("model"))
    if loaded is None or loaded.path != model_path:
        st.caption(f"The class's answers are for the model {act.spec.get('model')!r}: open it to see them here.")
        return
    if not native and not getattr(proj, "places_new_points", False):
        st.caption("This map cannot place new points: switch to the latent plane or PCA to see the class.")
        return
    points = map_coordinates(f.submissions(), proj, dims, native, map_id)
    what = "drawings (★, with their 1-sigma ellipses)" if act.kind == "draw" else "points z (✚)"
    caption = (f"The class's {len(points)} {what}: click one to see it." if f.state.layer_shown
               else f"The class's {len(points)} answers are hidden (Class, Show).")
    key = "class_layer"
    _component(key=key, data=component_data({"map_key": map_key, "points": points, "shown": f.state.layer_shown,
                                             "picked": st.session_state.get(state.PICKED), "caption": caption,
                                             "presenter": presenter_on()}),
               on_pick_change=lambda: _picked(key), height="content")


def class_layer_ui(view) -> None:
    """The class's layer on this page's latent map (nothing unless this browser holds an open room)."""
    if view.proj is None or held_room(browser_key()) is None:
        return
    native = view.map_kind.is_native
    map_id = f"{view.loaded.path}|{view.loaded.stamp}|{view.method}|{view.dims}|{view.point_set}"
    with view.col_map:
        _layer(CHART, view.loaded.path, view.proj, tuple(view.dims), native, map_id)
