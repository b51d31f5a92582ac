"""A latent map as a PNG, drawn with Pillow: no browser, no network, the same picture every time.

Dots coloured by class on a framed plot with tick labels, an optional ring on a chosen point
(and its 1-sigma ellipse), an optional prior contour, and a legend of the classes on the right.
"""
from __future__ import annotations

import base64
import functools
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


class MapCanvas:
    """The fixed part of a map (frame, ticks, dots, legend) drawn once; ``png`` adds the moving marks.

    A page that redraws only a ring on the same dots (the Latent sliders page, on every slider release)
    keeps one canvas and pays for a copy, a few shapes and the PNG encoding, not for a thousand dots."""

    def __init__(self, emb: np.ndarray, labels: np.ndarray, class_names: list[str], colours: list[str], *,
                 extent: tuple[float, float, float, float] | None = None, axis_titles: tuple[str, str] = ("", ""),
                 title: str = "", prior=(), size: int = 900, dot: int = 5,
                 legend: bool = True, font_px: int | None = None) -> None:
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
        self.extent = xmin, xmax, ymin, ymax = extent
        self.dot = dot
        # font_px: the tick and legend text's size (a projector wants it large); the margins grow with it
        small_px = font_px or max(11, size // 55)
        font = _font(max(12, size // 45) if font_px is None else max(12, size // 45, round(font_px * 1.15)))
        small = _font(small_px)
        legend_w = max(int(size * 0.2), small_px * 5) if legend else 0
        left, right, top, bottom = (max(int(size * 0.1), small_px * 3), legend_w + 20,
                                    int(size * (0.08 if title else 0.03)), max(int(size * 0.1), small_px * 3))
        width, height = size + legend_w, size
        self.box = left, top, width - left - right, height - top - bottom
        pw, ph = self.box[2], self.box[3]
        img = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(img)
        px = self.px

        for t in nice_ticks(xmin, xmax):
            x, _ = px(t, ymin)
            draw.line([(x, top), (x, top + ph)], fill=GRID)
            draw.text((x, top + ph + 6), f"{t:g}", fill=TEXT, font=small, anchor="ma")
        for t in nice_ticks(ymin, ymax):
            _, y = px(xmin, t)
            draw.line([(left, y), (left + pw, y)], fill=GRID)
            draw.text((left - 8, y), f"{t:g}", fill=TEXT, font=small, anchor="rm")
        for _, xs, ys in prior:  # dashed: every other segment of each outline (NaN separates its pieces)
            for i in range(0, len(xs) - 1, 2):
                if np.isfinite([xs[i], ys[i], xs[i + 1], ys[i + 1]]).all():
                    draw.line([px(xs[i], ys[i]), px(xs[i + 1], ys[i + 1])], fill=(120, 120, 120), width=2)
        rgb = [hex_to_rgb(c) for c in colours]
        order = np.random.default_rng(0).permutation(len(emb))  # no class painted wholly on top of another
        for i in order:
            if not finite[i]:
                continue
            x, y = px(*emb[i])
            if left <= x <= left + pw and top <= y <= top + ph:
                c = rgb[int(labels[i]) % len(rgb)]
                draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=c, outline=(255, 255, 255))
        draw.rectangle([left, top, left + pw, top + ph], outline=FRAME, width=2)
        draw.text((left + pw / 2, height - 8), axis_titles[0], fill=TEXT, font=font, anchor="md")
        if axis_titles[1]:
            label = Image.new("RGBA", (ph, font.size + 8 if hasattr(font, "size") else 24), (0, 0, 0, 0))
            ImageDraw.Draw(label).text((ph / 2, 0), axis_titles[1], fill=TEXT, font=font, anchor="ma")
            img.paste(label.rotate(90, expand=True), (4, top), label.rotate(90, expand=True))
        if title:
            draw.text((left + pw / 2, top / 2), title, fill=TEXT, font=font, anchor="mm")
        if legend:
            lx, ly = left + pw + 24, top + 10
            for c in sorted({int(c) for c in labels}):
                name = class_names[c] if c < len(class_names) else str(c)
                draw.ellipse([lx, ly, lx + 2 * dot + 4, ly + 2 * dot + 4], fill=rgb[c % len(rgb)])
                draw.text((lx + 2 * dot + 14, ly + dot + 2), name, fill=TEXT, font=small, anchor="lm")
                ly += max(2 * dot + 12, size // 30, round(small_px * 1.5))
        self.base = img

    def fraction(self, x: float, y: float) -> tuple[float, float] | None:
        """Where the map point (x, y) is, as fractions of the image's width and height; None outside
        the plot's frame (or not finite)."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        px, py = self.px(x, y)
        left, top, pw, ph = self.box
        if not (left <= px <= left + pw and top <= py <= top + ph):
            return None
        return px / self.base.width, py / self.base.height

    @functools.cached_property
    def base_data_url(self) -> str:
        """The fixed part alone as a PNG data: URL (encoded once)."""
        buf = io.BytesIO()
        self.base.save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Pixel coordinates of the map point (x, y)."""
        xmin, xmax, ymin, ymax = self.extent
        left, top, pw, ph = self.box
        return left + (x - xmin) / (xmax - xmin) * pw, top + (ymax - y) / (ymax - ymin) * ph

    def png(self, highlight: tuple[float, float] | None = None, ellipse: tuple[float, float] | None = None,
            stars: list[tuple[float, float]] = (), compress_level: int = 6) -> bytes:
        """PNG bytes of the canvas with a ring on ``highlight`` (and its ``ellipse`` (rx, ry)) and a star on
        each of ``stars``; marks outside the frame are left out."""
        from PIL import ImageDraw

        img = self.base.copy()
        draw = ImageDraw.Draw(img)
        xmin, xmax, ymin, ymax = self.extent
        left, top, pw, ph = self.box
        inside = lambda x, y: left <= x <= left + pw and top <= y <= top + ph  # noqa: E731
        for sx, sy in stars:
            if not (math.isfinite(sx) and math.isfinite(sy)):
                continue
            x, y = self.px(sx, sy)
            if inside(x, y):
                r = self.dot * 2.4
                pts = [(x + (r if k % 2 == 0 else r * 0.45) * math.sin(k * math.pi / 5),
                        y - (r if k % 2 == 0 else r * 0.45) * math.cos(k * math.pi / 5)) for k in range(10)]
                draw.polygon(pts, fill=(0, 0, 0), outline=(255, 255, 255))
        if highlight is not None and all(map(math.isfinite, highlight)):
            hx, hy = self.px(*highlight)
            if ellipse is not None:
                ex = ellipse[0] / (xmax - xmin) * pw
                ey = ellipse[1] / (ymax - ymin) * ph
                draw.ellipse([hx - ex, hy - ey, hx + ex, hy + ey], outline=(0, 0, 0), width=3)
            r = self.dot * 3
            draw.ellipse([hx - r, hy - r, hx + r, hy + r], outline=(0, 0, 0), width=4)
            draw.line([(hx - r * 1.6, hy), (hx - r, hy)], fill=(0, 0, 0), width=3)
            draw.line([(hx + r, hy), (hx + r * 1.6, hy)], fill=(0, 0, 0), width=3)
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=compress_level)
        return buf.getvalue()


def map_png(emb: np.ndarray, labels: np.ndarray, class_names: list[str], colours: list[str], *,
            extent: tuple[float, float, float, float] | None = None, axis_titles: tuple[str, str] = ("", ""),
            title: str = "", highlight: tuple[float, float] | None = None,
            ellipse: tuple[float, float] | None = None, prior=(), size: int = 900, dot: int = 5) -> bytes:
    """PNG bytes of the map: emb (N, 2) points with class ``labels`` (indices into class_names and colours).

    ``ellipse`` is (rx, ry) drawn around ``highlight``; ``prior`` is a list of (sigma, x, y) outlines drawn
    dashed (vae_core.model.priors: the prior's contours on a native 2-D latent plane)."""
    canvas = MapCanvas(emb, labels, class_names, colours, extent=extent, axis_titles=axis_titles, title=title,
                       prior=prior, size=size, dot=dot)
    return canvas.png(highlight, ellipse)
