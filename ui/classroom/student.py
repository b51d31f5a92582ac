"""The student's page on a phone (``/class?room=K7QM2X``): join with the room code (no account, no name: a
random alias), follow the lecturer's scene, and answer the activity: draw a digit (encoded here with the
lecture's model), find a point z (decoded live in the phone's browser), or vote. It says "received" only
after the store acknowledged; every refusal shows the store's own message and changes nothing.

The page follows the room in a fragment that reads the events after its cursor every 1.5 s and reruns the
page only when something the phone shows changed (the scene, the activity, sending opened or closed, an
answer revealed, the room closed, this phone's submission removed)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from services.room import Joined, RoomError
from services.room.held import held_membership, hold_membership
from services.room.codes import display_code
from vae_core.data.preprocess import PreprocessError, decode_data_url, prepare, read_picture
from vae_core.render.images import to_uint8

from ..draw_component import draw_canvas
from ..draw_ui import dataset_style, encode_one
from ..identity import browser_key
from ..images import image_source, position_map_data
from ..live_decoder import live_sliders
from ..scenes import deck_for_speaker
from ..state import classroom as state
from .room import model_by_name, room_store

EVERY = 1.5  # seconds between two reads of the room's events on a phone
PHONE_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 460px !important; padding: 0.8rem 0.9rem 3rem !important; }
html { font-size: 17px; }
.st-key-class_student button, .st-key-class_join_form button { min-height: 3.1rem; font-size: 1.15rem; }
.st-key-class_student [data-testid="stImage"] img { image-rendering: pixelated; }
</style>
"""


def _joined(code: str | None) -> Joined | None:
    """This phone's membership of room ``code``: the session's, else (after a reload) the one its browser kept."""
    if not code:
        return None
    joined = (st.session_state.get(state.JOINED) or {}).get(code)
    if joined is None:
        joined = held_membership(browser_key(), code)
        if joined is not None:
            st.session_state.setdefault(state.JOINED, {})[code] = joined
    return joined


def _refuse(e: RoomError) -> None:
    st.session_state[state.REFUSED] = (e.code, e.message)


def _join(typed: str) -> Joined | None:
    try:
        joined = room_store().join(typed, browser_key())
    except RoomError as e:
        _refuse(e)
        return None
    st.session_state.setdefault(state.JOINED, {})[joined.code] = joined
    hold_membership(browser_key(), joined)  # a reload keeps the alias and the answers
    st.session_state.pop(state.REFUSED, None)
    st.session_state.pop(state.SENT, None)
    st.query_params["room"] = joined.code
    return joined


def _join_typed() -> None:
    _join(st.session_state.get(state.CODE_INPUT) or "")


def join_ui(typed: str | None) -> Joined | None:
    """Join the room the link names (once per session); else, or when that was refused, the form to type a
    code, with the store's message."""
    tried = st.session_state.setdefault("class_tried_codes", set())
    if typed and typed not in tried:
        tried.add(typed)
        joined = _join(typed)
        if joined is not None:
            return joined
    refused = st.session_state.get(state.REFUSED)
    st.markdown("## Join the class")
    if refused:
        st.error(refused[1], icon=":material/error:")
    with st.container(key="class_join_form"):
        st.text_input("Room code (on the projector)", key=state.CODE_INPUT, placeholder="K7Q-M2X", max_chars=12)
        st.button("Join", type="primary", width="stretch", on_click=_join_typed, key="class_join_button")
    st.caption("No account and no name: you get a random alias. Your drawings, points and votes are shown to the "
               "class without your name.")
    return None


def _signature(f, number: int) -> tuple:
    """What the phone shows of the room: when it changes, the page is drawn again."""
    s, act = f.state, f.activity
    mine = f.mine(number)
    return (s.open, s.scene, None if act is None else (act.id, act.submissions_open, act.answer is not None),
            None if mine is None else mine.id, number in f.removed_members)


@st.fragment(run_every=EVERY)
def _follow(joined: Joined, seen: tuple) -> None:
    f = state.follower(joined.code, state.STUDENT_FOLLOWER)
    try:
        f.poll(room_store())
    except RoomError:
        return
    if _signature(f, joined.member.number) != seen:
        st.rerun(scope="app")


def _scene_title(room_state) -> str:
    deck = deck_for_speaker(None, room_state.deck) if room_state.deck else None
    if deck is not None and room_state.scene < len(deck):
        return f"Scene {room_state.scene + 1}: {deck.scenes[room_state.scene].title}"
    return f"Scene {room_state.scene + 1}"


def student_page() -> None:
    st.markdown(PHONE_CSS, unsafe_allow_html=True)
    typed = st.query_params.get("room")
    joined = _joined(_normal(typed))
    if joined is None:
        joined = join_ui(typed)
        if joined is None:
            return
    f = state.follower(joined.code, state.STUDENT_FOLLOWER)
    try:
        f.poll(room_store())
    except RoomError as e:
        st.error(e.message)
        return
    number = joined.member.number
    _follow(joined, _signature(f, number))
    with st.container(key="class_student"):
        st.caption(f"Room {display_code(joined.code)} · you are **{joined.member.alias}** (#{number})")
        if not f.state.open:
            st.info(f"Room {display_code(joined.code)} is closed: the lecture's class activities are over. Thank you "
                    "for taking part!", icon=":material/waving_hand:")
            return
        if number in f.removed_members:
            st.error("The lecturer has removed you from this room, so you cannot send anything.")
            return
        st.markdown(f"### {_scene_title(f.state)}")
        act = f.activity
        if act is None:
            st.info("Nothing to do yet: watch the projector. This page changes by itself when the lecturer opens an "
                    "activity.", icon=":material/hourglass_empty:")
            return
        refused = st.session_state.pop(state.REFUSED, None)
        if refused:
            st.error(refused[1], icon=":material/error:")
        if act.kind == "draw":
            draw_activity(joined, f, act)
        elif act.kind == "place":
            place_activity(joined, f, act)
        else:
            poll_activity(joined, f, act)


def _normal(code: str | None) -> str | None:
    return None if not code else code.replace("-", "").replace(" ", "").upper()


def _sent(kind: str, act) -> dict | None:
    sent = st.session_state.get(state.SENT)
    return sent if sent and sent.get("activity") == act.id and sent.get("kind") == kind else None


def _status(f, act, what: str) -> dict | None:
    """The phone's last sending to this activity, and what became of it."""
    sent = _sent(act.kind, act)
    if sent is None:
        return None
    if sent["id"] in f.live:
        st.success(f"Received: your {what} is #{sent['id']} on the projector.", icon=":material/check_circle:")
    else:
        st.warning(f"Your {what} is no longer on the projector (the lecturer removed or cleared it). You can send "
                   "another.", icon=":material/info:")
    return sent


def _closed_note(act) -> None:
    if not act.submissions_open:
        st.info("The lecturer has closed sending for now.", icon=":material/lock:")


# ---------------------------------------------------------------- draw


def _drawing(loaded, drawn: str | None):
    """(image (H, W) uint8, mu, logvar, reconstruction) of the canvas's drawing, encoded with the lecture's
    model; an empty canvas gives a blank image (the store says what is wrong with it)."""
    ckpt = loaded.checkpoint
    c, h, w = ckpt.config.image_shape
    blank = np.zeros((h, w), np.uint8)
    if not drawn:
        return blank, np.zeros(ckpt.config.latent_dim), np.zeros(ckpt.config.latent_dim), None
    grey = read_picture(decode_data_url(drawn))
    try:
        x = prepare(grey, dataset_style(loaded)[0], c)
    except PreprocessError:
        if float(grey.max() - grey.min()) < 0.05:  # nothing drawn
            return blank, np.zeros(ckpt.config.latent_dim), np.zeros(ckpt.config.latent_dim), None
        raise
    enc = encode_one(ckpt, x)
    image = to_uint8(x)[0]
    rec = to_uint8(enc.recon)[0]
    if image.ndim == 3:  # colour: the store keeps grey drawings
        image, rec = image.mean(-1).astype(np.uint8), rec.mean(-1).astype(np.uint8)
    return image, enc.mu, enc.logvar, rec


def send_drawing(joined: Joined, model_name: str) -> None:
    loaded = model_by_name(model_name)
    if loaded is None:
        _refuse(RoomError("no_model", f"This server does not have the lecture's model {model_name!r}: tell the "
                                      "lecturer."))
        return
    try:
        image, mu, logvar, rec = _drawing(loaded, st.session_state.get(state.DRAWING))
    except PreprocessError as e:
        _refuse(RoomError("bad_image", f"Your drawing could not be used: {e}."))
        return
    try:
        sub = room_store().submit_drawing(joined.code, joined.member_id, image, mu, logvar, rec)
    except RoomError as e:
        _refuse(e)
        return
    st.session_state[state.SENT] = {"id": sub.id, "activity": sub.activity, "kind": "draw",
                                    "mu": list(map(float, mu)), "logvar": list(map(float, logvar))}


def _landing(loaded, sent: dict) -> None:
    """A small map of the test set with the phone's own drawing on it (and its 1-sigma ellipse)."""
    ckpt = loaded.checkpoint
    if ckpt.sample is None or len(ckpt.sample.labels) == 0 or ckpt.config.latent_dim < 2:
        return
    dims = loaded.default_axes() if ckpt.config.latent_dim > 2 else (0, 1)
    names = tuple(ckpt.class_names or [str(c) for c in range(ckpt.config.num_classes)])
    canvas = loaded.position_canvas(tuple(dims), names)
    mu, sigma = np.asarray(sent["mu"]), np.exp(0.5 * np.asarray(sent["logvar"]))
    ring = (float(mu[dims[0]]), float(mu[dims[1]]), float(sigma[dims[0]]), float(sigma[dims[1]]))

    def picture():  # drawn and encoded once per drawing (10 ms), not at every run of the phone's page
        png = canvas.png(highlight=ring[:2], ellipse=ring[2:])
        return image_source(png, canvas.base.width)
    st.image(loaded.recent(("class landing", tuple(dims), names, ring), picture),
             caption=f"Where your drawing landed: the ring is mu, its ellipse 1 sigma, among the test images "
                     f"(z{dims[0] + 1}, z{dims[1] + 1}).", width="stretch",
             alt=f"the test images' means on z{dims[0] + 1} and z{dims[1] + 1}, coloured by class, with a ring at your "
                 f"drawing's mu = ({ring[0]:.2f}, {ring[1]:.2f})")


def draw_activity(joined: Joined, f, act) -> None:
    st.markdown(f"**{act.spec.get('prompt') or 'Draw a digit and send it.'}**")
    _closed_note(act)
    sent = _status(f, act, "drawing")
    model = act.spec.get("model", "")
    draw_canvas("class_canvas", state.DRAWING, display=300, brush=24)
    st.button("Send my drawing", type="primary", width="stretch", key="class_send_drawing",
              on_click=send_drawing, args=(joined, model), disabled=not act.submissions_open,
              icon=":material/send:")
    loaded = model_by_name(model)
    if sent is not None and loaded is not None:
        _landing(loaded, sent)


# ---------------------------------------------------------------- place


def send_z(joined: Joined, latent_dim: int) -> None:
    z = st.session_state.get(state.Z)
    if z is None:
        z = [0.0] * latent_dim
    try:
        sub = room_store().submit_z(joined.code, joined.member_id, z)
    except RoomError as e:
        _refuse(e)
        return
    st.session_state[state.SENT] = {"id": sub.id, "activity": sub.activity, "kind": "place", "z": list(sub.z)}


def place_activity(joined: Joined, f, act) -> None:
    target = act.spec.get("target")
    st.markdown(f"**{act.spec.get('prompt') or 'Move the sliders until the image looks right, then send your point.'}**"
                + (f"  \nTarget: **{target}**" if target else ""))
    _closed_note(act)
    _status(f, act, "point")
    loaded = model_by_name(act.spec.get("model", ""))
    if loaded is None:
        st.error(f"This server does not have the lecture's model {act.spec.get('model')!r}: tell the lecturer.")
        return
    D = loaded.config.latent_dim
    z = np.asarray(st.session_state.get(state.Z) or [0.0] * D, np.float64)
    if len(z) != D:
        z = np.zeros(D)
    dims = list(range(min(D, 10)))
    posmap = None
    ckpt = loaded.checkpoint
    if D >= 2 and ckpt.sample is not None and len(ckpt.sample.labels):
        names = tuple(ckpt.class_names or [str(c) for c in range(ckpt.config.num_classes)])
        axes = (0, 1) if D == 2 else loaded.default_axes()
        posmap = position_map_data(loaded.position_canvas(tuple(axes), names), tuple(axes),
                                   caption="Your point among the test images", alt="map of the test images")
    got = live_sliders(loaded, z, dims, [f"z{d + 1}" for d in dims], size=260, position_map=posmap,
                       prior=ckpt.prior if loaded.variant.has_prior else None, key="class_place_sliders")
    if got is not None and len(got) == D:
        st.session_state[state.Z] = [float(v) for v in got]
    z_now = st.session_state.get(state.Z) or [0.0] * D
    st.caption("z = (" + ", ".join(f"{v:.2f}" for v in z_now) + ")")
    st.button("Send this point", type="primary", width="stretch", key="class_send_z", on_click=send_z,
              args=(joined, D), disabled=not act.submissions_open, icon=":material/send:")


# ---------------------------------------------------------------- poll


def vote(joined: Joined, choice: int) -> None:
    try:
        sub = room_store().submit_vote(joined.code, joined.member_id, choice)
    except RoomError as e:
        _refuse(e)
        return
    st.session_state[state.SENT] = {"id": sub.id, "activity": sub.activity, "kind": "poll", "choice": choice}


def poll_activity(joined: Joined, f, act) -> None:
    choices = act.spec["choices"]
    st.markdown(f"**{act.spec['question']}**")
    if act.spec.get("prompt"):
        st.caption(act.spec["prompt"])
    sent = _sent("poll", act)
    mine = sent["choice"] if sent is not None and sent["id"] in f.live else None
    if act.answer is not None:
        right = act.answer.get("choice")
        if right is not None:
            st.success(f"The answer: **{choices[right]}**. {act.answer.get('note', '')}", icon=":material/lightbulb:")
        if mine is not None:
            st.markdown(f"You chose **{choices[mine]}**: " + ("right!" if mine == right else "not this time."))
        return
    _closed_note(act)
    if mine is not None:
        st.success(f"Received: your vote is **{choices[mine]}**. You can change it until the poll closes.",
                   icon=":material/check_circle:")
    for i, text in enumerate(choices):
        st.button(("✓ " if i == mine else "") + text, key=f"class_vote_{i}", width="stretch", on_click=vote,
                  args=(joined, i), type="primary" if i == mine else "secondary", disabled=not act.submissions_open)
