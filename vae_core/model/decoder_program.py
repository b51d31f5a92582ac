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

from .architecture import describe
from .shapes import KERNEL, PADDING, STRIDE
from .config import ModelConfig


class UnsupportedDecoder(ValueError):
    """This decoder has a layer the browser program does not implement."""


BROWSER_OPS = ("label", "linear", "relu", "reshape", "convT")  # what ui/js/decoder_core.js runs (and sigmoid)


def program_from_arrays(cfg: ModelConfig, arrays: dict[str, np.ndarray]) -> tuple[dict, bytes]:
    """The program of the decoder whose weights are ``arrays`` (a checkpoint's, by state_dict name): the
    decoder's operations as vae_core.model.architecture describes them, then the sigmoid (the mean of p(x|z))."""
    if not cfg.variant.browser_decoder:
        raise UnsupportedDecoder(f"a {cfg.variant.title}'s decoder does not run in the browser: "
                                 f"{cfg.variant.browser_decoder_reason}")
    arch = describe(cfg)
    parts: list[np.ndarray] = []
    size = 0

    def add(name: str) -> int:
        nonlocal size
        arr = np.asarray(arrays[name], dtype="<f4").ravel()
        parts.append(arr)
        size += arr.size
        return size - arr.size

    ops = []
    for op in arch.decoder:
        if op.kind not in BROWSER_OPS:
            raise UnsupportedDecoder(f"the decoder's {op.kind!r} operation has no browser implementation")
        if op.kind == "label":
            ops.append({"op": "label", "classes": op.out_shape[0] - op.in_shape[0]})
        elif op.kind == "linear":
            ops.append({"op": "linear", "in": op.in_shape[0], "out": op.out_shape[0],
                        "w": add(op.name + ".weight"), "b": add(op.name + ".bias")})
        elif op.kind == "reshape":
            ops.append({"op": "reshape", "shape": list(op.out_shape)})
        elif op.kind == "convT":
            (cin, hin, win), (cout, hout, wout) = op.in_shape, op.out_shape
            ops.append({"op": "convT", "cin": cin, "cout": cout, "k": KERNEL, "s": STRIDE, "p": PADDING,
                        "hin": hin, "win": win, "hout": hout, "wout": wout,
                        "w": add(op.name + ".weight"), "b": add(op.name + ".bias")})
        else:
            ops.append({"op": op.kind})
    ops.append({"op": "sigmoid"})
    data = np.concatenate(parts).astype("<f4").tobytes() if parts else b""
    spec = {
        "latent_dim": arch.latent_size,
        "num_classes": next((op["classes"] for op in ops if op["op"] == "label"), 0),
        "image_shape": list(cfg.image_shape),
        "ops": ops,
        "floats": size,
        "sha256": hashlib.sha256(data).hexdigest()[:16],
    }
    return spec, data


def decoder_program(model) -> tuple[dict, bytes]:
    """The program of a torch VAE's decoder (vae_core.model.torch_model.VAE), refused when one of its modules is no
    longer the one its description built (a layer swapped after the model was made)."""
    from .torch_model import ArchitectureMismatch

    try:
        model.check_modules(model.architecture.decoder)
    except ArchitectureMismatch as e:
        raise UnsupportedDecoder(f"{e}: only the layers vae_core.model.architecture describes run in the browser") from e
    return program_from_arrays(model.cfg, {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


def run_program(spec: dict, blob: bytes, z: np.ndarray, y: int | None = None) -> np.ndarray:
    """Run the program on one latent point; returns the (C, H, W) mean image, float32."""
    w = np.frombuffer(blob, dtype="<f4")
    x = np.asarray(z, dtype=np.float32).ravel()
    for op in spec["ops"]:
        kind = op["op"]
        if kind == "label":
            onehot = np.zeros(op["classes"], np.float32)
            onehot[int(y or 0)] = 1
            x = np.concatenate([x, onehot])
        elif kind == "linear":
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
