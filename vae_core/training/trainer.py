"""One Trainer for every model variant: VAE, beta-VAE, conditional VAE, autoencoder, VampPrior VAE, VQ-VAE,
hierarchical VAE. It reads the loss, the reconstruction and the KL of the model's output; a kind's other named
terms are kept per epoch (EpochStats.test_terms) and in the metrics.

The data stays on the device as one tensor and each epoch draws a seeded
permutation, which is faster than a DataLoader for small images on a CPU and
makes a resumed run repeat the uninterrupted one exactly.
"""
from __future__ import annotations

import datetime as _dt
import math
import platform
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from vae_core import __version__
from vae_core.store.checkpoints import Sample, load_checkpoint, save_checkpoint
from vae_core.model.config import ModelConfig, TrainConfig
from vae_core.model.devices import pick_device
from vae_core.store.history import History, Recorder, load_history
from vae_core.model.losses import kl_weight
from vae_core.model.torch_model import VAE
from vae_core.analysis.evaluate import evaluate_terms


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


@dataclass
class EpochStats:
    epoch: int  # 1-based count of finished epochs
    train_loss: float  # mean per image of recon + kl_weight * kl
    train_recon: float
    train_kl: float
    test_neg_elbo: float  # mean per image of recon + kl on the test set
    test_recon: float
    test_kl: float
    kl_weight: float
    seconds: float  # wall time of this epoch, evaluation included
    lr: float = 0.0  # the learning rate at the epoch's last batch
    fraction: float = 1.0  # share of the epoch's batches trained (below 1 when a time limit cut it short)
    test_terms: dict = field(default_factory=dict)  # the kind's other named terms on the test set (kl1, kl2, ...)


class Callback:
    """Override what you need; the CLI's progress bar and the app's live curves are both callbacks."""

    def on_train_start(self, trainer: "Trainer") -> None: ...

    def on_batch_end(self, trainer: "Trainer", epoch: int, batch: int, n_batches: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer: "Trainer", stats: EpochStats) -> None: ...

    def on_train_end(self, trainer: "Trainer") -> None: ...


def sample_indices(n_total: int, n: int, seed: int = 0) -> torch.Tensor:
    """Which test images a checkpoint stores: a seeded choice of n of them, in their order in the test split."""
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:n].sort().values


def make_sample(images: torch.Tensor, labels: torch.Tensor, class_names: list[str], n: int, seed: int = 0, *,
                factors: np.ndarray | None = None, factor_names: list[str] | tuple = ()) -> Sample:
    """Up to n test images as uint8, chosen with a seed, to store in the checkpoint (with their factors, (N, F),
    when the dataset has known ones)."""
    idx = sample_indices(len(images), n, seed)
    x = (images[idx].cpu() * 255).round().clamp(0, 255).to(torch.uint8)
    arr = x[:, 0].numpy() if x.shape[1] == 1 else x.permute(0, 2, 3, 1).numpy()
    return Sample(images=np.ascontiguousarray(arr), labels=labels[idx].cpu().numpy().astype(np.int64),
                  class_names=list(class_names), factors=None if factors is None else factors[idx.numpy()],
                  factor_names=list(factor_names) if factors is not None else [])


class Trainer:
    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, data, *, out_dir: str | Path | None = None,
                 callbacks: list[Callback] | tuple = (), resume_from: str | Path | None = None,
                 sample_size: int = 1000, command: str | None = None, save_optimizer: bool = True,
                 time_limit: float | None = None, record_history: bool = True):
        self.model_cfg, self.cfg, self.data = model_cfg, train_cfg, data
        self.out_dir = Path(out_dir) if out_dir else None
        self.callbacks = list(callbacks)
        self.sample_size = sample_size
        self.command = command
        self.save_optimizer = save_optimizer
        self.time_limit = time_limit  # seconds of training: it stops then, mid-epoch, with its schedule done
        self.record_history = record_history and sample_size > 0  # snapshots of the stored images (vae_core.store.history)
        self.recorder: Recorder | None = None
        self._resumed_history: History | None = None
        self.device = pick_device(train_cfg.device)
        self._stop = threading.Event()
        torch.manual_seed(train_cfg.seed)
        self.model = VAE(model_cfg).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_cfg.lr, betas=(0.9, train_cfg.adam_beta2))
        self.history: list[EpochStats] = []
        self.start_epoch = 0
        self.last_saved_epoch: int | None = None
        self.x_train = data.train.images.to(self.device)
        self.y_train = data.train.labels.to(self.device)
        self.x_test = data.test.images.to(self.device)
        self.y_test = data.test.labels.to(self.device)
        if resume_from is not None:
            self._resume(resume_from)
        elif train_cfg.data_init:
            self.model.init_from_data(self.x_train)
        self.began: float | None = None  # perf_counter() when fit() started

    def _resume(self, path) -> None:
        ckpt = load_checkpoint(path, self.device, with_optimizer=True)
        if ckpt.config != self.model_cfg:
            raise ValueError(f"cannot resume from {path}: its model config differs from the one asked for")
        self.model.load_state_dict(ckpt.model.state_dict())
        if ckpt.optimizer_state is not None:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
            for group in self.optimizer.param_groups:  # a resumed run takes the learning rate asked for now
                group["lr"] = self.cfg.lr
        self.history = [EpochStats(**h) for h in ckpt.meta.get("history", [])]
        try:
            self._resumed_history = load_history(Path(path))
        except ValueError:
            self._resumed_history = None  # an unreadable history is started again, not a reason to stop
        self.start_epoch = len(self.history)
        if self.out_dir is not None and Path(path).resolve() == self.out_dir.resolve():
            self.last_saved_epoch = self.start_epoch

    def stop(self) -> None:
        """Ask training to stop after the current batch (thread-safe)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _emit(self, name: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(self, *args)

    def lr_at(self, step: int, total_steps: int, elapsed: float | None = None) -> float:
        """The learning rate for a step: cosine (2% linear warm-up, then a cosine decay to 0) or constant.
        With a time limit, the run's progress is the larger of its share of steps and of time, so a
        time-limited run completes its schedule when the time is up."""
        if self.cfg.lr_schedule == "constant":
            return self.cfg.lr
        progress = (step + 1) / max(total_steps, 1)
        if self.time_limit and elapsed is not None:
            progress = max(progress, elapsed / self.time_limit)
        progress = min(progress, 1.0)
        warm = 0.02
        if progress < warm:
            return self.cfg.lr * progress / warm
        return self.cfg.lr * 0.5 * (1 + math.cos(math.pi * (progress - warm) / (1 - warm)))

    def _time_is_up(self) -> bool:
        return (self.time_limit is not None and self.began is not None
                and time.perf_counter() - self.began >= self.time_limit)

    def _train_epoch(self, epoch: int, weight: float) -> tuple[float, float, float]:
        self.model.train()
        n = len(self.x_train)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch))
        perm = perm.to(self.device)
        bs = self.cfg.batch_size
        n_batches = math.ceil(n / bs)
        total_steps = n_batches * self.cfg.epochs
        totals = torch.zeros(3, dtype=torch.float64, device=self.device)
        self.batches_done = 0
        for b in range(n_batches):
            if self._stop.is_set() or self._time_is_up():
                break
            elapsed = time.perf_counter() - self.began if self.began is not None else None
            self.current_lr = self.lr_at(epoch * n_batches + b, total_steps, elapsed)
            for group in self.optimizer.param_groups:
                group["lr"] = self.current_lr
            idx = perm[b * bs:(b + 1) * bs]
            loss, loss_value, sums = self._batch_loss(idx, weight)
            if not math.isfinite(loss_value):
                self._diverged(epoch, b, loss_value)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            step = epoch * n_batches + b + 1
            if self.recorder is not None and self.recorder.due(step):
                self.recorder.take(self.model, step, epoch + (b + 1) / n_batches)
            totals += sums
            self.batches_done = b + 1
            self._emit("on_batch_end", epoch, b, n_batches, loss_value)
        self.epoch_fraction = self.batches_done / max(n_batches, 1)
        seen = min(n, self.batches_done * bs) if self.batches_done else 1
        return tuple((totals / max(seen, 1)).tolist())

    def _batch_loss(self, idx: torch.Tensor, weight: float) -> tuple[torch.Tensor, float, torch.Tensor]:
        """The loss to backpropagate for the training images idx, its value (the mean over the batch), and
        the batch's sums of (loss, recon, kl) as float64 (3,). vae_core.training.distributed overrides this."""
        y = self.y_train[idx] if self.model.variant.conditional else None
        out = self.model(self.x_train[idx], y)
        loss = out.loss(kl_weight=weight)
        sums = torch.stack([loss.detach() * len(idx), out.recon.detach().sum(), out.kl.detach().sum()]).double()
        return loss, loss.item(), sums

    def _evaluate(self) -> tuple[float, float, float]:
        """Test (negative ELBO, recon, KL) after an epoch, the kind's other terms kept in self.test_terms;
        vae_core.training.distributed overrides this."""
        terms = evaluate_terms(self.model, self.x_test, self.y_test, seed=self.cfg.seed)
        self.test_terms = {k: v for k, v in terms.items() if k not in ("neg_elbo", "recon", "kl")}
        return terms["neg_elbo"], terms["recon"], terms["kl"]

    def _diverged(self, epoch: int, batch: int, value: float):
        kept = (f"The last good checkpoint ({self.out_dir}, epoch {self.last_saved_epoch}) was kept."
                if self.last_saved_epoch is not None else "No checkpoint had been saved yet.")
        raise TrainingDiverged(
            f"training diverged: the loss became {value} at epoch {epoch + 1}, batch {batch + 1}. {kept} "
            f"Lower the learning rate (lr={self.cfg.lr}) or beta (beta={self.cfg.beta}) and train again.")

    def _start_recording(self) -> None:
        """The history's recorder, on the images the checkpoint stores (the first of them), with its first snapshot
        before any step. Only the first process of a distributed training records."""
        if not self.record_history or self.recorder is not None or getattr(self, "rank", 0) != 0:
            return
        idx = sample_indices(len(self.x_test), self.sample_size, self.cfg.seed)
        total = math.ceil(len(self.x_train) / self.cfg.batch_size) * self.cfg.epochs
        self.recorder = Recorder(self.x_test[idx.to(self.device)], self.y_test[idx.to(self.device)], idx.numpy(),
                                 self.model.latent_dim, total, seed=self.cfg.seed,
                                 previous=self._resumed_history)
        if self.recorder.due(0):
            self.recorder.take(self.model, 0, 0.0)

    def fit(self) -> list[EpochStats]:
        torch.manual_seed(self.cfg.seed)
        self._start_recording()
        torch.manual_seed(self.cfg.seed)
        self._emit("on_train_start")
        self.began = time.perf_counter()
        self.current_lr = self.cfg.lr
        for epoch in range(self.start_epoch, self.cfg.epochs):
            if self._stop.is_set() or self._time_is_up():
                break
            torch.manual_seed(self.cfg.seed * 1_000_003 + epoch)
            start = time.perf_counter()
            weight = kl_weight(epoch, self.cfg.beta, self.cfg.warmup_epochs)
            train = self._train_epoch(epoch, weight)
            if self._stop.is_set() or self.batches_done == 0:
                break
            test = self._evaluate()
            if not all(map(math.isfinite, test)):
                self._diverged(epoch, -1, test[0])
            stats = EpochStats(epoch + 1, *train, *test, weight, time.perf_counter() - start,
                               lr=self.current_lr, fraction=self.epoch_fraction,
                               test_terms=dict(getattr(self, "test_terms", {})))
            self.history.append(stats)
            if self.out_dir is not None:
                self.save(self.out_dir)
            self._emit("on_epoch_end", stats)
        self._emit("on_train_end")
        return self.history

    def metadata(self) -> dict:
        last = self.history[-1] if self.history else None
        return {
            "name": self.out_dir.name if self.out_dir else None,
            "dataset": self.data.train.name,
            "data_source": self.data.train.source,
            "test_source": self.data.test.source,
            "n_train": len(self.data.train),
            "n_test": len(self.data.test),
            "class_names": list(self.data.train.class_names),
            "epochs": len(self.history),
            "metrics": {
                "test_neg_elbo": last.test_neg_elbo, "test_recon": last.test_recon, "test_kl": last.test_kl,
                "train_loss": last.train_loss, **{f"test_{k}": v for k, v in last.test_terms.items()},
            } if last else {},
            "history": [asdict(h) for h in self.history],
            "train_config": self.cfg.to_dict(),
            "seed": self.cfg.seed,
            "device": str(self.device),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": self.command,
            "versions": {"vae_core": __version__, "torch": torch.__version__, "python": platform.python_version()},
        }

    def save(self, path: str | Path) -> Path:
        sample = None
        if self.sample_size > 0:
            test = self.data.test
            sample = make_sample(test.images, test.labels, test.class_names, self.sample_size, seed=self.cfg.seed,
                                 factors=test.factors, factor_names=test.factor_names)
        out = save_checkpoint(path, self.model, self.metadata(), sample=sample,
                              optimizer=self.optimizer if self.save_optimizer else None,
                              history=self.recorder.history() if self.recorder is not None else None)
        self.last_saved_epoch = len(self.history)
        return out
