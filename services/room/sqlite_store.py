"""The embedded room store: one SQLite file in the data home (``<home>/class/rooms.sqlite3``).

WAL mode, so readers (60 phones and a projector asking for events every second) never wait for a writer
and a writer waits only for another writer. A connection is used by one thread at a time (each operation
takes one from the process's idle ones or opens one; a process forked with a store opens its own); a
write is one ``BEGIN IMMEDIATE`` transaction (the write
lock taken at its start, so two writers never deadlock on an upgrade), waited for up to ``busy_timeout``.
``synchronous=FULL``: a submission is acknowledged only after its transaction is committed to the WAL on
disk, so a process killed right after the acknowledgement (or the machine losing power) loses nothing
acknowledged. A room's events, members and live submissions are rows keyed by the room's code; the
room's counters (its next seq, member number, submission and activity ids) live in its row and move in
the same transaction as what they number, so sequence numbers are gapless and in commit order.

For one machine (one process or several behind HAProxy on one home); WAL needs a local file system,
so a course on several machines uses the Redis store (services/room/redis_store.py).
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from services.room import codec, ratelimit, rules
from services.room.base import Plan, RoomStore, votes_of
from services.room.model import CREATED, Event, Member, RoomError, RoomState, Snapshot, Submission
from services.room.ratelimit import JoinLimits
from services.room.rules import Change, MemberRecord, RoomView, unknown_room
from vae_core.store.paths import app_home

FILE = Path("class") / "rooms.sqlite3"
_IDS = {"member": "next_member", "submission": "next_submission", "activity": "next_activity"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, state TEXT NOT NULL, touched REAL NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0, next_member INTEGER NOT NULL DEFAULT 0,
    next_submission INTEGER NOT NULL DEFAULT 0, next_activity INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS rooms_touched ON rooms (touched);
CREATE TABLE IF NOT EXISTS events (
    code TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (code, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    code TEXT NOT NULL, number INTEGER NOT NULL, member_id TEXT NOT NULL, alias TEXT NOT NULL,
    joined REAL NOT NULL, removed INTEGER NOT NULL DEFAULT 0, last REAL,
    PRIMARY KEY (code, number), UNIQUE (code, member_id), UNIQUE (code, alias));
CREATE TABLE IF NOT EXISTS submissions (
    code TEXT NOT NULL, id INTEGER NOT NULL, seq INTEGER NOT NULL, member INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (code, id));
CREATE INDEX IF NOT EXISTS submissions_member ON submissions (code, member);
CREATE TABLE IF NOT EXISTS join_failures (client TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS join_failures_client ON join_failures (client, at);
CREATE INDEX IF NOT EXISTS join_failures_at ON join_failures (at);
"""


def default_path() -> Path:
    return app_home() / FILE


class SQLiteRoomStore(RoomStore):
    def __init__(self, path: str | os.PathLike | None = None, limits: JoinLimits | None = None,
                 ttl: float = rules.ROOM_TTL, clock: Callable[[], float] = time.time, busy_timeout: float = 10.0):
        super().__init__(limits, ttl, clock)
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        with self._connection() as db:
            db.executescript(SCHEMA)  # each statement its own transaction; processes starting together wait

    def __repr__(self) -> str:
        return f"SQLiteRoomStore({str(self.path)!r})"

    # -- connections and transactions ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            db.close()
            raise RuntimeError(f"{self.path} cannot use SQLite's WAL mode (journal_mode={mode}): the class room "
                               "store needs a local file system; for several machines set VAE_CLASS_STORE=redis://...")
        db.execute("PRAGMA synchronous=FULL")
        return db

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection this thread alone uses until the block ends. Idle ones are kept for the next caller:
        Streamlit runs every rerun in a new thread, so one connection per thread would grow without end."""
        self._after_fork()
        with self._lock:
            db = self._idle.pop() if self._idle else None
        db = db or self._connect()
        try:
            yield db
        finally:
            with self._lock:
                self._idle.append(db)

    def _after_fork(self) -> None:
        """In a forked child: new locks (the parent's may have been held at the fork) and no inherited
        connection (SQLite's must never cross a fork)."""
        if self._pid != os.getpid():
            self._lock, self._writer, self._idle, self._pid = threading.Lock(), threading.Lock(), [], os.getpid()

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            with _busy_is_refused():
                db.execute(begin)
            try:
                yield db
                with _busy_is_refused():
                    db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # The threads of a process queue on a lock of their own before asking SQLite for its write lock:
        # SQLite's busy handler polls with sleeps growing to 100 ms, a long tail under a crowd of writers.
        self._after_fork()
        with self._writer, self._transaction("BEGIN IMMEDIATE") as db:
            yield db

    def _read(self):
        return self._transaction("BEGIN")  # deferred: one consistent WAL snapshot for all its reads

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    # -- the primitives --------------------------------------------------------------------------------

    def _create(self, state: RoomState, secret_hash: str) -> bool:
        with self._write() as db:
            self._purge(db, state.created)
            cur = db.execute("INSERT OR IGNORE INTO rooms (code, secret_hash, state, touched) VALUES (?, ?, ?, ?)",
                             (state.code, secret_hash, json.dumps(codec.state_fields(state)), state.created))
            if cur.rowcount == 0:
                return False
            _apply(db, state.code, Change(CREATED, {"scene": state.scene, "deck": state.deck}, state.created))
        return True

    def _gate(self, code: str, client: str, now: float) -> None:
        limits = self.limits
        with self._write() as db:
            db.execute("DELETE FROM join_failures WHERE at <= ?", (now - limits.window,))
            n, oldest = db.execute("SELECT count(*), min(at) FROM join_failures WHERE client = ?", (client,)).fetchone()
            if n >= limits.per_client:
                raise ratelimit.client_limited(oldest + limits.window - now)
            n, oldest = db.execute("SELECT count(*), min(at) FROM join_failures").fetchone()
            if n >= limits.overall:
                raise ratelimit.overall_limited(oldest + limits.window - now)
            row = db.execute("SELECT state FROM rooms WHERE code = ?", (code,)).fetchone()
            if row is None:
                db.execute("INSERT INTO join_failures (client, at) VALUES (?, ?)", (client, now))
        if row is None:  # raised after the commit, so the failure counts
            raise unknown_room(code)
        rules.require_open(codec.state_from(code, json.loads(row[0])))

    def _change(self, code: str, plan: Plan, member_id: str | None = None) -> tuple[int, Change]:
        with self._write() as db:
            change = plan(_View(db, code, self.clock()))
            return _apply(db, code, change), change

    def _state(self, code: str) -> RoomState:
        with self._connection() as db:
            row = db.execute("SELECT state FROM rooms WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise unknown_room(code)
        return codec.state_from(code, json.loads(row[0]))

    def _events(self, code: str, cursor: int, limit: int) -> list[Event]:
        with self._read() as db:
            rows = db.execute("SELECT seq, at, kind, data FROM events WHERE code = ? AND seq > ? ORDER BY seq LIMIT ?",
                              (code, cursor, limit)).fetchall()
            if not rows and db.execute("SELECT 1 FROM rooms WHERE code = ?", (code,)).fetchone() is None:
                raise unknown_room(code)
        return [Event(seq=s, at=at, kind=k, data=json.loads(d)) for s, at, k, d in rows]

    def _snapshot(self, code: str) -> Snapshot:
        with self._read() as db:
            row = db.execute("SELECT state, seq FROM rooms WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise unknown_room(code)
            members = db.execute("SELECT number, alias, joined FROM members WHERE code = ? AND removed = 0 "
                                 "ORDER BY number", (code,)).fetchall()
            live = _live(db, code)
        state = codec.state_from(code, json.loads(row[0]))
        return Snapshot(state=state, cursor=row[1], members=tuple(Member(*m) for m in members),
                        submissions=tuple(live), votes=votes_of(state, live))

    def purge_expired(self) -> int:
        with self._write() as db:
            return self._purge(db, self.clock())

    def _purge(self, db: sqlite3.Connection, now: float) -> int:
        old = [r[0] for r in db.execute("SELECT code FROM rooms WHERE touched < ?", (now - self.ttl,))]
        for table in ("events", "members", "submissions", "rooms"):
            db.executemany(f"DELETE FROM {table} WHERE code = ?", [(c,) for c in old])
        return len(old)


@contextlib.contextmanager
def _busy_is_refused() -> Iterator[None]:
    """A write lock not had within busy_timeout becomes a refusal the student can act on."""
    try:
        yield
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        raise RoomError("busy", "The class room is very busy: send again in a moment.") from e


def _live(db: sqlite3.Connection, code: str, member: int | None = None) -> list[Submission]:
    sql, args = "SELECT seq, data FROM submissions WHERE code = ?", [code]
    if member is not None:
        sql, args = sql + " AND member = ?", args + [member]
    return [Submission.from_json(json.loads(d), s) for s, d in db.execute(sql + " ORDER BY seq", args)]


def _apply(db: sqlite3.Connection, code: str, change: Change) -> int:
    """Write ``change`` and its event in the open transaction; returns the event's seq."""
    sql = "UPDATE rooms SET seq = seq + 1, touched = ?" + (", state = ?" if change.state else "")
    args = [change.at] + ([json.dumps(codec.state_fields(change.state))] if change.state else [])
    (seq,) = db.execute(sql + " WHERE code = ? RETURNING seq", args + [code]).fetchone()
    db.execute("INSERT INTO events (code, seq, at, kind, data) VALUES (?, ?, ?, ?, ?)",
               (code, seq, change.at, change.event, codec.dumps(change.data)))
    if change.drop_all:
        db.execute("DELETE FROM submissions WHERE code = ?", (code,))
    db.executemany("DELETE FROM submissions WHERE code = ? AND id = ?", [(code, s.id) for s in change.drop])
    if change.add is not None:
        db.execute("INSERT INTO submissions (code, id, seq, member, data) VALUES (?, ?, ?, ?, ?)",
                   (code, change.add.id, seq, change.add.member, codec.dumps(change.add.to_json())))
    if change.member is not None:
        r = change.member
        db.execute("INSERT INTO members (code, number, member_id, alias, joined, removed, last) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code, number) DO UPDATE SET removed = excluded.removed, "
                   "last = excluded.last", (code, r.member.number, r.member_id, r.member.alias, r.member.joined,
                                            int(r.removed), r.last))
    return seq


class _View(RoomView):
    def __init__(self, db: sqlite3.Connection, code: str, now: float):
        row = db.execute("SELECT secret_hash, state FROM rooms WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise unknown_room(code)
        self.db, self.code, self.now = db, code, now
        self.secret_hash, self.state = row[0], codec.state_from(code, json.loads(row[1]))

    def new_id(self, kind: str) -> int:
        col = _IDS[kind]
        return self.db.execute(f"UPDATE rooms SET {col} = {col} + 1 WHERE code = ? RETURNING {col}",
                               (self.code,)).fetchone()[0]

    def _member(self, where: str, value) -> MemberRecord | None:
        row = self.db.execute(f"SELECT member_id, number, alias, joined, removed, last FROM members "
                              f"WHERE code = ? AND {where} = ?", (self.code, value)).fetchone()
        if row is None:
            return None
        return MemberRecord(row[0], Member(row[1], row[2], row[3]), bool(row[4]), row[5])

    def member(self, member_id: str) -> MemberRecord | None:
        return self._member("member_id", member_id)

    def member_by_number(self, number: int) -> MemberRecord | None:
        return self._member("number", number)

    def member_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM members WHERE code = ?", (self.code,)).fetchone()[0]

    def alias_taken(self, alias: str) -> bool:
        return self.db.execute("SELECT 1 FROM members WHERE code = ? AND alias = ?", (self.code, alias)).fetchone() is not None

    def live(self) -> list[Submission]:
        return _live(self.db, self.code)

    def live_of(self, number: int) -> Submission | None:
        found = _live(self.db, self.code, number)
        return found[0] if found else None
