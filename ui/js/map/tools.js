// The latent map's pointer: pan and zoom, hover, click on a dot or on empty space, box and lasso
// selections, a class chosen from the legend, and the choice made by the page (select tokens).

Object.assign(LatentMap.prototype, {
  local(ev) {
    const b = this.plotBox();
    return [ev.clientX - b.x, ev.clientY - b.y];
  },

  pickAt(ev) {
    const [px, py] = this.local(ev);
    return this.gl.pick(px, py);
  },

  onDown(ev) {
    if (ev.pointerType === "touch" && this.onTouchDown(ev)) return;  // touch.js
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
  },

  onMove(ev) {
    if (ev.pointerType === "touch" && this.onTouchMove(ev)) return;
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
  },

  onUp(ev) {
    if (ev.pointerType === "touch" && this.onTouchUp(ev)) return;
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
  },

  onWheel(ev) {
    ev.preventDefault();
    const [px, py] = this.local(ev);
    const v = this.gl.view;
    const [x, y] = this.gl.toNdc(px, py);
    const s = Math.min(Math.max(v.s * Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), 0.5), 400);
    // keep the point under the pointer where it is
    this.gl.setView({ cx: x - (x - v.cx) * (v.s / s), cy: y - (y - v.cy) * (v.s / s), s });
  },

  choose(points, kind) {
    this.setSelected(points);
    this.location = null;
    this.redraw();
    this.drawLines();
    this.send(points.length ? kind : "none", points, null);
  },

  clearSelection() {
    this.setSelected([]);
    this.location = null;
    this.redraw();
    this.drawLines();
    this.send("none", [], null);
  },

  setSelected(points) {
    this.selected = points.slice();
    this.gl.setSelected(this.selected);
  },

  hover(i) {
    if (i === this.hovered) return;
    this.hovered = i;
    if (i < 0) this.tip.style.display = "none";
    else this.showTip(i);
    this.redraw();
  },

  applySelection(select) {
    if (!select || select.token === this.appliedToken) return;
    this.appliedToken = select.token;
    const points = (select.points || []).filter((i) => i >= 0 && i < this.gl.n);
    this.setSelected(points);
    this.location = points.length ? null : (select.location || null);
  },

  selectClass(k) {
    const idx = [];
    for (let i = 0; i < this.d.n; i++) if (this.labels[i] === k) idx.push(i);
    this.choose(idx, "class");
  },

  drawLasso() {
    if (!this.lassoPath) this.drawOverlay();
    const path = this.lasso ? this.lasso.path : [];
    let pts = path;
    if (this.lasso && this.lasso.kind === "box" && path.length === 2) {
      const [[ax, ay], [bx, by]] = path;
      pts = [[ax, ay], [bx, ay], [bx, by], [ax, by]];
    }
    this.lassoPath.setAttribute("d", pts.length > 1 ? "M" + pts.map((q) => q.join(" ")).join(" L") + " Z" : "");
  },
});
