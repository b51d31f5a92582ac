"""Scenes in the app: load a scenes file (from the repo's scenes/ folder or an upload), list its
scenes, and step through them. A scene is applied by switching to its page with its query
parameters, exactly as if its link had been opened; the deck and the scene number stay in the URL
(``deck=intro-lecture&scene=3``) for decks from the scenes/ folder."""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from vae_core.paths import REPO_ROOT
from vae_core.scenes import Deck, SceneError, deck_format, list_decks, load_deck, parse_deck, step

from . import url_state
from .presenter import KEY as PRESENTER_KEY, exit_presenter
from .share import copy_link_button

SCENES_DIR = REPO_ROOT / "scenes"
PAGES_DIR = REPO_ROOT / "pages"
DECK = "scenes_deck"  # the loaded Deck
NAME = "scenes_deck_name"  # its name in scenes/, or None for an upload
INDEX = "scenes_index"  # the current scene, 0-based
PENDING = "scenes_pending"  # a scene chosen by a button or the list, applied once the script runs
UPLOAD = "\x00upload"


def page_names() -> list[str]:
    """The pages a scene can name: the file names in pages/ without .py (their addresses)."""
    return sorted(p.stem for p in PAGES_DIR.glob("*.py") if not p.stem.startswith("_"))


def _set_deck(deck: Deck, name: str | None, index: int = 0) -> None:
    st.session_state[DECK] = deck
    st.session_state[NAME] = name
    st.session_state[INDEX] = step(index, 0, len(deck))


def deck_from_url() -> None:
    """A link's ``deck=name&scene=n`` loads that deck from scenes/ (the view itself is in the rest of the URL)."""
    name = url_state.fresh("deck")
    number = url_state.fresh("scene")
    if name is not None:
        decks = list_decks(SCENES_DIR)
        if name not in decks:  # compared with the folder's listing, never joined into a path
            st.sidebar.warning(f"The link names a scenes file {name[:60]!r} that is not in scenes/.")
            return
        if st.session_state.get(NAME) != name:
            try:
                _set_deck(load_deck(decks[name], page_names()), name)
            except SceneError as e:
                st.sidebar.error(f"scenes/{decks[name].name}: {e}")
                return
        if set(url_state.incoming()) <= {"deck", "scene", "presenter"}:  # a bare deck link: show its scene
            st.session_state[PENDING] = url_state.parse_index(number, len(st.session_state[DECK]) + 1) or 1
            st.session_state[PENDING] -= 1
    deck = st.session_state.get(DECK)
    if number is not None and deck is not None:
        index = url_state.parse_index(number, len(deck) + 1)
        if index is not None and index >= 1:
            st.session_state[INDEX] = index - 1


def go(index: int) -> None:
    """Show scene ``index`` of the loaded deck: its page, model and parameters (a page switch)."""
    deck: Deck | None = st.session_state.get(DECK)
    if deck is None:
        return
    index = step(index, 0, len(deck))
    st.session_state[INDEX] = index
    scene = deck.scenes[index]
    query = scene.query()
    if st.session_state.get(PRESENTER_KEY):
        query["presenter"] = "1"
    if st.session_state.get(NAME):
        query["deck"] = st.session_state[NAME]
        query["scene"] = str(index + 1)
    url_state.forget_all()
    try:
        st.switch_page(f"pages/{scene.page}.py", query_params=query)
    except StreamlitAPIException as e:
        st.error(f"Scene {index + 1} ({scene.title}) names page {scene.page!r}, which this app cannot show: {e}")


def _request(index: int) -> None:
    st.session_state[PENDING] = index


def _on_pick() -> None:
    _request(int(st.session_state.scenes_pick))


def _load_ui() -> None:
    decks = list_decks(SCENES_DIR)
    options = list(decks) + [UPLOAD]
    if st.session_state.get(NAME) in decks and st.session_state.get("scenes_file") != st.session_state[NAME]:
        st.session_state.scenes_file = st.session_state[NAME]
    choice = st.selectbox("Scenes file", options, index=None, key="scenes_file", placeholder="Choose a scenes file",
                          format_func=lambda o: "Upload a file (.toml or .json)" if o == UPLOAD else f"{o} (scenes/)")
    if choice == UPLOAD:
        up = st.file_uploader("Scenes file", type=["toml", "json"], key="scenes_upload", label_visibility="collapsed")
        if up is not None and st.session_state.get("scenes_upload_done") != up.file_id:
            try:
                deck = parse_deck(up.getvalue(), deck_format(up.name), up.name, page_names())
            except SceneError as e:
                st.error(str(e))
                return
            st.session_state.scenes_upload_done = up.file_id
            _set_deck(deck, None)
            st.rerun()  # the scene bar above the page shows the new deck
    elif choice is not None and choice != st.session_state.get(NAME):
        try:
            _set_deck(load_deck(decks[choice], page_names()), choice)
        except SceneError as e:
            st.error(f"scenes/{decks[choice].name}: {e}")
            return
        st.rerun()


def scenes_sidebar() -> None:
    """The sidebar's Scenes section: choose a file, see its scenes, jump to one (drawn after the page;
    app.py calls deck_from_url before it)."""
    deck: Deck | None = st.session_state.get(DECK)
    with st.sidebar.expander("Scenes", expanded=deck is not None, icon=":material/slideshow:"):
        _load_ui()
        deck = st.session_state.get(DECK)
        if deck is None:
            st.caption("A scenes file lists views of the app (page, model, projection, point, z) for a lecture; "
                       "see scenes/ and the README.")
            return
        st.markdown(f"**{deck.title}** · {len(deck)} scenes")
        st.session_state.scenes_pick = st.session_state.get(INDEX, 0)
        st.radio("Scene", range(len(deck)), key="scenes_pick", on_change=_on_pick, label_visibility="collapsed",
                 format_func=lambda i: f"{i + 1}. {deck.scenes[i].title}")


def scene_bar(presenter: bool, key_steps: int = 0) -> None:
    """Above the page: the current scene with Previous / Next (and the presenter's exit); applies a
    scene chosen by a button, the list, or ``key_steps`` presses of the shortcuts."""
    deck: Deck | None = st.session_state.get(DECK)
    index = int(st.session_state.get(INDEX, 0))
    if key_steps:
        if deck is None:
            st.toast("Load a scenes file (sidebar, Scenes) to step through scenes with the keyboard.")
        else:
            st.session_state[PENDING] = step(index, key_steps, len(deck))
    pending = st.session_state.pop(PENDING, None)
    if pending is not None and deck is not None:
        go(pending)
    if deck is None and not presenter:
        return
    with st.container(border=True, key="scene_bar"):
        if deck is None:
            cols = st.columns([6, 2], vertical_alignment="center")
            cols[0].caption("Presenter mode. Load a scenes file to step through scenes.")
            cols[1].button("Exit presenter mode", on_click=exit_presenter, key="scenes_exit", width="stretch")
            return
        scene = deck.scenes[index]
        widths = [1, 6, 1] + ([2] if presenter else [])
        cols = st.columns(widths, vertical_alignment="center")
        cols[0].button("◀ Previous", on_click=_request, args=(index - 1,), disabled=index == 0,
                       key="scenes_prev", width="stretch")
        cols[1].markdown(f"**Scene {index + 1} of {len(deck)}** · {scene.title}")
        cols[2].button("Next ▶", on_click=_request, args=(index + 1,), disabled=index >= len(deck) - 1,
                       key="scenes_next", width="stretch", type="primary")
        if presenter:
            cols[3].button("Exit presenter mode", on_click=exit_presenter, key="scenes_exit", width="stretch")
        if scene.notes:
            with st.expander("Notes for the lecturer"):
                st.markdown(scene.notes)


def share_sidebar() -> None:
    """The sidebar's copy-link button."""
    with st.sidebar:
        copy_link_button(key="copy_link")
        st.caption("The link holds the model, the page and its view: bookmark it, or open it in class.")
