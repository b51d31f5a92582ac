"""The AE vs VAE page: three maps of the same images, one selection for all three."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from vae_core.store.checkpoints import load_checkpoint
from vae_core.analysis.evaluate import encode_dataset

REPO = Path(__file__).resolve().parents[1]
CK = REPO / "checkpoints"
TRIO = ("digits-2d-autoencoder", "digits-2d", "digits-2d-beta2")
PAGE = "pages/compare.py"

pytestmark = pytest.mark.skipif(not all((CK / n / "model.safetensors").is_file() for n in TRIO),
                                reason="the bundled digits checkpoints are not built (checkpoints/rebuild.sh)")


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def codes():
    """Each model's mu of digits-2d's stored test images."""
    ref = load_checkpoint(CK / "digits-2d").sample
    return {n: encode_dataset(load_checkpoint(CK / n).model, ref.as_tensor())[0] for n in TRIO}, ref


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update(query or {})
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chosen(spec: dict) -> tuple[float, float] | None:
    trace = next((t for t in spec["data"] if t.get("name") == "chosen"), None)
    return None if trace is None else (float(trace["x"][0]), float(trace["y"][0]))


def click(at, chart: int, index: int) -> None:
    """What the browser sends when a dot of one chart is clicked (its customdata holds the image index)."""
    el = at.get("plotly_chart")[chart]
    states = at._tree.get_widget_states()
    ws = WidgetState(id=el.proto.id)
    point = {"curve_number": 1, "point_number": 0, "point_index": 0, "x": 0.0, "y": 0.0,
             "customdata": [index, "?"]}
    ws.string_value = json.dumps({"selection": {"points": [point], "point_indices": [0], "box": [], "lasso": []}})
    states.widgets.append(ws)
    at._run(states)
    assert not at.exception, at.exception


def test_three_maps_of_the_same_images(codes):
    mus, ref = codes
    at = open_page()
    charts = specs(at)
    assert len(charts) == 3
    for spec, name in zip(charts, TRIO):
        n = sum(len(t["customdata"]) for t in spec["data"] if t.get("meta") == "sample")
        assert n == len(ref.labels)  # every stored test image, in every map
        has_prior = any(str(t.get("name", "")).startswith("prior") for t in spec["data"])
        assert has_prior == (name != "digits-2d-autoencoder")  # the autoencoder has no prior
        assert chosen(spec) is None
    headings = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert headings[:3] == ["### Autoencoder", "### VAE (beta = 1)", "### beta-VAE (beta = 2)"]
    assert len(at.get("image")) == 3  # a grid of decoded random z per model
    assert any("Why a VAE?" in i.value for i in at.info)


@pytest.mark.parametrize("chart", [0, 2])
def test_a_click_in_one_map_marks_the_same_image_in_all_three(codes, chart):
    mus, ref = codes
    at = open_page()
    click(at, chart, 17)
    for spec, name in zip(specs(at), TRIO):
        assert chosen(spec) == pytest.approx(tuple(mus[name][17]), abs=1e-5)
    assert any(s.value.startswith("Image #17 ") for s in at.subheader)
    assert len(at.get("image")) == 3 + 4  # the test image and its three reconstructions
    assert at.query_params["point"] == "17"


@pytest.mark.parametrize("value, index", [("17", 17), ("359", 359), ("360", None), ("-3", None), ("nan", None),
                                          ("1e999", None), ("x", None)])
def test_the_selection_comes_from_the_url(codes, value, index):
    at = open_page({"point": value})
    got = chosen(specs(at)[1])
    if index is None:
        assert got is None and "point" not in at.query_params
    else:
        assert got == pytest.approx(tuple(codes[0]["digits-2d"][index]), abs=1e-5)
