// The latent map's size and place: a square plot as large as the column and the window allow, with the
// legend and the training's timeline beside it or under it.

function scrollParent(el) {
  let node = el.getRootNode().host || el.parentElement;
  while (node && node !== document.body) {
    const s = getComputedStyle(node);
    if (/(auto|scroll)/.test(s.overflowY) && node.scrollHeight > node.clientHeight) return node;
    node = node.parentElement;
  }
  return null;
}

Object.assign(LatentMap.prototype, {
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
    // "The map as a table" stands under the figure, closed: its summary line is part of what must fit
    const summary = this.tableBox && this.tableBox.querySelector("summary");
    const tableH = !summary ? 0 : Math.max(summary.offsetHeight, Math.round(font * 1.3) + 6) + 2;
    const room = window.innerHeight - Math.max(top, 0) - 14 - tableH;  // from the figure's top to the window's bottom
    // the training's timeline (its play row, curve of 3.5 fonts and the curve's legend): beside the map under
    // the legend when the side column has the height for it (the larger map of the two), else under the map
    const timelineH = d.timeline ? Math.round(font * 7 + 18) : 0;
    const rowH = Math.max(font * 1.45, 26), toolH = font * 2.0 * 2;  // a legend entry: 26 px at least (a finger's)
    const minSide = 170;
    const items = this.legendItems();
    // the height of the toolbar and the legend in c columns beside the map (their entries wrap), measured once per
    // column count, font and legend
    if (!this.sideHeights || this.sideSig !== this.legendSig) { this.sideHeights = new Map(); this.sideSig = this.legendSig; }
    const sideAt = (c) => {
      const w = Math.max(minSide, Math.round(c * font * 8)), k = `${c}|${font}`;
      if (this.sideHeights.has(k)) return this.sideHeights.get(k);
      const was = [this.side.style.width, this.legend.style.columnCount], below = this.root.classList.contains("legend-below");
      this.root.classList.remove("legend-below");  // measured as it would stand beside the map
      this.side.style.width = `${w}px`;
      this.legend.style.columnCount = String(c);
      // nothing to measure while the map is not on the page or its legend not drawn yet: an estimate, not kept
      const drawn = this.legend.childElementCount > 0 && this.toolbar.offsetHeight > 0;
      const need = drawn ? this.toolbar.offsetHeight + 10 + this.legend.offsetHeight : toolH + Math.ceil(items / c) * rowH;
      [this.side.style.width, this.legend.style.columnCount] = was;
      this.root.classList.toggle("legend-below", below);
      if (drawn) this.sideHeights.set(k, need);
      return need;
    };
    const legendCols = (height) => {  // the fewest columns of legend that fit beside a map this tall
      for (let c = 1; c < 6; c++) if (sideAt(c) <= height) return c;
      return 6;
    };
    let side = Math.min(width - left - gap - minSide, room - bottom - timelineH);
    let cols = legendCols(side + bottom);
    let sideWidth = Math.max(minSide, Math.round(cols * font * 8));
    side = Math.min(width - left - gap - sideWidth, room - bottom - timelineH);
    let below = false;
    const belowHeight = () => {
      const perRow = Math.max(1, Math.floor((width - 8) / (font * 7.5)));
      return Math.ceil(items / perRow) * rowH + (d.presenter ? toolH : toolH / 2) + 8;  // a projector's font: two rows of tools
    };
    const sideBelow = Math.min(width - left - 8, room - bottom - timelineH - belowHeight());
    if (sideBelow > side + 40) {  // the legend beside the map would shrink it: below is better
      below = true;
      side = sideBelow;
    }
    let timelineBeside = false;
    if (timelineH) {
      for (let c = 1; c <= 3; c++) {  // the timeline in the side column: the legend in c columns above it
        const w2 = Math.max(Math.round(font * 15), Math.round(c * font * 8));
        const s2 = Math.min(width - left - gap - w2, room - bottom);
        if (toolH + Math.ceil(items / c) * rowH + timelineH <= s2 + bottom && s2 > side) {
          side = s2; below = false; cols = c; timelineBeside = true;
          break;
        }
      }
    }
    const least = Math.min(260, width - left - 8);  // a phone: never wider than its column
    side = Math.max(least, Math.floor(side));
    if (!below && !timelineBeside) cols = legendCols(side + bottom);
    sideWidth = Math.max(timelineBeside ? Math.round(font * 15) : minSide, Math.round(cols * font * 8));
    if (!below && left + side + gap + sideWidth > width) {  // no room beside the map at its least: under it
      below = true;
      timelineBeside = false;
      side = Math.max(least, Math.floor(Math.min(width - left - 8, room - bottom - timelineH - belowHeight())));
    }
    this.timelineBeside = timelineBeside;
    if (this.timelineEl) {
      if (timelineBeside && this.timelineEl.parentNode !== this.side) this.side.appendChild(this.timelineEl);
      if (!timelineBeside && this.timelineEl.parentNode !== this.mainCol) this.mainCol.appendChild(this.timelineEl);
    }
    const key = [side, below, left, cols, width, timelineBeside].join();
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
    if (this.timelineEl) this.timelineEl.style.width = timelineBeside ? `${sideWidth}px` : `${left + side}px`;
    this.showFrame();  // the loss curve fits the new width
    Object.assign(this.yTicks.style, { width: `${left - Math.round(font * 0.5)}px`, height: `${side}px`,
                                       clipPath: `inset(${-font}px -4px ${-font}px -4px)` });
    Object.assign(this.xTicks.style, { top: `${side + Math.round(font * 0.35)}px`, width: `${left + side}px`,
                                       height: `${Math.round(font * 1.4)}px`,
                                       clipPath: `inset(-4px ${-2 * font}px -4px ${left - 2 * font}px)` });
    Object.assign(this.xTitle.style, { top: `${side + Math.round(font * 1.75)}px`, left: `${left}px`, width: `${side}px` });
    Object.assign(this.yTitle.style, { left: "0px", top: "0px", height: `${side}px`, width: `${Math.round(font * 1.3)}px` });
    for (const svg of [this.grid, this.overlay]) {
      svg.setAttribute("width", side); svg.setAttribute("height", side);
    }
    if (this.gl) {
      this.gl.setSize(side, this.d.point_size);
      this.builtView = null;
      this.viewChanged();
    }
  },
});
