"""Presenter mode for the lecture hall: type sized for the back of the room, figures that fit the
screen, no sidebar and no Streamlit toolbar, the clicker's keys, and a speaker view in a second window.

On with the sidebar's toggle or a link's ``presenter=1``; off with the "Exit" button in the scene bar
(the sidebar is hidden) or ``presenter=0``.

Sizes follow the window's height, in CSS alone: the root font size is a fixed share of it, so every size
Streamlit gives in rem grows with the screen (labels and captions are 0.875 rem: 20.8 px at 1080 pixels,
13.9 px at 720), and figures are held to the height left under the scene bar (``FIT``). The window's size
never travels to Python: a report of it at the first mount would rerun the page it was opened on and undo
a scene's page switch still in flight.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from . import url_state
from .component_data import component, component_data

KEY = "presenter"
SEEN_KEYS = "presenter_keys_seen"  # (page-load token, last applied event id)
SEEN_GOTO = "presenter_goto_seen"  # the stamp of the last step taken from the other window
ROOT_VH = 2.2  # the root font size, in % of the window's height: 23.8 px at 1080, 15.8 px at 720
BAR_REM = 4.2  # the scene bar's height with its margins, in rem (the page's figures fit below it)
FIT = f"calc(100vh - {BAR_REM}rem)"  # CSS: the height under the scene bar
HIDDEN = ('[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], '
          '[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"], [data-testid="stToolbar"], '
          '[data-testid="stDecoration"], [data-testid="stStatusWidget"] button')
PRESENTER_CSS = f"""
<style>
html {{ font-size: max(12px, {ROOT_VH}vh) !important; }}
{HIDDEN} {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ max-width: 100% !important; padding: 0.4rem 1.4rem 1rem !important; }}
[data-testid="stMain"] [data-testid="stImage"] img {{ image-rendering: pixelated; max-height: calc(100vh - 12rem);
  object-fit: contain; }}
.st-key-scene_bar {{ border-bottom: 2px solid #c7c9d1; padding-bottom: 0.35rem; }}
.st-key-scene_bar p {{ margin: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
@media (max-width: 1100px) {{ .st-key-scene_bar p {{ white-space: normal; }} }}  /* a tablet, a phone: it wraps */
</style>
"""
LINK_CSS = """
.vae-presenter-link button.speaker { font: inherit; font-size: 0.95rem; padding: 0.35rem 0.8rem; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.25); background: #fff; cursor: pointer; white-space: nowrap; width: 100%;
  min-height: 2.5rem; }
.vae-presenter-link button.speaker:hover { border-color: #4f46e5; color: #4f46e5; }
"""
_link = component(
    "vae_presenter_link", html='<div class="vae-presenter-link"><button class="speaker" type="button" hidden>'
                               'Speaker view ↗</button></div>',
    css=LINK_CSS, js=(Path(__file__).parent / "js" / "presenter_link.js").read_text())


def presenter_mode() -> bool:
    """Whether presenter mode is on (a link's ``presenter`` sets it; the sidebar toggle keeps it), with the
    hall style injected when it is. Call before the page; presenter_toggle draws the toggle after it."""
    flag = url_state.parse_flag(url_state.fresh("presenter"))
    if flag is not None:
        st.session_state[KEY] = flag
    on = bool(st.session_state.setdefault(KEY, False))
    if on:
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
    return on


def is_on() -> bool:
    return bool(st.session_state.get(KEY, False))


TOGGLE_KEY = "presenter_toggle"


def _toggled(key: str) -> None:
    st.session_state[KEY] = bool(st.session_state[key])


def presenter_toggle() -> None:
    """The sidebar's presenter toggle, kept in step with the URL's ``presenter``. It is a widget of its own for
    each state of the mode (its key says which): a value the browser still holds from a run that was cut short
    (by a request sent while it was drawn) belongs to the other widget and cannot end the
    mode; a toggle set through session state had sent "off" back with the next step, which ended it."""
    key = f"{TOGGLE_KEY}_{int(is_on())}"
    st.sidebar.toggle("Presenter mode", value=is_on(), key=key, on_change=_toggled, args=(key,),
                           help="Type and figures sized for a projector, no sidebar, and a speaker view with the "
                                "lecturer's notes in a second window. Keys: PageDown, Right arrow or N for the next "
                                "scene; PageUp, Left arrow or P for the previous one. Leave with the 'Exit' button "
                                "at the top of the page.")
    url_state.write("presenter", "1" if is_on() else None)


def exit_presenter() -> None:
    st.session_state[KEY] = False


# -- charts on a projector -------------------------------------------------------------------------------------

CHART_FONT_PX = 20  # chart text in presenter mode (Plotly sizes are pixels): readable from the back of a hall


def chart_font_px(default: int = 12) -> int:
    """Chart text (ticks, legends, titles): CHART_FONT_PX in presenter mode, else ``default``."""
    return max(default, CHART_FONT_PX) if is_on() else default


def line_px(default: float = 1.0) -> float:
    """Line widths that survive a projector in presenter mode (at least 2.5 px), else ``default``."""
    return max(default, 2.5) if is_on() else default


# -- the link between the projected window and the speaker view ---------------------------------------------------

@dataclass(frozen=True)
class LinkEvents:
    steps: int  # scenes to move by: +1 for each "next" press, -1 for each "previous" press not yet applied
    goto: int | None  # a scene (0-based) the other window moved to, not yet followed


def presenter_link(*, talk: str | None, scene: int | None, speaker_url: str | None = None,
                   key: str = "presenter_link") -> LinkEvents:
    """The clicker's keys and the other window's steps. ``talk`` names the deck both windows show
    (None: no deck); ``scene`` is the scene this window shows; ``speaker_url`` shows the button that opens
    the speaker view."""
    result = _link(key=key, data=component_data({"talk": talk, "scene": scene, "speaker_url": speaker_url}),
                   on_nav_change=lambda: None, on_goto_change=lambda: None,
                   height="content" if speaker_url else 0)
    return LinkEvents(new_steps(getattr(result, "nav", None)), _new_goto(getattr(result, "goto", None)))


def _new_goto(goto) -> int | None:
    """The scene of a step heard from the other window, once per step (its stamp)."""
    if not isinstance(goto, dict):
        return None
    try:
        scene, stamp = int(goto.get("scene")), float(goto.get("stamp"))
    except (TypeError, ValueError):
        return None
    if stamp <= st.session_state.get(SEEN_GOTO, 0.0):
        return None
    st.session_state[SEEN_GOTO] = stamp
    return scene


def new_steps(nav) -> int:
    """The net steps of the key events not applied before; each event id counts once per page load (token)."""
    if not isinstance(nav, dict) or not isinstance(nav.get("events"), list):
        return 0
    token = str(nav.get("token", ""))[:40]
    last_token, last_id = st.session_state.get(SEEN_KEYS, ("", 0))
    if token != last_token:
        last_id = 0
    steps, top = 0, last_id
    for ev in nav["events"][-50:]:
        if not isinstance(ev, dict) or ev.get("dir") not in ("next", "prev"):
            continue
        try:
            eid = int(ev.get("id"))
        except (TypeError, ValueError):
            continue
        if eid > last_id:
            steps += 1 if ev["dir"] == "next" else -1
            top = max(top, eid)
    st.session_state[SEEN_KEYS] = (token, top)
    return steps
