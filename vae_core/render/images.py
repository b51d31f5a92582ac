"""Images out of tensors: uint8 arrays, tiled grids, upscaling, PNGs (one image, or many on one sheet) and GIFs."""
from __future__ import annotations

import base64
import io

import numpy as np


def to_uint8(images) -> np.ndarray:
    """(N, C, H, W) or (C, H, W) floats in [0, 1] -> (N, H, W) or (N, H, W, 3) uint8 (channel last)."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    arr = np.nan_to_num(arr, nan=0.0).clip(0, 1)
    out = (arr * 255 + 0.5).astype(np.uint8)
    return out[:, 0] if out.shape[1] == 1 else out.transpose(0, 2, 3, 1)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling: crisp pixels, readable from the back of a hall."""
    factor = max(1, int(factor))
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def tile(images: np.ndarray, ncols: int, pad: int = 1, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 images (N, H, W[, C]) into one grid image, row-major."""
    n = len(images)
    if n == 0:
        raise ValueError("no images to tile")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    h, w = images.shape[1:3]
    extra = images.shape[3:]
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, *extra), pad_value, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = img
    return grid


def to_png(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def to_gif(frames: np.ndarray, fps: float = 12.0, loop: bool = True, bounce: bool = True) -> bytes:
    """Animated GIF from uint8 frames (N, H, W[, C]); bounce plays forward then back."""
    from PIL import Image

    seq = list(frames) + (list(frames[-2:0:-1]) if bounce and len(frames) > 2 else [])
    pil = [Image.fromarray(f) for f in seq]
    buf = io.BytesIO()
    pil[0].save(buf, format="GIF", save_all=True, append_images=pil[1:], duration=int(1000 / fps),
                loop=0 if loop else 1)
    return buf.getvalue()


def thumbnail_uri(image: np.ndarray, factor: int = 1) -> str:
    """A uint8 image (H, W[, C]) as a PNG data URI, upscaled by an integer factor (nearest neighbour)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"thumbnail_uri needs a uint8 image, got {img.dtype}")
    return "data:image/png;base64," + base64.b64encode(to_png(upscale(img, factor))).decode("ascii")


def thumbnail_sprite(images: np.ndarray) -> dict:
    """All the images (N, H, W[, C]) uint8 in one PNG, row-major on a near-square grid, for hover previews:
    {"uri": PNG data URI, "n", "cols", "rows", "h", "w"}. Image i is at column i % cols, row i // cols.
    One PNG instead of N (1,000 thumbnails: 0.17 s to encode one by one, 10 ms as one sheet)."""
    imgs = np.asarray(images)
    if imgs.dtype != np.uint8 or imgs.ndim not in (3, 4):
        raise ValueError(f"thumbnail_sprite needs uint8 images (N, H, W[, C]), got {imgs.dtype} {imgs.shape}")
    n, h, w = imgs.shape[:3]
    cols = max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, -(-n // cols))
    sheet = np.zeros((rows * h, cols * w, *imgs.shape[3:]), np.uint8)
    for i, img in enumerate(imgs):
        r, c = divmod(i, cols)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    uri = "data:image/png;base64," + base64.b64encode(to_png(sheet)).decode("ascii")
    return {"uri": uri, "n": int(n), "cols": cols, "rows": rows, "h": int(h), "w": int(w)}
