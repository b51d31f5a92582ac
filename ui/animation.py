"""An animation the reader can pause: the frames of a GIF shown in the browser with Pause / Play (WCAG 2.2.2),
still on its first frame for a reader who asks for reduced motion. The GIF itself is what the download
buttons offer."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .component_data import component, component_data
from .images import png_bytes

_HTML = ('<figure class="vae-anim"><img alt=""><figcaption hidden></figcaption>'
         '<div class="controls"><button class="toggle" type="button">Pause</button>'
         '<span class="frame"></span></div></figure>')
_CSS = """
.vae-anim { margin: 0; font-family: inherit; }
.vae-anim img { display: block; max-width: 100%; height: auto; image-rendering: pixelated; }
.vae-anim figcaption { font-size: .875rem; color: #5c5c5c; margin-top: .25rem; }
.vae-anim .controls { display: flex; align-items: center; gap: .8rem; margin-top: .4rem; }
.vae-anim button { font: inherit; min-height: 2.2rem; min-width: 5rem; padding: .3rem .9rem; border-radius: .5rem;
  border: 1px solid #8a8a8a; background: #fff; color: #111; cursor: pointer; }
.vae-anim button:hover { border-color: #4f46e5; color: #4f46e5; }
.vae-anim button:focus-visible { outline: 3px solid #4f46e5; outline-offset: 2px; }
.vae-anim .frame { font-variant-numeric: tabular-nums; color: #444; }
"""
_component = component("vae_animation", html=_HTML, css=_CSS,
                       js=(Path(__file__).parent / "js" / "animation.js").read_text())


def animation(frames: np.ndarray, *, alt: str, name: str, fps: float, key: str, caption: str = "") -> None:
    """Show uint8 ``frames`` (N, H, W[, C]) forward then back at ``fps``, with a Pause / Play button named after
    ``name`` ("the lerp path") and the text alternative ``alt`` on every frame."""
    pngs = [png_bytes(f) for f in frames]  # each frame's PNG, a part of its own (the browser makes it an image)
    digest = hashlib.blake2b(b"".join(pngs), digest_size=8).hexdigest()
    header = {"frames": len(pngs), "fps": float(fps), "alt": alt, "name": name, "caption": caption, "key": digest,
              "width": int(frames.shape[2])}
    _component(key=key, data=component_data(header, {f"frame{k}": np.frombuffer(p, np.uint8)
                                                     for k, p in enumerate(pngs)}))
