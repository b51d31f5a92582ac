"""Latent sliders: set z one coordinate at a time and watch the decoder p(x|z) draw it."""
from __future__ import annotations

from ui.common import page_header, page_model
from ui.sliders_ui import View, sliders_ui
from ui.state.sliders import Sliders

page_header("Latent sliders", "Each slider is one coordinate of z, in units of the prior's standard deviation: "
            "the prior N(0, I) keeps about 95% of its samples within +-2 on every axis. The image is the "
            "decoder's mean of p(x|z). Dimensions whose average KL is about 0 are ignored by the decoder.")
sliders = Sliders(page_model(needs_sample=False))
sliders.start()
sliders_ui(View(sliders))
