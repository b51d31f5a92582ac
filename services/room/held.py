"""What a browser holds of the class room, kept on the server by the browser's identity (services/identity.py's
folder key) so that a reload or another window of the same browser finds it again:

- a lecturer's room: its code and secret, so the projected window and the speaker view control the same room;
- a student's memberships: the member id (private: it is what sends in the member's name), number and alias of
  each room the phone joined, so a reload of the phone keeps its alias and its answers instead of joining again.

One small JSON file per browser and role in ``<home>/class/<role>/``, mode 0600 (it holds secrets), written to a
temporary file and renamed into place, so two windows saving at once leave one whole file.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

from services.room.model import Joined, Member, RoomKeys
from vae_core.store.paths import app_home

_KEY = re.compile(r"[0-9a-f]{32}")
MAX_ROOMS_KEPT = 20  # a phone's memberships: the latest rooms only


def _path(role: str, browser_key: str, home: Path | None = None) -> Path:
    if not isinstance(browser_key, str) or not _KEY.fullmatch(browser_key):
        raise ValueError(f"browser_key={browser_key!r} must be a browser identity's folder key (32 hex digits)")
    return Path(home or app_home()) / "class" / role / f"{browser_key}.json"


def _read(role: str, browser_key: str, home: Path | None) -> dict | None:
    try:
        data = json.loads(_path(role, browser_key, home).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write(role: str, browser_key: str, data: dict, home: Path | None) -> None:
    path = _path(role, browser_key, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


# -- the lecturer ---------------------------------------------------------------------------------------

def held_room(browser_key: str, home: Path | None = None) -> RoomKeys | None:
    """The room this browser's lecturer opened last (None: none, or a file that cannot be read)."""
    data = _read("lecturers", browser_key, home)
    try:
        return RoomKeys(code=str(data["code"]), secret=str(data["secret"]))
    except (KeyError, TypeError):
        return None


def hold_room(browser_key: str, keys: RoomKeys, home: Path | None = None) -> None:
    _write("lecturers", browser_key, {"code": keys.code, "secret": keys.secret}, home)


def release_room(browser_key: str, home: Path | None = None) -> None:
    """Forget this browser's room (after the lecturer closed it)."""
    _path("lecturers", browser_key, home).unlink(missing_ok=True)


# -- the student ----------------------------------------------------------------------------------------

def held_membership(browser_key: str, code: str, home: Path | None = None) -> Joined | None:
    """This phone's membership of room ``code`` (None: it has not joined it, or the file cannot be read)."""
    entry = (_read("students", browser_key, home) or {}).get(code)
    try:
        member = Member(number=int(entry["number"]), alias=str(entry["alias"]), joined=float(entry["joined"]))
        return Joined(code=code, member_id=str(entry["member_id"]), member=member)
    except (KeyError, TypeError, ValueError):
        return None


def hold_membership(browser_key: str, joined: Joined, home: Path | None = None) -> None:
    """Keep this phone's membership (the latest MAX_ROOMS_KEPT rooms)."""
    data = _read("students", browser_key, home) or {}
    data.pop(joined.code, None)
    data[joined.code] = {"member_id": joined.member_id, "number": joined.member.number,
                         "alias": joined.member.alias, "joined": joined.member.joined}
    _write("students", browser_key, dict(list(data.items())[-MAX_ROOMS_KEPT:]), home)
