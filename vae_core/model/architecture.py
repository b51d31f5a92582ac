"""The VAE's layers, written once and without torch: every other description of a model derives from it.

``describe(cfg)`` lists the operations of the encoder, of its heads and of the decoder in order, with
the shape of one image's data before and after each, every layer that has weights under its torch
``state_dict`` name, and the networks a kind of model adds of its own (a hierarchical VAE's top level).
From that one list:

- vae_core.model.torch_model builds the torch modules, each at its name, and runs them in order;
- vae_core.model.numpy_model runs the encoder in NumPy on a checkpoint's arrays (no torch);
- vae_core.model.decoder_program writes the decoder as the browser's program;
- vae_core.store.checkpoints holds a checkpoint's tensors to ``state_shapes(cfg)``.

The operations are vae_core.model.shapes.Op's. The kind (vae_core.model.variants) says how large the encoder's
heads are, what shape z has (a vector, or a map of code vectors for a VQ-VAE) and which networks it adds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from .config import ModelConfig
from .shapes import KERNEL, PADDING, STRIDE, Chain, Op, TensorSpec, conv_out, conv_transpose_out  # noqa: F401  (the geometry, read here by tests)

__all__ = ["Architecture", "Op", "describe", "state_shapes"]


@dataclass(frozen=True)
class Architecture:
    encoder: tuple[Op, ...]  # x - pixel_mean, (C, H, W) -> the features: (F,), or a (C', h, w) map for a map of codes
    mu: Op  # the features -> mu of q(z|x) (a VQ-VAE: the encoder's output z_e, a map)
    logvar: Op | None  # the features -> log sigma^2 of q(z|x); None when q(z|x) is a point (z = mu)
    decoder: tuple[Op, ...]  # z (latent_size,) -> the logits of p(x|z), C*H*W values in (C, H, W) order
    tensors: dict[str, TensorSpec]  # by state_dict name: the input centre, a learned sigma, the variant's own
    latent_shape: tuple[int, ...] = ()  # one image's z as the decoder takes it: (D,), or (D, h, w) for a map
    nets: dict[str, tuple[Op, ...]] | None = None  # the kind's own networks, by the name its code runs them with

    @property
    def latent_size(self) -> int:
        """How many numbers one image's z holds: the width of mu, z and the decoder's input."""
        return math.prod(self.latent_shape)

    @property
    def ops(self) -> tuple[Op, ...]:
        extra = [op for chain in (self.nets or {}).values() for op in chain]
        return (*self.encoder, self.mu, *([self.logvar] if self.logvar else []), *self.decoder, *extra)

    def chain(self, name: str) -> tuple[Op, ...]:
        """The operations of one named part: "encoder", "mu", "logvar", "decoder" or one of the kind's nets."""
        parts = {"encoder": self.encoder, "mu": (self.mu,), "logvar": (self.logvar,) if self.logvar else (),
                 "decoder": self.decoder, **(self.nets or {})}
        if name not in parts:
            raise KeyError(f"the model has no part {name!r}; it has {', '.join(parts)}")
        return parts[name]

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor a checkpoint of this model holds, with its shape."""
        shapes: dict[str, tuple[int, ...]] = {}
        for op in self.ops:
            shapes.update(op.tensor_shapes())
        shapes.update({name: spec.shape for name, spec in self.tensors.items()})
        return shapes


def _label_classes(cfg: ModelConfig) -> int:
    """How many classes the one-hot label has (0: the model takes no label)."""
    return cfg.num_classes if cfg.variant.conditional else 0


def _encoder(cfg: ModelConfig) -> tuple[Chain, tuple[int, ...]]:
    """The encoder's operations, and the conv encoder's last feature map (where the conv decoder starts). A kind
    whose z is a map of codes keeps that map (no flatten): its heads work at every position."""
    c, h, w = cfg.image_shape
    chain = Chain((c, h, w))
    if cfg.arch == "mlp":
        chain.add("flatten", (c * h * w,))
        chain.label(_label_classes(cfg))
        return chain.mlp(cfg.hidden, "encoder.body"), ()
    for i, channels in enumerate(cfg.hidden):
        chain.add("conv", (channels, conv_out(chain.shape[1]), conv_out(chain.shape[2])), f"encoder.body.{2 * i}")
        chain.add("relu", name=f"encoder.body.{2 * i + 1}")
    last_map = chain.shape
    if not cfg.variant.latent_map:
        chain.add("flatten", (math.prod(last_map),))
        chain.label(_label_classes(cfg))
    return chain, last_map


def _decoder(cfg: ModelConfig, latent_shape: tuple[int, ...], start: tuple[int, ...]) -> Chain:
    chain = Chain((math.prod(latent_shape),))
    chain.label(_label_classes(cfg))
    if cfg.arch == "mlp":
        return chain.mlp([*reversed(cfg.hidden), cfg.num_pixels], "decoder.net", last_relu=False)
    if len(latent_shape) == 3:  # a map of code vectors: each position's vector back to the encoder's channels
        chain.add("reshape", latent_shape)
        chain.add("pointwise", (start[0], *latent_shape[1:]), "decoder.fc")
        chain.add("relu")
    else:
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


def _head(cfg: ModelConfig, features: tuple[int, ...], name: str) -> Op:
    """mu or log sigma^2 from the features: a linear layer, or the same one at every position of a map."""
    size = cfg.variant.head_dim(cfg)
    if len(features) == 3:
        return Op("pointwise", features, (size, *features[1:]), name)
    return Op("linear", features, (size,), name)


def describe(cfg: ModelConfig) -> Architecture:
    """The model a config asks for, operation by operation."""
    kind = cfg.variant
    encoder, last_map = _encoder(cfg)
    mu = _head(cfg, encoder.shape, "encoder.fc_mu")
    logvar = _head(cfg, encoder.shape, "encoder.fc_logvar") if kind.gaussian_posterior else None
    latent_shape = tuple(kind.latent_shape(cfg, mu.out_shape))
    decoder = _decoder(cfg, latent_shape, last_map)
    if decoder.size != cfg.num_pixels:
        raise ValueError(f"the decoder ends at {decoder.shape}, not the {cfg.num_pixels} pixels of {cfg.image_shape}")
    tensors = {}
    if cfg.likelihood == "gaussian" and cfg.gaussian_variance == "learned":
        tensors["log_sigma"] = TensorSpec(tuple(cfg.image_shape), learned=True, start=math.log(cfg.gaussian_sigma))
    # The mean training image: the encoder sees x minus it (centred inputs train faster); zero, and so no change,
    # in models trained without it.
    tensors["pixel_mean"] = TensorSpec(tuple(cfg.image_shape), learned=False)
    tensors.update(kind.extra_tensors(cfg))
    nets = {name: tuple(chain) for name, chain in kind.extra_nets(cfg, encoder.shape).items()}
    return Architecture(tuple(encoder.ops), mu, logvar, tuple(decoder.ops), tensors, latent_shape, nets)


def state_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of this config holds, with its shape (torch's state_dict names)."""
    return describe(cfg).state_shapes()
