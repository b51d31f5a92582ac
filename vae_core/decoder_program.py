"""The decoder as a small program of plain operations over one float32 buffer, so that a
browser can run p(x|z) itself (linear, relu, reshape, transposed convolution, sigmoid).

``decoder_program(model)`` returns (spec, blob): ``spec`` is JSON-ready and lists the
operations with offsets (in float32 elements) into ``blob``, the little-endian float32
weights. ``run_program`` runs the same program in NumPy: it is the reference the
JavaScript decoder is written against and tested with.
"""
from __future__ import annotations

import hashlib

import numpy as np
from torch import nn

from .models import VAE, ConvDecoder, MLPDecoder


class UnsupportedDecoder(ValueError):
    """This decoder has a layer the browser program does not implement."""


class _Blob:
    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, tensor) -> int:
        arr = tensor.detach().cpu().numpy().astype("<f4").ravel()
        offset = self.size
        self.parts.append(arr)
        self.size += arr.size
        return offset


def _linear(layer: nn.Linear, blob: _Blob) -> dict:
    return {"op": "linear", "in": layer.in_features, "out": layer.out_features,
            "w": blob.add(layer.weight), "b": blob.add(layer.bias)}


def _conv_t(layer: nn.ConvTranspose2d, blob: _Blob, shape: tuple[int, int, int]) -> tuple[dict, tuple[int, int, int]]:
    if layer.groups != 1 or layer.dilation != (1, 1) or layer.output_padding != (0, 0) or layer.bias is None:
        raise UnsupportedDecoder("only plain ConvTranspose2d layers (no groups, dilation or output padding) run in the browser")
    c, h, w = shape
    k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
    if layer.kernel_size != (k, k) or layer.stride != (s, s) or layer.padding != (p, p):
        raise UnsupportedDecoder("only square kernels, strides and paddings run in the browser")
    ho, wo = (h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k
    op = {"op": "convT", "cin": c, "cout": layer.out_channels, "k": k, "s": s, "p": p, "hin": h, "win": w,
          "hout": ho, "wout": wo, "w": blob.add(layer.weight), "b": blob.add(layer.bias)}
    return op, (layer.out_channels, ho, wo)


def _sequence(modules, blob: _Blob, shape=None) -> tuple[list[dict], tuple | None]:
    ops = []
    for m in modules:
        if isinstance(m, nn.Linear):
            ops.append(_linear(m, blob))
        elif isinstance(m, nn.ReLU):
            ops.append({"op": "relu"})
        elif isinstance(m, nn.ConvTranspose2d):
            op, shape = _conv_t(m, blob, shape)
            ops.append(op)
        else:
            raise UnsupportedDecoder(f"the layer {type(m).__name__} has no browser implementation")
    return ops, shape


def decoder_program(model: VAE) -> tuple[dict, bytes]:
    cfg = model.cfg
    blob = _Blob()
    dec = model.decoder
    if isinstance(dec, MLPDecoder):
        ops, _ = _sequence(dec.net, blob)
    elif isinstance(dec, ConvDecoder):
        ops = [_linear(dec.fc, blob), {"op": "relu"}, {"op": "reshape", "shape": list(dec.start_shape)}]
        more, _ = _sequence(dec.body, blob, tuple(dec.start_shape))
        ops += more
    else:
        raise UnsupportedDecoder(f"the decoder {type(dec).__name__} has no browser implementation")
    ops.append({"op": "sigmoid"})
    data = np.concatenate(blob.parts).astype("<f4").tobytes() if blob.parts else b""
    spec = {
        "latent_dim": cfg.latent_dim,
        "num_classes": cfg.num_classes if cfg.conditional else 0,
        "image_shape": list(cfg.image_shape),
        "ops": ops,
        "floats": blob.size,
        "sha256": hashlib.sha256(data).hexdigest()[:16],
    }
    return spec, data


def run_program(spec: dict, blob: bytes, z: np.ndarray, y: int | None = None) -> np.ndarray:
    """Run the program on one latent point; returns the (C, H, W) mean image, float32."""
    w = np.frombuffer(blob, dtype="<f4")
    x = np.asarray(z, dtype=np.float32).ravel()
    if spec["num_classes"]:
        onehot = np.zeros(spec["num_classes"], np.float32)
        onehot[int(y or 0)] = 1
        x = np.concatenate([x, onehot])
    for op in spec["ops"]:
        kind = op["op"]
        if kind == "linear":
            weight = w[op["w"]:op["w"] + op["in"] * op["out"]].reshape(op["out"], op["in"])
            x = weight @ x + w[op["b"]:op["b"] + op["out"]]
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "reshape":
            x = x.reshape(op["shape"])
        elif kind == "convT":
            x = _conv_transpose(x, w, op)
        elif kind == "sigmoid":
            x = 1 / (1 + np.exp(-x))
    return x.reshape(spec["image_shape"]).astype(np.float32)


def _conv_transpose(x: np.ndarray, w: np.ndarray, op: dict) -> np.ndarray:
    cin, cout, k, s, p = op["cin"], op["cout"], op["k"], op["s"], op["p"]
    hin, win, hout, wout = op["hin"], op["win"], op["hout"], op["wout"]
    weight = w[op["w"]:op["w"] + cin * cout * k * k].reshape(cin, cout, k, k)
    full = np.zeros((cout, (hin - 1) * s + k, (win - 1) * s + k), np.float32)
    for i in range(hin):
        for j in range(win):
            full[:, i * s:i * s + k, j * s:j * s + k] += np.einsum("c,cokl->okl", x[:, i, j], weight)
    out = full[:, p:p + hout, p:p + wout]
    return out + w[op["b"]:op["b"] + cout].reshape(cout, 1, 1)
