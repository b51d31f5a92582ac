"""Scenes in the app: load a scenes file (from the repo's scenes/ folder or an upload), list its
scenes, and step through them. A scene is applied by switching to its page with its query
parameters, exactly as if its link had been opened; the deck and the scene number stay in the URL
(``deck=intro-lecture&scene=3``) for decks from the scenes/ folder."""
from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitAPIException

from vae_core.store.paths import REPO_ROOT
from services.scenes import Deck, SceneError, deck_format, list_decks, load_deck, parse_deck, step

from . import url_state
from .presenter import KEY as PRESENTER_KEY, exit_presenter, presenter_link
from .classroom.lecturer import class_bar
from .share import copy_link_button

SCENES_DIR = REPO_ROOT / "scenes"
PAGES_DIR = REPO_ROOT / "pages"
DECK = "scenes_deck"  # the loaded Deck
NAME = "scenes_deck_name"  # its name in scenes/, or None for an upload
INDEX = "scenes_index"  # the current scene, 0-based
PENDING = "scenes_pending"  # a scene chosen by a button or the list, applied once the script runs
ABOUT_SLOT = "_scene_bar_about"  # presenter mode: the bar's place for the page's "About" (ui.common.page_header)
UPLOAD = "\x00upload"
MAX_TALKS = 64
SPEAKER_PAGE = "speaker"  # the speaker view: a page of the app, never a scene's page
CLASS_PAGE_FILE = "class_room"  # the students' page (address "class"): never a scene's page


def page_names() -> list[str]:
    """The pages a scene can name: the file names in pages/ without .py (their addresses)."""
    return sorted(p.stem for p in PAGES_DIR.glob("*.py") if not p.stem.startswith("_") and p.stem not in (SPEAKER_PAGE, CLASS_PAGE_FILE))


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


# -- talks: the deck a projected window and its speaker view share -------------------------------------------

@st.cache_resource
def _talks() -> dict[str, Deck]:
    """talk id -> deck, for the speaker views of this server's process (uploaded decks have no file)."""
    return {}


def talk_id(deck: Deck) -> str:
    """A name for a deck that both windows of a talk agree on: a hash of its content."""
    text = json.dumps([deck.title, [(s.title, s.page, s.model, sorted(s.params.items()), s.notes, repr(s.activity))
                                    for s in deck.scenes]])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def register_talk(deck: Deck) -> str:
    talks = _talks()
    tid = talk_id(deck)
    if tid not in talks and len(talks) >= MAX_TALKS:
        talks.pop(next(iter(talks)))
    talks[tid] = deck
    return tid


def speaker_url(deck: Deck) -> str:
    """The speaker view's address (relative to the page's own), with the deck it follows."""
    query = {"talk": register_talk(deck)}
    if st.session_state.get(NAME):
        query["deck"] = st.session_state[NAME]
    return "./speaker?" + urlencode(query)


_PARSED: dict[tuple, Deck] = {}  # (file, its mtime and size) -> the deck parsed from it


def _parsed_deck(path) -> Deck:
    """load_deck(path), parsed once per version of the file: a phone's page names the scene at every run, and
    parsing the deck's TOML was most of that run."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    deck = _PARSED.get(key)
    if deck is None:
        deck = load_deck(path, page_names())
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = deck
    return deck


def deck_for_speaker(talk: str | None, name: str | None) -> Deck | None:
    """The deck a speaker view's link names: a registered talk, else a deck from scenes/ by name."""
    deck = _talks().get(str(talk or "")[:40])
    if deck is not None:
        return deck
    decks = list_decks(SCENES_DIR)
    if name is not None and name in decks:  # compared with the folder's listing, never joined into a path
        try:
            return _parsed_deck(decks[name])
        except (SceneError, OSError):
            return None
    return None


def _request(index: int) -> None:
    st.session_state[PENDING] = index


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
            _open_deck(deck, None)
    elif choice is not None and choice != st.session_state.get(NAME):
        try:
            deck = load_deck(decks[choice], page_names())
        except SceneError as e:
            st.error(f"scenes/{decks[choice].name}: {e}")
            return
        _open_deck(deck, choice)


def _open_deck(deck: Deck, name: str | None) -> None:
    """A deck chosen in the sidebar opens on its scene 1, exactly as its link ``?deck=name&scene=1`` does."""
    _set_deck(deck, name)
    _request(0)
    st.rerun()  # the scene bar, drawn before the page, applies it


def scenes_sidebar() -> None:
    """The sidebar's Scenes section: choose a file, see its scenes and the lecturer's notes, jump to one
    (drawn after the page; app.py calls deck_from_url before it). In presenter mode the sidebar is hidden,
    so the notes are never on the projected page: the speaker view shows them."""
    deck: Deck | None = st.session_state.get(DECK)
    with st.sidebar.expander("Scenes", expanded=deck is not None, icon=":material/slideshow:"):
        _load_ui()
        deck = st.session_state.get(DECK)
        if deck is None:
            st.caption("A scenes file lists views of the app (page, model, projection, point, z) for a lecture; "
                       "see scenes/ and the README.")
            return
        st.markdown(f"**{deck.title}** · {len(deck)} scenes")
        index = int(st.session_state.get(INDEX, 0))
        # buttons, not a radio: a radio's value set here each run could come back stale from a browser that was
        # mid-switch, and its change callback would then jump to the old scene
        for i, scene in enumerate(deck.scenes):
            st.button(f"{i + 1}. {scene.title}", key=f"scenes_jump_{i}", on_click=_request, args=(i,),
                      type="primary" if i == index else "tertiary", width="stretch")
        notes = deck.scenes[index].notes
        if notes and not st.session_state.get(PRESENTER_KEY):
            st.markdown("**Notes for the lecturer**")
            st.caption(notes)


def scene_bar(presenter: bool, page_title: str) -> None:
    """Above the page: the current scene with Previous / Next, and in presenter mode the page's title, its
    "About" slot, the speaker view's button and the exit; applies a scene chosen by a button, the list,
    the clicker's keys or the speaker view. The lecturer's notes are not here (the speaker view and the
    sidebar have them)."""
    deck: Deck | None = st.session_state.get(DECK)
    index = int(st.session_state.get(INDEX, 0))
    if deck is None and not presenter:
        _apply_pending(deck)
        return
    with st.container(border=not presenter, key="scene_bar"):
        if presenter:
            widths = [1, 7.4, 1.8, 1, 2.4, 1.6, 1.6] if deck is not None else [8.4, 1.8, 1.6, 1.6]
            cols = st.columns(widths, vertical_alignment="center", gap="small")
            link_col = cols[-3] if deck is not None else None
            about_col, exit_col = (cols[2], cols[-1]) if deck is not None else (cols[1], cols[-1])
            class_bar(cols[-2], deck, index, st.session_state.get(NAME) or "")
            if link_col is not None:
                with link_col:
                    events = presenter_link(talk=talk_id(deck), scene=index, speaker_url=speaker_url(deck))
            else:
                with exit_col:
                    events = presenter_link(talk=None, scene=None)
            _apply_events(deck, index, events)
            exit_col.button("Exit", on_click=exit_presenter, key="scenes_exit", width="stretch",
                            icon=":material/close_fullscreen:", help="Leave presenter mode (the sidebar comes back).")
            st.session_state[ABOUT_SLOT] = about_col
        else:
            _apply_pending(deck)
            cols = st.columns([1, 6, 1], vertical_alignment="center")
        if deck is None:
            cols[0].markdown(f"**{page_title}** · presenter mode; load a scenes file to step through scenes")
            return
        scene = deck.scenes[index]
        cols[0].button("◀" if presenter else "◀ Previous", on_click=_request, args=(index - 1,),
                       disabled=index == 0, key="scenes_prev", width="stretch", help="Previous scene (PageUp)")
        where = f" · {page_title}" if presenter else ""
        cols[1].markdown(f"**Scene {index + 1} of {len(deck)}** · {scene.title}{where}")
        nxt = cols[3] if presenter else cols[2]
        nxt.button("▶" if presenter else "Next ▶", on_click=_request, args=(index + 1,),
                   disabled=index >= len(deck) - 1, key="scenes_next", width="stretch", type="primary",
                   help="Next scene (PageDown)")


def _apply_events(deck: Deck | None, index: int, events) -> None:
    """Turn the clicker's presses and the speaker view's steps into the scene to show, and show it."""
    if events.steps:
        if deck is None:
            st.toast("Load a scenes file (sidebar, Scenes) to step through scenes with the keyboard.")
        else:
            st.session_state[PENDING] = step(index, events.steps, len(deck))
    if events.goto is not None and deck is not None and events.goto != index:
        st.session_state[PENDING] = step(events.goto, 0, len(deck))
    _apply_pending(deck)


def _apply_pending(deck: Deck | None) -> None:
    pending = st.session_state.pop(PENDING, None)
    if pending is not None and deck is not None:
        go(pending)


def share_sidebar() -> None:
    """The sidebar's copy-link button."""
    with st.sidebar:
        copy_link_button(key="copy_link")
        st.caption("The link holds the model, the page and its view: bookmark it, or open it in class.")
