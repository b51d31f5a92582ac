// The latent map in words, for a reader who does not see it or does not tell its colours apart:
// - a table under the map ("The map as a table"): per class, how many images, their centre (the mean of their
//   map coordinates) and spread (the standard deviation on each axis), for the points shown (a replayed
//   snapshot's too);
// - the classes' names drawn at their centres on demand (the toolbar's "Names" button or the L key; also in
//   presenter mode), so colour is never the only cue.

Object.assign(LatentMap.prototype, {
  buildDescription() {
    const names = createEl("button", "tool names", this.toolbar);
    names.type = "button";
    names.textContent = "Names";
    names.title = "The classes' names at their centres (L)";
    names.setAttribute("aria-pressed", "false");
    names.addEventListener("click", () => this.toggleNames());
    this.buttons.names = names;
    this.tableBox = createEl("details", "as-table", this.mainCol);
    createEl("summary", "", this.tableBox).textContent = "The map as a table";
    this.table = createEl("table", "", this.tableBox);
  },

  toggleNames() {
    this.showNames = !this.showNames;
    this.buttons.names.setAttribute("aria-pressed", this.showNames ? "true" : "false");
    this.buttons.names.classList.toggle("active", !!this.showNames);
    this.root.dataset.names = this.showNames ? "1" : "0";
    this.drawOverlay();
    if (this.said) this.say(this.showNames ? "The classes' names are on the map." : "The classes' names are off.");
  },

  // per class: count, centre (mean) and spread (standard deviation) of the points as drawn now
  classStats() {
    const d = this.d, n = d.n, K = d.classes.length, xy = this.xy;
    const s = Array.from({ length: K }, () => ({ n: 0, sx: 0, sy: 0, sxx: 0, syy: 0 }));
    for (let i = 0; i < n; i++) {
      const c = s[this.labels[i]];
      if (!c) continue;
      const x = xy[2 * i], y = xy[2 * i + 1];
      c.n += 1; c.sx += x; c.sy += y; c.sxx += x * x; c.syy += y * y;
    }
    return s.map((c, k) => {
      if (!c.n) return { k, n: 0 };
      const mx = c.sx / c.n, my = c.sy / c.n;
      return { k, n: c.n, mx, my, sdx: Math.sqrt(Math.max(0, c.sxx / c.n - mx * mx)),
               sdy: Math.sqrt(Math.max(0, c.syy / c.n - my * my)) };
    });
  },

  describe() {
    if (!this.table || !this.xy) return;
    if (this.tableBox.nextSibling) this.mainCol.appendChild(this.tableBox);  // under the timeline, if there is one
    const d = this.d, [xt, yt] = d.axis_titles;
    const stats = this.classStats().filter((c) => c.n > 0);
    this.stats = stats;
    const f = (v) => v.toFixed(2);
    const when = d.timeline ? ` (at snapshot ${this.frameIndex + 1} of ${d.timeline.step.length})` : "";
    const by = d.grouped_by || "class";  // or a factor of the images the map is coloured by
    this.table.innerHTML = "";
    createEl("caption", "", this.table).textContent =
      `The ${d.n.toLocaleString("en")} images of the map by ${by}${when}: how many, where their centre is `
      + "(the mean) and how far they spread (the standard deviation).";
    const head = createEl("tr", "", createEl("thead", "", this.table));
    for (const h of [by, "images", `centre ${xt}`, `centre ${yt}`, `spread ${xt}`, `spread ${yt}`]) {
      const th = createEl("th", "", head);
      th.scope = "col";
      th.textContent = h;
    }
    const body = createEl("tbody", "", this.table);
    for (const c of stats) {
      const tr = createEl("tr", "", body);
      const th = createEl("th", "", tr);
      th.scope = "row";
      th.textContent = d.classes[c.k].name;
      for (const v of [c.n.toLocaleString("en"), f(c.mx), f(c.my), f(c.sdx), f(c.sdy)]) createEl("td", "", tr).textContent = v;
    }
  },

  // the classes' names at their centres, in the overlay's screen space, with a halo to read over the dots
  drawNames(o) {
    if (!this.showNames || !this.stats || !this.xScale) return;
    for (const c of this.stats) {
      const t = createEl("text", "class-name", o, true);
      t.setAttribute("x", this.xScale(c.mx));
      t.setAttribute("y", this.yScale(c.my));
      t.textContent = this.d.classes[c.k].name;
    }
  },
});
