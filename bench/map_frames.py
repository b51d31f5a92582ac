"""Frames while panning and zooming the latent map, at 10,000 and 70,000 points, against Plotly's scattergl
drawing the same points in the same run, in headless Debian Chromium (WebGL through SwiftShader: no GPU).

The points are real: the bundled fashion-mnist-2d model's encodings of the Fashion-MNIST test set (10,000)
and of all its images (70,000), coloured by class. Each library gets a page of its own with the map at
640x640 px:
- the app's map: ui/scatter_map.JS (the data reader, ui/vendor/map_libs.js, ui/js/map_gl.js and ui/js/map/),
  the very code the app sends, given data as ui/component_data.py makes it (prior contours included), with
  the component's parent element and state callback supplied by the page instead of Streamlit;
- Plotly: plotly.js from the installed plotly package (offline), one scattergl trace per class, drag mode pan.
Then, once per animation frame for 3 s, the page sends the map one mouse move of a drag (pan), and for 2 s
one wheel step (zoom), as a mouse does; the time between animation frames is recorded. A library that
takes longer than a frame to redraw delays the next frame: 60 frames a second means about 16.7 ms.

Run: python bench/map_frames.py [--sizes 10000,70000] [--repeats 2]
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_util import ARGS, CHROMIUM  # noqa: E402

SIDE = 640
PAN_SECONDS, ZOOM_SECONDS = 3.0, 2.0

DRIVER = """
window.__drive = async (target, kind, seconds) => {
  // one input event per animation frame, as a mouse sends them; returns the frame intervals (ms)
  const r = target.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const times = [];
  const opts = (x, y, buttons) => ({ clientX: x, clientY: y, screenX: x, screenY: y, bubbles: true,
                                       cancelable: true, view: window, buttons, button: 0, pointerId: 1,
                                       pointerType: "mouse", isPrimary: true });
  // the app's map listens to pointer events, Plotly to mouse events
  const ev = (type, o) => window.__pointer ? new PointerEvent("pointer" + type, o) : new MouseEvent("mouse" + type, o);
  if (kind === "pan") target.dispatchEvent(ev("down", opts(cx, cy, 1)));
  const start = performance.now();
  let k = 0;
  await new Promise((done) => {
    const step = (t) => {
      times.push(t);
      if (t - start > seconds * 1000) { done(); return; }
      k += 1;
      if (kind === "pan") {
        const x = cx + 120 * Math.sin(k / 20), y = cy + 80 * Math.sin(k / 31);
        (window.__moveTarget || target).dispatchEvent(ev("move", opts(x, y, 1)));
      } else {
        target.dispatchEvent(new WheelEvent("wheel", { ...opts(cx + 30, cy - 20, 0), deltaY: (k % 60 < 30 ? -40 : 40),
                                                        deltaMode: 0 }));
      }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  if (kind === "pan") (window.__moveTarget || target).dispatchEvent(ev("up", opts(cx, cy, 0)));
  const gaps = [];
  for (let i = 1; i < times.length; i++) gaps.push(times[i] - times[i - 1]);
  return gaps;
};
"""


def encodings() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """fashion-mnist-2d's mu of the test set and of every image (test first), with their labels."""
    import torch

    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.data.datasets import DatasetError, load_dataset
    from vae_core.analysis.evaluate import encode_dataset

    ckpt = load_checkpoint(REPO / "checkpoints" / "fashion-mnist-2d")
    try:
        split = load_dataset("fashion-mnist", download=False)
    except DatasetError as e:
        raise SystemExit(f"the benchmark draws real Fashion-MNIST encodings: {e}") from e
    images = torch.cat([split.test.images, split.train.images])
    labels = torch.cat([split.test.labels, split.train.labels]).numpy()
    with torch.inference_mode():
        mu, _ = encode_dataset(ckpt.model, images)
    return mu[:10_000], labels[:10_000], mu, labels


def ours_page(xy: np.ndarray, labels: np.ndarray, names: list[str], colours: list[str]) -> str:
    from ui.component_data import component_data
    from ui.scatter_map import FONT_PX, FONT_PX_PRESENTER, prior_line
    from vae_core.render.map_layout import map_extent
    from vae_core.model.priors import StandardNormal

    extent = map_extent(xy, include=(-3.2, 3.2, -3.2, 3.2), square=True)
    counts = np.bincount(labels, minlength=len(names)).tolist()
    payload = {"key": "bench", "view_id": "bench", "n": len(xy), "counts": counts, "axis_titles": ["z1", "z2"],
               "classes": [{"name": n, "colour": c} for n, c in zip(names, colours)], "extent": list(extent),
               "presenter": False, "prior": [prior_line(*c) for c in StandardNormal(2).contours()], "ellipses": False, "ellipse_sample": [],
               "ellipse_limit": 60, "density": False, "zero_lines": True, "images": None, "select": None,
               "point_size": float(np.clip(9.0 - 2.2 * np.log10(len(xy) / 300), 3.0, 9.0)), "font_px": FONT_PX,
               "font_px_presenter": FONT_PX_PRESENTER, "file_stem": "bench"}
    data = component_data(payload, {"xy": xy.astype(np.float32), "labels": labels.astype(np.uint16)})
    from ui.scatter_map import CSS as css, JS as code
    return f"""<!doctype html><html><head><style>{css} body {{ margin: 0; font-family: sans-serif; }}
#host {{ width: {SIDE + 252}px; }}</style></head><body><div id="host"><div class="vae-map"></div></div>
<script id="code" type="text/plain">{base64.b64encode(code.encode()).decode()}</script>
<script>{DRIVER}</script>
<script type="module">
const code = new TextDecoder().decode(Uint8Array.from(atob(document.getElementById("code").textContent), c => c.charCodeAt(0)));
const url = URL.createObjectURL(new Blob([code], {{ type: "text/javascript" }}));
const mod = await import(url);
const data = Uint8Array.from(atob("{base64.b64encode(data).decode()}"), c => c.charCodeAt(0));
const host = document.getElementById("host");
mod.default({{ parentElement: host, data, setStateValue: () => {{}} }});
const m = window.__vaeMaps.bench;
await m.drawn;
window.__target = m.canvas;
window.__pointer = true;
window.__side = m.plotSide;
window.__view = () => m.xScale.domain().concat(m.yScale.domain());
window.__ready = true;
</script></body></html>"""


def plotly_page(xy: np.ndarray, labels: np.ndarray, names: list[str], colours: list[str]) -> str:
    import plotly.offline

    traces = [{"type": "scattergl", "mode": "markers", "name": names[c], "x": xy[labels == c, 0].tolist(),
               "y": xy[labels == c, 1].tolist(), "marker": {"size": 5, "color": colours[c]}} for c in range(len(names))]
    layout = {"width": SIDE + 200, "height": SIDE + 60, "dragmode": "pan", "margin": {"l": 50, "r": 150, "t": 10, "b": 50},
              "hovermode": "closest", "xaxis": {"range": [-4.5, 4.5]}, "yaxis": {"range": [-4.5, 4.5]}}
    return f"""<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"><div id="plot"></div>
<script>{plotly.offline.get_plotlyjs()}</script>
<script>{DRIVER}</script>
<script>
Plotly.newPlot("plot", {json.dumps(traces)}, {json.dumps(layout)}, {{ scrollZoom: true, displayModeBar: false }}).then((gd) => {{
  window.__target = gd.querySelector(".nsewdrag");
  window.__moveTarget = document;
  window.__view = () => gd._fullLayout.xaxis.range.concat(gd._fullLayout.yaxis.range);
  window.__ready = true;
}});
</script></body></html>"""


def regl_scatterplot_page(xy: np.ndarray, labels: np.ndarray, colours: list[str], tmp: Path) -> str:
    """regl-scatterplot 1.16.0 (ui/vendor/build's devDependency: run build.sh first) drawing the same points."""
    import subprocess

    build = REPO / "ui" / "vendor" / "build"
    if not (build / "node_modules" / "regl-scatterplot").is_dir():
        raise SystemExit("--with-regl-scatterplot needs ui/vendor/build/node_modules: bash ui/vendor/build/build.sh")
    entry = build / ".bench-entry.js"
    entry.write_text('import createScatterplot from "regl-scatterplot"; globalThis.createScatterplot = createScatterplot;\n')
    out = tmp / "regl-scatterplot.js"
    try:
        subprocess.run([str(build / "node_modules" / ".bin" / "esbuild"), str(entry), "--bundle", "--minify",
                        "--format=iife", f"--outfile={out}"], check=True, capture_output=True)
    finally:
        entry.unlink()
    extent = float(np.abs(xy).max()) * 1.05
    ndc = (xy / extent).astype(np.float32)
    return f"""<!doctype html><html><body style="margin:0"><div style="position:relative;width:{SIDE}px;height:{SIDE}px">
<canvas id="c"></canvas></div><script>{out.read_text()}</script><script>{DRIVER}</script><script>
const c = document.getElementById("c");
const sp = createScatterplot({{ canvas: c, width: {SIDE}, height: {SIDE}, pointSize: 5, colorBy: "valueA",
                                 pointColor: {json.dumps(colours)} }});
sp.draw({{ x: {json.dumps(ndc[:, 0].tolist())}, y: {json.dumps(ndc[:, 1].tolist())},
           valueA: {json.dumps(labels.astype(int).tolist())} }}).then(() => {{
  window.__target = c;
  window.__view = () => Array.from(sp.get("cameraView"));
  window.__ready = true;
}});
</script></body></html>"""


def measure(browser, html: str, tmp: Path, name: str) -> dict:
    path = tmp / f"{name}.html"
    path.write_text(html)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.__ready === true", timeout=180_000)
    page.wait_for_timeout(500)
    before = page.evaluate("window.__view()")
    pan = page.evaluate(f"window.__drive(window.__target, 'pan', {PAN_SECONDS})")
    after_pan = page.evaluate("window.__view()")
    zoom = page.evaluate(f"window.__drive(window.__target, 'zoom', {ZOOM_SECONDS})")
    after_zoom = page.evaluate("window.__view()")
    page.close()
    if errors:
        raise SystemExit(f"{name}: {errors}")
    if np.allclose(before, after_pan) or np.allclose(after_pan, after_zoom):
        raise SystemExit(f"{name}: the view did not move (pan {before} -> {after_pan}, zoom -> {after_zoom})")
    out = {}
    for phase, frames in (("pan", np.array(pan)), ("zoom", np.array(zoom)), ("all", np.array(pan + zoom))):
        out[phase] = {"median": float(np.median(frames)), "p95": float(np.percentile(frames, 95)),
                      "fps": 1000.0 / float(np.mean(frames))}
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    from ui.map_plot import class_colours
    from vae_core.store.checkpoints import load_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,70000")
    ap.add_argument("--repeats", type=int, default=2, help="measurements of each library at each size (median)")
    ap.add_argument("--with-regl-scatterplot", action="store_true",
                    help="also time regl-scatterplot 1.16.0, which the map was first built on (needs node_modules)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("encoding Fashion-MNIST with fashion-mnist-2d ...", flush=True)
    test_mu, test_y, all_mu, all_y = encodings()
    names = load_checkpoint(REPO / "checkpoints" / "fashion-mnist-2d", lazy=True).class_names
    colours = class_colours(len(names))
    results = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        renderer = browser.new_page()
        gl = renderer.evaluate("() => { const gl = document.createElement('canvas').getContext('webgl'); "
                               "const d = gl && gl.getExtension('WEBGL_debug_renderer_info'); "
                               "return d ? gl.getParameter(d.UNMASKED_RENDERER_WEBGL) : String(!!gl); }")
        renderer.close()
        print(f"Chromium {browser.version}, WebGL renderer: {gl}")
        for n in sizes:
            xy, y = (test_mu, test_y) if n == 10_000 else (all_mu, all_y) if n == 70_000 else (None, None)
            if xy is None:
                xy, y = all_mu[:n], all_y[:n]
            pages = {"ours": ours_page(xy, y, names, colours), "plotly": plotly_page(xy, y, names, colours)}
            if args.with_regl_scatterplot:
                pages["regl-scatterplot"] = regl_scatterplot_page(xy, y, colours, Path(tmp))
            for _ in range(args.repeats):  # alternate, so the machine's noise hits both alike
                for lib, html in pages.items():
                    results.setdefault((n, lib), []).append(measure(browser, html, Path(tmp), f"{lib}-{n}"))
        browser.close()
    print(f"\nframe intervals (ms) while panning ({PAN_SECONDS:.0f} s) and zooming ({ZOOM_SECONDS:.0f} s), one input per "
          f"frame; median of {args.repeats} runs; frames/s over both")
    print(f"{'points':>7} {'map':<18} {'pan median':>10} {'pan p95':>8} {'zoom median':>11} {'zoom p95':>9} {'frames/s':>9}")
    for n in sizes:
        row = {}
        for lib, label in (("ours", "the app's (WebGL)"), ("plotly", "Plotly scattergl"),
                           ("regl-scatterplot", "regl-scatterplot")):
            if (n, lib) not in results:
                continue
            runs = results[(n, lib)]
            row[lib] = {f"{ph}_{k}": float(np.median([r[ph][k] for r in runs]))
                        for ph in ("pan", "zoom", "all") for k in ("median", "p95", "fps")}
            r = row[lib]
            print(f"{n:>7,} {label:<18} {r['pan_median']:>10.1f} {r['pan_p95']:>8.1f} {r['zoom_median']:>11.1f} "
                  f"{r['zoom_p95']:>9.1f} {r['all_fps']:>9.1f}")
        ours, plotly = row["ours"], row["plotly"]
        print(f"{n:>7,} ratio: Plotly's median frame takes {plotly['all_median'] / ours['all_median']:.1f}x the app "
              f"map's ({plotly['pan_median'] / ours['pan_median']:.1f}x panning, "
              f"{plotly['zoom_median'] / ours['zoom_median']:.1f}x zooming); the app's map: "
              f"{1000 / ours['pan_median']:.0f} frames/s panning, {1000 / ours['zoom_median']:.0f} zooming (goal 60)")


if __name__ == "__main__":
    main()
