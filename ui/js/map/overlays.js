// The latent map's overlays, SVG over the points: the prior's contours and labels, the posteriors'
// 1-sigma ellipses, density contours, the clicked location's ring and the hovered dot's ring.

Object.assign(LatentMap.prototype, {
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
    this.drawNames(o);  // the classes' names at their centres, on demand (describe.js)
    this.drawCursor(o);  // the keyboard's cursor (keyboard.js)
    this.drawClass();  // the class's layer (class_layer.js), on top
  },

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
  },

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
  },
});
