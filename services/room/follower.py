"""A follower of one room: the projector's and the phones' view of it, kept up to date by reading only the
events after its cursor (one indexed read when nothing happened).

    follower = RoomFollower(code)            # starts from store.snapshot(code)
    changed = follower.poll(store)           # the kinds of the events applied ({} when none)
    follower.state, follower.live, follower.members, follower.votes()

``live`` holds the current activity's live submissions by id (a newer one of a member replaces the
older); ``version`` grows with every applied event, so a page redraws only when it moved.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.room.base import RoomStore, votes_of
from services.room.model import (ACTIVITY_CLOSED, ACTIVITY_OPENED, CLEARED, CLOSED, JOINED, LAYER, MEMBER_REMOVED,
                                 REMOVED, REVEALED, SCENE, SUBMISSIONS, SUBMITTED, Activity, RoomState, Submission)

STATE_EVENTS = {SCENE, ACTIVITY_OPENED, ACTIVITY_CLOSED, SUBMISSIONS, REVEALED, LAYER, CLOSED}


@dataclass
class RoomFollower:
    code: str
    state: RoomState | None = None
    cursor: int = -1  # -1: no snapshot read yet
    members: int = 0  # present members
    live: dict[int, Submission] = field(default_factory=dict)
    version: int = 0
    removed_members: set[int] = field(default_factory=set)

    def start(self, store: RoomStore) -> None:
        snap = store.snapshot(self.code)
        self.state, self.cursor = snap.state, snap.cursor
        self.members = len(snap.members)
        self.live = {s.id: s for s in snap.submissions}
        self.version += 1

    def poll(self, store: RoomStore, limit: int = 500) -> set[str]:
        """Apply the events since the cursor; returns their kinds (empty: nothing happened)."""
        if self.cursor < 0:
            self.start(store)
            return {"snapshot"}
        kinds: set[str] = set()
        while True:
            events, cursor = store.events_since(self.code, self.cursor, limit)
            for ev in events:
                self._apply(ev)
                kinds.add(ev.kind)
            self.cursor = cursor
            if len(events) < limit:
                break
        if kinds & STATE_EVENTS:
            self.state = store.state(self.code)
        if kinds:
            self.version += 1
        return kinds

    def _apply(self, ev) -> None:
        d = ev.data
        if ev.kind == SUBMITTED:
            sub = ev.submission()
            if sub.replaces is not None:
                self.live.pop(sub.replaces, None)
            self.live[sub.id] = sub
        elif ev.kind == REMOVED:
            self.live.pop(d.get("submission"), None)
        elif ev.kind == CLEARED:
            for sid in d.get("submissions", []):
                self.live.pop(sid, None)
        elif ev.kind in (ACTIVITY_OPENED, ACTIVITY_CLOSED):
            self.live.clear()
        elif ev.kind == JOINED:
            self.members += 1
        elif ev.kind == MEMBER_REMOVED:
            self.members = max(0, self.members - 1)
            self.removed_members.add(int(d.get("member", -1)))
            if d.get("submission") is not None:
                self.live.pop(d["submission"], None)

    @property
    def activity(self) -> Activity | None:
        return None if self.state is None else self.state.activity

    def submissions(self) -> list[Submission]:
        """The live submissions, oldest first."""
        return sorted(self.live.values(), key=lambda s: s.id)

    def votes(self) -> tuple[int, ...] | None:
        return None if self.state is None else votes_of(self.state, list(self.live.values()))

    def mine(self, number: int) -> Submission | None:
        """Member ``number``'s live submission."""
        return next((s for s in self.live.values() if s.member == number), None)


def copy_of(follower: RoomFollower) -> RoomFollower:
    return replace(follower, live=dict(follower.live), removed_members=set(follower.removed_members))
