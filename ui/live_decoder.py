"""Components that decode in the browser (components v2, inline JavaScript, no build step).

- ``live_sliders``: latent sliders and the decoder; each input event decodes and redraws in
  JavaScript, with the readout and the position map's ring, and the new z comes back to Python
  (``z`` state) when the thumb is released.
- ``pointer_decoder``: decodes the latent-plane point under the mouse on the latent map.

The decoder program (vae_core.model.decoder_program) reaches the browser once per model and session
(``_model_data``). Both components share the decoder code (ui/js/decoder_core.js) and cache.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from .component_data import component, component_data
from .loaded_model import LoadedModel

_JS = Path(__file__).parent / "js"
_CORE = (_JS / "decoder_core.js").read_text()
_SLIDERS_HTML = """
<div class="vae-live">
  <canvas width="1" height="1" role="img" aria-label="decoded image"></canvas>
  <div class="panel">
    <div class="buttons">
      <button class="reset" type="button">Reset to 0</button>
      <button class="randomize" type="button">Randomize</button>
      <select class="play-dim" aria-label="dimension to animate"></select>
      <button class="play" type="button" aria-pressed="false"><span aria-hidden="true">▶</span> Play</button>
    </div>
    <div class="sliders"></div>
    <div class="readout"><span class="numbers"></span><code class="vector"></code></div>
  </div>
  <figure class="posmap" hidden><div class="frame"><img alt=""><span class="vae-ring" hidden></span></div>
    <figcaption></figcaption></figure>
</div>
"""
_POINTER_HTML = """
<div class="vae-pointer">
  <canvas width="1" height="1" role="img" aria-label="image decoded under the pointer"></canvas>
  <div class="readout"></div>
</div>
"""
_POINTER_CSS = """
.vae-pointer canvas[width="1"] { display: none; }
.vae-pointer canvas { image-rendering: pixelated; image-rendering: crisp-edges; border-radius: 6px;
  border: 1px solid #ccc; background: #000; max-width: 100%; height: auto !important; }
.vae-pointer .readout { font-size: 1.05rem; font-variant-numeric: tabular-nums; color: #444; margin-top: .3rem; }
.vae-pointer.presenter .readout { font-size: 22px; color: #222; }
"""
_sliders_component = component("vae_live_sliders", html=_SLIDERS_HTML, css=(_JS / "live_sliders.css").read_text(),
                              js=_CORE + (_JS / "live_sliders.js").read_text())
_pointer_component = component("vae_pointer_decoder", html=_POINTER_HTML, css=_POINTER_CSS,
                               js=_CORE + (_JS / "map_pointer.js").read_text())


SENT_KEY = "_live_decoder_weights_sent"  # the model hashes whose weights this session's browser window got


def _model_data(loaded: LoadedModel, key: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The component's data about the model, and its weights (part "weights", float32) if this session has not
    sent them yet.

    The browser keeps weights per window, for every component, and a session lives as long as its
    window, so each model's weights go out once per session with no round trip to confirm them (a
    confirmation would rerun the whole page while the first screen is drawn). Should the browser not
    hold them after all, its component asks (state "loaded" = "") and gets them again."""
    program = loaded.browser_program()
    if program is None:
        return None
    spec, weights = program
    sha = spec["sha256"]
    asked = (st.session_state.get(key) or {}).get("loaded") == ""
    sent = st.session_state.setdefault(SENT_KEY, set())
    data = {"sha": sha, "spec": spec, "asked": asked}
    if sha in sent and not asked:
        return data, {}
    sent.add(sha)
    return data, {"weights": np.frombuffer(weights, "<f4")}


def _prior_data(prior) -> dict | None:
    """What the browser needs to show log p(z): the prior as a mixture of diagonal Gaussians, and the length of a
    typical prior sample's z. None without a prior, or for one that is not such a mixture."""
    mixture = prior.as_mixture() if prior is not None else None
    if mixture is None:
        return None
    mu, logvar = mixture
    as_list = lambda a: np.asarray(a, np.float64).round(6).tolist()  # noqa: E731
    return {"mu": as_list(mu), "logvar": as_list(logvar), "typical": round(prior.typical_norm(), 6)}


def live_sliders(loaded: LoadedModel, values: np.ndarray, dims: list[int], names: list[str], *,
                 offset: np.ndarray | None = None, scale: np.ndarray | None = None,
                 inactive: list[bool] | None = None, label: int = 0, version: int = 0, size: int = 400,
                 prior=None, position_map: dict | None = None, hall: bool = False,
                 key: str = "live_decoder") -> list[float] | None:
    """Draw the component; returns the slider values the browser last sent back (on release) for this
    ``version`` of the values, or None.

    ``values`` holds one value per latent dimension in slider units; the decoder gets
    z = offset + scale * values (offset 0 and scale 1 for a VAE, whose sliders are z itself).
    Only ``dims`` get a slider; the others stay at their value. A new ``version`` makes the
    browser take ``values`` again (after a reset or "use its mu" on the server), and values it sent
    for an older version are ignored. The readout shows ||z||, and log p(z) with a ``prior``
    (vae_core.model.priors.Prior: the browser evaluates it as a mixture of Gaussians, Prior.as_mixture);
    ``position_map`` (ui.images.position_map_data) is the picture the ring moves on; ``hall`` sizes it
    all for a projector."""
    model = _model_data(loaded, key)
    if model is None:
        return None
    data, parts = model
    data.update({
        "z": [float(v) for v in values], "dims": list(map(int, dims)), "names": names,
        "offset": None if offset is None else [float(v) for v in offset],
        "scale": None if scale is None else [float(v) for v in scale],
        "inactive": inactive or [False] * len(dims), "label": int(label), "version": version, "size": size,
        "range": 3.0, "step": 0.01, "prior": _prior_data(prior), "posmap": position_map, "hall": bool(hall),
        "model_name": loaded.checkpoint.name,
    })
    result = _sliders_component(key=key, data=component_data(data, parts), on_z_change=lambda: None,
                                on_loaded_change=lambda: None)
    got = getattr(result, "z", None)
    if isinstance(got, dict) and got.get("version") == version and isinstance(got.get("values"), list):
        return list(got["values"])
    return None


def _readout(z: np.ndarray, dims: tuple[int, int | None], names: tuple[str, str] | None = None) -> str:
    dx, dy = dims
    nx, ny = names or (f"z{dx + 1}", f"z{dy + 1}" if dy is not None else "")
    text = f"{nx} = {float(z[dx]):.2f}"
    return text + (f", {ny} = {float(z[dy]):.2f}" if dy is not None else "")


def pointer_decoder(loaded: LoadedModel, chart_key: str, base: np.ndarray, dims: tuple[int, int | None], *,
                    label: int = 0, size: int = 300, key: str = "pointer_decoder", presenter: bool = False,
                    names: tuple[str, str] | None = None) -> bool:
    """Decode the latent point under the mouse on the latent map drawn with ``key=chart_key``
    (ui/scatter_map.py, whose browser code sends the map coordinates under the mouse).

    The chart's x and y are latent coordinates ``dims`` (y None for a 1-D latent); the other
    coordinates stay at ``base``; ``names`` are the two dimensions' names (default "z1", "z2", ...). Returns False
    when the decoder cannot run in the browser.

    Until the component has drawn, the page shows the same decoder's image of ``base`` computed here
    (vae_core.model.decoder_program.run_program, no torch): a plain image appears as soon as its element
    arrives, while the component's code still waits for the browser (which on a first visit is busy
    loading the chart's code). The component hides it once it draws."""
    model = _model_data(loaded, key)
    if model is None:
        return False
    data, parts = model
    base = np.asarray(base, np.float32)
    _, h, w = data["spec"]["image_shape"]
    height = round(size * h / w)
    uri = loaded.decoded_png_uri(tuple(float(v) for v in base), int(label))
    # st.markdown, not st.html: the markdown element's code is in the browser already (the page's title),
    # where st.html's would be fetched first, behind the page's other elements' code.
    st.markdown(f'<div class="vae-pointer-still"><img src="{uri}" alt="the decoder\'s image of z" width="{size}" '
                f'height="{height}" style="image-rendering:pixelated;border-radius:6px;border:1px solid #ccc;'
                f'background:#000"><div style="font-size:1.05rem;color:#444;margin-top:.3rem">'
                f'{_readout(base, dims, names)}</div></div>', unsafe_allow_html=True)
    data.update({"chart_key": chart_key, "base": [float(v) for v in base],
                 "dims": [int(dims[0]), None if dims[1] is None else int(dims[1])], "label": int(label),
                 "size": size, "presenter": bool(presenter), "names": list(names) if names else None})
    _pointer_component(key=key, data=component_data(data, parts), on_loaded_change=lambda: None)
    return True
