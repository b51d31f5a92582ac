"""The speaker view: the lecturer's second window, opened from presenter mode's scene bar.

It shows the lecturer's notes, the current and the next scene, the time elapsed and the step controls.
It and the projected window follow each other both ways (ui/js/presenter_link.js): a step in either, by
a button, the scenes list or a clicker's key, moves both. The notes are only ever shown here (and in
the sidebar outside presenter mode), never on the projected page."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from services.scenes import Deck, Scene, step

from . import url_state
from .access import ACCESS_CSS
from .classroom.lecturer import controls as class_controls
from .classroom.projector import class_strip
from .common import through_router
from .component_data import component, component_data
from .presenter import presenter_link
from .scenes import deck_for_speaker, talk_id

TALK = "speaker_talk"
INDEX = "speaker_index"
SPEAKER_CSS = """
<style>
html { font-size: max(14px, 1.9vh) !important; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0.8rem 1.6rem 2rem !important; }
.st-key-speaker_card_now [data-testid="stMarkdownContainer"] p,
.st-key-speaker_card_now [data-testid="stMarkdownContainer"] li { font-size: 1.45rem; line-height: 1.45; }
.st-key-speaker_card_next [data-testid="stMarkdownContainer"] h4 { color: #444; }
""" + ACCESS_CSS + """
</style>
"""
_clock = component(
    "vae_talk_clock",
    html='<div class="vae-talk-clock"><span class="elapsed">0:00</span><span class="label">elapsed</span>'
         '<span class="now"></span><button type="button" title="Start the clock again at 0:00">Restart</button></div>',
    css=".vae-talk-clock{display:flex;align-items:baseline;gap:.6rem;font-variant-numeric:tabular-nums}"
        ".vae-talk-clock .elapsed{font-size:2.2rem;font-weight:700}.vae-talk-clock .label{color:#666}"
        ".vae-talk-clock .now{font-size:1.2rem;color:#444;margin-left:.6rem}"
        ".vae-talk-clock button{font:inherit;font-size:.85rem;padding:.2rem .6rem;border-radius:.4rem;"
        "border:1px solid #bbb;background:#fff;cursor:pointer}",
    js=(Path(__file__).parent / "js" / "talk_clock.js").read_text())


def _describe(scene: Scene) -> str:
    """Where a scene goes: its page, model and view, in one line."""
    parts = [f"page `{scene.page}`"]
    if scene.model:
        parts.append(f"model `{scene.model}`")
    parts += [f"{k} = {v}" for k, v in scene.params.items()]
    return " · ".join(parts)


def _card(label: str, scene: Scene | None, key: str) -> None:
    with st.container(border=True, key=key):
        if scene is None:
            st.markdown(f"#### {label}\nThe end of the deck.")
            return
        st.markdown(f"#### {label}: {scene.title}")
        st.caption(_describe(scene))
        st.markdown(scene.notes or "_No notes for this scene._")


def _go(index: int) -> None:
    st.session_state[INDEX] = index


def speaker_view() -> None:
    through_router()  # a server's very first request may come straight here: app.py gives the page its title
    st.markdown(SPEAKER_CSS, unsafe_allow_html=True)
    deck: Deck | None = deck_for_speaker(st.query_params.get("talk"), st.query_params.get("deck"))
    if deck is None:
        st.error("This speaker view's deck is not on the server any more (it was restarted, or the link is "
                 "incomplete). Open the speaker view again with the 'Speaker view' button of the presenter window.")
        return
    tid = talk_id(deck)
    if st.session_state.get(TALK) != tid:
        st.session_state[TALK] = tid
        number = url_state.parse_index(st.query_params.get("scene"), len(deck) + 1)
        st.session_state[INDEX] = (number or 1) - 1
    index = step(int(st.session_state.get(INDEX, 0)), 0, len(deck))

    top = st.columns([4, 3, 1.2, 1.2], vertical_alignment="center")
    with top[1]:
        _clock(key="speaker_clock", data=component_data({"talk": tid}), height="content")
    with top[0]:
        events = presenter_link(talk=tid, scene=index, key="speaker_link")
    moved = index
    if events.steps:
        moved = step(index, events.steps, len(deck))
    if events.goto is not None:
        moved = step(events.goto, 0, len(deck))
    if moved != index:
        st.session_state[INDEX] = moved
        st.rerun()  # drawn again on the new scene, which the projected window then follows
    top[0].markdown(f"**{deck.title}** · Scene **{index + 1}** of {len(deck)}")
    top[2].button("◀ Previous", on_click=_go, args=(index - 1,), disabled=index == 0, width="stretch",
                  key="speaker_prev", help="PageUp, Left arrow or P")
    top[3].button("Next ▶", on_click=_go, args=(index + 1,), disabled=index >= len(deck) - 1, width="stretch",
                  type="primary", key="speaker_next", help="PageDown, Right arrow or N")
    url_state.write("scene", index + 1)

    now, nxt = st.columns([3, 2], gap="medium")
    with now:
        _card("Now", deck.scenes[index], "speaker_card_now")
    with nxt:
        _card("Next", deck.scenes[index + 1] if index + 1 < len(deck) else None, "speaker_card_next")
    with st.container(border=True, key="speaker_class"):
        st.markdown("#### The class")
        class_controls(deck.scenes[index], index, st.query_params.get("deck") or "", where="speaker")
        class_strip("speaker")
    with st.expander("All scenes", icon=":material/list:"):
        for i, scene in enumerate(deck.scenes):
            st.button(f"{i + 1}. {scene.title}", key=f"speaker_jump_{i}", on_click=_go, args=(i,),
                      type="primary" if i == index else "secondary")
    st.caption("This window follows the projected one and leads it: step here or there, with the buttons or a "
               "clicker (PageDown / PageUp), and both move. The notes are shown only here.")
