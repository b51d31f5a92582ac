"""Which room a lecturer's browser holds: the room's code and secret, kept on the server by the browser's
identity (services/identity.py's folder key), so the projected window and the speaker view (another
window of the same browser) control the same room, and a reload keeps it.

One small JSON file per browser in ``<home>/class/lecturers/``, mode 0600 (it holds the secret), written
to a temporary file and renamed into place, so two windows saving at once leave one whole file.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

from services.room.model import RoomKeys
from vae_core.store.paths import app_home

_KEY = re.compile(r"[0-9a-f]{32}")


def _path(browser_key: str, home: Path | None = None) -> Path:
    if not isinstance(browser_key, str) or not _KEY.fullmatch(browser_key):
        raise ValueError(f"browser_key={browser_key!r} must be a browser identity's folder key (32 hex digits)")
    return Path(home or app_home()) / "class" / "lecturers" / f"{browser_key}.json"


def held_room(browser_key: str, home: Path | None = None) -> RoomKeys | None:
    """The room this browser's lecturer opened last (None: none, or a file that cannot be read)."""
    try:
        data = json.loads(_path(browser_key, home).read_text())
        return RoomKeys(code=str(data["code"]), secret=str(data["secret"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hold_room(browser_key: str, keys: RoomKeys, home: Path | None = None) -> None:
    path = _path(browser_key, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps({"code": keys.code, "secret": keys.secret}).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def release_room(browser_key: str, home: Path | None = None) -> None:
    """Forget this browser's room (after the lecturer closed it)."""
    _path(browser_key, home).unlink(missing_ok=True)
