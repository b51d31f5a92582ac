"""The decoder as a small program of plain operations over one float32 buffer, so that a
browser can run p(x|z) itself (linear, relu, reshape, transposed convolution, sigmoid).

``decoder_program(model)`` (a torch VAE) and ``program_from_arrays(config, arrays)`` (a checkpoint's
weights, no torch needed) return (spec, blob): ``spec`` is JSON-ready and lists the
operations with offsets (in float32 elements) into ``blob``, the little-endian float32
weights. ``run_program`` runs the same program in NumPy: it is the reference the
JavaScript decoder is written against and tested with.
"""
from __future__ import annotations

import hashlib

import numpy as np

from .config import ARCHS, ModelConfig
from .numpy_model import KERNEL, PADDING, STRIDE, decoder_layers


class UnsupportedDecoder(ValueError):
    """This decoder has a layer the browser program does not implement."""


def program_from_arrays(cfg: ModelConfig, arrays: dict[str, np.ndarray]) -> tuple[dict, bytes]:
    """The program of the decoder whose weights are ``arrays`` (a checkpoint's, by state_dict name)."""
    if cfg.arch not in ARCHS:
        raise UnsupportedDecoder(f"the architecture {cfg.arch!r} has no browser implementation")
    parts: list[np.ndarray] = []
    size = 0

    def add(name: str) -> int:
        nonlocal size
        arr = np.asarray(arrays[name], dtype="<f4").ravel()
        parts.append(arr)
        size += arr.size
        return size - arr.size

    ops = []
    shape = None
    for layer in decoder_layers(cfg):
        kind = layer["op"]
        if kind == "linear":
            n_out, n_in = arrays[layer["name"] + ".weight"].shape
            ops.append({"op": "linear", "in": n_in, "out": n_out,
                        "w": add(layer["name"] + ".weight"), "b": add(layer["name"] + ".bias")})
        elif kind == "reshape":
            shape = tuple(layer["shape"])
            ops.append(dict(layer))
        elif kind == "convT":
            c, h, w = shape
            cout = arrays[layer["name"] + ".weight"].shape[1]
            ho, wo = (h - 1) * STRIDE - 2 * PADDING + KERNEL, (w - 1) * STRIDE - 2 * PADDING + KERNEL
            ops.append({"op": "convT", "cin": c, "cout": cout, "k": KERNEL, "s": STRIDE, "p": PADDING,
                        "hin": h, "win": w, "hout": ho, "wout": wo,
                        "w": add(layer["name"] + ".weight"), "b": add(layer["name"] + ".bias")})
            shape = (cout, ho, wo)
        else:
            ops.append({"op": kind})
    ops.append({"op": "sigmoid"})
    data = np.concatenate(parts).astype("<f4").tobytes() if parts else b""
    spec = {
        "latent_dim": cfg.latent_dim,
        "num_classes": cfg.num_classes if cfg.conditional else 0,
        "image_shape": list(cfg.image_shape),
        "ops": ops,
        "floats": size,
        "sha256": hashlib.sha256(data).hexdigest()[:16],
    }
    return spec, data


def _check_layers(model) -> None:
    """Refuse a torch decoder with a layer other than the ones vae_core.torch_model builds (a changed model)."""
    from torch import nn

    from .torch_model import ConvDecoder, MLPDecoder

    dec = model.decoder
    if isinstance(dec, MLPDecoder):
        layers = list(dec.net)
    elif isinstance(dec, ConvDecoder):
        layers = [dec.fc, *dec.body]
    else:
        raise UnsupportedDecoder(f"the decoder {type(dec).__name__} has no browser implementation")
    for m in layers:
        if isinstance(m, nn.ConvTranspose2d):
            if (m.groups != 1 or m.dilation != (1, 1) or m.output_padding != (0, 0) or m.bias is None
                    or m.kernel_size != (KERNEL, KERNEL) or m.stride != (STRIDE, STRIDE)
                    or m.padding != (PADDING, PADDING)):
                raise UnsupportedDecoder(f"only the {KERNEL}x{KERNEL} stride-{STRIDE} ConvTranspose2d layers "
                                         "vae_core.torch_model builds run in the browser")
        elif not isinstance(m, (nn.Linear, nn.ReLU)):
            raise UnsupportedDecoder(f"the layer {type(m).__name__} has no browser implementation")


def decoder_program(model) -> tuple[dict, bytes]:
    """The program of a torch VAE's decoder (vae_core.torch_model.VAE)."""
    _check_layers(model)
    return program_from_arrays(model.cfg, {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


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
