"""Download buttons: maps as PNG (drawn with Pillow, offline) and latent points as JSON."""
from __future__ import annotations

import functools
import json

import numpy as np
import streamlit as st

from vae_core.render.map_image import map_png

from .palette import class_colours


def map_png_button(emb: np.ndarray, labels: np.ndarray, class_names: list[str], *, file_name: str, key: str,
                   label: str = "Download the map (PNG)", **kwargs) -> None:
    """A PNG of the map, drawn only when the button is clicked. kwargs go to vae_core.render.map_image.map_png
    (extent, axis_titles, title, highlight, ellipse, prior)."""
    n_colours = max(len(class_names), int(np.max(labels)) + 1 if len(labels) else 1)
    data = functools.partial(map_png, np.asarray(emb), np.asarray(labels), list(class_names),
                             class_colours(n_colours), **kwargs)
    st.download_button(label, data, file_name=file_name, mime="image/png", key=key, icon=":material/download:",
                       on_click="ignore",
                       help="The map as a picture (drawn on the server). The chart's camera icon saves the view "
                            "as you see it, zoom included.")


def point_json(model: str, z, **extra) -> str:
    """A latent point and what it came from, as JSON text (numbers rounded to 5 decimals)."""
    doc = {"model": model, "latent_dim": int(np.asarray(z).size),
           "z": [round(float(v), 5) for v in np.asarray(z, dtype=np.float64).reshape(-1)]}
    for k, v in extra.items():
        if isinstance(v, np.ndarray):
            v = [round(float(x), 5) for x in v.reshape(-1)]
        doc[k] = v
    return json.dumps(doc, indent=2)


def point_json_button(model: str, z, *, file_name: str, key: str, label: str = "Download this point (JSON)",
                      **extra) -> None:
    st.download_button(label, point_json(model, z, **extra), file_name=file_name, mime="application/json",
                       key=key, icon=":material/data_object:", on_click="ignore")


PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"],
                 "toImageButtonOptions": {"format": "png", "scale": 2}}
