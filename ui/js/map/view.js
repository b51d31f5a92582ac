// The latent map's view: the plot's box on the page, the scales from the WebGL view (pan and zoom) to map
// coordinates, the axes' ticks and grid, and the redraw of the SVG marks when the view moves or rests.

Object.assign(LatentMap.prototype, {
  // the plot's drawing area on the page (client pixels; the canvas is larger, see ui/js/map_gl.js)
  plotBox() {
    const r = this.plot.getBoundingClientRect();
    return { x: r.left + this.plot.clientLeft, y: r.top + this.plot.clientTop, width: this.plotSide, height: this.plotSide };
  },

  // the data coordinates under a client position, or null outside the plot
  dataAtClient(clientX, clientY) {
    const b = this.plotBox();
    const px = clientX - b.x, py = clientY - b.y;
    if (px < 0 || py < 0 || px > b.width || py > b.height) return null;
    return [this.xScale.invert(px), this.yScale.invert(py)];
  },

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
  },

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
  },

  redraw() {
    clearTimeout(this.restTimer);
    this.shift(1, 0, 0);
    this.builtView = { ...this.gl.view, side: this.plotSide };
    this.drawAxes();
    this.drawOverlay();
  },

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
  },
});
