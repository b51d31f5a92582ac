"""The class room: a lecturer opens a room, students join it from their phones (a room code, no account,
a random alias) and answer the activities the lecturer opens (draw a digit, place a point z, vote in a
poll); the projector and the phones follow the room's events.

Holds: model (the dataclasses and RoomError), codes (room codes, secrets, aliases; why 6 characters are
enough), ratelimit (the join rate limit's numbers), validate (every check of what is sent, with its
limits), codec (records as text), rules (what may happen; the Change an operation writes), base (the
RoomStore interface, written once over the backends' primitives), sqlite_store (the embedded default:
one SQLite file in the data home), redis_store (Redis, for several machines), open_store (which one:
$VAE_CLASS_STORE), follower (a projector's or a phone's view of a room, kept up to date by reading the
events after its cursor), held (what a browser holds of the class room: the lecturer's room, so its windows share it; a phone's memberships, so a reload keeps its alias).

May import: vae_core (the data home). No Streamlit: the pages and their ui helpers build on this.
"""
from services.room.base import RoomStore
from services.room.model import (Activity, Event, Joined, Member, RoomError, RoomKeys, RoomState, Snapshot,
                                 Submission)
from services.room.open_store import STORE_ENV, StoreConfigError, open_store

__all__ = ["Activity", "Event", "Joined", "Member", "RoomError", "RoomKeys", "RoomState", "RoomStore", "Snapshot",
           "STORE_ENV", "StoreConfigError", "Submission", "open_store"]
