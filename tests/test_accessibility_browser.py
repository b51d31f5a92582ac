"""WCAG 2.2 AA in headless Debian Chromium against the real app, as a university's accessibility office tries it:
axe-core 4.14.1 (tests/vendor/axe.min.js, injected into the page, never served by the app) on every page, tab,
presenter mode, the speaker view, the next lecture's pages and the class room's page, at a laptop's 1440x900 and a
phone's 390x844; the layout on the phone and on a 1024x768 tablet with the sidebar open and closed
(tests/layout_checks.js; screenshots in test-artifacts/accessibility/ when a check fails, every page's with
VAE_A11Y_SHOTS=1); each page's own title; a focus ring of 3:1 wherever Tab goes, and focus kept after the presenter
toggle; animations that pause and respect prefers-reduced-motion; the latent map by keyboard, by touch and as a
table. One Streamlit server for the file."""
from __future__ import annotations

import contextlib
import os
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_support import REPO, WAIT_MS, browser, console_error, server, wait_until, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LAYOUT_CHECKS = (Path(__file__).parent / "layout_checks.js").read_text()
SHOTS = REPO / "test-artifacts" / "accessibility"
ALL_SHOTS = os.environ.get("VAE_A11Y_SHOTS") == "1"  # every page's screenshots, not only a failing one's
SCREENS = {
    "laptop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2},
    "tablet": {"viewport": {"width": 1024, "height": 768}, "has_touch": True},  # an iPad in landscape
    # reflow (WCAG 1.4.10): 1280 CSS px at 400 % zoom is 320 px wide
    "reflow": {"viewport": {"width": 320, "height": 640}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2},
}
LAPTOP = SCREENS["laptop"]
DECK = "deck=intro-lecture&scene=1"
# (name, address, the page's title): every page of the menu, each of Trade-offs' tabs, presenter mode, the speaker view
PAGES = [
    ("latent map", "/", "Latent map"),
    ("latent map, watch it learn", "/?model=digits-2d-beta0.5&watch=1", "Latent map"),
    ("latent sliders", "/sliders", "Latent sliders"),
    ("generate", "/generate", "Generate"),
    ("generate, interpolation", "/generate?tab=interpolation", "Generate"),
    ("draw & encode", "/draw", "Draw & encode"),
    ("AE vs VAE", "/compare?point=3", "AE vs VAE"),
    ("how it works", "/how_it_works", "How it works"),
    ("trade-offs, rate vs distortion", "/tradeoffs", "Trade-offs"),
    # the small digits model: the same page, its numbers computed in seconds
    ("trade-offs, prior holes", "/tradeoffs?tab=holes&model=digits-2d", "Trade-offs"),
    ("trade-offs, odd inputs", "/tradeoffs?tab=odd", "Trade-offs"),
    ("trade-offs, amortization gap", "/tradeoffs?tab=gap&model=digits-2d", "Trade-offs"),
    ("train", "/train", "Train"),
    ("models", "/models", "Models"),
    ("presenter mode", f"/?{DECK}&presenter=1", "Latent map"),
    ("presenter mode, sliders", "/sliders?presenter=1", "Latent sliders"),
    ("speaker view", f"/speaker?{DECK}", "Speaker view"),
    # the next lecture's pages: a VQ-VAE's codes, a hierarchical VAE's levels, disentanglement with known factors
    ("latent map, a VQ-VAE's codebook", "/?model=mnist5k-vq", "Latent map"),
    ("latent sliders, a VQ-VAE's codes", "/sliders?model=mnist5k-vq", "Latent sliders"),
    ("how it works, a VQ-VAE", "/how_it_works?model=mnist5k-vq", "How it works"),
    ("generate, a hierarchical VAE's levels", "/generate?model=mnist5k-hvae", "Generate"),
    ("trade-offs, disentanglement", "/tradeoffs?tab=factors&model=sprites-10d-beta8", "Trade-offs"),
    ("generate, traversal with known factors", "/generate?tab=traversal&model=sprites-10d-beta8", "Generate"),
    # a student's phone before joining (the joined room needs a lecturer's room: tests/test_class_browser.py)
    ("class room, a student's page", "/class", "Class"),
]
NO_MOTION = "*, *::before, *::after { transition: none !important; animation: none !important; caret-color: transparent !important; }"


@pytest.fixture(scope="module")
def contexts(browser):  # noqa: F811 - the fixture of browser_support
    """One browser context per screen, kept for the module (its pages share the server's cached models)."""
    made = {}

    def get(name: str):
        if name not in made:
            ctx = browser.new_context(**SCREENS[name])
            ctx.set_default_timeout(WAIT_MS)
            made[name] = ctx
        return made[name]

    yield get
    for ctx in made.values():
        ctx.close()


ARRIVED = """() => {
        const main = document.querySelector('[data-testid=stMain]');
        if (!main || main.querySelector('[data-testid=stSkeleton]')) return false;
        if ([...document.images].some(i => !i.complete)) return false;
        if ([...main.querySelectorAll('[data-testid=stPlotlyChart]')].some(c => !c.querySelector('.main-svg'))) return false;
        const map = window.__vaeMaps && window.__vaeMaps.latent_map_chart;
        if ([...main.querySelectorAll('.katex-display')].some(k => !k.dataset.fitWidth)) return false;  // fitted
        if (!main.querySelector('.st-key-latent_map_chart')) return true;
        // the map drawn, and laid out for the width it has now (it looks again every 0.4 s)
        return !!(map && map.root.dataset.points && map.layoutKey.split(',')[4] === String(map.root.clientWidth));
    }"""
# the page's layout has come to rest: its main area's width the same over ten animation frames (a sidebar that
# opens or closes slides; the latent map lays itself out again after it)
AT_REST = """() => { const m = document.querySelector('[data-testid=stMain]'),
    b = document.querySelector('[data-testid=stSidebar]'),
    w = [m.getBoundingClientRect().width, b ? b.getBoundingClientRect().left : 0].join();
    const s = window.__vaeRest || (window.__vaeRest = {w: -1, n: 0}); s.n = s.w === w ? s.n + 1 : 0; s.w = w;
    return s.n >= 10; }"""


def settle(page) -> None:
    """Until the script has finished and what it drew has arrived: images loaded, Plotly charts and the latent
    map drawn, no skeletons."""
    page.wait_for_function(ARRIVED, timeout=WAIT_MS)
    wait_until_idle(page)
    page.wait_for_function(ARRIVED, timeout=WAIT_MS)


@contextlib.contextmanager
def opened(contexts, screen: str, server_url: str, address: str):
    page = contexts(screen).new_page()
    page.errors = []
    page.on("console", lambda m: (err := console_error(m)) and page.errors.append(err))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    try:
        page.goto(server_url + address, wait_until="domcontentloaded")
        settle(page)
        yield page
    finally:
        page.close()


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.0 / 2.1 / 2.2 A and AA violations on the page, components' shadow roots included."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE)
    return page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' >> '), html: n.html.slice(0, 160),
                                      why: n.failureSummary.split('\\n').slice(1, 3).join(' ')}))}));
    }""", WCAG_AA)


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        lines += [f"    {n['target'][-100:]} | {n['html']} | {n['why']}" for n in v["nodes"][:8]]
    return "\n".join(lines)


def layout_problems(page) -> list[str]:
    return page.evaluate(LAYOUT_CHECKS)


def screenshot(page, name: str, screens: int = 3) -> Path:
    """The page's first ``screens`` windowfuls, one under the other (Streamlit scrolls its main area, not the
    document, under a header that stays at the top), for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    main = "document.querySelector('[data-testid=stMain]')"
    top, height, total = page.evaluate(
        f"() => {{ const m = {main}, h = document.querySelector('header[data-testid=stHeader]'); return ["
        f"Math.max(0, h ? h.getBoundingClientRect().bottom : 0), m.clientHeight, m.scrollHeight]; }}")
    top, step = int(top), max(1, int(height - top))
    width = page.viewport_size["width"]
    sheet = Image.new("RGB", (width, int(min(total, top + screens * step))), "white")
    for k in range(screens):  # a windowful's rows below the header are the page's rows from scrollTop + top on
        at = page.evaluate(f"(y) => {{ const m = {main}; m.scrollTop = y; return m.scrollTop; }}", k * step)
        shot = Image.open(BytesIO(page.screenshot(scale="css"))).convert("RGB")
        sheet.paste(shot if k == 0 else shot.crop((0, top, width, shot.height)), (0, 0 if k == 0 else at + top))
        if at + height >= total - 1:
            break
    page.evaluate(f"() => {{ {main}.scrollTop = 0; }}")
    path = SHOTS / f"{name}.png"
    sheet.save(path)
    return path


def sidebar(page, open_: bool) -> None:
    """Open or close the sidebar (a tablet shows it beside the page; the state outlives a reload)."""
    button = '[data-testid=stExpandSidebarButton]' if open_ else '[aria-label="Collapse sidebar"]'
    if page.locator(button).count():
        page.locator(button).first.dispatch_event("click")
    page.wait_for_function("(o) => { const s = document.querySelector('[data-testid=stSidebar]');"
                           " return s && (s.getBoundingClientRect().right > 1) === o; }", arg=open_)
    page.evaluate("() => { window.__vaeRest = null; }")
    page.wait_for_function(AT_REST, polling="raf")
    page.wait_for_function(ARRIVED)  # the map laid out again (its relayout runs every 0.4 s)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


@pytest.mark.parametrize("screen", ["laptop", "phone", "tablet"])
@pytest.mark.parametrize("name, address, title", PAGES, ids=[p[0] for p in PAGES])
def test_every_page_passes_axe_and_fits_phones_and_tablets(server, contexts, screen, name, address, title):
    """At 1440x900 and 390x844: no violation of WCAG 2.2 A or AA that axe finds. At 390x844 (touch) and 1024x768
    with the sidebar open and closed: nothing wider than the screen, cut off, spilled over a neighbour or truncated,
    and every target 24 x 24 px or more (tests/layout_checks.js). Screenshots in test-artifacts/accessibility/."""
    with opened(contexts, screen, server, address) as page:
        assert page.title() == f"{title} · VAE Latent Explorer"
        if screen in ("laptop", "phone"):
            violations = axe_violations(page)
            assert not violations, f"{name} at {screen}:\n{report(violations)}"
        has_sidebar = page.locator("[data-testid=stSidebar]").is_visible() or \
            page.locator("[data-testid=stExpandSidebarButton]").is_visible()
        layouts = {} if screen == "laptop" else {"sidebar open": True, "sidebar closed": False} \
            if screen == "tablet" and has_sidebar else {"": None}
        for how, state in layouts.items():
            if how:
                sidebar(page, state)
            problems = layout_problems(page)
            # the page's sheet, for a person to look at: when a check fails, or for every page with
            # VAE_A11Y_SHOTS=1 (docs/accessibility.md; three windowfuls a page cost about a second each)
            shot = screenshot(page, f"{_slug(name)}-{screen}{'-' + _slug(how) if how else ''}") \
                if problems or ALL_SHOTS else "VAE_A11Y_SHOTS=1 keeps a screenshot"
            assert not problems, f"{name} at {screen} {how} ({shot}):\n" + "\n".join(problems[:30])
        assert page.errors == []


# the pages that hold a figure as wide as they can: a map, an image, a grid, a formula
REFLOW = ["latent map", "latent sliders", "generate", "how it works", "latent map, a VQ-VAE's codebook"]


@pytest.mark.parametrize("name, address, title", [p for p in PAGES if p[0] in REFLOW],
                         ids=[p[0] for p in PAGES if p[0] in REFLOW])
def test_the_figure_pages_reflow_at_320_css_px(server, contexts, name, address, title):
    """At 320 CSS px (a 1280 px screen at 400 % zoom) nothing needs scrolling sideways, is cut off, spilled or
    truncated, and targets stay 24 px (tests/layout_checks.js)."""
    with opened(contexts, "reflow", server, address) as page:
        problems = layout_problems(page)
        shot = screenshot(page, f"{_slug(name)}-reflow-320") if problems or ALL_SHOTS else "VAE_A11Y_SHOTS=1"
        assert not problems, f"{name} at 320 px ({shot}):\n" + "\n".join(problems[:30])
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
        assert page.errors == []


def test_axe_finds_what_it_is_asked_to_find(server, contexts):
    """The check can fail: text of 2:1 and an image with no text alternative, put on a page of the app."""
    with opened(contexts, "laptop", server, "/models") as page:
        page.evaluate("""() => { const m = document.querySelector('[data-testid=stMainBlockContainer]');
            m.insertAdjacentHTML('afterbegin', '<p style="color:#aaa;background:#fff">faint</p><img src="data:,">'); }""")
        found = {v["id"] for v in axe_violations(page)}
        assert {"color-contrast", "image-alt"} <= found


def test_every_image_says_what_it_shows(server, contexts):
    """A decoded image's text alternative names its model and z; a test image names its number and class."""
    with opened(contexts, "laptop", server, "/how_it_works") as page:
        alts = page.eval_on_selector_all("[data-testid=stMain] img", "els => els.map(e => e.alt)")
        assert alts and all(alts), alts
        assert any("decodes at z = (" in a for a in alts) and any(a.startswith("the input x: stored test image #")
                                                                   for a in alts)


# -- focus --------------------------------------------------------------------------------------------------------

def _luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def focus_indicator(page, box: dict, focused_shot: Image.Image) -> tuple[int, float]:
    """How many CSS pixels around ``box`` changed by 3:1 or more when focus came, and the perimeter to compare
    with: the indicator's area (WCAG 2.4.7 and 1.4.11: a visible focus of 3:1 against what it replaces)."""
    page.evaluate("() => { let a = document.activeElement; while (a && a.shadowRoot && a.shadowRoot.activeElement)"
                  " a = a.shadowRoot.activeElement; window.__focused = a; a.blur(); }")
    unfocused = np.asarray(Image.open(BytesIO(page.screenshot(clip=box))).convert("RGB"), float)
    page.evaluate("() => window.__focused.focus()")
    focused = np.asarray(focused_shot.convert("RGB"), float)
    lf, lu = _luminance(focused), _luminance(unfocused)
    ratio = (np.maximum(lf, lu) + 0.05) / (np.minimum(lf, lu) + 0.05)
    return int((ratio >= 3.0).sum()), 2.0 * (box["width"] + box["height"] - 24)


FOCUSED_BOX = """() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    if (!a || a === document.body) return null;
    // a visually hidden input (checkbox, toggle, radio, slider) shows focus on what is seen: its label or thumb
    let el = a, r = a.getBoundingClientRect();
    while ((r.width < 8 || r.height < 8) && el.parentElement) { el = el.parentElement; r = el.getBoundingClientRect(); }
    if (el.tagName === 'SPAN' && el.parentElement && el.parentElement.tagName === 'LABEL') {
      el = el.parentElement; r = el.getBoundingClientRect(); }
    return {x: r.x - 6, y: r.y - 6, width: r.width + 12, height: r.height + 12,
            name: (a.getAttribute('aria-label') || a.innerText || a.tagName).trim().slice(0, 40)};
}"""


def test_focus_shows_with_3_to_1_wherever_tab_goes(server, contexts):
    """Tab through the sidebar and the page: each stop's indicator changes pixels around it by 3:1 or more, over
    at least its perimeter (a ring of 1 px)."""
    with opened(contexts, "laptop", server, "/models") as page:
        page.add_style_tag(content=NO_MOTION)
        page.mouse.move(1, 1)
        checked, weak = [], []
        for _ in range(28):
            page.keyboard.press("Tab")
            box = page.evaluate(FOCUSED_BOX)
            if box is None or box["y"] < 0 or box["y"] + box["height"] > 900 or box["width"] > 700:
                continue
            name = box.pop("name")
            shot = Image.open(BytesIO(page.screenshot(clip=box)))
            changed, perimeter = focus_indicator(page, box, shot)
            checked.append(name)
            if changed < perimeter:
                weak.append(f"{name}: {changed} px of 3:1 change, {perimeter:.0f} needed")
        assert len(checked) >= 12, checked
        assert any("Latent map" in c for c in checked) and any("Presenter" in c for c in checked), checked
        assert not weak, weak


def test_focus_follows_the_presenter_toggle_and_comes_back(server, contexts):
    """Turning presenter mode on from the keyboard hides the sidebar that held focus: focus goes to the scene
    bar's Exit; Exit brings the sidebar back and focus to the toggle."""
    with opened(contexts, "laptop", server, "/models") as page:
        toggle = page.locator('[data-testid=stSidebar] input[role=switch]')
        toggle.focus()
        page.keyboard.press("Space")
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-scenes_exit')")
        wait_until_idle(page)
        assert page.evaluate("() => document.activeElement.closest('.st-key-scenes_exit') !== null")
        page.keyboard.press("Enter")
        page.wait_for_function("() => { const a = document.activeElement; return a && a.getAttribute('role') === "
                               "'switch' && a.closest('[data-testid=stSidebar]') && !a.checked; }")
        assert page.evaluate("() => document.activeElement.getClientRects().length > 0")


# -- motion -------------------------------------------------------------------------------------------------------

def _frame(page, key: str) -> str:
    return page.locator(f".st-key-{key} .vae-anim").get_attribute("data-frame")


@contextlib.contextmanager
def motion_page(browser, url: str, reduced: bool):  # noqa: F811 - browser is the fixture's value
    """A laptop's page on ``url``, settled, for a reader who asks for reduced motion or not."""
    ctx = browser.new_context(reduced_motion="reduce" if reduced else "no-preference", **LAPTOP)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded")
        settle(page)
        yield page
    finally:
        ctx.close()


def test_the_interpolation_animations_pause_and_wait_for_play_under_reduced_motion(server, browser):  # noqa: F811
    for reduced in (False, True):
        with motion_page(browser, server + "/generate?tab=interpolation&fps=20", reduced) as page:
            anim = page.locator(".st-key-generate_lerp_anim .vae-anim")
            anim.wait_for()
            button = anim.locator("button.toggle")
            if reduced:  # still on its first frame until Play
                assert anim.get_attribute("data-playing") == "0" and _frame(page, "generate_lerp_anim") == "0"
                assert button.inner_text() == "Play"
                button.click()
            seen = set()
            wait_until(lambda: seen.add(_frame(page, "generate_lerp_anim")) or len(seen) >= 3, "the animation plays")
            assert button.inner_text() == "Pause" and button.get_attribute("aria-label") == "Pause the linear path"
            button.click()
            held = _frame(page, "generate_lerp_anim")
            for _ in range(5):  # paused: the frame holds over several of its intervals (20 frames a second)
                page.wait_for_timeout(120)
                assert _frame(page, "generate_lerp_anim") == held
            assert "path from image #" in anim.locator("img").get_attribute("alt")


def test_the_live_sliders_play_steps_still_under_reduced_motion_and_stops(server, browser):  # noqa: F811
    with motion_page(browser, server + "/sliders", True) as page:
        play = page.locator(".vae-live button.play")
        play.click()
        live = page.locator(".vae-live")
        assert live.get_attribute("data-play-step") == "still" and play.get_attribute("aria-pressed") == "true"
        values = set()
        value = page.locator(".vae-live .row .value").first
        wait_until(lambda: values.add(value.inner_text()) or len(values) >= 3, "Play moves z")
        assert len(values) <= 9
        play.click()
        assert play.get_attribute("aria-pressed") == "false"
        held = value.inner_text()
        page.wait_for_timeout(1800)  # longer than two of its steps: nothing moves
        assert value.inner_text() == held
        label = page.locator(".vae-live canvas").get_attribute("aria-label")
        assert label.startswith("the image mnist5k-2d decodes at z = (")


# -- the latent map without a mouse -------------------------------------------------------------------------------

MAP = "window.__vaeMaps.latent_map_chart"
DEEP_FOCUS = """() => { let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a ? (a.getAttribute('class') || a.tagName) : null; }"""


def map_points(page) -> tuple[np.ndarray, np.ndarray]:
    """The map's points as the browser draws them: (N, 2) map coordinates and (N,) classes."""
    xy, labels = page.evaluate(f"() => [Array.from({MAP}.xy), Array.from({MAP}.labels)]")
    return np.asarray(xy, float).reshape(-1, 2), np.asarray(labels, int)


def pointer_readout(page) -> tuple[float, float]:
    text = page.locator(".vae-pointer .readout").inner_text()  # "z1 = 0.50, z2 = -1.20"
    return tuple(float(part.split("=")[1]) for part in text.split(","))


def cursor(page) -> np.ndarray:
    return np.array([float(v) for v in page.locator(".vae-map").get_attribute("data-cursor").split(",")])


def test_the_map_is_used_from_the_keyboard(server, contexts):
    """Tab reaches the map; the arrow keys move a cursor the decoded image follows; the live region names the
    nearest image (checked against the points); Enter picks it; + and - zoom; Shift+Enter decodes the place;
    L writes each class's name at its centre."""
    with opened(contexts, "laptop", server, "/") as page:
        for _ in range(60):  # the map is in the page's Tab order
            page.keyboard.press("Tab")
            if page.evaluate(DEEP_FOCUS) == "plot":
                break
        assert page.evaluate(DEEP_FOCUS) == "plot"
        assert "Arrow keys move a cursor" in page.locator(".vae-map .plot").get_attribute("aria-label")
        start = cursor(page)
        xy, labels = map_points(page)
        width = page.evaluate(f"() => {{ const d = {MAP}.xScale.domain(); return d[1] - d[0]; }}")
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
        at = cursor(page)
        np.testing.assert_allclose(at - start, [3 * width / 20, -width / 20], rtol=1e-3)
        np.testing.assert_allclose(pointer_readout(page), at, atol=0.006)  # the decoded image follows the cursor
        nearest = int(np.argmin(((xy - at) ** 2).sum(1)))
        said = page.locator(".vae-map .said")
        wait_until(lambda: f"image #{nearest}," in said.inner_text(), "the live region names the nearest image")
        assert said.get_attribute("aria-live") == "polite" and f"class {labels[nearest]}" in said.inner_text()
        page.keyboard.press("Enter")
        page.wait_for_function("(i) => [...document.querySelectorAll('[data-testid=stMain] h3')]"
                               ".some(h => h.innerText === `decode(mu) of image #${i}`)", arg=nearest)
        wait_until_idle(page)  # the page ran again and drew the map anew: focus and the cursor come back to it
        wait_until(lambda: page.evaluate(DEEP_FOCUS) == "plot", "focus back on the map, not on the page's heading")
        np.testing.assert_allclose(cursor(page), at, atol=1e-4)
        zoom = lambda: page.evaluate(f"() => {MAP}.gl.view.s")  # noqa: E731
        before = zoom()
        page.keyboard.press("+")
        assert zoom() == pytest.approx(before * 1.5)
        page.keyboard.press("-")
        assert zoom() == pytest.approx(before)
        page.keyboard.press("Shift+Enter")
        page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMain] h3')]"
                               ".some(h => h.innerText === 'Decoded at the clicked spot')")
        wait_until_idle(page)
        page.locator(".vae-map .plot").focus()  # the page ran again: the decoded image comes back to the cursor
        wait_until(lambda: np.allclose(pointer_readout(page), cursor(page), atol=0.006), "the image at the cursor")
        page.keyboard.press("l")
        names = page.locator(".vae-map svg.overlay text.class-name")
        assert names.count() == len(np.unique(labels))
        assert page.locator(".vae-map button.names").get_attribute("aria-pressed") == "true"
        k = int(labels[0])
        spot = page.evaluate(f"""(name) => {{ const m = {MAP}; const t = [...m.overlay.querySelectorAll(
            'text.class-name')].find(e => e.textContent === name); return [m.xScale.invert(+t.getAttribute('x')),
            m.yScale.invert(+t.getAttribute('y'))]; }}""", page.evaluate(f"(k) => {MAP}.d.classes[k].name", k))
        np.testing.assert_allclose(spot, xy[labels == k].mean(0), atol=1e-3)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "latent-map-keyboard-cursor-and-names.png"))
        assert page.errors == []


def test_the_map_as_a_table_gives_each_class_its_count_centre_and_spread(server, contexts):
    with opened(contexts, "laptop", server, "/") as page:
        xy, labels = map_points(page)
        page.locator(".vae-map .as-table summary").click()
        rows = page.eval_on_selector_all(".vae-map .as-table tbody tr",
                                         "rs => rs.map(r => [...r.children].map(c => c.textContent))")
        names = page.evaluate(f"() => {MAP}.d.classes.map(c => c.name)")
        assert len(rows) == len(np.unique(labels))
        for name, count, cx, cy, sx, sy in rows:
            k = names.index(name)
            mine = xy[labels == k]
            assert int(count.replace(",", "")) == len(mine)
            np.testing.assert_allclose([float(cx), float(cy)], mine.mean(0), atol=0.006)
            np.testing.assert_allclose([float(sx), float(sy)], mine.std(0), atol=0.006)
        headers = page.eval_on_selector_all(".vae-map .as-table thead th", "hs => hs.map(h => h.scope)")
        assert headers == ["col"] * 6
        assert "images of the map by class" in page.locator(".vae-map .as-table caption").inner_text()
    with opened(contexts, "laptop", server, "/?model=sprites-10d-beta8&colour=scale") as page:  # a factor's colours
        page.wait_for_function("() => { const m = (window.__vaeMaps || {}).latent_map_chart; "
                               "return !!(m && m.d && m.d.grouped_by === 'scale'); }")
        page.locator(".vae-map .as-table summary").click()
        assert "images of the map by scale" in page.locator(".vae-map .as-table caption").inner_text()
        first = page.eval_on_selector_all(".vae-map .as-table thead th", "hs => hs.map(h => h.textContent)")[0]
        assert first == "scale"


def touch(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": k, "radiusX": 4, "radiusY": 4, "force": 1} for k, (x, y) in enumerate(points)]})


def test_the_map_under_fingers_decodes_taps_pans_and_pinches(server, contexts):
    """On a phone: a finger moving on the map decodes under it (the view stays); a tap on a dot picks it; two
    fingers moving apart zoom about their midpoint."""
    with opened(contexts, "phone", server, "/") as page:
        cdp = page.context.new_cdp_session(page)
        page.locator(".vae-map .plot").scroll_into_view_if_needed()
        box = page.evaluate(f"() => {MAP}.plotBox()")
        view = page.evaluate(f"() => {{ const v = {MAP}.gl.view; return [v.cx, v.cy, v.s]; }}")
        a = (box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
        b = (box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)
        touch(cdp, "touchStart", [a])
        for t in np.linspace(0, 1, 6)[1:]:
            touch(cdp, "touchMove", [(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))])
        at = page.evaluate(f"(p) => {{ const m = {MAP}; return m.dataAtClient(p[0], p[1]); }}", list(b))
        wait_until(lambda: np.allclose(pointer_readout(page), at, atol=0.006), "the image under the finger")
        touch(cdp, "touchEnd", [])
        assert page.evaluate(f"() => {{ const v = {MAP}.gl.view; return [v.cx, v.cy, v.s]; }}") == view  # no pan
        assert page.locator(".vae-map svg.overlay g.cursor").count() == 0  # the keyboard's cursor stays away
        i = 7
        x, y = page.evaluate(f"(i) => {{ const m = {MAP}; const b = m.plotBox(); const p = m.screenPosition(i);"
                             " return [b.x + p[0], b.y + p[1]]; }", i)
        touch(cdp, "touchStart", [(x, y)])
        touch(cdp, "touchEnd", [])
        picked = page.evaluate(f"() => {MAP}.selectedPoints()")
        assert len(picked) == 1
        page.wait_for_function("(i) => [...document.querySelectorAll('[data-testid=stMain] h3')]"
                               ".some(h => h.innerText === `decode(mu) of image #${i}`)", arg=picked[0])
        wait_until_idle(page)
        page.locator(".vae-map .plot").scroll_into_view_if_needed()
        box = page.evaluate(f"() => {MAP}.plotBox()")
        mid = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        under = page.evaluate(f"(p) => {MAP}.dataAtClient(p[0], p[1])", list(mid))
        s0 = page.evaluate(f"() => {MAP}.gl.view.s")
        touch(cdp, "touchStart", [(mid[0] - 30, mid[1]), (mid[0] + 30, mid[1])])
        for d in (45, 60, 75, 90):
            touch(cdp, "touchMove", [(mid[0] - d, mid[1]), (mid[0] + d, mid[1])])
        touch(cdp, "touchEnd", [])
        assert page.evaluate(f"() => {MAP}.gl.view.s") == pytest.approx(s0 * 3, rel=0.02)
        np.testing.assert_allclose(page.evaluate(f"(p) => {MAP}.dataAtClient(p[0], p[1])", list(mid)), under,
                                   atol=0.02)  # the place between the fingers stays between them
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "latent-map-phone-after-pinch.png"))
        assert page.errors == []


def test_watch_it_learn_plays_slowly_under_reduced_motion_and_pauses(server, browser):  # noqa: F811
    ctx = browser.new_context(reduced_motion="reduce", **LAPTOP)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    try:
        page.goto(server + "/?model=digits-2d-beta0.5&watch=1", wait_until="domcontentloaded")
        settle(page)
        page.wait_for_function(f"() => {MAP}.timelineEl")
        play = page.locator(".vae-map button.play")
        page.locator(".vae-map svg.curve").click(position={"x": 2, "y": 10})  # the first snapshot
        page.wait_for_function(f"() => {MAP}.root.dataset.frame === '0'")
        play.click()
        assert page.locator(".vae-map").get_attribute("data-play-ms") == "1600"
        assert play.get_attribute("aria-pressed") == "true" and play.inner_text().endswith("Pause")
        page.wait_for_function(f"() => {MAP}.root.dataset.frame !== '0'")
        play.click()
        held = page.locator(".vae-map").get_attribute("data-frame")
        page.wait_for_timeout(3500)  # two of its intervals: nothing moves while paused
        assert page.locator(".vae-map").get_attribute("data-frame") == held
        assert play.get_attribute("aria-pressed") == "false"
    finally:
        ctx.close()
