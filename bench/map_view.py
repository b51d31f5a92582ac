"""A view of the latent map, in headless Debian Chromium, against the same view of a reference tree (an
earlier commit of the app, exported with ``git archive``), in the same invocation:

1. Cold start: `streamlit run app.py` -> the first decoded image, the map's points drawn, and the hover
   images in the browser (decoded and ready for a preview).
2. Map views on a warm server (each a new window, so a new session, in one browser context, whose cache
   holds Streamlit's own files after the first): the page runs
   the server made (full runs and fragment runs, read from the websocket: each run's ``script_finished``),
   the server's CPU time (user + system, every thread) from the page's opening until it has settled with
   the hover images ready, and the times to the map's points, to the controls beside it (drawn after the
   map in the page's run) and to the images.

Run: python bench/map_view.py --reference /tmp/before [--views 5] [--repeats 2] [--model fashion-mnist-2d]
(make the reference with ``git archive <commit> | tar -x -C /tmp/before``).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_util import (ARGS, CHROMIUM, FIRST_DECODED, IMAGES_READY, MAP_DRAWN, ScriptRuns, idle,  # noqa: E402
                          start_streamlit, stop)

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")

CONTROLS = """() => [...document.querySelectorAll('[data-testid=stMain] label')]
  .some((l) => l.innerText.includes('Density contours'))"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime of every thread


def wait_for(page, js: str, t0: float, timeout: float = 120) -> float:
    deadline = time.perf_counter() + timeout
    while not page.evaluate(js):
        if time.perf_counter() > deadline:
            raise SystemExit(f"not within {timeout:.0f} s: {js[:60]}")
        time.sleep(0.01)
    return time.perf_counter() - t0


def cold_start(browser, tree: Path, home: str) -> list[float]:
    t0 = time.perf_counter()
    proc, port = start_streamlit("app.py", tree, home, poll=0.02)
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        times = [wait_for(page, js, t0) for js in (FIRST_DECODED, MAP_DRAWN, IMAGES_READY)]
        page.close()
        return times
    finally:
        stop(proc)


def map_views(browser, tree: Path, home: str, views: int, query: str) -> list[tuple]:
    """(full runs, fragment runs, server CPU seconds, seconds to the points, to the controls and to the images)
    of each of ``views`` views."""
    proc, port = start_streamlit("app.py", tree, home)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    out = []
    try:
        for k in range(views + 1):  # the first view warms the server (imports, the model) and the browser's cache
            page = context.new_page()  # a new window and session; Streamlit's own files from the browser's cache
            runs = ScriptRuns(page)
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/{query}", wait_until="commit")
            times = {}
            while len(times) < 3:
                for name, js in (("points", MAP_DRAWN), ("controls", CONTROLS), ("images", IMAGES_READY)):
                    if name not in times and page.evaluate(js):
                        times[name] = time.perf_counter() - t0
                if time.perf_counter() - t0 > 120:
                    raise SystemExit(f"not every event within 120 s: {times}")
                time.sleep(0.01)
            idle(page, quiet=1.0)
            cpu = cpu_seconds(proc.pid) - cpu0
            if k:
                out.append((*runs.counts(), cpu, times["points"], times["controls"], times["images"]))
            page.close()
    finally:
        context.close()
        stop(proc)
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", type=Path, required=True, help="the tree to compare against (an exported commit)")
    ap.add_argument("--views", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--model", default="", help="the map of this bundled model in the warm views (default: the app's)")
    args = ap.parse_args()
    query = f"?model={args.model}" if args.model else ""
    trees = {"reference": args.reference.resolve(), "this": REPO}
    cold: dict[str, list] = {k: [] for k in trees}
    warm: dict[str, list] = {k: [] for k in trees}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.repeats):  # alternated, so both see the same load of a shared machine
            for name, tree in trees.items():
                cold[name].append(cold_start(browser, tree, tmp))
                warm[name] += map_views(browser, tree, tmp, args.views, query)
        browser.close()
    for name in trees:
        c, w = np.array(cold[name]), np.array(warm[name])
        print(f"{name:>9}: cold starts (first image, points, hover images): "
              + "; ".join(", ".join(f"{t:.2f}" for t in run) for run in c))
        print(f"{name:>9}: cold start: first image {np.median(c[:, 0]):.2f} s, points {np.median(c[:, 1]):.2f} s, "
              f"hover images {np.median(c[:, 2]):.2f} s | a map view: full page runs {np.median(w[:, 0]):.0f} "
              f"(max {w[:, 0].max():.0f}), fragment runs {np.median(w[:, 1]):.0f}, server CPU "
              f"{1000 * np.median(w[:, 2]):.0f} ms; points after {np.median(w[:, 3]):.2f} s, controls "
              f"{np.median(w[:, 4]):.2f} s, hover images {np.median(w[:, 5]):.2f} s")
    c0, c1 = np.median(np.array(cold["reference"]), 0), np.median(np.array(cold["this"]), 0)
    w0, w1 = np.median(np.array(warm["reference"]), 0), np.median(np.array(warm["this"]), 0)
    print(f"ratio this / reference: first image {c1[0] / c0[0]:.2f}, points {c1[1] / c0[1]:.2f}, "
          f"hover images {c1[2] / c0[2]:.2f} (cold); server CPU per map view {w1[2] / w0[2]:.2f}, points "
          f"{w1[3] / w0[3]:.2f}, controls {w1[4] / w0[4]:.2f}, hover images {w1[5] / w0[5]:.2f} (warm)")


if __name__ == "__main__":
    main()
