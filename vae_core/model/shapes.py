"""The shapes every description of the model shares: the convolution blocks' geometry, one operation on one
image's data (Op) and a chain of them, and a tensor of the model that is not a layer's. The bottom of the
model wing: it imports nothing of the project, so a kind of model (vae_core.model.variants) can describe
networks of its own with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# Every convolution block: a 4x4 kernel with stride 2 and padding 1, which halves height and width (the
# transposed convolution doubles them).
KERNEL, STRIDE, PADDING = 4, 2, 1


def conv_out(n: int) -> int:
    """Output size of a convolution block along one side of n pixels."""
    return (n + 2 * PADDING - KERNEL) // STRIDE + 1


def conv_transpose_out(n: int) -> int:
    """Output size of a transposed convolution block along one side of n pixels."""
    return (n - 1) * STRIDE - 2 * PADDING + KERNEL


def conv_factor(blocks: int) -> int:
    """What image sides must divide by for this many convolution blocks (the decoder doubles them back)."""
    return STRIDE ** blocks


def conv_fit_error(image_shape: tuple[int, int, int], hidden: tuple[int, ...]) -> str | None:
    """Why ``len(hidden)`` convolution blocks cannot take images of this shape, or None when they can."""
    _, h, w = image_shape
    factor = conv_factor(len(hidden))
    if h % factor == 0 and w % factor == 0:
        return None
    return (f"arch='conv' with {len(hidden)} stride-{STRIDE} blocks needs height and width divisible by {factor}; "
            f"the images are {h}x{w}. Use fewer --hidden entries or --arch mlp")


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of the model that is not a layer's: the input centre, a learned variance, a variant's own."""

    shape: tuple[int, ...]
    learned: bool  # a trained parameter, or a fixed buffer
    start: float | str = 0.0  # its first value: a number, or "uniform" (random in [0, 1))


OP_KINDS = ("linear", "conv", "convT", "pointwise", "relu", "flatten", "label", "reshape")


@dataclass(frozen=True)
class Op:
    """One operation on one image's data, whose shape goes from ``in_shape`` to ``out_shape``.

    ``linear`` (a fully connected layer), ``conv`` (a strided convolution block), ``convT`` (its transpose),
    ``pointwise`` (a 1x1 convolution: the same linear map of the channels at every position of a map),
    ``relu``, ``flatten``, ``label`` (append the one-hot class label y) and ``reshape`` (to a (C, H, W) map)."""

    kind: str
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
        elif self.kind == "pointwise":
            weight = (c_out, c_in, 1, 1)
        else:
            return {}
        return {f"{self.name}.weight": weight, f"{self.name}.bias": (c_out,)}


class Chain:
    """Operations appended one after the other, each starting from the shape the last one left."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)
        self.ops: list[Op] = []

    def add(self, kind: str, out_shape=None, name: str = "") -> "Chain":
        out = self.shape if out_shape is None else tuple(int(s) for s in out_shape)
        self.ops.append(Op(kind, self.shape, out, name))
        self.shape = out
        return self

    def label(self, classes: int) -> "Chain":
        if classes:
            self.add("label", (self.shape[0] + classes,))
        return self

    def mlp(self, widths, prefix: str, last_relu: bool = True) -> "Chain":
        """Linear layers of these widths named prefix.0, prefix.2, ... with a ReLU after each (prefix.1, ...),
        after the last one too unless ``last_relu`` is False."""
        widths = list(widths)
        for i, width in enumerate(widths):
            self.add("linear", (width,), f"{prefix}.{2 * i}")
            if last_relu or i < len(widths) - 1:
                self.add("relu", name=f"{prefix}.{2 * i + 1}")
        return self

    @property
    def size(self) -> int:
        return math.prod(self.shape)
