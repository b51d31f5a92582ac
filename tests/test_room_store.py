"""The class room's store: the same tests against both backends, SQLite in a temporary home and a real
Debian redis-server that the fixture starts on a free port and stops by its PID.

Every refusal is checked to change nothing: the room's snapshot is equal before and after, and no event
was recorded. Several processes (tests/room_worker.py) submit at once, join with wrong codes at once, and
are killed with SIGKILL right after an acknowledgement; the store must hold exactly what was acknowledged.
Time that the rules measure (the 2 s pace, the rate limit's window, SQLite's expiry) comes from a clock
the tests move, so no test waits for it; Redis's own key expiry is waited for as a condition.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from services.room import RoomError, open_store
from services.room.codes import ALPHABET, CODE_LENGTH, display_code
from services.room.model import ACTIVITY_OPENED, CLEARED, JOINED, REMOVED, SUBMITTED
from services.room.open_store import StoreConfigError, store_url
from services.room.ratelimit import JoinLimits
from services.room.redis_store import RedisRoomStore, StoreUnavailable
from services.room.sqlite_store import SQLiteRoomStore
from redis_support import redis_server

WORKER = Path(__file__).resolve().parent / "room_worker.py"
T0 = 1_800_000_000.0
WRONG = "ZZZ-ZZ2"  # a code no room of these tests has (one chance in 2^30 that a new room draws it)


class Clock:
    """The stores' clock in these tests: moved by hand."""

    def __init__(self):
        self.t = T0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Backend:
    name: str
    home: Path
    url: str | None = None
    prefix: str = ""

    def open(self, **options):
        if self.url:
            return RedisRoomStore(self.url, prefix=self.prefix, **options)
        return SQLiteRoomStore(self.home / "class" / "rooms.sqlite3", **options)

    def worker(self, code: str, action: str, limits: JoinLimits | None = None, **spec) -> subprocess.Popen:
        """A worker process (tests/room_worker.py) on this store."""
        spec = dict(spec, url=self.url, prefix=self.prefix, code=code, action=action,
                    limits=None if limits is None else [limits.per_client, limits.overall, limits.window])
        env = dict(os.environ, VAE_EXPLORER_HOME=str(self.home))
        return subprocess.Popen([sys.executable, str(WORKER), json.dumps(spec)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis-log")) as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path) -> Backend:
    home = tmp_path / "home"
    if request.param == "redis":  # a key prefix of its own: tests never see each other's keys
        return Backend("redis", home, request.getfixturevalue("redis_url"), f"t{uuid.uuid4().hex[:10]}:")
    return Backend("sqlite", home)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(backend, clock):
    s = backend.open(clock=clock)
    yield s
    s.close()


def digit(side: int = 28) -> np.ndarray:
    """A '1': a bright bar on black, (side, side) uint8."""
    img = np.zeros((side, side), np.uint8)
    img[side // 5: side - side // 5, side // 2 - 2: side // 2 + 2] = 255
    return img


MU = np.array([0.25, -1.5], np.float32)
LOGVAR = np.array([-2.0, -1.25], np.float32)


@dataclass
class Lecture:
    """A room with members, an open activity and one submission in it."""

    code: str
    secret: str
    members: list = field(default_factory=list)  # Joined


def lecture(store, clock: Clock, kind: str, n_members: int = 3) -> Lecture:
    keys = store.create_room("why-a-vae.toml")
    lec = Lecture(keys.code, keys.secret, [store.join(keys.code, f"client-{i}") for i in range(n_members)])
    spec = {"question": "Which loss term pulls q(z|x) towards the prior?", "choices": ["reconstruction", "KL", "neither"]} \
        if kind == "poll" else {"latent_dim": 2, "prompt": "Draw a 3"}
    store.open_activity(lec.code, lec.secret, kind, spec)
    submit(store, lec, kind, 1)
    clock.advance(5.0)
    return lec


def submit(store, lec: Lecture, kind: str, member: int, value=None):
    mid = lec.members[member].member_id
    if kind == "draw":
        return store.submit_drawing(lec.code, mid, digit(), MU, LOGVAR)
    if kind == "place":
        return store.submit_z(lec.code, mid, [0.5, -0.5] if value is None else value)
    return store.submit_vote(lec.code, mid, 1 if value is None else value)


@contextlib.contextmanager
def refused(store, code: str, expected: str):
    """The block must raise RoomError(expected) with a message, and change nothing in room ``code``."""
    before = store.snapshot(code)
    with pytest.raises(RoomError) as info:
        yield info
    assert info.value.code == expected, repr(info.value)
    assert len(info.value.message) > 20 and info.value.message.endswith((".", "!")), info.value.message
    assert store.snapshot(code) == before
    assert store.events_since(code, before.cursor) == ([], before.cursor)


# -- rooms, joins, activities ----------------------------------------------------------------------------

def test_a_new_room_has_a_short_code_and_its_state(store, clock):
    keys = store.create_room("why-a-vae.toml", scene=2)
    assert len(keys.code) == CODE_LENGTH and set(keys.code) <= set(ALPHABET)
    typed = display_code(keys.code).lower()  # as a student types it: lower case, with the dash
    state = store.state(typed)
    assert (state.code, state.open, state.scene, state.deck) == (keys.code, True, 2, "why-a-vae.toml")
    assert state.activity is None and not state.submissions_open and state.layer_shown and state.answer is None
    assert state.created == T0
    events, cursor = store.events_since(keys.code, 0)
    assert [e.kind for e in events] == ["created"] and cursor == 1


def test_joins_get_distinct_numbers_aliases_and_private_ids(store, clock):
    keys = store.create_room()
    joined = [store.join(keys.code, f"client-{i}") for i in range(40)]
    assert [j.member.number for j in joined] == list(range(1, 41))
    assert len({j.member.alias for j in joined}) == 40 and all(" " in j.member.alias for j in joined)
    assert len({j.member_id for j in joined}) == 40
    snap = store.snapshot(keys.code)
    assert snap.members == tuple(j.member for j in joined)
    events, _ = store.events_since(keys.code, 0)
    assert [e.kind for e in events].count(JOINED) == 40
    text = json.dumps([e.data for e in events])
    assert not any(j.member_id in text for j in joined), "an event shows a member's private id"


def test_a_drawing_comes_back_exactly(store, clock):
    keys = store.create_room()
    me = store.join(keys.code, "phone")
    store.open_activity(keys.code, keys.secret, "draw", {"latent_dim": 2, "prompt": "Draw a 7"})
    rec = (np.arange(28 * 28) % 256).astype(np.uint8).reshape(28, 28)
    ack = store.submit_drawing(keys.code, me.member_id, digit(40)[:, :36], MU, LOGVAR, reconstruction=rec)
    snap = store.snapshot(keys.code)
    assert snap.submissions == (ack,)
    got = snap.submissions[0]
    np.testing.assert_array_equal(got.image_array(), digit(40)[:, :36])
    np.testing.assert_array_equal(got.reconstruction_array(), rec)
    assert got.mu == tuple(float(v) for v in MU) and got.logvar == tuple(float(v) for v in LOGVAR)
    assert (got.alias, got.member, got.kind) == (me.member.alias, me.member.number, "draw")
    events, _ = store.events_since(keys.code, 0)
    assert events[-1].kind == SUBMITTED and events[-1].submission() == ack and events[-1].seq == ack.seq


def test_votes_are_counted_once_per_member_and_a_new_vote_replaces_the_old(store, clock):
    lec = lecture(store, clock, "poll", n_members=4)  # member 1 voted 1
    for m, choice in ((0, 0), (2, 2), (3, 1)):
        submit(store, lec, "poll", m, choice)
    assert store.snapshot(lec.code).votes == (1, 2, 1)
    first = store.snapshot(lec.code).submissions[0]
    clock.advance(2.0)  # the pace: exactly 2 s later is allowed
    again = submit(store, lec, "poll", 1, 2)
    snap = store.snapshot(lec.code)
    assert again.replaces == first.id and snap.votes == (1, 1, 2)
    assert len(snap.submissions) == 4 and first.id not in [s.id for s in snap.submissions]


def test_the_lecturer_moves_scenes_shows_the_layer_reveals_and_closes(store, clock):
    lec = lecture(store, clock, "poll")
    cursor = store.snapshot(lec.code).cursor
    store.set_scene(lec.code, lec.secret, 3)
    store.set_layer(lec.code, lec.secret, False)
    store.set_submissions(lec.code, lec.secret, False)
    store.set_submissions(lec.code, lec.secret, True)
    store.reveal(lec.code, lec.secret, {"choice": 1, "note": "the KL term"})
    state = store.state(lec.code)
    assert (state.scene, state.deck, state.layer_shown, state.submissions_open) == (3, "why-a-vae.toml", False, False)
    assert state.answer == {"choice": 1, "note": "the KL term"}
    store.set_scene(lec.code, lec.secret, 4, deck="part-2.toml")
    store.close_activity(lec.code, lec.secret)
    assert store.state(lec.code).activity is None and store.snapshot(lec.code).submissions == ()
    store.close_room(lec.code, lec.secret)
    events, _ = store.events_since(lec.code, cursor)
    assert [(e.kind, e.data) for e in events] == [
        ("scene", {"scene": 3, "deck": "why-a-vae.toml"}), ("layer", {"shown": False}),
        ("submissions", {"activity": 1, "open": False}), ("submissions", {"activity": 1, "open": True}),
        ("revealed", {"activity": 1, "answer": {"choice": 1, "note": "the KL term"}}),
        ("scene", {"scene": 4, "deck": "part-2.toml"}), ("activity_closed", {"activity": 1}), ("closed", {})]
    assert not store.state(lec.code).open


def test_a_new_activity_starts_empty(store, clock):
    lec = lecture(store, clock, "place")
    act = store.open_activity(lec.code, lec.secret, "draw", {"latent_dim": 2})
    snap = store.snapshot(lec.code)
    assert snap.state.activity == act and act.id == 2 and act.submissions_open and snap.submissions == ()
    events, _ = store.events_since(lec.code, snap.cursor - 1)
    assert events[0].kind == ACTIVITY_OPENED and events[0].data["activity"]["id"] == 2


def test_the_lecturer_removes_one_submission_then_clears_the_rest(store, clock):
    lec = lecture(store, clock, "draw", n_members=3)
    subs = [submit(store, lec, "draw", m) for m in (0, 2)]
    rude = subs[0]
    store.remove_submission(lec.code, lec.secret, rude.id)
    snap = store.snapshot(lec.code)
    assert rude.id not in [s.id for s in snap.submissions] and len(snap.submissions) == 2
    events, _ = store.events_since(lec.code, snap.cursor - 1)
    assert events[0].kind == REMOVED and events[0].data == {"submission": rude.id, "member": rude.member}
    left = sorted(s.id for s in snap.submissions)
    store.clear(lec.code, lec.secret)
    snap = store.snapshot(lec.code)
    assert snap.submissions == () and snap.state.activity is not None
    events, _ = store.events_since(lec.code, snap.cursor - 1)
    assert events[0].kind == CLEARED and sorted(events[0].data["submissions"]) == left


def test_a_removed_member_leaves_with_their_submission(store, clock):
    lec = lecture(store, clock, "place")
    gone = lec.members[1]
    store.remove_member(lec.code, lec.secret, gone.member.number)
    snap = store.snapshot(lec.code)
    assert gone.member not in snap.members and len(snap.members) == 2 and snap.submissions == ()
    with refused(store, lec.code, "not_member") as info:
        submit(store, lec, "place", 1)
    assert "removed" in info.value.message


# -- refusals: each a clear answer that changes nothing --------------------------------------------------

def _faint(img=None):
    img = np.zeros((28, 28), np.uint8)
    img[3, 3] = img[4, 4] = 255  # two inked pixels, and a grey smear below the ink level
    img[10:20, 10:20] = 31
    return img


def _wrong_joins(store, lec, n=10):
    for _ in range(n):
        with pytest.raises(RoomError, match="No room"):
            store.join(WRONG, "pest")


REFUSALS = [  # (activity kind, setup or None, the refused call, its code)
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, np.zeros((28, 28), np.uint8), MU, LOGVAR), "empty_drawing"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, _faint(), MU, LOGVAR), "empty_drawing"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, digit(65), MU, LOGVAR), "too_large"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, digit()[:, :, None], MU, LOGVAR), "bad_image"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, digit() / 255.0, MU, LOGVAR), "bad_image"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, digit(), [0.1, 0.2, 0.3], LOGVAR), "bad_encoding"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, digit(), MU, [math.nan, 0.0]), "bad_encoding"),
    ("draw", None, lambda s, L: s.submit_drawing(L.code, L.members[0].member_id, digit(), MU, LOGVAR, digit(80)), "too_large"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, [1.0]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, [1.0, 2.0, 3.0]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, [math.nan, 0.0]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, [0.0, -math.inf]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, ["1", 0.0]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, [True, 0.0]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, [10.5, 0.0]), "bad_z"),
    ("place", None, lambda s, L: submit(s, L, "place", 0, "0.5,1"), "bad_z"),
    ("poll", None, lambda s, L: submit(s, L, "poll", 0, 3), "bad_choice"),
    ("poll", None, lambda s, L: submit(s, L, "poll", 0, -1), "bad_choice"),
    ("poll", None, lambda s, L: submit(s, L, "poll", 0, True), "bad_choice"),
    ("poll", None, lambda s, L: submit(s, L, "poll", 0, "1"), "bad_choice"),
    ("poll", lambda s, L: s.set_submissions(L.code, L.secret, False), lambda s, L: submit(s, L, "poll", 0), "poll_closed"),
    ("poll", lambda s, L: s.reveal(L.code, L.secret, {"choice": 1}), lambda s, L: submit(s, L, "poll", 0), "poll_closed"),
    ("draw", lambda s, L: s.set_submissions(L.code, L.secret, False), lambda s, L: submit(s, L, "draw", 0), "submissions_closed"),
    ("place", None, lambda s, L: s.submit_vote(L.code, L.members[0].member_id, 0), "wrong_kind"),
    ("place", None, lambda s, L: submit(s, L, "place", 1), "too_soon"),  # member 1 sent 1.8 s before (below)
    ("place", lambda s, L: s.close_room(L.code, L.secret), lambda s, L: submit(s, L, "place", 0), "room_closed"),
    ("place", lambda s, L: s.close_room(L.code, L.secret), lambda s, L: s.join(L.code, "late-phone"), "room_closed"),
    ("place", lambda s, L: s.close_room(L.code, L.secret), lambda s, L: s.set_layer(L.code, L.secret, False), "room_closed"),
    ("place", None, lambda s, L: s.join(WRONG, "phone"), "unknown_room"),
    ("place", None, lambda s, L: s.join("hello!", "phone"), "bad_code"),
    ("place", None, lambda s, L: s.join(L.code, ""), "bad_client"),
    ("place", None, lambda s, L: s.submit_z(L.code, "made-up-member-id", [0.0, 0.0]), "not_member"),
    ("place", None, lambda s, L: s.submit_z(L.code, None, [0.0, 0.0]), "not_member"),
    ("place", lambda s, L: s.remove_member(L.code, L.secret, L.members[0].member.number), lambda s, L: submit(s, L, "place", 0), "not_member"),
    ("place", lambda s, L: s.close_activity(L.code, L.secret), lambda s, L: submit(s, L, "place", 0), "no_activity"),
    ("place", None, lambda s, L: s.set_scene(L.code, "not-the-secret", 1), "not_lecturer"),
    ("place", None, lambda s, L: s.clear(L.code, L.members[0].member_id), "not_lecturer"),
    ("place", None, lambda s, L: s.open_activity(L.code, None, "poll", {"question": "?", "choices": ["a", "b"]}), "not_lecturer"),
    ("place", None, lambda s, L: s.remove_submission(L.code, L.secret, 999), "unknown_submission"),
    ("place", None, lambda s, L: s.remove_member(L.code, L.secret, 99), "unknown_member"),
    ("place", None, lambda s, L: s.open_activity(L.code, L.secret, "draw", {"latent_dim": 0}), "bad_spec"),
    ("place", None, lambda s, L: s.open_activity(L.code, L.secret, "sketch", {}), "bad_spec"),
    ("place", None, lambda s, L: s.open_activity(L.code, L.secret, "poll", {"question": "?", "choices": ["a"]}), "bad_spec"),
    ("place", None, lambda s, L: s.open_activity(L.code, L.secret, "poll", {"question": "?", "choices": ["a", "a"]}), "bad_spec"),
    ("place", None, lambda s, L: s.open_activity(L.code, L.secret, "place", {"latent_dim": 2, "colour": "red"}), "bad_spec"),
    ("poll", None, lambda s, L: s.reveal(L.code, L.secret, {"choice": 7}), "bad_choice"),
    ("poll", None, lambda s, L: s.reveal(L.code, L.secret, {"z": [0.0, 0.0]}), "bad_answer"),
    ("place", None, lambda s, L: s.reveal(L.code, L.secret, {"z": [0.0, 99.0]}), "bad_answer"),
    ("place", None, lambda s, L: s.set_scene(L.code, L.secret, -1), "bad_scene"),
    ("place", None, lambda s, L: s.events_since(L.code, -1), "bad_cursor"),
    ("place", _wrong_joins, lambda s, L: s.join(L.code, "pest"), "rate_limited"),
]


@pytest.mark.parametrize("kind, setup, call, code", REFUSALS,
                         ids=[f"{r[3]}-{i}" for i, r in enumerate(REFUSALS)])
def test_a_refusal_says_what_to_do_and_changes_nothing(store, clock, kind, setup, call, code):
    lec = lecture(store, clock, kind)
    if code == "too_soon":
        clock.advance(-3.2)  # back to 1.8 s after member 1's submission in lecture()
    if setup is not None:
        setup(store, lec)
    with refused(store, lec.code, code):
        call(store, lec)


def test_the_pace_is_two_seconds_and_says_how_long_to_wait(store, clock):
    lec = lecture(store, clock, "place")
    submit(store, lec, "place", 0)
    clock.advance(1.5)
    with refused(store, lec.code, "too_soon") as info:
        submit(store, lec, "place", 0)
    assert info.value.retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    assert submit(store, lec, "place", 0).replaces is not None


def test_a_limited_client_is_told_when_to_try_again_and_then_may(store, clock):
    lec = lecture(store, clock, "place")
    _wrong_joins(store, lec, 10)  # per client: 10 failed attempts in any 60 s
    with refused(store, lec.code, "rate_limited") as info:
        store.join(lec.code, "pest")
    assert info.value.retry_after == pytest.approx(60.0)
    store.join(lec.code, "another-phone")  # other clients are not limited
    clock.advance(60.0)
    assert store.join(lec.code, "pest").member.alias


def test_the_overall_limit_refuses_every_join_until_the_window_passes(backend, clock):
    store = backend.open(clock=clock, limits=JoinLimits(per_client=10, overall=25))
    keys = store.create_room()
    refusals = []
    for i in range(30):  # a guesser with a new address at every try
        with pytest.raises(RoomError) as info:
            store.join(WRONG, f"address-{i}")
        refusals.append(info.value.code)
    assert refusals == ["unknown_room"] * 25 + ["rate_limited"] * 5
    with pytest.raises(RoomError, match="too many wrong room codes"):
        store.join(keys.code, "an honest student")  # the right code too: else the 26th guess could succeed
    clock.advance(60.0)
    assert store.join(keys.code, "an honest student").member.number == 1
    store.close()


# -- followers -------------------------------------------------------------------------------------------

def test_events_since_returns_each_event_once_while_the_room_changes(store, clock):
    lec = lecture(store, clock, "place", n_members=30)
    done = threading.Event()
    errors = []

    def lecturer_and_class():
        try:
            for i in range(len(lec.members)):
                submit(store, lec, "place", i, [i / 10, 0.0])
                if i % 7 == 0:
                    store.set_layer(lec.code, lec.secret, i % 2 == 0)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            done.set()

    writer = threading.Thread(target=lecturer_and_class)
    writer.start()
    seen, cursor = [], 0
    while True:
        finished = done.is_set()
        events, cursor = store.events_since(lec.code, cursor, limit=3)
        seen += events
        if finished and not events:
            break
    writer.join()
    assert errors == []
    seqs = [e.seq for e in seen]
    assert seqs == list(range(1, len(seqs) + 1)) and cursor == seqs[-1], "an event was missed or seen twice"
    assert store.snapshot(lec.code).cursor == cursor
    assert sum(e.kind == SUBMITTED for e in seen) == 31 and store.events_since(lec.code, cursor) == ([], cursor)


def test_a_snapshot_and_the_events_after_it_tell_the_same_story(store, clock):
    lec = lecture(store, clock, "poll", n_members=5)
    snap = store.snapshot(lec.code)
    for m in (0, 2, 3):
        submit(store, lec, "poll", m, 2)
    events, _ = store.events_since(lec.code, snap.cursor)
    replayed = list(snap.submissions) + [e.submission() for e in events if e.kind == SUBMITTED]
    assert tuple(replayed) == store.snapshot(lec.code).submissions


def test_an_unknown_room_has_no_state_events_or_snapshot(store):
    for read in (store.state, store.snapshot, lambda c: store.events_since(c, 0)):
        with pytest.raises(RoomError) as info:
            read("ZZZ-ZZ2")
        assert info.value.code == "unknown_room" and "ZZZ-ZZ2" in info.value.message


# -- several threads and processes at once ---------------------------------------------------------------

def _go(workers: list[subprocess.Popen]) -> None:
    """Wait until every worker is ready, then start them together."""
    for w in workers:
        line = w.stdout.readline()
        assert json.loads(line or "{}").get("ready"), f"a worker failed to start: {w.stderr.read()[-3000:]}"
    for w in workers:
        w.stdin.write("go\n")
        w.stdin.flush()


def _finish(w: subprocess.Popen) -> list[dict]:
    out, err = w.communicate(timeout=300)
    assert w.returncode == 0, err[-3000:]
    return [json.loads(line) for line in out.splitlines()]


def test_processes_submitting_at_once_lose_nothing(backend):
    store = backend.open()
    keys = store.create_room()
    store.open_activity(keys.code, keys.secret, "poll", {"question": "Best beta?", "choices": ["0.5", "1", "4"]})
    workers = [backend.worker(keys.code, "submit", members=12, kind="poll", choices=3, tag=f"p{w}") for w in range(4)]
    _go(workers)
    acks = [_finish(w) for w in workers]
    for mine in acks:
        assert len(mine) == 12
        assert [a["seq"] for a in mine] == sorted(a["seq"] for a in mine), "a process's acks out of order"
    every = [a for mine in acks for a in mine]
    assert len({a["seq"] for a in every}) == 48 and len({a["id"] for a in every}) == 48
    snap = store.snapshot(keys.code)
    assert sorted(s.seq for s in snap.submissions) == sorted(a["seq"] for a in every)
    assert snap.votes == (16, 16, 16)
    events, _ = store.events_since(keys.code, 0, limit=10_000)
    assert [e.seq for e in events] == list(range(1, snap.cursor + 1))
    assert sorted(e.seq for e in events if e.kind == SUBMITTED) == sorted(a["seq"] for a in every)
    store.close()


def test_threads_sharing_one_store_submit_at_once(backend):
    store = backend.open()
    keys = store.create_room()
    store.open_activity(keys.code, keys.secret, "place", {"latent_dim": 2})
    members = [store.join(keys.code, f"phone-{i}") for i in range(36)]
    start, acks, errors = threading.Barrier(6), [], []

    def student_group(g: int):
        try:
            start.wait()
            for i in range(g, 36, 6):
                acks.append(store.submit_z(keys.code, members[i].member_id, [i / 10, 1.0]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=student_group, args=(g,)) for g in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    snap = store.snapshot(keys.code)
    assert sorted(snap.submissions, key=lambda s: s.id) == sorted(acks, key=lambda s: s.id)
    assert len({s.seq for s in acks}) == 36
    store.close()


def test_a_process_killed_right_after_an_acknowledgement_loses_nothing(backend):
    store = backend.open()
    keys = store.create_room()
    store.open_activity(keys.code, keys.secret, "place", {"latent_dim": 2})
    rng = random.Random(7)
    acked = []
    for round_ in range(3):
        w = backend.worker(keys.code, "submit", members=100, kind="place", tag=f"k{round_}")
        _go([w])
        for _ in range(rng.randint(1, 12)):
            line = w.stdout.readline()
            assert line, w.stderr.read()[-3000:]
            acked.append(json.loads(line))
        w.send_signal(signal.SIGKILL)  # the moment the last acknowledgement was read
        w.wait(30)
        assert w.returncode == -signal.SIGKILL, "the worker finished before it was killed"
        w.stdout.close(), w.stderr.close(), w.stdin.close()
    reopened = backend.open()
    snap = reopened.snapshot(keys.code)
    live = {s.seq: s for s in snap.submissions}
    for a in acked:
        assert a["seq"] in live, f"acknowledged submission {a} is lost"
        assert live[a["seq"]].id == a["id"] and list(live[a["seq"]].z) == a["z"]
    events, _ = reopened.events_since(keys.code, 0, limit=10_000)
    assert [e.seq for e in events] == list(range(1, snap.cursor + 1))
    reopened.close()
    store.close()


def test_the_rate_limit_holds_across_two_processes(backend):
    store = backend.open()
    keys = store.create_room()
    same_client = [backend.worker(keys.code, "wrong", wrong_code=WRONG, attempts=10, client="one-phone",
                                  tag=f"s{i}") for i in range(2)]
    _go(same_client)
    results = [r for w in same_client for r in _finish(w)[0]["results"]]
    assert sorted(results) == ["rate_limited"] * 10 + ["unknown_room"] * 10  # 10 per client, not 10 per process
    store.close()
    fresh = replace(backend, home=backend.home.parent / "fresh-home", prefix=backend.prefix + "fresh:")
    store = fresh.open()
    keys = store.create_room()
    limits = JoinLimits(per_client=10, overall=14)
    many_clients = [fresh.worker(keys.code, "wrong", limits=limits, wrong_code=WRONG, attempts=10, client=None,
                                 tag=f"m{i}") for i in range(2)]
    _go(many_clients)
    results = [r for w in many_clients for r in _finish(w)[0]["results"]]
    assert sorted(results) == ["rate_limited"] * 6 + ["unknown_room"] * 14  # a new key each try: the overall limit
    store.close()


# -- expiry ----------------------------------------------------------------------------------------------

def test_sqlite_deletes_a_room_a_day_after_its_last_change(tmp_path, clock):
    path = tmp_path / "rooms.sqlite3"
    store = SQLiteRoomStore(path, clock=clock)
    old = lecture(store, clock, "draw")
    clock.advance(3600)
    kept = store.create_room()
    clock.advance(store.ttl - 1800)  # old: 24.5 h since its last change; kept: 23.5 h
    assert store.purge_expired() == 1
    with pytest.raises(RoomError, match="No room"):
        store.state(old.code)
    assert store.state(kept.code).open
    import sqlite3
    with sqlite3.connect(path) as db:
        for table in ("events", "members", "submissions", "rooms"):
            assert db.execute(f"SELECT count(*) FROM {table} WHERE code = ?", (old.code,)).fetchone()[0] == 0, table
    clock.advance(3600)  # a new room purges the expired ones too
    store.create_room()
    with pytest.raises(RoomError, match="No room"):
        store.state(kept.code)
    store.close()


def test_redis_gives_every_key_of_a_room_an_expiry_and_drops_an_abandoned_room(redis_url, clock):
    import redis
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    store = RedisRoomStore(redis_url, prefix=prefix, clock=clock)
    lec = lecture(store, clock, "draw")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = client.keys(prefix + "*")
    assert len(keys) >= 10
    assert {k: 0 < client.ttl(k) <= 86400 for k in keys} == {k: True for k in keys}, "a key would never expire"
    short = RedisRoomStore(redis_url, prefix=prefix, clock=clock, ttl=2)
    gone = lecture(short, clock, "place")
    deadline = time.monotonic() + 60
    while client.keys(f"{prefix}{{{gone.code}}}*"):
        assert time.monotonic() < deadline, "the abandoned room's keys did not expire"
        time.sleep(0.2)
    with pytest.raises(RoomError, match="No room"):
        short.state(gone.code)
    assert store.state(lec.code).open  # the other room, with a day to live, is still there
    short.close(), store.close(), client.close()


# -- choosing the store ----------------------------------------------------------------------------------

def test_the_store_is_chosen_by_vae_class_store(tmp_path, monkeypatch, redis_url):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path))
    for value in ("", "sqlite", "  sqlite "):
        monkeypatch.setenv("VAE_CLASS_STORE", value)
        s = open_store()
        assert isinstance(s, SQLiteRoomStore) and s.path == tmp_path / "class" / "rooms.sqlite3"
        s.close()
    monkeypatch.setenv("VAE_CLASS_STORE", redis_url)
    s = open_store()
    assert isinstance(s, RedisRoomStore) and s.state(s.create_room().code).open
    s.close()
    assert store_url("redis://h:6379/2") == "redis://h:6379/2" and store_url("unix:///run/redis.sock?db=1")


@pytest.mark.parametrize("value", ["mysql://db/rooms", "redis://", "redis://host:port/0", "redis://host:6379/zero",
                                   "postgres", "/var/lib/rooms.sqlite3"])
def test_an_unusable_vae_class_store_is_named_with_the_accepted_forms(value):
    with pytest.raises(StoreConfigError) as info:
        store_url(value)
    text = str(info.value)
    assert "VAE_CLASS_STORE" in text and "sqlite" in text and "redis://host:port/db" in text


def test_a_redis_that_does_not_answer_is_reported_then_refused_politely(tmp_path):
    from redis_support import free_port
    with pytest.raises(StoreUnavailable, match="does not answer") as info:
        RedisRoomStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0", timeout=2)
    assert "hunter2" not in str(info.value) and ":***@127.0.0.1" in str(info.value)
    with redis_server(tmp_path) as url:
        store = RedisRoomStore(url, timeout=2)
        keys = store.create_room()
    with pytest.raises(RoomError) as info:  # the server is gone now
        store.state(keys.code)
    assert info.value.code == "unavailable" and "again" in info.value.message
    store.close()


def test_a_new_thread_per_call_does_not_open_a_connection_per_thread(store):
    """Streamlit runs each rerun in a new thread: the store's open files must not grow with them."""
    keys = store.create_room()
    store.state(keys.code)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(60):
        t = threading.Thread(target=store.snapshot, args=(keys.code,))
        t.start()
        t.join()
    assert len(os.listdir("/proc/self/fd")) <= before + 2


def test_a_forked_process_uses_the_store_it_inherited(backend):
    """A process forked from one that used the store (multiprocessing's default on Linux) opens its own
    connections and submits; the parent sees it."""
    import multiprocessing as mp
    store = backend.open()
    keys = store.create_room()
    store.open_activity(keys.code, keys.secret, "place", {"latent_dim": 2})
    me = store.join(keys.code, "parent-phone")
    store.snapshot(keys.code)  # the parent holds an idle connection now

    def child():
        store.submit_z(keys.code, me.member_id, [1.0, 2.0])

    proc = mp.get_context("fork").Process(target=child)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert [s.z for s in store.snapshot(keys.code).submissions] == [(1.0, 2.0)]
    store.close()
