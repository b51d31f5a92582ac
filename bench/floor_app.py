"""The floor: the least a Streamlit app can cost per click, to measure the app's clicks against.

Two pages, each a title, a caption, a toggle, a select box, a button and a 28x28 image (sent as a PNG, as
the app's small images are), and a slider in a fragment that redraws its own 28x28 image. Run with the
app's own settings (the project's .streamlit/config.toml: ``postScriptGC = false``), from the repository's
root: ``streamlit run bench/floor_app.py``. bench/rerun_cost.py drives it with the same clients as the app.

    page switch   a full run of the other page (the app: a page switch)
    toggle        the toggle flipped: a full run of the same page (the app: the Live toggle)
    slider        the fragment's slider released: a fragment run (the app: a slider move, Live off)
"""
from __future__ import annotations

import numpy as np
import streamlit as st

SIDE = 28


def digit(value: float) -> np.ndarray:
    """A 28x28 uint8 picture that changes with ``value``: a ring whose radius follows it."""
    yy, xx = np.mgrid[:SIDE, :SIDE] - (SIDE - 1) / 2
    radius = 6 + 2 * float(value)
    return (255 * np.exp(-((np.hypot(xx, yy) - radius) ** 2) / 4)).astype(np.uint8)


@st.fragment
def slider_part(name: str) -> None:
    z = st.slider("z", -3.0, 3.0, 0.0, 0.05, key=f"floor_{name}_z")
    st.image(digit(z), caption=f"decode(z) at z = {z:.2f}", width=280, output_format="PNG")


def floor_page(name: str) -> None:
    st.title(f"Floor {name}")
    st.caption("A title, a few widgets and an image; a slider in a fragment.")
    on = st.toggle("Switch", key=f"floor_{name}_switch")
    st.selectbox("Choice", ["first", "second", "third"], key=f"floor_{name}_choice")
    st.button("Button", key=f"floor_{name}_button")
    st.image(digit(1.0 if on else -1.0), caption="an image", width=280, output_format="PNG")
    slider_part(name)


nav = st.navigation([st.Page(lambda: floor_page("one"), title="Floor one", url_path="one", default=True),
                     st.Page(lambda: floor_page("two"), title="Floor two", url_path="two")])
nav.run()
