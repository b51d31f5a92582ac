"""The class in the app, headless: the student page's states (joining by a link or a typed code, a made-up
code, a closed room, waiting, drawing, placing a point, voting, a refusal shown with the store's message), the
follower that reads only new events, the lecturer's room held by the browser, the address the QR code holds,
and the lecturer revealing a poll's answer computed from the model. A real SQLite store in a temporary home."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from services.room import RoomKeys, open_store
from services.room.follower import RoomFollower
from services.room.held import held_room, hold_room, release_room
from ui.classroom.join import PublicUrlError, public_base, qr_svg, student_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_page_draw import data_url  # noqa: E402
from test_preprocess import stroke_drawing  # noqa: E402


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VAE_CLASS_STORE", raising=False)
    monkeypatch.delenv("VAE_PUBLIC_URL", raising=False)
    return tmp_path / "home"


def phone(code: str | None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at._page_hash = calc_hash("class")  # st.navigation's hash of the page's url_path (switch_page needs a run first)
    if code is not None:
        at.query_params["room"] = code
    at.run()
    assert not at.exception
    return at


def texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [e.value for e in at.error] + [i.value for i in at.info]
                    + [s.value for s in at.success] + [w.value for w in at.warning] + [c.value for c in at.caption])


def test_a_link_joins_with_a_random_alias_and_the_phone_follows_the_scene():
    store = open_store()
    keys = store.create_room(deck="intro-lecture", scene=13)
    at = phone(keys.code)
    members = store.snapshot(keys.code).members
    assert len(members) == 1 and members[0].alias in texts(at), texts(at)[-600:]
    assert "Scene 14: Your sevens on the map" in texts(at) and "Nothing to do yet" in texts(at)


def test_a_made_up_code_and_a_closed_room_say_so_and_a_typed_code_joins():
    at = phone("ZZZ-ZZ2")
    assert "No room has the code ZZZ-ZZ2" in texts(at)
    store = open_store()
    keys = store.create_room()
    at.text_input(key="class_code_input").set_value(keys.code.lower()).run()
    at.button(key="class_join_button").click().run()
    assert "you are" in texts(at) and at.query_params["room"] == keys.code
    closed = store.create_room()
    store.close_room(closed.code, closed.secret)
    assert "is closed" in texts(phone(closed.code))
    store.close_room(keys.code, keys.secret)
    assert "is closed" in texts(at.run())


def test_a_drawing_is_encoded_sent_once_and_refused_when_empty_or_too_soon():
    store = open_store()
    keys = store.create_room()
    store.open_activity(keys.code, keys.secret, "draw", {"latent_dim": 2, "model": "mnist5k-2d", "prompt": "Draw a 7"})
    at = phone(keys.code)
    assert "Draw a 7" in texts(at)
    at.button(key="class_send_drawing").click().run()
    assert "Your drawing is empty" in texts(at) and store.snapshot(keys.code).submissions == ()
    at.session_state["class_drawing"] = data_url(stroke_drawing(7))
    at.button(key="class_send_drawing").click().run()
    subs = store.snapshot(keys.code).submissions
    assert len(subs) == 1 and f"Received: your drawing is #{subs[0].id}" in texts(at)
    assert subs[0].image_array().shape == (28, 28) and subs[0].reconstruction_array().shape == (28, 28)
    assert len(at.image) == 1  # where it landed, on the phone's small map
    at.button(key="class_send_drawing").click().run()
    assert "wait" in texts(at) and "send again" in texts(at)
    assert store.snapshot(keys.code).submissions == subs  # the refusal changed nothing
    store.remove_submission(keys.code, keys.secret, subs[0].id)
    assert "no longer on the projector" in texts(at.run())


def test_a_point_z_and_a_vote_are_sent_and_a_closed_poll_refuses():
    store = open_store()
    keys = store.create_room()
    store.open_activity(keys.code, keys.secret, "place", {"latent_dim": 2, "model": "mnist5k-2d", "target": "3"})
    at = phone(keys.code)
    at.session_state["class_z"] = [0.5, -1.25]
    at.button(key="class_send_z").click().run()
    assert store.snapshot(keys.code).submissions[0].z == (0.5, -1.25) and "Received: your point" in texts(at)
    store.open_activity(keys.code, keys.secret, "poll", {"question": "Which?", "choices": ["1", "3", "7"]})
    at.run()
    at.button(key="class_vote_2").click().run()  # within 2 s of the point: refused, nothing counted
    assert "wait" in texts(at) and store.snapshot(keys.code).votes == (0, 0, 0)
    deadline = time.monotonic() + 30
    while store.snapshot(keys.code).votes != (0, 0, 1):  # the store's pace, waited for as a condition
        assert time.monotonic() < deadline, texts(at)
        time.sleep(0.2)
        at.button(key="class_vote_2").click().run()
    assert "your vote is **7**" in texts(at)
    store.set_submissions(keys.code, keys.secret, False)
    at.run()
    assert at.button(key="class_vote_0").disabled and "closed sending" in texts(at)


def test_the_follower_reads_only_the_events_after_its_cursor():
    store = open_store()
    keys = store.create_room()
    f = RoomFollower(keys.code)
    assert f.poll(store) == {"snapshot"}
    assert f.poll(store) == set()  # nothing happened
    store.open_activity(keys.code, keys.secret, "poll", {"question": "Which?", "choices": ["a", "b"]})
    a, b = store.join(keys.code, "a"), store.join(keys.code, "b")
    s1 = store.submit_vote(keys.code, a.member_id, 0)
    s2 = store.submit_vote(keys.code, b.member_id, 1)
    assert f.poll(store) >= {"joined", "submitted"} and f.members == 2 and f.votes() == (1, 1)
    store.remove_submission(keys.code, keys.secret, s1.id)
    f.poll(store)
    assert set(f.live) == {s2.id} and f.votes() == (0, 1)
    store.close_room(keys.code, keys.secret)
    f.poll(store)
    assert not f.state.open


def test_the_lecturers_room_is_kept_by_the_browser_and_the_qr_holds_the_public_address(home):
    key = "0" * 32
    assert held_room(key, home) is None
    hold_room(key, RoomKeys("K7QM2X", "s3cret"), home)
    assert held_room(key, home) == RoomKeys("K7QM2X", "s3cret")
    assert (home / "class" / "lecturers" / f"{key}.json").stat().st_mode & 0o077 == 0  # it holds the secret
    release_room(key, home)
    assert held_room(key, home) is None
    assert held_room("../../etc", home) is None  # a key is 32 hex digits, never a path
    with pytest.raises(ValueError, match="32 hex digits"):
        hold_room("../../etc", RoomKeys("K7QM2X", "s3cret"), home)
    base, warning = public_base(env="", seen="http://192.168.1.20:8501/latent_map?presenter=1")
    assert (base, warning) == ("http://192.168.1.20:8501", None)
    base, warning = public_base(env="", seen="http://localhost:8501/latent_map", base_path="vae")
    assert base == "http://localhost:8501/vae" and "phones cannot reach" in warning
    assert public_base(env="https://vae.example.edu/", seen="http://localhost:8501/")[0] == "https://vae.example.edu"
    with pytest.raises(PublicUrlError, match="VAE_PUBLIC_URL"):
        public_base(env="vae.example.edu")
    url = student_url("https://vae.example.edu", "K7QM2X")
    assert url == "https://vae.example.edu/class?room=K7QM2X"
    assert qr_svg(url).startswith("<svg") and "viewBox" in qr_svg(url)


def test_the_lecturer_opens_the_poll_scene_and_reveals_the_answer_the_model_computes():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.query_params.update({"deck": "intro-lecture", "scene": "16", "presenter": "1"})
    at.run()
    assert not at.exception
    store = open_store()
    keys = next(iter(_held_rooms()))
    state = store.state(keys.code)
    assert state.activity.kind == "poll" and state.scene == 15  # the scene's activity opened on arrival
    student = store.join(keys.code, "phone")
    store.submit_vote(keys.code, student.member_id, 0)
    at.run()
    at.button(key="class_reveal_bar").click().run()
    answer = store.state(keys.code).activity.answer
    from test_class_answers import _encodings
    from vae_core.analysis.class_answers import closest_class_to_origin
    expected = closest_class_to_origin(*_encodings("mnist5k-2d")).value
    assert state.activity.spec["choices"][answer["choice"]] == expected
    assert expected in answer["note"]


def _held_rooms():
    from vae_core.store.paths import app_home
    import json
    for p in (app_home() / "class" / "lecturers").glob("*.json"):
        d = json.loads(p.read_text())
        yield RoomKeys(d["code"], d["secret"])


def test_a_reload_of_the_phone_keeps_its_membership():
    """A reload is a new session of the same browser: it finds the membership the browser keeps (its alias,
    its number) instead of joining again as someone else."""
    from ui.identity import _STATE

    store = open_store()
    keys = store.create_room(deck="intro-lecture", scene=13)
    first = phone(keys.code)
    alias = store.snapshot(keys.code).members[0].alias
    again = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    again._page_hash = calc_hash("class")
    again.query_params["room"] = keys.code
    again.session_state[_STATE] = first.session_state[_STATE]  # the same browser (its identity's cookie)
    again.run()
    assert not again.exception
    members = store.snapshot(keys.code).members
    assert [m.alias for m in members] == [alias], "the reload joined the room a second time"
    assert alias in texts(again)
