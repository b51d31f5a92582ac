"""Showing decoded images: crisp nearest-neighbour upscaling, exact PNG pixels."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from vae_core.render.images import tile, to_png, to_uint8, upscale

_PNG_CACHE: OrderedDict[bytes, tuple] = OrderedDict()  # content hash -> (PNG, source), shared by the sessions
_PNG_CACHE_ENTRIES = 1024
_PNG_LOCK = threading.Lock()


def _encoded(arr: np.ndarray) -> tuple[bytes, object]:
    """(PNG, the image's st.image source) of a uint8 image, made once per server: a page rerun shows the same test
    images, grids and samples again, and hashing them costs a fraction of encoding them."""
    arr = np.ascontiguousarray(arr)
    h = hashlib.blake2b(str(arr.shape).encode(), digest_size=16)
    h.update(arr.data)
    key = h.digest()
    with _PNG_LOCK:
        found = _PNG_CACHE.get(key)
        if found is not None:
            _PNG_CACHE.move_to_end(key)
            return found
    png = to_png(arr)
    found = (png, image_source(png, arr.shape[1]))
    with _PNG_LOCK:
        _PNG_CACHE[key] = found
        while len(_PNG_CACHE) > _PNG_CACHE_ENTRIES:
            _PNG_CACHE.popitem(last=False)
    return found


def png_bytes(arr: np.ndarray) -> bytes:
    """The PNG of a uint8 image, encoded once per server (see _encoded)."""
    return _encoded(arr)[0]


# Streamlit scales an image wider than this down on the server (image_utils.MAXIMUM_CONTENT_WIDTH); a narrower one
# it sends unchanged, as an inline image is.
INLINE_MAX_WIDTH = 1460


def image_source(png: bytes, width: int):
    """What st.image is given for a PNG ``width`` pixels wide: a data: URL, which travels inside the page's
    message, so that the browser makes no request for it and Streamlit neither opens it again nor stores it for
    the session at every run (a media file costs the server a request per image and page view); the PNG itself
    when it is wider than Streamlit sends unscaled, so that it is scaled down as before."""
    if width > INLINE_MAX_WIDTH:
        return png
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def data_url(path) -> str:
    """A small file (the app's icon and logo) as a data: URL, its type from its suffix (.png or .svg)."""
    import base64
    from pathlib import Path

    path = Path(path)
    kind = {".png": "image/png", ".svg": "image/svg+xml"}[path.suffix]
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def scale_for(height: int, target: int) -> int:
    """Integer upscaling factor that brings an image of this height near target pixels."""
    return max(1, round(target / max(height, 1)))


def describe_z(z, limit: int = 6) -> str:
    """z for an image's text alternative: "z = (1.50, -0.50)"; past ``limit`` dimensions the first ones and
    how many there are."""
    values = [float(v) for v in np.asarray(z, dtype=np.float64).reshape(-1)]
    shown = ", ".join(f"{v:.2f}" for v in values[:limit])
    return f"z = ({shown}{f', ... {len(values)} dimensions' if len(values) > limit else ''})"


def decoded_alt(model: str, z, class_name: str | None = None) -> str:
    """The text alternative of an image a model decoded from z."""
    return f"the image {model} decodes at {describe_z(z)}" + (f", class {class_name}" if class_name else "")


def show_image(image, caption: str | None = None, target: int = 320, inline: bool = False, *, alt: str) -> None:
    """One image, (C, H, W) float in [0, 1] or (H, W[, C]) uint8, shown about target px tall. ``alt`` says what it
    shows, for a screen reader (a decoded image: its z and the model); the caption, shown to all, is not read
    in its place.

    ``inline``: the PNG travels inside the page's message as a data: URL instead of being fetched
    from the server's media store afterwards: one round trip less, for images redrawn on every
    slider release (a busy server answers that fetch late). It holds the image at its own size, and
    the browser draws it ``scale`` times larger with crisp pixels (HALL_CSS's ``pixelated``): encoding
    the enlarged picture took about ten times as long, on every release."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)[0]
    scale = scale_for(arr.shape[0], target)
    if inline:  # a new image on every slider release: not cached
        import base64

        st.image("data:image/png;base64," + base64.b64encode(to_png(arr)).decode("ascii"), caption=caption,
                 width=arr.shape[1] * scale, output_format="PNG", alt=alt)
        return
    st.image(_encoded(upscale(arr, scale))[1], caption=caption, output_format="PNG", alt=alt)


def grid_image(images, ncols: int, cell: int = 96) -> np.ndarray:
    """(N, C, H, W) floats (or uint8 (N, H, W[, C])) tiled into one uint8 picture, each cell about ``cell`` px."""
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)
    return upscale(tile(arr, ncols, pad=1), scale_for(arr.shape[1] + 1, cell))


def show_grid(images, ncols: int, caption: str | None = None, cell: int = 96, *, alt: str) -> np.ndarray:
    """Tile (N, C, H, W) floats (or uint8 (N, H, W[, C])) into a grid image, show it with the text alternative
    ``alt``, and return it."""
    grid = grid_image(images, ncols, cell)
    st.image(_encoded(grid)[1], caption=caption, output_format="PNG", alt=alt)
    return grid


class Picture:
    """A picture made once and shown again as it is: its pixels and their PNG (exact pixels), both read-only."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = np.ascontiguousarray(pixels)
        self.pixels.setflags(write=False)
        self.png = to_png(self.pixels)
        self.source = image_source(self.png, self.pixels.shape[1])

    def show(self, caption: str | None = None, *, alt: str) -> None:
        """The picture, with the text alternative ``alt`` that says what it shows (the caption is not read in
        its place)."""
        st.image(self.source, caption=caption, output_format="PNG", alt=alt)


def map_with_marks(canvas, ring: tuple[float, float] | None, stars=(), alt: str = "latent map",
                   caption: str = "") -> None:
    """A MapCanvas's fixed picture with a ring on ``ring`` and a star on each of ``stars``, placed by
    the browser: the picture is encoded once per model, so a slider release only sends the marks'
    positions (no image is drawn or encoded on the server)."""
    import html

    marks = []
    for x, y in stars:
        at = canvas.fraction(float(x), float(y))
        if at is not None:
            marks.append(f'<span class="vae-star" style="left:{at[0] * 100:.3f}%;top:{at[1] * 100:.3f}%">★</span>')
    at = canvas.fraction(*ring) if ring is not None else None
    if at is not None:
        marks.append(f'<span class="vae-ring" style="left:{at[0] * 100:.3f}%;top:{at[1] * 100:.3f}%"></span>')
    st.html(f'<figure class="vae-posmap-fig"><div class="vae-posmap" style="max-width:{canvas.base.width}px">'
            f'<img src="{canvas.base_data_url}" alt="{html.escape(alt)}">'
            + "".join(marks) + "</div>" + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
            + "</figure>"
            "<style>.vae-posmap-fig{margin:0}.vae-posmap{position:relative}.vae-posmap img{display:block;width:100%;"
            "height:auto}.vae-posmap-fig figcaption{font-size:.875rem;color:#5c5c5c;margin-top:.25rem}"
            ".vae-posmap span{position:absolute;transform:translate(-50%,-50%);pointer-events:none}"
            ".vae-posmap .vae-ring{width:26px;height:26px;border:4px solid #000;border-radius:50%;"
            "box-shadow:0 0 0 2px #fff}.vae-posmap .vae-star{font-size:20px;line-height:1;color:#000;"
            "text-shadow:0 0 2px #fff}</style>")


def position_map_data(canvas, dims: tuple[int, int], stars=(), caption: str = "", alt: str = "latent map") -> dict:
    """What a browser component needs to place a ring on a MapCanvas's fixed picture itself (the live
    sliders move it while a thumb is dragged): the picture, its plot box and extent, the latent axes
    ``dims`` and the saved points' positions as fractions of the picture."""
    marks = [canvas.fraction(float(x), float(y)) for x, y in stars]
    return {"url": canvas.base_data_url, "width": canvas.base.width, "height": canvas.base.height,
            "box": [float(v) for v in canvas.box], "extent": [float(v) for v in canvas.extent],
            "dims": [int(d) for d in dims], "stars": [[float(v) for v in m] for m in marks if m is not None],
            "caption": caption, "alt": alt}
