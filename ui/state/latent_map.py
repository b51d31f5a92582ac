"""The Latent map's state: the map (projection, axes, point set, layers, the training's replay) and what is
chosen on it (one image, several, or a place), which the browser shows.

The browser holds the choice too: a choice made by the page (a link, a scene, a new map) is sent as a
``select`` with a new token, which the browser applies once; a choice made in the browser comes back as the
component's state and is kept with the view it was made on (a place on one map means nothing on another).
The axes, the class and the point set belong to the loaded model and are forgotten when another is loaded.
"""
from __future__ import annotations

import streamlit as st

from vae_core.projection import METHODS

from .. import url_state
from ..scatter_map import MapChoice, parse_state

CHART = "latent_map_chart"  # the map component's key (its state: the browser's choice)
MODEL = "latent_map_model"
TARGET = "latent_map_target"  # {"target": MapChoice, "view": the view it was made on} or None
SELECT, TOKEN = "latent_map_select", "latent_map_token"
METHOD, DIM_X, DIM_Y = "latent_map_method", "latent_map_dim_x", "latent_map_dim_y"
CLASS, POINTS = "latent_map_class", "latent_map_points"
PRIOR, ELLIPSES, DENSITY = "latent_map_prior", "latent_map_ellipses", "latent_map_density"
WATCH, WATCH_DRAWN, DRAWN_VIEW = "latent_map_watch", "latent_map_watch_drawn", "latent_map_drawn_view"
COLOUR = "latent_map_colour"  # what the points are coloured by: "class", or a factor of the stored images


def start(path: str) -> None:
    """A new model forgets the old one's choice, axes, class and point set."""
    ss = st.session_state
    if ss.get(MODEL) != path:
        ss[MODEL] = path
        ss[TARGET] = None
        for k in (DIM_X, DIM_Y, CLASS, POINTS, COLOUR):
            ss.pop(k, None)
    ss.setdefault(TARGET, None)


def flag(key: str, default: bool) -> bool:
    return bool(st.session_state.get(key, default))


def point_set(available: dict) -> str:
    chosen = st.session_state.get(POINTS, "stored")
    return chosen if chosen in available else "stored"


def axes(default: tuple[int, int]) -> tuple[int, int]:
    return (int(st.session_state.get(DIM_X, default[0])), int(st.session_state.get(DIM_Y, default[1])))


def colour(options: list[str]) -> str:
    """What the points are coloured by (a link's ?colour= first), one of ``options``."""
    url = url_state.link_choice("colour", options, "the map stays coloured by class")
    if url is not None:
        st.session_state[COLOUR] = url
    chosen = st.session_state.get(COLOUR, options[0])
    return chosen if chosen in options else options[0]


def decode_class() -> int:
    return int(st.session_state.get(CLASS) or 0)


def select_by_page(choice: MapChoice | None) -> None:
    """A choice made here (a link, a scene, a new map), which the browser then shows."""
    token = int(st.session_state.get(TOKEN, 0)) + 1
    st.session_state[TOKEN] = token
    st.session_state[SELECT] = {
        "token": token, "points": list(choice.points) if choice and choice.kind != "location" else [],
        "location": list(choice.location) if choice and choice.kind == "location" else None}


def selection_to_send() -> dict | None:
    return st.session_state.get(SELECT)


def take_link(n_images: int) -> bool:
    """A link's ?projection=pca&point=12&watch=1 (validated; anything else gets a notice). Returns whether the
    link asks to replay the training."""
    url_method = url_state.link_choice("projection", list(METHODS), "the map stays as it was")
    if url_method is not None:
        st.session_state[METHOD] = url_method
    url_watch = url_state.fresh("watch")  # ?watch=1: the training replayed (a model with a recorded history)
    if url_watch is not None:
        if url_state.parse_flag(url_watch) is None:
            url_state.notice(f"The link's watch={url_watch!r} is not 1 or 0: the map shows the trained model.")
        else:
            st.session_state[WATCH] = url_state.parse_flag(url_watch)
    url_point = url_state.link_index("point", n_images, f"one of the map's {n_images:,} images",
                                     "no image is selected")
    if url_point is not None:
        choice = MapChoice("point", points=(url_point,), how="link")
        st.session_state[TARGET] = {"target": choice, "view": None}
        select_by_page(choice)
    return url_watch is not None and url_state.parse_flag(url_watch) is True


def target(view: tuple, n_images: int, watch: bool) -> MapChoice | None:
    """What is chosen on this view: a place chosen on another map, or images the map does not have, are
    forgotten; a new map (or the replay switched) sends the choice to the browser again."""
    ss = st.session_state
    if ss.setdefault(WATCH_DRAWN, watch) != watch:  # other points: a choice made on the other map is void
        ss[WATCH_DRAWN] = watch
        ss[TARGET] = None
    stored = ss[TARGET]
    chosen: MapChoice | None = stored["target"] if stored else None
    if chosen is not None and chosen.kind == "location" and stored["view"] != view:
        chosen = ss[TARGET] = None
    if chosen is not None and any(not 0 <= i < n_images for i in chosen.points):
        chosen = ss[TARGET] = None
    if ss.get(DRAWN_VIEW) != view:
        ss[DRAWN_VIEW] = view
        select_by_page(chosen)
    return chosen


def on_change(view_when_drawn: tuple, n_points: int) -> None:
    """The map's callback: the browser's choice, kept with the view it was made on."""
    choice = parse_state(st.session_state.get(CHART), n_points)
    st.session_state[TARGET] = None if choice is None else {"target": choice, "view": view_when_drawn}


def write_url(method: str, watch: bool, chosen: MapChoice | None) -> None:
    url_state.write("projection", method)
    url_state.write("watch", 1 if watch else None)
    url_state.write("point", chosen.index if chosen is not None and chosen.kind == "point" and not watch else None)
