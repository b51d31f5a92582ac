"""AE vs VAE: the latent maps of an autoencoder, a VAE and a beta-VAE of the same digits, side by side on the
same test images, with one selection for all three; and what each one decodes from random z."""
from __future__ import annotations

import streamlit as st

from ui import presenter
from ui.common import page_header
from ui.compare_ui import WHY, follow_ui, maps_ui, sampling_ui, trio_ui, why_ui

page_header("AE vs VAE", "Three models of the same 8x8 digits with a 2-D latent space, on the same test images: "
            "a plain autoencoder, a VAE and a beta-VAE. Click a dot in any map: the same image is marked in all three."
            + ("\n\n" + WHY if presenter.is_on() else ""))
if not presenter.is_on():  # on a projector the maps need the room
    st.caption("This page always shows the three bundled digits models; the sidebar's model is not used here.")
trio = trio_ui()
maps_ui(trio)
why_ui()
follow_ui(trio)
sampling_ui(trio)
