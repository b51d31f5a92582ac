"""Trade-offs: how the ELBO's two terms pull against each other, on trained models: a family along beta on the
rate-distortion plane, the holes between the aggregate posterior and the prior, likelihoods of odd inputs, and
the amortization gap."""
from __future__ import annotations

import streamlit as st

from ui import url_state
from ui.amortization_ui import amortization_tab
from ui.common import current_model, page_header
from ui.disentanglement_ui import disentanglement_tab
from ui.odd_inputs import odd_inputs_tab
from ui.prior_holes import prior_holes_tab
from ui.rate_distortion import families, rate_distortion_tab

TABS = {"rate": "Rate vs distortion", "holes": "Prior holes", "odd": "Odd inputs", "gap": "Amortization gap",
        "factors": "Disentanglement"}
VIEWS = (rate_distortion_tab, prior_holes_tab, odd_inputs_tab, lambda: amortization_tab(current_model()),
         lambda: disentanglement_tab(families()))

page_header("Trade-offs", "The loss a VAE minimises is reconstruction + KL, the negative ELBO. These views show, on "
            "trained models, how the two terms pull against each other and what the ELBO does not see.")
url_state.take_choice("tab", "tradeoffs_tab", TABS, "tab")
tabs = st.tabs(list(TABS.values()), key="tradeoffs_tab", on_change="rerun")
for (name, _), tab, draw in zip(TABS.items(), tabs, VIEWS):
    if tab.open:
        with tab:
            draw()
        url_state.write("tab", None if name == "rate" else name)
