"""Presenter mode for the lecture hall: large type and images, no sidebar, keyboard shortcuts.

On with the sidebar's toggle or a link's ``presenter=1``; off with the "Exit presenter mode" button
in the scene bar (the sidebar is hidden) or ``presenter=0``.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import url_state

KEY = "presenter"
SEEN_KEYS = "presenter_keys_seen"  # (page-load token, last applied event id)
PRESENTER_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"]
  { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 4.5rem 2.5rem 3rem !important; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] { font-size: 1.4rem !important; }
[data-testid="stMain"] h1 { font-size: 3.1rem !important; }
[data-testid="stMain"] h2 { font-size: 2.4rem !important; }
[data-testid="stMain"] h3 { font-size: 2.0rem !important; }
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 1.2rem !important; }
[data-testid="stMain"] [data-testid="stMetricValue"] { font-size: 2.8rem !important; }
[data-testid="stMain"] [data-testid="stImage"] img { min-width: min(100%, 360px); height: auto; }
[data-testid="stMain"] button p { font-size: 1.2rem !important; }
</style>
"""
_keys = st.components.v2.component(
    "vae_presenter_keys", js=(Path(__file__).parent / "js" / "presenter_keys.js").read_text())


def presenter_mode() -> bool:
    """Whether presenter mode is on (a link's ``presenter`` sets it; the sidebar toggle keeps it), with the
    hall style injected when it is. Call before the page; presenter_toggle draws the toggle after it."""
    flag = url_state.parse_flag(url_state.fresh("presenter"))
    if flag is not None:
        st.session_state[KEY] = flag
    on = bool(st.session_state.get(KEY, False))
    if on:
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
    return on


def presenter_toggle() -> None:
    """The sidebar's presenter toggle, kept in step with the URL's ``presenter``."""
    on = st.sidebar.toggle("Presenter mode", key=KEY,
                           help="Large type and images, no sidebar. Keys: PageDown, Right arrow or N for the next "
                                "scene; PageUp, Left arrow or P for the previous one. Leave with the "
                                "'Exit presenter mode' button at the top of the page.")
    url_state.write("presenter", "1" if on else None)


def exit_presenter() -> None:
    st.session_state[KEY] = False


def presenter_keys() -> int:
    """Listen for the scene shortcuts in the page; returns the scenes to move by in this run
    (+1 for each "next" press, -1 for each "previous" press not yet applied)."""
    result = _keys(key="presenter_keys", on_nav_change=lambda: None, height=0)
    return new_steps(getattr(result, "nav", None))


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
