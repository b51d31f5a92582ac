"""Every check of what a lecturer or a student sends to a room, in one place for both backends.

Each check returns the value as it will be stored or raises ``RoomError`` with a code and a message a
student can read; nothing is changed silently (a value out of range is refused, never clipped).

The limits:
- a drawing: a 2-D uint8 image, each side 4 to 64 px; it must hold ink: at least 3 pixels of 32 or more
  (of 255; ink is bright on black, as the app's drawing page sends it); its encoding ``mu`` and ``logvar``
  are ``latent_dim`` finite numbers each (|mu| <= 1e3, |logvar| <= 1e3); an optional reconstruction is
  another 2-D uint8 image of at most 64 px a side.
- a point z: ``latent_dim`` finite numbers, each within +-10 (the map's prior has sigma 1).
- a vote: the index of one of the poll's choices.
- an activity's spec: draw and place need ``latent_dim`` (1 to 64); a poll needs a question (at most
  300 characters) and 2 to 8 different choices (at most 120 characters each).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from services.room.model import KINDS, Activity, RoomError

MAX_SIDE = 64
MIN_SIDE = 4
INK_LEVEL = 32  # of 255
MIN_INK_PIXELS = 3
Z_LIMIT = 10.0
ENCODING_LIMIT = 1e3
MAX_LATENT_DIM = 64
MAX_CHOICES, MIN_CHOICES = 8, 2
MAX_QUESTION, MAX_CHOICE, MAX_PROMPT, MAX_NOTE, MAX_NAME = 300, 120, 300, 500, 200
MAX_SCENE = 10_000

SPEC_KEYS = {"draw": {"latent_dim", "prompt", "model", "target"},
             "place": {"latent_dim", "prompt", "model", "target"},
             "poll": {"question", "choices", "prompt", "model"}}
ANSWER_KEYS = {"draw": {"note"}, "place": {"z", "note"}, "poll": {"choice", "note"}}


def _text(value: Any, name: str, limit: int, code: str, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        need = "a non-empty text" if required else "a text"
        raise RoomError(code, f"{name} must be {need} of at most {limit} characters.")
    return value.strip()


def _whole(value: Any, name: str, low: int, high: int, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= int(value) <= high:
        raise RoomError(code, f"{name}={value!r} must be a whole number from {low} to {high}.")
    return int(value)


def check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise RoomError("bad_spec", f"kind={kind!r} is not an activity: use one of {', '.join(KINDS)}.")
    return kind


def check_spec(kind: Any, spec: Any) -> dict[str, Any]:
    """An activity's spec as stored (unknown keys refused, texts stripped)."""
    kind = check_kind(kind)
    if not isinstance(spec, dict):
        raise RoomError("bad_spec", f"A {kind} activity needs its spec as a dict of {', '.join(sorted(SPEC_KEYS[kind]))}.")
    unknown = sorted(set(map(str, spec)) - SPEC_KEYS[kind])
    if unknown:
        raise RoomError("bad_spec", f"A {kind} activity's spec has unknown key(s) {', '.join(unknown)}: "
                                    f"use {', '.join(sorted(SPEC_KEYS[kind]))}.")
    out: dict[str, Any] = {}
    for key in ("prompt", "model", "target"):
        if spec.get(key) is not None:
            out[key] = _text(spec[key], key, MAX_PROMPT if key == "prompt" else MAX_NAME, "bad_spec")
    if kind in ("draw", "place"):
        out["latent_dim"] = _whole(spec.get("latent_dim"), "latent_dim", 1, MAX_LATENT_DIM, "bad_spec")
        return out
    out["question"] = _text(spec.get("question"), "The poll's question", MAX_QUESTION, "bad_spec", required=True)
    choices = spec.get("choices")
    if not isinstance(choices, (list, tuple)) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise RoomError("bad_spec", f"A poll needs {MIN_CHOICES} to {MAX_CHOICES} choices as a list of texts.")
    out["choices"] = [_text(c, f"Choice {i + 1}", MAX_CHOICE, "bad_spec", required=True) for i, c in enumerate(choices)]
    if len(set(out["choices"])) != len(out["choices"]):
        raise RoomError("bad_spec", "A poll's choices must all be different.")
    return out


def check_scene(index: Any, deck: Any) -> tuple[int, str]:
    return (_whole(index, "The scene index", 0, MAX_SCENE, "bad_scene"),
            _text(deck, "The deck's name", MAX_NAME, "bad_scene"))


def _floats(values: Any, n: int, limit: float, name: str, code: str, what_to_do: str) -> tuple[float, ...]:
    """``n`` finite numbers within +-limit, as Python floats (exact in JSON)."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if not isinstance(values, (list, tuple)) or len(values) != n:
        got = f"{len(values)} numbers" if isinstance(values, (list, tuple)) else type(values).__name__
        raise RoomError(code, f"{name} must be {n} numbers (this lecture's model has {n} latent dimensions), "
                              f"got {got}: {what_to_do}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise RoomError(code, f"{name} must hold only numbers, got {v!r}: {what_to_do}")
        if not math.isfinite(float(v)) or abs(float(v)) > limit:
            raise RoomError(code, f"{name} must hold finite numbers between -{limit:g} and {limit:g}, "
                                  f"got {float(v)!r}: {what_to_do}")
        out.append(float(v))
    return tuple(out)


def _image(image: Any, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 2 or image.dtype != np.uint8:
        desc = (f"{image.ndim}-D {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__)
        raise RoomError("bad_image", f"The {name} could not be read (a 2-D image of bytes is needed, got {desc}): "
                                     "draw it again and send.")
    h, w = image.shape
    if h > MAX_SIDE or w > MAX_SIDE:
        raise RoomError("too_large", f"The {name} is {h} x {w} px; at most {MAX_SIDE} x {MAX_SIDE} px are accepted: "
                                     "send a smaller one.")
    if h < MIN_SIDE or w < MIN_SIDE:
        raise RoomError("bad_image", f"The {name} is {h} x {w} px; at least {MIN_SIDE} x {MIN_SIDE} px are needed.")
    return np.ascontiguousarray(image)


def check_drawing(activity: Activity, image: Any, mu: Any, logvar: Any, reconstruction: Any = None) -> dict[str, Any]:
    """A drawing and its encoding as a submission's fields."""
    img = _image(image, "drawing")
    if int((img >= INK_LEVEL).sum()) < MIN_INK_PIXELS:
        raise RoomError("empty_drawing", "Your drawing is empty: draw a digit with your finger, then send.")
    n = activity.spec["latent_dim"]
    again = "encode the drawing again and send."
    out: dict[str, Any] = {"image": img.tobytes(), "image_shape": img.shape,
                           "mu": _floats(mu, n, ENCODING_LIMIT, "The encoding's mu", "bad_encoding", again),
                           "logvar": _floats(logvar, n, ENCODING_LIMIT, "The encoding's logvar", "bad_encoding", again)}
    if reconstruction is not None:
        rec = _image(reconstruction, "reconstruction")
        out.update(reconstruction=rec.tobytes(), reconstruction_shape=rec.shape)
    return out


def check_z(activity: Activity, z: Any) -> dict[str, Any]:
    n = activity.spec["latent_dim"]
    return {"z": _floats(z, n, Z_LIMIT, "Your point z", "bad_z", "move your point onto the map and send again.")}


def check_vote(activity: Activity, choice: Any) -> dict[str, Any]:
    n = len(activity.spec["choices"])
    if isinstance(choice, bool) or not isinstance(choice, (int, np.integer)) or not 0 <= int(choice) < n:
        raise RoomError("bad_choice", f"That choice does not exist (the poll has {n} choices): tap one of them "
                                      "and send again.")
    return {"choice": int(choice)}


def check_answer(activity: Activity, answer: Any) -> dict[str, Any]:
    """The revealed answer: poll ``choice`` (the right choice's index), place ``z`` (a point), and for any
    kind a ``note`` (text shown with it)."""
    keys = ANSWER_KEYS[activity.kind]
    if not isinstance(answer, dict) or not answer or set(map(str, answer)) - keys:
        raise RoomError("bad_answer", f"A {activity.kind} activity's answer is a dict of {', '.join(sorted(keys))}.")
    out: dict[str, Any] = {}
    if "choice" in answer:
        out["choice"] = check_vote(activity, answer["choice"])["choice"]
    if "z" in answer:
        out["z"] = list(_floats(answer["z"], activity.spec["latent_dim"], Z_LIMIT, "The answer's z", "bad_answer",
                                "compute it again."))
    if "note" in answer:
        out["note"] = _text(answer["note"], "The answer's note", MAX_NOTE, "bad_answer")
    return out


def check_cursor(cursor: Any) -> int:
    if isinstance(cursor, bool) or not isinstance(cursor, (int, np.integer)) or cursor < 0:
        raise RoomError("bad_cursor", f"cursor={cursor!r} must be a whole number >= 0 (0: from the start).")
    return int(cursor)


def check_limit(limit: Any) -> int:
    return _whole(limit, "limit", 1, 10_000, "bad_cursor")
