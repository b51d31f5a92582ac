"""The Latent map page, run headless through app.py with the bundled digits models."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from ui.map_plot import MapTarget, latent_map_figure, parse_selection, sample_traces
from vae_core import map_layout, posterior
from vae_core.activity import rank_dims
from vae_core.checkpoints import load_checkpoint
from vae_core.evaluate import encode_dataset
from vae_core.latent import decode_batch
from vae_core.priors import StandardNormal
from vae_core.projection import LABELS, available_methods
from vae_core.render import thumbnail_uri

REPO = Path(__file__).resolve().parents[1]
DIGITS_2D = REPO / "checkpoints" / "digits-2d"
DIGITS_8D = REPO / "checkpoints" / "digits-8d"
# the page file as app.py names it in st.navigation
PAGE = next(p for p in ("app_pages/latent_map.py", "pages/latent_map.py") if (REPO / p).is_file())

pytestmark = pytest.mark.skipif(not (DIGITS_2D.is_dir() and DIGITS_8D.is_dir()),
                                reason="the bundled digits checkpoints are not built (checkpoints/rebuild.sh)")


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


class Page:
    """The app on the Latent map page with one model selected.

    AppTest does not keep the router's sidebar widgets after ``switch_page``, so the chosen model is put
    back into session state before every run (as the sidebar's selectbox would)."""

    def __init__(self, model: Path):
        self.model = str(model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        self.at.session_state["model_path"] = self.model
        self.at.run()
        self.at.switch_page(PAGE)
        self.run()

    def run(self, widget_states=None):
        self.at.session_state["model_path"] = self.model
        if widget_states is None:
            self.at.run()
        else:
            self.at._run(widget_states)  # a Plotly selection: AppTest has no public way to send one
        assert not self.at.exception, self.at.exception
        return self

    def spec(self) -> dict:
        charts = self.at.get("plotly_chart")
        assert len(charts) == 1
        return json.loads(charts[0].proto.spec)

    def method(self, method: str):
        self.at.button_group(key="latent_map_method").set_value(method)
        self.run()
        deadline = time.monotonic() + 240
        while not self.at.get("plotly_chart") and time.monotonic() < deadline:
            time.sleep(0.25)  # t-SNE and UMAP compute in a background thread; the page shows their progress
            self.run()
        return self

    def select(self, points: list[dict]):
        """Send what the browser sends when a point of the chart is clicked."""
        chart = self.at.get("plotly_chart")[0]
        states = self.at._tree.get_widget_states()
        ws = WidgetState(id=chart.proto.id)
        indices = [p["point_index"] for p in points]
        selection = {"points": points, "point_indices": indices, "box": [], "lasso": []}
        ws.string_value = json.dumps({"selection": selection})
        states.widgets.append(ws)
        return self.run(states)

    def images(self) -> list[str]:
        return [url for img in self.at.get("image") for url in img.value]

    def texts(self) -> str:
        """Every caption on the page, image captions included."""
        return " ".join([c.value for c in self.at.caption] + [t for img in self.at.get("image") for t in img.captions])


def _decoded(values) -> np.ndarray:
    """Trace coordinates as floats (Plotly's JSON may hold typed arrays as base64)."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


@pytest.fixture(scope="module")
def ck2():
    return load_checkpoint(DIGITS_2D)


@pytest.fixture(scope="module")
def ck8():
    return load_checkpoint(DIGITS_8D)


def test_native_2d_map_places_every_image_at_its_mu_with_one_trace_per_class(ck2):
    page = Page(DIGITS_2D)
    traces = sample_traces(page.spec())
    labels = ck2.sample.labels
    names = ck2.class_names
    assert sorted(t["name"] for t in traces) == sorted(names[c] for c in np.unique(labels))
    mu, _ = encode_dataset(ck2.model, ck2.sample.as_tensor())
    for t in traces:
        c = names.index(t["name"])
        np.testing.assert_allclose(_decoded(t["x"]), mu[labels == c, 0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_decoded(t["y"]), mu[labels == c, 1], rtol=1e-5, atol=1e-5)
    assert page.spec()["layout"]["xaxis"]["title"]["text"] == "z1"
    assert any("prior" in (t.get("name") or "") for t in page.spec()["data"])  # the 1-2-3 sigma circles


@pytest.mark.parametrize("model", [DIGITS_2D, DIGITS_8D], ids=["2d", "8d"])
def test_every_installed_method_draws_a_different_map(model):
    page = Page(model)
    specs = {"latent": page.spec()}
    for method, reason in available_methods().items():
        if method == "latent" or reason:
            continue
        page.method(method)
        specs[method] = page.spec()
        assert specs[method]["layout"]["xaxis"]["title"]["text"] == f"{LABELS[method]} 1"
        assert len(sample_traces(specs[method])) == 10
    xs = {m: _decoded(sample_traces(s)[0]["x"]) for m, s in specs.items()}
    assert len(xs) >= 3
    for a in xs:
        for b in xs:
            if a < b:
                assert not np.allclose(xs[a], xs[b]), (a, b)


def test_8d_native_axes_default_to_the_most_active_dims_and_can_be_changed(ck8):
    page = Page(DIGITS_8D)
    mu, _ = encode_dataset(ck8.model, ck8.sample.as_tensor())
    top = list(np.argsort(-mu.var(0))[:2])
    dx, dy = page.at.selectbox(key="latent_map_dim_x"), page.at.selectbox(key="latent_map_dim_y")
    assert [dx.value, dy.value] == top
    other = next(d for d in range(8) if d not in top)
    dx.set_value(other)
    page.run()
    spec = page.spec()
    assert spec["layout"]["xaxis"]["title"]["text"] == f"z{other + 1}"
    t = sample_traces(spec)[0]
    c = ck8.class_names.index(t["name"])
    np.testing.assert_allclose(_decoded(t["x"]), mu[ck8.sample.labels == c, other], rtol=1e-5, atol=1e-5)


def test_clicking_a_point_shows_the_image_its_reconstruction_and_posterior_samples(ck2):
    page = Page(DIGITS_2D)
    assert page.images() == []  # nothing chosen yet
    trace = sample_traces(page.spec())[0]
    i = int(trace["customdata"][2][0])
    page.select([{"curve_number": 4, "point_number": 2, "point_index": 2, "x": 0.0, "y": 0.0,
                  "customdata": trace["customdata"][2]}])
    assert any(f"image #{i}" in m.value for m in page.at.markdown)
    # the large decode(mu), the original, the reconstruction, and one grid of q(z|x) samples
    assert len(page.images()) == 4
    mu, logvar = encode_dataset(ck2.model, ck2.sample.as_tensor())
    table = page.at.dataframe[0].value
    np.testing.assert_allclose(table.loc["mu"].to_numpy(dtype=float), mu[i], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table.loc["sigma"].to_numpy(dtype=float), np.exp(0.5 * logvar[i]), rtol=1e-5)
    first = page.images()
    # a click on empty space decodes that location instead: one large image, different from before
    page.select([{"curve_number": 0, "point_number": 5, "point_index": 5, "x": 2.5, "y": -2.5,
                  "customdata": {"0": -1}}])
    assert len(page.images()) == 1 and page.images()[0] not in first
    assert "exactly z = (2.50, -2.50)" in page.texts()


def test_a_click_elsewhere_on_the_tsne_map_decodes_the_nearest_image(ck8):
    page = Page(DIGITS_8D).method("tsne")
    page.select([{"curve_number": 0, "point_number": 0, "point_index": 0, "x": 1e3, "y": 1e3, "customdata": [-1]}])
    note = page.texts()
    assert "t-SNE has no inverse map" in note and "nearest encoded image" in note


def test_parse_selection_tells_images_from_locations():
    assert parse_selection(None) is None
    assert parse_selection({"points": []}) is None
    assert parse_selection({"points": [{"customdata": [17, "7"], "x": 0.1, "y": 0.2}]}) == MapTarget("point", index=17)
    assert parse_selection({"points": [{"customdata": {"0": -1}, "x": 0.5, "y": -1.5}]}) == \
        MapTarget("location", x=0.5, y=-1.5)
    # several points (shift-click): the last one counts; broken entries are skipped
    sel = {"points": [{"customdata": [3, "3"]}, {"customdata": ["?"]}, {"customdata": [-1], "x": "nan", "y": 0}]}
    assert parse_selection(sel) == MapTarget("point", index=3)


def test_figure_helper_grid_ellipses_and_prior():
    emb = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]], np.float32)
    grid = map_layout.square_grid(-3, 3, -3, 3, 10)
    ell = map_layout.ellipse_outlines(emb, np.full((3, 2), 0.5), vertices=8)
    fig = latent_map_figure(emb, np.array([0, 1, 1]), np.array([5, 6, 7]), ["a", "b"], axis_titles=("z1", "z2"),
                            grid=grid, prior=StandardNormal(2).contours(), ellipses=ell, equal_axes=True)
    spec = json.loads(fig.to_json())
    assert [t["name"] for t in sample_traces(spec)] == ["a", "b"]
    grid_trace = spec["data"][0]
    assert grid_trace["meta"] == "grid" and len(_decoded(grid_trace["x"])) == 100
    lines = [t for t in spec["data"] if t.get("name") == "q(z|x): 1 sigma"][0]
    assert len(_decoded(lines["x"])) == 3 * (8 + 2)  # one closed outline and one gap per point


def test_posterior_helpers_match_the_model(ck2):
    mu, logvar = encode_dataset(ck2.model, ck2.sample.as_tensor())
    recon, samples = posterior.decode_posterior(ck2.model, mu[0], logvar[0], 5, seed=1)
    np.testing.assert_allclose(recon, ck2.model.decode(torch.from_numpy(mu[:1]))[0].detach().numpy(), atol=1e-6)
    z = posterior.posterior_samples(mu[0], logvar[0], 5, seed=1)
    np.testing.assert_allclose(samples, decode_batch(ck2.model, z), atol=1e-6)
    assert not np.allclose(samples[0], samples[1])  # sigma > 0: samples differ
    x, y = map_layout.ellipse_outlines(mu[:2], posterior.sigma_from_logvar(logvar[:2]), vertices=16)
    r = (x[:16] - mu[0, 0]) ** 2 / np.exp(logvar[0, 0]) + (y[:16] - mu[0, 1]) ** 2 / np.exp(logvar[0, 1])
    np.testing.assert_allclose(r, 1.0, rtol=1e-4)  # every vertex lies on the 1-sigma ellipse
    assert thumbnail_uri(ck2.sample.images[0]).startswith("data:image/png;base64,")


@pytest.mark.parametrize("which", ["2d", "8d"])
def test_the_decoder_panel_first_shows_the_decoders_image_of_z_zero(which, ck2, ck8):
    """Before the browser's decoder has drawn, the panel shows a plain image decoded on the server:
    the model's p(x|z) mean at z = 0, pixel for pixel."""
    import base64
    import io
    import re

    from PIL import Image

    ck = ck2 if which == "2d" else ck8
    page = Page(ck.path)
    still = [m.value for m in page.at.markdown if "vae-pointer-still" in m.value]
    assert len(still) == 1
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', still[0]).group(1)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))))
    with torch.inference_mode():
        want = ck.model.decode(torch.zeros(1, ck.config.latent_dim))[0, 0].numpy()
    assert shown.shape == want.shape
    assert np.abs(shown.astype(int) - np.round(want * 255).astype(int)).max() <= 1
    from vae_core import numpy_model

    mu = numpy_model.encode(ck.config, ck.arrays, ck.sample.as_array(), ck.sample.labels)[0]
    dx, dy = rank_dims(mu.var(0), 2) if ck.config.latent_dim > 2 else (0, 1)
    assert f"z{dx + 1} = 0.00, z{dy + 1} = 0.00" in still[0]  # the map's axes, as the browser's readout says
