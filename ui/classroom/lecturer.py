"""The lecturer's controls of the class: in the presenter's scene bar (a "Class" popover and the Join
dialog) and in the speaker view (the same controls, another window of the same browser, the same room).

Open and close sending, clear, remove one submission, reveal a poll's computed answer, show or hide the
class's layer on the map, close the room. Every action goes to the store; the projected window and the
phones see it through their followers within a second."""
from __future__ import annotations

from typing import Callable

import numpy as np
import streamlit as st

from services.room import RoomError, RoomKeys
from services.room.codes import display_code
from services.scenes import Scene
from vae_core.analysis.class_answers import AnswerError

from ..state import classroom as state
from .answers import scene_answer
from .join import join_panel
from .room import close_lecturer_room, lecturer_room, open_scene_activity, room_store

KIND_WORDS = {"draw": "Draw a digit", "place": "Find a place", "poll": "Poll"}


def _act(what: str, action: Callable[[], object]) -> None:
    """Run a lecturer action; a refusal is shown (the store changed nothing)."""
    try:
        action()
    except (RoomError, AnswerError) as e:
        st.session_state["class_lecturer_error"] = f"{what}: {getattr(e, 'message', str(e))}"


@st.dialog("Join the class", width="large")
def join_dialog(deck_name: str = "", index: int = 0) -> None:
    keys = lecturer_room(create=True, deck=deck_name, scene=index)
    f = state.follower(keys.code)
    f.poll(room_store())
    join_panel(keys.code, f.members)


def _reveal(keys: RoomKeys, scene: Scene) -> None:
    choice, answer = scene_answer(scene)
    room_store().reveal(keys.code, keys.secret, {"choice": choice, "note": answer.note})


def _scene_activity_is_open(follower, index: int, scene: Scene | None) -> bool:
    act = follower.activity
    return act is not None and scene is not None and scene.activity is not None and act.scene == index \
        and act.kind == scene.activity.kind


def controls(scene: Scene | None, index: int, deck_name: str = "", where: str = "bar") -> None:
    """The class's controls for the lecturer's room (none yet: a button that makes it)."""
    error = st.session_state.pop("class_lecturer_error", None)
    if error:
        st.error(error)
    keys = lecturer_room()
    if keys is None:
        st.caption("No class room is open. Join makes one: the class scans its QR code with their phones.")
        if st.button("Join: show the QR code", key=f"class_join_{where}", icon=":material/qr_code_2:",
                     type="primary", width="stretch"):
            join_dialog(deck_name, index)
        return
    store, f = room_store(), state.follower(keys.code)
    f.poll(store)
    act = f.activity
    st.markdown(f"**Room {display_code(keys.code)}** · {f.members} joined")
    if st.button("Join: show the QR code", key=f"class_join_{where}", icon=":material/qr_code_2:", width="stretch"):
        join_dialog(deck_name, index)
    if scene is not None and scene.activity is not None and not _scene_activity_is_open(f, index, scene):
        st.button(f"Open this scene's activity ({KIND_WORDS[scene.activity.kind]})", key=f"class_open_{where}",
                  icon=":material/play_arrow:", width="stretch",
                  on_click=_act, args=("Opening the activity", lambda: open_scene_activity(keys, scene)))
    if act is None:
        st.caption("No activity: a scene with one opens it when you arrive.")
    else:
        what = act.spec.get("question") or act.spec.get("prompt") or KIND_WORDS[act.kind]
        st.markdown(f"**{KIND_WORDS[act.kind]}** · {len(f.live)} answers · sending "
                    f"{'open' if act.submissions_open else 'closed'}  \n{what}")
        c1, c2 = st.columns(2)
        c1.button("Close sending" if act.submissions_open else "Open sending", key=f"class_sending_{where}",
                  icon=":material/lock:" if act.submissions_open else ":material/lock_open:", width="stretch",
                  on_click=_act, args=("Sending", lambda: store.set_submissions(keys.code, keys.secret,
                                                                               not act.submissions_open)))
        c2.button("Clear all", key=f"class_clear_{where}", icon=":material/delete_sweep:", width="stretch",
                  on_click=_act, args=("Clearing", lambda: store.clear(keys.code, keys.secret)))
        if act.kind == "poll" and act.answer is None and scene is not None and scene.activity is not None \
                and scene.activity.answer and act.scene == index:
            st.button("Reveal the answer (computed from the model)", key=f"class_reveal_{where}",
                      icon=":material/visibility:", type="primary", width="stretch",
                      on_click=_act, args=("Revealing the answer", lambda: _reveal(keys, scene)))
        st.button("End the activity", key=f"class_end_{where}", icon=":material/stop:", width="stretch",
                  on_click=_act, args=("Ending the activity", lambda: store.close_activity(keys.code, keys.secret)))
    shown = f.state.layer_shown if f.state is not None else True
    st.button("Hide the class on the map" if shown else "Show the class on the map", key=f"class_layer_{where}",
              icon=":material/layers_clear:" if shown else ":material/layers:", width="stretch",
              on_click=_act, args=("The class layer", lambda: store.set_layer(keys.code, keys.secret, not shown)))
    if act is not None and act.kind in ("draw", "place") and f.live:
        submissions_list(keys, f, where)
    st.button("Close the room", key=f"class_close_{where}", icon=":material/logout:", width="stretch",
              on_click=close_lecturer_room, help="The phones say the class activities are over; nothing more can "
                                                 "be sent. Join makes a new room.")


def remove(keys: RoomKeys, submission_id: int) -> None:
    _act("Removing", lambda: room_store().remove_submission(keys.code, keys.secret, int(submission_id)))
    if st.session_state.get(state.PICKED) == submission_id:
        st.session_state.pop(state.PICKED, None)


def submissions_list(keys: RoomKeys, f, where: str) -> None:
    """The class's drawings (or points) as thumbnails, each removable in one click."""
    from ..images import png_bytes

    with st.expander(f"The class's answers ({len(f.live)})", icon=":material/grid_view:"):
        for sub in f.submissions()[-60:]:
            c1, c2 = st.columns([1, 3], vertical_alignment="center")
            if sub.kind == "draw":
                c1.image(png_bytes(sub.image_array()), width=48, alt=f"drawing #{sub.id} by {sub.alias}")
            else:
                c1.caption(", ".join(f"{v:.2f}" for v in sub.z[:2]))
            c2.button(f"Remove #{sub.id} ({sub.alias})", key=f"class_rm_{where}_{sub.id}", width="stretch",
                      icon=":material/close:", on_click=remove, args=(keys, sub.id))


def decoded_grid(loaded, subs) -> np.ndarray | None:
    """The decoder's images of the class's points z, (N, C, H, W), computed once per set of points."""
    from vae_core.analysis.latent import decode_batch

    if not subs:
        return None
    z = np.array([s.z for s in subs], np.float32)
    return decode_batch(loaded.checkpoint.model, z)


def class_bar(col, deck, index: int, deck_name: str) -> None:
    """The presenter's bar: the room follows the projected scene (a scene with an activity opens it), and the
    "Class" popover holds the controls."""
    from .room import sync_scene

    scene = deck.scenes[index] if deck is not None and 0 <= index < len(deck) else None
    if scene is not None:
        problem = sync_scene(deck_name, deck.title, index, scene)
        if problem:
            st.toast(problem, icon=":material/error:")
    with col:
        with st.popover("Class", icon=":material/groups:", width="stretch",
                        help="The class on their phones: the QR code to join, the activity, its answers."):
            controls(scene, index, deck_name, "bar")
