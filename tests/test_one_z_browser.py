"""One z on the Latent sliders page, in headless Debian Chromium against the real app: whatever moves z
(dragging, Reset, Randomize, Play, "From an image: use its mu", a link, a scene) moves everything that
shows it. After each, the decoded image's pixels, the readout, the ring on the position map, the URL and
the downloaded JSON all hold the same z."""
from __future__ import annotations

import json
import math
import re
import time
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from browser_support import REPO, WAIT_MS, app_page, browser, server, wait_until_idle  # noqa: F401
from ui.loaded_model import loaded_model
from vae_core.model import numpy_model
from vae_core.store.checkpoints import load_checkpoint
from vae_core.model.decoder_program import program_from_arrays, run_program

pytestmark = pytest.mark.browser
LOG_2PI = math.log(2 * math.pi)


def url_z(page, d: int) -> np.ndarray:
    query = parse_qs(urlsplit(page.url).query)
    return np.array([float(query.get(f"sliders_z{i + 1}", ["0"])[0]) for i in range(d)])


def settle(page, timeout_s: float = 90) -> None:
    """Until z has gone back to the page: the script has finished and the URL holds the readout's z."""
    deadline = time.time() + timeout_s
    while True:
        wait_until_idle(page)
        shown = shown_z(page)
        if np.allclose(shown, url_z(page, len(shown)), atol=6e-4):
            return
        assert time.time() < deadline, f"the URL's z {url_z(page, len(shown))} never became the readout's {shown}"
        page.wait_for_timeout(200)


def shown_z(page) -> np.ndarray:
    text = page.locator(".vae-live .readout .vector").inner_text()
    return np.array([float(v) for v in re.findall(r"-?\d+\.\d+", text)])


def canvas_pixels(page) -> np.ndarray:
    data = page.locator(".vae-live canvas").evaluate("""(c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        return [c.height, c.width, Array.from(d.data.filter((_, i) => i % 4 === 0))]; }""")
    h, w, px = data
    return np.array(px, dtype=np.int16).reshape(h, w)


def in_popover(page, name, action) -> None:
    """Open the toolbar's popover named ``name``, do ``action`` in it, and close it again."""
    wait_until_idle(page)
    toggle = page.locator('[data-testid="stPopoverButton"]').filter(has_text=name, visible=True)
    assert toggle.count() == 1, f"{toggle.count()} popovers named {name}"
    toggle.click()
    body = page.locator('[data-testid="stPopoverBody"]')
    body.wait_for(timeout=WAIT_MS)
    action(body)
    if body.is_visible():
        toggle.click()
    body.wait_for(state="hidden", timeout=WAIT_MS)


def downloaded_z(page) -> np.ndarray:
    got = {}

    def download(body):
        with page.expect_download(timeout=WAIT_MS) as dl:
            body.get_by_role("button", name="Download z (JSON)").click()
        got["doc"] = json.loads(open(dl.value.path()).read())

    in_popover(page, re.compile("Save z|Points"), download)
    return np.array(got["doc"]["z"])


def check_one_z(page, ckpt, program, expect: np.ndarray | None = None) -> np.ndarray:
    """Everything that shows z agrees; returns that z."""
    settle(page)
    d = ckpt.config.latent_dim
    z = url_z(page, d)
    assert np.allclose(shown_z(page), z, atol=6e-4), (shown_z(page), z)
    if expect is not None:
        assert np.allclose(z, expect, atol=6e-4), (z, expect)
    # the image is the decoder's mean at z
    want = np.round(run_program(*program, z.astype(np.float32))[0] * 255).astype(np.int16)
    assert np.abs(canvas_pixels(page) - want).max() <= 2
    # ||z|| and log p(z)
    numbers = page.locator(".vae-live .readout .numbers").inner_text()
    norm = float(re.search(r"\|\|z\|\| = (-?[\d.]+)", numbers).group(1))
    log_p = float(re.search(r"log p\(z\) = (-?[\d.]+)", numbers).group(1))
    assert norm == pytest.approx(np.linalg.norm(z), abs=0.006)
    assert log_p == pytest.approx(-0.5 * (d * LOG_2PI + float(z @ z)), abs=0.006)
    # the ring on the position map
    ring = page.locator(".vae-live .vae-ring").evaluate(
        "(r) => r.hidden ? null : [parseFloat(r.style.left), parseFloat(r.style.top), r.classList.contains('outside')]")
    canvas = loaded_model(ckpt.path).position_canvas((0, 1), tuple(ckpt.class_names))
    left, top, pw, ph = canvas.box
    x = float(np.clip(canvas.px(*z)[0], left, left + pw)) / canvas.base.width * 100
    y = float(np.clip(canvas.px(*z)[1], top, top + ph)) / canvas.base.height * 100
    assert ring is not None and ring[:2] == pytest.approx([x, y], abs=0.01)
    assert ring[2] == (canvas.fraction(*z) is None)  # a z beyond the frame: on its edge, dashed
    # what Download writes
    assert np.allclose(downloaded_z(page), z, atol=6e-4)
    return z


@pytest.fixture(scope="module")
def digits():
    ckpt = load_checkpoint(REPO / "checkpoints" / "digits-2d", lazy=True)
    return ckpt, program_from_arrays(ckpt.config, ckpt.arrays)


def test_every_way_of_moving_z_moves_everything_that_shows_it(server, browser, digits):
    ckpt, program = digits
    with app_page(browser, server + "/sliders?model=digits-2d&sliders_z1=1.25&sliders_z2=-0.75") as page:
        # a link
        check_one_z(page, ckpt, program, expect=np.array([1.25, -0.75]))
        # dragging the first slider's thumb to its right end
        slider = page.locator(".vae-live input[type=range]").first
        box = slider.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] + 40, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        check_one_z(page, ckpt, program, expect=np.array([3.0, -0.75]))
        # Reset
        page.locator(".vae-live button.reset").click()
        check_one_z(page, ckpt, program, expect=np.zeros(2))
        # Randomize
        page.locator(".vae-live button.randomize").click()
        z = check_one_z(page, ckpt, program)
        assert np.abs(z).max() > 0
        # Play, then Stop
        before = shown_z(page)
        page.locator(".vae-live button.play").click()
        deadline = time.time() + 30
        while np.allclose(shown_z(page), before):  # the animation runs
            assert time.time() < deadline, "Play did not move z"
            page.wait_for_timeout(50)
        page.locator(".vae-live button.play").click()
        check_one_z(page, ckpt, program)
        # From an image: use its mu
        mu, _ = numpy_model.encode(ckpt.config, ckpt.arrays, ckpt.sample.as_array(), ckpt.sample.labels)
        first_of_class_0 = int(np.flatnonzero(ckpt.sample.labels == 0)[0])
        in_popover(page, "From an image", lambda body: body.get_by_role("button", name="Use its mu").click())
        check_one_z(page, ckpt, program, expect=np.round(mu[first_of_class_0], 4))
        assert not page.errors, page.errors


def test_a_scene_sets_one_z(server, browser):
    ckpt = load_checkpoint(REPO / "checkpoints" / "mnist5k-2d", lazy=True)
    program = program_from_arrays(ckpt.config, ckpt.arrays)
    with app_page(browser, server + "/?deck=intro-lecture&scene=4") as page:
        page.wait_for_function("() => location.pathname.endsWith('/sliders')", timeout=WAIT_MS)
        check_one_z(page, ckpt, program, expect=np.array([1.5, -0.5]))
        assert not page.errors, page.errors
