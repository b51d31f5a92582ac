"""The data every components v2 component of the app receives: a JSON header and named binary parts, in one
bytes value. ``READER_JS`` (ui/js/component_data.js) reads it in the browser; ``component`` puts it before a
component's own code.

Why bytes: Streamlit looks at every top-level value of a dict passed as a component's ``data`` for a
dataframe (and at a string, as a whole), and that look imports pandas (about 0.4 s) the first time: on the
first screen, before the first image. Bytes are sent as they are. Arrays travel as raw little-endian
values, a quarter smaller than base64 and with nothing to decode.

Layout: uint32 (little-endian) length of the JSON text; the JSON text {"json": header, "parts": index};
zeros up to a multiple of 8 bytes; then the parts, each starting at a multiple of 8 bytes from there (so
at a multiple of 8 from the value's start: the browser views a part as a typed array in place when the
value itself starts on such a boundary, and after one copy otherwise). The index lists each part as
{name, dtype, shape, offset, length, deflate}: dtype float32, uint16 or uint8; ``deflate`` parts are
zlib streams the browser inflates (DecompressionStream("deflate")) before viewing them.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

READER_JS = (Path(__file__).parent / "js" / "component_data.js").read_text()
DTYPES = {"float32": np.dtype("<f4"), "uint16": np.dtype("<u2"), "uint8": np.dtype("u1")}
ALIGN = 8  # bytes: every part starts on a multiple of this (float32 needs 4, uint16 2)
_LENGTH = struct.Struct("<I")


class ComponentDataError(ValueError):
    """A header or part that cannot travel to the browser (not JSON, a dtype the reader has no view for)."""


@dataclass(frozen=True)
class Deflated:
    """An array's bytes as a zlib stream: the browser inflates it, then views it as ``dtype`` with ``shape``.
    Made once by :func:`deflate` and kept (the image sheet of the map's hover previews)."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes


def _dtype_name(array: np.ndarray, name: str) -> str:
    for dtype_name, dtype in DTYPES.items():
        if array.dtype.newbyteorder("<") == dtype:  # either byte order: sent little-endian
            return dtype_name
    raise ComponentDataError(f"part {name!r} is {array.dtype}: send float32, uint16 or uint8 (convert it first)")


def deflate(array: np.ndarray, level: int = 1) -> Deflated:
    """``array`` (float32, uint16 or uint8) as a deflated part. Level 1: most of the size off in little time."""
    array = np.asarray(array)
    dtype_name = _dtype_name(array, "deflated")
    raw = np.ascontiguousarray(array, DTYPES[dtype_name]).tobytes()
    return Deflated(dtype_name, tuple(int(s) for s in array.shape), zlib.compress(raw, level))


def component_data(header: dict, parts: Mapping[str, np.ndarray | Deflated] | None = None) -> bytes:
    """``header`` (anything JSON holds, no NaN) and the named ``parts`` (arrays of float32, uint16 or uint8, or
    :class:`Deflated`) as one bytes value for a component's ``data``."""
    blobs, index, offset = [], [], 0
    for name, value in (parts or {}).items():
        if isinstance(value, Deflated):
            dtype_name, shape, blob, deflated = value.dtype, value.shape, value.data, True
        else:
            array = np.asarray(value)
            dtype_name = _dtype_name(array, name)
            shape, blob, deflated = array.shape, np.ascontiguousarray(array, DTYPES[dtype_name]).tobytes(), False
        index.append({"name": name, "dtype": dtype_name, "shape": [int(s) for s in shape], "offset": offset,
                      "length": len(blob), "deflate": deflated})
        pad = -len(blob) % ALIGN
        blobs += [blob, b"\0" * pad]
        offset += len(blob) + pad
    try:
        text = json.dumps({"json": header, "parts": index}, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise ComponentDataError(f"the component's header cannot be sent as JSON: {e}") from e
    head = _LENGTH.pack(len(text)) + text
    return b"".join([head, b"\0" * (-len(head) % ALIGN), *blobs])


def unpack(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the parts of ``component_data``'s bytes, as the browser reads them (deflated parts
    inflated, every part in its shape): for tests and for clients that speak the app's protocol."""
    (n,) = _LENGTH.unpack_from(data)
    outer = json.loads(bytes(data[_LENGTH.size:_LENGTH.size + n]).decode("utf-8"))
    base = _LENGTH.size + n + (-(_LENGTH.size + n) % ALIGN)
    parts = {}
    for p in outer["parts"]:
        blob = bytes(data[base + p["offset"]:base + p["offset"] + p["length"]])
        if p["deflate"]:
            blob = zlib.decompress(blob)
        parts[p["name"]] = np.frombuffer(blob, DTYPES[p["dtype"]]).reshape(p["shape"])
    return outer["json"], parts


def component(name: str, *, js: str, html: str | None = None, css: str | None = None):
    """A components v2 component whose JavaScript is the reader, then ``js`` (which calls ``unpack``)."""
    import streamlit as st

    return st.components.v2.component(name, html=html, css=css, js=READER_JS + "\n" + js)
