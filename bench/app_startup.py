"""The app from a cold start, in headless Debian Chromium, against a minimal reference app.

1. Cold start: `streamlit run app.py` -> the first decoded image on screen (the latent map's
   "under the pointer" image of z = 0, decoded by the bundled default model: first as a plain image
   from the server, then on the component's canvas, whichever shows first), and -> the map's points drawn
   (every stored test image on the WebGL map's canvas), with the ratio of the two, and -> the map's hover
   images in the browser (they follow the points in the same run of the page).
   Reference, in the same run: a minimal Streamlit app that imports torch, decodes one z with a
   784-400-20 MLP and shows it with st.image (the smallest app of this kind).
2. Switching pages: click each page in the sidebar, time until the page is idle.
3. Memory: the server's peak resident memory (VmHWM) after every page, then with the
   Fashion-MNIST models loaded (fashion-mnist-20d selected, map and sliders drawn).

Run: python bench/app_startup.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_util import (ARGS, CHROMIUM, FIRST_DECODED, IMAGES_READY, MAP_DRAWN, idle,  # noqa: E402
                          start_streamlit, stop)

REPO = Path(__file__).resolve().parent.parent
PAGES = ["Latent sliders", "Generate", "How it works", "Train", "Models", "Latent map"]

REFERENCE_APP = textwrap.dedent("""
    import numpy as np
    import streamlit as st
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(20, 400), torch.nn.ReLU(), torch.nn.Linear(400, 784))
    with torch.inference_mode():
        x = torch.sigmoid(net(torch.zeros(1, 20))).reshape(28, 28).numpy()
    st.image((np.kron(x, np.ones((12, 12))) * 255).astype(np.uint8), output_format="PNG")
""")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(browser, script: str, cwd: Path, home: str, *events: str) -> tuple[list[float], subprocess.Popen, int, object]:
    """Seconds from launching `streamlit run script` to each of `events` (JavaScript conditions) true in a fresh page."""
    t0 = time.perf_counter()
    proc, port = start_streamlit(script, cwd, home, poll=0.02)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
    times: list[float | None] = [None] * len(events)
    deadline = t0 + 120
    while None in times and time.perf_counter() < deadline:
        for i, js in enumerate(events):
            if times[i] is None and page.evaluate(js):
                times[i] = time.perf_counter() - t0
        time.sleep(0.01)
    if None in times:
        stop(proc)
        raise SystemExit(f"{script}: not every event happened within 120 s: {times}")
    return times, proc, port, page


FIRST_IMAGE = "() => { const i = document.querySelector('[data-testid=stImage] img'); return i && i.complete && i.naturalWidth > 0; }"


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        (Path(tmp) / "reference.py").write_text(REFERENCE_APP)
        ours, maps, hover, ref = [], [], [], []
        for _ in range(args.repeats):
            (t,), proc, _, page = cold_start(browser, "reference.py", Path(tmp), tmp, FIRST_IMAGE)
            ref.append(t)
            page.close()
            stop(proc)
            (t, t_map, t_hover), proc, _, page = cold_start(browser, "app.py", REPO, tmp, FIRST_DECODED, MAP_DRAWN,
                                                            IMAGES_READY)
            ours.append(t)
            maps.append(t_map)
            hover.append(t_hover)
            page.close()
            stop(proc)
        runs = lambda ts: ", ".join(f"{t:.2f}" for t in ts)  # noqa: E731
        print(f"cold start to first image: app {np.median(ours):.2f} s (runs {runs(ours)}); "
              f"minimal torch app {np.median(ref):.2f} s (runs {runs(ref)}); ratio {np.median(ours) / np.median(ref):.2f} "
              "(goal: app within 3 s)")
        print(f"cold start to the latent map's points drawn: {np.median(maps):.2f} s (runs {runs(maps)}); "
              f"{np.median(maps) / np.median(ours):.2f}x the time of the first image (goal: at most 1.3x)")
        print(f"cold start to the map's hover images: {np.median(hover):.2f} s (runs {runs(hover)}); "
              f"{np.median(hover) / np.median(ours):.2f}x the time of the first image")

        _, proc, port, page = cold_start(browser, "app.py", REPO, tmp, FIRST_DECODED, MAP_DRAWN)
        idle(page)
        switches = {}
        for _ in range(2):
            for name in PAGES:
                t0 = time.perf_counter()
                page.locator('[data-testid="stSidebarNav"]').get_by_text(name, exact=True).click()
                idle(page, quiet=0.3)
                switches.setdefault(name, []).append(time.perf_counter() - t0 - 0.3)
        for name, ts in switches.items():
            print(f"switch to {name:<15} first {ts[0] * 1000:6.0f} ms, again {ts[1] * 1000:6.0f} ms")
        print(f"server peak memory after every page on the default model: {peak_rss_mb(proc.pid):.0f} MB")
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Loaded model").click()
        page.keyboard.type("fashion-mnist-20d")  # the list is virtual: only the rows in view exist until typed
        page.get_by_role("option", name="fashion-mnist-20d", exact=True).click()
        idle(page)
        for name in ["Latent sliders", "Generate", "How it works", "Latent map"]:
            page.locator('[data-testid="stSidebarNav"]').get_by_text(name, exact=True).click()
            idle(page)
        print(f"server peak memory with fashion-mnist-20d loaded and its pages drawn: {peak_rss_mb(proc.pid):.0f} MB "
              "(goal: under 1024 MB)")
        stop(proc)
        browser.close()


if __name__ == "__main__":
    main()
