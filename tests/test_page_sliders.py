"""The Latent sliders page, run headless through app.py."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from vae_core.model.activity import INACTIVE_KL, mean_kl_per_dim, rank_dims
from vae_core.store.checkpoints import load_checkpoint
from vae_core.analysis.evaluate import encode_dataset
from vae_core.analysis.latent import SLIDER_LIMIT
from vae_core.analysis.sliders import SliderSpace, clean_slider_value
from vae_core.training.trainer import Trainer

from conftest import tiny_model_config, tiny_train_config

REPO = Path(__file__).resolve().parents[1]
DIGITS_2D = REPO / "checkpoints" / "digits-2d"
DIGITS_8D = REPO / "checkpoints" / "digits-8d"
FASHION_20D = REPO / "checkpoints" / "fashion-mnist-20d"
# the page file as app.py names it in st.navigation
PAGE = next(p for p in ("app_pages/sliders.py", "pages/sliders.py") if (REPO / p).is_file())

pytestmark = pytest.mark.skipif(not (DIGITS_2D.is_dir() and DIGITS_8D.is_dir()),
                                reason="the bundled digits checkpoints are not built (checkpoints/rebuild.sh)")


@pytest.fixture(scope="module")
def app_home(tmp_path_factory):
    """VAE_EXPLORER_HOME for the whole module, so a model saved in its runs/ folder is listed by the app."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VAE_EXPLORER_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def model_20d(app_home, digits) -> Path:
    """fashion-mnist-20d when it is bundled; otherwise a 20-D VAE trained on digits for one epoch,
    saved where the app lists the models trained in it."""
    if (FASHION_20D / "model.safetensors").is_file():
        return FASHION_20D
    out = app_home / "runs" / "digits-20d"
    Trainer(tiny_model_config(latent_dim=20), tiny_train_config(epochs=1), digits, out_dir=out,
            sample_size=200, command="pytest fixture").fit()
    return out


class Page:
    """The app on the Latent sliders page with one model selected.

    AppTest does not keep the router's sidebar widgets after ``switch_page``, so the chosen model is put
    back into session state before every run (as the sidebar's selectbox would)."""

    def __init__(self, model: Path, query: dict | None = None, live: bool = False):
        self.model = str(model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        self.at.query_params.update(query or {})
        self.at.session_state["model_path"] = self.model
        self.at.run()
        self.at.switch_page(PAGE)
        self.run()
        if not live:  # the server path: st.slider widgets and an st.image decoded in Python
            self.at.toggle(key="sliders_live").set_value(False)
            self.run()

    def run(self):
        self.at.session_state["model_path"] = self.model
        self.at.run()
        assert not self.at.exception, self.at.exception
        return self

    def decoded_image(self):
        """The large decoded image: the one captioned decode(z)."""
        found = [im for im in self.at.get("image") if im.captions and im.captions[0].startswith("decode(z)")]
        assert len(found) == 1, [im.captions for im in self.at.get("image")]
        return found[0]

    def decoded(self) -> str:
        """The decoded image's URL: a data: URL holding the PNG itself, so it changes with the pixels."""
        return self.decoded_image().value[0]

    def decoded_pixels(self) -> np.ndarray:
        import base64
        import io

        from PIL import Image

        url = self.decoded()
        assert url.startswith("data:image/png;base64,"), url[:40]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))

    def click(self, label: str):
        next(b for b in self.at.button if b.label.startswith(label)).click()
        return self.run()

    def values(self) -> list[float]:
        return [s.value for s in self.at.slider]


def _kl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    ck = load_checkpoint(path)
    mu, logvar = encode_dataset(ck.model, ck.sample.as_tensor())
    return mu, mean_kl_per_dim(mu, logvar)


def test_one_slider_per_dimension_labelled_with_its_kl(app_home):
    page = Page(DIGITS_8D)
    _, kl = _kl(DIGITS_8D)
    labels = [s.label for s in page.at.slider]
    assert len(labels) == 8
    for d, label in enumerate(labels):
        digits = 3 if kl[d] < INACTIVE_KL else 2
        assert label.replace(":gray[", "").startswith(f"z{d + 1} · KL {kl[d]:.{digits}f}")
        assert ("inactive" in label) == (kl[d] < INACTIVE_KL)
    assert page.values() == [0.0] * 8
    assert "||z|| = 0.00" in page.decoded_image().captions[0]


def test_moving_a_slider_randomize_and_reset_change_the_decoded_image(app_home):
    page = Page(DIGITS_2D)
    assert len(page.at.slider) == 2
    at_zero = page.decoded()
    page.at.slider(key="sliders_z1").set_value(2.0)
    page.run()
    moved = page.decoded()
    assert moved != at_zero and page.values() == [2.0, 0.0]
    page.click("Random z")
    assert page.decoded() not in (at_zero, moved)
    assert any(v != 0.0 for v in page.values()) and all(abs(v) <= SLIDER_LIMIT for v in page.values())
    page.click("Reset")
    assert page.values() == [0.0, 0.0] and page.decoded() == at_zero


def test_starting_from_an_image_sets_the_sliders_to_its_mu(app_home):
    page = Page(DIGITS_8D)
    ck = load_checkpoint(DIGITS_8D)
    mu, _ = encode_dataset(ck.model, ck.sample.as_tensor())
    page.at.selectbox(key="sliders_pick_class").set_value(3)
    page.at.number_input(key="sliders_pick_index").set_value(2)
    page.run()
    before = page.decoded()
    page.click("Use its mu")
    i = int(np.flatnonzero(ck.sample.labels == 3)[1])
    np.testing.assert_allclose(page.values(), np.clip(mu[i], -SLIDER_LIMIT, SLIDER_LIMIT), atol=1e-6)
    assert page.decoded() != before


def test_a_20d_model_gets_16_sliders_for_its_most_active_dims_and_one_for_the_rest(app_home, model_20d):
    page = Page(model_20d)
    _, kl = _kl(model_20d)
    labels = [s.label for s in page.at.slider]
    assert len(labels) == 17
    shown = [int(re.search(r"z(\d+)", lab).group(1)) - 1 for lab in labels[:16]]
    assert shown == rank_dims(kl, 16)
    assert labels[16].startswith("The other 4 dimensions")
    at_zero = page.decoded()
    page.at.slider(key="sliders_others").set_value(-3.0)
    page.run()
    assert page.decoded() != at_zero  # the rest of z moved too
    page.click("Reset")
    assert page.values() == [0.0] * 17 and page.decoded() == at_zero


def test_the_server_image_is_the_decoders_mean_at_the_sliders_z(app_home):
    import torch

    from vae_core.analysis.latent import decode_batch
    from vae_core.render.images import to_uint8

    page = Page(DIGITS_2D)
    page.at.slider(key="sliders_z1").set_value(1.5)
    page.at.slider(key="sliders_z2").set_value(-0.75)
    page.run()
    ck = load_checkpoint(DIGITS_2D)
    want = to_uint8(decode_batch(ck.model, torch.tensor([[1.5, -0.75]])))[0]
    got = page.decoded_pixels()  # the decoder's own pixels, drawn larger by the browser (crisp)
    assert np.array_equal(got, want)
    assert "||z|| = 1.68" in page.decoded_image().captions[0]  # sqrt(1.5^2 + 0.75^2)


def _marks(page: Page) -> dict[str, list[tuple[float, float]]]:
    """The position map's ring and stars, as (left %, top %) of the picture."""
    body = next(h.proto.body for h in page.at.get("html") if "vae-posmap" in h.proto.body)
    found = {"ring": [], "star": []}
    for kind, left, top in re.findall(r'class="vae-(ring|star)" style="left:([-\d.]+)%;top:([-\d.]+)%"', body):
        found[kind].append((float(left), float(top)))
    return found


def test_the_position_map_rings_z_and_stars_the_saved_points(app_home):
    from vae_core.render.map_image import MapCanvas

    page = Page(DIGITS_2D)
    assert len(_marks(page)["ring"]) == 1 and _marks(page)["star"] == []
    at_zero = _marks(page)["ring"][0]
    page.at.slider(key="sliders_z1").set_value(1.0)
    page.run()
    ring = _marks(page)["ring"][0]
    assert ring[0] > at_zero[0] and ring[1] == pytest.approx(at_zero[1], abs=1e-3)  # right, same height
    # the same place the server-side drawing would use
    ck = load_checkpoint(DIGITS_2D)
    mu, _ = encode_dataset(ck.model, ck.sample.as_tensor())
    from vae_core.render.map_layout import square_extent

    canvas = MapCanvas(mu[:1000], ck.sample.labels[:1000], [str(c) for c in range(10)], ["#000000"] * 10,
                       size=460, dot=4, axis_titles=("z1", "z2"), extent=square_extent(mu[:1000]))
    fx, fy = canvas.fraction(1.0, 0.0)
    assert ring == pytest.approx((fx * 100, fy * 100), abs=1e-3)
    page.click("Save this point")
    assert page.at.session_state["sliders_saved"] == [[1.0, 0.0]]
    assert _marks(page)["star"] == [ring]


def test_values_from_the_url_or_session_state_cannot_break_the_page(app_home):
    page = Page(DIGITS_2D, query={"sliders_z1": "1.5", "sliders_z2": "nan"})  # a shared link, one value broken
    assert page.values() == [1.5, 0.0]
    page = Page(DIGITS_2D, query={"sliders_z1": "1e999", "sliders_z2": "-inf"})
    assert all(np.isfinite(v) and abs(v) <= SLIDER_LIMIT for v in page.values())
    page.at.session_state["sliders_z1"] = float("nan")
    page.at.session_state["sliders_z2"] = 99.0
    page.run()
    assert all(np.isfinite(v) and abs(v) <= SLIDER_LIMIT for v in page.values())
    assert len(page.at.get("image")) >= 1


def test_slider_space_and_value_cleaning():
    space = SliderSpace(5, np.array([0.1, 3.0, 0.0, 2.0, 1.0]), max_sliders=3)
    assert space.slider_dims == [1, 3, 4] and space.other_dims == [0, 2]
    z = space.to_z([1.0, -1.0, 0.5], others=0.25)
    np.testing.assert_allclose(z, [0.25, 1.0, 0.25, -1.0, 0.5])
    np.testing.assert_allclose(space.to_sliders(z, 3.0), [1.0, -1.0, 0.5])
    ae = SliderSpace(2, None, offset=np.array([10.0, -5.0]), scale=np.array([2.0, 0.5]))
    np.testing.assert_allclose(ae.to_z([1.0, -2.0]), [12.0, -6.0])
    np.testing.assert_allclose(ae.to_sliders([12.0, -6.0], 3.0), [1.0, -2.0])
    for raw, want in [("nan", 0.0), (float("nan"), 0.0), (None, 0.0), ("abc", 0.0), ("1.5", 1.5),
                      (float("inf"), 3.0), (-7, -3.0), ([1, 2], 0.0)]:
        assert clean_slider_value(raw, 3.0) == want


def test_a_conditional_model_gets_a_class_picker_that_changes_the_image(app_home, digits):
    out = app_home / "runs" / "cvae-3d"
    Trainer(tiny_model_config(latent_dim=3, kind="cvae"), tiny_train_config(epochs=1), digits, out_dir=out,
            sample_size=50, command="pytest fixture").fit()
    page = Page(out)
    assert len(page.at.slider) == 3
    first = page.decoded()
    page.at.selectbox(key="sliders_class").set_value(7)
    page.run()
    assert page.decoded() != first
