// The latent map: every encoded image as one point, drawn with WebGL (ui/js/map_gl.js, on regl from
// ui/vendor/map_libs.js), with its axes, legend, lines (prior contours, posterior ellipses, density
// contours: SVG over the points), hover previews, and click / box / lasso selection.
//
// ui/scatter_map.py sends, in this order: the data reader (ui/js/component_data.js), the libraries,
// map_gl.js, then the files of ui/js/map/: this one (the class: its elements, its data, its buttons),
// each concern's methods added to the class (timeline.js, view.js, tools.js, hover.js, legend.js,
// layout.js, overlays.js), and main.js (the component's entry).
//
// Data (ui/scatter_map.py): a JSON header and the parts xy (float32, map coordinates), labels (uint16),
// sigma (float32, the posterior's sigma on the two axes; native plane only) and frames (float32, the
// training's snapshots). The hover images arrive by a component of their own (ui/js/map_images.js).
// Back to Python: the state "selection" = {seq, kind: click | box | lasso | class | location | none,
// points: [indices], location: [x, y] | null}.
// To the page: a "vae-map-pointer" window event with the map coordinates under the mouse
// (ui/js/map_pointer.js decodes them), and window.__vaeMaps[key] for tests and benchmarks.

const MAPS = (window.__vaeMaps = window.__vaeMaps || {});

function sameArray(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexRgb(hex) {
  const h = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
}

function createEl(tag, cls, parent, ns) {
  const el = ns ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  if (cls) el.setAttribute("class", cls);
  if (parent) parent.appendChild(el);
  return el;
}

class LatentMap {
  constructor(root, setStateValue) {
    this.root = root;
    this.setStateValue = setStateValue;
    this.seq = 0;
    this.hovered = -1;
    this.appliedToken = null;
    this.viewId = null;
    this.mode = "pan";
    this.selected = [];
    this.frames = [];  // draw timestamps, for the frame benchmark (bench/map_frames.py)
    this.build();
  }

  build() {
    const r = this.root;
    r.innerHTML = "";
    this.mainCol = createEl("div", "main-col", r);  // the figure, and under it the training's timeline
    this.figure = createEl("div", "figure", this.mainCol);
    this.yTitle = createEl("div", "axis-title y", this.figure);
    this.plot = createEl("div", "plot", this.figure);
    this.grid = createEl("svg", "grid", this.plot, true);
    this.canvas = createEl("canvas", "points", this.plot);
    this.canvas.setAttribute("aria-hidden", "true");  // the plot (keyboard.js) speaks for it
    this.canvas.dataset.overscan = "";  // larger than the plot on purpose (map_gl.js): the plot clips it
    this.canvas.style.touchAction = "none";
    this.overlay = createEl("svg", "overlay", this.plot, true);
    this.xTicks = createEl("div", "ticks x", this.figure);
    this.yTicks = createEl("div", "ticks y", this.figure);
    this.xTitle = createEl("div", "axis-title x", this.figure);
    this.side = createEl("div", "side", r);
    this.toolbar = createEl("div", "toolbar", this.side);
    this.legend = createEl("div", "legend", this.side);
    this.note = createEl("div", "note", r);
    this.tip = createEl("div", "hover-tip", r);
    this.tip.id = "vae-map-hover-tip";
    this.tipCanvas = createEl("canvas", "vae-hover-image", this.tip);
    this.tipText = createEl("div", "tip-text", this.tip);
    this.buttons = {};
    const tools = [["pan", "Pan", "Drag to pan, scroll to zoom; click a dot to choose it, click empty space to decode it"],
                   ["box", "Box", "Drag a rectangle to select the points in it (Shift-drag in any mode: lasso)"],
                   ["lasso", "Lasso", "Draw around points to select them"],
                   ["reset", "Reset view", "Back to the whole map"],
                   ["clear", "Clear", "Clear the selection (Esc, or double-click on empty space)"],
                   ["save", "PNG", "Save the map as shown (zoom included) as a PNG"]];
    for (const [name, text, title] of tools) {
      const b = createEl("button", `tool ${name}`, this.toolbar);
      b.type = "button";
      b.textContent = text;
      b.title = title;
      b.addEventListener("click", () => this.tool(name));
      this.buttons[name] = b;
    }
    for (const m of ["pan", "box", "lasso"]) this.buttons[m].setAttribute("aria-pressed", String(m === this.mode));
    this.buildDescription();  // describe.js: the names button, the map as a table
    this.buildKeyboard();  // keyboard.js: focus, the cursor, the live region
  }

  tool(name) {
    if (!this.gl) return;
    if (name === "reset") { this.gl.setView({ cx: 0, cy: 0, s: 1 }); return; }
    if (name === "clear") { this.clearSelection(); return; }
    if (name === "save") { this.savePng(); return; }
    this.mode = name;
    this.canvas.style.cursor = name === "pan" ? "" : "crosshair";
    for (const m of ["pan", "box", "lasso"]) {
      this.buttons[m].classList.toggle("active", m === name);
      this.buttons[m].setAttribute("aria-pressed", String(m === name));
    }
  }

  send(kind, points, location) {
    this.seq += 1;
    this.setStateValue("selection", { seq: this.seq, kind, points: Array.from(points), location });
  }

  update(json, parts) {
    this.d = json;
    const n = json.n;
    this.setTimeline(json, parts);
    // Streamlit hands the component its data again after every rerun: points that did not change keep
    // the view, the selection and the hover
    const samePoints = parts.xy && this.xy && sameArray(parts.xy, this.xy) && sameArray(parts.labels, this.labels);
    if (parts.xy && !samePoints) {
      this.xy = parts.xy;
      this.labels = parts.labels;
    }
    if (parts.xy) this.sigma = parts.sigma || null;
    const [x0, x1, y0, y1] = json.extent;
    this.extent = json.extent;
    this.toNdcX = (x) => ((x - x0) / (x1 - x0)) * 2 - 1;
    this.toNdcY = (y) => ((y - y0) / (y1 - y0)) * 2 - 1;
    this.root.classList.toggle("presenter", !!json.presenter);
    this.images(json);
    this.layout();
    if (!this.gl && !this.createGL()) return;
    const newView = this.viewId !== json.view_id;
    if (newView || (parts.xy && !samePoints)) {
      this.pushPoints();
      this.selected = [];
      this.density = null;
      if (newView) {
        this.viewId = json.view_id;
        this.gl.setView({ cx: 0, cy: 0, s: 1 });
        this.location = null;
        this.appliedToken = null;
      }
      this.root.dataset.points = String(this.gl.n);
    }
    this.gl.setSize(this.plotSide, json.point_size);
    this.xTitle.textContent = json.axis_titles[0];
    this.yTitle.textContent = json.axis_titles[1];
    this.drawLegend();
    this.labelPlot();
    this.describe();
    this.applySelection(json.select);
    this.drawLines();
    this.builtView = null;  // draw the axes and marks anew
    this.viewChanged();
    MAPS[json.key] = this;
  }

  // the points' positions and colours to WebGL (this.xy, this.labels)
  pushPoints() {
    const n = this.d.n;
    const ndc = new Float32Array(2 * n), rgb = new Float32Array(3 * n);
    const palette = this.d.classes.map((c) => hexRgb(c.colour));
    for (let i = 0; i < n; i++) {
      ndc[2 * i] = this.toNdcX(this.xy[2 * i]);
      ndc[2 * i + 1] = this.toNdcY(this.xy[2 * i + 1]);
      const c = palette[this.labels[i]] || [0.3, 0.3, 0.3];
      rgb[3 * i] = c[0]; rgb[3 * i + 1] = c[1]; rgb[3 * i + 2] = c[2];
    }
    this.gl.setPoints(ndc, rgb);
  }

  fontPx() {
    return this.d && this.d.presenter ? this.d.font_px_presenter : (this.d ? this.d.font_px : 15);
  }

  createGL() {
    try {
      this.gl = new MapGL(this.canvas, () => this.viewChanged());
    } catch (err) {
      this.note.textContent = "This browser cannot draw WebGL, which the map needs: turn on hardware acceleration, "
        + "or use the 'Download the map (PNG)' button below. (" + err.message + ")";
      this.note.classList.add("error");
      return false;
    }
    const c = this.canvas;
    c.addEventListener("pointerdown", (ev) => this.onDown(ev));
    c.addEventListener("pointermove", (ev) => this.onMove(ev));
    c.addEventListener("pointerup", (ev) => this.onUp(ev));
    c.addEventListener("pointercancel", (ev) => {
      if (ev.pointerType === "touch") this.onTouchUp(ev);
      this.drag = null; this.lasso = null; this.drawLasso();
    });
    c.addEventListener("pointerleave", () => { if (!this.drag) this.hover(-1); });
    c.addEventListener("wheel", (ev) => this.onWheel(ev), { passive: false });
    c.addEventListener("dblclick", (ev) => { if (this.pickAt(ev) < 0) this.clearSelection(); });
    window.addEventListener("keydown", this.onKey = (ev) => {
      if (ev.key === "Escape" && this.pointerInside && this.root.isConnected && !this.plot.matches(":focus")) {
        this.clearSelection();
      }
    });
    return true;
  }

  // what tests and benchmarks read
  screenPosition(i) { return this.gl.toScreen(this.gl.ndc[2 * i], this.gl.ndc[2 * i + 1]); }

  selectedPoints() { return this.selected.slice(); }

  pointsDrawn() { return this.gl ? this.gl.n : 0; }

  lineWidths() { return [...this.overlay.querySelectorAll(".lines > *")].map((p) => parseFloat(getComputedStyle(p).strokeWidth)); }

  savePng() {
    const a = document.createElement("a");
    a.href = this.gl.exportPng();
    a.download = `${this.d.file_stem || "latent-map"}-view.png`;
    a.click();
  }

  destroy() {
    if (this.gl) this.gl.destroy();
    this.gl = null;
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("vae-map-images", this.onImages);
    this.stopPlay();
    if (MAPS[this.d && this.d.key] === this) delete MAPS[this.d.key];
  }
}
