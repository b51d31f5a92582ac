"""The class colours are told apart under colour-vision deficiency, and every class-coloured figure uses them.

Simulation: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
deficiency", their matrices at severity 1.0, applied to linear sRGB. Difference: CIELAB (D65) Delta E 1976."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ui.palette import CLASS_PALETTE, class_colours

REPO = Path(__file__).resolve().parents[1]

MACHADO_2009 = {  # severity 1.0, from the paper's table of matrices
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65 = np.array([0.95047, 1.0, 1.08883])
D3 = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF"]


def _srgb(hexes) -> np.ndarray:
    return np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes])


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    xyz = linear @ SRGB_TO_XYZ.T / D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def closest_pair(hexes, deficiency: str | None) -> tuple[float, tuple[int, int]]:
    """The smallest Delta E 1976 between two of the colours as seen with ``deficiency`` (None: full colour
    vision), and which two."""
    linear = _linear(_srgb(hexes))
    if deficiency is not None:
        linear = np.clip(linear @ MACHADO_2009[deficiency].T, 0, 1)
    lab = _lab(linear)
    d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    i, j = np.triu_indices(len(hexes), 1)
    k = int(np.argmin(d[i, j]))
    return float(d[i, j][k]), (int(i[k]), int(j[k]))


def test_the_simulation_reproduces_what_the_accessibility_review_measured_on_the_old_palette():
    # the review found D3's classes 1 and 2 (orange, green) 4.6 apart for protanopia and 7.2 for deuteranopia
    delta, pair = closest_pair(D3, "protanopia")
    assert round(delta, 1) == 4.6 and pair == (1, 2)
    delta, _ = closest_pair(D3, "deuteranopia")
    assert round(delta, 1) == 7.2
    assert _lab(np.ones((1, 3)))[0] == pytest.approx([100, 0, 0], abs=0.01)  # white is L* 100


@pytest.mark.parametrize("deficiency, at_least", [("protanopia", 10), ("deuteranopia", 10), ("tritanopia", 10),
                                                  (None, 20)])
def test_every_two_classes_differ_by_at_least_delta_e_10_as_seen_with_a_colour_vision_deficiency(deficiency, at_least):
    delta, pair = closest_pair(CLASS_PALETTE, deficiency)
    assert delta >= at_least, f"classes {pair} differ by only {delta:.1f} for {deficiency or 'full colour vision'}"


def test_every_class_colour_stands_out_from_white_by_3_to_1():
    lum = _linear(_srgb(CLASS_PALETTE)) @ np.array([0.2126, 0.7152, 0.0722])
    assert ((1.05 / (lum + 0.05)) >= 3.0).all(), dict(zip(CLASS_PALETTE, np.round(1.05 / (lum + 0.05), 2)))


def test_ten_classes_take_the_palette_and_more_get_distinct_colours():
    assert class_colours(10) == list(CLASS_PALETTE) and class_colours(3) == list(CLASS_PALETTE[:3])
    many = class_colours(26)
    assert len(set(many)) == 26


def test_the_palette_is_defined_once_and_every_class_coloured_figure_takes_it():
    """No other list of class colours in the app: the map (its JS gets the colours from Python), its PNG, the AE
    vs VAE maps and the training's snapshots all call ui.palette.class_colours."""
    sources = {p: p.read_text() for p in [*(REPO / "ui").rglob("*.py"), *(REPO / "pages").glob("*.py"),
                                          *(REPO / "ui" / "js").rglob("*.js")]}
    for path, text in sources.items():
        old = [c for c in D3 if c.lower() in text.lower()]
        assert "qualitative.D3" not in text and len(old) < 3, f"{path} holds a palette of its own: {old}"
    users = {p.name for p, text in sources.items() if re.search(r"\bclass_colours\(", text)}
    assert {"palette.py", "map_plot.py", "compare_ui.py", "export.py", "training_jobs.py", "loaded_model.py"} <= users
