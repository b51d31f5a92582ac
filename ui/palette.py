"""The class colours: one palette for the latent map, its PNG, the training's snapshots and every chart.

Ten colours told apart by every eye. Simulated for colour-vision deficiency (Machado, Oliveira & Fernandes,
2009, severity 1.0) and compared in CIELAB (Delta E 1976), the closest two classes differ by 18.1 under
protanopia, 18.2 under deuteranopia, 12.2 under tritanopia and 29.4 with full colour vision (Plotly's D3
palette, used before: 4.6 and 7.2; tests/test_palette.py computes both). Each colour keeps the hue of D3's
(blue, orange, green, red, purple, brown, pink, grey, olive, cyan), so a class looks as it did, and each has a
contrast of at least 3:1 against white (WCAG 1.4.11, a graphical object). Colour is never the only cue: the
map draws each class's name at its centre on demand.

More than ten classes: Plotly's Dark24 then Light24, which are not checked for colour-vision deficiency; the
labels at the centres tell those classes apart."""
from __future__ import annotations

CLASS_PALETTE = ("#2378b4", "#eb7300", "#00824b", "#c81419", "#9182f0",
                 "#5f3223", "#cd5587", "#555a55", "#a0964b", "#0aa5aa")


def class_colours(n: int) -> list[str]:
    """The colour of each of n classes, class c first to last."""
    if n <= len(CLASS_PALETTE):
        return list(CLASS_PALETTE[:n])
    from plotly.colors import qualitative

    palette = qualitative.Dark24 + qualitative.Light24
    return [palette[i % len(palette)] for i in range(n)]
