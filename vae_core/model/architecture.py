"""The VAE's layers, written once and without torch: every other description of a model derives from it.

``describe(cfg)`` lists the operations of the encoder, of its heads and of the decoder in order, with
the shape of one image's data before and after each, and every layer that has weights under its
torch ``state_dict`` name. From that one list:

- vae_core.model.torch_model builds the torch modules, each at its name, and runs them in order;
- vae_core.model.numpy_model runs the encoder in NumPy on a checkpoint's arrays (no torch);
- vae_core.model.decoder_program writes the decoder as the browser's program;
- vae_core.store.checkpoints holds a checkpoint's tensors to ``state_shapes(cfg)``.

Operations: ``linear``, ``conv`` (a strided convolution), ``convT`` (its transpose), ``relu``,
``flatten``, ``label`` (append the one-hot class label y) and ``reshape`` (to a (C, H, W) map).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from .config import ModelConfig
from .shapes import KERNEL, PADDING, STRIDE, TensorSpec, conv_out, conv_transpose_out

@dataclass(frozen=True)
class Op:
    """One operation on one image's data, whose shape goes from ``in_shape`` to ``out_shape``."""

    kind: str  # linear, conv, convT, relu, flatten, label or reshape
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    name: str = ""  # the torch module's name (its tensors' prefix); "" for an operation without a module

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """The weight and bias this operation holds, by state_dict name (none for most)."""
        c_in, c_out = self.in_shape[0], self.out_shape[0]
        if self.kind == "linear":
            weight = (c_out, c_in)
        elif self.kind == "conv":
            weight = (c_out, c_in, KERNEL, KERNEL)
        elif self.kind == "convT":
            weight = (c_in, c_out, KERNEL, KERNEL)
        else:
            return {}
        return {f"{self.name}.weight": weight, f"{self.name}.bias": (c_out,)}


@dataclass(frozen=True)
class Architecture:
    encoder: tuple[Op, ...]  # x - pixel_mean, (C, H, W) -> the features (F,)
    mu: Op  # the features -> mu of q(z|x)
    logvar: Op | None  # the features -> log sigma^2 of q(z|x); None when q(z|x) is a point (z = mu)
    decoder: tuple[Op, ...]  # z (D,) -> the logits of p(x|z), C*H*W values in (C, H, W) order (flat or as a map)
    tensors: dict[str, TensorSpec]  # by state_dict name: the input centre, a learned sigma, the variant's own

    @property
    def ops(self) -> tuple[Op, ...]:
        return (*self.encoder, self.mu, *([self.logvar] if self.logvar else []), *self.decoder)

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor a checkpoint of this model holds, with its shape."""
        shapes: dict[str, tuple[int, ...]] = {}
        for op in self.ops:
            shapes.update(op.tensor_shapes())
        shapes.update({name: spec.shape for name, spec in self.tensors.items()})
        return shapes


class _Chain:
    """Operations appended one after the other, each starting from the shape the last one left."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)
        self.ops: list[Op] = []

    def add(self, kind: str, out_shape=None, name: str = "") -> None:
        out = self.shape if out_shape is None else tuple(int(s) for s in out_shape)
        self.ops.append(Op(kind, self.shape, out, name))
        self.shape = out

    def label(self, classes: int) -> None:
        if classes:
            self.add("label", (self.shape[0] + classes,))


def _label_classes(cfg: ModelConfig) -> int:
    """How many classes the one-hot label has (0: the model takes no label)."""
    return cfg.num_classes if cfg.variant.conditional else 0


def _encoder(cfg: ModelConfig) -> tuple[_Chain, tuple[int, ...]]:
    """The encoder's operations, and the conv encoder's last feature map (where the conv decoder starts)."""
    c, h, w = cfg.image_shape
    chain = _Chain((c, h, w))
    if cfg.arch == "mlp":
        chain.add("flatten", (c * h * w,))
        chain.label(_label_classes(cfg))
        for i, width in enumerate(cfg.hidden):
            chain.add("linear", (width,), f"encoder.body.{2 * i}")
            chain.add("relu", name=f"encoder.body.{2 * i + 1}")
        return chain, ()
    for i, channels in enumerate(cfg.hidden):
        chain.add("conv", (channels, conv_out(chain.shape[1]), conv_out(chain.shape[2])), f"encoder.body.{2 * i}")
        chain.add("relu", name=f"encoder.body.{2 * i + 1}")
    last_map = chain.shape
    chain.add("flatten", (math.prod(last_map),))
    chain.label(_label_classes(cfg))
    return chain, last_map


def _decoder(cfg: ModelConfig, start: tuple[int, ...]) -> _Chain:
    chain = _Chain((cfg.latent_dim,))
    chain.label(_label_classes(cfg))
    if cfg.arch == "mlp":
        widths = [*reversed(cfg.hidden), cfg.num_pixels]
        for i, width in enumerate(widths):
            chain.add("linear", (width,), f"decoder.net.{2 * i}")
            if i < len(widths) - 1:
                chain.add("relu", name=f"decoder.net.{2 * i + 1}")
        return chain
    chain.add("linear", (math.prod(start),), "decoder.fc")
    chain.add("relu")
    chain.add("reshape", start)
    channels = [*reversed(cfg.hidden[:-1]), cfg.image_shape[0]]
    for i, c in enumerate(channels):
        chain.add("convT", (c, conv_transpose_out(chain.shape[1]), conv_transpose_out(chain.shape[2])),
                  f"decoder.body.{2 * i}")
        if i < len(channels) - 1:
            chain.add("relu", name=f"decoder.body.{2 * i + 1}")
    return chain


def describe(cfg: ModelConfig) -> Architecture:
    """The model a config asks for, operation by operation."""
    encoder, last_map = _encoder(cfg)
    features = encoder.shape[0]
    mu = Op("linear", (features,), (cfg.latent_dim,), "encoder.fc_mu")
    logvar = Op("linear", (features,), (cfg.latent_dim,), "encoder.fc_logvar") if cfg.variant.gaussian_posterior else None
    decoder = _decoder(cfg, last_map)
    if math.prod(decoder.shape) != cfg.num_pixels:
        raise ValueError(f"the decoder ends at {decoder.shape}, not the {cfg.num_pixels} pixels of {cfg.image_shape}")
    tensors = {}
    if cfg.likelihood == "gaussian" and cfg.gaussian_variance == "learned":
        tensors["log_sigma"] = TensorSpec(tuple(cfg.image_shape), learned=True, start=math.log(cfg.gaussian_sigma))
    # The mean training image: the encoder sees x minus it (centred inputs train faster); zero, and so no change,
    # in models trained without it.
    tensors["pixel_mean"] = TensorSpec(tuple(cfg.image_shape), learned=False)
    tensors.update(cfg.variant.extra_tensors(cfg))
    return Architecture(tuple(encoder.ops), mu, logvar, tuple(decoder.ops), tensors)


def state_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of this config holds, with its shape (torch's state_dict names)."""
    return describe(cfg).state_shapes()
