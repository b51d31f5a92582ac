"""Training in the background: one thread per job, progress read as snapshots.

A job runs :class:`vae_core.training.trainer.Trainer` in a daemon thread. Its callback
writes progress under a lock; readers (the app's Train page, redrawn every
second) only ever get a frozen copy, a :class:`JobSnapshot`.

The model is trained in a hidden folder (``<runs>/.training/<job id>/<name>``)
and moved to its final folder ``<runs>/<name>`` when training ends, so nobody
who lists ``<runs>`` sees a half-trained model change under them. ``<runs>`` is
the owner session's own folder (paths.trained_dir). The final
name is reserved (an empty folder) when the job starts and is never one that
already exists: nothing saved before is overwritten.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from vae_core.store.checkpoints import CheckpointError
from vae_core.model.config import ConfigError
from vae_core.data.datasets import DataSplit, DatasetError, load_dataset
from vae_core.analysis.latent import decode_batch
from vae_core.store.locks import Slot, take_slot
from vae_core.store.paths import app_home, reserve_child, safe_name, trained_dir
from vae_core.render.images import to_uint8
from vae_core.training.run_spec import RunSpec
from vae_core.training.trainer import Callback, EpochStats, Trainer, TrainingDiverged
from vae_core.model.variants import variant

log = logging.getLogger(__name__)

DEFAULT_MAX_RUNNING = 2
MAX_KEPT_JOBS = 64  # finished jobs remembered per server; older ones are forgotten
PREVIEW_SEED = 1234  # the fixed prior draws decoded after every epoch

STARTING, TRAINING, DONE, STOPPED, FAILED = "starting", "training", "done", "stopped", "failed"
ACTIVE_STATES = (STARTING, TRAINING)


class TooManyTrainings(RuntimeError):
    """The server already runs its maximum number of trainings."""


@dataclass(frozen=True)
class JobSpec(RunSpec):
    """A training run (vae_core.training.run_spec.RunSpec) that the app trains in the background, with a name and a preview.
    Its defaults are the Train page's: a 2-D latent space, 20 epochs, on the CPU, no optimizer state kept."""

    name: str = "run"  # the folder under the owner's runs; letters, digits, '-', '_', '.'
    n_preview: int = 16  # test images reconstructed (and prior draws decoded) after every epoch
    latent_dim: int = 2
    epochs: int = 20
    device: str = "cpu"
    save_optimizer: bool = False

    def validate(self) -> None:
        super().validate()
        if not (1 <= self.n_preview <= 64):
            raise ConfigError(f"n_preview={self.n_preview} must be between 1 and 64")


@dataclass(frozen=True)
class MapFrame:
    """The latest snapshot of the training's history (vae_core.store.history): where the stored test images are in
    latent space now, for the Train page's map forming as the model learns."""

    step: int  # optimiser steps done
    epoch: float  # epochs done, fractional
    mu: np.ndarray  # (H, D) float32: the means of q(z|x) of the first H stored test images
    labels: np.ndarray  # (H,) their classes
    class_names: tuple[str, ...]
    index: int  # which snapshot this is (0: before the first step)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress; safe to read while the job runs."""

    id: str
    spec: JobSpec
    out_dir: Path  # the finished model's folder (a checkpoint once published is True)
    state: str  # starting, training, done, stopped or failed
    message: str  # what happens now, or what went wrong and what to do
    epoch: int  # finished epochs
    progress: float  # 0..1 over the whole run
    history: tuple[EpochStats, ...]
    samples: tuple[np.ndarray, ...]  # per finished epoch: prior samples, uint8 (N, H, W[, C]); empty for an AE
    recons: tuple[np.ndarray, ...]  # per finished epoch: reconstructions of `originals`
    originals: np.ndarray | None  # the fixed test images reconstructed after every epoch
    data_info: str
    published: bool  # the model is in out_dir and can be loaded
    started: float  # time.time()
    finished: float | None
    latent: MapFrame | None = None  # the map as it is now (None until the first snapshot, or with no history)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started


class _Recorder(Callback):
    """Writes the trainer's progress into its job (runs in the training thread)."""

    def __init__(self, job: "TrainingJob", data: DataSplit):
        self.job = job
        self.y_prior = None  # the labels given with the prior draws (a conditional model's)
        g = torch.Generator().manual_seed(PREVIEW_SEED)
        idx = torch.randperm(len(data.test), generator=g)[:job.spec.n_preview].sort().values
        self.x = data.test.images[idx]
        self.y = data.test.labels[idx]
        self.originals = to_uint8(self.x.numpy())
        self.class_names = tuple(data.test.class_names)
        self.frames_seen = 0  # snapshots of the trainer's history already passed on to the job

    def _map_frame(self, trainer: Trainer) -> None:
        rec = trainer.recorder
        if rec is None or len(rec.rows["step"]) == self.frames_seen:
            return
        self.frames_seen = k = len(rec.rows["step"])
        self.job._update(latent=MapFrame(step=int(rec.rows["step"][-1]), epoch=float(rec.rows["epoch"][-1]),
                                         mu=np.asarray(rec.rows["mu"][-1], np.float32),
                                         labels=rec.y.cpu().numpy().astype(np.int64),
                                         class_names=self.class_names, index=k - 1))

    def on_train_start(self, trainer: Trainer) -> None:
        cfg = trainer.model_cfg
        n = self.job.spec.n_preview
        self.y_prior = torch.arange(n) % cfg.num_classes if cfg.variant.conditional else None
        self.job._update(state=TRAINING, message="Training...", originals=self.originals)
        self._map_frame(trainer)

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        epochs = trainer.cfg.epochs
        self.job._update(progress=min(1.0, (epoch + (batch + 1) / n_batches) / epochs),
                         message=f"Epoch {epoch + 1}/{epochs}, batch {batch + 1}/{n_batches}: loss {loss:.2f}")
        self._map_frame(trainer)

    @torch.inference_mode()
    def on_epoch_end(self, trainer: Trainer, stats: EpochStats) -> None:
        model = trainer.model
        model.eval()
        mu, _ = model.encode(self.x.to(model.device), self.y.to(model.device) if model.variant.conditional else None)
        recon = to_uint8(decode_batch(model, mu.cpu(), self.y))
        sample = None
        if model.variant.has_prior:  # the same draws after every epoch, from the prior as it is now
            z = model.prior().sample(self.job.spec.n_preview, seed=PREVIEW_SEED)
            sample = to_uint8(decode_batch(model, z, self.y_prior))
        self.job._add_epoch(stats, recon, sample, trainer.cfg.epochs)


class TrainingJob:
    """One training run in its own thread. Read it with snapshot(); end it early with stop()."""

    def __init__(self, spec: JobSpec, out_dir: Path, work_dir: Path, owner: str = "", slot: Slot | None = None):
        self.id = uuid.uuid4().hex[:12]
        self._slot = slot  # one of the home's training slots, held until the job ends
        self.spec = spec
        self.owner = owner
        self.out_dir = out_dir
        self.work_dir = work_dir
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._trainer: Trainer | None = None
        self._thread = threading.Thread(target=self._run, name=f"vae-train-{self.id}", daemon=True)
        self._state = dict(state=STARTING, message=f"Reading the data ({Path(spec.dataset).name})...", epoch=0,
                           progress=0.0, history=(),
                           samples=(), recons=(), originals=None, data_info="", published=False,
                           started=time.time(), finished=None)

    # ---- reading (any thread)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(id=self.id, spec=self.spec, out_dir=self.out_dir, **self._state)

    @property
    def active(self) -> bool:
        with self._lock:
            return self._state["state"] in ACTIVE_STATES

    def stop(self) -> None:
        """Stop after the current batch; the epochs finished so far are kept as the model."""
        self._stop.set()
        with self._lock:
            trainer = self._trainer
            if self._state["state"] in ACTIVE_STATES:
                self._state["message"] = "Stopping after the current batch..."
        if trainer is not None:
            trainer.stop()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- writing (the training thread)

    def _update(self, **changes) -> None:
        with self._lock:
            self._state.update(changes)

    def _add_epoch(self, stats: EpochStats, recon: np.ndarray, sample: np.ndarray | None, epochs: int) -> None:
        with self._lock:
            s = self._state
            s["history"] = (*s["history"], stats)
            s["recons"] = (*s["recons"], recon)
            if sample is not None:
                s["samples"] = (*s["samples"], sample)
            s["epoch"] = stats.epoch
            s["progress"] = min(1.0, stats.epoch / epochs)

    def _finish(self, state: str, message: str) -> None:
        with self._lock:
            self._state.update(state=state, message=message, finished=time.time())

    def _run(self) -> None:
        try:
            state, message = self._train()
            self._cleanup()  # before the state says the job ended, so a reader never sees a half-cleaned folder
        finally:
            if self._slot is not None:
                self._slot.release()
        self._finish(state, message)

    def _train(self) -> tuple[str, str]:
        """Load, train, publish; the job's final (state, message), whatever happens."""
        spec = self.spec
        try:
            data = load_dataset(spec.dataset, data_dir=spec.data_dir, download=spec.download,
                                progress=self._download_progress, test_fraction=spec.test_fraction, seed=spec.seed)
            n_classes = len(np.unique(data.train.labels.numpy()))
            if n_classes < 2 and variant(spec.kind).conditional:
                return FAILED, (f"{data.train.name}: every training image has the same label, and a conditional "
                                "VAE needs at least two classes to condition on. Train a VAE or an autoencoder "
                                "on it, or give the images labels 0, 1, 2, ...")
            info = (f"{data.train.name}: {len(data.train):,} training and {len(data.test):,} test images of "
                    f"{data.train.image_shape[1]}x{data.train.image_shape[2]} px, "
                    f"{n_classes} {'class' if n_classes == 1 else 'classes'}")
            notes = list(data.notes)
            if n_classes < 2:
                notes.append("Every training image has the same label: a VAE does not use labels to train, "
                             "so it trains as usual, but the latent map will show a single colour.")
            info = " ".join([info + ".", *notes]) if notes else info
            self._update(data_info=info, message="Building the model and recording its first snapshot...")
            model_cfg = spec.model_config(data.train.image_shape, len(data.train.class_names))
            trainer = Trainer(model_cfg, spec.train_config(), data, out_dir=self.work_dir,
                              callbacks=[_Recorder(self, data)], sample_size=spec.sample_size,
                              command=spec.command(self.out_dir), save_optimizer=spec.save_optimizer)
            with self._lock:
                self._trainer = trainer
            if self._stop.is_set():
                trainer.stop()
            trainer.fit()
            return self._end_normally(trainer)
        except TrainingDiverged as e:
            text = str(e).replace(str(self.work_dir), str(self.out_dir))
            return FAILED, text if self._publish() else text + " Nothing was saved."
        except DatasetError as e:
            return FAILED, f"The dataset could not be loaded. {self._without_folder(str(e))}"
        except (ConfigError, CheckpointError, ValueError) as e:
            return FAILED, f"These settings cannot be trained: {e}"
        except Exception as e:  # noqa: BLE001 - the thread must always end with a readable state
            log.exception("training job %s failed", self.id)
            return FAILED, f"Training stopped on an unexpected error ({type(e).__name__}: {e})."

    def _end_normally(self, trainer: Trainer) -> tuple[str, str]:
        epochs = len(trainer.history)
        published = self._publish()
        if not trainer.stopped:
            return DONE, f"Finished {epochs} epochs; the model is saved as {self.out_dir.name}."
        if published:
            return STOPPED, (f"Stopped after {epochs} of {trainer.cfg.epochs} epochs; "
                             f"the model of epoch {epochs} is saved as {self.out_dir.name}.")
        return STOPPED, "Stopped before the first epoch ended; nothing was saved."

    def _without_folder(self, text: str) -> str:
        """A message about a dataset file, naming it without the server's folder it was stored in."""
        path = Path(self.spec.dataset)
        return text.replace(f"{path.parent}/", "") if path.is_absolute() else text

    def _download_progress(self, done: int, total: int | None, name: str) -> None:
        size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        self._update(message=f"Downloading {name}: {size}")

    def _publish(self) -> bool:
        """Move the trained model from its hidden folder to out_dir (an empty folder reserved at start)."""
        if not (self.work_dir / "model.safetensors").is_file():
            return False
        os.replace(self.work_dir, self.out_dir)
        self._update(published=True)
        return True

    def _cleanup(self) -> None:
        shutil.rmtree(self.work_dir.parent, ignore_errors=True)
        try:
            self.work_dir.parent.parent.rmdir()  # runs/.training, when no other job uses it
        except OSError:
            pass
        with self._lock:
            published = self._state["published"]
        if not published:
            try:
                self.out_dir.rmdir()  # the reservation; only ever empty here
            except OSError:
                pass


def training_slots_dir() -> Path:
    """The lock files that count the trainings running on this server, whatever process runs them."""
    return app_home() / ".locks" / "trainings"


def max_running() -> int:
    """How many trainings may run at once on this server (every process sharing its home):
    $VAE_MAX_TRAININGS, default 2."""
    text = os.environ.get("VAE_MAX_TRAININGS", "")
    try:
        return max(1, int(text)) if text.strip() else DEFAULT_MAX_RUNNING
    except ValueError:
        return DEFAULT_MAX_RUNNING


class JobRegistry:
    """The server's training jobs by id; start() enforces the cap on concurrent trainings."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}

    def start(self, spec: JobSpec, owner: str = "") -> TrainingJob:
        """Validate, reserve a new folder under trained_dir(owner) and start training in a thread.

        The folder is the owner's own (paths.trained_dir: other browsers do not list it) unless
        $VAE_SHARE_TRAINED is set or there is no owner. Raises UnsafeNameError (a ValueError) for a
        name with a path in it, ConfigError for out-of-range settings and TooManyTrainings when the
        cap is reached."""
        name = safe_name(spec.name)
        spec = replace(spec, name=name)
        spec.validate()
        with self._lock:
            limit = max_running()
            slot = take_slot(training_slots_dir(), limit)  # held by the job: counts across processes
            if slot is None:
                raise TooManyTrainings(
                    f"{limit} trainings are already running on this server (the limit, set by "
                    "VAE_MAX_TRAININGS). Wait for one to finish, or stop yours, then start again.")
            try:
                root = trained_dir(owner)
                out_dir = reserve_child(root, name)  # an empty folder: no other job or process gets this name
                job_key = uuid.uuid4().hex[:12]
                work_dir = root / ".training" / job_key / out_dir.name
                work_dir.parent.mkdir(parents=True)
            except BaseException:
                slot.release()
                raise
            job = TrainingJob(spec, out_dir, work_dir, owner, slot)
            self._jobs[job.id] = job
            self._forget_old()
        job._thread.start()
        return job

    def get(self, job_id: str | None) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def active(self) -> list[TrainingJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.active]

    def latest(self, owner: str) -> TrainingJob | None:
        """The owner's most recently started job this server remembers (a page reload finds its last run)."""
        if not owner:
            return None
        with self._lock:
            mine = [j for j in self._jobs.values() if j.owner == owner]
        return max(mine, key=lambda j: j.snapshot().started) if mine else None

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.active]
        for j in finished[:max(0, len(finished) - MAX_KEPT_JOBS)]:
            del self._jobs[j.id]

