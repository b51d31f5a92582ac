"""The shapes every description of the model shares: the convolution blocks' geometry, and a tensor of the
model that is not a layer's. The bottom of the model wing: it imports nothing of the project.
"""
from __future__ import annotations

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
