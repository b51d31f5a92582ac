"""Live decoding in the browser against the server path, in headless Debian Chromium.

For every bundled model: the Latent sliders page in live mode, 200 arrow-key presses on a slider;
each press decodes and redraws in JavaScript, and the component records the time of decode + draw.
Then, in the same run, the server path (live off): arrow key on Streamlit's slider -> rerun ->
new image loaded, 30 times, timed in the page as bench/server_path.py does. Prints medians, 95th percentiles and their ratio.

Run: python bench/live_decoder.py  (needs /usr/bin/chromium and playwright)
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vae_core.store.checkpoints import list_checkpoints, load_checkpoint  # noqa: E402
from vae_core.model.decoder_program import decoder_program  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_util import ARGS, CHROMIUM, idle, start_streamlit, stop  # noqa: E402
from server_path import PROBE, press  # noqa: E402

PRESSES = 200
SERVER_PRESSES = 30


def pick_model(page, name: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Loaded model").click()
    page.get_by_role("option", name=name, exact=True).click()
    idle(page)


def live_times(page, sha: str) -> np.ndarray:
    page.wait_for_function("(sha) => window.__vaeDecoders && window.__vaeDecoders.has(sha)", arg=sha, timeout=60_000)
    slider = page.locator(".vae-live input[type=range]").first
    slider.focus()
    page.evaluate("window.__vaeLiveStats.length = 0")
    for i in range(PRESSES):
        page.keyboard.press("ArrowRight" if (i // 50) % 2 == 0 else "ArrowLeft")
    return np.array(page.evaluate("window.__vaeLiveStats.slice()"))


def server_times(page) -> np.ndarray:
    """Live off, then SERVER_PRESSES arrow keys timed from keydown to the new image loaded
    (bench/server_path.py's in-page probe, installed when the page was opened)."""
    page.get_by_text("Live: decode in the browser").click()
    idle(page)
    return np.array([press(page, "ArrowRight" if (i // 10) % 2 == 0 else "ArrowLeft")[1]
                     for i in range(SERVER_PRESSES)])


def main() -> None:
    from playwright.sync_api import sync_playwright

    models = list_checkpoints(REPO / "checkpoints")
    with tempfile.TemporaryDirectory() as home:
        proc, port = start_streamlit("app.py", REPO, home)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.add_init_script(PROBE)
                page.goto(f"http://127.0.0.1:{port}/sliders")
                idle(page)
                print(f"{'model':<28}{'arch':<6}{'median ms':>10}{'p95 ms':>9}   decode + draw in the browser")
                worst_median = 0.0
                for path in models:
                    ckpt = load_checkpoint(path)
                    sha = decoder_program(ckpt.model)[0]["sha256"]
                    pick_model(page, path.name)
                    t = live_times(page, sha)
                    med, p95 = float(np.median(t)), float(np.percentile(t, 95))
                    worst_median = max(worst_median, med)
                    print(f"{path.name:<28}{ckpt.config.arch:<6}{med:>10.2f}{p95:>9.2f}   (n={len(t)})")
                pick_model(page, "mnist5k-2d")
                s = server_times(page)
                s_med, s_p95 = float(np.median(s)), float(np.percentile(s, 95))
                print(f"server path, key press -> new image on screen (mnist5k-2d): median {s_med:.1f} ms, "
                      f"p95 {s_p95:.1f} ms (n={len(s)})")
                print(f"ratio server median / slowest browser median: {s_med / max(worst_median, 1e-9):.0f}x")
                browser.close()
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
