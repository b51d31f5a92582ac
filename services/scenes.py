"""Scenes: a lecture prepared as a list of app views (model, page, projection, point, z, notes).

A scenes file is TOML or JSON::

    title = "Why a VAE?"

    [[scene]]
    title = "Every test image at its mu(x)"
    page = "latent_map"          # the page's address: latent_map, sliders, generate, draw, compare, ...
    model = "digits-2d"          # a bundled model's name, or a saved run's name
    projection = "latent"        # latent map and draw pages: latent, pca, tsne or umap
    point = 12                   # latent map and compare pages: the image index to select
    notes = "Point at the 1-sigma ellipses."

    [[scene]]
    title = "Walk along z1"
    page = "sliders"
    model = "digits-2d"
    z = [1.5, -0.5]              # the sliders' values (one per latent dimension, +-3)

    [scene.activity]             # optional: what the class does on their phones at this scene
    kind = "poll"                # draw (a digit), place (a point z) or poll (a question with choices)
    prompt = "Vote, then we look at the map."   # shown on the phones (draw and place: what to do)
    question = "Which class is closest to the origin?"   # poll only
    choices = ["0", "1", "7"]    # poll only: 2 to 8 different texts
    answer = "closest_class_to_origin"  # poll only, optional: vae_core.analysis.class_answers.ANSWERS

A draw or place activity needs the scene's model (the phones encode and decode with it); so does a poll
whose answer is computed. (JSON: ``{"title": ..., "scenes": [{...}, ...]}``.) Each scene becomes the page's address plus
its query parameters, so a scene is the same thing as a bookmarked link.
"""
from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from vae_core.analysis.class_answers import ANSWERS, says
from vae_core.model.config import SLIDER_LIMIT
from vae_core.projection import METHOD_NAMES

MAX_FILE_BYTES = 256 * 1024
MAX_SCENES = 200
MAX_TEXT = 4000  # characters of notes; titles are shorter
MAX_TITLE = 200
MAX_Z = 64
SCENE_FORMATS = {".toml": "toml", ".json": "json"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")
_PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
KNOWN_KEYS = {"title", "page", "model", "projection", "point", "z", "notes", "params", "activity"}
ACTIVITY_KINDS = ("draw", "place", "poll")
ACTIVITY_KEYS = {"draw": {"kind", "prompt"}, "place": {"kind", "prompt", "target"},
                 "poll": {"kind", "prompt", "question", "choices", "answer"}}
MAX_PROMPT, MAX_QUESTION, MAX_CHOICE, MIN_CHOICES, MAX_CHOICES = 300, 300, 120, 2, 8


class SceneError(ValueError):
    """A scenes file cannot be used; the message names the scene and the field."""


@dataclass(frozen=True)
class SceneActivity:
    """What the class does on their phones at a scene (services/room opens it as the room's activity)."""

    kind: str  # "draw", "place" or "poll"
    prompt: str = ""  # what to do, shown on the phones
    question: str = ""  # a poll's question
    choices: tuple[str, ...] = ()  # a poll's choices
    answer: str | None = None  # a poll's answer: a name in vae_core.analysis.class_answers.ANSWERS
    target: str = ""  # place: what the point should decode to (e.g. "3"), shown with the prompt


@dataclass(frozen=True)
class Scene:
    title: str
    page: str  # a page's address (url path), e.g. "sliders"
    model: str | None = None  # a model's name (never a path)
    params: dict[str, str] = field(default_factory=dict)  # the page's query parameters
    notes: str = ""
    activity: SceneActivity | None = None

    def query(self) -> dict[str, str]:
        """The query parameters that show this scene (the model included)."""
        out = dict(self.params)
        if self.model:
            out["model"] = self.model
        return out


@dataclass(frozen=True)
class Deck:
    title: str
    scenes: tuple[Scene, ...]
    source: str  # the file's name, for messages

    def __len__(self) -> int:
        return len(self.scenes)


def _text(value, where: str, limit: int, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise SceneError(f"{where} must be {'a non-empty' if required else 'a'} text")
    if len(value) > limit:
        raise SceneError(f"{where} has {len(value)} characters; at most {limit} are allowed")
    return value.strip()


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SceneError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def parse_scene(raw, index: int, pages: set[str] | None = None) -> Scene:
    """One scene from its table; ``pages`` are the page addresses the app has (None: any)."""
    where = f"scene {index + 1}"
    if not isinstance(raw, dict):
        raise SceneError(f"{where} must be a table of fields (title, page, ...), got {type(raw).__name__}")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise SceneError(f"{where} has unknown field(s) {', '.join(unknown)}: use {', '.join(sorted(KNOWN_KEYS))}")
    title = _text(raw.get("title"), f"{where}: title", MAX_TITLE, required=True)
    where = f"scene {index + 1} ({title!r})"
    page = _text(raw.get("page"), f"{where}: page", 100, required=True).removesuffix(".py").removeprefix("pages/")
    if pages is not None and page not in pages:
        raise SceneError(f"{where}: page={page!r} is not one of {', '.join(sorted(pages))}")
    model = raw.get("model")
    if model is not None:
        model = _text(model, f"{where}: model", 100)
        if not _NAME.match(model):
            raise SceneError(f"{where}: model={model!r} must be a model's name such as 'digits-2d', not a path")
    params: dict[str, str] = {}
    extra = raw.get("params") or {}
    if not isinstance(extra, dict):
        raise SceneError(f"{where}: params must be a table of names and values")
    for k, v in extra.items():
        if not isinstance(k, str) or not _PARAM.match(k):
            raise SceneError(f"{where}: params name {k!r} must be letters, digits and '_'")
        if isinstance(v, bool) or not isinstance(v, (str, int, float)) or (isinstance(v, float) and not math.isfinite(v)):
            raise SceneError(f"{where}: params.{k} must be a text or a finite number")
        params[k] = _text(str(v), f"{where}: params.{k}", 200)
    if "projection" in raw:
        proj = raw["projection"]
        if proj not in METHOD_NAMES:
            raise SceneError(f"{where}: projection={proj!r} is not one of {', '.join(METHOD_NAMES)}")
        params["projection"] = proj
    if "point" in raw:
        point = raw["point"]
        if isinstance(point, bool) or not isinstance(point, int) or point < 0:
            raise SceneError(f"{where}: point={point!r} must be an image index, a whole number >= 0")
        params["point"] = str(point)
    if "z" in raw:
        z = raw["z"]
        if not isinstance(z, list) or not 1 <= len(z) <= MAX_Z:
            raise SceneError(f"{where}: z must be a list of 1 to {MAX_Z} numbers")
        for d, v in enumerate(z):
            v = max(-SLIDER_LIMIT, min(SLIDER_LIMIT, _number(v, f"{where}: z[{d}]")))
            params[f"sliders_z{d + 1}"] = f"{v:g}"
    notes = _text(raw.get("notes"), f"{where}: notes", MAX_TEXT)
    activity = parse_activity(raw["activity"], where, model) if "activity" in raw else None
    return Scene(title=title, page=page, model=model, params=params, notes=notes, activity=activity)


def parse_activity(raw, where: str, model: str | None) -> SceneActivity:
    """A scene's ``[scene.activity]`` table; ``model`` is the scene's model (draw, place and a computed
    answer need one)."""
    where = f"{where}: activity"
    if not isinstance(raw, dict):
        raise SceneError(f"{where} must be a table ([scene.activity]) with kind = draw, place or poll")
    kind = raw.get("kind")
    if kind not in ACTIVITY_KINDS:
        raise SceneError(f"{where}: kind={kind!r} must be one of {', '.join(ACTIVITY_KINDS)}")
    unknown = sorted(set(raw) - ACTIVITY_KEYS[kind])
    if unknown:
        raise SceneError(f"{where} has field(s) a {kind} activity does not take: {', '.join(unknown)} "
                         f"(use {', '.join(sorted(ACTIVITY_KEYS[kind]))})")
    prompt = _text(raw.get("prompt"), f"{where}: prompt", MAX_PROMPT)
    if kind in ("draw", "place"):
        if model is None:
            raise SceneError(f"{where}: a {kind} activity needs the scene's model (model = \"mnist5k-2d\"): the "
                             "phones encode and decode with it")
        return SceneActivity(kind, prompt, target=_text(raw.get("target"), f"{where}: target", 40))
    question = _text(raw.get("question"), f"{where}: question", MAX_QUESTION, required=True)
    choices = raw.get("choices")
    if not isinstance(choices, list) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise SceneError(f"{where}: choices must be a list of {MIN_CHOICES} to {MAX_CHOICES} texts")
    texts = tuple(_text(c, f"{where}: choices[{i}]", MAX_CHOICE, required=True) for i, c in enumerate(choices))
    if len(set(texts)) != len(texts):
        raise SceneError(f"{where}: choices must all be different")
    answer = raw.get("answer")
    if answer is not None:
        if answer not in ANSWERS:
            raise SceneError(f"{where}: answer={answer!r} is not one of {', '.join(ANSWERS)} (the answers the app "
                             "computes from the model)")
        if model is None:
            raise SceneError(f"{where}: answer={answer!r} is computed from the scene's model: give the scene a "
                             "model")
        for value in ANSWERS[answer].values:
            if sum(says(c, value) for c in texts) != 1:
                raise SceneError(f"{where}: answer={answer!r} can be {value!r}: exactly one choice must start "
                                 f"with {value!r}")
    return SceneActivity(kind, prompt, question=question, choices=texts, answer=answer)


def parse_deck(text: str | bytes, fmt: str, source: str = "scenes", pages: Iterable[str] | None = None) -> Deck:
    """A deck of scenes from a TOML or JSON document; SceneError names what is wrong."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise SceneError(f"{source} is {len(text) // 1024} KB; scenes files up to {MAX_FILE_BYTES // 1024} KB "
                             "are accepted")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SceneError(f"{source} is not UTF-8 text") from e
    if len(text) > MAX_FILE_BYTES:
        raise SceneError(f"{source} is too large: scenes files up to {MAX_FILE_BYTES // 1024} KB are accepted")
    try:
        if fmt == "toml":
            doc = tomllib.loads(text)
        elif fmt == "json":
            doc = json.loads(text)
        else:
            raise SceneError(f"format={fmt!r} must be 'toml' or 'json'")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise SceneError(f"{source} is not valid {fmt.upper()}: {e}") from e
    if not isinstance(doc, dict):
        raise SceneError(f"{source} must hold a table with a list of scenes")
    raw_scenes = doc.get("scene", doc.get("scenes"))
    if not isinstance(raw_scenes, list) or not raw_scenes:
        raise SceneError(f"{source} has no scenes: add [[scene]] tables (TOML) or a \"scenes\" list (JSON)")
    if len(raw_scenes) > MAX_SCENES:
        raise SceneError(f"{source} has {len(raw_scenes)} scenes; at most {MAX_SCENES} are allowed")
    page_set = None if pages is None else set(pages)
    scenes = tuple(parse_scene(s, i, page_set) for i, s in enumerate(raw_scenes))
    title = _text(doc.get("title"), f"{source}: title", MAX_TITLE) or Path(source).stem
    return Deck(title=title, scenes=scenes, source=source)


def deck_format(name: str) -> str:
    fmt = SCENE_FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise SceneError(f"{name}: a scenes file ends in .toml or .json")
    return fmt


def load_deck(path: str | Path, pages: Iterable[str] | None = None) -> Deck:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise SceneError(f"{p.name} cannot be read: {e.strerror or e}") from e
    return parse_deck(data, deck_format(p.name), p.name, pages)


def list_decks(folder: str | Path) -> dict[str, Path]:
    """The scenes files of a folder by name (file stem), sorted."""
    d = Path(folder)
    if not d.is_dir():
        return {}
    return {p.stem: p for p in sorted(d.iterdir()) if p.is_file() and p.suffix.lower() in SCENE_FORMATS}


def step(index: int, delta: int, count: int) -> int:
    """The next or previous scene's index, staying within the deck (no wrap-around)."""
    if count <= 0:
        return 0
    return max(0, min(count - 1, index + delta))
