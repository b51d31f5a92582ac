"""Showing decoded images: crisp nearest-neighbour upscaling, exact PNG pixels."""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.render import tile, to_png, to_uint8, upscale


def scale_for(height: int, target: int) -> int:
    """Integer upscaling factor that brings an image of this height near target pixels."""
    return max(1, round(target / max(height, 1)))


def show_image(image, caption: str | None = None, target: int = 320, inline: bool = False) -> None:
    """One image, (C, H, W) float in [0, 1] or (H, W[, C]) uint8, shown about target px tall.

    ``inline``: the PNG travels inside the page's message as a data: URL instead of being fetched
    from the server's media store afterwards: one round trip less, for images redrawn on every
    slider release (a busy server answers that fetch late)."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)[0]
    big = upscale(arr, scale_for(arr.shape[0], target))
    if inline:
        import base64

        big = "data:image/png;base64," + base64.b64encode(to_png(big)).decode("ascii")
    st.image(big, caption=caption, output_format="PNG")


def show_grid(images, ncols: int, caption: str | None = None, cell: int = 96) -> np.ndarray:
    """Tile (N, C, H, W) floats (or uint8 (N, H, W[, C])) into a grid image, show it, and return it."""
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)
    grid = upscale(tile(arr, ncols, pad=1), scale_for(arr.shape[1] + 1, cell))
    st.image(grid, caption=caption, output_format="PNG")
    return grid


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
            "height:auto}.vae-posmap-fig figcaption{font-size:.875rem;color:rgba(49,51,63,.6);margin-top:.25rem}"
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
