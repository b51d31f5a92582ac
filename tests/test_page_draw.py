"""The Draw & encode page, run headless through app.py, with drawings sent as the canvas sends them."""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from test_preprocess import stroke_drawing
from vae_core.store.checkpoints import load_checkpoint
from vae_core.render.map_image import map_png
from vae_core.data.preprocess import DATA_URL_PREFIX, DatasetStyle, prepare
from vae_core.model.priors import StandardNormal
from vae_core.projection import make_projection

REPO = Path(__file__).resolve().parents[1]
CK = REPO / "checkpoints"
PAGE = "pages/draw.py"

pytestmark = pytest.mark.skipif(
    not all((CK / n / "model.safetensors").is_file() for n in ("digits-2d", "digits-8d", "digits-2d-autoencoder")),
    reason="the bundled digits checkpoints are not built (checkpoints/rebuild.sh)")


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


def data_url(grey: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray((grey * 255).astype(np.uint8)).save(buf, format="PNG")
    return DATA_URL_PREFIX + base64.b64encode(buf.getvalue()).decode()


class Page:
    def __init__(self, model: str):
        self.model = str(CK / model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        self.at.session_state["model_path"] = self.model
        self.at.switch_page(PAGE)
        self.run()

    def run(self, states=None):
        self.at.session_state["model_path"] = self.model
        self.at.run() if states is None else self.at._run(states)
        assert not self.at.exception, self.at.exception
        return self

    def draw(self, image: str | None):
        """What the canvas sends when a stroke ends (a PNG data URL) or Clear is pressed (null)."""
        canvas = next(e for e in self.at._tree.get("bidi_component") if e.proto.component_name == "vae_draw_canvas")
        states = self.at._tree.get_widget_states()
        ws = WidgetState(id=canvas.proto.id)
        ws.json_value = json.dumps({"image": image})
        states.widgets.append(ws)
        return self.run(states)

    def metric(self, label: str) -> str:
        return next(m.value for m in self.at.metric if m.label.startswith(label))

    def star(self) -> tuple[float, float]:
        specs = [json.loads(c.proto.spec) for c in self.at.get("plotly_chart")]  # the map, not the histogram
        trace = next(t for spec in specs for t in spec["data"] if t.get("name") == "your picture")
        return float(trace["x"][0]), float(trace["y"][0])


def test_a_drawing_is_encoded_reconstructed_and_placed_on_the_map():
    page = Page("digits-2d")
    assert any("Draw on the black square" in i.value for i in page.at.info)
    assert not page.at.get("plotly_chart")
    drawing = stroke_drawing(7)
    page.draw(data_url(drawing))
    ck = load_checkpoint(CK / "digits-2d")
    x = prepare(drawing, DatasetStyle.from_images(ck.sample.images))
    with torch.inference_mode():
        mu, logvar = ck.model.encode(torch.from_numpy(x[None]))
    mu = mu[0].numpy()
    assert page.metric("||mu||") == f"{np.linalg.norm(mu):.2f}"
    assert page.star() == pytest.approx(tuple(mu), abs=1e-5)  # native latent: the point is mu itself
    spec = json.loads(page.at.get("plotly_chart")[0].proto.spec)
    assert any(t.get("name") == "your q(z|x): 1 sigma" for t in spec["data"])
    images = page.at.get("image")
    assert len(images) >= 3  # the model's input, its reconstruction, the nearest test images
    assert any("Native latent plane" in c.value for c in page.at.caption)
    # every map the Latent map page offers is offered here too (one that cannot be fitted says why)
    from vae_core.projection import METHODS

    assert list(page.at.button_group(key="draw_projection").options) == [METHODS[m].label for m in METHODS]
    # PCA places the same mu with PCA's own transform
    page.at.button_group(key="draw_projection").set_value("pca")
    page.run()
    assert page.at.query_params["projection"] == "pca"
    from vae_core.analysis.evaluate import encode_dataset

    mu_all, _ = encode_dataset(ck.model, ck.sample.as_tensor())
    expected = make_projection("pca").fit(mu_all).transform(mu[None])[0]
    assert page.star() == pytest.approx(tuple(expected), abs=1e-4)
    # Clear: back to the invitation
    page.draw(None)
    assert any("Draw on the black square" in i.value for i in page.at.info)


def test_tsne_places_the_point_and_says_how():
    page = Page("digits-8d")
    page.draw(data_url(stroke_drawing(1)))
    page.at.button_group(key="draw_projection").set_value("tsne")
    page.run()
    captions = " ".join(c.value for c in page.at.caption)
    assert "openTSNE" in captions or "average map position" in captions
    assert all(np.isfinite(page.star()))


def test_a_new_drawing_changes_the_encoding_and_the_drawing_outlives_a_model_change():
    page = Page("digits-2d")
    page.draw(data_url(stroke_drawing(1)))
    one = page.metric("||mu||"), page.star()
    page.draw(data_url(stroke_drawing(0)))
    assert (page.metric("||mu||"), page.star()) != one
    page.model = str(CK / "digits-8d")
    page.run()
    assert len(json.loads(page.at.get("plotly_chart")[0].proto.spec)["data"]) > 3  # still drawn, new model


def test_an_autoencoder_shows_its_code_and_no_sigma():
    page = Page("digits-2d-autoencoder")
    page.draw(data_url(stroke_drawing(7)))
    assert any("An autoencoder's code is one point" in c.value for c in page.at.caption)
    assert not any(m.label.startswith("KL") for m in page.at.metric)
    spec = json.loads(page.at.get("plotly_chart")[0].proto.spec)
    assert not any(t.get("name") == "your q(z|x): 1 sigma" for t in spec["data"])


def test_a_blank_or_broken_drawing_is_a_message_not_a_crash():
    page = Page("digits-2d")
    page.draw(data_url(np.zeros((280, 280))))
    assert any("nothing drawn" in w.value for w in page.at.warning)
    page.draw("data:image/png;base64,not-base64!")
    assert any("could not be read" in e.value for e in page.at.error)
    page.draw(DATA_URL_PREFIX + base64.b64encode(b"GIF89a broken").decode())
    assert any("could not be read" in e.value for e in page.at.error)


def test_the_map_png_is_a_picture_of_the_map():
    rng = np.random.default_rng(0)
    png = map_png(rng.normal(size=(200, 2)), rng.integers(0, 10, 200), [str(i) for i in range(10)],
                  ["#1f77b4", "#ff7f0e"] * 5, highlight=(0.0, 0.0), ellipse=(0.5, 0.3), prior=StandardNormal(2).contours(sigmas=(1, 2)),
                  axis_titles=("z1", "z2"), title="t", size=600)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert img.shape[0] == 600 and img.shape[1] > 600
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours  # dots in the class colours
    with pytest.raises(ValueError, match="one label per point"):
        map_png(np.zeros((3, 2)), np.zeros(2, int), ["0"], ["#000000"])


def test_the_picture_gets_its_own_elbo_and_log_px_ranked_among_the_test_images():
    """A stored test image, drawn large, is within what the model saw; scattered noise is beyond it."""
    page = Page("mnist5k-2d")
    ck = load_checkpoint(CK / "mnist5k-2d")
    digit = np.kron(ck.sample.images[0] / 255.0, np.ones((10, 10)))  # a test image, as a 280 px drawing
    page.draw(data_url(digit))
    labels = [m.label for m in page.at.metric]
    assert "-ELBO" in labels and "-log p(x)" in labels
    elbo, log_px = (float(page.metric(name).split()[0]) for name in ("-ELBO", "-log p(x)"))
    assert log_px <= elbo + 0.05  # the importance-weighted estimate is the tighter bound
    ranks = [c.value for c in page.at.caption if c.value.startswith("Higher than for")]
    assert len(ranks) == 2 and all("%" in r for r in ranks)
    assert not any("Beyond what the model saw" in w.value for w in page.at.warning)
    noise = (np.random.default_rng(0).random((280, 280)) < 0.5).astype(float)
    page.draw(data_url(noise))
    assert any(w.value.startswith("Beyond what the model saw") and "99th percentile" in w.value
               for w in page.at.warning)


def test_a_figure_of_a_few_samples_says_its_standard_error_where_it_is_over_a_tenth_of_a_nat():
    """A sharp Gaussian likelihood (sigma 0.1): the picture's -ELBO of 100 samples moves by more than 0.1 nats
    from draw to draw, and the page says by how much: the spread standard_errors measures for that picture."""
    page = Page("digits-2d-sigma0.1")
    ck = load_checkpoint(CK / "digits-2d-sigma0.1")
    page.draw(data_url(np.kron(ck.sample.images[0] / 255.0, np.ones((35, 35)))))
    notes = [c.value for c in page.at.caption if c.value.startswith("Higher than for")]
    said = re.search(r"standard error (\d+\.\d+) nats", notes[0])
    assert said is not None, notes
    assert float(said.group(1)) > 0.1
