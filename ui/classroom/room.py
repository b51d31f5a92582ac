"""The room a window works with: the process's store, the lecturer's room (held by the browser's identity,
so the speaker view controls the same room), the room's activity from a deck's scene, and the models the
class uses (by name, as a deck names them)."""
from __future__ import annotations

import os
from typing import Any

import streamlit as st

from services.room import STORE_ENV, RoomError, RoomKeys, RoomStore, open_store
from services.room.held import hold_room, held_room, release_room
from services.scenes import Scene
from vae_core.store.paths import app_home

from ..identity import browser_key
from ..loaded_model import LoadedModel, loaded_model
from ..model_choices import model_choices
from ..state import classroom as state
from ..url_state import model_url_name

SYNCED = "class_synced_scene"  # (room code, deck title, scene index) the room was last moved to


@st.cache_resource(show_spinner=False, max_entries=4)
def _store(where: str, home: str) -> RoomStore:
    return open_store(where)


_OPEN: dict[tuple[str, str], RoomStore] = {}  # what _store gave, by place: a phone asks at every run


def room_store() -> RoomStore:
    """This process's room store ($VAE_CLASS_STORE, else the SQLite file of the data home): one per process and
    place, shared by its sessions' threads. Looked up by place first (Streamlit's cache hashes its arguments at
    every call); the store Streamlit's cache made is the one used."""
    where = (os.environ.get(STORE_ENV, ""), str(app_home()))
    store = _OPEN.get(where)
    if store is None:
        store = _OPEN[where] = _store(*where)
    return store


def model_by_name(name: str | None) -> LoadedModel | None:
    """A bundled or saved model by the name a deck (or a link) uses, loaded; None when there is none."""
    if not name:
        return None
    for origin in ("bundled", "saved"):
        match = next((c for c in model_choices() if c.origin == origin and model_url_name(c) == name), None)
        if match is not None:
            return loaded_model(match.path)
    return None


def lecturer_room(create: bool = False, deck: str = "", scene: int = 0) -> RoomKeys | None:
    """This browser's open room; with ``create``, a new one when it has none (or its room was closed)."""
    store, key = room_store(), browser_key()
    keys = held_room(key)
    if keys is not None:
        try:
            if store.state(keys.code).open:
                return keys
        except RoomError:
            pass  # expired or from another store: a new one
        release_room(key)
    if not create:
        return None
    keys = store.create_room(deck=deck, scene=scene)
    hold_room(key, keys)
    return keys


def held_follower():
    """This browser's open room: its keys and its follower, read from the store just now (None: no room held, the
    store could not be read, or the room is closed)."""
    keys = held_room(browser_key())
    if keys is None:
        return None
    f = state.follower(keys.code)
    try:
        f.poll(room_store())
    except RoomError:
        return None
    return (keys, f) if f.state is not None and f.state.open else None


def close_lecturer_room() -> None:
    keys = held_room(browser_key())
    if keys is not None:
        try:
            room_store().close_room(keys.code, keys.secret)
        except RoomError:
            pass  # closed or gone already
        release_room(browser_key())


def activity_spec(scene: Scene) -> tuple[str, dict[str, Any]]:
    """The room's activity for a deck scene's ``[scene.activity]``: (kind, spec for services.room)."""
    act = scene.activity
    spec: dict[str, Any] = {"prompt": act.prompt or None, "model": scene.model}
    if act.kind == "poll":
        spec.update(question=act.question, choices=list(act.choices))
    else:
        loaded = model_by_name(scene.model)
        if loaded is None:
            raise RoomError("bad_spec", f"The scene's model {scene.model!r} is not on this server: the phones "
                                        "could not encode with it.")
        spec["latent_dim"] = int(loaded.config.latent_dim)
        if act.target:
            spec["target"] = act.target
    return act.kind, {k: v for k, v in spec.items() if v is not None}


def open_scene_activity(keys: RoomKeys, scene: Scene) -> None:
    kind, spec = activity_spec(scene)
    room_store().open_activity(keys.code, keys.secret, kind, spec)


def sync_scene(deck_name: str, deck_title: str, index: int, scene: Scene) -> str | None:
    """Move the lecturer's room to the projected scene, once per arrival; a scene with an activity makes
    the room (if there is none yet) and opens it. Returns a message when that failed."""
    keys = lecturer_room(create=scene.activity is not None, deck=deck_name, scene=index)
    if keys is None:
        return None
    mark = (keys.code, deck_title, index)
    if st.session_state.get(SYNCED) == mark:
        return None
    st.session_state[SYNCED] = mark
    store = room_store()
    try:
        if store.state(keys.code).scene != index:
            store.set_scene(keys.code, keys.secret, index, deck_name)
        if scene.activity is not None:
            open_scene_activity(keys, scene)
    except RoomError as e:
        return e.message
    return None
