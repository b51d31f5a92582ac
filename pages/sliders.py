"""Latent sliders: set z one coordinate at a time and watch the decoder p(x|z) draw it; for a model whose z is a
grid of codes, change the codes one cell at a time instead."""
from __future__ import annotations

from ui.code_grid_ui import code_grid_ui, intro
from ui.common import current_model_quietly, page_header, page_model
from ui.levels_ui import levels_ui
from ui.sliders_ui import View, sliders_ui
from ui.state.sliders import Sliders

page_header("Latent sliders", intro(current_model_quietly(), "Each slider is one coordinate of z, in units of the "
            "prior's standard deviation: the prior N(0, I) keeps about 95% of its samples within +-2 on every axis. "
            "The image is the decoder's mean of p(x|z). Dimensions whose average KL is about 0 are ignored by the "
            "decoder."))
loaded = page_model(needs_sample=False)
if loaded.variant.discrete_latent:
    code_grid_ui(loaded)
else:
    sliders = Sliders(loaded)
    sliders.start()
    view = View(sliders)
    sliders_ui(view)
    levels_ui(view)
