// The latent map's points on WebGL (regl, from ui/vendor/map_libs.js): a camera, the point layer and the
// lookup of the point under the pointer. ui/js/map/ builds the figure around it.
//
// Coordinates: map (data) coordinates are normalised once to [-1, 1] ("ndc"); the camera's view is
// {cx, cy, s}: the ndc point at the canvas centre and the zoom (1: the whole extent fills the canvas).
//
// How it stays at 60 frames a second without a GPU (headless Chromium draws WebGL in software, where a
// new WebGL frame costs far more than a frame's time, and more with more points): the points are drawn only
// when the view rests, onto a canvas twice the plot's size (the plot shows its middle); while the view
// moves, the canvas is moved and scaled with CSS, which the compositor does without a new WebGL frame. It is
// drawn again REST_MS after the view stops, or at once when the view moves past what it covers or zooms more
// than ZOOM_SPAN times from it. Panning shows the very pixels drawing the points would; a zoom shows them scaled until
// the view rests. bench/map_frames.py times the frames.

const REST_MS = 150;
const MARGIN = 2;  // the canvas is MARGIN times the plot's side
const ZOOM_SPAN = 3;  // a zoom of more than this from the drawn view draws the points again at once

class MapGL {
  constructor(canvas, onView) {
    const { createREGL } = globalThis.VaeMapLibs;
    this.canvas = canvas;
    this.onView = onView;
    this.regl = createREGL({ canvas, extensions: ["OES_element_index_uint"],
                             attributes: { antialias: false, alpha: true, premultipliedAlpha: true,
                                           preserveDrawingBuffer: false } });
    this.view = { cx: 0, cy: 0, s: 1 };
    this.n = 0;
    this.anySelected = false;
    this.size = 6;
    this.side = 1;
    this.dpr = window.devicePixelRatio || 1;
    this.drawn = null;  // the view the canvas shows, drawn for
    this.dirty = true;
    this.drawCount = 0;  // times the points were drawn (the tests and benchmarks read it)
    this.renders = 0;
    this.buildCommands();
    this.loop = this.regl.frame(() => this.frame());
  }

  buildCommands() {
    const regl = this.regl;
    this.position = regl.buffer({ usage: "static", type: "float", length: 8 });
    this.colour = regl.buffer({ usage: "static", type: "float", length: 12 });
    this.state = regl.buffer({ usage: "dynamic", type: "float", length: 4 });
    this.selectedElements = regl.elements({ usage: "dynamic", primitive: "points", type: "uint32", length: 4 });
    const vert = `
      precision highp float;
      attribute vec2 position;
      attribute vec3 colour;
      attribute float state;
      uniform vec2 centre;
      uniform float scale, size, anySelected, selectedPass;
      varying vec3 vColour;
      varying float vGrey, vRing;
      void main() {
        gl_Position = vec4((position - centre) * scale, 0.0, 1.0);
        float selected = step(0.5, state);
        vGrey = anySelected * (1.0 - selected) * (1.0 - selectedPass);
        vRing = selectedPass;
        vColour = colour;
        gl_PointSize = size * (1.0 + 0.7 * selectedPass);
      }`;
    const frag = `
      precision highp float;
      varying vec3 vColour;
      varying float vGrey, vRing;
      uniform float size;
      void main() {
        vec2 d = gl_PointCoord - 0.5;
        float r = length(d) * 2.0;
        if (r > 1.0) discard;
        vec3 c = mix(vColour, vec3(0.86), 0.78 * vGrey);  // greyed while others are chosen, not hidden
        float ring = vRing * step(1.0 - 4.5 / max(size * 1.7, 1.0), r);  // a dark ring round the chosen
        c = mix(c, vec3(0.05), ring);
        float edge = 1.0 - smoothstep(1.0 - 2.0 / max(size, 1.0), 1.0, r);
        gl_FragColor = vec4(c * edge, edge);
      }`;
    const common = {
      vert, frag,
      attributes: { position: this.position, colour: this.colour, state: this.state },
      uniforms: {
        centre: regl.prop("centre"), scale: regl.prop("scale"), size: regl.prop("size"),
        anySelected: regl.prop("anySelected"), selectedPass: regl.prop("selectedPass"),
      },
      blend: { enable: true, func: { src: "one", dst: "one minus src alpha" } },
      depth: { enable: false },
    };
    this.drawAll = regl({ ...common, primitive: "points", count: regl.prop("count") });
    this.drawSelected = regl({ ...common, elements: this.selectedElements });
  }

  setPoints(ndc, rgb) {
    this.n = ndc.length / 2;
    this.ndc = ndc;
    this.position({ data: ndc });
    this.colour({ data: rgb });
    this.stateData = new Float32Array(this.n);
    this.state({ data: this.stateData });
    this.selected = [];
    this.anySelected = false;
    this.buildGrid();
    this.invalidate();
  }

  setSelected(indices) {
    this.stateData.fill(0);
    for (const i of indices) this.stateData[i] = 1;
    this.state({ data: this.stateData });
    this.selected = indices.slice();
    this.anySelected = indices.length > 0;
    this.selectedElements({ data: new Uint32Array(indices.length ? indices : [0]), primitive: "points" });
    this.invalidate();
  }

  setSize(side, pointSize) {
    if (side === this.side && pointSize === this.size) return;
    this.side = side;
    this.size = pointSize;
    const css = side * MARGIN, off = (side * (MARGIN - 1)) / 2;
    this.canvas.width = this.canvas.height = Math.round(css * this.dpr);
    Object.assign(this.canvas.style, { width: `${css}px`, height: `${css}px`, left: `${-off}px`, top: `${-off}px`,
                                       transformOrigin: `${off}px ${off}px` });
    this.regl.poll();
    this.invalidate();
  }

  invalidate() {
    this.drawn = null;
    this.dirty = true;
  }

  setView(view) {
    this.view = { cx: view.cx, cy: view.cy, s: Math.min(Math.max(view.s, 0.5), 400) };
    this.lastMove = performance.now();
    clearTimeout(this.restTimer);
    const b = this.drawn, v = this.view, side = this.side;
    if (b) {
      // the canvas drawn for view b, placed for view v: plot pixels map by p -> k p + t
      const k = v.s / b.s;
      const tx = (((b.cx - v.cx) * v.s + 1 - k) / 2) * side, ty = ((1 - (b.cy - v.cy) * v.s - k) / 2) * side;
      // the canvas spans plot pixels [-room, side + room] for view b, [k (-room) + t, k (side + room) + t] now
      const room = (side * (MARGIN - 1)) / 2;
      const fits = (t) => t <= k * room && t >= side - k * (side + room);
      const covered = fits(tx) && fits(ty);
      if (k > 1 / ZOOM_SPAN && k < ZOOM_SPAN && covered) {
        this.canvas.style.transform = `translate(${tx}px, ${ty}px) scale(${k})`;
        this.restTimer = setTimeout(() => { this.dirty = true; }, REST_MS);
        if (this.onView) this.onView(this.view);
        return;
      }
    }
    this.dirty = true;
    if (this.onView) this.onView(this.view);
  }

  pointSize() {  // grows slowly when zooming in, as a dot of ink would not
    return this.size * Math.min(Math.max(Math.sqrt(this.view.s), 1), 4);
  }

  // ---------------------------------------------------------------------------- drawing
  renderPoints(view) {
    const regl = this.regl;
    const size = this.pointSize() * this.dpr;
    // the canvas spans MARGIN times the plot: its scale is the view's over MARGIN
    const props = { centre: [view.cx, view.cy], scale: view.s / MARGIN, size, anySelected: this.anySelected ? 1 : 0 };
    regl.poll();
    regl.clear({ color: [0, 0, 0, 0] });
    if (!this.n) return;
    this.drawAll({ ...props, selectedPass: 0, count: this.n });
    if (this.anySelected) this.drawSelected({ ...props, selectedPass: 1 });
  }

  frame() {
    if (!this.dirty) return;
    this.dirty = false;
    this.renderPoints(this.view);
    this.drawn = { ...this.view };
    this.canvas.style.transform = "";
    this.drawCount += 1;
    this.renders += 1;
  }

  exportPng() {  // the plot as shown (the canvas's middle), on white
    this.frame();
    this.renderPoints(this.view);
    const out = document.createElement("canvas");
    const px = Math.round(this.side * this.dpr), off = Math.round((this.canvas.width - px) / 2);
    out.width = out.height = px;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, px, px);
    ctx.drawImage(this.canvas, off, off, px, px, 0, 0, px, px);
    return out.toDataURL("image/png");
  }

  // ---------------------------------------------------------------------------- the point under the pointer
  buildGrid() {
    const G = 128;
    const counts = new Uint32Array(G * G + 1);
    const cell = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const gx = Math.min(G - 1, Math.max(0, Math.floor((this.ndc[2 * i] + 1) / 2 * G)));
      const gy = Math.min(G - 1, Math.max(0, Math.floor((this.ndc[2 * i + 1] + 1) / 2 * G)));
      cell[i] = gy * G + gx;
      counts[cell[i] + 1] += 1;
    }
    for (let k = 0; k < G * G; k++) counts[k + 1] += counts[k];
    const order = new Uint32Array(this.n);
    const fill = counts.slice(0, G * G);
    for (let i = 0; i < this.n; i++) order[fill[cell[i]]++] = i;
    this.grid = { G, start: counts, order };
  }

  // ndc <-> canvas pixels (CSS px, origin top left)
  toScreen(x, y) {
    const v = this.view;
    return [((x - v.cx) * v.s + 1) / 2 * this.side, (1 - (y - v.cy) * v.s) / 2 * this.side];
  }

  toNdc(px, py) {
    const v = this.view;
    return [(px / this.side * 2 - 1) / v.s + v.cx, (1 - py / this.side * 2) / v.s + v.cy];
  }

  pick(px, py) {
    if (!this.n) return -1;
    const [x, y] = this.toNdc(px, py);
    const radius = (this.pointSize() / 2 + 3) / (this.side / 2) / this.view.s;  // in ndc
    const { G, start, order } = this.grid;
    const g = (t) => Math.floor((t + 1) / 2 * G);
    let best = -1, bestD = radius * radius;
    for (let gy = Math.max(0, g(y - radius)); gy <= Math.min(G - 1, g(y + radius)); gy++) {
      for (let gx = Math.max(0, g(x - radius)); gx <= Math.min(G - 1, g(x + radius)); gx++) {
        const k = gy * G + gx;
        for (let j = start[k]; j < start[k + 1]; j++) {
          const i = order[j];
          const dx = this.ndc[2 * i] - x, dy = this.ndc[2 * i + 1] - y;
          const d = dx * dx + dy * dy;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  // the points inside a polygon given in canvas pixels
  inside(polygon) {
    const out = [];
    const v = this.view, h = this.side / 2;
    const xs = polygon.map((p) => p[0]), ys = polygon.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    for (let i = 0; i < this.n; i++) {
      const px = ((this.ndc[2 * i] - v.cx) * v.s + 1) * h, py = (1 - (this.ndc[2 * i + 1] - v.cy) * v.s) * h;
      if (px < x0 || px > x1 || py < y0 || py > y1) continue;
      let inPoly = false;
      for (let a = 0, b = polygon.length - 1; a < polygon.length; b = a++) {
        const [ax, ay] = polygon[a], [bx, by] = polygon[b];
        if ((ay > py) !== (by > py) && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inPoly = !inPoly;
      }
      if (inPoly) out.push(i);
    }
    return out;
  }

  destroy() {
    if (this.loop) this.loop.cancel();
    this.regl.destroy();
  }
}
