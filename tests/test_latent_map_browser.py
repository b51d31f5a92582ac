"""The WebGL latent map (ui/scatter_map.py over regl) in headless Debian Chromium against the
real app: every stored test image drawn, hover previews, click / box / lasso selections back to Python
and into the page, a click on empty space decoded, the greyed rest, and the map on screen at lecture-hall
and laptop sizes (screenshots in test-artifacts/)."""
from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_support import (ARTIFACTS, REPO, WAIT_MS, ScriptRuns, app_page, browser, server,  # noqa: F401
                             console_error, wait_until_idle)
from vae_core.store.checkpoints import load_checkpoint

pytestmark = pytest.mark.browser
MAP = "window.__vaeMaps && window.__vaeMaps.latent_map_chart"


def wait_for_map(page, n: int | None = None, timeout_s: float = WAIT_MS / 1000) -> None:
    page.wait_for_function(f"() => {{ const m = {MAP}; return m && m.root.dataset.points"
                           + (f" === '{n}'" if n is not None else "") + "; }", timeout=timeout_s * 1000)
    wait_until_idle(page)


def screen_positions(page, indices) -> dict[int, tuple[float, float]]:
    """Where points are on the screen now (client pixels)."""
    got = page.evaluate(f"""(idx) => {{ const m = {MAP}; const r = m.plotBox();
        return idx.map(i => {{ const [x, y] = m.screenPosition(i); return [i, r.x + x, r.y + y]; }}); }}""",
                        list(map(int, indices)))
    return {int(i): (x, y) for i, x, y in got}


def canvas_box(page) -> dict:
    """The plot's drawing area in client pixels."""
    return page.evaluate(f"() => {MAP}.plotBox()")


def plot_shot(page) -> Image.Image:
    """A screenshot of the plot's drawing area (the canvas behind it is larger and clipped)."""
    b = canvas_box(page)
    return Image.open(BytesIO(page.screenshot(clip={"x": b["x"], "y": b["y"], "width": b["width"],
                                                    "height": b["height"]})))


def headings(page) -> list[str]:
    return page.locator('[data-testid="stMain"] h2, [data-testid="stMain"] h3').all_inner_texts()


def wait_for_heading(page, pattern: str, timeout_s: float = WAIT_MS / 1000) -> str:
    page.wait_for_function("(p) => [...document.querySelectorAll('[data-testid=stMain] h2, [data-testid=stMain] h3')]"
                           ".some(h => new RegExp(p).test(h.innerText))", arg=pattern, timeout=timeout_s * 1000)
    wait_until_idle(page)
    return next(h for h in headings(page) if re.search(pattern, h))


@pytest.mark.parametrize("model", ["mnist5k-2d", "fashion-mnist-2d", "digits-2d"])
def test_every_stored_test_image_is_drawn(server, browser, model):
    n = len(load_checkpoint(REPO / "checkpoints" / model, lazy=True).sample.labels)
    assert n == {"mnist5k-2d": 1000, "fashion-mnist-2d": 10_000, "digits-2d": 360}[model]
    with app_page(browser, f"{server}/?model={model}") as page:
        wait_for_map(page, n)
        assert page.evaluate(f"{MAP}.pointsDrawn()") == n
        shot = np.asarray(plot_shot(page).convert("L"))
        assert (shot < 200).mean() > 0.01, "the map's canvas shows no points"
        assert not page.errors, page.errors


def test_hovering_a_dot_shows_that_image(server, browser):
    """The preview crops the hovered image out of one sheet of all stored images: the pixels on screen are
    that image's, scaled 4x."""
    images = load_checkpoint(REPO / "checkpoints" / "mnist5k-2d", lazy=True).sample.images
    with app_page(browser, server) as page:
        wait_for_map(page, 1000)
        tip = page.locator("#vae-map-hover-tip .vae-hover-image")
        checked = 0
        for i, (x, y) in screen_positions(page, [0, 37, 211, 500, 999]).items():
            page.mouse.move(x, y, steps=2)
            try:
                tip.wait_for(state="visible", timeout=5_000)
            except Exception:  # noqa: BLE001  (a dot under another dot does not hover)
                continue
            hovered = page.evaluate(f"{MAP}.hovered")
            shot = np.asarray(Image.open(BytesIO(tip.screenshot())).convert("L"), dtype=np.int16)
            shown = int(tip.get_attribute("data-index"))
            assert shown == hovered >= 0
            want = np.kron(images[shown].astype(np.int16), np.ones((4, 4), np.int16))
            assert shot.shape == want.shape == (112, 112)
            assert np.abs(shot - want).max() <= 2, f"the preview of image #{shown} shows other pixels"
            assert f"image #{shown}" in page.locator("#vae-map-hover-tip .tip-text").inner_text()
            checked += 1
            page.mouse.move(5, 5)
        assert checked >= 3, "too few dots could be hovered"
        assert not page.errors, page.errors


def _hover_shows_its_image(page, images: np.ndarray, indices=(0, 37, 211, 500, 999)) -> int:
    """Hover dots until one shows its preview; the index of the image shown, checked pixel for pixel."""
    tip = page.locator("#vae-map-hover-tip .vae-hover-image")
    for i, (x, y) in screen_positions(page, indices).items():
        page.mouse.move(x, y, steps=2)
        try:
            tip.wait_for(state="visible", timeout=5_000)
        except Exception:  # noqa: BLE001  (a dot under another dot does not hover)
            continue
        shown = int(tip.get_attribute("data-index"))
        shot = np.asarray(Image.open(BytesIO(tip.screenshot())).convert("L"), dtype=np.int16)
        assert np.abs(shot - np.kron(images[shown].astype(np.int16), np.ones((4, 4), np.int16))).max() <= 2
        page.mouse.move(5, 5)
        return shown
    raise AssertionError("no dot showed its image")


def test_the_hover_images_arrive_without_rerunning_the_page(server, browser):
    """A map view is one run of the page: the images follow the points in that run (a rerun for them once left
    stale widget values in the browser). A window that lacks them all the same (here: emptied, then the page
    left and opened again) asks, and only the images' fragment runs."""
    images = load_checkpoint(REPO / "checkpoints" / "mnist5k-2d", lazy=True).sample.images
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: (err := console_error(m)) and errors.append(err))
    try:
        runs = ScriptRuns(page)
        page.goto(server, wait_until="domcontentloaded")
        wait_for_map(page, 1000)
        _hover_shows_its_image(page, images)
        wait_until_idle(page)
        assert runs.counts() == (1, 0), runs.finished  # one page run; no fragment run either
        page.evaluate("window.__vaeMapImages.clear()")
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_text("Latent sliders", exact=True).click()
        page.locator(".vae-live canvas").wait_for(timeout=WAIT_MS)
        wait_until_idle(page)
        nav.get_by_text("Latent map", exact=True).click()
        wait_for_map(page, 1000)
        page.wait_for_function("() => { const m = window.__vaeMaps.latent_map_chart;"
                               " return window.__vaeMapImages.has(m.imageKey); }", timeout=WAIT_MS)
        _hover_shows_its_image(page, images)
        wait_until_idle(page)
        assert runs.counts() == (3, 1), runs.finished  # the two page switches, and the images' fragment
        assert not errors, errors
    finally:
        context.close()


def test_a_click_on_a_dot_and_on_empty_space_reach_python(server, browser):
    with app_page(browser, f"{server}/?model=digits-2d") as page:
        wait_for_map(page, 360)
        x, y = screen_positions(page, [17])[17]
        page.mouse.move(x, y, steps=2)
        page.wait_for_function(f"{MAP}.hovered >= 0", timeout=10_000)
        page.mouse.click(x, y)
        title = wait_for_heading(page, r"^Image #\d+ ")
        chosen = page.evaluate(f"{MAP}.selectedPoints()")
        assert len(chosen) == 1 and title.startswith(f"Image #{chosen[0]} ")
        assert f"point={chosen[0]}" in page.url
        assert page.locator(".vae-map .lines .posterior.chosen").count() == 1  # its 1-sigma ellipse
        # empty space: the top-right corner of the native plane holds no test image
        box = canvas_box(page)
        cx, cy = box["x"] + box["width"] - 6, box["y"] + 6
        want = page.evaluate(f"([x, y]) => {MAP}.dataAtClient(x, y)", [cx, cy])
        page.mouse.click(cx, cy)
        wait_for_heading(page, "Decoded at the clicked spot")
        caption = page.get_by_text(re.compile(r"exactly z = \(")).inner_text()
        zx, zy = map(float, re.search(r"z = \((-?[\d.]+), (-?[\d.]+)\)", caption).groups())
        assert zx == pytest.approx(want[0], abs=0.03) and zy == pytest.approx(want[1], abs=0.03)  # within 1.5 px
        assert page.evaluate(f"{MAP}.selectedPoints().length") == 0
        assert not page.errors, page.errors


def _pixel(shot: np.ndarray, box: dict, xy: tuple[float, float]) -> np.ndarray:
    scale = shot.shape[1] / box["width"]
    px, py = int((xy[0] - box["x"]) * scale), int((xy[1] - box["y"]) * scale)
    return shot[py - 1:py + 2, px - 1:px + 2].reshape(-1, shot.shape[2]).mean(0)


def test_box_and_lasso_selections_come_back_to_python_and_grey_the_rest(server, browser):
    with app_page(browser, server) as page:
        wait_for_map(page, 1000)
        box = canvas_box(page)
        pos = screen_positions(page, range(1000))
        x0, x1 = box["x"] + 0.3 * box["width"], box["x"] + 0.6 * box["width"]
        y0, y1 = box["y"] + 0.3 * box["height"], box["y"] + 0.6 * box["height"]

        def inside(p, margin=0.0):  # in the dragged rectangle, ``margin`` px in from its edges
            return x0 + margin <= p[0] <= x1 - margin and y0 + margin <= p[1] <= y1 - margin

        # an isolated dot outside the box, to see it greyed
        xy = np.array([pos[i] for i in range(1000)])
        dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(1000) * 1e9
        outside = [i for i in np.argsort(-dist.min(1)) if not inside(pos[i])
                   and box["x"] + 8 < pos[i][0] < box["x"] + box["width"] - 8
                   and box["y"] + 8 < pos[i][1] < box["y"] + box["height"] - 8]
        lone = int(outside[0])
        before = np.asarray(plot_shot(page).convert("RGB"), dtype=float)

        page.locator(".vae-map .tool.box").click()
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.down()
        for k in range(1, 16):
            page.mouse.move(box["x"] + (0.3 + 0.02 * k) * box["width"], box["y"] + (0.3 + 0.02 * k) * box["height"])
            page.wait_for_timeout(20)  # the lasso takes a point at most every 8 ms (lassoMinDelay)
        page.mouse.up()
        title = wait_for_heading(page, r"images selected in the box")
        selected = sorted(page.evaluate(f"{MAP}.selectedPoints()"))
        assert len(selected) > 20
        # every dot well inside the box is selected, and none outside it (a dot's radius decides at the edges)
        assert {i for i, p in pos.items() if inside(p, 10)} <= set(selected)
        assert all(inside(pos[i], -2) for i in selected)
        assert title.startswith(f"{len(selected):,} images selected in the box")  # every index reached Python
        assert 1 <= page.locator(".vae-map .lines .posterior.chosen").count() <= 60  # an even share of them
        grid_caption = page.get_by_text(re.compile(r"^The first 48 of them: images #")).inner_text()
        assert grid_caption.split(": images ")[1].startswith(", ".join(f"#{i}" for i in selected[:6]))
        page.wait_for_timeout(300)  # the points are drawn again once the view rests
        after = np.asarray(plot_shot(page).convert("RGB"), dtype=float)
        cb = canvas_box(page)
        lit_before, lit_after = _pixel(before, cb, pos[lone]), _pixel(after, cb, pos[lone])
        assert lit_before.min() < 200, "the lone dot was not drawn"
        assert lit_after.mean() > lit_before.mean() + 40, "the unselected dot is not greyed"
        assert lit_after.mean() < 254, "the unselected dot is hidden, not greyed"

        page.locator(".vae-map .tool.lasso").click()
        cx, cy, r = box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"], 0.22 * box["width"]
        page.mouse.move(cx + r, cy)
        page.mouse.down()
        for k in range(1, 41):
            a = 2 * np.pi * k / 40
            page.mouse.move(cx + r * np.cos(a), cy + r * np.sin(a))
            page.wait_for_timeout(20)
        page.mouse.up()
        title = wait_for_heading(page, r"images selected in the lasso")
        selected = sorted(page.evaluate(f"{MAP}.selectedPoints()"))
        within = lambda i, radius: (pos[i][0] - cx) ** 2 + (pos[i][1] - cy) ** 2 <= radius ** 2  # noqa: E731
        assert len(selected) > 20
        assert {i for i in pos if within(i, r - 10)} <= set(selected)
        assert all(within(i, r + 2) for i in selected)
        assert title.startswith(f"{len(selected):,} images selected in the lasso")
        page.locator(".vae-map .tool.clear").click()
        wait_for_heading(page, "Click the map")
        assert not page.errors, page.errors


def test_the_latent_map_decodes_under_the_pointer(server, browser):
    with app_page(browser, server) as page:
        canvas = page.locator(".vae-pointer canvas")
        canvas.wait_for(timeout=WAIT_MS)
        # once the browser's decoder has drawn, the server's first image of z = 0 is hidden
        page.wait_for_function("() => { const s = document.querySelector('.vae-pointer-still');"
                               " return s && !s.checkVisibility(); }", timeout=WAIT_MS)
        wait_for_map(page)
        readout = page.locator(".vae-pointer .readout")
        box = canvas_box(page)
        shots, texts = [], []
        for fx, fy in ((0.25, 0.25), (0.75, 0.75)):
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=3)
            page.wait_for_timeout(200)
            shots.append(canvas.screenshot())
            texts.append(readout.inner_text())
        assert shots[0] != shots[1], "the decoded image did not follow the pointer"
        assert texts[0] != texts[1] and texts[0].startswith("z1 = ")
        (z1_left, z2_top), (z1_right, z2_bottom) = [map(float, re.findall(r"-?\d+\.\d+", t)) for t in texts]
        assert z1_left < z1_right and z2_top > z2_bottom  # x grows to the right and y upwards, as on the axes
        assert not page.errors, page.errors


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_in_presenter_mode_the_map_and_its_legend_are_wholly_on_screen_in_large_type(server, browser, size):
    with app_page(browser, f"{server}/?model=digits-2d&presenter=1", viewport=size) as page:
        wait_for_map(page, 360)
        page.wait_for_timeout(900)  # the map follows the page's layout (it re-measures every 0.4 s)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"latent-map-presenter-{size[0]}x{size[1]}.png"))
        _assert_on_screen(page, size)
        fonts = page.evaluate(f"""() => {{ const m = {MAP}; const px = (e) => parseFloat(getComputedStyle(e).fontSize);
            return {{ ticks: [...m.root.querySelectorAll('.tick')].map(px), legend: [...m.legend.querySelectorAll('.name')].map(px),
                      titles: [...m.root.querySelectorAll('.axis-title')].map(px),
                      lines: m.lineWidths(), side: m.plotSide }}; }}""")
        assert fonts["ticks"] and fonts["legend"]
        if size == (1920, 1080):  # readable from the back of a hall
            assert min(fonts["ticks"] + fonts["legend"] + fonts["titles"]) >= 20, fonts
            readout = page.locator(".vae-pointer .readout").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert readout >= 20  # the decoder under the pointer's z
        assert fonts["lines"] and min(fonts["lines"]) >= 2  # the prior's contours (and ellipses): 2 px or more
        assert not page.errors, page.errors


def test_on_a_laptop_the_legend_and_labels_are_visible_without_scrolling(server, browser):
    with app_page(browser, f"{server}/?model=fashion-mnist-2d", viewport=(1440, 900)) as page:
        wait_for_map(page, 10_000)
        page.wait_for_timeout(900)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "latent-map-1440x900.png"))
        _assert_on_screen(page, (1440, 900))
        side = page.evaluate(f"{MAP}.plotSide")
        assert side >= 360, f"the map is only {side} px"
        assert not page.errors, page.errors


def _assert_on_screen(page, size) -> None:
    w, h = size
    for what in (".vae-map .figure", ".vae-map .legend", ".vae-map .ticks.x", ".vae-map .axis-title.x"):
        b = page.locator(what).bounding_box()
        assert b is not None, what
        assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= w + 0.5 and b["y"] + b["height"] <= h + 0.5, \
            f"{what} at {b} is not wholly inside the {w}x{h} window"
    last = page.locator(".vae-map .legend .item").last.bounding_box()
    assert last["y"] + last["height"] <= h, "the legend's last entry is below the window"
    assert page.evaluate(f"{MAP}.plotSide") > 0
    assert Path(ARTIFACTS).is_dir()


def test_density_contours_are_drawn_when_asked_for(server, browser):
    with app_page(browser, f"{server}/?model=fashion-mnist-2d") as page:
        wait_for_map(page, 10_000)
        assert page.locator(".vae-map .lines .density").count() == 0
        page.locator('[data-testid="stMain"] label').filter(has_text="Density contours").click()
        page.wait_for_function("() => document.querySelector('[data-testid=stMain]') && "
                               f"({MAP}).root.querySelectorAll('.lines .density').length > 3", timeout=WAIT_MS)
        legend = page.locator(".vae-map .legend").inner_text()
        assert "density contours" in legend
        assert not page.errors, page.errors


def test_watch_it_learn_replays_the_training_on_the_map(server, browser):
    """The training's snapshots on the map: the last at first, the first one by a click on the loss curve's left
    end (where the points sit as the untrained encoder put them), and Play runs to the end again."""
    ck = load_checkpoint(REPO / "checkpoints" / "digits-2d-beta0.5")
    history = ck.history
    T = len(history)
    with app_page(browser, server + "/?model=digits-2d-beta0.5") as page:
        wait_for_map(page, len(ck.sample.labels))
        page.locator(".st-key-latent_map_watch label").first.click()
        page.wait_for_function(f"() => {{ const m = {MAP}; return m && m.timelineEl && m.root.dataset.frame === "
                               f"'{T - 1}'; }}", timeout=WAIT_MS)
        wait_until_idle(page)
        last = screen_positions(page, range(5))
        curve = page.locator(".st-key-latent_map_chart svg.curve")
        box = curve.bounding_box()
        page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)  # the curve's left end: step 0
        page.wait_for_function(f"() => {MAP}.root.dataset.frame === '0'", timeout=WAIT_MS)
        label = page.locator(".st-key-latent_map_chart .frame-label")
        assert label.inner_text().startswith("step 0 ·") and label.get_attribute("title") == f"snapshot 1 of {T}"
        first = screen_positions(page, range(5))
        spread = lambda pos: np.ptp(np.array(list(pos.values())), axis=0).max()  # noqa: E731
        assert spread(first) < spread(last) / 3, (first, last)  # untrained: the means sit together near 0
        assert np.abs(history.mu[0]).max() < np.abs(history.mu[-1]).max() / 3
        page.locator(".st-key-latent_map_chart button.play").click()
        page.wait_for_function(f"() => {MAP}.root.dataset.frame === '{T - 1}' && !({MAP}).playing", timeout=120_000)
        assert page.locator(".st-key-latent_map_chart button.play").inner_text().endswith("Play")
        np.testing.assert_allclose(np.array(list(screen_positions(page, range(5)).values())),
                                   np.array(list(last.values())), atol=1.0)
        page.screenshot(path=str(ARTIFACTS / "latent-map-watch-it-learn.png"))
        assert not page.errors, page.errors
