"""A drawing or an uploaded picture turned into what the model was trained on.

The datasets centre their images in a fixed way, and an encoder only understands images
prepared the same way. MNIST (LeCun et al.): the digit's bounding box is scaled to 20x20
(longest side 20 px, anti-aliased), then pasted into the 28x28 frame so that its centre of mass
sits at the frame's centre. scikit-learn's 8x8 digits: the digit fills the frame's height, grey
levels come from counting ink in 4x4 blocks. Fashion-MNIST: the item fills the frame.

``DatasetStyle.from_images`` measures these numbers (box size, centre of mass, peak
brightness) on a model's own stored test images, so one procedure serves every dataset:

    image -> grey, ink bright on a dark background (inverted when the border is light)
          -> crop to the ink's bounding box
          -> thicken the strokes when they are much thinner than the dataset's (ink coverage of the box)
          -> scale the longest side to the dataset's box size (area averaging)
          -> paste so the centre of mass lands where the dataset's does
          -> values in [0, 1], brightest pixel at the dataset's typical peak.
"""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # a photo of a digit needs far less
MAX_PIXELS = 25_000_000  # refuse larger pictures before decoding them (decompression bombs)
INK_THRESHOLD = 0.2  # a pixel is ink when brighter than this fraction of the brightest pixel
MIN_PEAK = 0.05  # a picture whose brightest pixel (after inversion) is below this has no ink
LIGHT_BORDER = 0.5  # a border brighter than this on average means dark ink on light paper
THIN = 0.7  # strokes are thickened when the ink covers less than this fraction of the dataset's coverage
THICK_ENOUGH = 0.85  # ... until it covers this fraction
WORK_PIXELS_PER_BOX_PIXEL = 8  # big pictures are first shrunk to this many pixels per target pixel
DATA_URL_PREFIX = "data:image/png;base64,"


class PreprocessError(ValueError):
    """The picture cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class DatasetStyle:
    """How a dataset frames its images: the numbers preprocessing copies."""

    height: int
    width: int
    box: float  # longest side of the ink's bounding box, as a fraction of the frame's longest side
    centre: tuple[float, float]  # (row, column) of the centre of mass, in pixels (0 = first pixel's centre)
    peak: float = 1.0  # the brightest pixel's value
    coverage: float = 0.0  # mean brightness inside the ink's box / peak: how thick the strokes are (0: any)

    @classmethod
    def mnist(cls, height: int = 28, width: int = 28) -> "DatasetStyle":
        """MNIST's rule scaled to the frame: a 20/28 box, centre of mass at the centre."""
        return cls(height, width, 20 / 28, ((height - 1) / 2, (width - 1) / 2), 1.0, 0.0)

    @classmethod
    def from_images(cls, images: np.ndarray) -> "DatasetStyle":
        """Measure the style on real images (N, H, W) uint8 or floats in [0, 1]: medians over the images."""
        arr = np.asarray(images)
        if arr.ndim == 4:  # (N, H, W, C): brightness
            arr = arr.mean(-1)
        if arr.ndim != 3 or len(arr) == 0:
            raise PreprocessError(f"need images of shape (N, H, W) to measure a style; got {arr.shape}")
        grey = arr.astype(np.float64) / (255.0 if arr.dtype == np.uint8 else 1.0)
        h, w = grey.shape[1:]
        boxes, rows, cols, peaks, covers = [], [], [], [], []
        for img in grey:
            peak = img.max()
            if peak < MIN_PEAK:
                continue
            y0, y1, x0, x1 = _ink_box(img)
            boxes.append(max(y1 - y0, x1 - x0) / max(h, w))
            covers.append(img[y0:y1, x0:x1].mean() / peak)
            r, c = centre_of_mass(img)
            rows.append(r)
            cols.append(c)
            peaks.append(peak)
        if not boxes:
            raise PreprocessError("the images are blank: no style can be measured from them")
        return cls(h, w, float(np.median(boxes)), (float(np.median(rows)), float(np.median(cols))),
                   float(np.median(peaks)), float(np.median(covers)))

    def box_pixels(self) -> int:
        return max(1, int(round(self.box * max(self.height, self.width))))


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the brightness-weighted mean position; the frame's centre for a blank image."""
    a = np.asarray(img, dtype=np.float64)
    total = a.sum()
    if total <= 0:
        return (a.shape[0] - 1) / 2, (a.shape[1] - 1) / 2
    rows = np.arange(a.shape[0], dtype=np.float64)
    cols = np.arange(a.shape[1], dtype=np.float64)
    return float(a.sum(1) @ rows / total), float(a.sum(0) @ cols / total)


def _ink_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), bottom and right exclusive, of the pixels brighter than INK_THRESHOLD * max."""
    ink = img > INK_THRESHOLD * img.max()
    rows = np.flatnonzero(ink.any(1))
    cols = np.flatnonzero(ink.any(0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area averaging when shrinking (grey edges, like the datasets'), bilinear when enlarging."""
    from PIL import Image

    shrink = height <= img.shape[0] and width <= img.shape[1]
    pil = Image.fromarray(img.astype(np.float32), mode="F")
    out = pil.resize((width, height), Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float64).clip(0, None)


def _fit(crop: np.ndarray, style: DatasetStyle) -> np.ndarray:
    """The ink (cropped to its box) scaled so its longest side is the dataset's box size."""
    y0, y1, x0, x1 = _ink_box(crop)
    crop = crop[y0:y1, x0:x1]
    scale = style.box_pixels() / max(crop.shape)
    h = min(style.height, max(1, int(round(crop.shape[0] * scale))))
    w = min(style.width, max(1, int(round(crop.shape[1] * scale))))
    return _resize(crop, h, w)


def _coverage(glyph: np.ndarray) -> float:
    peak = glyph.max()
    return float(glyph.mean() / peak) if peak > 0 else 0.0


def _dilate(img: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation with a disk: strokes grow by ``radius`` pixels on each side (the box grows too)."""
    from scipy.ndimage import grey_dilation

    padded = np.pad(img, radius)
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return grey_dilation(padded, footprint=(yy ** 2 + xx ** 2) <= radius ** 2)


def ink_on_dark(grey: np.ndarray) -> np.ndarray:
    """Bright ink on a dark background: a light border (paper) means the picture is inverted."""
    g = np.asarray(grey, dtype=np.float64)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    return 1.0 - g if border.mean() > LIGHT_BORDER else g


def center_like_dataset(grey: np.ndarray, style: DatasetStyle) -> np.ndarray:
    """Centre bright-on-dark ink (H', W') floats in [0, 1] the way the dataset does: (H, W) float32 in [0, 1].

    Raises PreprocessError when there is no ink."""
    g = np.nan_to_num(np.asarray(grey, dtype=np.float64), nan=0.0).clip(0, 1)
    if g.ndim != 2 or min(g.shape) < 1:
        raise PreprocessError(f"expected a 2-D grey image; got shape {g.shape}")
    # whatever a border shade is, it is background: measure ink against it
    g = (g - np.median(np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]]))).clip(0, None)
    if g.max() < MIN_PEAK:
        raise PreprocessError("there is nothing drawn: draw a digit (white on black) or upload a picture with "
                              "a clear dark-on-light or light-on-dark shape")
    y0, y1, x0, x1 = _ink_box(g)
    crop = g[y0:y1, x0:x1]
    side = style.box_pixels()
    limit = WORK_PIXELS_PER_BOX_PIXEL * side  # work at a few times the target size: fast, and enough detail
    if max(crop.shape) > limit:  # by a whole factor: area averaging twice then equals doing it once
        f = -(-max(crop.shape) // limit)
        crop = _resize(crop, max(1, round(crop.shape[0] / f)), max(1, round(crop.shape[1] / f)))
    glyph = _fit(crop, style)
    if style.coverage > 0 and _coverage(glyph) < THIN * style.coverage:
        # strokes much thinner than the dataset's (a fine pen on a small frame): thicken them step by step
        step_px = max(1, round(max(crop.shape) / side / 4))
        for radius in range(step_px, max(crop.shape) // 3, step_px):
            thick = _fit(_dilate(crop, radius), style)
            glyph = thick
            if _coverage(thick) >= THICK_ENOUGH * style.coverage:
                break
    if glyph.max() <= 0:
        raise PreprocessError("the drawing is too faint to see at the model's size: draw with thicker strokes")
    glyph = glyph / glyph.max() * style.peak
    h, w = glyph.shape
    r, c = centre_of_mass(glyph)
    top = int(np.clip(round(style.centre[0] - r), 0, style.height - h))
    left = int(np.clip(round(style.centre[1] - c), 0, style.width - w))
    out = np.zeros((style.height, style.width), np.float32)
    out[top:top + h, left:left + w] = glyph
    return out.clip(0, 1)


# -- reading pictures ------------------------------------------------------------------------------

def _composite(img) -> "object":
    """An image with transparency flattened onto the background its opaque pixels do not look like."""
    from PIL import Image

    rgba = img.convert("RGBA")
    arr = np.asarray(rgba, dtype=np.float64) / 255.0
    alpha = arr[..., 3]
    if alpha.min() >= 1.0:
        return rgba.convert("RGB")
    opaque = alpha > 0.5
    ink_lum = (arr[..., :3].mean(-1)[opaque].mean() if opaque.any() else 0.0)
    background = (255, 255, 255) if ink_lum < 0.5 else (0, 0, 0)
    flat = Image.new("RGB", rgba.size, background)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def read_picture(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> np.ndarray:
    """PNG / JPEG / GIF / BMP / WebP bytes -> (H, W) grey floats in [0, 1], as they are (not inverted).

    Raises PreprocessError for empty, too large or unreadable files."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise PreprocessError("the file is empty")
    if len(data) > max_bytes:
        raise PreprocessError(f"the file is {len(data) / 2**20:.1f} MB; pictures up to {max_bytes / 2**20:.0f} MB "
                              "are accepted. Crop or shrink it first.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise PreprocessError(f"the picture is {img.width}x{img.height} pixels; up to "
                                      f"{MAX_PIXELS / 1e6:.0f} megapixels are accepted. Shrink it first.")
            img.seek(0)  # the first frame of an animation
            img.load()
            flat = _composite(img)
    except PreprocessError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise PreprocessError("this file is not a picture that can be read: upload a PNG, JPEG, GIF, BMP or "
                              "WebP image") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise PreprocessError(f"the picture is damaged or truncated ({e}): export it again as PNG or JPEG") from e
    grey = np.asarray(flat.convert("L"), dtype=np.float32) / 255.0
    if min(grey.shape) < 4:
        raise PreprocessError(f"the picture is only {grey.shape[1]}x{grey.shape[0]} pixels: use a larger one")
    return grey


def decode_data_url(url: str, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The PNG bytes of a ``data:image/png;base64,...`` URL (what a canvas's toDataURL returns)."""
    if not isinstance(url, str) or not url.startswith(DATA_URL_PREFIX):
        raise PreprocessError("the drawing did not arrive as a PNG data URL")
    if len(url) > max_bytes * 4 // 3 + len(DATA_URL_PREFIX) + 4:
        raise PreprocessError("the drawing is too large")
    try:
        return base64.b64decode(url[len(DATA_URL_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as e:
        raise PreprocessError("the drawing's data is not valid base64") from e


def prepare(grey: np.ndarray, style: DatasetStyle, channels: int = 1) -> np.ndarray:
    """A picture (H', W') grey in [0, 1], any polarity -> the model's input (C, H, W) float32 in [0, 1]."""
    out = center_like_dataset(ink_on_dark(grey), style)
    return np.repeat(out[None], channels, axis=0)


def prepare_bytes(data: bytes, style: DatasetStyle, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Uploaded bytes -> (the picture as read (H', W') grey, the model's input (C, H, W))."""
    grey = read_picture(data)
    return grey, prepare(grey, style, channels)
