"""Data-parallel training with torch.distributed, for datasets and models that outgrow one machine.

Launch one process per GPU (or several CPU processes) with torchrun; the arguments are those of
``python -m vae_core train``::

    torchrun --nproc_per_node=2 -m vae_core.training.distributed --dataset fashion-mnist --epochs 30 --out runs/fm

The backend is NCCL when the processes train on CUDA GPUs, else gloo (CPU).

How a step is split, and why it equals one process with the same global batch B:
- every process builds the same model from the same seed (and DistributedDataParallel copies rank 0's
  weights to the others at the start), holds the whole training set, and draws the same seeded
  permutation each epoch, exactly as :class:`vae_core.training.trainer.Trainer` does;
- each global batch of B images is cut into ``world_size`` consecutive slices, one per process
  (sizes differ by at most one image when B is not a multiple of it);
- the reparameterization noise eps for the whole global batch, (B, latent_dim), is drawn on every
  process from the same seeded generator that a single process would use, and each process takes its
  own rows: every image gets the eps it would get in a 1-process run;
- a process's loss is its slice's sum of (recon + beta * KL) times world_size / B; DDP averages the
  gradients over the processes, so the gradient is (1/B) times the sum over the whole global batch:
  the gradient of the 1-process loss, the mean over the batch;
- rank 0 evaluates on the test set, sends the result to the others, and writes the checkpoint (the
  same format as vae_core.store.checkpoints); the others wait at a barrier.
What differs from one process is only the order of floating-point sums (per slice, then across
processes): after 2 epochs on the 8x8 digits the weights agree to about 1e-6 (tests/test_distributed.py).
"""
from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .run_spec import RunSpec, add_arguments
from .trainer import Trainer

LAUNCH = "torchrun --nproc_per_node=N -m vae_core.training.distributed"


class DistributedError(RuntimeError):
    """The processes cannot be set up for distributed training; the message says what to do."""


def slice_bounds(n: int, world_size: int, rank: int) -> tuple[int, int]:
    """[lo, hi) of rank's consecutive share of n items; the first n % world_size ranks get one more."""
    base, extra = divmod(n, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class DistributedTrainer(Trainer):
    """A Trainer whose every global batch is split over the processes of an initialised process group.

    Construct it on every process with the same arguments (pass callbacks on rank 0 only)."""

    def __init__(self, model_cfg, train_cfg, data, **kwargs):
        if not dist.is_initialized():
            raise DistributedError("torch.distributed is not initialised: launch with torchrun and call "
                                   "init_distributed() first")
        if kwargs.get("time_limit") is not None:
            raise DistributedError("time_limit is not supported in distributed training (processes would "
                                   "disagree on when to stop); give --epochs")
        super().__init__(model_cfg, train_cfg, data, **kwargs)
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.backend = dist.get_backend()
        ids = [self.device.index if self.device.index is not None else torch.cuda.current_device()] \
            if self.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(self.model, device_ids=ids)

    def _batch_loss(self, idx: torch.Tensor, weight: float) -> tuple[torch.Tensor, float, torch.Tensor]:
        n = len(idx)
        lo, hi = slice_bounds(n, self.world_size, self.rank)
        eps = self.model.draw_eps(n)  # what one process draws for the whole batch; every process draws it all
        mine = idx[lo:hi]
        y = self.y_train[mine] if self.model.variant.conditional else None
        out = self.ddp(self.x_train[mine], y, eps=None if eps is None else eps[lo:hi])
        per_image = out.per_image(weight)
        loss = per_image.sum() * (self.world_size / n)  # DDP divides the summed gradients by world_size
        sums = torch.stack([per_image.detach().sum(), out.recon.detach().sum(), out.kl.detach().sum()]).double()
        dist.all_reduce(sums)  # every process sees the global batch's loss (and stops together if it diverges)
        return loss, (sums[0] / n).item(), sums

    def _evaluate(self) -> tuple[float, float, float]:
        result = torch.zeros(3, dtype=torch.float64, device=self.device)
        if self.rank == 0:
            result = torch.tensor(super()._evaluate(), dtype=torch.float64, device=self.device)
        dist.broadcast(result, src=0)
        return tuple(result.tolist())

    def metadata(self) -> dict:
        meta = super().metadata()
        meta["distributed"] = {"world_size": self.world_size, "backend": self.backend,
                               "global_batch_size": self.cfg.batch_size}
        return meta

    def save(self, path: str | Path) -> Path:
        if self.rank == 0:
            super().save(path)
        _barrier(self.device)
        self.last_saved_epoch = len(self.history)
        return Path(path)


def _barrier(device: torch.device) -> None:
    if device.type == "cuda":
        dist.barrier(device_ids=[device.index if device.index is not None else torch.cuda.current_device()])
    else:
        dist.barrier()


def init_distributed(device: str = "auto") -> tuple[torch.device, str]:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, ... in the environment).

    Returns this process's device and the backend: nccl for CUDA (one GPU per process, LOCAL_RANK), else gloo."""
    missing = [k for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise DistributedError(f"{', '.join(missing)} not set: start this with torchrun, e.g. {LAUNCH} --out DIR ...")
    pref = (device or "auto").lower()
    if pref == "mps":
        raise DistributedError("--device mps: distributed training runs on CUDA GPUs (nccl) or CPUs (gloo)")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise DistributedError(f"--device {device}: no CUDA device here; use --device cpu")
    use_cuda = pref.startswith("cuda") or (pref == "auto" and torch.cuda.is_available())
    if use_cuda:
        local = int(os.environ["LOCAL_RANK"])
        if local >= torch.cuda.device_count():
            raise DistributedError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPUs: start at most "
                                   "--nproc_per_node=<number of GPUs> processes per machine")
        torch.cuda.set_device(local)
        dev, backend = torch.device("cuda", local), "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return dev, backend


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``python -m vae_core train`` (vae_core.training.run_spec), under this module's launch command."""
    parser = argparse.ArgumentParser(
        prog=LAUNCH, description="Data-parallel training: each of the processes trains on its slice of every global "
                                 "batch (--batch-size is the global batch). Same arguments as python -m vae_core train.")
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from vae_core.store.checkpoints import CheckpointError
    from vae_core.model.config import ConfigError
    from vae_core.data.datasets import DatasetError, load_dataset
    from .progress import TrainingProgress
    from .trainer import TrainingDiverged

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.time_limit is not None:
        print("error: --time-limit is not supported in distributed training; give --epochs", file=sys.stderr)
        return 2
    try:
        device, backend = init_distributed(args.device)
    except DistributedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rank, world, local = dist.get_rank(), dist.get_world_size(), int(os.environ["LOCAL_RANK"])
    say = (lambda *a: print(*a, file=sys.stderr)) if rank == 0 else (lambda *a: None)
    trainer = None
    try:
        spec = RunSpec.from_args(args, device=str(device))
        spec.validate()
        if spec.threads:
            torch.set_num_threads(spec.threads)
        if spec.batch_size < world:
            raise ConfigError(f"batch_size={spec.batch_size} is the global batch: it must be at least the "
                              f"number of processes ({world})")

        def load():
            return load_dataset(spec.dataset, data_dir=spec.data_dir, download=spec.download,
                                test_fraction=spec.test_fraction, seed=spec.seed)
        # one process per machine downloads (if needed) before the others read the files
        data = load() if local == 0 else None
        _barrier(device)
        data = data if data is not None else load()
        model_cfg = spec.model_config(data.train.image_shape, len(data.train.class_names))
        out = Path(args.out)
        say(f"training on {data.train.name}: {len(data.train)} train / {len(data.test)} test images; "
            f"{world} processes ({backend}), global batch {spec.batch_size}")
        trainer = DistributedTrainer(
            model_cfg, spec.train_config(), data, out_dir=out,
            callbacks=[TrainingProgress(spec.epochs)] if rank == 0 else [],
            resume_from=out if args.resume else None, sample_size=spec.sample_size,
            command=f"torchrun --nproc_per_node={world} -m vae_core.training.distributed " + shlex.join(argv),
            save_optimizer=spec.save_optimizer)
        history = trainer.fit()
    except (ConfigError, CheckpointError, DatasetError, TrainingDiverged, DistributedError, ValueError) as e:
        say(f"error: {e}")
        return 2
    finally:
        # release DDP and any communication work it holds before leaving the group: such objects destroyed
        # during interpreter shutdown can abort the process
        trainer = None
        gc.collect()
        dist.destroy_process_group()
    if history:
        last = history[-1]
        say(f"test negative ELBO: {last.test_neg_elbo:.2f} nats (reconstruction {last.test_recon:.2f} + "
            f"KL {last.test_kl:.2f}) after {last.epoch} epochs\ncheckpoint: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
