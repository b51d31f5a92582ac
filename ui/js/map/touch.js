// The latent map under fingers: one finger decodes the place under it as it moves (what the mouse's hover does:
// the decoded image follows, the nearest dot is ringed and its preview shown) and a tap picks, as a click does;
// two fingers pan (their midpoint) and pinch to zoom (their distance). In Box or Lasso mode one finger draws
// the selection as before. Mouse and pen are handled by tools.js.

const TAP_MOVE = 10;  // px: a finger that moved less than this, and lifted, tapped

Object.assign(LatentMap.prototype, {
  // called by tools.js for each touch pointer: true when the touch is handled here
  onTouchDown(ev) {
    if (!this.fingers) this.fingers = new Map();
    const at = this.local(ev);
    this.fingers.set(ev.pointerId, at);
    try { this.canvas.setPointerCapture(ev.pointerId); } catch (err) { /* a synthetic pointer: no capture */ }
    if (this.fingers.size === 2) {  // the second finger: pan and pinch from here, the first finger's gesture ends
      this.explore = null;
      this.lasso = null;
      this.drawLasso();
      const [a, b] = [...this.fingers.values()];
      this.pinch = { mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], dist: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1,
                     view: { ...this.gl.view } };
      this.root.dataset.gesture = "pinch";
      return true;
    }
    if (this.fingers.size > 2) return true;
    if (this.mode !== "pan") return false;  // box and lasso: tools.js draws them
    this.explore = { start: at, moved: false };
    this.root.dataset.gesture = "explore";
    this.exploreAt(ev);
    return true;
  },

  onTouchMove(ev) {
    if (!this.fingers || !this.fingers.has(ev.pointerId)) return false;
    const at = this.local(ev);
    this.fingers.set(ev.pointerId, at);
    if (this.pinch && this.fingers.size >= 2) {
      const [a, b] = [...this.fingers.values()];
      const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], dist = Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
      const p = this.pinch, v0 = p.view, side = this.plotSide;
      const s = Math.min(Math.max(v0.s * dist / p.dist, 0.5), 400);
      // the map point under the fingers' first midpoint stays under their midpoint now
      const nx = (p.mid[0] / side * 2 - 1) / v0.s + v0.cx, ny = (1 - p.mid[1] / side * 2) / v0.s + v0.cy;
      this.gl.setView({ cx: nx - (mid[0] / side * 2 - 1) / s, cy: ny - (1 - mid[1] / side * 2) / s, s });
      return true;
    }
    if (this.explore) {
      if (Math.hypot(at[0] - this.explore.start[0], at[1] - this.explore.start[1]) > TAP_MOVE) this.explore.moved = true;
      this.exploreAt(ev);
      return true;
    }
    return !!this.pinch;
  },

  onTouchUp(ev) {
    if (!this.fingers || !this.fingers.has(ev.pointerId)) return false;
    this.fingers.delete(ev.pointerId);
    if (this.pinch) {
      if (this.fingers.size < 2) { this.pinch = null; this.root.dataset.gesture = ""; }
      return true;
    }
    const explore = this.explore;
    this.explore = null;
    if (!explore) return false;
    this.root.dataset.gesture = "";
    if (ev.type === "pointerup" && !explore.moved) this.tap(ev);  // a tap: a dot, or the place
    return true;  // the finger's last place stays decoded, its dot ringed
  },

  exploreAt(ev) {
    const p = this.dataAtClient(ev.clientX, ev.clientY);
    if (!p) return;
    this.lastMouse = { clientX: ev.clientX, clientY: ev.clientY - 90 };  // the preview above the finger
    window.dispatchEvent(new CustomEvent("vae-map-pointer", { detail: { key: this.d.key, x: p[0], y: p[1] } }));
    const [px, py] = this.local(ev);
    this.hover(this.gl.pick(px, py));
    if (this.hovered >= 0) this.placeTip(this.lastMouse);
    this.root.dataset.cursor = `${p[0].toFixed(4)},${p[1].toFixed(4)}`;
    this.describeCursor(p, this.nearestTo(p));
  },

  tap(ev) {
    const [px, py] = this.local(ev);
    const hit = this.gl.pick(px, py);
    if (hit >= 0) { this.choose([hit], "click"); return; }
    const p = this.dataAtClient(ev.clientX, ev.clientY);
    if (p) this.decodePlace(p);
  },
});
