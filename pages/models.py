"""Models: every checkpoint with its metrics, downloads, and two models side by side on the same images."""
from __future__ import annotations

from ui.common import page_header, page_model
from ui.models_ui import comparison_ui, download_ui, pair_ui, start, table_ui

page_header(
    "Models",
    "Every model this app can load: the bundled ones, the ones trained on the Train page, and the ones "
    "you uploaded. The score is the test negative ELBO = reconstruction + KL, in nats per image: "
    "lower is better, but only models of the same dataset can be compared by it. A model without a prior (an "
    "autoencoder, a VQ-VAE) has no ELBO: its score is its reconstruction.",
)
catalogue = start(page_model(needs_sample=False))
table_ui(catalogue)
download_ui(catalogue)
comparison_ui(*pair_ui(catalogue))
