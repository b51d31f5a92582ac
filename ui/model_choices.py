"""The models a session can pick (bundled, saved, trained in this session, uploaded) and a checkpoint's stamp.

ui.loaded_model loads a picked model; its cache keys on the stamp, which changes whenever the checkpoint
folder is rewritten.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from vae_core.checkpoints import list_checkpoints
from vae_core.paths import BUNDLED_DIR, runs_dir, session_runs_dir, share_trained, uploads_dir

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
    if "session_uid" not in st.session_state:
        st.session_state.session_uid = os.urandom(8).hex()
    return st.session_state.session_uid


def model_choices() -> list[ModelChoice]:
    choices = [ModelChoice(str(p), p.name, "bundled") for p in list_checkpoints(BUNDLED_DIR)]
    choices += [ModelChoice(str(p), f"{p.name} (saved)", "saved") for p in list_checkpoints(runs_dir())]
    if not share_trained():  # then this session's trainings are in its own folder
        choices += [ModelChoice(str(p), f"{p.name} (trained)", "trained")
                    for p in list_checkpoints(session_runs_dir(session_id()))]
    choices += [ModelChoice(str(p), f"{p.name} (uploaded)", "uploaded")
                for p in list_checkpoints(uploads_dir(session_id()))]
    return choices
