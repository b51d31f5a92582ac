"""The data a components v2 component receives: JSON, plus optional float32 weights, in one bytes value.

Streamlit looks at every top-level value of a dict passed as a component's ``data`` for a
dataframe (and at a string, as a whole), and that look imports pandas (about 0.4 s) the first
time: on the first screen, before the first image. Bytes are sent as they are. Weights travel as
raw little-endian float32 after the JSON, a quarter smaller than base64 and with nothing to decode.

Layout: uint32 JSON length, uint32 weights length (both little-endian), the JSON text, spaces up
to a multiple of 4 bytes, the weights. ``UNPACK_JS`` is the JavaScript that reads it; components
put it before their own code."""
from __future__ import annotations

import json
import struct

HEADER = struct.Struct("<II")

UNPACK_JS = """
// A component's data (ui/component_data.py): JSON, then optional float32 weights, as one Uint8Array.
function unpack(data) {
  if (!(data instanceof Uint8Array)) return data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nText = view.getUint32(0, true), nBlob = view.getUint32(4, true);
  const out = JSON.parse(new TextDecoder().decode(data.subarray(8, 8 + nText)));
  if (nBlob) out.weights = new Float32Array(data.slice(data.byteLength - nBlob).buffer);  // a copy: aligned
  return out;
}
"""


def component_data(payload: dict, blob: bytes = b"") -> bytes:
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(blob) % 4:
        raise ValueError("the weights must be whole float32 values")
    pad = b" " * (-(HEADER.size + len(text)) % 4)
    return HEADER.pack(len(text), len(blob)) + text + pad + blob


def unpack(data: bytes) -> tuple[dict, bytes]:
    """The payload and the weights of ``component_data``'s bytes (what the JavaScript reads)."""
    n_text, n_blob = HEADER.unpack_from(data)
    payload = json.loads(data[HEADER.size:HEADER.size + n_text].decode("utf-8"))
    return payload, bytes(data[len(data) - n_blob:]) if n_blob else b""
