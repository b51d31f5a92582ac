"""A latent map as a PNG, drawn with Pillow: no browser, no network, the same picture every time.

Dots coloured by class on a framed plot with tick labels, an optional ring on a chosen point
(and its 1-sigma ellipse), an optional prior contour, and a legend of the classes on the right.
"""
from __future__ import annotations

import io
import math

import numpy as np

BACKGROUND = (255, 255, 255)
FRAME = (90, 90, 90)
GRID = (232, 232, 232)
TEXT = (30, 30, 30)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    if c.startswith("rgb"):
        parts = c[c.index("(") + 1:c.index(")")].split(",")
        return tuple(int(float(p)) for p in parts[:3])
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if not math.isfinite(span) or span <= 0:
        return [lo]
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


def map_png(emb: np.ndarray, labels: np.ndarray, class_names: list[str], colours: list[str], *,
            extent: tuple[float, float, float, float] | None = None, axis_titles: tuple[str, str] = ("", ""),
            title: str = "", highlight: tuple[float, float] | None = None,
            ellipse: tuple[float, float] | None = None, prior_sigmas: tuple[float, ...] = (),
            size: int = 900, dot: int = 5) -> bytes:
    """PNG bytes of the map: emb (N, 2) points with class ``labels`` (indices into class_names and colours).

    ``ellipse`` is (rx, ry) drawn around ``highlight``; ``prior_sigmas`` draws dashed circles of those radii
    around the origin (the prior N(0, I) on a native 2-D latent plane)."""
    from PIL import Image, ImageDraw

    emb = np.asarray(emb, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(labels).reshape(-1)
    if len(emb) != len(labels):
        raise ValueError(f"{len(emb)} points but {len(labels)} labels: give one label per point")
    finite = np.isfinite(emb).all(1)
    if extent is None:
        pts = emb[finite]
        if len(pts) == 0:
            extent = (-1.0, 1.0, -1.0, 1.0)
        else:
            (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
            mx, my = max((x1 - x0) * 0.05, 1e-3), max((y1 - y0) * 0.05, 1e-3)
            extent = (x0 - mx, x1 + mx, y0 - my, y1 + my)
    xmin, xmax, ymin, ymax = extent
    font, small = _font(max(12, size // 45)), _font(max(11, size // 55))
    legend_w = int(size * 0.2)
    left, right, top, bottom = int(size * 0.1), legend_w + 20, int(size * (0.08 if title else 0.03)), int(size * 0.1)
    width, height = size + legend_w, size
    pw, ph = width - left - right, height - top - bottom
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)

    def px(x, y):
        return left + (x - xmin) / (xmax - xmin) * pw, top + (ymax - y) / (ymax - ymin) * ph

    for t in nice_ticks(xmin, xmax):
        x, _ = px(t, ymin)
        draw.line([(x, top), (x, top + ph)], fill=GRID)
        draw.text((x, top + ph + 6), f"{t:g}", fill=TEXT, font=small, anchor="ma")
    for t in nice_ticks(ymin, ymax):
        _, y = px(xmin, t)
        draw.line([(left, y), (left + pw, y)], fill=GRID)
        draw.text((left - 8, y), f"{t:g}", fill=TEXT, font=small, anchor="rm")
    for s in prior_sigmas:
        ang = np.linspace(0, 2 * np.pi, 121)
        ring = [px(s * math.cos(a), s * math.sin(a)) for a in ang]
        for i in range(0, len(ring) - 1, 2):  # dashed
            draw.line([ring[i], ring[i + 1]], fill=(120, 120, 120), width=2)
    rgb = [hex_to_rgb(c) for c in colours]
    order = np.random.default_rng(0).permutation(len(emb))  # no class painted wholly on top of another
    for i in order:
        if not finite[i]:
            continue
        x, y = px(*emb[i])
        if left <= x <= left + pw and top <= y <= top + ph:
            c = rgb[int(labels[i]) % len(rgb)]
            draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=c, outline=(255, 255, 255))
    if highlight is not None and all(map(math.isfinite, highlight)):
        hx, hy = px(*highlight)
        if ellipse is not None:
            ex = ellipse[0] / (xmax - xmin) * pw
            ey = ellipse[1] / (ymax - ymin) * ph
            draw.ellipse([hx - ex, hy - ey, hx + ex, hy + ey], outline=(0, 0, 0), width=3)
        r = dot * 3
        draw.ellipse([hx - r, hy - r, hx + r, hy + r], outline=(0, 0, 0), width=4)
        draw.line([(hx - r * 1.6, hy), (hx - r, hy)], fill=(0, 0, 0), width=3)
        draw.line([(hx + r, hy), (hx + r * 1.6, hy)], fill=(0, 0, 0), width=3)
    draw.rectangle([left, top, left + pw, top + ph], outline=FRAME, width=2)
    draw.text((left + pw / 2, height - 8), axis_titles[0], fill=TEXT, font=font, anchor="md")
    if axis_titles[1]:
        label = Image.new("RGBA", (ph, font.size + 8 if hasattr(font, "size") else 24), (0, 0, 0, 0))
        ImageDraw.Draw(label).text((ph / 2, 0), axis_titles[1], fill=TEXT, font=font, anchor="ma")
        img.paste(label.rotate(90, expand=True), (4, top), label.rotate(90, expand=True))
    if title:
        draw.text((left + pw / 2, top / 2), title, fill=TEXT, font=font, anchor="mm")
    present = sorted({int(c) for c in labels})
    lx, ly = left + pw + 24, top + 10
    for c in present:
        name = class_names[c] if c < len(class_names) else str(c)
        draw.ellipse([lx, ly, lx + 2 * dot + 4, ly + 2 * dot + 4], fill=rgb[c % len(rgb)])
        draw.text((lx + 2 * dot + 14, ly + dot + 2), name, fill=TEXT, font=small, anchor="lm")
        ly += max(2 * dot + 12, size // 30)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
