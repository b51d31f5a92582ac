// The class's layer on the latent map: the students' drawings (a star, with the 1-sigma ellipse of their
// q(z|x)) and points z (a cross), SVG over the points, drawn in screen space at every redraw. The layer
// arrives from a small component of its own (ui/js/class_layer.js, ui/classroom/layer.py), never with the
// map's points: setClassLayer({points: [{id, kind, x, y, rx, ry, alias}], picked, onPick}).
// A glyph answers a click or a tap itself (the overlay lets its pointer events through): onPick(id).
// window.__vaeClassDrawn[id] is the time (Date.now()) each submission was first drawn, for the benchmark.

const CLASS_DRAWN = (window.__vaeClassDrawn = window.__vaeClassDrawn || {});

function starPath(x, y, r) {
  let d = "";
  for (let k = 0; k < 10; k++) {
    const rr = k % 2 === 0 ? r : r * 0.45, a = (k * Math.PI) / 5;
    d += `${k ? "L" : "M"}${(x + rr * Math.sin(a)).toFixed(1)} ${(y - rr * Math.cos(a)).toFixed(1)} `;
  }
  return d + "Z";
}

function crossPath(x, y, r) {
  const w = r * 0.35;
  return `M${x - r} ${y - w}H${x - w}V${y - r}H${x + w}V${y - w}H${x + r}V${y + w}H${x + w}V${y + r}H${x - w}V${y + w}H${x - r}Z`;
}

Object.assign(LatentMap.prototype, {
  setClassLayer(layer) {
    this.classLayer = layer;
    this.drawClass();
  },

  drawClass() {
    if (!this.xScale || !this.overlay) return;
    if (!this.classG) this.classG = createEl("g", "class-layer", this.overlay, true);
    if (this.classG.parentNode !== this.overlay || this.overlay.lastChild !== this.classG) this.overlay.appendChild(this.classG);
    const g = this.classG, layer = this.classLayer;
    g.innerHTML = "";
    const points = (layer && layer.points) || [];
    const xs = this.xScale, ys = this.yScale;
    const r = this.d && this.d.presenter ? 13 : 9;
    const ax = Math.abs(xs(1) - xs(0)), ay = Math.abs(ys(1) - ys(0));
    const now = Date.now();
    for (const p of points) {
      const cx = xs(p.x), cy = ys(p.y);
      if (p.rx > 0 && p.ry > 0) {
        const e = createEl("ellipse", "class-ellipse", g, true);
        Object.entries({ cx, cy, rx: p.rx * ax, ry: p.ry * ay }).forEach(([k, v]) => e.setAttribute(k, v));
      }
      const glyph = createEl("path", `class-glyph ${p.kind}` + (p.id === layer.picked ? " picked" : ""), g, true);
      glyph.setAttribute("d", p.kind === "place" ? crossPath(cx, cy, r * 0.8) : starPath(cx, cy, r));
      glyph.dataset.id = String(p.id);
      glyph.setAttribute("role", "button");
      glyph.setAttribute("aria-label", `${p.kind === "place" ? "point" : "drawing"} #${p.id} by ${p.alias}`);
      const title = createEl("title", "", glyph, true);
      title.textContent = `#${p.id} ${p.alias}: click to see it`;
      glyph.addEventListener("pointerdown", (ev) => ev.stopPropagation());
      glyph.addEventListener("click", (ev) => { ev.stopPropagation(); if (layer.onPick) layer.onPick(p.id); });
      if (!(p.id in CLASS_DRAWN)) CLASS_DRAWN[p.id] = now;
    }
    this.root.dataset.classIds = points.map((p) => p.id).join(",");
  },
});
