"""The lecture hall, in headless Debian Chromium against the real app: the speaker view follows the
projected window and leads it, and the notes stay off the projected page."""
from __future__ import annotations


import pytest

from browser_support import ARTIFACTS, WAIT_MS, app_page, browser, server, wait_until_idle  # noqa: F401
from services.scenes import load_deck

pytestmark = pytest.mark.browser
DECK = load_deck(__import__("browser_support").REPO / "scenes" / "intro-lecture.toml")


def wait_for_scene(page, number: int, timeout_s: float = WAIT_MS / 1000) -> None:
    """Until the projected window's address shows scene ``number`` and its script has finished."""
    page.wait_for_function("(n) => new URLSearchParams(location.search).get('scene') === String(n)",
                           arg=number, timeout=timeout_s * 1000)
    wait_until_idle(page)


def wait_for_speaker(page, number: int, timeout_s: float = WAIT_MS / 1000) -> None:
    page.get_by_text(f"Scene {number} of {len(DECK)}", exact=False).first.wait_for(timeout=timeout_s * 1000)
    page.get_by_text(f"Now: {DECK.scenes[number - 1].title}").wait_for(timeout=timeout_s * 1000)
    wait_until_idle(page)


def press_when_listening(page, key: str) -> None:
    page.wait_for_function("() => window.__vaePresenterKeys && window.__vaePresenterKeys.listener", timeout=WAIT_MS)
    page.keyboard.press(key)


def test_the_speaker_view_and_the_projected_window_follow_each_other(server, browser):
    with app_page(browser, server + "/?deck=intro-lecture&presenter=1") as hall:
        wait_for_scene(hall, 1)
        with hall.context.expect_page(timeout=WAIT_MS) as opened:
            hall.locator(".vae-presenter-link button.speaker").click()
        speaker = opened.value
        speaker.wait_for_load_state("domcontentloaded")
        wait_for_speaker(speaker, 1)
        assert "Each dot is a test image" in speaker.locator(".st-key-speaker_card_now").inner_text()
        assert speaker.get_by_text("This app has no page").count() == 0, "a false notice over the speaker view"
        # a clicker focused on the speaker view moves the projected window
        speaker.bring_to_front()
        speaker.locator(".st-key-speaker_card_now").click()
        press_when_listening(speaker, "PageDown")
        wait_for_speaker(speaker, 2)
        wait_for_scene(hall, 2)
        assert "point=12" in hall.url
        # and one focused on the projected window moves the speaker view
        hall.bring_to_front()  # the clicker's window has the focus
        hall.locator(".st-key-scene_bar p:not(button p)").first.click()  # the title, not ◀ (which steps back)
        press_when_listening(hall, "PageDown")
        wait_for_scene(hall, 3)
        wait_for_speaker(speaker, 3)
        # the speaker view's buttons lead too, to another page of the app
        speaker.get_by_role("button", name="Next ▶").click()
        wait_for_speaker(speaker, 4)
        wait_for_scene(hall, 4)
        assert "/sliders" in hall.url
        hall.locator(".st-key-scene_bar").get_by_role("button", name="◀").click()
        wait_for_scene(hall, 3)
        wait_for_speaker(speaker, 3)
        speaker.screenshot(path=str(ARTIFACTS / "speaker-view.png"))
        # the notes are never on the projected page
        text = hall.locator('[data-testid="stMain"]').inner_text()
        for scene in DECK.scenes:
            assert scene.notes.strip().split("\n")[0][:40] not in text
        assert not hall.errors, hall.errors
