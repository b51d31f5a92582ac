"""Presenter mode on a projector, in headless Debian Chromium: for every scene of the shipped deck, at 1280x720
and 1920x1080, the scene's main figure is wholly on screen without scrolling, the scene bar takes at most
15% of the height, the lecturer's notes are not on the page, Streamlit's toolbar is hidden, and at 1080p the
text a hall reads (labels, slider values, chart ticks, legends) is at least 20 px."""
from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, REPO, WAIT_MS, browser, console_error, server, wait_until_idle  # noqa: F401
from services.scenes import load_deck

pytestmark = pytest.mark.browser
DECK = load_deck(REPO / "scenes" / "intro-lecture.toml")
SIZES = [(1280, 720), (1920, 1080)]
MAIN_FIGURE = {  # a scene's page -> its main figure
    "latent_map": ".st-key-latent_map_chart",
    "sliders": ".st-key-main_figure",
    "generate": ".st-key-main_figure",
    "draw": ".vae-draw canvas",
    "compare": ".st-key-compare_maps",
    "tradeoffs": ".st-key-main_figure",
}
# Text a hall must read, where each page has it: (what, CSS selector); Playwright's CSS sees into components.
READ = {
    "sliders": [("slider label", ".vae-live .row .name"), ("slider value", ".vae-live .row .value"),
                ("readout", ".vae-live .readout .numbers")],
    "compare": [("chart tick", ".st-key-compare_maps .xtick text"), ("class legend", ".vae-class-legend span")],
    "generate": [("widget label", '[data-testid="stWidgetLabel"] p'), ("caption", '[data-testid="stImageCaption"]')],
    "draw": [("hint", ".vae-draw .hint")],
    "tradeoffs": [("chart tick", ".st-key-main_figure .xtick text")],
    # a model whose latent is a grid of codes: the Latent sliders page shows the grid, no sliders
    ("sliders", "mnist5k-vq"): [("code index", ".vae-codes .cell"), ("caption", '[data-testid="stCaptionContainer"]')],
    # a traversal, each row named by the factor it tells most of
    ("generate", "sprites-10d-beta8"): [("widget label", '[data-testid="stWidgetLabel"] p'),
                                        ("row label", ".st-key-main_figure [data-testid='stMarkdownContainer'] p")],
}


@pytest.fixture(scope="module", params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def hall(request, server, browser):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: (err := console_error(m)) and page.errors.append(err))
    yield page, width, height
    context.close()


def box_on_screen(page, selector: str, width: int, height: int) -> dict:
    el = page.locator(selector).first
    el.wait_for(state="visible", timeout=WAIT_MS)
    box = el.bounding_box()
    assert box is not None, selector
    scroll = page.evaluate("() => [window.scrollX, window.scrollY]")
    assert scroll == [0, 0], f"the page scrolled to {scroll}"
    assert box["x"] >= -1 and box["y"] >= -1, box
    assert box["x"] + box["width"] <= width + 1 and box["y"] + box["height"] <= height + 1, (
        f"{selector} ends at ({box['x'] + box['width']:.0f}, {box['y'] + box['height']:.0f}), "
        f"outside the {width}x{height} screen")
    return box


def font_px(page, selector: str) -> float:
    el = page.locator(selector).first
    el.wait_for(state="attached", timeout=WAIT_MS)
    return el.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")


@pytest.mark.parametrize("number", range(1, len(DECK) + 1))
def test_every_scene_fits_the_projector(hall, server, number):
    page, width, height = hall
    scene = DECK.scenes[number - 1]
    page.goto(f"{server}/?deck=intro-lecture&scene={number}&presenter=1", wait_until="domcontentloaded")
    page.wait_for_function("(n) => new URLSearchParams(location.search).get('scene') === String(n)"
                           " && !location.pathname.endsWith('/')" if scene.page != "latent_map" else
                           "(n) => new URLSearchParams(location.search).get('scene') === String(n)",
                           arg=number, timeout=WAIT_MS)
    wait_until_idle(page)
    figure = box_on_screen(page, MAIN_FIGURE[scene.page], width, height)
    bar = page.locator(".st-key-scene_bar").bounding_box()
    assert bar["y"] + bar["height"] <= 0.15 * height, f"the scene bar ends at {bar['y'] + bar['height']:.0f} px"
    assert figure["y"] >= bar["y"] + bar["height"] - 1
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert scene.notes.strip().split("\n")[0][:40] not in text, "the lecturer's notes are on the projected page"
    assert f"Scene {number} of {len(DECK)}" in text
    assert not page.locator('[data-testid="stToolbar"]').is_visible()
    assert not page.get_by_text("Deploy", exact=True).is_visible()
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    if height == 1080:
        sizes = {"scene bar": font_px(page, ".st-key-scene_bar p:not(button p)")}
        sizes.update({what: font_px(page, sel) for what, sel in READ.get((scene.page, scene.model),
                                                                          READ.get(scene.page, []))})
        small = {what: px for what, px in sizes.items() if px < 20}
        assert not small, f"text under 20 px at 1080p on {scene.page}: {small}"
    page.screenshot(path=str(ARTIFACTS / f"presenter-{width}x{height}-scene{number}.png"))
    assert not page.errors, page.errors


def test_lines_on_the_projected_maps_are_2_px_or_more(hall, server):
    page, width, height = hall
    page.goto(f"{server}/compare?presenter=1", wait_until="domcontentloaded")
    wait_until_idle(page)
    lines = page.locator(".st-key-compare_maps .scatterlayer .js-line")
    lines.first.wait_for(state="attached", timeout=WAIT_MS)
    widths = lines.evaluate_all(
        "(ls) => ls.map((l) => parseFloat(getComputedStyle(l).strokeWidth))")
    assert widths and min(widths) >= 2, widths
