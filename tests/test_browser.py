"""The real app in headless Debian Chromium: every page renders with no exception box and no
console error, and a screenshot of each lands in test-artifacts/ (ignored by git)."""
from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, console_error, wait_until_idle, browser, server  # noqa: F401

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
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: (err := console_error(m)) and console_errors.append(err))
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    try:
        page.goto(f"{server}/{path}", wait_until="domcontentloaded")
        wait_until_idle(page)
        page.get_by_role("heading", name=PAGES[path]).first.wait_for(timeout=30_000)
        shot = ARTIFACTS / f"page-{path or 'latent_map'}.png"
        page.screenshot(path=str(shot), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{path or '/'} shows an exception: {exceptions.first.inner_text()[:2000]}"
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() == 0, f"{path or '/'} shows an error: {errors.first.inner_text()[:500]}"
        assert not console_errors, f"{path or '/'}: browser console errors: {console_errors}"
        assert shot.stat().st_size > 10_000
    finally:
        context.close()
