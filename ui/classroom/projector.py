"""What the projected window (and the speaker view) shows of the class, following the room without
reloads: a fragment that reads the events after its cursor every half second and draws the strip under
the scene bar: the room's code and members, the activity and its answers, a poll's bars (live) and its
revealed answer, the decoded grid of the class's points z, and the drawing the lecturer picked on the map
beside its reconstruction (removable in one click)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from services.room.codes import display_code
from vae_core.render.images import tile, to_uint8, upscale

from ..frozen_figure import kept
from ..images import png_bytes
from ..state import classroom as state
from .lecturer import KIND_WORDS, decoded_grid, remove
from .room import held_follower, model_by_name

EVERY = 0.5  # seconds between two reads of the room's events
# On the projector the class's line, the poll's bars, the grid of points and a picked drawing float over the
# page's lower right corner (the pointer's decoder column), so the scene's figure keeps the height it was fitted to.
PANEL_CSS = """<style>
.st-key-class_strip_projector { position: fixed; right: 1.2rem; bottom: 1rem; width: min(34vw, 40rem); z-index: 60;
  max-height: calc(100vh - 7rem); overflow: auto; background: #fff; border: 2px solid #c7c9d1; border-radius: .6rem;
  padding: .6rem .8rem 1.2rem; box-shadow: 0 4px 18px rgba(0,0,0,.18); height: auto !important; flex: none !important;
  gap: .4rem; }
.st-key-class_strip_projector [data-testid="stMarkdownContainer"] { margin-bottom: 0 !important; }
.st-key-class_strip_projector [data-testid="stMarkdownContainer"] p { margin: 0; }
</style>

"""
BAR_ANSWER, BAR_OTHER = "#1b7f3b", "#5b6b8c"


def poll_figure(choices: list[str], votes: tuple[int, ...], answer: int | None, font: int = 18) -> go.Figure:
    """Votes per choice as horizontal bars; the revealed answer is marked by a tick in its label and a
    hatched bar (not by colour alone)."""
    labels = [("✓ " if i == answer else "") + c for i, c in enumerate(choices)]
    fig = go.Figure(go.Bar(
        x=list(votes), y=labels, orientation="h", text=[str(v) for v in votes], textposition="outside",
        marker=dict(color=[BAR_ANSWER if i == answer else BAR_OTHER for i in range(len(choices))],
                    pattern=dict(shape=["/" if i == answer else "" for i in range(len(choices))]))))
    fig.update_layout(height=70 + 48 * len(choices), margin=dict(l=10, r=40, t=10, b=10), font=dict(size=font),
                      yaxis=dict(autorange="reversed"), xaxis=dict(rangemode="tozero", dtick=max(1, max(votes, default=1) // 5)),
                      showlegend=False)
    return fig


@st.cache_data(max_entries=8, show_spinner=False)
def _grid_png(model_name: str, points: tuple[tuple[float, ...], ...]) -> bytes | None:
    """The decoded images of the class's points as one PNG, computed once per set of points."""
    loaded = model_by_name(model_name)
    if loaded is None or not points:
        return None

    class Point:  # what decoded_grid reads of a submission
        def __init__(self, z):
            self.z = z

    images = to_uint8(decoded_grid(loaded, [Point(z) for z in points]))  # (N, H, W[, 3])
    grid = tile(images, ncols=min(10, len(images)), pad=1, pad_value=255)
    return png_bytes(upscale(grid, max(1, 84 // loaded.config.image_shape[1])))


def _picked(keys, f) -> None:
    sid = st.session_state.get(state.PICKED)
    sub = f.live.get(sid) if sid is not None else None
    if sub is None or sub.kind != "draw":
        return
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="center")
    c1.image(png_bytes(upscale(sub.image_array(), 4)), caption=f"#{sub.id} by {sub.alias}",
             alt=f"drawing #{sub.id} by {sub.alias}")
    rec = sub.reconstruction_array()
    if rec is not None:
        c2.image(png_bytes(upscale(rec, 4)), caption="decode(mu)",
                 alt=f"drawing #{sub.id} as the model reconstructs it, decode(mu)")
    sigma = np.exp(0.5 * np.asarray(sub.logvar))
    c3.markdown("mu = (" + ", ".join(f"{v:.2f}" for v in sub.mu[:4]) + (", ..." if len(sub.mu) > 4 else "") + ")  \n"
                "sigma = (" + ", ".join(f"{v:.2f}" for v in sigma[:4]) + (", ..." if len(sigma) > 4 else "") + ")")
    b1, b2 = c3.columns(2)
    b1.button("Remove it", key="class_picked_remove", icon=":material/delete:", type="primary",
              on_click=remove, args=(keys, sub.id), width="stretch")
    b2.button("Close", key="class_picked_close", on_click=st.session_state.pop, args=(state.PICKED, None),
              width="stretch")


def _activity_line(f) -> str:
    act = f.activity
    if act is None:
        return "no activity"
    n = len(f.live)
    counted = {"draw": f"{n} drawings", "place": f"{n} points", "poll": f"{n} votes"}[act.kind]
    sending = "" if act.submissions_open else " · sending closed"
    return f"{KIND_WORDS[act.kind]} · {counted}{sending}"


@st.fragment(run_every=EVERY)
def class_strip(where: str = "projector") -> None:
    """The class under the scene bar (nothing when this browser holds no open room)."""
    held = held_follower()
    if held is None:
        return
    keys, f = held
    act = f.activity
    with st.container(key=f"class_strip_{where}"):  # the style rides with the line (no element of its own)
        st.markdown((PANEL_CSS if where == "projector" else "")
                    + f"**Class {display_code(keys.code)}** · {f.members} joined · {_activity_line(f)}"
                    + ("" if f.state.layer_shown else " · hidden on the map"), unsafe_allow_html=True)
        if act is not None:
            _activity_panel(keys, f, act, where)


def _activity_panel(keys, f, act, where: str) -> None:
    """A poll's question and bars (with the revealed answer), the grid of the class's points, a picked drawing."""
    if act.kind == "poll":
        st.markdown(f"**{act.spec['question']}**")
        answer = act.answer.get("choice") if act.answer else None
        choices, votes, font = tuple(act.spec["choices"]), tuple(f.votes() or ()), 20 if where == "projector" else 14
        # redrawn every half second: built again only when a vote or the answer changed it
        st.plotly_chart(kept(("class poll", choices, votes, answer, font),
                             lambda: poll_figure(list(choices), votes, answer, font=font)),
                        key=f"class_poll_{where}", config={"displayModeBar": False, "staticPlot": True})
        if act.answer and act.answer.get("note"):
            st.success(f"Answer: {act.spec['choices'][answer]}. {act.answer['note']}")
    elif act.kind == "place" and f.live and f.state.layer_shown:
        png = _grid_png(act.spec.get("model", ""), tuple(tuple(s.z) for s in f.submissions()))
        if png is not None:
            st.image(png, caption=f"The decoder's images of the class's {len(f.live)} points z",
                     alt=f"a grid of the {len(f.live)} images the decoder makes of the points the class placed")
    if act.kind == "draw":
        _picked(keys, f)
