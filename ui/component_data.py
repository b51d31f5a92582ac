"""The data a components v2 component receives, sent as JSON text in bytes.

Streamlit looks at every top-level value of a dict passed as a component's ``data`` for a
dataframe (and at a string, as a whole), and that look imports pandas (about 0.4 s) the first
time: on the first screen, before the first image. Bytes are sent as they are; the components'
JavaScript decodes them (``unpack`` in ui/js/decoder_core.js, and the hover previews' own code)."""
from __future__ import annotations

import json


def component_data(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
