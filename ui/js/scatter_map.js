// The latent map: every encoded image as one point, drawn with WebGL by regl-scatterplot
// (ui/vendor/map_libs.js, which sets globalThis.VaeMapLibs; ui/scatter_map.py puts it before this code).
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
const ELLIPSE_VERTICES = 40;
const PRIOR_VERTICES = 120;

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
    this.frames = [];  // draw timestamps, for the frame benchmark (bench/map_frames.py)
    this.build();
  }

  build() {
    const r = this.root;
    r.innerHTML = "";
    this.figure = createEl("div", "figure", r);
    this.yTitle = createEl("div", "axis-title y", this.figure);
    this.plot = createEl("div", "plot", this.figure);
    this.grid = createEl("svg", "grid", this.plot, true);
    this.canvas = createEl("canvas", "points", this.plot);
    this.canvas.setAttribute("aria-label", "the latent map: every encoded test image as a point");
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
    const sp = this.scatterplot;
    if (!sp) return;
    if (name === "reset") { sp.reset(); return; }
    if (name === "clear") {
      sp.deselect({ preventEvent: true });
      this.location = null;
      this.drawOverlay();
      this.drawAnnotations();
      this.send("none", [], null);
      return;
    }
    if (name === "save") { this.savePng(); return; }
    this.mode = name;
    sp.set({ mouseMode: name === "pan" ? "panZoom" : "lasso", lassoType: name === "box" ? "rectangle" : "freeform" });
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
    if (parts.xy) {
      this.xy = parts.xy;
      this.labels = parts.labels;
      this.sigma = parts.sigma || null;
    }
    const [x0, x1, y0, y1] = json.extent;
    this.extent = json.extent;
    this.toNdcX = (x) => ((x - x0) / (x1 - x0)) * 2 - 1;
    this.toNdcY = (y) => ((y - y0) / (y1 - y0)) * 2 - 1;
    this.root.classList.toggle("presenter", !!json.presenter);
    this.images(json, parts);
    this.layout();
    if (!this.scatterplot && !this.createScatterplot()) return;
    const sp = this.scatterplot;
    const newView = this.viewId !== json.view_id;
    sp.set({
      pointColor: json.classes.map((c) => c.colour),
      pointColorActive: json.classes.map((c) => c.colour),
      pointSize: json.point_size, pointSizeSelected: json.point_size * 1.6, pointOutlineWidth: 2,
    });
    if (newView || parts.xy) {
      const x = new Float32Array(n), y = new Float32Array(n), a = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x[i] = this.toNdcX(this.xy[2 * i]);
        y[i] = this.toNdcY(this.xy[2 * i + 1]);
        a[i] = this.labels[i];
      }
      this.drawn = sp.draw({ x, y, valueA: a }, { preventFilterReset: false }).then(() => {
        this.root.dataset.points = String(sp.get("points").length);
      });
      if (newView) {
        this.viewId = json.view_id;
        sp.reset({ preventEvent: true });
        this.location = null;
        this.appliedToken = null;
      }
    }
    this.xTitle.textContent = json.axis_titles[0];
    this.yTitle.textContent = json.axis_titles[1];
    this.drawLegend();
    Promise.resolve(this.drawn).then(() => {
      this.applySelection(json.select);
      this.drawAnnotations();
      this.drawAxes();
      this.drawOverlay();
    });
    MAPS[json.key] = this;
  }

  createScatterplot() {
    const { createScatterplot, scaleLinear } = globalThis.VaeMapLibs || {};
    const [x0, x1, y0, y1] = this.extent;
    this.xScale = scaleLinear().domain([x0, x1]);
    this.yScale = scaleLinear().domain([y0, y1]);
    try {
      this.scatterplot = createScatterplot({
        canvas: this.canvas, width: this.plotSide, height: this.plotSide,
        xScale: this.xScale, yScale: this.yScale,
        backgroundColor: [1, 1, 1, 1], colorBy: "valueA", pointScaleMode: "asinh",
        opacityInactiveMax: 0.3, opacityInactiveScale: 0.3, lassoColor: [0.1, 0.1, 0.1, 0.9],
        lassoLineWidth: 2, lassoMinDelay: 8, lassoMinDist: 4, deselectOnDblClick: true, deselectOnEscape: true,
        annotationLineColor: [0.2, 0.2, 0.2, 0.8], annotationLineWidth: 2, showReticle: false,
      });
    } catch (err) {
      this.note.textContent = "This browser cannot draw WebGL, which the map needs: turn on hardware acceleration, "
        + "or use the 'Download the map (PNG)' button below. (" + err.message + ")";
      this.note.classList.add("error");
      return false;
    }
    const sp = this.scatterplot;
    sp.subscribe("view", ({ xScale, yScale }) => {
      this.xScale = xScale; this.yScale = yScale;
      this.frames.push(performance.now());
      if (this.frames.length > 2000) this.frames.splice(0, 1000);
      this.drawAxes();
      this.drawOverlay();
    });
    sp.subscribe("pointOver", (i) => { this.hovered = i; this.showTip(i); });
    sp.subscribe("pointOut", () => { this.hovered = -1; this.tip.style.display = "none"; });
    sp.subscribe("lassoStart", () => { this.lassoing = true; });
    sp.subscribe("select", ({ points }) => {
      this.selectCount = (this.selectCount || 0) + 1;
      const kind = this.lassoing ? (this.mode === "box" ? "box" : "lasso") : "click";
      this.lassoing = false;
      this.location = null;
      this.drawOverlay();
      this.drawAnnotations();
      this.send(kind, points, null);
    });
    sp.subscribe("deselect", () => {  // a double click on empty space, or Esc (the page's own calls send no event)
      this.drawAnnotations();
      this.send("none", [], null);
    });
    const c = this.canvas;
    c.addEventListener("pointerdown", (ev) => { this.down = [ev.clientX, ev.clientY]; this.tip.style.display = "none"; });
    c.addEventListener("click", (ev) => this.onClick(ev));
    c.addEventListener("mousemove", (ev) => this.onMove(ev));
    c.addEventListener("mouseleave", () => { this.tip.style.display = "none"; });
    return true;
  }

  // ---------------------------------------------------------------------------------- pointer
  dataAt(ev) {
    const rect = this.canvas.getBoundingClientRect();
    const px = ev.clientX - rect.left, py = ev.clientY - rect.top;
    if (px < 0 || py < 0 || px > rect.width || py > rect.height) return null;
    return [this.xScale.invert(px), this.yScale.invert(py)];
  }

  onMove(ev) {
    this.lastMouse = { clientX: ev.clientX, clientY: ev.clientY };
    const p = this.dataAt(ev);
    if (!p) return;
    window.dispatchEvent(new CustomEvent("vae-map-pointer", { detail: { key: this.d.key, x: p[0], y: p[1] } }));
    if (this.hovered >= 0) this.placeTip(ev);
  }

  onClick(ev) {
    if (this.mode !== "pan" || ev.shiftKey || !this.down) return;
    if (Math.hypot(ev.clientX - this.down[0], ev.clientY - this.down[1]) > 4) return;  // a drag (pan), not a click
    const p = this.dataAt(ev);
    if (!p) return;
    // A click on a dot makes regl-scatterplot select it (its "select" event follows at once); a click that
    // selected nothing chose a location on the map.
    const before = this.selectCount;
    clearTimeout(this.clickTimer);
    this.clickTimer = setTimeout(() => {
      if (this.selectCount !== before) return;
      this.location = p;
      this.scatterplot.deselect({ preventEvent: true });
      this.drawOverlay();
      this.drawAnnotations();
      this.send("location", [], p);
    }, 120);
  }

  applySelection(select) {
    if (!select || select.token === this.appliedToken) return;
    this.appliedToken = select.token;
    if (select.points && select.points.length) {
      this.scatterplot.select(select.points, { preventEvent: true });
      this.location = null;
    } else {
      this.scatterplot.deselect({ preventEvent: true });
      this.location = select.location || null;
    }
  }

  // ---------------------------------------------------------------------------------- hover preview
  images(json, parts) {
    const im = json.images;
    if (!im) { this.imageKey = null; return; }
    this.imageKey = im.key;
    if (parts.images) IMAGE_CACHE.set(im.key, inflate(parts.images));
    else if (!IMAGE_CACHE.has(im.key)) this.setStateValue("need_images", im.key);  // this window lacks them
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
    const rowH = font * 1.45, toolH = font * 2.0 * 2;
    const items = this.legendItems();
    const legendCols = (height) => Math.max(1, Math.ceil(items / Math.max(1, Math.floor((height - toolH) / rowH))));
    let side = Math.min(width - left - gap - 170, room - bottom);
    let cols = legendCols(side + bottom);
    let sideWidth = Math.max(170, Math.round(cols * font * 8));
    side = Math.min(width - left - gap - sideWidth, room - bottom);
    let below = false;
    const belowHeight = () => {
      const perRow = Math.max(1, Math.floor((width - 8) / (font * 7.5)));
      return Math.ceil(items / perRow) * rowH + toolH / 2 + 8;
    };
    const sideBelow = Math.min(width - left - 8, room - bottom - belowHeight());
    if (sideBelow > side + 40) {  // the legend beside the map would shrink it: below is better
      below = true;
      side = sideBelow;
    }
    side = Math.max(260, Math.floor(side));
    if (!below) cols = legendCols(side + bottom);
    sideWidth = Math.max(170, Math.round(cols * font * 8));
    const key = [side, below, left, cols, width].join();
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
    Object.assign(this.yTicks.style, { width: `${left - Math.round(font * 0.5)}px`, height: `${side}px` });
    Object.assign(this.xTicks.style, { top: `${side + Math.round(font * 0.35)}px`, width: `${left + side}px` });
    Object.assign(this.xTitle.style, { top: `${side + Math.round(font * 1.75)}px`, left: `${left}px`, width: `${side}px` });
    Object.assign(this.yTitle.style, { left: "0px", top: "0px", height: `${side}px`, width: `${Math.round(font * 1.3)}px` });
    for (const svg of [this.grid, this.overlay]) {
      svg.setAttribute("width", side); svg.setAttribute("height", side);
    }
    this.canvas.style.width = `${side}px`;
    this.canvas.style.height = `${side}px`;
    if (this.scatterplot) this.scatterplot.set({ width: side, height: side });
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
      createEl("span", "name", item).textContent = `prior N(0, I): ${d.prior.join(", ")}σ`;
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
    this.scatterplot.select(idx, { preventEvent: true });
    this.location = null;
    this.drawOverlay();
    this.drawAnnotations();
    this.send("class", idx, null);
  }

  drawOverlay() {
    if (!this.xScale || !this.plotSide) return;
    const side = this.plotSide;
    const xs = this.xScale.copy().range([0, side]), ys = this.yScale.copy().range([side, 0]);
    const o = this.overlay;
    o.innerHTML = "";
    for (const r of this.d.prior || []) {
      const t = createEl("text", "prior-label", o, true);
      t.setAttribute("x", xs(r * 0.7071) + 6);
      t.setAttribute("y", ys(r * 0.7071) - 6);
      t.textContent = `${r}σ`;
    }
    if (this.location) {
      const c = createEl("circle", "ring", o, true);
      c.setAttribute("cx", xs(this.location[0]));
      c.setAttribute("cy", ys(this.location[1]));
      c.setAttribute("r", this.d.presenter ? 15 : 11);
    }
  }

  drawAnnotations() {
    const sp = this.scatterplot;
    if (!sp || !this.xy) return;
    const d = this.d;
    const lw = d.presenter ? 3 : 2;
    const out = [];
    const poly = (xs, ys, colour, width) => {
      const vertices = [];
      for (let k = 0; k < xs.length; k++) vertices.push([this.toNdcX(xs[k]), this.toNdcY(ys[k])]);
      out.push({ vertices, lineColor: colour, lineWidth: width });
    };
    const ellipse = (cx, cy, rx, ry, m) => {
      const xs = [], ys = [];
      for (let k = 0; k <= m; k++) {
        const a = (2 * Math.PI * k) / m;
        xs.push(cx + rx * Math.cos(a)); ys.push(cy + ry * Math.sin(a));
      }
      return [xs, ys];
    };
    if (d.density) this.densityContours(out, lw);
    for (const r of d.prior || []) poly(...ellipse(0, 0, r, r, PRIOR_VERTICES), [0.2, 0.2, 0.2, 0.75], lw);
    if (this.sigma && d.ellipses) {
      const chosen = sp.get("selectedPoints");
      const step = Math.max(1, Math.ceil(chosen.length / d.ellipse_limit));  // an even share of a large selection
      const which = chosen.length ? chosen.filter((_, k) => k % step === 0) : (d.ellipse_sample || []);
      for (const i of which) {
        const rgb = hexRgb(d.classes[this.labels[i]] ? d.classes[this.labels[i]].colour : "#333333");
        poly(...ellipse(this.xy[2 * i], this.xy[2 * i + 1], this.sigma[2 * i], this.sigma[2 * i + 1], ELLIPSE_VERTICES),
          [rgb[0] * 0.7, rgb[1] * 0.7, rgb[2] * 0.7, chosen.length ? 0.95 : 0.6], lw);
      }
    }
    this.lastAnnotations = out;  // for the tests: every line at least 2 px wide
    this.root.dataset.annotations = String(out.length);
    if (out.length) sp.drawAnnotations(out);
    else sp.clearAnnotations();
  }

  densityContours(out, lw) {
    const { contourDensity } = globalThis.VaeMapLibs;
    const G = 300;
    const n = this.d.n;
    if (!this.density || this.densityFor !== this.xy) {
      const pts = new Array(n);
      for (let i = 0; i < n; i++) pts[i] = i;
      const gx = (i) => ((this.toNdcX(this.xy[2 * i]) + 1) / 2) * G;
      const gy = (i) => ((1 - this.toNdcY(this.xy[2 * i + 1])) / 2) * G;
      this.density = contourDensity().x(gx).y(gy).size([G, G]).bandwidth(Math.max(4, G / 45)).thresholds(7)(pts);
      this.densityFor = this.xy;
    }
    for (const level of this.density.slice(1)) {
      for (const polygon of level.coordinates) {
        for (const ring of polygon) {
          if (ring.length < 4) continue;
          out.push({ vertices: ring.map(([x, y]) => [(x / G) * 2 - 1, 1 - (y / G) * 2]),
                     lineColor: [0.1, 0.1, 0.35, 0.7], lineWidth: lw });
        }
      }
    }
  }

  async savePng() {
    const side = this.plotSide;
    const image = await this.scatterplot.export({ scale: 2 });
    const c = document.createElement("canvas");
    c.width = image.width; c.height = image.height;
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, c.width, c.height);
    const tmp = document.createElement("canvas");
    tmp.width = image.width; tmp.height = image.height;
    tmp.getContext("2d").putImageData(image, 0, 0);
    ctx.drawImage(tmp, 0, 0);
    const a = document.createElement("a");
    a.href = c.toDataURL("image/png");
    a.download = `${this.d.file_stem || "latent-map"}-view.png`;
    a.click();
    return side;
  }

  destroy() {
    if (this.scatterplot) this.scatterplot.destroy();
    this.scatterplot = null;
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
    const relayout = () => { if (root.isConnected && root.__vaeMap) { root.__vaeMap.layout(); root.__vaeMap.drawAxes(); root.__vaeMap.drawOverlay(); } };
    root.__vaeWatch = setInterval(() => {
      if (!root.isConnected) { clearInterval(root.__vaeWatch); root.__vaeWatch = null; if (root.__vaeMap) root.__vaeMap.destroy(); root.__vaeMap = null; return; }
      relayout();
    }, 400);
    window.addEventListener("resize", relayout);
  }
  return () => {};
}
