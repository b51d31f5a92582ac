"""How a room's records become text and back, the same for both backends: the state as a few string
fields (a Redis hash; a JSON object in SQLite), an activity and a member as JSON, an event's data as JSON.
JSON keeps Python floats exact (repr), so an encoding read back equals the one sent."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from services.room.model import Activity, Member, RoomState


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def activity_json(activity: Activity | None) -> str:
    return "" if activity is None else dumps(asdict(activity))


def activity_from(text: str | bytes | None) -> Activity | None:
    if not text:
        return None
    return Activity(**json.loads(text))


def state_fields(state: RoomState) -> dict[str, str]:
    """The state as string fields (its code is the key it is stored under)."""
    return {"open": "1" if state.open else "0", "scene": str(state.scene), "deck": state.deck,
            "activity": activity_json(state.activity), "layer": "1" if state.layer_shown else "0",
            "created": repr(state.created)}


def state_from(code: str, fields: dict[str, Any]) -> RoomState:
    f = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
         for k, v in fields.items()}
    return RoomState(code=code, open=f["open"] == "1", scene=int(f["scene"]), deck=f["deck"],
                     activity=activity_from(f["activity"]), layer_shown=f["layer"] == "1",
                     created=float(f["created"]))


def member_json(member: Member) -> dict[str, Any]:
    return asdict(member)


def member_from(data: dict[str, Any]) -> Member:
    return Member(number=int(data["number"]), alias=data["alias"], joined=float(data["joined"]))
