"""README's pictures, taken from the running app in headless Chromium, so that they can be remade whenever the app
changes:

    python docs/make_images.py                 # every picture into docs/images/
    python docs/make_images.py --only sliders  # one of them
    python docs/make_images.py --out /tmp/shots --viewport 390x844 --touch   # any view, at any size

It starts ``streamlit run app.py`` on a free port of 127.0.0.1 with a fresh data home (the bundled models only),
opens each view by its address (the views are links, README's "Links, scenes and presenter mode"), waits until
the page is idle and its figure drawn, and saves a PNG. Needs Chromium (/usr/bin/chromium) and Playwright.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from browser_support import CHROMIUM, CHROMIUM_ARGS, app_server, wait_until_idle  # noqa: E402


@dataclass(frozen=True)
class View:
    name: str  # the file: docs/images/<name>.png
    address: str  # the view's link, after the server's address
    ready: str  # a CSS selector that is on screen once the view's figure is drawn
    size: tuple[int, int] = (1440, 900)
    full_page: bool = False
    setup: Callable | None = None  # (page, data home) -> None: what the view needs before the picture


def class_sevens(page, home: Path, n: int = 24) -> None:
    """A class of ``n`` phones joins the presenter's room and sends sevens drawn as the canvas draws them (each
    a little shifted, turned and scaled), encoded by the lecture's model as the phones' app processes do; waits
    until the projected map shows every one."""
    import numpy as np
    from PIL import Image

    from services.room import open_store
    from services.room.held import held_room
    from test_preprocess import stroke_drawing
    from vae_core.data.preprocess import DatasetStyle, prepare
    from vae_core.render.images import to_uint8
    from vae_core.store.checkpoints import load_checkpoint

    os.environ["VAE_EXPLORER_HOME"] = str(home)
    store = open_store()
    keys = held_room(next((home / "class" / "lecturers").glob("*.json")).stem)
    ckpt = load_checkpoint(REPO / "checkpoints" / "mnist5k-2d")
    rng = np.random.default_rng(7)
    base = Image.fromarray((stroke_drawing(7) * 255).astype(np.uint8))
    import torch
    for i in range(n):
        img = base.rotate(float(rng.uniform(-18, 18)), translate=tuple(rng.uniform(-25, 25, 2)))
        grey = np.asarray(img, np.float32) / 255.0
        x = prepare(grey, DatasetStyle.mnist(28, 28), 1)
        with torch.inference_mode():
            mu, logvar = ckpt.model.encode(torch.from_numpy(x[None]), None)
            rec = ckpt.model.decode(mu, None)
        member = store.join(keys.code, f"docs-phone-{i}")
        store.submit_drawing(keys.code, member.member_id, to_uint8(x)[0], mu[0].numpy(), logvar[0].numpy(),
                             to_uint8(rec[0].numpy())[0])
    deadline = time.time() + 60
    while page.evaluate("() => ((window.__vaeMaps || {}).latent_map_chart || {root: {dataset: {}}}).root.dataset"
                        ".classIds || ''").count(",") + 1 < n:
        if time.time() > deadline:
            raise RuntimeError("the class's drawings did not reach the projected map within 60 s")
        time.sleep(0.2)


VIEWS = (
    View("latent-map", "/?model=mnist5k-2d&projection=latent", ".st-key-latent_map_chart canvas"),
    View("sliders", "/sliders?model=mnist5k-2d&sliders_z1=1.2&sliders_z2=-0.6", ".st-key-main_figure canvas"),
    View("presenter", "/?model=mnist5k-2d&projection=latent&presenter=1", ".st-key-latent_map_chart canvas",
         size=(1920, 1080)),
    View("tradeoffs", "/tradeoffs", '[data-testid="stPlotlyChart"] .main-svg'),
    View("class-map", "/?deck=intro-lecture&scene=14&presenter=1", ".st-key-class_strip_projector",
         size=(1920, 1080), setup=class_sevens),
)


def shoot(page, base: str, view: View, out: Path, home: Path | None = None) -> Path:
    page.set_viewport_size({"width": view.size[0], "height": view.size[1]})
    page.goto(base + view.address, wait_until="domcontentloaded")
    wait_until_idle(page)
    page.locator(view.ready).first.wait_for(timeout=180_000)
    wait_until_idle(page)
    if view.setup is not None:
        view.setup(page, home)
        wait_until_idle(page)
    path = out / f"{view.name}.png"
    page.screenshot(path=str(path), full_page=view.full_page)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=[v.name for v in VIEWS], help="these views only")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images", help="where the PNGs go")
    parser.add_argument("--address", action="append", default=[],
                        help="an extra view: NAME=ADDRESS (e.g. generate=/generate?tab=manifold)")
    parser.add_argument("--viewport", default=None, help="WIDTHxHEIGHT for every view (default: each view's own)")
    parser.add_argument("--touch", action="store_true", help="a phone: touch, mobile, device scale factor 3")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the window")
    args = parser.parse_args(argv)
    views = [v for v in VIEWS if not args.only or v.name in args.only]
    views += [View(a.split("=", 1)[0], a.split("=", 1)[1], '[data-testid="stMain"]') for a in args.address]
    if args.viewport:
        w, h = (int(v) for v in args.viewport.lower().split("x"))
        views = [View(v.name, v.address, v.ready, (w, h), v.full_page, v.setup) for v in views]
    if args.full_page:
        views = [View(v.name, v.address, v.ready, v.size, True, v.setup) for v in views]
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, app_server(Path(tmp) / "home", Path(tmp)) as base, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        extra = dict(has_touch=True, is_mobile=True, device_scale_factor=3) if args.touch else {}
        context = browser.new_context(viewport={"width": 1440, "height": 900}, **extra)
        page = context.new_page()
        for view in views:
            print(shoot(page, base, view, args.out, Path(tmp) / "home"))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
