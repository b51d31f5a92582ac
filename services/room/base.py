"""The room store's one interface. Both backends (sqlite_store, redis_store) implement the few
transactional primitives at the bottom; every public method is written once here, in terms of the
rules (services/room/rules.py) and the checks (services/room/validate.py).

Every method may raise ``RoomError`` (services/room/model.py); a refusal changes nothing. Lecturer
methods take the room's code and its secret; student methods the code and the member id from ``join``.
A code is accepted as typed (any case, with or without the dash).
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, replace
from typing import Any, Callable

from services.room import rules, validate
from services.room.codes import alias_candidates, client_hash, new_code, new_member_id, new_secret, \
    normalize_code, numbered_alias, secret_hash
from services.room.model import (ACTIVITY_CLOSED, ACTIVITY_OPENED, CLEARED, CLOSED, JOINED, LAYER, MEMBER_REMOVED,
                                 REMOVED, REVEALED, SCENE, SUBMISSIONS, Activity, Event, Joined, Member, RoomError,
                                 RoomKeys, RoomState, Snapshot, Submission)
from services.room.ratelimit import JoinLimits
from services.room.rules import Change, MemberRecord, RoomView

Plan = Callable[[RoomView], Change]


class RoomStore(ABC):
    """Class rooms: the lecturer's controls, the students' joins and submissions, and the followers'
    events and snapshots. Safe to share between the threads of a process and between processes."""

    def __init__(self, limits: JoinLimits | None = None, ttl: float = rules.ROOM_TTL,
                 clock: Callable[[], float] = time.time):
        self.limits = limits or JoinLimits()
        self.ttl = float(ttl)  # seconds an abandoned room is kept after its last change
        self.clock = clock

    # -- the lecturer ----------------------------------------------------------------------------------

    def create_room(self, deck: str = "", scene: int = 0) -> RoomKeys:
        """A new open room at ``scene`` of ``deck``; returns its code and the lecturer's secret."""
        scene, deck = validate.check_scene(scene, deck)
        secret = new_secret()
        for _ in range(20):  # a code already in use is drawn again (2^30 codes: practically never)
            code = new_code()
            state = RoomState(code=code, open=True, scene=scene, deck=deck, activity=None, layer_shown=True,
                              created=self.clock())
            if self._create(state, secret_hash(secret)):
                return RoomKeys(code=code, secret=secret)
        raise RuntimeError("20 new room codes in a row were in use: the store holds far too many rooms")

    def close_room(self, code: str, secret: str) -> int:
        """Close the room: nothing more can be joined or sent; followers see a CLOSED event. Returns its seq."""
        return self._lecturer(code, secret, lambda v: Change(CLOSED, {}, v.now, state=replace(v.state, open=False)))

    def set_scene(self, code: str, secret: str, scene: int, deck: str | None = None) -> int:
        """The lecturer moved to ``scene`` (of ``deck``, or the same deck): a SCENE event the students' pages follow."""
        def plan(v: RoomView) -> Change:
            index, name = validate.check_scene(scene, v.state.deck if deck is None else deck)
            return Change(SCENE, {"scene": index, "deck": name}, v.now, state=replace(v.state, scene=index, deck=name))
        return self._lecturer(code, secret, plan)

    def set_layer(self, code: str, secret: str, shown: bool) -> int:
        """Show or hide the class's layer on the projected map (a LAYER event)."""
        shown = bool(shown)
        return self._lecturer(code, secret, lambda v: Change(LAYER, {"shown": shown}, v.now,
                                                              state=replace(v.state, layer_shown=shown)))

    def open_activity(self, code: str, secret: str, kind: str, spec: dict[str, Any],
                      submissions_open: bool = True) -> Activity:
        """Start an activity ("draw", "place" or "poll"; spec: validate.check_spec) at the current scene; the
        previous activity and its submissions end. An ACTIVITY_OPENED event carries it."""
        spec = validate.check_spec(kind, spec)

        def plan(v: RoomView) -> Change:
            activity = Activity(id=v.new_id("activity"), kind=kind, spec=spec, scene=v.state.scene, opened=v.now,
                                submissions_open=bool(submissions_open))
            return Change(ACTIVITY_OPENED, {"activity": asdict(activity)}, v.now, drop_all=True,
                          state=replace(v.state, activity=activity), extra={"activity": activity})
        return self._lecturer_change(code, secret, plan)[1].extra["activity"]

    def close_activity(self, code: str, secret: str) -> int:
        """End the current activity and drop its submissions (ACTIVITY_CLOSED)."""
        def plan(v: RoomView) -> Change:
            activity = rules.require_activity(v.state)
            return Change(ACTIVITY_CLOSED, {"activity": activity.id}, v.now, drop_all=True,
                          state=replace(v.state, activity=None))
        return self._lecturer(code, secret, plan)

    def set_submissions(self, code: str, secret: str, open_: bool) -> int:
        """Open or close sending for the current activity (a SUBMISSIONS event)."""
        def plan(v: RoomView) -> Change:
            activity = replace(rules.require_activity(v.state), submissions_open=bool(open_))
            return Change(SUBMISSIONS, {"activity": activity.id, "open": bool(open_)}, v.now,
                          state=replace(v.state, activity=activity))
        return self._lecturer(code, secret, plan)

    def reveal(self, code: str, secret: str, answer: dict[str, Any]) -> int:
        """Store the answer the app computed (validate.check_answer) and close sending (a REVEALED event)."""
        def plan(v: RoomView) -> Change:
            activity = rules.require_activity(v.state)
            checked = validate.check_answer(activity, answer)
            activity = replace(activity, answer=checked, submissions_open=False)
            return Change(REVEALED, {"activity": activity.id, "answer": checked}, v.now,
                          state=replace(v.state, activity=activity))
        return self._lecturer(code, secret, plan)

    def clear(self, code: str, secret: str) -> int:
        """Drop every submission of the current activity (a CLEARED event listing their ids)."""
        def plan(v: RoomView) -> Change:
            activity = rules.require_activity(v.state)
            live = v.live()
            return Change(CLEARED, {"activity": activity.id, "submissions": [s.id for s in live]}, v.now, drop_all=True)
        return self._lecturer(code, secret, plan)

    def remove_submission(self, code: str, secret: str, submission_id: int) -> int:
        """Drop one live submission (a rude drawing, in one click): a REMOVED event."""
        def plan(v: RoomView) -> Change:
            found = [s for s in v.live() if s.id == submission_id]
            if not found:
                raise RoomError("unknown_submission", f"Submission {submission_id!r} is not on the map (already "
                                                      "removed, replaced or cleared).")
            return Change(REMOVED, {"submission": found[0].id, "member": found[0].member}, v.now, drop=(found[0],))
        return self._lecturer(code, secret, plan)

    def remove_member(self, code: str, secret: str, number: int) -> int:
        """Remove member ``number`` from the room with their live submission: they can send nothing more
        (MEMBER_REMOVED)."""
        def plan(v: RoomView) -> Change:
            record = v.member_by_number(number) if isinstance(number, int) else None
            if record is None or record.removed:
                raise RoomError("unknown_member", f"Member {number!r} is not in the room (never joined or already "
                                                  "removed).")
            live = v.live_of(record.member.number)
            return Change(MEMBER_REMOVED, {"member": record.member.number,
                                           "submission": None if live is None else live.id}, v.now,
                          drop=() if live is None else (live,), member=replace(record, removed=True))
        return self._lecturer(code, secret, plan)

    # -- the students ----------------------------------------------------------------------------------

    def join(self, code: str, client_key: str) -> Joined:
        """A student joins with the code they typed; ``client_key`` (their browser identity's id or their
        address) is what the join rate limit (services/room/ratelimit.py) counts wrong codes by."""
        code = normalize_code(code)
        client = client_hash(client_key)
        self._gate(code, client, self.clock())
        member_id = new_member_id()

        def plan(v: RoomView) -> Change:
            rules.require_open(v.state)
            if v.member_count() >= rules.MAX_MEMBERS:
                raise RoomError("room_full", f"The room is full ({rules.MAX_MEMBERS} have joined): ask the lecturer.")
            number = v.new_id("member")
            alias = next((a for a in alias_candidates() if not v.alias_taken(a)), None) or numbered_alias(number)
            record = MemberRecord(member_id, Member(number=number, alias=alias, joined=v.now))
            return Change(JOINED, {"member": {"number": number, "alias": alias, "joined": v.now}}, v.now,
                          member=record)
        change = self._change(code, plan)[1]
        return Joined(code=code, member_id=member_id, member=change.member.member)

    def submit_drawing(self, code: str, member_id: str, image: Any, mu: Any, logvar: Any,
                       reconstruction: Any = None) -> Submission:
        """A drawing (H, W) uint8 with the encoding the app computed (mu, logvar: latent_dim floats) and an
        optional reconstruction (uint8); acknowledged once durable."""
        return self._submit(code, member_id, "draw",
                            lambda a: validate.check_drawing(a, image, mu, logvar, reconstruction))

    def submit_z(self, code: str, member_id: str, z: Any) -> Submission:
        """A point z (latent_dim floats within +-10); acknowledged once durable."""
        return self._submit(code, member_id, "place", lambda a: validate.check_z(a, z))

    def submit_vote(self, code: str, member_id: str, choice: int) -> Submission:
        """A vote for choice ``choice`` (0-based) of the open poll; acknowledged once durable."""
        return self._submit(code, member_id, "poll", lambda a: validate.check_vote(a, choice))

    def _submit(self, code: str, member_id: str, kind: str, payload_of: Callable[[Activity], dict]) -> Submission:
        def plan(v: RoomView) -> Change:
            record = rules.present_member(v, member_id)
            activity = rules.can_submit(v.state, kind)
            payload = payload_of(activity)
            rules.check_pace(record, v.now)
            return rules.new_submission(v, record, activity, payload)
        seq, change = self._change(normalize_code(code), plan, member_id=member_id)
        return replace(change.add, seq=seq)

    # -- the followers ---------------------------------------------------------------------------------

    def state(self, code: str) -> RoomState:
        """The room's state now."""
        return self._state(normalize_code(code))

    def events_since(self, code: str, cursor: int = 0, limit: int = 500) -> tuple[list[Event], int]:
        """The events after ``cursor`` (0: from the start), at most ``limit``, in order, and the cursor to
        pass next time (the last event's seq, or ``cursor`` when there is none). One indexed read."""
        events = self._events(normalize_code(code), validate.check_cursor(cursor), validate.check_limit(limit))
        return events, (events[-1].seq if events else cursor)

    def snapshot(self, code: str) -> Snapshot:
        """The room at one moment, consistent with its ``cursor``."""
        return self._snapshot(normalize_code(code))

    # -- the backends' primitives ----------------------------------------------------------------------

    @abstractmethod
    def _create(self, state: RoomState, secret_hash: str) -> bool:
        """Store a new room with its CREATED event; False when its code is in use."""

    @abstractmethod
    def _gate(self, code: str, client: str, now: float) -> None:
        """The join rate limit, atomically: refuse when a limit is reached; record a failure and raise
        unknown_room when no room has ``code``; raise room_closed for a closed room."""

    @abstractmethod
    def _change(self, code: str, plan: Plan, member_id: str | None = None) -> tuple[int, Change]:
        """Run ``plan`` on a view of the room and apply its change with its event, atomically; retry if the
        room changed meanwhile. Returns the event's seq and the change."""

    @abstractmethod
    def _state(self, code: str) -> RoomState: ...

    @abstractmethod
    def _events(self, code: str, cursor: int, limit: int) -> list[Event]: ...

    @abstractmethod
    def _snapshot(self, code: str) -> Snapshot: ...

    @abstractmethod
    def purge_expired(self) -> int:
        """Delete rooms whose last change is older than ``ttl``; returns how many (Redis expires its keys
        itself and returns 0)."""

    @abstractmethod
    def close(self) -> None:
        """Release this process's connections."""

    # -- shared helpers --------------------------------------------------------------------------------

    def _lecturer_change(self, code: str, secret: str, plan: Plan) -> tuple[int, Change]:
        """``plan`` run for the room's lecturer on an open room."""
        def checked(v: RoomView) -> Change:
            rules.check_lecturer(v, secret)
            rules.require_open(v.state)
            return plan(v)
        return self._change(normalize_code(code), checked)

    def _lecturer(self, code: str, secret: str, plan: Plan) -> int:
        return self._lecturer_change(code, secret, plan)[0]


def votes_of(state: RoomState, live: list[Submission]) -> tuple[int, ...] | None:
    """The number of live votes for each choice of the current poll (None when it is not a poll)."""
    if state.activity is None or state.activity.kind != "poll":
        return None
    counts = [0] * len(state.activity.spec["choices"])
    for s in live:
        counts[s.choice] += 1
    return tuple(counts)
