"""WCAG 2.2 AA in headless Debian Chromium against the real app, as a university's accessibility office tries it:
axe-core 4.14.1 (tests/vendor/axe.min.js, injected into the page, never served by the app) on every page, tab,
presenter mode and the speaker view, at a laptop's 1440x900 and a phone's 390x844; the layout on the phone and
on a 1024x768 tablet with the sidebar open and closed (tests/layout_checks.js, screenshots in
test-artifacts/accessibility/); each page's own title; a focus ring of 3:1 wherever Tab goes, and focus kept after
the presenter toggle; animations that pause and respect prefers-reduced-motion. One Streamlit server for the file."""
from __future__ import annotations

import contextlib
import time
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
SCREENS = {
    "laptop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2},
    "tablet": {"viewport": {"width": 1024, "height": 768}, "has_touch": True},  # an iPad in landscape
}
LAPTOP = SCREENS["laptop"]
DECK = "deck=intro-lecture&scene=1"
# (name, address, the page's title): every page of the menu, each of Trade-offs' tabs, presenter mode, the speaker view
PAGES = [
    ("latent map", "/", "Latent map"),
    ("latent sliders", "/sliders", "Latent sliders"),
    ("generate", "/generate", "Generate"),
    ("generate, interpolation", "/generate?tab=interpolation", "Generate"),
    ("draw & encode", "/draw", "Draw & encode"),
    ("AE vs VAE", "/compare?point=3", "AE vs VAE"),
    ("how it works", "/how_it_works", "How it works"),
    ("trade-offs, rate vs distortion", "/tradeoffs", "Trade-offs"),
    ("trade-offs, prior holes", "/tradeoffs?tab=holes", "Trade-offs"),
    ("trade-offs, odd inputs", "/tradeoffs?tab=odd", "Trade-offs"),
    ("trade-offs, amortization gap", "/tradeoffs?tab=gap", "Trade-offs"),
    ("train", "/train", "Train"),
    ("models", "/models", "Models"),
    ("presenter mode", f"/?{DECK}&presenter=1", "Latent map"),
    ("presenter mode, sliders", "/sliders?presenter=1", "Latent sliders"),
    ("speaker view", f"/speaker?{DECK}", "Speaker view"),
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


def settle(page) -> None:
    """Until the script has finished and what it drew has arrived: images loaded, Plotly charts and the latent
    map drawn, no skeletons."""
    wait_until_idle(page)
    page.wait_for_function("""() => {
        const main = document.querySelector('[data-testid=stMain]');
        if (!main || main.querySelector('[data-testid=stSkeleton]')) return false;
        if ([...document.images].some(i => !i.complete)) return false;
        if ([...main.querySelectorAll('[data-testid=stPlotlyChart]')].some(c => !c.querySelector('.main-svg'))) return false;
        const map = window.__vaeMaps && window.__vaeMaps.latent_map_chart;
        return !main.querySelector('.st-key-latent_map_chart') || !!(map && map.root.dataset.points);
    }""", timeout=WAIT_MS)
    wait_until_idle(page)


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


def screenshot(page, name: str) -> Path:
    """The page from top to bottom (Streamlit scrolls its main area, not the document), for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    main = "document.querySelector('[data-testid=stMain]')"
    top, height, total = page.evaluate(f"() => {{ const m = {main}; return [m.getBoundingClientRect().top, "
                                       "m.clientHeight, Math.min(m.scrollHeight, 8 * m.clientHeight)]; }")
    width = page.viewport_size["width"]
    sheet = Image.new("RGB", (width, int(top + total)), "white")
    at, k = 0, 0
    while True:
        at = page.evaluate(f"(k) => {{ const m = {main}; m.scrollTop = k * m.clientHeight; return m.scrollTop; }}", k)
        shot = Image.open(BytesIO(page.screenshot(scale="css"))).convert("RGB")
        sheet.paste(shot if k == 0 else shot.crop((0, int(top), width, shot.height)), (0, 0 if k == 0 else int(top + at)))
        k += 1
        if at + height >= total - 1 or k >= 8:
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
    wait_until_idle(page)


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
            shot = screenshot(page, f"{_slug(name)}-{screen}{'-' + _slug(how) if how else ''}")
            assert not problems, f"{name} at {screen} {how} ({shot}):\n" + "\n".join(problems[:30])
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


def test_the_interpolation_animations_pause_and_wait_for_play_under_reduced_motion(server, browser):  # noqa: F811
    for reduced in (False, True):
        ctx = browser.new_context(reduced_motion="reduce" if reduced else "no-preference", **LAPTOP)
        ctx.set_default_timeout(WAIT_MS)
        page = ctx.new_page()
        try:
            page.goto(server + "/generate?tab=interpolation&fps=20", wait_until="domcontentloaded")
            settle(page)
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
        finally:
            ctx.close()


def test_the_live_sliders_play_steps_still_under_reduced_motion_and_stops(server, browser):  # noqa: F811
    ctx = browser.new_context(reduced_motion="reduce", **LAPTOP)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    try:
        page.goto(server + "/sliders", wait_until="domcontentloaded")
        settle(page)
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
    finally:
        ctx.close()
