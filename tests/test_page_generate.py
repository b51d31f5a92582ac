"""The Generate page and its latent walks: what it shows is decoded by the model from the right z.

The walk helpers of vae_core.analysis.explain are checked directly; the page is run with
AppTest through app.py on the bundled digits-2d and digits-8d models and on an
autoencoder, and its images and downloads (recorded as Streamlit stores them)
are compared pixel for pixel with the model's own decoding.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence
from streamlit.testing.v1 import AppTest

from vae_core.model.activity import mean_kl_per_dim, rank_dims
from vae_core.store.checkpoints import load_checkpoint
from vae_core.model.config import ModelConfig, TrainConfig
from vae_core.analysis.latent import (decode_batch, interpolate, manifold_grid, manifold_points, normal_ppf,
                             traversal_values)
from vae_core.model.priors import prior_z
from vae_core.render.images import tile, to_uint8
from vae_core.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "checkpoints"
PAGE = "pages/generate.py"
VAE_MODELS = ["digits-2d", "digits-8d"]


# ---------------------------------------------------------------- fixtures and helpers


pytestmark = pytest.mark.usefixtures("_home_env")  # VAE_EXPLORER_HOME: a temporary folder


class Page:
    """The app on one tab of the Generate page with one model selected.

    AppTest does not keep the router's sidebar after ``switch_page``, so the chosen model is put back
    into session state before every run, as the sidebar's selectbox would."""

    def __init__(self, model: Path, tab: str = "Prior samples"):
        self.model = str(model)
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        self.at.session_state["model_path"] = self.model
        self.at.run()
        self.at.switch_page(PAGE)
        self.at.session_state["generate_tab"] = tab
        self.run()
        assert self.at.title[0].value == "Generate"

    def run(self) -> AppTest:
        self.at.session_state["model_path"] = self.model
        self.at.run()
        assert not self.at.exception, [e.value for e in self.at.exception]
        assert not self.at.error, [e.value for e in self.at.error]
        return self.at


def url_bytes(media, url: str) -> bytes:
    return media.image(url)


def download(at: AppTest, media, key: str) -> bytes:
    return media.download(at.download_button(key=key).proto)


def image_urls(at: AppTest) -> list[str]:
    return [u for el in at.image for u in el.value]


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def untile_gaps(grid: np.ndarray, n: int, ncols: int, h: int, w: int, gap: int = 2) -> np.ndarray:
    """The n small images of a tiled_image grid (each upscaled, thin gaps): the inverse of the page's tiling."""
    f = (grid.shape[1] - gap * (ncols + 1)) // (ncols * w)
    out = []
    for k in range(n):
        r, c = divmod(k, ncols)
        y, x = gap + r * (h * f + gap), gap + c * (w * f + gap)
        out.append(grid[y:y + h * f:f, x:x + w * f:f])
    return np.stack(out)


def shown_grid_small(grid: np.ndarray, ncols: int, w: int) -> np.ndarray:
    """A ui.images.show_grid picture brought back to one pixel per image pixel."""
    f = grid.shape[1] // (ncols * (w + 1) + 1)
    return grid[::f, ::f]


def animation_frames(at: AppTest, key: str) -> list[np.ndarray]:
    """The frames an animation (ui/animation.py) shows, as the browser gets them (a PNG per part)."""
    from ui.component_data import unpack

    comp = next(e for e in at._tree.get("bidi_component")
                if e.proto.component_name == "vae_animation" and e.proto.id.endswith("-" + key))
    header, parts = unpack(comp.proto.bytes)
    return [pixels(parts[f"frame{k}"].tobytes()) for k in range(header["frames"])]


def gif_frames(data: bytes) -> list[np.ndarray]:
    return [np.asarray(fr.convert("L")) for fr in ImageSequence.Iterator(Image.open(io.BytesIO(data)))]


# ---------------------------------------------------------------- the walks in vae_core.analysis.explain


def test_manifold_points_place_the_inverse_cdf_grid_on_two_dimensions():
    np.testing.assert_array_equal(manifold_points(12, 2), manifold_grid(12))
    z = manifold_points(10, 5, dims=(3, 1))
    grid = manifold_grid(10)
    np.testing.assert_array_equal(z[:, 3], grid[:, 0])
    np.testing.assert_array_equal(z[:, 1], grid[:, 1])
    assert not z[:, [0, 2, 4]].any()  # the other dimensions stay at the prior's mean
    # equal probability mass per cell: the ticks are quantiles 0.05 .. 0.95 of N(0, 1)
    ticks = np.unique(grid[:, 0])
    np.testing.assert_allclose(ticks, normal_ppf(np.linspace(0.05, 0.95, 10)), rtol=1e-6)
    assert np.diff(ticks)[0] > np.diff(ticks)[len(ticks) // 2]  # wider steps in the tails
    assert manifold_points(7, 1).shape == (7, 1)
    with pytest.raises(ValueError, match="two different dimensions"):
        manifold_points(10, 4, dims=(2, 2))
    with pytest.raises(ValueError, match="two different dimensions"):
        manifold_points(10, 4, dims=(0, 4))


def test_interpolate_runs_from_one_code_to_the_other():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, generator=g), torch.randn(6, generator=g)
    for method in ("lerp", "slerp"):
        path = interpolate(a, b, 9, method)
        assert path.shape == (9, 6)
        torch.testing.assert_close(path[0], a)
        torch.testing.assert_close(path[-1], b, rtol=1e-5, atol=1e-5)
    lin = interpolate(a, b, 9, "lerp")
    torch.testing.assert_close(lin[4], (a + b) / 2)
    # slerp between two codes of equal norm keeps that norm; lerp cuts the corner
    b_same = b / b.norm() * a.norm()
    sph = interpolate(a, b_same, 9, "slerp")
    torch.testing.assert_close(sph.norm(dim=1), torch.full((9,), float(a.norm())), rtol=1e-5, atol=1e-5)
    assert interpolate(a, b_same, 9, "lerp").norm(dim=1)[4] < a.norm() - 1e-3
    with pytest.raises(ValueError, match="method"):
        interpolate(a, b, 5, "cubic")
    with pytest.raises(ValueError, match="steps"):
        interpolate(a, b, 1)


def test_most_active_dims_and_traversal_values():
    assert rank_dims(np.array([0.1, 2.0, 0.0, 5.0, 2.0]), 3) == [3, 1, 4]
    assert rank_dims(np.zeros(20), 16) == list(range(16))
    np.testing.assert_allclose(traversal_values(7), [-3, -2, -1, 0, 1, 2, 3])
    mu = np.array([[0.0, 1.0], [0.0, -1.0]], np.float32)
    kl = mean_kl_per_dim(mu, np.zeros_like(mu))  # sigma = 1: KL_i = mu_i^2 / 2
    np.testing.assert_allclose(kl, [0.0, 0.5])


# ---------------------------------------------------------------- the page


@pytest.mark.parametrize("name", VAE_MODELS)
def test_prior_samples_are_the_models_decoded_prior_draws_and_follow_temperature(name, media):
    path = BUNDLED / name
    ck = load_checkpoint(path)
    d, w = ck.config.latent_dim, ck.config.image_shape[2]
    page = Page(path)
    at = page.at

    def expected(temp: float, seed: int, n: int = 32) -> np.ndarray:
        return tile(to_uint8(decode_batch(ck.model, prior_z(n, d, temp, seed))), 8, pad=1)

    png = pixels(download(at, media, "generate_prior_png"))
    np.testing.assert_array_equal(shown_grid_small(png, 8, w), expected(1.0, 0))
    assert url_bytes(media, image_urls(at)[0])[:8] == b"\x89PNG\r\n\x1a\n"  # exact pixels, not a JPEG
    before = image_urls(at)

    at.slider(key="generate_temp").set_value(0.5)
    page.run()
    assert image_urls(at) != before
    png = pixels(download(at, media, "generate_prior_png"))
    np.testing.assert_array_equal(shown_grid_small(png, 8, w), expected(0.5, 0))

    at.button(key="generate_new").click()
    page.run()
    assert at.number_input(key="generate_seed").value == 1
    png = pixels(download(at, media, "generate_prior_png"))
    np.testing.assert_array_equal(shown_grid_small(png, 8, w), expected(0.5, 1))

    at.slider(key="generate_count").set_value(16)
    page.run()
    png = pixels(download(at, media, "generate_prior_png"))
    assert png.shape[0] < png.shape[1]  # 2 rows of 8 now
    np.testing.assert_array_equal(shown_grid_small(png, 8, w), expected(0.5, 1, 16))


@pytest.mark.parametrize("name", VAE_MODELS)
def test_manifold_is_the_inverse_cdf_grid_decoded(name, media):
    path = BUNDLED / name
    ck = load_checkpoint(path)
    d, (_, h, w) = ck.config.latent_dim, ck.config.image_shape
    page = Page(path, "Latent manifold")
    at = page.at
    captions = " ".join(c.value for c in at.caption)
    assert "inverse Gaussian CDF" in captions and "same probability mass" in captions
    if d == 2:
        dims = (0, 1)
    else:
        dims = (at.selectbox(key="generate_m_dim_x").value, at.selectbox(key="generate_m_dim_y").value)
        assert "held at 0" in captions
        mu, logvar = ck.model.encode(ck.sample.as_tensor())
        assert set(dims) == set(rank_dims(mean_kl_per_dim(mu.detach().numpy(), logvar.detach().numpy()), 2))
    n = at.slider(key="generate_grid_n").value
    grid = pixels(download(at, media, "generate_grid_png"))
    want = to_uint8(decode_batch(ck.model, manifold_points(n, d, dims)))
    np.testing.assert_array_equal(untile_gaps(grid, n * n, n, h, w), want)

    at.slider(key="generate_grid_n").set_value(10)
    page.run()
    grid = pixels(download(at, media, "generate_grid_png"))
    np.testing.assert_array_equal(untile_gaps(grid, 100, 10, h, w),
                                  to_uint8(decode_batch(ck.model, manifold_points(10, d, dims))))
    if d > 2:
        at.selectbox(key="generate_m_dim_x").set_value(7 if dims[1] != 7 else 6)
        page.run()
        assert "generate_m_dim_x" in at.session_state and not at.exception


@pytest.mark.parametrize("name", VAE_MODELS)
def test_interpolation_strips_and_gifs_run_between_the_two_encodings(name, media):
    path = BUNDLED / name
    ck = load_checkpoint(path)
    _, h, w = ck.config.image_shape
    page = Page(path, "Interpolation")
    at = page.at
    steps = at.slider(key="generate_steps").value
    a_cls, b_cls = at.selectbox(key="generate_m_a_class").value, at.selectbox(key="generate_m_b_class").value
    ia = int(np.flatnonzero(ck.sample.labels == a_cls)[0])
    ib = int(np.flatnonzero(ck.sample.labels == b_cls)[0])
    with torch.no_grad():
        mu, _ = ck.model.encode(ck.sample.as_tensor()[[ia, ib]])
    for method in ("lerp", "slerp"):
        gif = download(at, media, f"generate_{method}_gif")
        frames = gif_frames(gif)
        assert len(frames) == 2 * steps - 2  # forward, then back (bounce)
        want = to_uint8(decode_batch(ck.model, interpolate(mu[0], mu[1], steps, method)))
        for k in (0, steps // 2, steps - 1):
            f = frames[k].shape[0] // h
            np.testing.assert_array_equal(frames[k][::f, ::f], want[k])
    # two strips and two small originals are images; the GIFs' frames are shown as animations that can be paused
    assert len(image_urls(at)) == 4
    for method in ("lerp", "slerp"):
        shown = animation_frames(at, f"generate_{method}_anim")
        gif = gif_frames(download(at, media, f"generate_{method}_gif"))
        assert len(shown) == steps and all(np.array_equal(a, b) for a, b in zip(shown, gif))

    before = download(at, media, "generate_lerp_gif")
    at.slider(key="generate_steps").set_value(5)
    page.run()
    assert len(gif_frames(download(at, media, "generate_lerp_gif"))) == 8
    at.number_input(key="generate_m_a_index").set_value(3)
    page.run()
    ia3 = int(np.flatnonzero(ck.sample.labels == a_cls)[3])
    assert any(f"#{ia3}," in c for el in at.image for c in el.captions)
    assert download(at, media, "generate_lerp_gif") != before


@pytest.mark.parametrize("name", VAE_MODELS)
def test_traversal_rows_sweep_one_dimension_each(name, media):
    path = BUNDLED / name
    ck = load_checkpoint(path)
    d, (_, h, w) = ck.config.latent_dim, ck.config.image_shape
    page = Page(path, "Traversal")
    at = page.at
    steps = at.slider(key="generate_trav_steps").value
    with torch.no_grad():
        mu, logvar = ck.model.encode(ck.sample.as_tensor())
    kl = mean_kl_per_dim(mu.numpy(), logvar.numpy())
    labels = [m.value for m in at.markdown if m.value.startswith("**z")]
    assert labels == [f"**z{i + 1}**  \nKL {kl[i]:.2f}" for i in range(d)]
    grid = pixels(download(at, media, "generate_trav_png"))
    values = traversal_values(steps)
    z = np.zeros((d * steps, d), np.float32)
    for i in range(d):
        z[i * steps:(i + 1) * steps, i] = values
    np.testing.assert_array_equal(untile_gaps(grid, d * steps, steps, h, w), to_uint8(decode_batch(ck.model, z)))
    gif = gif_frames(download(at, media, "generate_trav_gif"))
    assert len(gif) == 2 * steps - 2

    # start from an image's mu: the rows change
    at.radio(key="generate_m_trav_start").set_value("image")
    page.run()
    idx = int(at.number_input(key="generate_m_trav_img_index").value)
    grid2 = pixels(download(at, media, "generate_trav_png"))
    z_img = np.repeat(mu[idx].numpy()[None], d * steps, 0)
    for i in range(d):
        z_img[i * steps:(i + 1) * steps, i] = values
    np.testing.assert_array_equal(untile_gaps(grid2, d * steps, steps, h, w), to_uint8(decode_batch(ck.model, z_img)))


def test_autoencoder_warns_that_prior_samples_are_poor(autoencoder_path, media):
    page = Page(autoencoder_path)
    at = page.at
    assert any("plain autoencoder" in wa.value for wa in at.warning)
    assert len(image_urls(at)) == 1  # the samples are still shown
    at.session_state["generate_tab"] = "Traversal"
    page.run()
    labels = [m.value for m in at.markdown if m.value.startswith("**z")]
    assert labels and all("\nvar " in lab for lab in labels)  # no KL: the variance of mu instead
    assert any("no KL term" in i.value for i in at.info)
    at.session_state["generate_tab"] = "Interpolation"
    page.run()
    assert download(at, media, "generate_slerp_gif")[:6] == b"GIF89a"


def test_settings_survive_tab_switches_and_a_model_change_resets_the_chosen_images():
    page = Page(BUNDLED / "digits-8d", "Interpolation")
    page.at.number_input(key="generate_m_a_index").set_value(5)
    page.at.slider(key="generate_steps").set_value(12)
    page.run()
    page.at.session_state["generate_tab"] = "Traversal"  # the Interpolation widgets are not drawn now
    page.run()
    page.at.session_state["generate_tab"] = "Interpolation"
    at = page.run()
    assert at.number_input(key="generate_m_a_index").value == 5
    assert at.slider(key="generate_steps").value == 12
    page.model = str(BUNDLED / "digits-2d")  # what picking another model in the sidebar does
    at = page.run()
    assert at.number_input(key="generate_m_a_index").value == 0
    assert at.slider(key="generate_steps").value == 12  # settings that fit any model are kept


@pytest.fixture(scope="module")
def cvae_path(home, request) -> Path:
    """A conditional VAE, trained for two epochs among the app's saved runs (none is bundled)."""
    out = home / "runs" / "digits-cvae"
    cfg = ModelConfig(image_shape=(1, 8, 8), latent_dim=3, hidden=(64,), kind="cvae")
    Trainer(cfg, TrainConfig(dataset="digits", epochs=2, lr=3e-3, seed=0, device="cpu"),
            request.getfixturevalue("digits"), out_dir=out, sample_size=60, save_optimizer=False).fit()
    return out


def test_conditional_model_one_row_per_class_shares_z_across_rows(cvae_path, media):
    ck = load_checkpoint(cvae_path)
    page = Page(cvae_path)
    at = page.at
    assert at.selectbox(key="generate_m_prior_class").value == -1  # one row per class
    assert at.slider(key="generate_count").disabled
    png = pixels(download(at, media, "generate_prior_png"))
    z = prior_z(8, 3, 1.0, 0).repeat(10, 1)
    y = torch.arange(10).repeat_interleave(8)
    want = tile(to_uint8(decode_batch(ck.model, z, y)), 8, pad=1)
    np.testing.assert_array_equal(shown_grid_small(png, 8, 8), want)
    at.selectbox(key="generate_m_prior_class").set_value(4)
    page.run()
    png = pixels(download(at, media, "generate_prior_png"))
    want = tile(to_uint8(decode_batch(ck.model, prior_z(32, 3, 1.0, 0), torch.tensor(4))), 8, pad=1)
    np.testing.assert_array_equal(shown_grid_small(png, 8, 8), want)
    for tab in ("Latent manifold", "Interpolation", "Traversal"):
        at.session_state["generate_tab"] = tab
        page.run()
        assert [s for s in at.selectbox if s.label == "Class y given to the decoder"]
