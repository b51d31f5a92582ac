// The latent map: every encoded image as one point, drawn with WebGL (ui/js/map_gl.js, on regl from
// ui/vendor/map_libs.js; ui/scatter_map.py puts both before this code), with its axes, legend, lines
// (prior contours, posterior ellipses, density contours: SVG over the points), hover previews, and
// click / box / lasso selection.
//
// Data (ui/scatter_map.py): JSON, then binary parts: xy (float32, map coordinates), labels (uint16),
// sigma (float32, the posterior's sigma on the two axes; native plane only) and images (the stored
// images as one deflated uint8 sheet, sent once per session and kept here per key).
// Back to Python: the state "selection" = {seq, kind: click | box | lasso | class | location | none,
// points: [indices], location: [x, y] | null}; "need_images" = a key whose images this window lacks.
// To the page: a "vae-map-pointer" window event with the map coordinates under the mouse
// (ui/js/map_pointer.js decodes them), and window.__vaeMaps[key] for tests and benchmarks.

const IMAGE_CACHE = (window.__vaeMapImages = window.__vaeMapImages || new Map());  // key -> Promise<Uint8Array>
const MAPS = (window.__vaeMaps = window.__vaeMaps || {});
const TIP_SIDE = 112;  // px: the hover preview's longer side

function unpackParts(raw) {
  if (!(raw instanceof Uint8Array)) return { json: raw || {}, parts: {} };
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const nText = view.getUint32(0, true);
  const json = JSON.parse(new TextDecoder().decode(raw.subarray(4, 4 + nText)));
  const base = 4 + nText + ((8 - ((4 + nText) % 8)) % 8);
  const parts = {};
  for (const p of json.parts || []) {
    const bytes = raw.slice(base + p.offset, base + p.offset + p.length);  // a copy: aligned
    const Type = { float32: Float32Array, uint16: Uint16Array, uint8: Uint8Array }[p.dtype];
    parts[p.name] = p.deflate ? bytes : new Type(bytes.buffer);
    if (p.deflate) parts[p.name].deflated = true;
  }
  return { json, parts };
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

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

function scrollParent(el) {
  let node = el.getRootNode().host || el.parentElement;
  while (node && node !== document.body) {
    const s = getComputedStyle(node);
    if (/(auto|scroll)/.test(s.overflowY) && node.scrollHeight > node.clientHeight) return node;
    node = node.parentElement;
  }
  return null;
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
    this.canvas.setAttribute("aria-label", "the latent map: every encoded test image as a point");
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
  }

  tool(name) {
    if (!this.gl) return;
    if (name === "reset") { this.gl.setView({ cx: 0, cy: 0, s: 1 }); return; }
    if (name === "clear") { this.clearSelection(); return; }
    if (name === "save") { this.savePng(); return; }
    this.mode = name;
    this.canvas.style.cursor = name === "pan" ? "" : "crosshair";
    for (const m of ["pan", "box", "lasso"]) this.buttons[m].classList.toggle("active", m === name);
  }

  send(kind, points, location) {
    this.seq += 1;
    this.setStateValue("selection", { seq: this.seq, kind, points: Array.from(points), location });
  }

  // ---------------------------------------------------------------------------------- data
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
    this.images(json, parts);
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

  // ---------------------------------------------------------------------------------- watch it learn
  // The training's snapshots (json.timeline, parts.frames: T x n x 2): the points move to where the encoder
  // placed them at each snapshot; a play button, a scrubber and the loss curve with the snapshot marked.
  setTimeline(json, parts) {
    const t = json.timeline;
    if (!t || !parts.frames) {
      this.stopPlay();
      this.framesData = null;
      if (this.timelineEl) { this.timelineEl.remove(); this.timelineEl = null; }
      return;
    }
    const T = t.step.length;
    if (!(this.framesData && sameArray(parts.frames, this.framesData))) {
      this.stopPlay();
      this.framesData = parts.frames;
      this.frameIndex = T - 1;
    }
    parts.xy = this.frameXY(this.frameIndex);  // what is drawn: the snapshot on screen (the last at first)
    if (!this.timelineEl) this.buildTimeline();
    this.scrub.max = String(T - 1);
    this.showFrame();
  }

  frameXY(k) {
    const n2 = 2 * this.d.n;
    return this.framesData.subarray(k * n2, (k + 1) * n2);
  }

  buildTimeline() {
    const el = this.timelineEl = createEl("div", "timeline", this.mainCol);
    const row = createEl("div", "row", el);
    this.playButton = createEl("button", "tool play", row);
    this.playButton.type = "button";
    this.playButton.addEventListener("click", () => (this.playing ? this.stopPlay() : this.play()));
    this.scrub = createEl("input", "scrub", row);
    Object.assign(this.scrub, { type: "range", min: "0", step: "1" });
    this.scrub.setAttribute("aria-label", "training snapshot");
    this.scrub.addEventListener("input", () => { this.stopPlay(); this.setFrame(Number(this.scrub.value)); });
    this.frameLabel = createEl("div", "frame-label", row);
    this.curve = createEl("svg", "curve", el, true);
    this.curve.addEventListener("pointerdown", (ev) => {
      this.stopPlay();
      const r = this.curve.getBoundingClientRect();
      this.setFrame(this.nearestFrame((ev.clientX - r.left) / Math.max(1, r.width)));
    });
  }

  play() {
    const T = this.d.timeline.step.length;
    if (this.frameIndex >= T - 1) this.setFrame(0);
    this.playing = setInterval(() => {
      if (!this.root.isConnected || !this.framesData) { this.stopPlay(); return; }
      if (this.frameIndex >= this.d.timeline.step.length - 1) { this.stopPlay(); return; }
      this.setFrame(this.frameIndex + 1);
    }, 450);
    this.showFrame();
  }

  stopPlay() {
    if (this.playing) clearInterval(this.playing);
    this.playing = null;
    if (this.playButton) this.showFrame();
  }

  setFrame(k) {
    if (!this.framesData || !this.gl) return;
    const T = this.d.timeline.step.length;
    this.frameIndex = Math.max(0, Math.min(T - 1, Math.round(k)));
    this.xy = this.frameXY(this.frameIndex);
    this.pushPoints();
    if (this.selected.length) this.gl.setSelected(this.selected);
    this.density = null;
    this.drawLines();
    this.drawOverlay();
    this.showFrame();
  }

  // the x of a snapshot on the loss curve: log-spaced steps, evenly spaced on a log axis
  curveX(k) {
    const steps = this.d.timeline.step, last = Math.log1p(steps[steps.length - 1]) || 1;
    return Math.log1p(steps[k]) / last;
  }

  nearestFrame(fx) {
    let best = 0;
    this.d.timeline.step.forEach((_, k) => { if (Math.abs(this.curveX(k) - fx) < Math.abs(this.curveX(best) - fx)) best = k; });
    return best;
  }

  showFrame() {
    const t = this.d && this.d.timeline;
    if (!t || !this.timelineEl) return;
    const k = this.frameIndex, T = t.step.length;
    this.playButton.textContent = this.playing ? "❚❚ Pause" : "▶ Play";
    this.playButton.title = "Replay the training: the map at each snapshot";
    this.scrub.value = String(k);
    const c = t.curves, names = Object.keys(c);
    this.frameLabel.textContent = `step ${t.step[k].toLocaleString("en")} · epoch ${t.epoch[k] < 10 ? t.epoch[k].toFixed(2) : t.epoch[k].toFixed(0)}`;
    this.frameLabel.title = `snapshot ${k + 1} of ${T}`;
    this.root.dataset.frame = String(k);
    // the loss curve: every term over the snapshots, the current one marked
    const w = Math.max(140, (parseFloat(this.timelineEl.style.width) || 300) - 14);
    const h = Math.round(this.fontPx() * 3.5);
    const svg = this.curve;
    svg.setAttribute("width", w); svg.setAttribute("height", h);
    svg.innerHTML = "";
    const values = names.flatMap((name) => c[name]).filter((v) => Number.isFinite(v));
    const lo = Math.min(0, ...values), hi = Math.max(...values, lo + 1);
    const pad = 4, X = (k2) => pad + this.curveX(k2) * (w - 2 * pad), Y = (v) => h - pad - ((v - lo) / (hi - lo)) * (h - 2 * pad);
    const colours = ["#111", "#1f77b4", "#d62728"];
    names.forEach((name, j) => {
      const path = createEl("path", "term", svg, true);
      path.setAttribute("d", c[name].map((v, k2) => `${k2 ? "L" : "M"}${X(k2).toFixed(1)} ${Y(v).toFixed(1)}`).join(""));
      path.style.stroke = colours[j % colours.length];
    });
    const cursor = createEl("line", "cursor", svg, true);
    Object.entries({ x1: X(k), x2: X(k), y1: 0, y2: h }).forEach(([a, v]) => cursor.setAttribute(a, v));
    const short = { reconstruction: "recon" };
    const legend = names.map((name, j) => `<span style="color:${colours[j % colours.length]}">${short[name] || name} ${c[name][k].toFixed(1)}</span>`);
    if (!this.curveLegend) this.curveLegend = createEl("div", "curve-legend", this.timelineEl);
    this.curveLegend.innerHTML = legend.join(" · ") + " nats";
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
    c.addEventListener("pointercancel", () => { this.drag = null; this.lasso = null; this.drawLasso(); });
    c.addEventListener("pointerleave", () => { if (!this.drag) this.hover(-1); });
    c.addEventListener("wheel", (ev) => this.onWheel(ev), { passive: false });
    c.addEventListener("dblclick", (ev) => { if (this.pickAt(ev) < 0) this.clearSelection(); });
    window.addEventListener("keydown", this.onKey = (ev) => {
      if (ev.key === "Escape" && this.pointerInside && this.root.isConnected) this.clearSelection();
    });
    return true;
  }

  // what tests and benchmarks read
  screenPosition(i) { return this.gl.toScreen(this.gl.ndc[2 * i], this.gl.ndc[2 * i + 1]); }
  selectedPoints() { return this.selected.slice(); }
  pointsDrawn() { return this.gl ? this.gl.n : 0; }
  lineWidths() { return [...this.overlay.querySelectorAll(".lines > *")].map((p) => parseFloat(getComputedStyle(p).strokeWidth)); }

  // the plot's drawing area on the page (client pixels; the canvas is larger, see ui/js/map_gl.js)
  plotBox() {
    const r = this.plot.getBoundingClientRect();
    return { x: r.left + this.plot.clientLeft, y: r.top + this.plot.clientTop, width: this.plotSide, height: this.plotSide };
  }

  // the data coordinates under a client position, or null outside the plot
  dataAtClient(clientX, clientY) {
    const b = this.plotBox();
    const px = clientX - b.x, py = clientY - b.y;
    if (px < 0 || py < 0 || px > b.width || py > b.height) return null;
    return [this.xScale.invert(px), this.yScale.invert(py)];
  }

  viewChanged() {
    if (!this.gl || !this.extent) return;
    const [x0, x1, y0, y1] = this.extent;
    const { scaleLinear } = globalThis.VaeMapLibs;
    const side = this.plotSide;
    // the visible part of the map: ndc [cx - 1/s, cx + 1/s], back to data coordinates
    const v = this.gl.view;
    const fromNdc = (t, a, b) => a + ((t + 1) / 2) * (b - a);
    this.xScale = scaleLinear().domain([fromNdc(v.cx - 1 / v.s, x0, x1), fromNdc(v.cx + 1 / v.s, x0, x1)]).range([0, side]);
    this.yScale = scaleLinear().domain([fromNdc(v.cy - 1 / v.s, y0, y1), fromNdc(v.cy + 1 / v.s, y0, y1)]).range([side, 0]);
    this.frames.push(performance.now());
    if (this.frames.length > 4000) this.frames.splice(0, 2000);
    // While the view moves, the lines and marks drawn for the view it left are moved and scaled with CSS
    // (the compositor's work, not a redraw per frame; while zooming their strokes scale with them), the axes
    // too while it is dragged (a zoom draws them anew: their labels change), and all are drawn again once
    // the view rests or has moved far (3x the zoom, 3/4 of the plot).
    const b = this.builtView;
    clearTimeout(this.restTimer);
    if (b && b.side === side) {
      const k = v.s / b.s;
      const tx = (((b.cx - v.cx) * v.s + 1 - k) / 2) * side, ty = ((1 - (b.cy - v.cy) * v.s - k) / 2) * side;
      if (k > 1 / 3 && k < 3 && Math.abs(tx) < side * 0.75 && Math.abs(ty) < side * 0.75) {
        this.shift(k, tx, ty);
        this.restTimer = setTimeout(() => this.redraw(), 150);
        return;
      }
    }
    this.redraw();
  }

  shift(k, tx, ty) {
    this.overlay.style.transformOrigin = "0 0";
    this.overlay.style.transform = k === 1 && tx === 0 && ty === 0 ? "" : `translate(${tx}px, ${ty}px) scale(${k})`;
    if (k === 1) {
      this.grid.style.transform = tx || ty ? `translate(${tx}px, ${ty}px)` : "";
      this.xTicks.style.transform = tx ? `translateX(${tx}px)` : "";
      this.yTicks.style.transform = ty ? `translateY(${ty}px)` : "";
    } else {
      this.grid.style.transform = this.xTicks.style.transform = this.yTicks.style.transform = "";
      this.drawAxes();
    }
  }

  redraw() {
    clearTimeout(this.restTimer);
    this.shift(1, 0, 0);
    this.builtView = { ...this.gl.view, side: this.plotSide };
    this.drawAxes();
    this.drawOverlay();
  }

  // ---------------------------------------------------------------------------------- pointer
  local(ev) {
    const b = this.plotBox();
    return [ev.clientX - b.x, ev.clientY - b.y];
  }

  pickAt(ev) {
    const [px, py] = this.local(ev);
    return this.gl.pick(px, py);
  }

  onDown(ev) {
    if (ev.button !== 0) return;
    try {
      this.canvas.setPointerCapture(ev.pointerId);  // the drag goes on outside the map
    } catch (err) { /* a pointer the browser does not know (a synthetic one): no capture needed */ }
    this.hover(-1);
    const [px, py] = this.local(ev);
    if (this.mode !== "pan" || ev.shiftKey) {
      this.lasso = { kind: this.mode === "box" ? "box" : "lasso", path: [[px, py]] };
      this.drawLasso();
      return;
    }
    this.drag = { x: px, y: py, view: { ...this.gl.view }, moved: false };
  }

  onMove(ev) {
    this.pointerInside = true;
    this.lastMouse = { clientX: ev.clientX, clientY: ev.clientY };
    const [px, py] = this.local(ev);
    if (this.drag) {
      const dx = px - this.drag.x, dy = py - this.drag.y;
      if (Math.hypot(dx, dy) > 4) this.drag.moved = true;
      if (this.drag.moved) {
        const v = this.drag.view, k = 2 / this.plotSide / v.s;
        this.gl.setView({ cx: v.cx - dx * k, cy: v.cy + dy * k, s: v.s });
      }
      return;
    }
    if (this.lasso) {
      const path = this.lasso.path;
      const last = path[path.length - 1];
      if (Math.hypot(px - last[0], py - last[1]) >= 3) {
        if (this.lasso.kind === "box") this.lasso.path = [path[0], [px, py]];
        else path.push([px, py]);
        this.drawLasso();
      }
      return;
    }
    const p = this.dataAtClient(ev.clientX, ev.clientY);
    if (p) window.dispatchEvent(new CustomEvent("vae-map-pointer", { detail: { key: this.d.key, x: p[0], y: p[1] } }));
    this.hover(this.gl.pick(px, py));
    if (this.hovered >= 0) this.placeTip(ev);
  }

  onUp(ev) {
    const [px, py] = this.local(ev);
    if (this.lasso) {
      const { kind } = this.lasso;
      let path = this.lasso.path;
      if (kind === "box" && path.length === 2) {
        const [[ax, ay], [bx, by]] = [path[0], [px, py]];
        path = [[ax, ay], [bx, ay], [bx, by], [ax, by]];
      } else {
        path.push([px, py]);
      }
      this.lasso = null;
      this.drawLasso();
      if (path.length >= 3) this.choose(this.gl.inside(path), kind);
      return;
    }
    const drag = this.drag;
    this.drag = null;
    if (!drag || drag.moved) return;
    const hit = this.gl.pick(px, py);  // a click: on a dot, that image; on empty space, that location
    if (hit >= 0) {
      this.choose([hit], "click");
      return;
    }
    const p = this.dataAtClient(ev.clientX, ev.clientY);
    if (!p) return;
    this.setSelected([]);
    this.location = p;
    this.redraw();
    this.drawLines();
    this.send("location", [], p);
  }

  onWheel(ev) {
    ev.preventDefault();
    const [px, py] = this.local(ev);
    const v = this.gl.view;
    const [x, y] = this.gl.toNdc(px, py);
    const s = Math.min(Math.max(v.s * Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), 0.5), 400);
    // keep the point under the pointer where it is
    this.gl.setView({ cx: x - (x - v.cx) * (v.s / s), cy: y - (y - v.cy) * (v.s / s), s });
  }

  choose(points, kind) {
    this.setSelected(points);
    this.location = null;
    this.redraw();
    this.drawLines();
    this.send(points.length ? kind : "none", points, null);
  }

  clearSelection() {
    this.setSelected([]);
    this.location = null;
    this.redraw();
    this.drawLines();
    this.send("none", [], null);
  }

  setSelected(points) {
    this.selected = points.slice();
    this.gl.setSelected(this.selected);
  }

  hover(i) {
    if (i === this.hovered) return;
    this.hovered = i;
    if (i < 0) this.tip.style.display = "none";
    else this.showTip(i);
    this.redraw();
  }

  applySelection(select) {
    if (!select || select.token === this.appliedToken) return;
    this.appliedToken = select.token;
    const points = (select.points || []).filter((i) => i >= 0 && i < this.gl.n);
    this.setSelected(points);
    this.location = points.length ? null : (select.location || null);
  }

  // ---------------------------------------------------------------------------------- hover preview
  images(json, parts) {
    const im = json.images;
    if (!im) { this.imageKey = null; return; }
    this.imageKey = im.key;
    if (parts.images) IMAGE_CACHE.set(im.key, inflate(parts.images));
    else if (!IMAGE_CACHE.has(im.key) && this.askedFor !== im.key) {
      // this window lacks them: ask once the points are on screen (the first screen does not wait for them)
      this.askedFor = im.key;
      this.asks = (this.asks || 0) + 1;
      const request = { key: im.key, n: this.asks };
      requestAnimationFrame(() => requestAnimationFrame(() => this.setStateValue("need_images", request)));
    }
    this.imageShape = [im.h, im.w, im.c];
  }

  showTip(i) {
    const d = this.d;
    const cls = d.classes[this.labels[i]];
    this.tipText.textContent = `${cls ? cls.name : this.labels[i]} · image #${i}`;
    this.tipCanvas.dataset.index = String(i);
    const key = this.imageKey;
    const pending = key && IMAGE_CACHE.get(key);
    this.tipCanvas.style.display = "none";
    this.tip.style.display = "block";
    if (this.lastMouse) this.placeTip(this.lastMouse);
    if (!pending) return;
    pending.then((pixels) => {
      if (this.hovered !== i || this.imageKey !== key) return;
      const [h, w, c] = this.imageShape;
      const scale = Math.max(1, Math.floor(TIP_SIDE / Math.max(h, w)));
      const small = document.createElement("canvas");
      small.width = w; small.height = h;
      const ctx = small.getContext("2d");
      const img = ctx.createImageData(w, h);
      const off = i * h * w * c;
      for (let p = 0; p < h * w; p++) {
        const v = pixels.subarray(off + p * c, off + p * c + c);
        img.data[4 * p] = v[0]; img.data[4 * p + 1] = c === 3 ? v[1] : v[0];
        img.data[4 * p + 2] = c === 3 ? v[2] : v[0]; img.data[4 * p + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      const t = this.tipCanvas;
      t.width = w * scale; t.height = h * scale;
      t.style.width = `${w * scale}px`; t.style.height = `${h * scale}px`;
      const tc = t.getContext("2d");
      tc.imageSmoothingEnabled = false;
      tc.drawImage(small, 0, 0, w * scale, h * scale);
      t.style.display = "block";
    });
  }

  placeTip(ev) {
    const w = this.tip.offsetWidth || TIP_SIDE + 10, h = this.tip.offsetHeight || TIP_SIDE + 30;
    this.tip.style.left = `${Math.round(Math.min(ev.clientX + 18, window.innerWidth - w - 8))}px`;
    this.tip.style.top = `${Math.round(Math.min(ev.clientY + 18, window.innerHeight - h - 8))}px`;
  }

  // ---------------------------------------------------------------------------------- layout
  legendItems() {
    const d = this.d;
    return d.counts.filter((c) => c > 0).length + (d.prior && d.prior.length ? 1 : 0) + (d.ellipses ? 1 : 0)
      + (d.density ? 1 : 0);
  }

  // The figure is square and as large as the column allows, and the figure with its legend ends above the
  // bottom of the window (from where the page puts it), so labels and legend are seen without scrolling.
  layout() {
    const d = this.d;
    const font = d.presenter ? d.font_px_presenter : d.font_px;
    this.root.style.setProperty("--map-font", `${font}px`);
    const left = Math.round(font * 4.4), bottom = Math.round(font * 3.2), gap = 16;
    const width = this.root.clientWidth || this.root.getBoundingClientRect().width || 600;
    const host = this.root.getRootNode().host || this.root;
    const scroller = scrollParent(this.root);
    const top = host.getBoundingClientRect().top + (scroller ? scroller.scrollTop : window.scrollY)
      - (scroller ? scroller.getBoundingClientRect().top : 0);
    const room = window.innerHeight - Math.max(top, 0) - 14;  // height from the figure's top to the window's bottom
    // the training's timeline (its play row, curve of 3.5 fonts and the curve's legend): beside the map under
    // the legend when the side column has the height for it (the larger map of the two), else under the map
    const timelineH = d.timeline ? Math.round(font * 7 + 18) : 0;
    const rowH = font * 1.45, toolH = font * 2.0 * 2;
    const minSide = 170;
    const items = this.legendItems();
    const legendCols = (height) => Math.max(1, Math.ceil(items / Math.max(1, Math.floor((height - toolH) / rowH))));
    let side = Math.min(width - left - gap - minSide, room - bottom - timelineH);
    let cols = legendCols(side + bottom);
    let sideWidth = Math.max(minSide, Math.round(cols * font * 8));
    side = Math.min(width - left - gap - sideWidth, room - bottom - timelineH);
    let below = false;
    const belowHeight = () => {
      const perRow = Math.max(1, Math.floor((width - 8) / (font * 7.5)));
      return Math.ceil(items / perRow) * rowH + toolH / 2 + 8;
    };
    const sideBelow = Math.min(width - left - 8, room - bottom - timelineH - belowHeight());
    if (sideBelow > side + 40) {  // the legend beside the map would shrink it: below is better
      below = true;
      side = sideBelow;
    }
    let timelineBeside = false;
    if (timelineH) {
      for (let c = 1; c <= 3; c++) {  // the timeline in the side column: the legend in c columns above it
        const w2 = Math.max(Math.round(font * 15), Math.round(c * font * 8));
        const s2 = Math.min(width - left - gap - w2, room - bottom);
        if (toolH + Math.ceil(items / c) * rowH + timelineH <= s2 + bottom && s2 > side) {
          side = s2; below = false; cols = c; timelineBeside = true;
          break;
        }
      }
    }
    side = Math.max(260, Math.floor(side));
    if (!below && !timelineBeside) cols = legendCols(side + bottom);
    sideWidth = Math.max(timelineBeside ? Math.round(font * 15) : minSide, Math.round(cols * font * 8));
    this.timelineBeside = timelineBeside;
    if (this.timelineEl) {
      if (timelineBeside && this.timelineEl.parentNode !== this.side) this.side.appendChild(this.timelineEl);
      if (!timelineBeside && this.timelineEl.parentNode !== this.mainCol) this.mainCol.appendChild(this.timelineEl);
    }
    const key = [side, below, left, cols, width, timelineBeside].join();
    if (this.layoutKey === key) return;
    this.layoutKey = key;
    this.plotSide = side;
    this.below = below;
    this.left = left;
    this.root.classList.toggle("legend-below", below);
    this.legend.style.columnCount = below ? "" : String(cols);
    Object.assign(this.figure.style, { width: `${left + side}px`, height: `${side + bottom}px` });
    Object.assign(this.plot.style, { left: `${left}px`, width: `${side}px`, height: `${side}px` });
    this.side.style.width = below ? `${left + side}px` : `${sideWidth}px`;
    if (this.timelineEl) this.timelineEl.style.width = timelineBeside ? `${sideWidth}px` : `${left + side}px`;
    this.showFrame();  // the loss curve fits the new width
    Object.assign(this.yTicks.style, { width: `${left - Math.round(font * 0.5)}px`, height: `${side}px`,
                                       clipPath: `inset(${-font}px -4px ${-font}px -4px)` });
    Object.assign(this.xTicks.style, { top: `${side + Math.round(font * 0.35)}px`, width: `${left + side}px`,
                                       height: `${Math.round(font * 1.4)}px`,
                                       clipPath: `inset(-4px ${-2 * font}px -4px ${left - 2 * font}px)` });
    Object.assign(this.xTitle.style, { top: `${side + Math.round(font * 1.75)}px`, left: `${left}px`, width: `${side}px` });
    Object.assign(this.yTitle.style, { left: "0px", top: "0px", height: `${side}px`, width: `${Math.round(font * 1.3)}px` });
    for (const svg of [this.grid, this.overlay]) {
      svg.setAttribute("width", side); svg.setAttribute("height", side);
    }
    if (this.gl) {
      this.gl.setSize(side, this.d.point_size);
      this.builtView = null;
      this.viewChanged();
    }
  }

  // ---------------------------------------------------------------------------------- axes, legend, overlay
  drawAxes() {
    if (!this.xScale || !this.plotSide) return;
    const side = this.plotSide;
    const n = Math.max(3, Math.round(side / 75));
    const xs = this.xScale.copy().range([0, side]), ys = this.yScale.copy().range([side, 0]);
    const fmt = (v) => {
      const a = Math.abs(v);
      return a >= 1000 || (a > 0 && a < 0.01) ? v.toExponential(0) : String(+v.toFixed(2));
    };
    this.grid.innerHTML = "";
    this.xTicks.innerHTML = "";
    this.yTicks.innerHTML = "";
    for (const t of xs.ticks(n)) {
      const px = xs(t);
      const line = createEl("line", t === 0 && this.d.zero_lines ? "zero" : "", this.grid, true);
      Object.entries({ x1: px, x2: px, y1: 0, y2: side }).forEach(([k, v]) => line.setAttribute(k, v));
      const lab = createEl("div", "tick", this.xTicks);
      lab.textContent = fmt(t);
      lab.style.left = `${this.left + px}px`;
    }
    for (const t of ys.ticks(n)) {
      const py = ys(t);
      const line = createEl("line", t === 0 && this.d.zero_lines ? "zero" : "", this.grid, true);
      Object.entries({ x1: 0, x2: side, y1: py, y2: py }).forEach(([k, v]) => line.setAttribute(k, v));
      const lab = createEl("div", "tick", this.yTicks);
      lab.textContent = fmt(t);
      lab.style.top = `${py}px`;
    }
  }

  drawLegend() {
    const d = this.d;
    const sig = JSON.stringify([d.classes, d.prior, d.density, d.counts]);
    if (this.legendSig === sig) return;
    this.legendSig = sig;
    this.legend.innerHTML = "";
    d.classes.forEach((c, k) => {
      if (!d.counts[k]) return;
      const item = createEl("button", "item", this.legend);
      item.type = "button";
      item.title = `Select every ${c.name} (${d.counts[k].toLocaleString()} images)`;
      const sw = createEl("span", "swatch", item);
      sw.style.background = c.colour;
      createEl("span", "name", item).textContent = c.name;
      item.addEventListener("click", () => this.selectClass(k));
    });
    if (d.prior && d.prior.length) {
      const item = createEl("div", "item static", this.legend);
      createEl("span", "swatch ring", item);
      createEl("span", "name", item).textContent =
        `prior ${d.prior_name || "N(0, I)"}: ${d.prior.map((p) => p.sigma).join(", ")}σ`;
    }
    if (d.ellipses) {
      const item = createEl("div", "item static", this.legend);
      createEl("span", "swatch ellipse", item);
      createEl("span", "name", item).textContent = "q(z|x): 1σ";
    }
    if (d.density) {
      const item = createEl("div", "item static", this.legend);
      createEl("span", "swatch density", item);
      createEl("span", "name", item).textContent = "density contours";
    }
  }

  selectClass(k) {
    const idx = [];
    for (let i = 0; i < this.d.n; i++) if (this.labels[i] === k) idx.push(i);
    this.choose(idx, "class");
  }

  // screen-space marks: the prior's labels, the clicked location, the hovered dot's ring
  drawOverlay() {
    if (!this.xScale || !this.plotSide) return;
    const xs = this.xScale, ys = this.yScale;
    if (!this.marks) {
      this.lines = createEl("g", "lines", this.overlay, true);
      this.marks = createEl("g", "marks", this.overlay, true);
      this.lassoPath = createEl("path", "lasso", this.overlay, true);
    }
    // the lines are drawn in map coordinates: one transform places them
    const ax = xs(1) - xs(0), ay = ys(1) - ys(0);
    this.lines.setAttribute("transform", `matrix(${ax} 0 0 ${ay} ${xs(0)} ${ys(0)})`);
    const o = this.marks;
    o.innerHTML = "";
    for (const p of this.d.prior || []) {
      const t = createEl("text", "prior-label", o, true);
      t.setAttribute("x", xs(p.label[0]) + 6);
      t.setAttribute("y", ys(p.label[1]) - 6);
      t.textContent = `${p.sigma}σ`;
    }
    if (this.location) {
      const c = createEl("circle", "ring", o, true);
      c.setAttribute("cx", xs(this.location[0]));
      c.setAttribute("cy", ys(this.location[1]));
      c.setAttribute("r", this.d.presenter ? 15 : 11);
    }
    if (this.hovered >= 0 && this.gl) {
      const [hx, hy] = this.screenPosition(this.hovered);
      const c = createEl("circle", "hover-ring", o, true);
      c.setAttribute("cx", hx);
      c.setAttribute("cy", hy);
      c.setAttribute("r", this.gl.pointSize() / 2 + 3);
    }
  }

  drawLasso() {
    if (!this.lassoPath) this.drawOverlay();
    const path = this.lasso ? this.lasso.path : [];
    let pts = path;
    if (this.lasso && this.lasso.kind === "box" && path.length === 2) {
      const [[ax, ay], [bx, by]] = path;
      pts = [[ax, ay], [bx, ay], [bx, by], [ax, by]];
    }
    this.lassoPath.setAttribute("d", pts.length > 1 ? "M" + pts.map((q) => q.join(" ")).join(" L") + " Z" : "");
  }

  // lines in map coordinates, kept 2 px (3 px in presenter mode) wide whatever the zoom
  drawLines() {
    if (!this.xy || !this.gl) return;
    if (!this.lines) this.drawOverlay();
    const d = this.d;
    const g = this.lines;
    g.innerHTML = "";
    if (d.density) {
      for (const ring of this.densityRings()) {
        const path = createEl("path", "density", g, true);
        path.setAttribute("d", ring);
      }
    }
    for (const p of d.prior || []) {
      const e = createEl("path", "prior", g, true);
      e.setAttribute("d", p.d);
    }
    if (this.sigma && d.ellipses) {
      const chosen = this.selected;
      const step = Math.max(1, Math.ceil(chosen.length / d.ellipse_limit));  // an even share of a large selection
      const which = chosen.length ? chosen.filter((_, k) => k % step === 0) : (d.ellipse_sample || []);
      for (const i of which) {
        const e = createEl("ellipse", chosen.length ? "posterior chosen" : "posterior", g, true);
        Object.entries({ cx: this.xy[2 * i], cy: this.xy[2 * i + 1], rx: this.sigma[2 * i], ry: this.sigma[2 * i + 1] })
          .forEach(([k, v]) => e.setAttribute(k, v));
        const cls = d.classes[this.labels[i]];
        e.style.stroke = cls ? cls.colour : "#333";
      }
    }
    this.root.dataset.lines = String(g.childElementCount);
  }

  densityRings() {
    if (this.density) return this.density;
    const { contourDensity } = globalThis.VaeMapLibs;
    const G = 300, n = this.d.n;
    const [x0, x1, y0, y1] = this.extent;
    const pts = new Array(n);
    for (let i = 0; i < n; i++) pts[i] = i;
    const gx = (i) => ((this.xy[2 * i] - x0) / (x1 - x0)) * G;
    const gy = (i) => ((y1 - this.xy[2 * i + 1]) / (y1 - y0)) * G;
    const levels = contourDensity().x(gx).y(gy).size([G, G]).bandwidth(Math.max(4, G / 45)).thresholds(7)(pts);
    const rings = [];
    for (const level of levels.slice(1)) {
      for (const polygon of level.coordinates) {
        for (const ring of polygon) {
          if (ring.length < 4) continue;
          rings.push("M" + ring.map(([x, y]) => `${(x0 + (x / G) * (x1 - x0)).toFixed(4)} ${(y1 - (y / G) * (y1 - y0)).toFixed(4)}`)
            .join(" L") + " Z");
        }
      }
    }
    this.density = rings;
    return rings;
  }

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
    this.stopPlay();
    if (MAPS[this.d && this.d.key] === this) delete MAPS[this.d.key];
  }
}

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json, parts } = unpackParts(component.data);
  if (!json || !json.key) return;
  const root = parentElement.querySelector(".vae-map");
  if (!root) return;
  const map = root.__vaeMap || (root.__vaeMap = new LatentMap(root, setStateValue));
  map.setStateValue = setStateValue;
  map.update(json, parts);
  if (!root.__vaeWatch) {  // the page above the map settles after it (controls, images): keep it on screen
    const relayout = () => { if (root.isConnected && root.__vaeMap && root.__vaeMap.gl) root.__vaeMap.layout(); };
    root.__vaeWatch = setInterval(() => {
      if (!root.isConnected) { clearInterval(root.__vaeWatch); root.__vaeWatch = null; if (root.__vaeMap) root.__vaeMap.destroy(); root.__vaeMap = null; return; }
      relayout();
    }, 400);
    window.addEventListener("resize", relayout);
  }
  return () => {};
}
