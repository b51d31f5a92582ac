"""Number inputs that take whatever is typed and say what they used.

Streamlit's number input with a min and max clamps a typed value in the browser and marks it with a
small icon; a value a lecture relies on (epochs, a seed) deserves a sentence. These inputs have no
bounds in the browser: Python holds the value to its range and says so beside the input, once."""
from __future__ import annotations

import math

import streamlit as st

_SAID = "_inputs_said"  # key -> the notice to show beside that input in the next run


def _hold(key: str, lo: float, hi: float, label: str, integer: bool) -> None:
    value = st.session_state.get(key)
    if value is None:
        return
    used = value if math.isfinite(value) else lo
    used = min(max(used, lo), hi)
    if integer:
        used = int(round(used))
    if used != value:
        st.session_state[key] = used
        where = "below" if value < lo else "above" if value > hi else "between"
        bound = {"below": f"the smallest, {lo:g}", "above": f"the largest, {hi:g}"}.get(where, "whole numbers")
        st.session_state.setdefault(_SAID, {})[key] = (
            f"{label} {value:g} is {where} {bound} (allowed: {lo:g} to {hi:g}): {used:g} is used.")


def number_in_range(label: str, lo: float, hi: float, value: float, *, key: str, step: float = 1,
                    integer: bool = True, where=st, **kwargs) -> float:
    """A number input over [lo, hi] that takes any typed number, holds it to the range and says so."""
    if key not in st.session_state:
        st.session_state[key] = int(value) if integer else float(value)
    got = where.number_input(label, step=int(step) if integer else float(step), key=key, on_change=_hold,
                             args=(key, lo, hi, label, integer), **kwargs)
    said = st.session_state.get(_SAID, {}).pop(key, None)
    if said:
        where.warning(said, icon=":material/info:")
    return got
