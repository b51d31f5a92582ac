"""The Latent map page, run headless through app.py with the bundled digits models: what the WebGL map
component is given (ui/scatter_map.py's data, unpacked as the browser reads it) and what the page shows
for the browser's choices (the component state the browser sends)."""
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
from ui.component_data import unpack
from ui.scatter_map import MapChoice, parse_state
from vae_core.render import map_layout
from vae_core.analysis import posterior
from vae_core.model.activity import rank_dims
from vae_core.store.checkpoints import load_checkpoint
from vae_core.analysis.evaluate import encode_dataset
from vae_core.analysis.latent import decode_batch
from vae_core.model.priors import StandardNormal
from vae_core.projection import METHODS
from vae_core.render.images import thumbnail_uri

REPO = Path(__file__).resolve().parents[1]
DIGITS_2D = REPO / "checkpoints" / "digits-2d"
DIGITS_8D = REPO / "checkpoints" / "digits-8d"
# the page file as app.py names it in st.navigation
PAGE = next(p for p in ("app_pages/latent_map.py", "pages/latent_map.py") if (REPO / p).is_file())
MAP_COMPONENT = "vae_latent_map"
IMAGES_COMPONENT = "vae_latent_map_images"

pytestmark = pytest.mark.skipif(not (DIGITS_2D.is_dir() and DIGITS_8D.is_dir()),
                                reason="the bundled digits checkpoints are not built (checkpoints/rebuild.sh)")


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


def map_elements(at: AppTest) -> list:
    return [e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith(MAP_COMPONENT)]


class Page:
    """The app on the Latent map page with one model selected.

    AppTest does not keep the router's sidebar widgets after ``switch_page``, so the chosen model is put
    back into session state before every run (as the sidebar's selectbox would)."""

    def __init__(self, model: Path, switch: bool = True):
        self.model = str(model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        self.run()  # the app opens on the Latent map
        if switch:  # as a link to the page does
            self.at.switch_page(PAGE)
            self.run()

    def run(self, widget_states=None):
        self.at.session_state["model_path"] = self.model
        if widget_states is None:
            self.at.run()
        else:
            self.at._run(widget_states)  # a component's state: AppTest has no public way to send one
        assert not self.at.exception, self.at.exception
        return self

    def data(self) -> tuple[dict, dict[str, np.ndarray]]:
        """What the map component was given: its JSON and its arrays, as the browser reads them."""
        maps = map_elements(self.at)
        assert len(maps) == 1
        payload, parts = unpack(maps[0].proto.bytes)
        return payload, {k: v for k, v in parts.items() if k != "images"}

    def method(self, method: str):
        self.at.button_group(key="latent_map_method").set_value(method)
        self.run()
        deadline = time.monotonic() + 240
        while not map_elements(self.at) and time.monotonic() < deadline:
            time.sleep(0.25)  # t-SNE and UMAP compute in a background thread; the page shows their progress
            self.run()
        return self

    def choose(self, selection: dict):
        """Send what the browser sends when something on the map is chosen (ui/js/map/tools.js)."""
        element = map_elements(self.at)[0]
        states = self.at._tree.get_widget_states()
        ws = WidgetState(id=element.proto.id)
        self.seq = getattr(self, "seq", 0) + 1
        ws.json_value = json.dumps({"selection": {"seq": self.seq, "location": None, **selection}})
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


def test_native_2d_map_places_every_stored_image_at_its_mu(ck2):
    page = Page(DIGITS_2D)
    payload, arrays = page.data()
    labels = ck2.sample.labels
    assert payload["n"] == len(labels) == len(arrays["xy"])  # every stored test image, none left out
    np.testing.assert_array_equal(arrays["labels"], labels)
    assert [c["name"] for c in payload["classes"]] == ck2.class_names
    mu, logvar = encode_dataset(ck2.model, ck2.sample.as_tensor())
    np.testing.assert_allclose(arrays["xy"], mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(arrays["sigma"], np.exp(0.5 * logvar), rtol=1e-4)  # the posteriors' ellipses
    assert payload["axis_titles"] == ["z1", "z2"]
    assert [c["sigma"] for c in payload["prior"]] == [1.0, 2.0, 3.0]  # the prior's 1-2-3 sigma contours
    for c in payload["prior"]:  # N(0, I)'s circles, as SVG paths in map coordinates, labelled at 45 degrees
        xy = np.array([[float(v) for v in piece.split()] for piece in c["d"][1:].replace("L", "M").split("M")])
        np.testing.assert_allclose(np.hypot(xy[:, 0], xy[:, 1]), c["sigma"], rtol=2e-3)
        np.testing.assert_allclose(c["label"], [c["sigma"] * 0.7071] * 2, atol=0.05 * c["sigma"])
    assert (payload["images"]["h"], payload["images"]["w"], payload["images"]["c"]) == (8, 8, 1)
    x0, x1, y0, y1 = payload["extent"]
    assert x1 - x0 == pytest.approx(y1 - y0)  # equal units on both latent axes
    assert "All 360 stored test images." in page.texts()


def images_elements(at: AppTest) -> list:
    return [e for e in at._tree.get("bidi_component") if e.proto.component_name.endswith(IMAGES_COMPONENT)]


def test_the_hover_images_follow_the_points_in_the_same_run_once_per_session_and_for_each_ask(ck2):
    page = Page(DIGITS_2D, switch=False)  # the session's first run
    payload, parts = page.data()
    assert payload["images"]["key"] and (payload["images"]["h"], payload["images"]["w"]) == (8, 8)
    assert "images" not in unpack(map_elements(page.at)[0].proto.bytes)[1]  # the points travel without them
    order = [e.proto.component_name for e in page.at._tree.get("bidi_component")]
    assert order.index(next(n for n in order if n.endswith(MAP_COMPONENT))) < \
        order.index(next(n for n in order if n.endswith(IMAGES_COMPONENT)))  # after the points, in the same run
    sent = lambda: unpack(images_elements(page.at)[0].proto.bytes)  # noqa: E731
    header, raw = sent()
    assert header["key"] == payload["images"]["key"]
    np.testing.assert_array_equal(raw["images"], ck2.sample.images)  # one sheet of every stored image
    page.at.toggle(key="latent_map_density").set_value(True)
    page.run()
    assert page.data()[0]["density"] is True
    assert sent() == ({"key": payload["images"]["key"]}, {})  # once per session: the window keeps them
    ask = lambda n: page.run(_state(page, {"need": {"key": payload["images"]["key"], "n": n}},  # noqa: E731
                                    images_elements(page.at)[0]))
    ask(1)  # a window that lacks them all the same asks
    np.testing.assert_array_equal(sent()[1]["images"], ck2.sample.images)
    page.at.toggle(key="latent_map_density").set_value(False)
    page.run()
    assert "images" not in sent()[1]  # an ask is answered once
    ask(2)
    assert "images" in sent()[1]
    assert "images" in unpack(images_elements(Page(DIGITS_2D, switch=False).at)[0].proto.bytes)[1]  # a new session


def _state(page, state: dict, element=None):
    element = element or map_elements(page.at)[0]
    states = page.at._tree.get_widget_states()
    ws = WidgetState(id=element.proto.id)
    ws.json_value = json.dumps(state)
    states.widgets.append(ws)
    return states


@pytest.mark.parametrize("model", [DIGITS_2D, DIGITS_8D], ids=["2d", "8d"])
def test_every_installed_method_draws_a_different_map(model):
    page = Page(model)
    xs = {"latent": page.data()[1]["xy"][:, 0]}
    for method, kind in METHODS.items():
        if kind.is_native or not kind.available().ok:
            continue
        page.method(method)
        payload, arrays = page.data()
        assert payload["axis_titles"][0] == f"{kind.label} 1"
        assert payload["n"] == 360 and payload["prior"] == []
        xs[method] = arrays["xy"][:, 0]
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
    payload, arrays = page.data()
    assert payload["axis_titles"][0] == f"z{other + 1}"
    np.testing.assert_allclose(arrays["xy"][:, 0], mu[:, other], rtol=1e-5, atol=1e-5)


def test_clicking_a_point_shows_the_image_its_reconstruction_and_posterior_samples(ck2):
    page = Page(DIGITS_2D)
    assert page.images() == []  # nothing chosen yet
    i = 17
    page.choose({"kind": "click", "points": [i]})
    assert any(f"image #{i}" in m.value for m in page.at.markdown)
    # the large decode(mu), the original, the reconstruction, and one grid of q(z|x) samples
    assert len(page.images()) == 4
    mu, logvar = encode_dataset(ck2.model, ck2.sample.as_tensor())
    table = page.at.dataframe[0].value
    np.testing.assert_allclose(table.loc["mu"].to_numpy(dtype=float), mu[i], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table.loc["sigma"].to_numpy(dtype=float), np.exp(0.5 * logvar[i]), rtol=1e-5)
    assert page.at.query_params["point"] == str(i)
    first = page.images()
    # a click on empty space decodes that location instead: one large image, different from before
    page.choose({"kind": "location", "points": [], "location": [2.5, -2.5]})
    assert len(page.images()) == 1 and page.images()[0] not in first
    assert "exactly z = (2.50, -2.50)" in page.texts()


def test_a_box_or_lasso_selection_shows_the_selected_images_and_counts_them_by_class(ck2):
    page = Page(DIGITS_2D)
    chosen = list(range(0, 360, 9))  # 40 images
    page.choose({"kind": "lasso", "points": chosen})
    labels = ck2.sample.labels
    titles = [s.value for s in page.at.subheader]
    assert "40 images selected in the lasso" in titles
    counts = np.bincount(labels[chosen], minlength=10)
    by_class = ", ".join(f"{c} {k}" for c, k in enumerate(counts) if k)
    assert f"By class: {by_class}." in page.texts()
    grids = [img for img in page.at.get("image") if any("images #0, #9, #18" in c for c in img.captions)]
    assert len(grids) == 1  # the selected images, shown in the page
    page.choose({"kind": "box", "points": [5, 6]})
    assert "2 images selected in the box" in [s.value for s in page.at.subheader]
    page.choose({"kind": "none", "points": []})
    assert not [s.value for s in page.at.subheader if "selected" in s.value]


def test_a_click_elsewhere_on_the_tsne_map_decodes_the_nearest_image(ck8):
    page = Page(DIGITS_8D).method("tsne")
    page.choose({"kind": "location", "points": [], "location": [1e3, 1e3]})
    note = page.texts()
    assert "t-SNE has no inverse map" in note and "nearest encoded image" in note


def test_a_link_to_a_point_is_shown_and_handed_to_the_browser(ck2):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update({"model": "digits-2d", "point": "12"})
    at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Image #12 ") for s in at.subheader)
    payload, _ = unpack(map_elements(at)[0].proto.bytes)
    assert payload["select"]["points"] == [12] and payload["select"]["token"] >= 1


def test_parse_state_reads_only_what_the_map_can_send():
    assert parse_state({}, 10) is None
    assert parse_state({"selection": {"kind": "click", "points": [3]}}, 10) == MapChoice("point", (3,), how="click")
    assert parse_state({"selection": {"kind": "box", "points": [3, 4, "x", 99]}}, 10) == \
        MapChoice("points", (3, 4), how="box")
    assert parse_state({"selection": {"kind": "location", "location": [0.5, -1.5]}}, 10) == \
        MapChoice("location", location=(0.5, -1.5), how="click")
    for bad in ({"kind": "location", "location": ["nan", 0]}, {"kind": "lasso", "points": [-1, 10]},
                {"kind": "drop table", "points": [1]}, {"kind": "none", "points": []}, "x"):
        assert parse_state({"selection": bad}, 10) is None, bad


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
    from vae_core.model import numpy_model
    mu = numpy_model.encode(ck.config, ck.arrays, ck.sample.as_array(), ck.sample.labels)[0]
    dx, dy = rank_dims(mu.var(0), 2) if ck.config.latent_dim > 2 else (0, 1)
    assert f"z{dx + 1} = 0.00, z{dy + 1} = 0.00" in still[0]  # the map's axes, as the browser's readout says


def test_every_image_of_the_dataset_on_demand(ck2):
    from vae_core.data.datasets import load_digits_split

    page = Page(DIGITS_2D)
    stored, _ = page.data()
    stored_xy = page.data()[1]["xy"].copy()
    assert page.at.button_group(key="latent_map_points").value == "stored"
    page.at.button_group(key="latent_map_points").set_value("all")
    page.run()
    payload, arrays = page.data()
    split = load_digits_split(0.2, 0)
    assert payload["n"] == len(split.test.labels) + len(split.train.labels) == 1797
    np.testing.assert_array_equal(arrays["labels"][:360], ck2.sample.labels)  # the test images first, in order
    np.testing.assert_allclose(arrays["xy"][:360], stored_xy, atol=1e-4)
    np.testing.assert_array_equal(arrays["labels"][360:], split.train.labels.numpy())
    assert payload["view_id"] != stored["view_id"]  # the browser resets its view for the new points
    assert "All 1,797 images of the dataset (train and test)." in page.texts()


def test_watch_it_learn_sends_the_trainings_snapshots():
    from vae_core.store.history import sample_positions

    path = REPO / "checkpoints" / "digits-2d-beta0.5"
    ck = load_checkpoint(path)
    h = ck.history
    T, H = h.mu.shape[:2]
    page = Page(path)
    assert page.data()[0]["timeline"] is None  # off by default
    page.at.toggle(key="latent_map_watch").set_value(True)
    page.run()
    payload, arrays = page.data()
    keep = sample_positions(h, len(ck.sample.labels), shared_split="shared_sample" in ck.meta)
    assert payload["n"] == H and payload["timeline"]["step"] == h.step.tolist() and T >= 10
    frames = arrays["frames"].reshape(T, H, 2)
    np.testing.assert_array_equal(frames, h.mu[:, :, :2].astype(np.float32))
    np.testing.assert_array_equal(arrays["labels"], ck.sample.labels[keep])
    # the last snapshot is the trained encoder's: the stored images at those positions are encoded there
    mu, _ = encode_dataset(ck.model, ck.sample.as_tensor()[keep])
    np.testing.assert_allclose(frames[-1], mu, atol=2e-2)  # kept as float16
    assert payload["timeline"]["curves"]["-ELBO"] == pytest.approx(h.neg_elbo.tolist())
    assert payload["timeline"]["curves"]["KL"] == pytest.approx(h.kl.tolist())
    lo, hi = payload["extent"][0], payload["extent"][1]
    assert lo <= frames[..., 0].min() and frames[..., 0].max() <= hi  # every snapshot fits the map
    assert any(f"{T} snapshots" in c.value for c in page.at.caption)
