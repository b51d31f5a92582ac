"""The models a session can pick (bundled, saved, trained in this session, uploaded) and a checkpoint's stamp.

ui.loaded_model loads a picked model; its cache keys on the stamp, which changes whenever the checkpoint
folder is rewritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from vae_core.store.checkpoints import list_checkpoints
from vae_core.store.paths import BUNDLED_DIR, runs_dir, session_runs_dir, share_trained, uploads_dir

from .identity import browser_key

DEFAULT_MODEL = "mnist5k-2d"


@dataclass(frozen=True)
class ModelChoice:
    path: str
    label: str  # shown in the picker
    origin: str  # "bundled", "saved" (every session), "trained" (in this session) or "uploaded"


def stamp(path: str | Path) -> str:
    """Changes whenever the checkpoint folder is rewritten (an atomic save replaces the folder)."""
    p = Path(path)
    try:
        st_ = (p / "model.safetensors").stat()
        return f"{st_.st_mtime_ns}-{st_.st_size}-{p.stat().st_ino}"
    except OSError:
        return "missing"


def session_id() -> str:
    """The folder key of this browser (ui.identity): its uploads and trained models are under it."""
    st.session_state.session_uid = browser_key()
    return st.session_state.session_uid


_bundled: dict[str, object] = {}  # the bundled checkpoints, listed once per change of their folder


def _bundled_choices() -> list[ModelChoice]:
    try:
        mark = BUNDLED_DIR.stat().st_mtime_ns
    except OSError:
        mark = None
    if _bundled.get("mark") != mark or "choices" not in _bundled:
        _bundled["choices"] = [ModelChoice(str(p), p.name, "bundled") for p in list_checkpoints(BUNDLED_DIR)]
        _bundled["mark"] = mark
    return list(_bundled["choices"])


def model_choices() -> list[ModelChoice]:
    choices = _bundled_choices()
    choices += [ModelChoice(str(p), f"{p.name} (saved)", "saved") for p in list_checkpoints(runs_dir())]
    if not share_trained():  # then this session's trainings are in its own folder
        choices += [ModelChoice(str(p), f"{p.name} (trained)", "trained")
                    for p in list_checkpoints(session_runs_dir(session_id()))]
    choices += [ModelChoice(str(p), f"{p.name} (uploaded)", "uploaded")
                for p in list_checkpoints(uploads_dir(session_id()))]
    return choices
