"""The view in the URL: model, projection, selected point, z and presenter mode; valid links set the view,
absurd ones are ignored or clamped, never a crash."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui.url_state import parse_choice, parse_flag, parse_index
from vae_core.analysis.latent import SLIDER_LIMIT

REPO = Path(__file__).resolve().parents[1]
CK = REPO / "checkpoints"

pytestmark = pytest.mark.skipif(not all((CK / n / "model.safetensors").is_file() for n in ("digits-2d", "digits-8d")),
                                reason="the bundled digits checkpoints are not built (checkpoints/rebuild.sh)")
ABSURD = ["nan", "inf", "-inf", "1e999", "-1", "99999999999999999999", "abc", "", "1.5", "0x10", "../../x", " 3 ",
          "%00", "1;drop"]


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))


def open_link(query: dict, page: str | None = None) -> AppTest:
    """The app opened on a link: the query parameters are there before the first run, as in a browser."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update(query)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_parsers():
    assert parse_index("12", 20) == 12 and parse_index("12.0", 20) == 12
    for bad in ABSURD[:9] + ["20", "1.5", None]:
        assert parse_index(bad, 20) is None, bad
    assert parse_flag("1") is True and parse_flag("off") is False and parse_flag("maybe") is None
    assert parse_choice(" PCA ", ["latent", "pca"]) == "pca" and parse_choice("lda", ["pca"]) is None


def test_a_link_selects_the_model_projection_and_point():
    at = open_link({"model": "digits-8d", "projection": "pca", "point": "5"})
    assert at.session_state["model_path"] == str(CK / "digits-8d")
    assert at.button_group(key="latent_map_method").value == "pca"
    assert any(s.value.startswith("Image #5 ") for s in at.subheader)
    assert dict(at.query_params) == {"model": "digits-8d", "projection": "pca", "point": "5"}
    # a change in the page goes into the URL, and the link's old values do not come back
    at.button_group(key="latent_map_method").set_value("latent").run()
    assert at.query_params["projection"] == "latent"
    at.session_state["model_path"] = str(CK / "digits-2d")
    at.run()
    assert at.query_params["model"] == "digits-2d"
    assert at.session_state["model_path"] == str(CK / "digits-2d")


@pytest.mark.parametrize("name", ["no-such-model", "../checkpoints/digits-2d", "/etc/passwd", "x" * 500, "%2e%2e"])
def test_an_unknown_model_warns_and_falls_back_to_the_default(name):
    at = open_link({"model": name})
    assert any("does not have" in w.value for w in at.sidebar.warning)
    assert Path(at.session_state["model_path"]).name == "mnist5k-2d"
    assert at.query_params["model"] == "mnist5k-2d"


@pytest.mark.parametrize("value", ABSURD)
def test_absurd_points_and_projections_are_ignored_with_a_notice(value):
    at = open_link({"model": "digits-2d", "projection": value, "point": value})
    assert at.button_group(key="latent_map_method").value == "latent"
    expected = value.strip() if value.strip().isdigit() and int(value) < 360 else None
    titles = [s.value for s in at.subheader if s.value.startswith("Image #")]
    assert titles == ([f"Image #{expected} · class {titles[0].split('class ')[1]}"] if expected else [])
    notices = [t.value for t in at.toast]
    assert any(n.startswith("The link's projection=") and "latent, pca, tsne, umap" in n for n in notices), notices
    said_point = [n for n in notices if n.startswith("The link's point=")]
    assert said_point == ([] if expected else [said_point[0]]) and (expected or "(0 to 359)" in said_point[0])


@pytest.mark.parametrize("live", [True, False])
def test_absurd_z_values_are_clamped_on_the_sliders_page(live):
    query = {"model": "digits-2d", "sliders_z1": "1e999", "sliders_z2": "nan"}
    at = open_link(query, "pages/sliders.py")
    if not live:
        at.toggle(key="sliders_live").set_value(False).run()
        assert not at.exception, at.exception
    z = [at.session_state["sliders_z1"], at.session_state["sliders_z2"]]
    assert z == [SLIDER_LIMIT, 0.0]
    at = open_link({"model": "digits-2d", "sliders_z1": "-1.25", "sliders_z2": "abc"}, "pages/sliders.py")
    assert [at.session_state["sliders_z1"], at.session_state["sliders_z2"]] == [-1.25, 0.0]
    if live:
        assert at.query_params["sliders_z1"] == "-1.25" and "sliders_z2" not in at.query_params


def test_a_point_on_the_sliders_page_starts_from_that_images_mu():
    import torch

    from vae_core.store.checkpoints import load_checkpoint

    ck = load_checkpoint(CK / "digits-2d")
    with torch.inference_mode():
        mu, _ = ck.model.encode(ck.sample.as_tensor()[7:8])
    at = open_link({"model": "digits-2d", "point": "7"}, "pages/sliders.py")
    got = np.array([at.session_state["sliders_z1"], at.session_state["sliders_z2"]])
    np.testing.assert_allclose(got, np.clip(mu[0].numpy(), -SLIDER_LIMIT, SLIDER_LIMIT), atol=1e-6)


@pytest.mark.parametrize("flag, on", [("1", True), ("true", True), ("0", False), ("banana", False), ("", False)])
def test_presenter_mode_from_the_url(flag, on):
    at = open_link({"presenter": flag})
    assert at.session_state["presenter"] is on
    css = any("stSidebar" in m.value and "display: none" in m.value for m in at.markdown)
    assert css is on
    assert (at.query_params.get("presenter") == "1") is on
    if on:
        assert any(b.key == "scenes_exit" for b in at.button)  # the way out, since the sidebar is hidden
