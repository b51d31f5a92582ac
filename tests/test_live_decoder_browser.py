"""The in-browser decoder, in headless Debian Chromium against the real app.

- Parity: for 100 random z per bundled model, the JavaScript decoder's pixels equal torch's
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
from vae_core.checkpoints import list_checkpoints, load_checkpoint
from vae_core.decoder_program import decoder_program
from vae_core.torch_model import VAE

from test_decoder_program import CONFIGS as DECODER_CONFIGS

pytestmark = pytest.mark.browser
BUNDLED = list_checkpoints(REPO / "checkpoints")


@pytest.fixture(scope="module")
def sliders_page(server, browser):
    with app_page(browser, f"{server}/sliders") as page:
        page.wait_for_function("window.__vaeDecoders && window.__vaeDecoders.size > 0", timeout=WAIT_MS)
        yield page


def test_bundled_models_include_mlp_and_conv_decoders():
    archs = {load_checkpoint(p).config.arch for p in BUNDLED}
    assert archs == {"mlp", "conv"}


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
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


def test_the_latent_map_decodes_under_the_pointer(server, browser):
    with app_page(browser, server) as page:
        canvas = page.locator(".vae-pointer canvas")
        canvas.wait_for(timeout=WAIT_MS)
        # once the browser's decoder has drawn, the server's first image of z = 0 is hidden
        page.wait_for_function("() => { const s = document.querySelector('.vae-pointer-still');"
                               " return s && !s.checkVisibility(); }", timeout=WAIT_MS)
        readout = page.locator(".vae-pointer .readout")
        plot = page.locator(".st-key-latent_map_chart .js-plotly-plot .nsewdrag").first
        plot.wait_for(state="visible", timeout=WAIT_MS)
        page.wait_for_function(  # the chart may still be laying out
            "() => { const r = document.querySelector('.st-key-latent_map_chart .js-plotly-plot .nsewdrag');"
            " return r && r.getBoundingClientRect().width > 50; }", timeout=WAIT_MS)
        box = plot.bounding_box()
        assert box, "the latent map chart has no position on the page"
        shots, texts = [], []
        for fx, fy in ((0.25, 0.25), (0.75, 0.75)):
            before = readout.inner_text()
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=3)
            wait_until(lambda: readout.inner_text() != before, "the readout following the pointer")
            shots.append(canvas.screenshot())
            texts.append(readout.inner_text())
        assert shots[0] != shots[1], "the decoded image did not follow the pointer"
        assert texts[0] != texts[1] and texts[0].startswith("z1 = ")
        z1_left = float(texts[0].split("=")[1].split(",")[0])
        z1_right = float(texts[1].split("=")[1].split(",")[0])
        assert z1_left < z1_right  # x grows to the right, as on the chart's axis
        assert not page.errors, page.errors


def test_hovering_a_dot_on_the_latent_map_shows_that_image(server, browser):
    """The hover preview crops the hovered image out of one sheet of all stored images: the pixels on
    screen are that image's, scaled 4x."""
    from io import BytesIO

    from PIL import Image

    images = load_checkpoint(REPO / "checkpoints" / "mnist5k-2d").sample.images
    with app_page(browser, server) as page:
        dots = page.locator(".st-key-latent_map_chart .scatterlayer .trace:not(:first-child) .point")  # the first trace: the click grid
        dots.first.wait_for(state="attached", timeout=WAIT_MS)
        tip = page.locator("#vae-map-hover-tip .vae-hover-image")

        def hovered_image():
            return page.evaluate("""() => {
                const gd = document.querySelector('.st-key-latent_map_chart .js-plotly-plot');
                const h = gd._hoverdata && gd._hoverdata[0];
                return h && h.data.meta === 'sample' ? Number(h.customdata[0]) : null; }""")

        checked = 0
        for k in (0, 37, 211):
            box = dots.nth(k).bounding_box()
            if not box or box["width"] < 1:
                continue
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=2)
            try:
                tip.wait_for(state="visible", timeout=20_000)
            except Exception:  # noqa: BLE001  (a dot under another dot does not hover)
                continue
            assert hovered_image() is not None, "the pointer is on a dot but Plotly hovers no image"
            shot = np.asarray(Image.open(BytesIO(tip.screenshot())).convert("L"), dtype=np.int16)
            shown = int(tip.get_attribute("data-index"))  # read after the screenshot, which may scroll the page
            assert shown == hovered_image()
            want = np.kron(images[shown].astype(np.int16), np.ones((4, 4), np.int16))
            assert shot.shape == want.shape == (112, 112)
            assert np.abs(shot - want).max() <= 2, f"the preview of image #{shown} shows other pixels"
            checked += 1
        assert checked >= 2, "too few dots could be hovered"
        assert not page.errors, page.errors
