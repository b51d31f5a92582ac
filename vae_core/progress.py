"""A small text progress bar for the CLI (stderr, redrawn in place)."""
from __future__ import annotations

import sys
import time


def _fmt_seconds(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class ProgressBar:
    """``bar.update(done, total, text)`` redraws ``[#####.....] 50% text  elapsed<left``."""

    def __init__(self, stream=None, width: int = 28, min_interval: float = 0.1):
        self.stream = stream or sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.start = time.perf_counter()
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: float, total: float, text: str = "", force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < self.min_interval and done < total:
            return
        self._last = now
        frac = min(max(done / total, 0.0), 1.0) if total else 0.0
        filled = int(round(frac * self.width))
        elapsed = now - self.start
        left = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        eta = _fmt_seconds(left) if frac > 0 else "--:--"
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {frac * 100:5.1f}% {text} {_fmt_seconds(elapsed)}<{eta}"
        if self._tty:
            self.stream.write("\r" + line + "\033[K")
        elif done >= total or force:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, text: str = "") -> None:
        if self._tty:
            self.stream.write("\n")
        if text:
            self.stream.write(text + "\n")
        self.stream.flush()
