"""The Models page's state: the model to download, the two models compared (A and B), how many images and
which draw of them. The pair starts on the loaded model and its partner (a preset, else another model of
the same data) and starts again when another model is loaded."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

DOWNLOAD, A, B, FOR, SEED, N, ALL_COLUMNS = ("models_download", "models_a", "models_b", "models_for", "models_seed",
                                             "models_n", "models_all_columns")


def start(loaded_path: str, paths: list[str], default_pair: Callable[[str], tuple[str, str | None]],
          partner: Callable[[str], str | None]) -> None:
    """Settle the download choice and the pair against the models there are now."""
    ss = st.session_state
    if ss.get(DOWNLOAD) not in paths:
        ss[DOWNLOAD] = loaded_path if loaded_path in paths else paths[0]
    if ss.get(FOR) != loaded_path or ss.get(A) not in paths:
        ss[FOR] = loaded_path
        ss[A], ss[B] = default_pair(loaded_path if loaded_path in paths else paths[0])
    if ss.get(B) not in paths:
        ss[B] = partner(ss[A]) or next((p for p in paths if p != ss[A]), None)
    ss.setdefault(SEED, 0)


def use_pair(a: str, b: str) -> None:
    """A preset's callback: compare these two."""
    st.session_state[A], st.session_state[B] = a, b


def other_images() -> None:
    st.session_state[SEED] = st.session_state.get(SEED, 0) + 1


def seed() -> int:
    return int(st.session_state.get(SEED, 0))
