"""Draw & encode: draw a digit or upload a picture; the encoder's q(z|x) of it, its reconstruction,
and its place on the latent map among the test images."""
from __future__ import annotations

from ui.common import page_header, page_model
from ui.draw_ui import actions_ui, encoder_ui, map_ui, picture_ui
from ui.typicality import typicality_section

page_header("Draw & encode", "Draw a digit (or upload a picture): it is framed like the training images, then "
            "the encoder gives its posterior q(z|x) = N(mu, sigma^2), the decoder p(x|z) redraws it from mu, "
            "and the map shows where it lands among the encoded test images.")
picture = picture_ui(page_model(needs_sample=False))
encoder_ui(picture)
actions_ui(picture)
map_ui(picture)
typicality_section(picture.loaded, picture.x, picture.y)
