"""The room store on a Redis server (``VAE_CLASS_STORE=redis://host:port/db``), for a course whose app
runs on several machines.

A room's keys share the tag ``{CODE}`` (``vae:room:{K7QM2X}:state`` and so on):

    state    hash: open, scene, deck, activity (JSON), layer, created, secret (its SHA-256)
    seq      the last event's sequence number (INCR)
    events   stream; entry id ``0-<seq>``, fields at, kind, data (JSON)
    ids      hash of counters: member, submission, activity (HINCRBY)
    members  hash: number -> JSON {member_id, alias, joined, removed};  aliases: set of aliases in use
    m:<id>   hash: one member (number, alias, joined, removed, last submission time)
    subs     hash: submission id -> JSON;  subseq: id -> seq;  live: member number -> submission id

An operation WATCHes the keys it reads (services/room/rules.py decides on them), then in MULTI/EXEC
runs one Lua script, ``EMIT``, that takes the next seq (INCR), appends the event (XADD with id 0-seq)
and makes the writes, so an event and its writes commit together and sequence numbers are gapless and
in commit order; if a watched key changed meanwhile, EXEC does nothing and the operation is decided
again. Submissions of different members WATCH different keys and do not wait for one another. The join
rate limit is one Lua script (``GATE``: sorted sets of failure times, a sliding window). Every key of a
room gets an EXPIRE of ``ttl`` (a day), renewed together by the room's writes once half of it has
passed (EXPIRE counts as a change for WATCH, so it is not renewed at every write), so an abandoned room's
keys go away by themselves.

An acknowledged submission is in the server's memory when EXEC returns; it survives the app's process
being killed. To survive a restart of Redis itself, run Redis with ``appendonly yes``.
"""
from __future__ import annotations

import json
import math
import random
import time
import uuid
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlparse

import redis

from services.room import codec, ratelimit, rules
from services.room.base import Plan, RoomStore, votes_of
from services.room.model import CREATED, Event, Member, RoomError, RoomState, Snapshot, Submission
from services.room.ratelimit import JoinLimits
from services.room.rules import Change, MemberRecord, RoomView, unknown_room

PREFIX = "vae:room:"
MAX_ATTEMPTS = 200  # decisions retried after a watched key changed

# KEYS: 1 seq, 2 events, then the keys the ops name (by index); every key's TTL is renewed.
# ARGV: 1 now, 2 ttl, 3 kind, 4 data, 5 number of ops, then 4 values per op: name, key index, field, value.
EMIT = """
local n = tonumber(ARGV[5])
local known = {HSET = true, HDEL = true, DEL = true, SADD = true, HSETSEQ = true}
for i = 0, n - 1 do
  if not known[ARGV[6 + 4 * i]] then return redis.error_reply('EMIT: unknown op ' .. ARGV[6 + 4 * i]) end
end
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], '0-' .. seq, 'at', ARGV[1], 'kind', ARGV[3], 'data', ARGV[4])
for i = 0, n - 1 do
  local b = 6 + 4 * i
  local op, key, field, value = ARGV[b], KEYS[tonumber(ARGV[b + 1])], ARGV[b + 2], ARGV[b + 3]
  if op == 'HSET' then redis.call('HSET', key, field, value)
  elseif op == 'HSETSEQ' then redis.call('HSET', key, field, seq)
  elseif op == 'HDEL' then redis.call('HDEL', key, field)
  elseif op == 'SADD' then redis.call('SADD', key, field)
  else redis.call('DEL', key) end
end
-- Expiry: a new key gets the full ttl; once the state's ttl is half gone every key of the room is renewed
-- with it (so none expires before the state: a live room never loses its counters); a member's key is
-- renewed on its own (only that member's own writes WATCH it).
local ttl = tonumber(ARGV[2])
local renew = redis.call('TTL', KEYS[3]) < ttl / 2
for i = 1, #KEYS do
  local left = redis.call('TTL', KEYS[i])
  if left == -1 or (left ~= -2 and (renew or (i > 9 and left < ttl / 2))) then redis.call('EXPIRE', KEYS[i], ttl) end
end
return seq
"""

# KEYS: 1 this client's failures, 2 all failures (sorted sets scored by time), 3 the room's state.
# ARGV: now, window, per_client, overall, a unique name for this failure.
GATE = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local function count(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return redis.call('ZCARD', key), oldest[2] or ''
end
local mine, mine_oldest = count(KEYS[1])
local all, all_oldest = count(KEYS[2])
if mine >= tonumber(ARGV[3]) then return {'client', mine_oldest} end
if all >= tonumber(ARGV[4]) then return {'overall', all_oldest} end
local open = redis.call('HGET', KEYS[3], 'open')
if open then return {open == '1' and 'open' or 'closed', ''} end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[5])
  redis.call('EXPIRE', KEYS[i], math.ceil(window) + 1)
end
return {'unknown', ''}
"""


@dataclass(frozen=True)
class _Keys:
    seq: str
    events: str
    state: str
    ids: str
    subs: str
    subseq: str
    live: str
    members: str
    aliases: str
    base: str

    def member(self, member_id: str) -> str:
        return f"{self.base}m:{member_id}"

    def emitted(self) -> list[str]:  # the EMIT script's KEYS, in the order _ops indexes them
        return [self.seq, self.events, self.state, self.ids, self.subs, self.subseq, self.live, self.members,
                self.aliases]


def _keys(prefix: str, code: str) -> _Keys:
    base = f"{prefix}{{{code}}}:"
    return _Keys(**{name: base + name for name in ("seq", "events", "state", "ids", "subs", "subseq", "live",
                                                      "members", "aliases")}, base=base)


class StoreUnavailable(RuntimeError):
    """The Redis server $VAE_CLASS_STORE names does not answer."""


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    u = urlparse(url)
    return url.replace(f":{u.password}@", ":***@") if u.password else url


class RedisRoomStore(RoomStore):
    def __init__(self, url: str, limits: JoinLimits | None = None, ttl: float = rules.ROOM_TTL,
                 clock: Callable[[], float] = time.time, prefix: str = PREFIX, timeout: float = 5.0):
        super().__init__(limits, ttl, clock)
        self.url, self.prefix = url, prefix
        self.r = redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout,
                                      socket_connect_timeout=timeout, health_check_interval=30)
        try:
            self.r.ping()
        except redis.RedisError as e:
            raise StoreUnavailable(f"The class room store {redact(url)} does not answer ({e}): start redis-server "
                                   "there, or set VAE_CLASS_STORE to a server that runs (unset: SQLite in the "
                                   "data home).") from e
        self._emit = self.r.register_script(EMIT)
        self._gate_script = self.r.register_script(GATE)

    def __repr__(self) -> str:
        return f"RedisRoomStore({redact(self.url)!r})"

    @property
    def _ttl(self) -> int:
        return max(1, math.ceil(self.ttl))

    def keys(self, code: str) -> _Keys:
        return _keys(self.prefix, code)

    # -- the primitives --------------------------------------------------------------------------------

    def _create(self, state: RoomState, secret_hash: str) -> bool:
        k = self.keys(state.code)
        fields = {**codec.state_fields(state), "secret": secret_hash}
        change = Change(CREATED, {"scene": state.scene, "deck": state.deck}, state.created)
        with _unavailable_is_refused(), self.r.pipeline() as pipe:
            pipe.watch(k.state)
            if pipe.exists(k.state):
                return False
            pipe.multi()
            self._queue(pipe, k, change, [("HSET", 3, f, v) for f, v in fields.items()]
                        + [("HSET", 4, kind, "0") for kind in ("member", "submission", "activity")])
            try:
                pipe.execute()
            except redis.WatchError:  # a room was made with this code meanwhile: a new code is drawn
                return False
        return True

    def _gate(self, code: str, client: str, now: float) -> None:
        k, lim = self.keys(code), self.limits
        with _unavailable_is_refused():
            verdict, oldest = self._gate_script(
                keys=[f"{self.prefix}fail:c:{client}", f"{self.prefix}fail:all", k.state],
                args=[repr(now), repr(lim.window), lim.per_client, lim.overall, f"{now!r}:{uuid.uuid4().hex}"])
        if verdict == "client":
            raise ratelimit.client_limited(float(oldest) + lim.window - now)
        if verdict == "overall":
            raise ratelimit.overall_limited(float(oldest) + lim.window - now)
        if verdict == "unknown":
            raise unknown_room(code)
        if verdict == "closed":
            rules.require_open(self._state(code))

    def _change(self, code: str, plan: Plan, member_id: str | None = None) -> tuple[int, Change]:
        k = self.keys(code)
        with _unavailable_is_refused(), self.r.pipeline() as pipe:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    change = plan(_View(pipe, k, code, self.clock(), member_id))
                    pipe.multi()
                    self._queue(pipe, k, change, _ops(k, change))
                    (seq,) = pipe.execute()
                    return int(seq), change
                except redis.WatchError:
                    pipe.reset()
                    time.sleep(random.uniform(0, 0.001 * min(attempt, 20)))  # spread the retries of a crowd
                except BaseException:
                    pipe.reset()
                    raise
        raise RoomError("busy", "The class room is very busy: send again in a moment.")

    def _queue(self, pipe, k: _Keys, change: Change, ops: list[tuple[str, int, str, str]]) -> None:
        keys = k.emitted() + ([k.member(change.member.member_id)] if change.member is not None else [])
        flat = [str(x) for op in ops for x in op]
        self._emit(keys=keys, args=[repr(change.at), self._ttl, change.event, codec.dumps(change.data), len(ops),
                                    *flat], client=pipe)

    def _state(self, code: str) -> RoomState:
        with _unavailable_is_refused():
            fields = self.r.hgetall(self.keys(code).state)
        if not fields:
            raise unknown_room(code)
        fields.pop("secret")
        return codec.state_from(code, fields)

    def _events(self, code: str, cursor: int, limit: int) -> list[Event]:
        k = self.keys(code)
        with _unavailable_is_refused(), self.r.pipeline(transaction=False) as pipe:
            exists, entries = pipe.exists(k.state).xrange(k.events, f"(0-{cursor}", "+", count=limit).execute()
        if not exists:
            raise unknown_room(code)
        return [Event(seq=int(eid.split("-")[1]), at=float(f["at"]), kind=f["kind"], data=json.loads(f["data"]))
                for eid, f in entries]

    def _snapshot(self, code: str) -> Snapshot:
        k = self.keys(code)
        with _unavailable_is_refused(), self.r.pipeline(transaction=True) as pipe:  # MULTI: one moment
            fields, seq, subs, subseq, members = (pipe.hgetall(k.state).get(k.seq).hgetall(k.subs)
                                                  .hgetall(k.subseq).hgetall(k.members).execute())
        if not fields:
            raise unknown_room(code)
        fields.pop("secret")
        state = codec.state_from(code, fields)
        live = sorted((Submission.from_json(json.loads(text), int(subseq[i])) for i, text in subs.items()),
                      key=lambda s: s.seq)
        present = sorted((_member_from(int(n), json.loads(t)) for n, t in members.items()), key=lambda m: m[0].number)
        return Snapshot(state=state, cursor=int(seq or 0), members=tuple(m for m, removed in present if not removed),
                        submissions=tuple(live), votes=votes_of(state, live))

    def purge_expired(self) -> int:
        return 0  # every key of a room carries its EXPIRE: Redis deletes an abandoned room by itself

    def close(self) -> None:
        self.r.close()


def _member_from(number: int, data: dict) -> tuple[Member, bool]:
    return Member(number=number, alias=data["alias"], joined=float(data["joined"])), bool(data["removed"])


def _ops(k: _Keys, change: Change) -> list[tuple[str, int, str, str]]:
    """The EMIT script's writes for ``change`` (key indexes into _Keys.emitted(), 10 = the member's key)."""
    ops: list[tuple[str, int, str, str]] = []
    if change.state is not None:
        ops += [("HSET", 3, f, v) for f, v in codec.state_fields(change.state).items()]
    if change.drop_all:
        ops += [("DEL", 5, "", ""), ("DEL", 6, "", ""), ("DEL", 7, "", "")]
    for s in change.drop:
        ops += [("HDEL", 5, str(s.id), ""), ("HDEL", 6, str(s.id), ""), ("HDEL", 7, str(s.member), "")]
    if change.add is not None:
        sid = str(change.add.id)
        ops += [("HSET", 5, sid, codec.dumps(change.add.to_json())), ("HSETSEQ", 6, sid, ""),
                ("HSET", 7, str(change.add.member), sid)]
    if change.member is not None:
        r = change.member
        fields = {"number": r.member.number, "alias": r.member.alias, "joined": repr(r.member.joined),
                  "removed": int(r.removed), "last": "" if r.last is None else repr(r.last)}
        ops += [("HSET", 10, f, str(v)) for f, v in fields.items()]
        ops += [("HSET", 8, str(r.member.number), codec.dumps({"member_id": r.member_id, "alias": r.member.alias,
                                                               "joined": r.member.joined, "removed": r.removed})),
                ("SADD", 9, r.member.alias, "")]
    return ops


class _View(RoomView):
    """Reads in the pipeline's immediate mode, each key WATCHed before it is read."""

    def __init__(self, pipe, k: _Keys, code: str, now: float, member_id: str | None):
        self.pipe, self.k, self.code, self.now = pipe, k, code, now
        watched = [k.state] + ([k.member(member_id)] if isinstance(member_id, str) and 0 < len(member_id) <= 64 else [])
        pipe.watch(*watched)
        fields = pipe.hgetall(k.state)
        if not fields:
            raise unknown_room(code)
        self.secret_hash = fields.pop("secret")
        self.state = codec.state_from(code, fields)

    def new_id(self, kind: str) -> int:
        return int(self.pipe.hincrby(self.k.ids, kind, 1))  # not watched: an id lost to a retry leaves a gap

    def member(self, member_id: str) -> MemberRecord | None:
        key = self.k.member(member_id)
        self.pipe.watch(key)
        f = self.pipe.hgetall(key)
        if not f:
            return None
        return MemberRecord(member_id, Member(int(f["number"]), f["alias"], float(f["joined"])), f["removed"] == "1",
                            float(f["last"]) if f["last"] else None)

    def member_by_number(self, number: int) -> MemberRecord | None:
        self.pipe.watch(self.k.members)
        text = self.pipe.hget(self.k.members, str(number))
        return None if text is None else self.member(json.loads(text)["member_id"])

    def member_count(self) -> int:
        self.pipe.watch(self.k.aliases)
        return int(self.pipe.scard(self.k.aliases))

    def alias_taken(self, alias: str) -> bool:
        self.pipe.watch(self.k.aliases)
        return bool(self.pipe.sismember(self.k.aliases, alias))

    def live(self) -> list[Submission]:
        self.pipe.watch(self.k.subs, self.k.subseq)
        subs, subseq = self.pipe.hgetall(self.k.subs), self.pipe.hgetall(self.k.subseq)
        return sorted((Submission.from_json(json.loads(t), int(subseq[i])) for i, t in subs.items()),
                      key=lambda s: s.seq)

    def live_of(self, number: int) -> Submission | None:
        # Not WATCHed, so submissions of different members never wait for one another. It is safe: the
        # member's own submissions and removal change their key, which is WATCHed; a clear or removal
        # meanwhile only makes the earlier submission gone already, and deleting it again does nothing.
        sid = self.pipe.hget(self.k.live, str(number))
        if sid is None:
            return None
        text, seq = self.pipe.hget(self.k.subs, sid), self.pipe.hget(self.k.subseq, sid)
        return None if text is None else Submission.from_json(json.loads(text), int(seq))


class _unavailable_is_refused:
    """A Redis server that stops answering becomes a refusal a student can act on."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            raise RoomError("unavailable", "The class room cannot be reached right now: send again in a moment.") from exc
        return False
