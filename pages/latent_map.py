"""Latent map: every stored test image at its encoder mean mu(x), on the latent plane itself or on a
PCA / t-SNE / UMAP map, drawn with WebGL (ui/scatter_map.py). Click a dot to see q(z|x), select several
with a box or a lasso, click empty space to decode that location. A model whose latent is discrete shows its
codebook instead (ui/codebook_map_ui.py)."""
from __future__ import annotations

from ui import presenter
from ui.classroom.layer import class_layer_ui
from ui.codebook_map_ui import codebook_map_ui
from ui.common import current_model_quietly, page_header, page_model
from ui.latent_map_ui import chosen_ui, controls_ui, intro, map_ui, projection_ui, start_ui
from ui.sidebar import draw_sidebar

page_header("Latent map", None if presenter.is_on() else intro(current_model_quietly()))  # a projector: the map
loaded = page_model()
if loaded.variant.discrete_latent:
    codebook_map_ui(loaded)
else:
    view = start_ui(loaded)  # the decoder under the pointer first
    projection_ui(view)
    chosen, layers = map_ui(view)
    class_layer_ui(view)  # the class's answers on the map, when this browser holds a room
    draw_sidebar()  # after the first image and the map's points
    controls_ui(view)
    chosen_ui(view, chosen, layers)
