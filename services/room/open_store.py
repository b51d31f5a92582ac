"""Which room store the app uses: ``$VAE_CLASS_STORE``.

- unset, empty or ``sqlite``: the SQLite file in the data home (``<home>/class/rooms.sqlite3``), for one
  machine running one app process or several (``python -m serve``);
- ``redis://host:port/db`` (or ``rediss://`` for TLS, ``unix:///path/redis.sock?db=N``): a Redis server
  every machine of a course reaches.
"""
from __future__ import annotations

import os
from urllib.parse import parse_qs, urlparse

from services.room.base import RoomStore

STORE_ENV = "VAE_CLASS_STORE"
FORMS = "leave it unset (or 'sqlite') for the SQLite file in the data home, or give redis://host:port/db " \
        "(e.g. redis://127.0.0.1:6379/0; rediss:// for TLS; unix:///path/to/redis.sock?db=0)"


class StoreConfigError(ValueError):
    """$VAE_CLASS_STORE names no store the app can use."""


def store_url(value: str | None = None) -> str | None:
    """The Redis URL ``value`` (default: $VAE_CLASS_STORE) names, or None for SQLite; anything else is refused."""
    text = (os.environ.get(STORE_ENV, "") if value is None else value).strip()
    if text in ("", "sqlite"):
        return None
    try:
        url = urlparse(text)
        port, path = url.port, url.path  # .port raises ValueError when it is not a number of 0-65535
    except ValueError as e:
        raise StoreConfigError(f"{STORE_ENV}={text!r} is not a usable address ({e}): {FORMS}.") from e
    if url.scheme in ("redis", "rediss") and url.hostname:
        db = path.strip("/") or "0"
    elif url.scheme == "unix" and path:
        db = parse_qs(url.query).get("db", ["0"])[0]
    else:
        raise StoreConfigError(f"{STORE_ENV}={text!r} names no store: {FORMS}.")
    if not db.isdigit():
        raise StoreConfigError(f"{STORE_ENV}={text!r}: the database {db!r} must be a number such as 0: {FORMS}.")
    del port
    return text


def open_store(value: str | None = None, **options) -> RoomStore:
    """The room store $VAE_CLASS_STORE (or ``value``) names; ``options`` go to its constructor (limits, ttl,
    clock). A Redis server that does not answer is reported here, with its address."""
    url = store_url(value)
    if url is None:
        from services.room.sqlite_store import SQLiteRoomStore
        return SQLiteRoomStore(**options)
    from services.room.redis_store import RedisRoomStore
    return RedisRoomStore(url, **options)
