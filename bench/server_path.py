"""The server path of the Latent sliders page, against minimal reference apps, in one run.

Live decoding off: an arrow key on a latent slider -> Streamlit reruns -> the server decodes z and
sends a new st.image -> the new picture is loaded in the page. Timed inside headless Debian
Chromium with performance.now(): from the keydown event to the image's `load` event (the picture
is on screen), and to the moment its `src` changed (the message arrived and React drew it).

Three servers run at once, and the presses alternate between them, so a slow moment of this
shared machine hits all three alike:
  app              this app's Latent sliders page (.streamlit/config.toml: postScriptGC off)
  minimal          the smallest app of the kind: two sliders, decode with the same model, st.image,
                   with this app's runner settings
  minimal-default  the same minimal app with Streamlit's default settings (a full gc.collect()
                   after every rerun)

Run: python bench/server_path.py [--presses 60] [--model mnist5k-2d] [--json out.json]
Goal (issue: speed and scale): the app's median at most 70 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_util import ARGS, CHROMIUM, idle, start_streamlit, stop  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
IMAGE = '[data-testid="stMain"] [data-testid="stImage"] img'

MINIMAL_APP = textwrap.dedent("""
    import sys

    import numpy as np
    import streamlit as st

    sys.path.insert(0, {repo!r})
    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.analysis.evaluate import encode_dataset
    from vae_core.analysis.latent import decode_batch

    @st.cache_resource
    def model():
        return load_checkpoint({model!r}, "cpu").model

    st.title("Latent sliders")
    z = np.zeros((1, {dim}), dtype=np.float32)
    for d in {dims}:  # the dimensions the app's page gives sliders, in its order
        z[0, d] = st.slider(f"z{{d + 1}}", -3.0, 3.0, 0.0, 0.05, key=f"z{{d}}")
    x = decode_batch(model(), z)[0].reshape({shape})
    st.image((np.kron(x, np.ones(({scale}, {scale}))) * 255).astype(np.uint8), output_format="PNG")
""")

# Stamps t0 at the arrow key's keydown; when the first image of the main area changes its src, stamps
# tSrc and, at its load event, tLoad.
PROBE = """
(() => {
  window.__probe = {armed: false, t0: 0, tSrc: 0, tLoad: 0};
  document.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      Object.assign(window.__probe, {armed: true, t0: performance.now(), tSrc: 0, tLoad: 0});
    }
  }, true);
  const watch = () => {
    new MutationObserver((records) => {
      const p = window.__probe;
      if (!p.armed || p.tSrc) return;
      const img = document.querySelector('%s');
      if (!img || !records.some((r) => r.target === img || r.target.contains(img))) return;
      p.tSrc = performance.now();
      const done = () => { if (!p.tLoad) { p.tLoad = performance.now(); p.armed = false; } };
      if (img.complete && img.naturalWidth) done(); else img.addEventListener('load', done, {once: true});
    }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  };
  if (document.body) watch(); else document.addEventListener('DOMContentLoaded', watch);
})();
""" % IMAGE


def press(page, key: str) -> tuple[float, float]:
    """(keydown -> src changed, keydown -> new image loaded) in ms for one key press."""
    page.bring_to_front()
    page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').first.focus()
    page.keyboard.press(key)
    page.wait_for_function("() => window.__probe.tLoad > 0", timeout=30_000, polling=20)
    p = page.evaluate("window.__probe")
    idle(page, quiet=0.25)
    return p["tSrc"] - p["t0"], p["tLoad"] - p["t0"]


def summary(values: list[float]) -> dict:
    a = np.asarray(values)
    return {"n": len(a), "median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "min": float(a.min())}


def main(argv: list[str] | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    from vae_core.model.activity import mean_kl_per_dim
    from vae_core.analysis.sliders import SliderSpace
    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.analysis.evaluate import encode_dataset

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presses", type=int, default=60, help="key presses per server (alternating servers)")
    ap.add_argument("--model", default="mnist5k-2d", help="a bundled model (the app's default)")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                    help="also time the app with these environment variables (e.g. "
                         "STREAMLIT_RUNNER_POST_SCRIPT_GC=true), interleaved with the others")
    args = ap.parse_args(argv)

    path = REPO / "checkpoints" / args.model
    ckpt = load_checkpoint(path, "cpu")
    cfg = ckpt.config
    mu, logvar = encode_dataset(ckpt.model, ckpt.sample.as_tensor())
    dims = [int(d) for d in SliderSpace(cfg.latent_dim, mean_kl_per_dim(mu, logvar)).slider_dims]
    c, h, w = cfg.image_shape
    scale = max(1, 400 // w)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "minimal.py").write_text(MINIMAL_APP.format(
            repo=str(REPO), model=str(path), dim=cfg.latent_dim, dims=dims,
            shape=(h, w) if c == 1 else (c, h, w), scale=scale))
        servers = {
            "app": start_streamlit("app.py", REPO, tmp),
            "minimal": start_streamlit("minimal.py", Path(tmp), tmp, "--runner.postScriptGC", "false"),
            "minimal-default": start_streamlit("minimal.py", Path(tmp), tmp),
        }
        for v in args.variant:
            servers[f"app {v}"] = start_streamlit("app.py", REPO, tmp, env=dict(kv.split("=", 1) for kv in v.split(",")))
        results: dict[str, dict[str, list[float]]] = {name: {"src": [], "load": []} for name in servers}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                pages = {}
                for name, (_, port) in servers.items():
                    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
                    page.add_init_script(PROBE)
                    model_param = "" if args.model == "mnist5k-2d" else f"?model={args.model}"
                    page.goto(f"http://127.0.0.1:{port}/" + ("sliders" + model_param if name.startswith("app") else ""))
                    idle(page, timeout=240)
                    if name.startswith("app"):  # Live off: the server draws the sliders and the image
                        server_slider = page.locator('[data-testid="stMain"] [data-testid="stSlider"]').first
                        for _ in range(3):
                            if server_slider.count():
                                break
                            page.get_by_text("Live: decode in the browser").first.click()
                            idle(page)
                        server_slider.wait_for(timeout=60_000)
                    pages[name] = page
                for i in range(args.presses + 3):  # the first 3 rounds warm up
                    key = "ArrowRight" if (i // 10) % 2 == 0 else "ArrowLeft"
                    for name, page in pages.items():
                        src, load = press(page, key)
                        if i >= 3:
                            results[name]["src"].append(src)
                            results[name]["load"].append(load)
                browser.close()
        finally:
            for proc, _ in servers.values():
                stop(proc)

    out = {name: {k: summary(v) for k, v in r.items()} for name, r in results.items()}
    out["machine_load_1min"] = os.getloadavg()[0]
    print(f"server path, key press -> new image ({args.model}, {args.presses} presses each, interleaved; "
          f"load average {out['machine_load_1min']:.1f})")
    print(f"{'':<17}{'image loaded: median':>21}{'p95':>8}{'min':>8}   {'src changed: median':>20}")
    for name in servers:
        r = out[name]
        print(f"{name:<17}{r['load']['median']:>18.1f} ms{r['load']['p95']:>8.1f}{r['load']['min']:>8.1f}"
              f"   {r['src']['median']:>17.1f} ms")
    app, ref, dflt = (out[n]["load"]["median"] for n in ("app", "minimal", "minimal-default"))
    print(f"ratio app / minimal app (same settings): {app / ref:.2f}; app / minimal app with Streamlit's "
          f"defaults: {app / dflt:.2f}; goal: app median <= 70 ms: {'met' if app <= 70 else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
