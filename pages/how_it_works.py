"""How it works: the VAE's equations, computed live on the loaded model for one image."""
from __future__ import annotations

from ui.common import current_model_quietly, page_header, page_model
from ui.how_it_works_ui import (decoder_ui, encoder_ui, image_ui, intro, loss_ui, prior_ui, reparameterization_ui,
                                training_ui)

page_header("How it works", intro(current_model_quietly(), "A VAE, step by step, with the loaded model's own "
            "numbers: the encoder q(z|x), the reparameterization trick, the decoder p(x|z), the loss (negative ELBO "
            "= reconstruction + KL) and the prior N(0, I)."))
lesson = image_ui(page_model())
encoder_ui(lesson)
reparameterization_ui(lesson)
decoder_ui(lesson)
loss_ui(lesson)
prior_ui(lesson)
training_ui(lesson)
