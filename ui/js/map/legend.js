// The latent map's legend: a button per class (a click selects the class), then the lines drawn.

Object.assign(LatentMap.prototype, {
  legendItems() {
    const d = this.d;
    return d.counts.filter((c) => c > 0).length + (d.prior && d.prior.length ? 1 : 0) + (d.ellipses ? 1 : 0)
      + (d.density ? 1 : 0);
  },

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
  },
});
