"""Configuration dataclasses: one for the model, one for training.

A checkpoint stores ``dataclasses.asdict(config)`` as JSON and the model is
rebuilt with ``ModelConfig.from_dict(saved)``.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

from .shapes import conv_fit_error
from .variants import Variant, kind_from_flags, variant

ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
LR_SCHEDULES = ("cosine", "constant")
DEFAULT_HIDDEN = {"mlp": (400,), "conv": (32, 64)}  # hidden sizes when none are given, per architecture
# TrainConfig keys added later, with the values every older checkpoint was trained with
LEGACY_TRAINING = {"lr_schedule": "constant", "adam_beta2": 0.999, "data_init": False}
GAUSSIAN_VARIANCES = ("fixed", "learned")
LEGACY_KIND_FLAGS = {"conditional", "autoencoder"}  # how config.json said the kind before ModelConfig.kind
MAX_LATENT_DIM = 64
MAX_HIDDEN_LAYERS, MAX_HIDDEN_SIZE = 6, 4096  # hidden sizes: at most this many, each at most this large
AE_LOGVAR = -30.0  # the autoencoder's "posterior" is a point: sigma = exp(-15) ~ 3e-7
SLIDER_LIMIT = 3.0  # latent sliders span +-3 prior standard deviations


class ConfigError(ValueError):
    """A configuration value is out of range; the message names it and the allowed values."""


def parse_hidden(text: str) -> tuple[int, ...] | None:
    """Hidden sizes as typed, '512, 256' -> (512, 256); '' -> None (the architecture's default). The limits are
    ModelConfig's: ConfigError says what to type."""
    parts = [p for p in str(text).replace(" ", "").split(",") if p]
    if not parts:
        return None
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"hidden sizes {text!r}: give whole numbers separated by commas, e.g. 400 or 32,64") from None
    if min(sizes) < 1 or max(sizes) > MAX_HIDDEN_SIZE or len(sizes) > MAX_HIDDEN_LAYERS:
        raise ConfigError(f"hidden sizes {text!r}: give 1 to {MAX_HIDDEN_LAYERS} numbers between 1 and {MAX_HIDDEN_SIZE}")
    return sizes


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")


def _check_range(name: str, value, low, high) -> None:
    if isinstance(low, int) and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise ConfigError(f"{name}={value!r} must be an integer between {low} and {high}")
    if not (low <= value <= high):
        raise ConfigError(f"{name}={value} must be between {low} and {high}")


@dataclass
class ModelConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of one input image
    latent_dim: int = 20  # size of z (a VQ-VAE: of each code vector in its map of codes); 1 to 64
    arch: str = "mlp"  # "mlp" (fully connected) or "conv" (strided convolutions)
    hidden: tuple[int, ...] = (400,)  # MLP: widths of hidden layers; conv: channels per convolution block
    likelihood: str = "bernoulli"  # p(x|z): "bernoulli" (BCE on [0,1] pixels) or "gaussian"
    gaussian_variance: str = "fixed"  # gaussian only: "fixed" sigma, or one "learned" log-variance per pixel
    gaussian_sigma: float = 0.1  # gaussian only: the fixed sigma, and the start value when learned
    num_classes: int = 10  # label count; used by the conditional VAE
    kind: str = "vae"  # the kind of model, one of vae_core.model.variants.KINDS: "vae", "cvae" (conditional), "ae", ...
    options: Any = None  # the kind's own settings: an instance of its Options dataclass (None: the defaults)

    def __post_init__(self) -> None:
        try:
            self.image_shape = tuple(int(s) for s in self.image_shape)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"image_shape={self.image_shape!r} must be (C, H, W) integers") from e
        try:
            self.hidden = tuple(int(h) for h in self.hidden)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"hidden={self.hidden!r} must be a list of positive integers") from e
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ConfigError(f"image_shape={self.image_shape} must be (C, H, W) with positive sizes")
        _check_range("latent_dim", self.latent_dim, 1, MAX_LATENT_DIM)
        _check_choice("arch", self.arch, ARCHS)
        _check_choice("likelihood", self.likelihood, LIKELIHOODS)
        _check_choice("gaussian_variance", self.gaussian_variance, GAUSSIAN_VARIANCES)
        if not self.hidden or min(self.hidden) < 1:
            raise ConfigError(f"hidden={self.hidden} must list at least one positive size")
        if len(self.hidden) > MAX_HIDDEN_LAYERS or max(self.hidden) > MAX_HIDDEN_SIZE:
            raise ConfigError(f"hidden={self.hidden}: give 1 to {MAX_HIDDEN_LAYERS} sizes between 1 and "
                              f"{MAX_HIDDEN_SIZE}")
        if not (self.gaussian_sigma > 0):
            raise ConfigError(f"gaussian_sigma={self.gaussian_sigma} must be positive")
        _check_range("num_classes", self.num_classes, 1, 10_000)
        try:
            kind = variant(self.kind)
        except ValueError as e:
            raise ConfigError(str(e)) from e
        if self.options is None or isinstance(self.options, dict):
            try:
                self.options = kind.Options(**(self.options or {}))
            except (TypeError, ValueError) as e:
                raise ConfigError(f"options={self.options!r} do not fit kind={self.kind!r}: {e}") from e
        elif not isinstance(self.options, kind.Options):
            raise ConfigError(f"options={self.options!r} are not the {kind.Options.__name__} of kind={self.kind!r}")
        if self.arch == "conv" and (problem := conv_fit_error(self.image_shape, self.hidden)):
            raise ConfigError(problem)
        if problem := kind.config_error(self):
            raise ConfigError(problem)

    @property
    def variant(self) -> Variant:
        """What this kind of model is and does (vae_core.model.variants)."""
        return variant(self.kind)

    @property
    def num_pixels(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """The config a checkpoint's config.json holds; one written before kinds existed says its kind with
        the flags ``conditional`` and ``autoencoder``, which map to "cvae" and "ae"."""
        data = dict(data)
        if LEGACY_KIND_FLAGS & set(data):
            try:
                kind = kind_from_flags(**{k: bool(data.pop(k)) for k in LEGACY_KIND_FLAGS if k in data})
            except ValueError as e:
                raise ConfigError(str(e)) from e
            if data.setdefault("kind", kind) != kind:
                raise ConfigError(f"kind={data['kind']!r} contradicts the flags that say {kind!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys {unknown}; known keys are {sorted(known)}")
        return cls(**data)


@dataclass
class TrainConfig:
    """How to train. The defaults are the project's recipe (docs/benchmarks.md: it reaches the PyTorch
    example's 10-epoch quality on Fashion-MNIST in under half the time)."""
    dataset: str = "digits"  # registry name, an .npz file or an image folder
    epochs: int = 30
    batch_size: int = 256
    lr: float = 5e-3  # Adam's peak learning rate
    lr_schedule: str = "cosine"  # "cosine": 2% linear warm-up, then a cosine decay to 0; or "constant"
    adam_beta2: float = 0.99  # Adam's second-moment decay (PyTorch's default is 0.999)
    data_init: bool = True  # the encoder sees x minus the mean training image; the decoder starts at that mean
    beta: float = 1.0  # weight of the KL term (beta-VAE when != 1)
    warmup_epochs: int = 0  # KL weight ramps linearly from 0 to beta over this many epochs
    seed: int = 0
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu
    data_dir: str | None = None
    test_fraction: float = 0.2  # only for datasets without an official test split
    extra: dict = field(default_factory=dict)  # free-form notes kept in the checkpoint

    def __post_init__(self) -> None:
        _check_range("epochs", self.epochs, 1, 100_000)
        _check_range("batch_size", self.batch_size, 1, 1_000_000)
        if not (0 < self.lr <= 10):
            raise ConfigError(f"lr={self.lr} must be in (0, 10]")
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if not (0 < self.adam_beta2 < 1):
            raise ConfigError(f"adam_beta2={self.adam_beta2} must be between 0 and 1 (exclusive)")
        if not (0 <= self.beta <= 1000):
            raise ConfigError(f"beta={self.beta} must be between 0 and 1000")
        _check_range("warmup_epochs", self.warmup_epochs, 0, 100_000)
        if not (0 < self.test_fraction < 1):
            raise ConfigError(f"test_fraction={self.test_fraction} must be between 0 and 1 (exclusive)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        values = dict(LEGACY_TRAINING)  # checkpoints written before these settings existed trained this way
        values.update({k: v for k, v in data.items() if k in known})
        return cls(**values)
