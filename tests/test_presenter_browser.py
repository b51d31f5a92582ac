"""In headless Debian Chromium against the real app: drawing on the canvas, presenter mode and its keyboard
shortcuts, and the copy-link button."""
from __future__ import annotations

import contextlib
import math
import time

import pytest

from browser_support import ARTIFACTS, WAIT_MS, app_page, browser, server, wait_until, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(server, browser):
    with contextlib.ExitStack() as pages:
        yield lambda path, permissions=None: pages.enter_context(app_page(browser, server + path, permissions))


def wait_for_url(page, part: str, timeout_s: float = WAIT_MS / 1000) -> None:
    """Wait until the address bar holds ``part`` (asked of the page: Playwright's page.url alone is not polled)."""
    try:
        page.wait_for_function("(part) => window.location.href.includes(part)", arg=part, timeout=timeout_s * 1000)
    except Exception as e:  # noqa: BLE001 - say where the page is instead
        raise AssertionError(f"the address never held {part!r}: it is {page.evaluate('location.href')}") from e
    wait_until_idle(page)


def press(page, key: str) -> None:
    """A key press once the shortcut listener is in the page."""
    page.wait_for_function("() => window.__vaePresenterKeys && window.__vaePresenterKeys.listener", timeout=WAIT_MS)
    page.keyboard.press(key)


def scene_text(page) -> str:
    return page.locator(".st-key-scene_bar").inner_text()


def test_a_stroke_on_the_canvas_is_encoded(open_page):
    page = open_page("/draw?model=mnist5k-2d")
    canvas = page.locator(".vae-draw canvas")
    canvas.wait_for(timeout=WAIT_MS)
    box = canvas.bounding_box()
    x0, y0, w = box["x"], box["y"], box["width"]
    page.mouse.move(x0 + 0.3 * w, y0 + 0.25 * w)
    page.mouse.down()  # a "2": an arc, a diagonal, a base line
    for t in range(1, 31):
        a = math.pi * (1.1 - 1.6 * t / 30)
        page.mouse.move(x0 + (0.5 + 0.2 * math.cos(a)) * w, y0 + (0.3 - 0.15 * math.sin(a)) * w)
    for t in range(1, 21):
        page.mouse.move(x0 + (0.62 - 0.3 * t / 20) * w, y0 + (0.4 + 0.45 * t / 20) * w)
    for t in range(1, 11):
        page.mouse.move(x0 + (0.32 + 0.4 * t / 10) * w, y0 + 0.85 * w)
    page.mouse.up()
    page.get_by_text("The encoder's answer").wait_for(timeout=WAIT_MS)
    wait_until_idle(page)
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert any("||mu||" in t for t in labels) and any("KL" in t for t in labels)
    find_star = """() => {
        const gd = document.querySelector('.st-key-draw_map .js-plotly-plot');
        const t = gd && gd.data && gd.data.find(d => d.name === 'your picture');
        return t ? [Number(t.x[0]), Number(t.y[0])] : null; }"""
    page.wait_for_function(find_star, timeout=WAIT_MS)  # the map with the star may come seconds after the text
    star = page.evaluate(find_star)
    assert star is not None and all(math.isfinite(v) for v in star)
    page.screenshot(path=str(ARTIFACTS / "page-draw.png"))
    assert not page.errors, page.errors


def test_presenter_mode_hides_the_sidebar_and_keys_step_through_scenes(open_page):
    page = open_page("/?deck=intro-lecture&presenter=1")
    wait_for_url(page, "scene=1")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert "Scene 1 of 20" in scene_text(page)
    press(page, "n")
    wait_for_url(page, "scene=2")
    assert "Scene 2 of 20" in scene_text(page) and "point=12" in page.url
    press(page, "PageDown")
    wait_for_url(page, "scene=3")
    press(page, "ArrowRight")
    wait_for_url(page, "scene=4")
    assert "/sliders" in page.url and "presenter=1" in page.url
    # an arrow key on a focused slider moves the slider, not the scene
    slider = page.locator(".vae-live input[type=range]").first
    slider.wait_for(timeout=WAIT_MS)
    before = float(slider.input_value())
    slider.focus()
    page.keyboard.press("ArrowRight")
    wait_for_url(page, f"sliders_z1={before + 0.01:g}")  # the released value reached the page and its link
    assert "scene=4" in page.url and float(slider.input_value()) > before
    page.locator(".st-key-scene_bar p:not(button p)").first.click()  # focus leaves the slider (not a button: ◀ steps)
    press(page, "ArrowLeft")
    wait_for_url(page, "scene=3")
    page.screenshot(path=str(ARTIFACTS / "presenter-mode.png"))
    page.get_by_role("button", name="Exit").click()
    wait_until_idle(page)
    page.locator('[data-testid="stSidebar"]').wait_for(state="visible", timeout=WAIT_MS)
    assert "presenter=1" not in page.url
    assert not page.errors, page.errors


def test_copy_link_puts_the_views_address_in_the_clipboard(open_page):
    page = open_page("/?model=digits-2d&projection=pca&point=3", permissions=["clipboard-read", "clipboard-write"])
    wait_for_url(page, "point=3")
    page.locator(".vae-copy-link button").click()
    page.wait_for_function("() => document.querySelector('.vae-copy-link') !== null || true")
    deadline = time.time() + WAIT_MS / 1000
    copied = shown = None
    while time.time() < deadline and not (copied or shown):
        copied = page.evaluate("navigator.clipboard.readText().catch(() => '')")
        box = page.locator(".vae-copy-link input")
        shown = box.input_value() if box.is_visible() else None
        time.sleep(0.2)
    url = copied or shown
    assert url == page.url
    assert "model=digits-2d" in url and "projection=pca" in url and "point=3" in url
    assert not page.errors, page.errors
