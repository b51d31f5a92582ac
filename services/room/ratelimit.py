"""The join rate limit: how many wrong room codes the store accepts, per client and in all.

A join with a room code that no room has is a *failed attempt*. Failed attempts are counted over a
sliding window of 60 s, in the store itself (so every app process and every machine sharing the store
counts together):

- per client key (a browser identity's id, or the client's address): at most 10 failed attempts in any
  60 s. A student who mistypes gets 10 tries a minute; the 11th is refused with "rate_limited" and the
  seconds until the oldest failure leaves the window.
- for the whole store: at most 300 failed attempts in any 60 s, whoever makes them. This is the bound
  that holds when a guesser changes address or identity at every try: 300 guesses a minute against 2^30
  codes (services/room/codes.py works out what that means for a 90-minute lecture).

While a limit is reached every join through it is refused, a right code included (otherwise the 301st
guess could still find a room). The cost: someone who floods the store with wrong codes can keep new
students from joining for as long as they keep it up; students who already joined are not affected
(joining happens once) and the lecturer sees "rate_limited" in the refusals. A code that is not even of
the code's form (services/room/codes.normalize_code) is refused before any room is looked up and is not
counted; nor is a right code for a closed room.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.room.model import RoomError


@dataclass(frozen=True)
class JoinLimits:
    per_client: int = 10  # failed attempts per client key in any `window` seconds
    overall: int = 300  # failed attempts in the whole store in any `window` seconds
    window: float = 60.0  # seconds

    def __post_init__(self):
        if self.per_client < 1 or self.overall < 1 or not self.window > 0:
            raise ValueError(f"JoinLimits({self.per_client}, {self.overall}, {self.window}): "
                             "the counts must be >= 1 and the window > 0 seconds")


def client_limited(retry_after: float) -> RoomError:
    return RoomError("rate_limited", f"Too many wrong room codes from this device: wait {_seconds(retry_after)} "
                                     "and type the code again, as the projector shows it.", max(retry_after, 0.0))


def overall_limited(retry_after: float) -> RoomError:
    return RoomError("rate_limited", "The server has had too many wrong room codes in the last minute: wait "
                                     f"{_seconds(retry_after)} and join again.", max(retry_after, 0.0))


def _seconds(s: float) -> str:
    s = max(1, int(s + 0.999))
    return f"{s} second{'s' if s != 1 else ''}"
