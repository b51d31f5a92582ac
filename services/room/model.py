"""The class room's values: the dataclasses every backend returns and the one exception they raise.

A room is opened by the lecturer (``RoomKeys``: the code students type and the lecturer's secret). A
student joins it and gets a ``Joined``: a private member id, kept by the student's session only, and a
public ``Member`` (a number and a random alias) that the class may see. The lecturer opens an
``Activity`` ("draw", "place" or "poll"); a member's answers to it are ``Submission`` s. Everything that
happens in a room is an ``Event`` with a sequence number; a follower keeps the last number it has seen
(its cursor) and asks for the events after it. A ``Snapshot`` is the room at one cursor: its state, its
members and the current activity's live submissions.

Events, snapshots and submissions never carry a member id (only the public number and alias), so a
follower's page can show them all.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("draw", "place", "poll")  # an activity's kind; a submission has the kind of its activity

# The events a room records, in the words a follower reacts to:
CREATED, JOINED, MEMBER_REMOVED, SCENE = "created", "joined", "member_removed", "scene"
ACTIVITY_OPENED, ACTIVITY_CLOSED, SUBMISSIONS = "activity_opened", "activity_closed", "submissions"
SUBMITTED, REMOVED, CLEARED, LAYER, REVEALED, CLOSED = "submitted", "removed", "cleared", "layer", "revealed", "closed"
EVENT_KINDS = (CREATED, JOINED, MEMBER_REMOVED, SCENE, ACTIVITY_OPENED, ACTIVITY_CLOSED, SUBMISSIONS, SUBMITTED,
               REMOVED, CLEARED, LAYER, REVEALED, CLOSED)


class RoomError(Exception):
    """Every refusal of the room's store. ``code`` says which (e.g. "too_soon", "bad_z", "rate_limited");
    ``message`` is a sentence a student can read on a phone that says what to do; ``retry_after`` is the
    seconds to wait when waiting helps (rate limits, the pace of submissions), else None.

    A refusal changes nothing in the room."""

    def __init__(self, code: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"RoomError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class RoomKeys:
    """What the lecturer gets when a room is made: the code the class types, and the secret that every
    lecturer action needs (keep it in the lecturer's session; never show it)."""

    code: str  # 6 characters, e.g. "K7QM2X"; show it as display_code(code), "K7Q-M2X"
    secret: str


@dataclass(frozen=True)
class Member:
    """A student in a room as the class sees them: no name, no id."""

    number: int  # 1, 2, ... in the order of joining (gaps are possible)
    alias: str  # e.g. "Curious Otter", unique in the room
    joined: float  # seconds since the epoch


@dataclass(frozen=True)
class Joined:
    """What a student gets on joining: the private member id that their submissions need (keep it in the
    student's session or browser; never show it to others) and their public ``Member``."""

    code: str
    member_id: str
    member: Member


@dataclass(frozen=True)
class Activity:
    """What the class is asked to do now. ``spec`` is the activity's description (validate.check_spec):
    draw and place: ``latent_dim`` (and optionally ``prompt``, ``model``, ``target``); poll: ``question``
    and ``choices``. ``answer`` is None until the lecturer reveals it (validate.check_answer)."""

    id: int
    kind: str  # one of KINDS
    spec: dict[str, Any]
    scene: int  # the scene that was current when it opened
    opened: float
    submissions_open: bool
    answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class RoomState:
    """The room as the class sees it now."""

    code: str
    open: bool  # False once the lecturer closed the room: nothing more can be sent
    scene: int  # the lecturer's current scene (0-based); students' pages follow it
    deck: str  # the scenes file's name ("" when none)
    activity: Activity | None
    layer_shown: bool  # whether the class's layer is drawn on the projected map
    created: float

    @property
    def submissions_open(self) -> bool:
        return self.activity is not None and self.activity.submissions_open

    @property
    def answer(self) -> dict[str, Any] | None:
        return None if self.activity is None else self.activity.answer


@dataclass(frozen=True)
class Submission:
    """One member's answer to an activity. A member has at most one live submission per activity: a new
    one replaces the earlier (``replaces`` names it), so counts are one per member.

    draw: ``image`` (H, W) uint8 bytes, row-major, ink bright on black, plus the encoding the app
    computed, ``mu`` and ``logvar`` (latent_dim floats each) and optionally ``reconstruction``
    (uint8 bytes of ``reconstruction_shape``). place: ``z`` (latent_dim floats). poll: ``choice``."""

    id: int  # unique in the room
    seq: int  # the sequence number of the event that announced it
    activity: int
    kind: str
    member: int  # the member's public number
    alias: str
    at: float
    replaces: int | None = None
    image: bytes = b""
    image_shape: tuple[int, int] = (0, 0)
    mu: tuple[float, ...] = ()
    logvar: tuple[float, ...] = ()
    reconstruction: bytes = b""
    reconstruction_shape: tuple[int, int] = (0, 0)
    z: tuple[float, ...] = ()
    choice: int | None = None

    def image_array(self) -> np.ndarray:
        """The drawing, (H, W) uint8."""
        return np.frombuffer(self.image, dtype=np.uint8).reshape(self.image_shape)

    def reconstruction_array(self) -> np.ndarray | None:
        if not self.reconstruction:
            return None
        return np.frombuffer(self.reconstruction, dtype=np.uint8).reshape(self.reconstruction_shape)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (images in base64), without ``seq``: what a backend stores and an event carries."""
        out: dict[str, Any] = {"id": self.id, "activity": self.activity, "kind": self.kind, "member": self.member,
                               "alias": self.alias, "at": self.at, "replaces": self.replaces}
        if self.kind == "draw":
            out.update(image=_b64(self.image), image_shape=list(self.image_shape), mu=list(self.mu),
                       logvar=list(self.logvar), reconstruction=_b64(self.reconstruction),
                       reconstruction_shape=list(self.reconstruction_shape))
        elif self.kind == "place":
            out["z"] = list(self.z)
        else:
            out["choice"] = self.choice
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], seq: int) -> "Submission":
        return cls(id=int(data["id"]), seq=int(seq), activity=int(data["activity"]), kind=data["kind"],
                   member=int(data["member"]), alias=data["alias"], at=float(data["at"]),
                   replaces=data.get("replaces"), image=base64.b64decode(data.get("image", "")),
                   image_shape=tuple(data.get("image_shape", (0, 0))), mu=tuple(data.get("mu", ())),
                   logvar=tuple(data.get("logvar", ())), reconstruction=base64.b64decode(data.get("reconstruction", "")),
                   reconstruction_shape=tuple(data.get("reconstruction_shape", (0, 0))), z=tuple(data.get("z", ())),
                   choice=data.get("choice"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Event:
    """Something that happened in a room. ``data`` holds plain JSON values; for SUBMITTED it is the
    submission (``submission()`` rebuilds it), for the others see the store's methods."""

    seq: int
    at: float
    kind: str  # one of EVENT_KINDS
    data: dict[str, Any] = field(default_factory=dict)

    def submission(self) -> Submission:
        if self.kind != SUBMITTED:
            raise ValueError(f"a {self.kind!r} event carries no submission; only {SUBMITTED!r} events do")
        return Submission.from_json(self.data, self.seq)


@dataclass(frozen=True)
class Snapshot:
    """The room at one moment: ``cursor`` is the sequence number of the last event it includes, so a
    follower that starts from a snapshot asks ``events_since(code, snapshot.cursor)`` and misses nothing."""

    state: RoomState
    cursor: int
    members: tuple[Member, ...]  # present members (not the removed ones), by number
    submissions: tuple[Submission, ...]  # the current activity's live submissions, by seq
    votes: tuple[int, ...] | None  # poll: the number of votes for each choice; otherwise None
