"""Progress on a terminal (stderr, redrawn in place): a progress bar, and the one a training shows."""
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


class TrainingProgress:
    """A Trainer callback (vae_core.training.trainer.Callback's hooks) for a terminal: a progress bar within each epoch and
    one summary line per epoch. Used by ``python -m vae_core train`` and, on rank 0, by vae_core.training.distributed."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.bar = ProgressBar()
        self.first_epoch = 0

    def on_train_start(self, trainer) -> None:
        self.first_epoch = trainer.start_epoch

    def on_batch_end(self, trainer, epoch, batch, n_batches, loss) -> None:
        total = (self.epochs - self.first_epoch) * n_batches
        done = (epoch - self.first_epoch) * n_batches + batch + 1
        self.bar.update(done, total, f"epoch {epoch + 1}/{self.epochs} loss {loss:8.2f}")

    def on_epoch_end(self, trainer, stats) -> None:
        self.bar.close(
            f"epoch {stats.epoch:3d}/{self.epochs}  train loss {stats.train_loss:8.2f}  "
            f"test -ELBO {stats.test_neg_elbo:8.2f} = recon {stats.test_recon:8.2f} + KL {stats.test_kl:6.2f}"
            f"  ({stats.seconds:.1f} s)")

    def on_train_end(self, trainer) -> None: ...
