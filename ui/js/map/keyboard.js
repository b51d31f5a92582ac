// The latent map without a mouse: the plot takes focus (Tab); the arrow keys move a cursor through the map's
// plane (Shift: five times as far) and the decoded image follows it as it follows the pointer; Enter picks the
// image nearest the cursor, Shift+Enter decodes the place itself (as a click on empty space), + and - zoom about
// the cursor, 0 shows the whole map, L labels the classes at their centres, Escape clears the choice. The view follows a
// cursor that leaves it. A live region (also shown, under the toolbar) says where the cursor is and which image
// is nearest: its number, class and distance.

// the cursor's last place per map view (its view_id: model, projection, axes, points), kept by the window so that
// the cursor stays where Enter left it when the page's rerun draws the map anew
const KEPT_CURSORS = window.__vaeMapCursors || (window.__vaeMapCursors = new Map());
const CURSOR_STEPS = 20;  // an arrow key moves the cursor 1/20 of the visible width

Object.assign(LatentMap.prototype, {
  buildKeyboard() {
    const p = this.plot;
    p.tabIndex = 0;
    p.setAttribute("role", "application");
    p.setAttribute("aria-roledescription", "latent map");
    this.help = createEl("p", "keys-help", this.side);
    this.help.id = `vae-map-help-${Math.random().toString(36).slice(2, 8)}`;
    this.help.textContent = "Keyboard: Tab to the map, arrow keys move the cursor (Shift: further), Enter picks the "
      + "nearest image, Shift+Enter decodes the place, + and - zoom, 0 shows it all, L names the classes, Esc clears. "
      + "Touch: one finger decodes under it, a tap picks, two fingers pan and pinch to zoom.";
    p.setAttribute("aria-describedby", this.help.id);
    this.said = createEl("div", "said", this.side);
    this.said.setAttribute("role", "status");
    this.said.setAttribute("aria-live", "polite");
    p.addEventListener("keydown", (ev) => this.onMapKey(ev));
    p.addEventListener("focus", () => {
      // from the keyboard only (a finger or a mouse that focuses the plot has a place of its own): the cursor
      // appears at the view's centre, or where it was, and the decoded image goes back to it (a rerun of the
      // page drew the decoder anew at z = 0)
      if (!p.matches(":focus-visible") || !this.xScale) return;
      const kept = this.cursor || KEPT_CURSORS.get(this.d.view_id);  // a rerun draws the map anew: where it was
      this.placeCursor(kept || this.viewCentre(), !kept);
      this.root.classList.add("keyboard");
    });
    p.addEventListener("blur", () => this.root.classList.remove("keyboard"));
  },

  labelPlot() {
    const d = this.d, [xt, yt] = d.axis_titles;
    this.plot.setAttribute("aria-label", `Latent map of ${d.n.toLocaleString("en")} images in ${d.classes.length} `
      + `classes, ${xt} across and ${yt} up. Arrow keys move a cursor; Enter picks the nearest image.`);
  },

  viewCentre() {
    const side = this.plotSide;
    return [this.xScale.invert(side / 2), this.yScale.invert(side / 2)];
  },

  onMapKey(ev) {
    if (!this.gl || !this.xScale || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const key = ev.key;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (moves[key]) {
      const [dx, dy] = moves[key];
      const [x0, x1] = this.xScale.domain(), [y0, y1] = this.yScale.domain();
      const k = (ev.shiftKey ? 5 : 1) / CURSOR_STEPS;
      const [cx, cy] = this.cursor || this.viewCentre();
      this.placeCursor([cx + dx * k * (x1 - x0), cy + dy * k * (y1 - y0)], true);
    } else if (key === "Enter") {
      if (!this.cursor) this.placeCursor(this.viewCentre(), false);
      if (ev.shiftKey) this.decodePlace(this.cursor);
      else {
        const near = this.nearestTo(this.cursor);
        if (near.index >= 0) this.choose([near.index], "click");
        this.say(near.index >= 0 ? `Picked image #${near.index}, ${this.className(near.index)}.` : "No image here.");
      }
    } else if (key === "+" || key === "=" || key === "-" || key === "_") {
      this.zoomAbout(this.cursor || this.viewCentre(), key === "+" || key === "=" ? 1.5 : 1 / 1.5);
    } else if (key === "0") {
      this.gl.setView({ cx: 0, cy: 0, s: 1 });
      this.say("The whole map.");
    } else if (key === "l" || key === "L") {
      this.toggleNames();
    } else if (key === "Escape") {
      this.clearSelection();
      this.say("Nothing chosen.");
    } else {
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();  // presenter mode's scene keys (the arrows) stay with the map while it has focus
  },

  // the cursor at data coordinates [x, y]; the view moves to keep it inside; the decoder follows it
  placeCursor(at, announce) {
    this.cursor = at;
    KEPT_CURSORS.set(this.d.view_id, at);
    const [x0, x1] = this.xScale.domain(), [y0, y1] = this.yScale.domain();
    const mx = 0.05 * (x1 - x0), my = 0.05 * (y1 - y0);
    if (at[0] < x0 + mx || at[0] > x1 - mx || at[1] < y0 + my || at[1] > y1 - my) {
      const v = this.gl.view;
      this.gl.setView({ cx: this.toNdcX(at[0]), cy: this.toNdcY(at[1]), s: v.s });  // centre the view on it
    }
    window.dispatchEvent(new CustomEvent("vae-map-pointer", { detail: { key: this.d.key, x: at[0], y: at[1] } }));
    const near = this.nearestTo(at);
    const b = this.plotBox();  // the preview beside the cursor, as beside the mouse
    this.lastMouse = { clientX: b.x + this.xScale(at[0]), clientY: b.y + this.yScale(at[1]) };
    this.hover(near.index >= 0 && near.onScreen ? near.index : -1);
    this.drawOverlay();
    this.root.dataset.cursor = `${at[0].toFixed(4)},${at[1].toFixed(4)}`;
    if (announce) this.describeCursor(at, near);
  },

  zoomAbout(at, factor) {
    const v = this.gl.view;
    const x = this.toNdcX(at[0]), y = this.toNdcY(at[1]);
    const s = Math.min(Math.max(v.s * factor, 0.5), 400);
    this.gl.setView({ cx: x - (x - v.cx) * (v.s / s), cy: y - (y - v.cy) * (v.s / s), s });
    this.say(`Zoom ${s.toFixed(1)} times.`);
  },

  decodePlace(at) {
    this.setSelected([]);
    this.location = at;
    this.redraw();
    this.drawLines();
    this.send("location", [], at);
    this.say(`Decoding ${this.placeText(at)}.`);
  },

  // the stored image nearest a place (map coordinates), its distance, and whether it is within a dot of it
  nearestTo(at) {
    const n = this.d.n, xy = this.xy;
    let best = -1, bestD = Infinity;
    for (let i = 0; i < n; i++) {
      const dx = xy[2 * i] - at[0], dy = xy[2 * i + 1] - at[1];
      const dd = dx * dx + dy * dy;
      if (dd < bestD) { bestD = dd; best = i; }
    }
    let onScreen = false;
    if (best >= 0 && this.xScale) {
      const px = Math.abs(this.xScale(xy[2 * best]) - this.xScale(at[0]));
      const py = Math.abs(this.yScale(xy[2 * best + 1]) - this.yScale(at[1]));
      onScreen = Math.hypot(px, py) <= this.gl.pointSize() / 2 + 6;
    }
    return { index: best, distance: Math.sqrt(bestD), onScreen };
  },

  className(i) {
    const c = this.d.classes[this.labels[i]];
    return `class ${c ? c.name : this.labels[i]}`;
  },

  placeText(at) {
    const [xt, yt] = this.d.axis_titles;
    return `${xt} ${at[0].toFixed(2)}, ${yt} ${at[1].toFixed(2)}`;
  },

  describeCursor(at, near) {
    const where = this.placeText(at);
    if (near.index < 0) { this.say(where + "."); return; }
    const i = near.index;
    const [px, py] = [this.xy[2 * i], this.xy[2 * i + 1]];
    this.say(`${where}. Nearest: image #${i}, ${this.className(i)}, at ${px.toFixed(2)}, ${py.toFixed(2)}, `
      + `${near.distance.toFixed(2)} away.`);
  },

  // the live region: said once the cursor rests (a held arrow key says only where it stops)
  say(text) {
    clearTimeout(this.sayTimer);
    this.sayTimer = setTimeout(() => { this.said.textContent = text; }, 120);
  },

  drawCursor(o) {
    if (!this.cursor || !this.xScale) return;
    const cx = this.xScale(this.cursor[0]), cy = this.yScale(this.cursor[1]);
    const r = this.d.presenter ? 14 : 10;
    const g = createEl("g", "cursor", o, true);
    for (const [x1, y1, x2, y2] of [[cx - 2 * r, cy, cx - r / 2, cy], [cx + r / 2, cy, cx + 2 * r, cy],
                                    [cx, cy - 2 * r, cx, cy - r / 2], [cx, cy + r / 2, cx, cy + 2 * r]]) {
      const line = createEl("line", "", g, true);
      Object.entries({ x1, y1, x2, y2 }).forEach(([k, v]) => line.setAttribute(k, v));
    }
    const ring = createEl("circle", "", g, true);
    Object.entries({ cx, cy, r }).forEach(([k, v]) => ring.setAttribute(k, v));
  },
});
