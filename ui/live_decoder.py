"""The live latent-slider component: sliders and decoder in the browser (components v2).

The decoder program (vae_core.decoder_program) reaches the browser once per model: the
component reports the model hash it holds in its ``loaded`` state, and the weights are only
sent while that hash differs. Moving a slider decodes and redraws in JavaScript at once; the
new z comes back to Python (``z`` state) when the thumb is released, so the rest of the page
follows.
"""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import streamlit as st

from vae_core.decoder_program import UnsupportedDecoder, decoder_program

from .models import load_model, stamp

_HERE = Path(__file__).parent
_HTML = """
<div class="vae-live">
  <canvas width="1" height="1" aria-label="decoded image"></canvas>
  <div class="panel">
    <div class="buttons">
      <button class="reset" type="button">Reset to 0</button>
      <button class="randomize" type="button">Randomize</button>
      <select class="play-dim" aria-label="dimension to animate"></select>
      <button class="play" type="button">▶ Play</button>
    </div>
    <div class="sliders"></div>
  </div>
</div>
"""
_component = st.components.v2.component(
    "vae_live_decoder", html=_HTML, css=(_HERE / "live_decoder.css").read_text(),
    js=(_HERE / "live_decoder.js").read_text())


@st.cache_data(max_entries=16, show_spinner=False)
def _program(path: str, _stamp: str) -> tuple[dict, str]:
    spec, blob = decoder_program(load_model(path).model)
    return spec, base64.b64encode(blob).decode("ascii")


def browser_program(path: str) -> tuple[dict, str] | None:
    """(spec, base64 weights) for a model, or None when its decoder cannot run in the browser."""
    try:
        return _program(path, stamp(path))
    except UnsupportedDecoder:
        return None


def live_sliders(path: str, values: np.ndarray, dims: list[int], names: list[str], *,
                 offset: np.ndarray | None = None, scale: np.ndarray | None = None,
                 inactive: list[bool] | None = None, label: int = 0, version: int = 0, size: int = 400,
                 key: str = "live_decoder") -> list[float] | None:
    """Draw the component; returns the slider values the browser last sent back (on release), or None.

    ``values`` holds one value per latent dimension in slider units; the decoder gets
    z = offset + scale * values (offset 0 and scale 1 for a VAE, whose sliders are z itself).
    Only ``dims`` get a slider; the others stay at their value. A new ``version`` makes the
    browser take ``values`` again (after a reset or "use this image" on the server)."""
    program = browser_program(path)
    if program is None:
        return None
    spec, weights = program
    held = (st.session_state.get(key) or {}).get("loaded")
    data = {
        "sha": spec["sha256"], "spec": spec, "z": [float(v) for v in values], "dims": list(map(int, dims)),
        "offset": None if offset is None else [float(v) for v in offset],
        "scale": None if scale is None else [float(v) for v in scale],
        "names": names, "inactive": inactive or [False] * len(dims), "label": int(label),
        "version": version, "size": size, "range": 3.0, "step": 0.01,
        "weights_loaded_ack": held == spec["sha256"],
    }
    if held != spec["sha256"]:
        data["weights"] = weights
    result = _component(key=key, data=data, on_z_change=lambda: None, on_loaded_change=lambda: None)
    got = getattr(result, "z", None)
    return list(got) if got else None
