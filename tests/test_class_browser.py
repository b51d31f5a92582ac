"""The class in headless Chromium against the real app: a presenter's window (1440x1000) and a phone (390x844,
touch, device scale 3). The phone is told a made-up code, then joins by the real one; its drawing lands on
the projected map as a star; a second sending within 2 s is refused with the store's message; the lecturer
clicks the star and removes it, and it leaves both the map and the phone; a poll's revealed answer is the one
the model computes. One server for the file."""
from __future__ import annotations

import re

import pytest

from browser_support import WAIT_MS, app_page, browser, server, wait_until, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser


def class_ids(page) -> list[int]:
    text = page.evaluate("() => { const m = (window.__vaeMaps || {}).latent_map_chart; "
                         "return m ? (m.root.dataset.classIds || '') : null; }")
    return [int(v) for v in (text or "").split(",") if v]


def draw_seven(page) -> None:
    canvas = page.locator(".vae-draw canvas")
    canvas.wait_for(timeout=WAIT_MS)
    box = canvas.bounding_box()
    x0, y0, w = box["x"], box["y"], box["width"]
    page.mouse.move(x0 + 0.25 * w, y0 + 0.2 * w)
    page.mouse.down()
    for t in range(1, 16):
        page.mouse.move(x0 + (0.25 + 0.5 * t / 15) * w, y0 + 0.2 * w)
    for t in range(1, 21):
        page.mouse.move(x0 + (0.75 - 0.3 * t / 20) * w, y0 + (0.2 + 0.65 * t / 20) * w)
    page.mouse.up()


def test_a_class_joins_draws_is_moderated_and_votes(server, browser):
    with app_page(browser, server + "/?deck=intro-lecture&scene=14&presenter=1&model=mnist5k-2d") as lecturer:
        strip = lecturer.locator(".st-key-class_strip_projector")
        strip.wait_for(timeout=WAIT_MS)  # the draw scene made the room and opened its activity
        code = re.search(r"Class ([A-Z2-9]{3}-[A-Z2-9]{3})", strip.inner_text()).group(1)
        with app_page(browser, server + "/class?room=ZZZ-ZZ2", phone=True) as phone:
            phone.get_by_text("No room has the code ZZZ-ZZ2").wait_for()
            phone.get_by_label("Room code (on the projector)").fill(code.lower())
            phone.get_by_role("button", name="Join").click()
            phone.get_by_text("Draw a 7, large").wait_for()
            assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing wider than a phone
            draw_seven(phone)
            wait_until_idle(phone)
            phone.get_by_role("button", name="Send my drawing").click()
            got = phone.get_by_text(re.compile(r"Received: your drawing is #\d+"))
            got.wait_for()
            sid = int(re.search(r"#(\d+)", got.inner_text()).group(1))
            phone.get_by_role("button", name="Send my drawing").click()  # again at once
            phone.get_by_text(re.compile(r"You sent something .* wait")).wait_for()
            phone.get_by_text(re.compile("Where your drawing landed")).wait_for()  # its own small map
            assert phone.locator('[data-testid="stImage"] img').count() >= 1

            wait_until(lambda: sid in class_ids(lecturer), "the drawing on the projected map")
            assert class_ids(lecturer) == [sid]  # the refused second sending added nothing
            lecturer.locator(f'.vae-map .class-glyph[data-id="{sid}"]').click()
            lecturer.get_by_role("button", name="Remove it").click()
            wait_until(lambda: class_ids(lecturer) == [], "the removed drawing gone from the map")
            phone.get_by_text("no longer on the projector").wait_for()

            lecturer.goto(server + "/?deck=intro-lecture&scene=16&presenter=1", wait_until="domcontentloaded")
            lecturer.locator(".st-key-class_strip_projector").get_by_text("Which digit").wait_for()
            phone.get_by_role("button", name="7", exact=True).wait_for()  # the phone followed the scene by itself
            phone.get_by_role("button", name="7", exact=True).click()
            phone.get_by_text("your vote is").wait_for()
            wait_until_idle(lecturer)
            lecturer.get_by_role("button", name="Class").click()
            lecturer.get_by_role("button", name=re.compile("Reveal the answer")).click()
            answer = phone.get_by_text("The answer:")
            answer.wait_for()
            expected = _closest_class("mnist5k-2d")
            assert re.search(r"The answer: (\S+)\.", answer.inner_text()).group(1) == expected
        assert not [e for e in lecturer.errors if "class" in e.lower()], lecturer.errors


def _closest_class(name: str) -> str:
    from test_class_answers import _encodings
    from vae_core.analysis.class_answers import closest_class_to_origin

    return closest_class_to_origin(*_encodings(name)).value
