"""What may happen in a room, decided once for both backends.

An operation reads the room through a ``RoomView`` (the backend's reads inside its transaction) and
returns a ``Change``: the one event it records and what it writes. The backend applies the change
atomically with the event (SQLite: one write transaction; Redis: one MULTI/EXEC after WATCH), or applies
nothing when a rule raises ``RoomError``: a refusal changes nothing.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

from services.room.codes import display_code, secret_matches
from services.room.model import Activity, Member, RoomError, RoomState, Submission

PACE = 2.0  # seconds a member waits between two submissions
MAX_MEMBERS = 400  # joins per room (removed members count)
ROOM_TTL = 24 * 3600.0  # seconds after its last change that an abandoned room is deleted


@dataclass(frozen=True)
class MemberRecord:
    """A member as the store keeps it: the private id, the public member, and what the rules need."""

    member_id: str
    member: Member
    removed: bool = False
    last: float | None = None  # when their last accepted submission was made


@dataclass
class Change:
    """What an operation writes, with the event that announces it."""

    event: str
    data: dict[str, Any]
    at: float
    state: RoomState | None = None  # the room's new state (None: unchanged)
    drop_all: bool = False  # delete every live submission of the room
    drop: tuple[Submission, ...] = ()  # delete these live submissions
    add: Submission | None = None  # store this live submission; its seq is the event's
    member: MemberRecord | None = None  # store this member (new or changed)
    extra: dict[str, Any] = field(default_factory=dict)  # what the operation returns besides the seq


class RoomView(ABC):
    """A backend's reads of one room inside its transaction; ``now`` is the store's clock at its start."""

    code: str
    now: float
    state: RoomState
    secret_hash: str

    @abstractmethod
    def new_id(self, kind: str) -> int:
        """The next number of kind "member", "submission" or "activity" in this room."""

    @abstractmethod
    def member(self, member_id: str) -> MemberRecord | None: ...

    @abstractmethod
    def member_by_number(self, number: int) -> MemberRecord | None: ...

    @abstractmethod
    def member_count(self) -> int:
        """Members who ever joined (the removed ones included)."""

    @abstractmethod
    def alias_taken(self, alias: str) -> bool: ...

    @abstractmethod
    def live(self) -> list[Submission]:
        """The live submissions of the room (all of the current activity), by seq."""

    @abstractmethod
    def live_of(self, number: int) -> Submission | None:
        """Member ``number``'s live submission, if any."""


def unknown_room(code: str) -> RoomError:
    return RoomError("unknown_room", f"No room has the code {display_code(code)}: check the code on the projector "
                                     "and type it again.")


def check_lecturer(view: RoomView, secret: object) -> None:
    if not secret_matches(view.secret_hash, secret):
        raise RoomError("not_lecturer", f"Only the lecturer of room {display_code(view.code)} can do this: "
                                        "open the room's lecturer page again from the presenter's window.")


def require_open(state: RoomState) -> None:
    if not state.open:
        raise RoomError("room_closed", f"Room {display_code(state.code)} is closed: the lecture's class activities "
                                       "are over. Thank you for taking part!")


def require_activity(state: RoomState) -> Activity:
    if state.activity is None:
        raise RoomError("no_activity", "There is nothing to answer right now: wait for the lecturer to open an "
                                       "activity.")
    return state.activity


def not_member(code: str, removed: bool) -> RoomError:
    if removed:
        return RoomError("not_member", f"The lecturer has removed you from room {display_code(code)}, so you "
                                       "cannot send anything.")
    return RoomError("not_member", f"This phone is not (or no longer) in room {display_code(code)}: join again "
                                   "with the room code on the projector.")


def present_member(view: RoomView, member_id: object) -> MemberRecord:
    record = view.member(member_id) if isinstance(member_id, str) and 0 < len(member_id) <= 64 else None
    if record is None or record.removed:
        raise not_member(view.code, record is not None)
    return record


def can_submit(state: RoomState, kind: str) -> Activity:
    """The activity a submission of ``kind`` answers, if it may be sent now."""
    require_open(state)
    activity = require_activity(state)
    if activity.kind != kind:
        raise RoomError("wrong_kind", f"The activity now is a {activity.kind}, not a {kind}: reload the page to "
                                      "see what the lecturer asks.")
    if not activity.submissions_open:
        if kind == "poll":
            raise RoomError("poll_closed", "This poll is closed: your vote can no longer be counted.")
        raise RoomError("submissions_closed", "The lecturer has closed sending for now: wait until it opens again.")
    return activity


def check_pace(record: MemberRecord, now: float) -> None:
    if record.last is not None and now - record.last < PACE:
        wait = PACE - (now - record.last)
        raise RoomError("too_soon", f"You sent something {now - record.last:.1f} s ago: wait {wait:.1f} s and send "
                                    "again.", wait)


def new_submission(view: RoomView, record: MemberRecord, activity: Activity, payload: dict[str, Any]) -> Change:
    """A member's submission, replacing their earlier one to the same activity."""
    earlier = view.live_of(record.member.number)
    sub = Submission(id=view.new_id("submission"), seq=0, activity=activity.id, kind=activity.kind,
                     member=record.member.number, alias=record.member.alias, at=view.now,
                     replaces=None if earlier is None else earlier.id, **payload)
    return Change("submitted", sub.to_json(), view.now, add=sub, drop=() if earlier is None else (earlier,),
                  member=replace(record, last=view.now))
