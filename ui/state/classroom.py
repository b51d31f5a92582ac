"""The class room's state in a session: the lecturer's follower of their room and the submission they
picked on the map; the student's membership, follower and last sending."""
from __future__ import annotations

import streamlit as st

from services.room.follower import RoomFollower

FOLLOWER = "class_follower"  # the lecturer's RoomFollower of their room
PICKED = "class_picked"  # the submission id the lecturer clicked on the map (or in the list)
JOINED = "class_joined"  # the student's services.room.Joined, by room code
STUDENT_FOLLOWER = "class_student_follower"
SENT = "class_sent"  # the student's last acknowledged submission: {"id", "kind", "mu", "logvar", "z", "choice"}
REFUSED = "class_refused"  # the store's last refusal on this phone: (code, message)
Z = "class_z"  # the student's point z as the sliders last released it
DRAWING = "class_drawing"  # the canvas's drawing (a PNG data URL)
CODE_INPUT = "class_code_input"


def follower(code: str, key: str = FOLLOWER) -> RoomFollower:
    """The session's follower of room ``code`` (a new one when the room changed)."""
    f = st.session_state.get(key)
    if not isinstance(f, RoomFollower) or f.code != code:
        f = RoomFollower(code)
        st.session_state[key] = f
    return f
