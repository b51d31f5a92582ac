"""Room codes, lecturer secrets, client keys and the students' random aliases.

A room code is 6 characters from a 32-symbol alphabet: the letters without I and O and the digits 2-9
(no 0, 1, I or O, which are read wrongly from a projector), e.g. ``K7Q-M2X`` as shown, typed in any case,
with or without the dash. That is 32^6 = 2^30 = 1,073,741,824 codes.

How unguessable that is, given the join rate limit (services/room/ratelimit.py): failed joins are
limited to 10 a minute per client key AND 300 a minute for the whole store, whatever the number of
addresses or browser identities a guesser uses. With R rooms open at once, a random guess hits one with
probability R / 2^30, so the expected number of guesses to find any room is 2^30 / R: about 21 million
for R = 50 rooms, which at 300 guesses a minute is 72,000 minutes (50 days) of guessing. In a 90-minute
lecture at most 90 x 300 = 27,000 guesses get through, so the chance that any of 50 rooms is found is at
most 27,000 x 50 / 2^30 = 0.13% (and with one room open, 0.0025%). What a successful guess gives is a
seat in the room (an anonymous alias that can send drawings, points and votes, each removable by the
lecturer in one click), not the lecturer's controls: those need the secret, 24 random bytes.

The lecturer's secret is stored only as its SHA-256. A client key (a browser identity's id or a client
address) is stored only as a SHA-256 prefix, so the store does not show addresses at a glance (an IPv4
address could be found again by hashing all 2^32 of them: this is tidiness, not secrecy).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from services.room.model import RoomError

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0, 1, I, O
CODE_LENGTH = 6
CODE_SPACE = len(ALPHABET) ** CODE_LENGTH  # 2^30
_CODE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
MAX_CLIENT_KEY = 200


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    """``K7QM2X`` -> ``K7Q-M2X``: how the projector shows it."""
    return f"{code[:3]}-{code[3:]}"


def normalize_code(text: object) -> str:
    """The code a student typed, in its stored form (upper case, no spaces or dashes); a text that cannot
    be a code is refused with "bad_code" (no room is looked up, so such a try teaches nothing and is not
    counted by the rate limit)."""
    cleaned = re.sub(r"[\s\-]", "", text).upper() if isinstance(text, str) and len(text) <= 40 else ""
    if not _CODE.fullmatch(cleaned):
        raise RoomError("bad_code", f"A room code is {CODE_LENGTH} letters and digits (no 0, 1, I or O), "
                                    "like K7Q-M2X: check the code on the projector and type it again.")
    return cleaned


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(f"room-secret:{secret}".encode()).hexdigest()


def secret_matches(stored_hash: str, secret: object) -> bool:
    return isinstance(secret, str) and hmac.compare_digest(stored_hash, secret_hash(secret))


def client_hash(client_key: object) -> str:
    """What the store keeps of a client key: 32 hex digits of its SHA-256."""
    if not isinstance(client_key, str) or not client_key.strip() or len(client_key) > MAX_CLIENT_KEY:
        raise RoomError("bad_client", "This browser could not be identified: reload the page and join again.")
    return hashlib.sha256(f"room-client:{client_key.strip()}".encode()).hexdigest()[:32]


def new_member_id() -> str:
    """A member's private id: 18 random bytes, so one member cannot send in another's name."""
    return secrets.token_urlsafe(18)


ADJECTIVES = (
    "Brave", "Bright", "Calm", "Clever", "Cosmic", "Curious", "Daring", "Eager", "Gentle", "Glad", "Golden",
    "Happy", "Honest", "Jolly", "Keen", "Kind", "Lively", "Lucky", "Merry", "Mighty", "Nimble", "Noble",
    "Patient", "Playful", "Polite", "Proud", "Quick", "Quiet", "Rapid", "Serene", "Sharp", "Shiny", "Silent",
    "Smart", "Snappy", "Speedy", "Steady", "Sunny", "Swift", "Tidy", "Brisk", "Vivid", "Warm", "Wise",
    "Witty", "Zesty", "Cheerful", "Bold",
)
ANIMALS = (
    "Otter", "Badger", "Beaver", "Bison", "Crane", "Dolphin", "Eagle", "Falcon", "Ferret", "Finch", "Fox",
    "Gecko", "Heron", "Ibex", "Koala", "Lemur", "Lynx", "Marten", "Mole", "Moose", "Newt", "Ocelot", "Owl",
    "Panda", "Pelican", "Penguin", "Puffin", "Quail", "Rabbit", "Raven", "Robin", "Salmon", "Seal", "Sparrow",
    "Squirrel", "Stork", "Swan", "Tapir", "Tiger", "Toucan", "Turtle", "Walrus", "Weasel", "Whale", "Wombat",
    "Wren", "Yak", "Zebra",
)


def alias_candidates(n: int = 24) -> list[str]:
    """``n`` random aliases ("Curious Otter"); the store takes the first not yet used in the room (48 x 48 =
    2,304 of them), and falls back to ``numbered_alias`` when all ``n`` are taken."""
    return [f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)}" for _ in range(n)]


def numbered_alias(number: int) -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(ANIMALS)} {number}"
