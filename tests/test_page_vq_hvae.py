"""Every page on the bundled VQ-VAE (mnist5k-vq, a discrete latent: a 7x7 grid of codes) and hierarchical VAE
(mnist5k-hvae, z = (z1, z2)), run headless through app.py: no exception, and what each shows is the model's own
numbers, asked of its variant (the code grid's click decodes as decode_codes does, the KL per level is
explain_image's, the held samples share their held level, ...). The app asks capabilities, never a kind's name:
the last test reads ui/, pages/ and services/ for a comparison with one."""
from __future__ import annotations

import ast
import base64
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from test_page_draw import data_url
from test_preprocess import stroke_drawing
from ui.component_data import unpack
from vae_core.analysis.evaluate import importance_log_weights
from vae_core.analysis.explain import explain_image
from vae_core.data.preprocess import DatasetStyle, prepare
from vae_core.model.variants import KINDS
from vae_core.store.checkpoints import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
VQ, HVAE = REPO / "checkpoints" / "mnist5k-vq", REPO / "checkpoints" / "mnist5k-hvae"
PAGES = ["latent_map", "sliders", "generate", "draw", "how_it_works", "tradeoffs", "train", "models"]

pytestmark = pytest.mark.usefixtures("_home_env")  # VAE_EXPLORER_HOME: a temporary folder


@pytest.fixture(scope="module")
def vq():
    return load_checkpoint(VQ)


@pytest.fixture(scope="module")
def hvae():
    return load_checkpoint(HVAE)


class Page:
    """The app on one page with one model (put back in session state before every run, as the picker does)."""

    def __init__(self, model: Path, page: str, query: dict | None = None):
        self.model = str(model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)  # DCI of a family: a minute or two
        self.at.session_state["model_path"] = self.model
        self.at.switch_page(f"pages/{page}.py")
        self.at.query_params.update(query or {})
        self.run()

    def run(self, states=None):
        self.at.session_state["model_path"] = self.model
        self.at.run() if states is None else self.at._run(states)
        assert not self.at.exception, self.at.exception
        return self

    def texts(self, *kinds: str) -> str:
        return " ".join(str(getattr(e, "value", "")) for k in kinds or ("markdown", "caption", "info", "warning",
                                                                        "subheader", "error") for e in self.at.get(k))

    def metric(self, label: str) -> str:
        return next(m.value for m in self.at.metric if m.label == label)

    def component(self, name: str, which: int = 0):
        return [e for e in self.at._tree.get("bidi_component") if e.proto.component_name == name][which]

    def send(self, name: str, value: dict):
        """What a components v2 component sends back (its state), as the browser would."""
        states = self.at._tree.get_widget_states()
        ws = WidgetState(id=self.component(name).proto.id)
        ws.json_value = json.dumps(value)
        states.widgets.append(ws)
        return self.run(states)

    def plotly(self, key_part: str | None = None) -> list[dict]:
        return [json.loads(c.proto.spec) for c in self.at.get("plotly_chart")]


def values(v) -> np.ndarray:
    """A chart's numbers as Plotly's JSON holds them: a list, or a typed array {"dtype", "bdata"} (base64)."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"]))
        shape = v.get("shape")
        return arr.reshape([int(n) for n in str(shape).split(",")]) if shape is not None else arr  # "10, 5"
    return np.asarray(v)


def grid_data(page: Page, which: int = 0) -> dict:
    return unpack(page.component("vae_code_grid", which).proto.bytes)[0]


def png_pixels(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def decoded(ckpt, codes: np.ndarray) -> np.ndarray:
    """The model's own decoding of grids of codes, as uint8 pixels (what the page shows)."""
    with torch.inference_mode():
        out = ckpt.config.variant.decode_codes(ckpt.model, np.array(codes, np.int64)[None])[0, 0].numpy()
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- every page runs on both models


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("model", [VQ, HVAE], ids=["vq", "hvae"])
def test_every_page_runs_on_the_discrete_and_the_hierarchical_model(model, page):
    shown = Page(model, page)
    text = shown.texts()
    if page != "tradeoffs":  # whose families hold a real autoencoder; the other pages speak of the loaded model
        assert "plain autoencoder" not in text and "An autoencoder" not in text


# ---------------------------------------------------------------- the VQ-VAE


def test_the_sidebar_names_a_grid_of_codes_and_scores_it_by_its_reconstruction(vq):
    side = " ".join(c.value for c in Page(VQ, "models").at.sidebar.caption)
    assert "7x7 grid of codes" in side and "392 numbers" in side and "64 vectors of 8 numbers" in side
    assert f"test reconstruction {vq.meta['metrics']['test_recon']:.1f} nats" in side and "-ELBO" not in side


def test_a_click_on_a_cell_changes_that_code_and_the_image_is_decoded_from_the_new_grid(vq):
    page = Page(VQ, "sliders", {"point": "3"})
    codes = vq.config.variant.codes(vq.model, vq.sample.as_tensor()[3:4])[0].numpy()
    first = grid_data(page)
    assert np.array_equal(np.reshape(first["codes"], (7, 7)), codes)  # image #3's own codes
    assert np.array_equal(png_pixels(first["image"]), decoded(vq, codes))
    page.send("vae_code_grid", {"click": {"row": 2, "col": 5, "n": "t1"}})
    after = grid_data(page)
    want = codes.copy()
    want[2, 5] = (codes[2, 5] + 1) % 64
    assert np.array_equal(np.reshape(after["codes"], (7, 7)), want)
    assert np.array_equal(png_pixels(after["image"]), decoded(vq, want))
    assert not np.array_equal(png_pixels(after["image"]), png_pixels(first["image"]))
    assert np.flatnonzero(after["changed"]).tolist() == [2 * 7 + 5]  # marked as changed
    # a chosen code instead of the next one, in a cell named by its row and column
    page.at.button_group(key="codes_mode").set_value("pick")
    page.run()  # the chosen code's input is open once the mode is "pick"
    page.at.number_input(key="codes_pick").set_value(11)
    page.at.number_input(key="codes_cell_row").set_value(7)
    page.at.number_input(key="codes_cell_col").set_value(1)
    page.at.button(key="codes_change_cell").click()
    page.run()
    want[6, 0] = 11
    assert np.array_equal(np.reshape(grid_data(page)["codes"], (7, 7)), want)
    assert np.array_equal(png_pixels(grid_data(page)["image"]), decoded(vq, want))
    page.at.button(key="codes_reset").click()
    page.run()
    assert np.array_equal(np.reshape(grid_data(page)["codes"], (7, 7)), codes)


def test_how_it_works_tells_the_path_through_the_nearest_codes_with_its_own_terms(vq):
    page = Page(VQ, "how_it_works", {"point": "5"})
    heads = [s.value for s in page.at.subheader]
    assert "1. The encoder and the codebook" in heads and "4. The loss: reconstruction + commitment" in heads
    ex = explain_image(vq.model, vq.sample.as_tensor()[5])
    assert page.metric("Commitment") == f"{ex['terms']['commitment']:.2f}"
    assert page.metric("Reconstruction −log p(x|z_q)") == f"{ex['recon']:.2f}"
    codes = vq.config.variant.codes(vq.model, vq.sample.as_tensor()[5:6])[0].numpy()
    assert np.array_equal(np.reshape(grid_data(page)["codes"], (7, 7)), codes)
    assert page.metric("Different codes in this image") == f"{len(np.unique(codes))} of 64"
    chart = next(s for s in page.plotly() if any(t.get("name") == "perplexity" for t in s["data"]))
    perplexity = next(t for t in chart["data"] if t["name"] == "perplexity")
    np.testing.assert_allclose(values(perplexity["y"]), vq.history.series["perplexity"], rtol=1e-6)
    assert "reparameterization" not in " ".join(heads)


def test_generate_says_its_prior_is_uniform_codes_and_sweeps_one_position(vq):
    prior = Page(VQ, "generate")
    assert "no learned prior" in prior.texts() and "temperature" not in [w.label for w in prior.at.slider]
    sweep = Page(VQ, "generate", {"tab": "traversal", "start_image": "2", "row": "4", "col": "3"})
    codes = vq.config.variant.codes(vq.model, vq.sample.as_tensor()[2:3])[0].numpy()
    data = grid_data(sweep)
    assert np.array_equal(np.reshape(data["codes"], (7, 7)), codes)
    assert np.flatnonzero(data["changed"]).tolist() == [3 * 7 + 2]
    assert "Code 0 to 63 at row 4, column 3" in sweep.texts("caption") or any(
        "Code 0 to 63 at row 4, column 3" in (im.captions[0] if im.captions else "") for im in sweep.at.get("image"))
    codebook = Page(VQ, "generate", {"tab": "manifold"})
    assert "the **codebook**" in codebook.texts()


def test_the_latent_map_shows_the_codebook_sized_by_use_and_its_usage_over_training(vq):
    from ui.codebook_map_ui import codebook_plane

    page = Page(VQ, "latent_map", {"point": "4"})
    spec = next(s for s in page.plotly() if any(t.get("name") == "codes (size: use)" for t in s["data"]))
    codes_trace = next(t for t in spec["data"] if t["name"] == "codes (size: use)")
    codebook = vq.arrays["codebook"].astype(np.float64)
    counts = np.bincount(vq.config.variant.codes(vq.model, vq.sample.as_tensor()).numpy().ravel(), minlength=64)
    xy, _, _ = codebook_plane(codebook, codebook[:1])
    used = np.flatnonzero(counts > 0)
    assert [int(t) for t in codes_trace["text"]] == used.tolist()
    np.testing.assert_allclose(values(codes_trace["x"]), xy[used, 0], atol=1e-6)
    sizes = values(codes_trace["marker"]["size"])
    assert (np.argsort(sizes, kind="stable")[-1] == np.argsort(counts[used], kind="stable")[-1])  # largest = most used
    # the codebook's own principal axes: against scikit-learn's PCA, up to each axis's sign
    from sklearn.decomposition import PCA

    ref = PCA(2).fit_transform(codebook)
    np.testing.assert_allclose(np.abs(xy), np.abs(ref), atol=1e-6)
    usage = next(s for s in page.plotly() if any(t.get("name") == "dead codes" for t in s["data"]))
    dead = next(t for t in usage["data"] if t["name"] == "dead codes")
    np.testing.assert_allclose(values(dead["y"]), vq.history.series["dead_codes"])
    image = grid_data(page)
    codes4 = vq.config.variant.codes(vq.model, vq.sample.as_tensor()[4:5])[0].numpy()
    assert np.array_equal(np.reshape(image["codes"], (7, 7)), codes4)


def test_draw_shows_the_drawings_grid_of_codes(vq):
    page = Page(VQ, "draw")
    page.send("vae_draw_canvas", {"image": data_url(stroke_drawing(7))})
    x = prepare(stroke_drawing(7), DatasetStyle.from_images(vq.sample.images))
    codes = vq.config.variant.codes(vq.model, torch.from_numpy(x[None]))[0].numpy()
    assert np.array_equal(np.reshape(grid_data(page)["codes"], (7, 7)), codes)
    assert not page.at.get("dataframe")  # no table of 392 numbers
    assert "grid of codes has no latent plane" in page.texts("info")


def test_train_gives_the_vq_vae_the_convolutional_architecture_only():
    page = Page(VQ, "train")
    page.at.radio(key="train_arch").set_value("mlp").run()
    page.at.radio(key="train_kind").set_value("vq")
    page.run()
    assert page.at.radio(key="train_arch").options == ["Convolutional"] and page.at.radio(key="train_arch").value == "conv"
    assert "VQ-VAE is built with the Convolutional architecture only" in page.texts("caption")
    page.at.radio(key="train_kind").set_value("vae")
    page.run()
    assert len(page.at.radio(key="train_arch").options) == 2


def test_trade_offs_say_what_does_not_apply_to_a_grid_of_codes():
    holes = Page(VQ, "tradeoffs", {"tab": "holes", "a": "mnist5k-vq"})
    assert "grid of codes" in holes.texts("info") and "no density" in holes.texts("info")
    gap = Page(VQ, "tradeoffs", {"tab": "gap"})
    assert "no ELBO" in gap.texts("info")


def test_the_models_table_gives_z_its_true_size_and_no_elbo_without_a_prior(vq):
    page = Page(VQ, "models")
    rows = page.at.get("dataframe")[0].value.set_index("model")
    assert rows.loc["mnist5k-vq", "latent_dim"] == 392 and rows.loc["mnist5k-vq", "z_shape"] == "7x7 codes of 8 (K 64)"
    assert math.isnan(rows.loc["mnist5k-vq", "test_neg_elbo"])
    assert rows.loc["mnist5k-vq", "test_recon"] == pytest.approx(vq.meta["metrics"]["test_recon"])
    assert rows.loc["mnist5k-hvae", "z_shape"] == "z1 8 + z2 2" and rows.loc["mnist5k-hvae", "latent_dim"] == 10


# ---------------------------------------------------------------- the hierarchical VAE


def test_the_sidebar_names_the_levels():
    side = " ".join(c.value for c in Page(HVAE, "models").at.sidebar.caption)
    assert "latent dim 10: z1 8 + z2 2" in side and "test -ELBO 119.8" in side


def test_sliders_are_grouped_by_level_and_hold_one_level_while_drawing_the_other(hvae):
    page = Page(HVAE, "sliders")
    page.at.toggle(key="sliders_live").set_value(False)
    page.run()
    labels = [s.label for s in page.at.slider]
    assert labels[0].startswith("z2[1]") and labels[1].startswith("z2[2]") and labels[2].startswith("z1[1]")
    assert "**Level z2** (top)" in page.texts("markdown")
    space_keys = [f"sliders_z{d + 1}" for d in range(10)]
    before = np.array([page.at.session_state[k] for k in space_keys])
    page.at.button(key="sliders_hold_top").click()
    page.run()
    after = np.array([page.at.session_state[k] for k in space_keys])
    np.testing.assert_allclose(after[8:], before[8:], atol=1e-6)  # z2 held
    prior = hvae.prior
    z_before = prior.mean() + prior.std() * before
    want = prior.sample_top_fixed(1, z2=z_before[8:], seed=1)[0]
    np.testing.assert_allclose(prior.mean()[:8] + prior.std()[:8] * after[:8], np.clip(want[:8], *(
        prior.mean()[:8] + prior.std()[:8] * s for s in (-3, 3))), atol=2e-4)
    page.at.button(key="sliders_hold_bottom").click()
    page.run()
    again = np.array([page.at.session_state[k] for k in space_keys])
    np.testing.assert_allclose(again[:8], after[:8], atol=1e-6)  # z1 held
    assert not np.allclose(again[8:], after[8:])


def test_how_it_works_gives_the_kl_of_each_level_and_says_what_moves_with_eps(hvae):
    page = Page(HVAE, "how_it_works", {"point": "7", "eps": "2"})
    from vae_core.model.priors import prior_z

    eps = prior_z(1, 10, 1.0, seed=2)[0].numpy()
    ex = explain_image(hvae.model, hvae.sample.as_tensor()[7], eps=eps)
    table = next(t for t in page.at.get("table") if "Term" in t.value.columns)
    shown = table.value
    assert list(shown.index) == ["z2 (2 numbers)", "z1 (8 numbers)"]
    assert shown.loc["z1 (8 numbers)", "This image, this eps"] == pytest.approx(ex["terms"]["kl1"], abs=1e-4)
    assert shown.loc["z2 (2 numbers)", "This image, this eps"] == pytest.approx(ex["terms"]["kl2"], abs=1e-4)
    assert shown.loc["z1 (8 numbers)", "Test set, end of training"] == pytest.approx(
        hvae.meta["history"][-1]["test_terms"]["kl1"])
    assert page.metric("KL(q(z|x) ‖ p(z))") == f"{ex['kl']:.2f}"
    assert "can change with eps too" in page.texts("caption")
    # ... which is so: decode(mu) of a hierarchical model moves with eps (mu of z1 is taken at the z2 drawn)
    other = explain_image(hvae.model, hvae.sample.as_tensor()[7], eps=prior_z(1, 10, 1.0, seed=3)[0].numpy())
    assert np.abs(other["decoded_mu"] - ex["decoded_mu"]).max() > 1e-3
    history = next(s for s in page.plotly() if any("kl1" in (t.get("name") or "") for t in s["data"]))
    kl1 = next(t for t in history["data"] if "kl1" in t["name"])
    assert values(kl1["y"])[-1] == pytest.approx(hvae.meta["history"][-1]["test_terms"]["kl1"])


def test_generate_holds_the_top_level_per_row_then_the_lower_one(hvae, media):
    from test_page_generate import download, pixels, shown_grid_small
    from ui.levels_ui import COLS, held_samples
    from ui.loaded_model import LoadedModel
    from vae_core.analysis.latent import decode_batch
    from vae_core.render.images import tile, to_uint8

    page = Page(HVAE, "generate", {"seed": "4", "hold": "top"})
    assert page.at.button_group(key="generate_hold").value == "top"
    caption = next(im.captions[0] for im in page.at.get("image") if im.captions)
    assert caption.startswith("z2 held per row, z1 ~ p(z1|z2) drawn again per column")
    loaded = LoadedModel(str(HVAE), "test")
    top, _ = held_samples(loaded, True, 4, rows=4)
    top = top.reshape(4, COLS, 10)
    assert np.all(top[:, :, 8:] == top[:, :1, 8:]) and np.ptp(top[0, :, :8], 0).min() > 0  # z2 shared in a row
    assert not np.allclose(top[0, 0, 8:], top[1, 0, 8:])  # another z2 in the next row
    shown = shown_grid_small(pixels(download(page.at, media, "generate_prior_png")), 8, 28)
    np.testing.assert_array_equal(shown, tile(to_uint8(decode_batch(hvae.model, top.reshape(-1, 10))), 8, pad=1))
    low, _ = held_samples(loaded, False, 4, rows=4)
    low = low.reshape(4, COLS, 10)
    assert np.all(low[:, :, :8] == low[:, :1, :8]) and np.ptp(low[0, :, 8:], 0).min() > 0
    page.at.button_group(key="generate_hold").set_value("bottom")
    page.run()
    assert next(im.captions[0] for im in page.at.get("image") if im.captions).startswith("z1 held per row, z2 ~ N(0, T² I)")
    assert page.at.query_params["hold"] == "bottom"
    manifold = Page(HVAE, "generate", {"tab": "manifold"})
    assert manifold.at.selectbox(key="generate_m_dim_x").value == 8  # the top level z2
    assert "mean of p(z1|z2)" in manifold.texts("caption")


def test_the_latent_map_starts_on_the_top_level_with_names_by_level():
    page = Page(HVAE, "latent_map")
    x_axis = page.at.selectbox(key="latent_map_dim_x")
    assert x_axis.value == 8 and x_axis.format_func(8).startswith("z2[1]")
    assert "top level z2" in page.texts("caption")


def test_draw_gives_the_kl_of_a_prior_that_does_not_split_by_dimension(hvae):
    page = Page(HVAE, "draw")
    page.send("vae_draw_canvas", {"image": data_url(stroke_drawing(7))})
    x = prepare(stroke_drawing(7), DatasetStyle.from_images(hvae.sample.images))
    ex = explain_image(hvae.model, x, eps=np.zeros(10, np.float32))
    assert page.metric(f"KL(q(z|x) || {hvae.prior.name})") == f"{ex['kl']:.2f} nats"
    assert f"kl1 {ex['terms']['kl1']:.2f} + kl2 {ex['terms']['kl2']:.2f}" in page.texts("caption")


def test_the_amortization_view_uses_the_models_own_top_down_q(hvae):
    page = Page(HVAE, "tradeoffs", {"tab": "gap", "point": "2"})
    x = hvae.sample.as_tensor()[2:3]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        log_w = importance_log_weights(hvae.model, x, None, k=2000)
    gap = float(torch.logsumexp(log_w, 0)[0] - math.log(2000) - log_w.mean(0)[0])
    assert page.metric("log p(x) - ELBO") == f"{gap:.2f} nats"
    assert page.metric("split into two gaps") == "does not apply"


# ---------------------------------------------------------------- capabilities, never names

NAMES = {"vq", "hvae", "ae", "cvae", "vamp", "vae"}


def _is_name(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES


def _holds_name(node) -> bool:
    return _is_name(node) or (isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(map(_is_name, node.elts)))


def kind_name_branches(source: str) -> list[int]:
    """Lines that branch on a kind's name: a comparison with one (==, !=, in, not in), a dict keyed by one, a
    lookup by one, a match case on one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            hit = any(map(_holds_name, [node.left, *node.comparators]))
        elif isinstance(node, ast.Dict):
            hit = any(map(_is_name, node.keys))
        elif isinstance(node, ast.Subscript):
            hit = _is_name(node.slice)
        elif isinstance(node, ast.Call):
            hit = isinstance(node.func, ast.Attribute) and node.func.attr == "get" and bool(node.args) \
                and _is_name(node.args[0])
        elif isinstance(node, ast.MatchValue):
            hit = _is_name(node.value)
        else:
            continue
        if hit:
            found.append(node.lineno)
    return found


def test_the_names_checked_are_the_registrys_kinds():
    assert NAMES == set(KINDS)


@pytest.mark.parametrize("source", [
    'if cfg.kind == "vq":\n    pass',
    'if "hvae" != kind:\n    pass',
    'flat = ckpt.config.kind in ("ae", "cvae")',
    'WORDS = {"vamp": "learned prior"}',
    'title = VARIANTS["vae"].title',
    'x = TITLES.get("vq")',
    'match kind:\n    case "hvae":\n        pass',
])
def test_the_reader_finds_a_branch_on_a_kind_name(source):
    assert kind_name_branches(source) != []


@pytest.mark.parametrize("source", [
    'if kind.discrete_latent and len(kind.latent_levels(cfg)) > 1:\n    pass',
    'spec = JobSpec(kind="vae")',
    'kind = st.radio("Kind", list(VARIANTS))',
])
def test_the_reader_lets_a_capability_question_pass(source):
    assert kind_name_branches(source) == []


def test_no_page_ui_helper_or_service_branches_on_a_kind_name():
    files = sorted(f for pkg in ("ui", "pages", "services") for f in (REPO / pkg).rglob("*.py"))
    assert REPO / "ui" / "code_grid_ui.py" in files and REPO / "pages" / "sliders.py" in files
    wrong = [f"{f.relative_to(REPO)}:{line}" for f in files for line in kind_name_branches(f.read_text())]
    assert wrong == [], "branches on a kind's name (ask the variant's capabilities instead):\n" + "\n".join(wrong)
