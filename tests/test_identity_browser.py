"""In headless Chromium against the real app: a model trained in the app survives a reload and opens in a second
window by its link; another browser does not see it; a tampered or guessed identity gets nothing."""
from __future__ import annotations

import contextlib
import re

import pytest

from browser_support import WAIT_MS, app_page, browser, picker_options, server, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

PICKER = '[data-testid="stSidebar"] [data-testid="stSelectbox"]'
COOKIE = "vae_browser"


def models_listed(page) -> list[str]:
    return picker_options(page, "Loaded model")


def chosen(page) -> str:
    return page.locator(PICKER).filter(has_text="Loaded model").locator("input").input_value()


def train(page, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Train", exact=True).click()
    page.get_by_role("heading", name="Train a VAE").first.wait_for(timeout=WAIT_MS)
    wait_until_idle(page)
    page.locator(".st-key-train_epochs input").fill("2")
    page.locator(".st-key-train_hidden input").fill("32")
    page.locator(".st-key-train_name input").fill(name)
    page.locator(".st-key-train_name input").press("Enter")
    wait_until_idle(page)
    page.locator(".st-key-train_start button").click()
    page.get_by_text(re.compile(rf"Finished 2 epochs; the model is saved as {name}")).wait_for(timeout=180_000)


def token_of(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def wait_for_token(page) -> str:
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')", timeout=WAIT_MS)
    return page.evaluate("() => localStorage.getItem('vae-latent-explorer.identity')")


@contextlib.contextmanager
def window(context, url: str):
    """A second window (tab) of the same browser."""
    page = context.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded")
        wait_until_idle(page)
        yield page
    finally:
        page.close()


def test_a_trained_model_survives_a_reload_and_only_its_browser_sees_it(server, browser):
    with app_page(browser, server + "/?model=digits-2d") as page:
        token = wait_for_token(page)
        assert token and token.startswith("v1.") and token_of(page.context) is not None
        train(page, "mine")
        assert "mine (trained)" in models_listed(page)
        page.reload(wait_until="domcontentloaded")
        wait_until_idle(page)
        assert "mine (trained)" in models_listed(page), "the trained model is gone after a reload"
        # the Train page shows this browser's last run again, with its result and curves
        page.get_by_role("heading", name="Run: mine").first.wait_for(timeout=WAIT_MS)
        page.get_by_text(re.compile(r"Finished 2 epochs; the model is saved as mine")).wait_for(timeout=WAIT_MS)
        assert page.locator(".st-key-train_load button").count() == 1
        assert page.locator(".vae-identity").count() == 0  # its cookie came with the request: nothing to draw
        with window(page.context, server + "/sliders?model=mine") as second:
            assert chosen(second) == "mine (trained)", "its own link does not open it in a second window"
            assert second.get_by_text("that this app does not have").count() == 0
            assert wait_for_token(second) == token

        with app_page(browser, server + "/?model=mine") as other:  # another browser
            assert "mine (trained)" not in models_listed(other)
            assert other.get_by_text("that this app does not have").count() == 1
            assert wait_for_token(other) != token

        tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
        guessed = "v1." + "A" * 32 + "." + "0" * 64
        for bad in (tampered, guessed):
            context = browser.new_context()
            try:
                context.add_cookies([{"name": COOKIE, "value": bad, "url": server}])
                context.add_init_script(f"localStorage.setItem('vae-latent-explorer.identity', '{bad}')")
                p = context.new_page()
                p.goto(server + "/?model=mine", wait_until="domcontentloaded")
                wait_until_idle(p)
                assert "mine (trained)" not in models_listed(p), f"the token {bad[:20]}... got the browser's models"
                p.wait_for_function("(bad) => !document.cookie.includes(bad)", arg=bad, timeout=WAIT_MS)
                assert token_of(context) not in (bad, token)
            finally:
                context.close()
