"""The in-browser decoder, in headless Debian Chromium against the real app.

- Parity: for 100 random z per bundled model whose decoder the browser runs, the JavaScript decoder's pixels equal torch's
  within 1e-4 (max absolute difference).
- The weights reach the browser once per model: a rerun sends none.
- Arrow keys on a live slider redraw the canvas in the browser and z comes back to the page.
"""
from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from browser_support import REPO, WAIT_MS, app_page, browser, server, wait_until, wait_until_idle  # noqa: F401
from vae_core.store.checkpoints import list_checkpoints, load_checkpoint
from vae_core.model.decoder_program import decoder_program
from vae_core.model.torch_model import VAE

from test_decoder_program import CONFIGS as DECODER_CONFIGS

pytestmark = pytest.mark.browser
BUNDLED = list_checkpoints(REPO / "checkpoints")
# the bundled models whose decoder the browser runs (a VQ-VAE's is decoded on the server: tests/test_vqvae.py)
IN_BROWSER = [p for p in BUNDLED if load_checkpoint(p, lazy=True).config.variant.browser_decoder]


@pytest.fixture(scope="module")
def sliders_page(server, browser):
    with app_page(browser, f"{server}/sliders") as page:
        page.wait_for_function("window.__vaeDecoders && window.__vaeDecoders.size > 0", timeout=WAIT_MS)
        yield page


def test_bundled_models_include_mlp_and_conv_decoders():
    archs = {load_checkpoint(p).config.arch for p in BUNDLED}
    assert archs == {"mlp", "conv"}


@pytest.mark.parametrize("path", IN_BROWSER, ids=[p.name for p in IN_BROWSER])
def test_browser_pixels_equal_torch_for_100_random_z(sliders_page, path):
    ckpt = load_checkpoint(path)
    spec, blob = decoder_program(ckpt.model)
    sha = sliders_page.evaluate("([spec, b64]) => window.__vaeLoadProgram(spec, b64)",
                                [spec, base64.b64encode(blob).decode()])
    z = torch.randn(100, ckpt.config.latent_dim, generator=torch.Generator().manual_seed(7)) * 1.5
    label = 3 if ckpt.config.variant.conditional else 0
    js = np.array(sliders_page.evaluate("([sha, zs, y]) => window.__vaeDecodeMany(sha, zs, y)",
                                        [sha, z.tolist(), label]), dtype=np.float64)
    with torch.inference_mode():
        y = torch.full((100,), label) if ckpt.config.variant.conditional else None
        ref = ckpt.model.decode(z, y).reshape(100, -1).double().numpy()
    assert js.shape == ref.shape
    diff = np.abs(js - ref).max()
    assert diff <= 1e-4, f"{path.name}: max |browser - torch| = {diff:.2e}"


@pytest.mark.parametrize("cfg", DECODER_CONFIGS, ids=lambda c: f"{c.arch}-{'x'.join(map(str, c.image_shape))}"
                                                      f"-d{c.latent_dim}-{'label' if c.variant.conditional else 'nolabel'}")
def test_every_described_decoder_runs_in_the_browser_as_in_torch(sliders_page, cfg):
    """The JavaScript runs whatever program it gets: MLP and convolutional decoders, colour images, and a
    decoder that takes the class label (the program's own "label" operation)."""
    torch.manual_seed(0)
    model = VAE(cfg).eval()
    spec, blob = decoder_program(model)
    sha = sliders_page.evaluate("([spec, b64]) => window.__vaeLoadProgram(spec, b64)",
                                [spec, base64.b64encode(blob).decode()])
    z = torch.randn(10, cfg.latent_dim, generator=torch.Generator().manual_seed(3)) * 1.5
    for label in ([0, cfg.num_classes - 1] if cfg.variant.conditional else [0]):
        js = np.array(sliders_page.evaluate("([sha, zs, y]) => window.__vaeDecodeMany(sha, zs, y)",
                                            [sha, z.tolist(), label]), dtype=np.float64)
        with torch.inference_mode():
            ref = model.decode(z, torch.full((10,), label) if cfg.variant.conditional else None).reshape(10, -1).double()
        assert np.abs(js - ref.numpy()).max() <= 1e-4, (cfg, label)


def test_weights_arrive_once_and_a_slider_moves_the_image(sliders_page):
    page = sliders_page
    assert page.evaluate("window.__vaeWeightsReceived") == 1
    canvas = page.locator(".vae-live canvas")
    before = canvas.screenshot()
    slider = page.locator(".vae-live input[type=range]").first
    slider.focus()
    n_before = page.evaluate("window.__vaeLiveStats.length")
    for _ in range(40):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("window.__vaeLiveStats.length") >= n_before + 40  # one decode per key press
    assert float(slider.input_value()) == pytest.approx(0.40, abs=1e-6)
    assert canvas.screenshot() != before
    # The readout follows every key press; on release the browser sends z back, and that rerun sends no weights.
    assert page.locator(".vae-live .readout .numbers").inner_text().startswith("||z|| = 0.40")
    page.wait_for_function("() => new URLSearchParams(location.search).get('sliders_z1') === '0.4'", timeout=WAIT_MS)
    wait_until_idle(page)
    page.get_by_text("Save z").click()
    page.get_by_role("button", name="Save this point").click()
    wait_until_idle(page)
    page.locator(".vae-live .posmap .vae-star").wait_for(timeout=WAIT_MS)  # the saved point is on the map
    assert page.evaluate("window.__vaeWeightsReceived") == 1
    assert not page.errors, page.errors
